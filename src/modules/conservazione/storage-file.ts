/**
 * The local file store (default): blob `ab12…` lives at `<root>/ab/12/ab12…`. A put hashes the
 * bytes, writes a temporary file in the same folder, created read-only, fsyncs it and links it
 * into place (`link` fails if the name exists, so a stored blob is never overwritten, even by two
 * writers at once), in a writer thread (file-store-writer.mjs). The only delete is `destroy`
 * (scarto).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { BlobNotFoundError, isBlobKey, type BlobStore, type PutResult } from './storage.js';

/** Blobs up to this size are re-hashed with one synchronous read. */
const SMALL_BLOB = 256 * 1024;
const readBuffer = Buffer.allocUnsafe(SMALL_BLOB);

const WRITER = new URL('./file-store-writer.mjs', import.meta.url);
const WRITERS = 4;

interface Pending {
  resolve(written: { key: string; created: boolean }): void;
  reject(err: Error): void;
}

/**
 * The threads that write the blobs (file-store-writer.mjs): open, write, fsync, close, link and
 * unlink, each a blocking call there. On the main thread, open and unlink of a new file waited for
 * ext4's journal while other files' fsyncs committed it (conservazione ingest bench profile: 3.5 s
 * in open, 1.1 s in unlink for 3 000 receipts); through libuv's pool each of the six calls was a
 * round trip of its own. A thread is made at the first put, referenced only while it has work (an
 * idle store does not keep the process alive), and replaced if it dies (its puts fail).
 */
class WriterPool {
  private readonly threads: { worker: Worker; pending: Map<number, Pending> }[] = [];
  private next = 0;
  private seq = 0;

  /** Stores `bytes` under `root` as `<root>/ab/12/ab12…` (the writer names it by its SHA-256). */
  write(root: string, tmpSuffix: string, bytes: Uint8Array): Promise<{ key: string; created: boolean }> {
    const slot = this.next++ % WRITERS;
    const t = (this.threads[slot] ??= this.start(slot));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      t.pending.set(id, { resolve, reject });
      if (t.pending.size === 1) t.worker.ref();
      // Posting a view clones its whole ArrayBuffer: a receipt's 2 KB in Buffer's 8 KB pool, a
      // part of a large request body. An exact copy, transferred, moves just the bytes.
      const own = new Uint8Array(bytes);
      t.worker.postMessage({ id, root, tmpSuffix, bytes: own }, [own.buffer]);
    });
  }

  private start(slot: number) {
    const worker = new Worker(WRITER, { execArgv: [] });
    const t = { worker, pending: new Map<number, Pending>() };
    const fail = (err: Error) => {
      if (this.threads[slot] === t) delete this.threads[slot];
      for (const p of t.pending.values()) p.reject(err);
      t.pending.clear();
    };
    worker.on('message', (msg: { id: number; key?: string; created?: boolean; error?: { message: string; code?: string } }) => {
      const p = t.pending.get(msg.id);
      if (!p) return;
      t.pending.delete(msg.id);
      if (t.pending.size === 0) worker.unref();
      if (msg.error) p.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
      else p.resolve({ key: msg.key!, created: msg.created === true });
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the file store's writer thread stopped (exit code ${code})`)));
    worker.unref();
    return t;
  }
}

/**
 * Temporary names: this process's random tag and a counter (unique across processes sharing a
 * folder, without random bytes for every put).
 */
const TMP_TAG = `${randomBytes(6).toString('hex')}-`;
let tmpSeq = 0;

/** One pool for the process: a writer knows nothing of the store it writes for (absolute paths). */
const writers = new WriterPool();

export function fileBlobStore(root: string): BlobStore {
  const where = (key: string) => {
    if (!isBlobKey(key)) throw new BlobNotFoundError(key);
    return path.join(root, key.slice(0, 2), key.slice(2, 4), key);
  };
  const missing = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === 'ENOENT';
  return {
    kind: 'file',
    async put(bytes: Uint8Array): Promise<PutResult> {
      // The writer hashes the bytes and looks for the name first (the same bytes stored before:
      // nothing written).
      const { key, created } = await writers.write(root, `${TMP_TAG}${++tmpSeq}`, bytes);
      return { key, sizeBytes: bytes.byteLength, created };
    },
    async get(key) {
      try {
        return await fsp.readFile(where(key));
      } catch (e) {
        if (missing(e)) throw new BlobNotFoundError(key);
        throw e;
      }
    },
    async stream(key): Promise<Readable> {
      const file = where(key);
      try {
        await fsp.access(file);
      } catch (e) {
        if (missing(e)) throw new BlobNotFoundError(key);
        throw e;
      }
      return fs.createReadStream(file);
    },
    async has(key) {
      return isBlobKey(key) && fs.existsSync(where(key));
    },
    async rehash(key) {
      if (!isBlobKey(key)) return null;
      let fd: number;
      try {
        fd = fs.openSync(where(key), 'r');
      } catch (e) {
        if (missing(e)) return null;
        throw e;
      }
      const hash = createHash('sha256');
      try {
        // Most blobs (receipts, flows, indexes) are small: one synchronous read into a reused
        // buffer (~25 µs) instead of a stream per file, whose set-up and buffers cost ~10 times
        // more (fixity bench). Bigger files are streamed, not to hold the event loop.
        const size = fs.fstatSync(fd).size;
        if (size <= SMALL_BLOB) {
          let off = 0;
          while (off < size) {
            const n = fs.readSync(fd, readBuffer, off, size - off, off);
            if (n === 0) break;
            off += n;
          }
          hash.update(readBuffer.subarray(0, off));
        } else {
          for await (const chunk of fs.createReadStream('', { fd, autoClose: false, start: 0, highWaterMark: 256 * 1024 })) hash.update(chunk as Buffer);
        }
      } finally {
        fs.closeSync(fd);
      }
      return hash.digest('hex');
    },
    async destroy(key) {
      await fsp.rm(where(key), { force: true });
    },
  };
}
