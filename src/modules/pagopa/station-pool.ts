/**
 * Worker threads for the station's read-only calls (`paVerifyPaymentNotice`, `paGetPayment`,
 * `paGetPaymentV2`): XML parsing, XSD validation, the position lookup and the answer take a few
 * hundred microseconds each, all on the event loop that also serves the portal. Under load they
 * go to `size` workers, each with its own read-only connection (WAL: readers never wait for the
 * writer and see every committed receipt), and the main thread only moves bytes.
 *
 * The pool starts itself when these calls pass START_RATE a second (below that the main thread
 * answers them sooner than a round trip to a thread would); until its workers are ready, and
 * for every other operation, the main thread answers. A message the worker cannot answer
 * without writing comes back and is answered by the main thread; so are the messages of a
 * worker that fails (it is not restarted: the main thread takes over, and the error is logged).
 * The answers are the same either way (test/pagopa/station-pool.test.ts).
 */
import { Worker } from 'node:worker_threads';
import type { PagopaSettings } from '../../config.js';
import { soapActionOf } from './soap.js';
import type { StationResult } from './station.js';

/** Read-only calls a second from which the pool starts. */
export const START_RATE = 100;

/** Calls waiting in one worker beyond which the main thread answers the next ones itself. */
export const MAX_PENDING = 256;

const READ_ONLY = new Set(['paVerifyPaymentNotice', 'paGetPayment', 'paGetPaymentV2']);

const BOOT = new URL('../../workers/ts-worker.mjs', import.meta.url);
// The worker module in the form this one runs in: TypeScript under tsx, JavaScript once compiled.
const ENTRY = new URL(`./station-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href;

export interface StationPoolData {
  entry: string;
  /** Packages imported before tsx (src/workers/ts-worker.mjs). */
  preload?: string[];
  file: string;
  settings: PagopaSettings;
}
export interface StationPoolMessage {
  id: number;
  body: Uint8Array;
  soapAction: string | string[] | undefined;
  requestId: string | undefined;
}
export type StationPoolReply =
  | { id: number; type: 'ready' }
  | { id: number; type: 'done'; result: StationResult }
  | { id: number; type: 'main'; error?: string };

interface Slot {
  worker: Worker;
  ready: boolean;
  dead: boolean;
  /** Messages sent and not answered: id -> resolve (undefined = answer it in the main thread). */
  pending: Map<number, (r: StationResult | undefined) => void>;
}

export interface StationPoolOptions {
  /** Worker threads (0: never). */
  size: number;
  /** Database file the workers open read-only. */
  file: string;
  settings: PagopaSettings;
  onError?: (err: Error) => void;
  /** The clock that measures the rate of calls (milliseconds). */
  now?: () => number;
}

export class StationReadPool {
  private readonly slots: Slot[] = [];
  private started = false;
  private closed = false;
  private nextId = 1;
  private windowStart = 0;
  private windowCount = 0;
  /** Calls answered by a worker so far (for /metrics-like checks and the tests). */
  answeredByWorkers = 0;
  /** The clock of the rate window: injected (tests hold it still, whatever the machine's load). */
  clock: () => number;

  constructor(private readonly opts: StationPoolOptions) {
    this.clock = opts.now ?? Date.now;
  }

  /** Workers ready to answer. */
  get readyWorkers(): number {
    return this.slots.filter((s) => s.ready && !s.dead).length;
  }

  /**
   * The answer from a worker, or undefined when the main thread answers (not a read-only call,
   * no worker ready yet, every worker MAX_PENDING calls behind, or the worker sent it back).
   * Counts the calls that start the pool.
   */
  handle(body: Uint8Array, soapAction: string | string[] | undefined, requestId: string | undefined): Promise<StationResult | undefined> | undefined {
    if (this.opts.size === 0 || this.closed || !READ_ONLY.has(soapActionOf(soapAction) ?? '')) return undefined;
    if (!this.started) {
      this.countForStart();
      return undefined;
    }
    let slot: Slot | undefined;
    for (const s of this.slots) if (s.ready && !s.dead && (!slot || s.pending.size < slot.pending.size)) slot = s;
    if (!slot || slot.pending.size >= MAX_PENDING) return undefined;
    const id = this.nextId++;
    const chosen = slot;
    return new Promise((resolve) => {
      chosen.pending.set(id, resolve);
      chosen.worker.postMessage({ id, body, soapAction, requestId } satisfies StationPoolMessage);
    });
  }

  private countForStart(): void {
    const now = this.clock();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    if (++this.windowCount >= START_RATE) this.start();
  }

  /** Starts the workers now (normally the rate of calls does). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    for (let i = 0; i < this.opts.size; i++) {
      let worker: Worker;
      try {
        worker = new Worker(BOOT, { workerData: { entry: ENTRY, preload: ['libxml2-wasm'], file: this.opts.file, settings: this.opts.settings } satisfies StationPoolData });
      } catch (err) {
        this.opts.onError?.(err as Error);
        continue;
      }
      const slot: Slot = { worker, ready: false, dead: false, pending: new Map() };
      worker.unref();
      worker.on('message', (m: StationPoolReply) => {
        if (m.type === 'ready') {
          slot.ready = true;
          return;
        }
        const resolve = slot.pending.get(m.id);
        slot.pending.delete(m.id);
        if (m.type === 'main' && m.error) this.opts.onError?.(new Error(`station worker sent a call back: ${m.error}`));
        if (m.type === 'done') this.answeredByWorkers++;
        resolve?.(m.type === 'done' ? m.result : undefined);
      });
      const fail = (err: Error) => {
        if (slot.dead) return;
        slot.dead = true;
        if (!this.closed) this.opts.onError?.(err);
        for (const resolve of slot.pending.values()) resolve(undefined); // answered by the main thread
        slot.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`station worker stopped (exit code ${code})`)));
      this.slots.push(slot);
    }
  }

  /** Resolves when every worker is ready or dead (tests; the pool works without waiting). */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.slots.some((s) => !s.ready && !s.dead) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    for (const s of this.slots) for (const resolve of s.pending.values()) resolve(undefined);
  }
}
