// Worker thread of the conservazione file store (storage-file.ts): writes one blob durably and
// links it into place with blocking system calls, so that the main thread never waits for the
// disk. Plain JavaScript, started without the parent's loaders.
//
// Message in: { id, root, tmpSuffix, bytes }; out: { id, key, created } or { id, error: { message, code } }.
// The blob's name is its SHA-256, computed here: the main thread does not hash the bytes.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';

parentPort.on('message', ({ id, root, tmpSuffix, bytes }) => {
  try {
    const key = createHash('sha256').update(bytes).digest('hex');
    const file = path.join(root, key.slice(0, 2), key.slice(2, 4), key);
    parentPort.postMessage({ id, key, created: writeOnce(file, `${file}.${tmpSuffix}.tmp`, bytes) });
  } catch (e) {
    parentPort.postMessage({ id, error: { message: String(e?.message ?? e), code: e?.code } });
  }
});

/**
 * Temporary file, written and fsynced, then linked to its name (`link` never replaces one): true
 * when this call stored it, false when the name was already there (the same bytes: a blob's name
 * is its SHA-256).
 */
function writeOnce(file, tmp, bytes) {
  if (fs.existsSync(file)) return false;
  let fd;
  try {
    fd = fs.openSync(tmp, 'wx', 0o444);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
    fs.mkdirSync(path.dirname(file), { recursive: true }); // its folder's first blob
    fd = fs.openSync(tmp, 'wx', 0o444);
  }
  try {
    try {
      for (let off = 0; off < bytes.byteLength; ) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off, off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file);
      return true;
    } catch (e) {
      if (e.code === 'EEXIST') return false; // the same bytes, stored by another writer
      throw e;
    }
  } finally {
    try {
      fs.unlinkSync(tmp);
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
  }
}
