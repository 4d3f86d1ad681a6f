/**
 * Worker thread of the PdA indexes (pindex-thread.ts): builds and validates each index posted to
 * it and answers with its bytes (transferred) and result, or with the error.
 */
import { parentPort } from 'node:worker_threads';
import type { PIndexInput } from './pindex.js';
import { buildValidatedIndex } from './pindex-build.js';

const port = parentPort!;

port.on('message', (msg: { id: number; input: PIndexInput }) => {
  try {
    const built = buildValidatedIndex(msg.input);
    // an exact copy (Buffer.from may sit in a larger ArrayBuffer), transferred
    const bytes = new Uint8Array(built.bytes);
    port.postMessage({ id: msg.id, built: { ...built, bytes } }, [bytes.buffer]);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({ id: msg.id, error: { name: e.name, message: e.message, stack: e.stack } });
  }
});
