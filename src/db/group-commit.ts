/**
 * Group commit: units of work that arrive together run in ONE transaction, each inside its own
 * savepoint, and every caller gets its outcome only after that transaction commits — as durable
 * as one commit each (nobody is answered before the commit), at a fraction of the commits. A unit
 * that throws rolls back alone (its savepoint) and its caller gets the error, or the outcome of
 * its `recover` (run after the rollback, in the group's transaction: a duplicate key raced by
 * another process, say); if the commit itself fails, every caller of the group gets that error
 * (none of their work was stored).
 *
 * Users: the station's receipts (pagopa/receipts.ts) and the conservazione ingest
 * (conservazione/ingest.ts). A unit's callback awaits only the database, like any transaction's
 * (client.ts installAsyncTransactions).
 */
import type { Db, DbTx } from './client.js';

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

type Outcome = { ok: unknown } | { err: unknown };

interface Waiting {
  unit: GroupUnit<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
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
        try {
          // A nested transaction is a savepoint: a unit that fails rolls back alone.
          out.push({ ok: await tx.transaction(async (sp) => w.unit.work(sp)) });
        } catch (err) {
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
        for (const w of items) w.reject(err);
        continue;
      }
      items.forEach((w, i) => {
        const r = results[i]!;
        if ('ok' in r) w.resolve(r.ok);
        else w.reject(r.err);
      });
    }
  }

  return {
    run<T>(unit: GroupUnit<T>, arrival?: Arrival): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ unit: unit as GroupUnit<unknown>, resolve: resolve as (v: unknown) => void, reject });
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
