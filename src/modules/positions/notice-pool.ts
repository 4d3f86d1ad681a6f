/**
 * A small pool of worker threads that render notice PDFs, so bulk printing keeps every core busy
 * while the main thread keeps answering requests. `size: 0` renders in-process (baseline, tests).
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { renderNoticePdf, type NoticeData } from './notice-pdf.js';

const BOOT = new URL('../../workers/ts-worker.mjs', import.meta.url);
const ENTRY = new URL('./notice-render-worker.ts', import.meta.url).href;

interface Pending {
  resolve: (pdf: Buffer) => void;
  reject: (err: Error) => void;
}

export class NoticeRenderPool {
  private readonly workers: { worker: Worker; busy: number }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(size = os.availableParallelism()) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(BOOT, { workerData: { entry: ENTRY } });
      const slot = { worker, busy: 0 };
      worker.on('message', (msg: { id: number; pdf?: Uint8Array; error?: string }) => {
        slot.busy--;
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error !== undefined) p.reject(new Error(msg.error));
        else p.resolve(Buffer.from(msg.pdf!.buffer, msg.pdf!.byteOffset, msg.pdf!.byteLength));
      });
      worker.on('error', (err) => {
        for (const [id, p] of this.pending) {
          p.reject(err);
          this.pending.delete(id);
        }
      });
      this.workers.push(slot);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  render(notice: NoticeData, generatedAt?: string): Promise<Buffer> {
    if (this.workers.length === 0) return renderNoticePdf(notice, { generatedAt });
    const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, notice, generatedAt });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers.length = 0;
  }
}
