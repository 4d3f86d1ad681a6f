/**
 * Group commit: units of work that arrive together run in ONE transaction, each inside its own
 * savepoint, and every caller gets its outcome only after that transaction commits — as durable
 * as one commit each (nobody is answered before the commit), at a fraction of the commits. A unit
 * that throws rolls back alone (its savepoint) and its caller gets the error, or the outcome of
 * its `recover` (run after the rollback, in the group's transaction: a duplicate key raced by
 * another process, say); if the commit itself fails, every caller of the group gets that error
 * (none of their work was stored).
 *
 * On PostgreSQL, groups in two processes can lock the same rows in opposite orders (two receipts
 * of one position, a node retry sent to the other process): the server breaks the deadlock by
 * failing one statement (40P01). The unit that lost rolls back to its savepoint, which releases
 * the locks it took, the rest of its group goes on, and the unit runs again in the next group,
 * after this one's commit has released the rest (at most MAX_RUNS times; then its caller gets the
 * error). A group whose commit fails that way is queued again whole.
 *
 * Users: the station's receipts (pagopa/receipts.ts) and the conservazione ingest
 * (conservazione/ingest.ts). A unit's callback awaits only the database, like any transaction's
 * (client.ts installAsyncTransactions), and can run again after a rollback.
 */
import type { Db, DbTx } from './client.js';
import { isLockConflict } from './errors.js';

export interface GroupUnit<T> {
  work: (tx: DbTx) => Promise<T>;
  /** Runs when `work` threw, after its savepoint rolled back; a value answers the caller instead of the error. */
  recover?: (tx: DbTx, err: unknown) => Promise<T | undefined>;
}

export interface GroupCommit {
  /** Queues the unit; with `arrival` (from `expect`), the unit announced earlier has come. */
  run<T>(unit: GroupUnit<T>, arrival?: Arrival): Promise<T>;
  /**
   * Announces a unit still on its way (a PdV whose files are being written): the group waits for
   * the announced units before it commits, so that work in flight together commits together.
   * Every announcement ends with `run(unit, arrival)` or `arrival.cancel()`.
   */
  expect(): Arrival;
}

export interface Arrival {
  /** The announced unit will not come (it failed before its transaction); idempotent. */
  cancel(): void;
}

/** The longest a queued unit waits for announced ones (a slow disk: the commit goes without them). */
const LINGER_MS = 50;

/** Runs of a unit that keeps losing lock conflicts (40P01, 40001) before its caller gets the error. */
export const MAX_RUNS = 4;

type Outcome = { ok: unknown } | { err: unknown } | { again: true };

interface Waiting {
  unit: GroupUnit<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** Runs so far (a lock conflict queues the unit again). */
  runs: number;
}

/**
 * Units queued in one turn of the event loop (flushed by `setImmediate`, after the other requests
 * already read from their sockets) and those that arrive while a group commits go together, at
 * most `maxGroup` per transaction. `behavior: 'immediate'` takes SQLite's write lock at BEGIN.
 * `lingerMs` bounds the wait for announced units (default LINGER_MS).
 */
export function createGroupCommit(db: Db, opts: { maxGroup?: number; behavior?: 'immediate'; lingerMs?: number } = {}): GroupCommit {
  const maxGroup = opts.maxGroup ?? 64;
  const lingerMs = opts.lingerMs ?? LINGER_MS;
  let queue: Waiting[] = [];
  let scheduled = false;
  /** Units announced (`expect`) and not yet queued or cancelled. */
  let coming = 0;
  let lingering: NodeJS.Timeout | undefined;

  const schedule = () => {
    if (scheduled) return;
    if (coming > 0 && queue.length < maxGroup) {
      // Wait for the announced units, but never longer than lingerMs.
      lingering ??= setTimeout(() => {
        lingering = undefined;
        scheduled = true;
        setImmediate(() => void flush());
      }, lingerMs);
      return;
    }
    if (lingering) clearTimeout(lingering);
    lingering = undefined;
    scheduled = true;
    // After the other requests already read from the sockets in this turn of the event loop.
    setImmediate(() => void flush());
  };
  const arrived = (a: Arrival & { pending: boolean }) => {
    if (!a.pending) return;
    a.pending = false;
    coming--;
  };

  const group = async (items: Waiting[]) =>
    await db.transaction(async (tx) => {
      const out: Outcome[] = [];
      for (const w of items) {
        w.runs++;
        try {
          // A nested transaction is a savepoint: a unit that fails rolls back alone.
          out.push({ ok: await tx.transaction(async (sp) => w.unit.work(sp)) });
        } catch (err) {
          if (isLockConflict(err) && w.runs < MAX_RUNS) {
            out.push({ again: true });
            continue;
          }
          const recovered = w.unit.recover ? await w.unit.recover(tx, err) : undefined;
          out.push(recovered !== undefined ? { ok: recovered } : { err });
        }
      }
      return out;
    }, opts.behavior ? { behavior: opts.behavior } : undefined);

  async function flush(): Promise<void> {
    scheduled = false;
    while (queue.length) {
      const items = queue.slice(0, maxGroup);
      queue = queue.slice(maxGroup);
      let results: Outcome[];
      try {
        results = await group(items);
      } catch (err) {
        // nothing of the group was stored: a lock conflict at the commit queues it again
        const again = isLockConflict(err) ? items.filter((w) => w.runs < MAX_RUNS) : [];
        for (const w of items) if (!again.includes(w)) w.reject(err);
        queue.push(...again);
        continue;
      }
      items.forEach((w, i) => {
        const r = results[i]!;
        if ('again' in r) queue.push(w); // after this group's commit released its locks
        else if ('ok' in r) w.resolve(r.ok);
        else w.reject(r.err);
      });
    }
  }

  return {
    run<T>(unit: GroupUnit<T>, arrival?: Arrival): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ unit: unit as GroupUnit<unknown>, resolve: resolve as (v: unknown) => void, reject, runs: 0 });
        if (arrival) arrived(arrival as Arrival & { pending: boolean });
        schedule();
      });
    },
    expect(): Arrival {
      coming++;
      const a: Arrival & { pending: boolean } = {
        pending: true,
        cancel: () => {
          if (!a.pending) return;
          arrived(a);
          if (queue.length) schedule();
        },
      };
      return a;
    },
  };
}
