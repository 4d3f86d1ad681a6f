/**
 * A small pool of worker threads that render notice PDFs, so bulk printing keeps every core busy
 * while the main thread keeps answering requests. `size: 0` renders in-process (baseline, tests).
 *
 * - The workers start with the pool and warm up on their own (fonts parsed, code compiled and
 *   optimised by rendering a sample notice `warmup` times) before they take work, so the first
 *   real notices are not rendered by cold code.
 * - Notices wait in one queue; a worker gets several per message (up to {@link MAX_BATCH}) and
 *   keeps at most {@link MAX_ASSIGNED} assigned, so it never waits for the main thread between two
 *   notices and the work stays balanced between workers.
 * - PDFs come back as transferred ArrayBuffers (no copy).
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { NoticeDataError, renderNoticePdf, type NoticeData } from './notice-pdf.js';

const BOOT = new URL('../../workers/ts-worker.mjs', import.meta.url);
// The worker module in the form this one runs in: TypeScript under tsx, JavaScript once compiled.
const ENTRY = new URL(`./notice-render-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href;

/** Sample renders per worker before it takes work, unless the pool is told otherwise. */
export const DEFAULT_WARMUP = 30;
const MAX_BATCH = 4;
const MAX_ASSIGNED = 6;

export interface NoticePoolOptions {
  /** Sample notices each worker renders before taking work (JIT warm-up); 0 = none. */
  warmup?: number;
}

/** One notice to render, as posted to a worker. */
export interface RenderTask {
  id: number;
  notice: NoticeData;
  generatedAt?: string;
}

/** Messages from a worker. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'done'; id: number; pdf: ArrayBuffer }
  | { type: 'failed'; id: number; message: string; field?: string };

/** Messages to a worker. */
export interface RenderBatch {
  type: 'render';
  tasks: RenderTask[];
}

interface Pending {
  task: RenderTask;
  resolve: (pdf: Buffer) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  dead: boolean;
  assigned: Map<number, Pending>;
}

export class NoticeRenderPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly readyPromise: Promise<void>;
  private readonly inProcess: boolean;
  private nextId = 1;
  private closed = false;

  constructor(size = os.availableParallelism(), options: NoticePoolOptions = {}) {
    this.inProcess = size === 0;
    const warmup = Math.max(0, Math.floor(options.warmup ?? DEFAULT_WARMUP));
    const ready: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const worker = new Worker(BOOT, { workerData: { entry: ENTRY, warmup } });
      const slot: Slot = { worker, ready: false, dead: false, assigned: new Map() };
      ready.push(
        new Promise<void>((resolve) => {
          worker.on('message', (msg: WorkerMessage) => {
            if (msg.type === 'ready') {
              slot.ready = true;
              resolve();
              this.dispatch();
              return;
            }
            const p = slot.assigned.get(msg.id);
            if (!p) return;
            slot.assigned.delete(msg.id);
            if (msg.type === 'done') p.resolve(Buffer.from(msg.pdf));
            else p.reject(msg.field !== undefined ? new NoticeDataError(msg.field, msg.message.slice(msg.field.length + 2)) : new Error(msg.message));
            this.dispatch();
          });
          const fail = (err: Error) => {
            if (slot.dead) return;
            slot.dead = true;
            resolve();
            for (const p of slot.assigned.values()) p.reject(err);
            slot.assigned.clear();
            if (!this.slots.some((s) => !s.dead)) this.failQueue(err);
          };
          worker.on('error', fail);
          worker.on('exit', (code) => fail(new Error(`notice render worker stopped (exit code ${code})`)));
        }),
      );
      this.slots.push(slot);
    }
    this.readyPromise = Promise.all(ready).then(() => undefined);
  }

  get size(): number {
    return this.slots.length;
  }

  /** Resolves when every worker is warm and waiting for work (or has failed). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  render(notice: NoticeData, generatedAt?: string): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('the notice render pool is closed'));
    if (this.inProcess) return renderNoticePdf(notice, { generatedAt });
    if (!this.slots.some((s) => !s.dead)) return Promise.reject(new Error('no notice render worker is running'));
    return new Promise((resolve, reject) => {
      this.queue.push({ task: { id: this.nextId++, notice, generatedAt }, resolve, reject });
      this.dispatch();
    });
  }

  /** Hands queued notices to the workers with the fewest assigned, a few per message. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot: Slot | undefined;
      for (const s of this.slots) {
        if (s.ready && !s.dead && s.assigned.size < MAX_ASSIGNED && (!slot || s.assigned.size < slot.assigned.size)) slot = s;
      }
      if (!slot) return;
      const live = this.slots.filter((s) => s.ready && !s.dead).length;
      const share = Math.ceil(this.queue.length / live);
      const n = Math.max(1, Math.min(MAX_BATCH, MAX_ASSIGNED - slot.assigned.size, share));
      const batch = this.queue.splice(0, n);
      for (const p of batch) slot.assigned.set(p.task.id, p);
      const message: RenderBatch = { type: 'render', tasks: batch.map((p) => p.task) };
      slot.worker.postMessage(message);
    }
  }

  private failQueue(err: Error): void {
    for (const p of this.queue.splice(0)) p.reject(err);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failQueue(new Error('the notice render pool is closed'));
    const slots = this.slots.splice(0);
    for (const s of slots) s.dead = true;
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const s of slots) {
      for (const p of s.assigned.values()) p.reject(new Error('the notice render pool is closed'));
      s.assigned.clear();
    }
  }
}
