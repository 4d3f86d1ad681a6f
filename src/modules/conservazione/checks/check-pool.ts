/**
 * The PdV checks (`checkSip`: SHA-256 of every file, format from the bytes with libxml2 and
 * file-type, CAdES/PAdES signatures, metadata) of a large PdV on a worker thread, so that they do
 * not hold the event loop (a 100 MB PDF hashed and its signature verified: seconds). A small PdV
 * (under OFF_THREAD_BYTES, a receipt's ~10 KB) is checked on the main thread: its checks take a
 * fraction of a millisecond, and the daily job's receipts sent to the thread were slower, not
 * faster (conservazione ingest bench, 10 000 receipts: 1.98 and 2.77 ms a receipt against 1.79
 * and 2.05 checked in place, same runs; on two cores the thread competes with the file store's
 * writers).
 *
 * One thread per process (the main thread and the file store's writers share the other cores),
 * made at the first PdV and referenced only while it has work (an idle pool does not keep the
 * process alive). The files are posted as exact copies, transferred (a view would clone its whole
 * ArrayBuffer). The checks are pure: when the thread cannot start or dies, the PdV it held are
 * checked on the main thread instead, and the next PdV starts a new thread.
 */
import { Worker } from 'node:worker_threads';
import { checkSip, type CheckSipInput, type CheckSipResult } from './run-checks.js';

const BOOT = new URL('../../../workers/ts-worker.mjs', import.meta.url);
// The worker module in the form this one runs in: TypeScript under tsx, JavaScript once compiled.
const ENTRY = new URL(`./check-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href;

interface Pending {
  input: CheckSipInput;
  resolve(r: CheckSipResult): void;
  reject(e: Error): void;
}

type Answer = { id: number; result: CheckSipResult } | { id: number; error: string };

let thread: { worker: Worker; pending: Map<number, Pending> } | undefined;
let seq = 0;

function start() {
  const worker = new Worker(BOOT, { workerData: { entry: ENTRY, preload: ['libxml2-wasm'] } });
  const t = { worker, pending: new Map<number, Pending>() };
  worker.on('message', (msg: Answer) => {
    const p = t.pending.get(msg.id);
    if (!p) return;
    t.pending.delete(msg.id);
    if (t.pending.size === 0) worker.unref();
    if ('result' in msg) p.resolve(msg.result);
    else p.reject(new Error(`controlli del PdV non riusciti: ${msg.error}`));
  });
  const fail = () => {
    if (thread === t) thread = undefined;
    // checked here instead: the checks are pure, the answer is the same
    for (const p of t.pending.values()) checkSip(p.input).then(p.resolve, p.reject);
    t.pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', fail);
  worker.unref();
  return t;
}

/** PdV whose files add up to this many bytes or more are checked on the thread. */
export const OFF_THREAD_BYTES = 1024 * 1024;

/** `checkSip(input)`: on the checks' thread for a large PdV, here for a small one. */
export function checkSipFor(input: CheckSipInput): Promise<CheckSipResult> {
  const bytes = input.files.reduce((n, f) => n + f.bytes.byteLength, 0);
  return bytes >= OFF_THREAD_BYTES ? checkSipOffThread(input) : checkSip(input);
}

/** `checkSip(input)` on the checks' thread. */
export function checkSipOffThread(input: CheckSipInput): Promise<CheckSipResult> {
  const t = (thread ??= start());
  const id = ++seq;
  const files = input.files.map((f) => ({ ...f, bytes: new Uint8Array(f.bytes) }));
  return new Promise<CheckSipResult>((resolve, reject) => {
    // the pending entry keeps the caller's input (for the fallback), the copies go to the thread
    t.pending.set(id, { input, resolve, reject });
    if (t.pending.size === 1) t.worker.ref();
    t.worker.postMessage({ id, input: { ...input, files } }, files.map((f) => f.bytes.buffer as ArrayBuffer));
  });
}

/** Stops the thread (tests: what happens to the PdV it held). */
export async function stopCheckThread(): Promise<void> {
  const t = thread;
  if (t) await t.worker.terminate();
}
