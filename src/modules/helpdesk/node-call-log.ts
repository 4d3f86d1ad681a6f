/**
 * The log of the node's calls to the station (verify / getPayment / sendRT) that the helpdesk shows
 * in a payment's timeline. The station records a call after writing its answer; the rows are
 * written together at most NODE_CALL_FLUSH_MS later, in one transaction (one commit for many
 * calls instead of one each). It is a log for people, not a record the payment depends on: the
 * receipt itself is committed before the station answers OK, so a crash can lose at most the
 * last NODE_CALL_FLUSH_MS of lines.
 * Readers call `flush()` first so they always see every call answered so far.
 *
 * Who writes: the main thread, while the node calls little; from the first batch of
 * WRITER_MIN_BATCH calls on (a few hundred calls a second), a worker thread with its own
 * connection to the same file (node-call-writer.mjs). In a log as big as a real one each call
 * adds a key at a random page of the notice index (~40 µs, a tenth of a verify), and the
 * commit of a busy tenth of a second stalled the event loop: under load both go to the other
 * core. Batches keep their order (once the worker runs, every batch goes to it). While the
 * worker commits, a write of the main thread waits for the lock (busy_timeout): a batch is a
 * tenth of a second of calls, a few milliseconds of writing at the highest rates.
 *
 * On PostgreSQL there is no worker: the database server writes on its own cores, so each batch is
 * one multi-row INSERT through the pool (never the caller's transaction: the log is not part of
 * it). Batches are chained, so they keep their order and `flush()` waits for those in flight.
 */
import type Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';
import { rawClient, type DbLike } from '../../db/client.js';
import { postgresRuntime } from '../../db/postgres.js';
import { sqlGet, sqlRun } from '../../db/raw.js';

/**
 * A tenth of a second of calls per commit. Every call adds a key at a random place of the notice
 * index: while the log is small, bigger commits share index pages (100 calls a commit cost a
 * verify ~40 µs more, 1 000 calls ~15 µs); once it is as big as a real one each call dirties a
 * page of its own whatever the batch, and a half-second batch only stalled the event loop longer
 * (verify p99 89 ms against 46 ms with 100 ms batches).
 */
export const NODE_CALL_FLUSH_MS = 100;

/** Calls in one batch from which the worker thread takes over the writing (320 calls a second). */
export const WRITER_MIN_BATCH = 32;

/** Longest wait of `flush()` for the worker's batches (it only waits that long if the worker hangs). */
const FLUSH_WAIT_MS = 10_000;

const WRITER = new URL('./node-call-writer.mjs', import.meta.url);

/** One logged call; the same statement in both threads (the worker gets it in WriterData). */
const INSERT_CALL = 'INSERT INTO node_calls (fiscal_code, notice_number, operation, outcome, fault_code, created_at) VALUES (?, ?, ?, ?, ?, ?)';

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

/** What the worker gets at start: the database file, the insert, the shared "last batch done" counter. */
export interface WriterData {
  file: string;
  insertSql: string;
  done: SharedArrayBuffer;
}
export interface WriterBatch {
  seq: number;
  calls: NodeCall[];
}
export type WriterMessage = { type: 'error'; message: string; lost: number };

export interface NodeCallLog {
  record(call: NodeCall): void;
  /**
   * Writes every pending call now, and waits for the worker's batches (readers and shutdown). On
   * SQLite the writing is done when the call returns; on PostgreSQL await the promise.
   */
  flush(): Promise<void>;
  /** Calls recorded and not yet committed. */
  pending(): number;
  /** Whether the worker thread writes the batches. */
  usesWorker(): boolean;
  /** Flushes and stops the worker. */
  close(): Promise<void>;
}

export interface NodeCallLogOptions {
  /** Batch size from which the worker takes over; `Infinity` never starts it. */
  workerMinBatch?: number;
}

/**
 * One batch in one statement, whatever its size: the calls as arrays, unnested in their order
 * (ids follow the order of the answers, as on SQLite).
 */
const INSERT_CALLS_PG = `INSERT INTO node_calls (fiscal_code, notice_number, operation, outcome, fault_code, created_at)
  SELECT f, n, o, r, c, a FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
  WITH ORDINALITY AS t(f, n, o, r, c, a, i) ORDER BY i`;

/** The log on the app's database (`db`: its drizzle handle). */
export function createNodeCallLog(db: DbLike, onError: (err: Error) => void = () => {}, opts: NodeCallLogOptions = {}): NodeCallLog {
  const pg = postgresRuntime(db);
  return pg ? createPostgresNodeCallLog(pg.pool, onError) : createSqliteNodeCallLog(rawClient(db), onError, opts);
}

function createPostgresNodeCallLog(pool: import('pg').Pool, onError: (err: Error) => void): NodeCallLog {
  let queue: NodeCall[] = [];
  let timer: NodeJS.Timeout | null = null;
  let inFlight = 0;
  let chain: Promise<void> = Promise.resolve();

  function write(calls: NodeCall[]): Promise<void> {
    inFlight += calls.length;
    chain = chain.then(async () => {
      try {
        await pool.query(INSERT_CALLS_PG, [
          calls.map((c) => c.fiscalCode),
          calls.map((c) => c.noticeNumber),
          calls.map((c) => c.operation),
          calls.map((c) => c.outcome),
          calls.map((c) => c.faultCode),
          calls.map((c) => c.at),
        ]);
      } catch (err) {
        onError(new Error(`${calls.length} node calls not logged: ${(err as Error).message}`));
      } finally {
        inFlight -= calls.length;
      }
    });
    return chain;
  }

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    if (queue.length > 0) {
      const calls = queue;
      queue = [];
      void write(calls);
    }
    await chain;
  }

  return {
    record(call) {
      queue.push(call);
      if (!timer) {
        timer = setTimeout(() => void flush(), NODE_CALL_FLUSH_MS);
        timer.unref();
      }
    },
    flush,
    pending: () => queue.length + inFlight,
    usesWorker: () => false,
    close: flush,
  };
}

function createSqliteNodeCallLog(sqlite: Database.Database, onError: (err: Error) => void, opts: NodeCallLogOptions): NodeCallLog {
  const workerMinBatch = opts.workerMinBatch ?? WRITER_MIN_BATCH;
  // An in-memory database has no file a second connection could open.
  const file = sqlite.memory ? null : sqlite.name;
  let queue: NodeCall[] = [];
  let timer: NodeJS.Timeout | null = null;
  let insert: Database.Statement | null = null;
  let writeAll: ((calls: NodeCall[]) => void) | null = null;

  let worker: Worker | null = null;
  let workerFailed = false;
  const done = new Int32Array(new SharedArrayBuffer(4));
  let posted = 0;
  let inFlight = new Map<number, number>(); // batch seq -> calls, until the worker says it is done

  async function writeHere(calls: NodeCall[]): Promise<void> {
    if (!sqlite.open) return;
    try {
      insert ??= sqlite.prepare(INSERT_CALL);
      writeAll ??= sqlite.transaction((list: NodeCall[]) => {
        for (const c of list) insert!.run(c.fiscalCode, c.noticeNumber, c.operation, c.outcome, c.faultCode, c.at);
      });
      writeAll(calls);
    } catch (err) {
      onError(err as Error);
    }
  }

  function settle(): void {
    const last = Atomics.load(done, 0);
    for (const seq of inFlight.keys()) if (seq <= last) inFlight.delete(seq);
  }

  /** Blocks until the worker has done every batch posted so far (bounded). */
  function waitForWorker(): void {
    if (!worker || posted === 0) return;
    const deadline = Date.now() + FLUSH_WAIT_MS;
    for (let last = Atomics.load(done, 0); last < posted; last = Atomics.load(done, 0)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        onError(new Error(`the node-call writer did not finish its batches within ${FLUSH_WAIT_MS} ms`));
        stopWorker(true);
        break;
      }
      Atomics.wait(done, 0, last, left);
    }
    settle();
  }

  function startWorker(): Worker | null {
    if (worker || workerFailed || !file) return worker;
    try {
      // Plain JavaScript without the parent's loaders (--import tsx): it starts in ~0.1 s.
      const w = new Worker(WRITER, { execArgv: [], workerData: { file, insertSql: INSERT_CALL, done: done.buffer as SharedArrayBuffer } satisfies WriterData });
      w.unref();
      w.on('message', (msg: WriterMessage) => {
        if (msg.type === 'error') onError(new Error(`${msg.lost} node calls not logged: ${msg.message}`));
        settle();
      });
      w.on('error', (err) => {
        onError(err);
        stopWorker(true);
      });
      w.on('exit', (code) => {
        if (worker === w) {
          onError(new Error(`the node-call writer stopped (exit code ${code})`));
          stopWorker(true);
        }
      });
      worker = w;
    } catch (err) {
      onError(err as Error);
      workerFailed = true;
    }
    return worker;
  }

  /** Forgets the worker; after a failure the main thread writes again (in-flight batches are lost). */
  function stopWorker(failed: boolean): Promise<void> {
    const w = worker;
    worker = null;
    if (failed) {
      workerFailed = true;
      inFlight = new Map();
    }
    return w ? w.terminate().then(() => undefined) : Promise.resolve();
  }

  async function flushSoon(): Promise<void> {
    timer = null;
    if (queue.length === 0) return;
    if (worker || (queue.length >= workerMinBatch && startWorker())) {
      const calls = queue;
      queue = [];
      posted++;
      inFlight.set(posted, calls.length);
      worker!.postMessage({ seq: posted, calls } satisfies WriterBatch);
      return;
    }
    await flush();
  }

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    waitForWorker(); // earlier batches first: the timeline is ordered by row id
    if (queue.length === 0) return;
    const calls = queue;
    queue = [];
    await writeHere(calls);
  }

  return {
    record(call) {
      queue.push(call);
      if (!timer) {
        timer = setTimeout(flushSoon, NODE_CALL_FLUSH_MS);
        timer.unref();
      }
    },
    flush,
    pending: () => {
      settle();
      let n = queue.length;
      for (const calls of inFlight.values()) n += calls;
      return n;
    },
    usesWorker: () => worker !== null,
    async close() {
      await flush();
      await stopWorker(false);
    },
  };
}

/** Lines deleted per call of {@link pruneNodeCalls} (one short transaction). */
export const PRUNE_CHUNK = 2000;

/**
 * Deletes up to `chunk` node-call lines answered before `before` (ISO instant); returns how many.
 * Lines are appended in the order of the answers, so the old ones are the lowest ids: only the
 * oldest line is read when there is nothing to delete, and only the first `chunk` lines when
 * there is (however long the backlog).
 */
export async function pruneNodeCalls(db: DbLike, before: string, chunk = PRUNE_CHUNK): Promise<number> {
  const oldest = (await sqlGet<{ created_at: string }>(db, 'SELECT created_at FROM node_calls ORDER BY id LIMIT 1'))?.created_at;
  if (oldest === undefined || oldest >= before) return 0;
  return (await sqlRun(db, 'DELETE FROM node_calls WHERE id IN (SELECT id FROM node_calls ORDER BY id LIMIT ?) AND created_at < ?', chunk, before)).changes;
}
