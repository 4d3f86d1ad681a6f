/**
 * The log of the node's calls to the station (verify / getPayment / sendRT) that the helpdesk shows
 * in a payment's timeline. The station records a call after writing its answer; the rows are
 * written together at most NODE_CALL_FLUSH_MS later, in one transaction (one commit for many
 * calls instead of one each). It is a log for people, not a record the payment depends on: the
 * receipt itself is committed before the station answers OK, so a crash can lose at most the
 * last NODE_CALL_FLUSH_MS of lines.
 * Readers call `flush()` first so they always see every call answered so far.
 */
import type Database from 'better-sqlite3';

/**
 * A tenth of a second of calls per commit. Every call adds a key at a random place of the notice
 * index: while the log is small, bigger commits share index pages (100 calls a commit cost a
 * verify ~40 µs more, 1 000 calls ~15 µs); once it is as big as a real one each call dirties a
 * page of its own whatever the batch, and a half-second batch only stalled the event loop longer
 * (verify p99 89 ms against 46 ms with 100 ms batches).
 */
export const NODE_CALL_FLUSH_MS = 100;

export interface NodeCall {
  /** Fiscal code of the EC the notice belongs to (qrCode/fiscalCode, receipt/fiscalCode). */
  fiscalCode: string;
  noticeNumber: string;
  operation: string;
  outcome: 'OK' | 'KO';
  faultCode: string | null;
  /** ISO instant of the answer. */
  at: string;
}

export interface NodeCallLog {
  record(call: NodeCall): void;
  /** Writes every pending call now (readers and shutdown). */
  flush(): void;
  pending(): number;
}

export function createNodeCallLog(sqlite: Database.Database, onError: (err: Error) => void = () => {}): NodeCallLog {
  let queue: NodeCall[] = [];
  let timer: NodeJS.Timeout | null = null;
  let insert: Database.Statement | null = null;
  let writeAll: ((calls: NodeCall[]) => void) | null = null;

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    if (queue.length === 0 || !sqlite.open) return;
    const calls = queue;
    queue = [];
    try {
      insert ??= sqlite.prepare('INSERT INTO node_calls (fiscal_code, notice_number, operation, outcome, fault_code, created_at) VALUES (?, ?, ?, ?, ?, ?)');
      writeAll ??= sqlite.transaction((list: NodeCall[]) => {
        for (const c of list) insert!.run(c.fiscalCode, c.noticeNumber, c.operation, c.outcome, c.faultCode, c.at);
      });
      writeAll(calls);
    } catch (err) {
      onError(err as Error);
    }
  }

  return {
    record(call) {
      queue.push(call);
      if (!timer) {
        timer = setTimeout(flush, NODE_CALL_FLUSH_MS);
        timer.unref();
      }
    },
    flush,
    pending: () => queue.length,
  };
}
