/**
 * PdA indexes built and validated (pindex-build.ts) on worker threads. For a PdA of 5000
 * documents that is ~2 s of CPU (the SInCRO XSD and MoreInfo validation of a ~10 MB index): on
 * the main thread it held the event loop, and the pagoPA station stopped answering while the
 * daily job archived (conservazione ingest bench: the event loop held up to 1.9 s during the two
 * PdA, 0.37 s with the indexes here). Two PdA are built at once (pda.ts, PDA_CONCURRENCY).
 *
 * Up to {@link INDEX_THREADS} threads, made at the first index, referenced only while they have
 * work, and stopped after {@link IDLE_MS} without any (each holds its own libxml2 and schemas).
 * An index goes to an idle thread, else a new one, else the one with the fewest. The work is
 * pure: when a thread cannot start or dies, the indexes it held are built on the main thread
 * instead, and the next index starts a new thread.
 */
import { Worker } from 'node:worker_threads';
import { PIndexInputError, type PIndexInput } from './pindex.js';
import { buildValidatedIndex, type BuiltIndex } from './pindex-build.js';

const BOOT = new URL('../../workers/ts-worker.mjs', import.meta.url);
// The worker module in the form this one runs in: TypeScript under tsx, JavaScript once compiled.
const ENTRY = new URL(`./pindex-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href;

/** Threads at most: one per PdA built at once (pda.ts). */
export const INDEX_THREADS = 2;

/** A thread with no work for this long is stopped. */
export const IDLE_MS = 60_000;

interface Pending {
  input: PIndexInput;
  resolve(r: BuiltIndex): void;
  reject(e: Error): void;
}

type Answer = { id: number; built: BuiltIndex } | { id: number; error: { name: string; message: string; stack?: string } };

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
  idle?: NodeJS.Timeout;
}

const threads: (Thread | undefined)[] = [];
let seq = 0;

function inPlace(p: Pending): void {
  try {
    p.resolve(buildValidatedIndex(p.input));
  } catch (e) {
    p.reject(e as Error);
  }
}

function start(slot: number): Thread {
  const worker = new Worker(BOOT, { workerData: { entry: ENTRY, preload: ['libxml2-wasm'] } });
  const t: Thread = { worker, pending: new Map() };
  worker.on('message', (msg: Answer) => {
    const p = t.pending.get(msg.id);
    if (!p) return;
    t.pending.delete(msg.id);
    if (t.pending.size === 0) {
      worker.unref();
      t.idle = setTimeout(() => stop(slot, t), IDLE_MS).unref();
    }
    if ('built' in msg) p.resolve(msg.built);
    else if (msg.error.name === 'PIndexInputError') p.reject(new PIndexInputError(msg.error.message));
    else p.reject(Object.assign(new Error(`indice del PdA non costruito: ${msg.error.message}`), { stack: msg.error.stack }));
  });
  const fail = () => {
    if (threads[slot] === t) threads[slot] = undefined;
    clearTimeout(t.idle);
    // built here instead: the work is pure, the answer is the same
    const held = [...t.pending.values()];
    t.pending.clear();
    for (const p of held) inPlace(p);
  };
  worker.on('error', fail);
  worker.on('exit', fail);
  worker.unref();
  return t;
}

/** The idle timer's end: a thread given work meanwhile has had its timer cleared (post). */
function stop(slot: number, t: Thread): void {
  if (threads[slot] === t) threads[slot] = undefined;
  void t.worker.terminate();
}

/** An idle thread, else a new one, else the one with the fewest indexes. */
function pick(): number {
  const idle = threads.findIndex((t) => t && t.pending.size === 0);
  if (idle >= 0) return idle;
  for (let i = 0; i < INDEX_THREADS; i++) if (!threads[i]) return i;
  let best = 0;
  for (let i = 1; i < INDEX_THREADS; i++) if (threads[i]!.pending.size < threads[best]!.pending.size) best = i;
  return best;
}

/** `buildValidatedIndex(input)` on one of the index threads. */
export function buildIndexOffThread(input: PIndexInput): Promise<BuiltIndex> {
  const slot = pick();
  const t = (threads[slot] ??= start(slot));
  clearTimeout(t.idle);
  const id = ++seq;
  return new Promise((resolve, reject) => {
    t.pending.set(id, { input, resolve, reject });
    if (t.pending.size === 1) t.worker.ref();
    t.worker.postMessage({ id, input });
  });
}

/** Stops the threads (tests: what happens to the indexes they held). */
export async function stopIndexThreads(): Promise<void> {
  await Promise.all(threads.map((t) => t?.worker.terminate()));
}
