// Worker thread of the node-call log (node-call-log.ts): its own connection to the database
// file, one transaction per batch the main thread posts. After each batch, written or not, it
// stores the batch's sequence number in the shared counter and wakes a main thread waiting in
// `flush()`. Plain JavaScript so that it starts in a few milliseconds, without the TypeScript
// loader (a reader's flush() may be waiting for its first batch); the message shapes are
// WriterData, WriterBatch and WriterMessage in node-call-log.ts.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort;
const { file, insertSql, done } = workerData;
const committed = new Int32Array(done);

const sqlite = new Database(file, { fileMustExist: true });
// The same settings as the main connection (db/client.ts): a writer waits for the other instead
// of failing, checkpoints every 16 000 pages. Its own cache keeps the log's index pages out of
// the main connection's.
sqlite.pragma('busy_timeout = 5000');
sqlite.pragma('synchronous = NORMAL');
sqlite.pragma('cache_size = -16384');
sqlite.pragma('wal_autocheckpoint = 16000');
const insert = sqlite.prepare(insertSql);
const writeAll = sqlite.transaction((calls) => {
  for (const c of calls) insert.run(c.fiscalCode, c.noticeNumber, c.operation, c.outcome, c.faultCode, c.at);
});

port.on('message', (batch) => {
  try {
    writeAll(batch.calls);
  } catch (err) {
    port.postMessage({ type: 'error', message: err.message, lost: batch.calls.length });
  }
  Atomics.store(committed, 0, batch.seq);
  Atomics.notify(committed, 0);
});
port.on('close', () => sqlite.close());
