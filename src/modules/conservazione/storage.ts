/**
 * Write-once storage of the conservazione files behind one interface (issue #16 item 5). Every
 * blob is content-addressed: its key is the SHA-256 (lowercase hex) of its bytes, so the same
 * bytes are stored once and a key can never name other bytes. There is no overwrite and no delete
 * path except `destroy`, which only scarto calls. Backends: storage-file.ts (default, under
 * DATA_DIR/conservazione/store) and storage-s3.ts (an S3-compatible bucket, object lock where the
 * bucket supports it).
 *
 * The store the settings choose is made by store-factory.ts.
 */
import type { Readable } from 'node:stream';

export class BlobNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`blob ${key} non trovato`);
  }
}

export interface PutResult {
  key: string;
  sizeBytes: number;
  /** False when the same bytes were already stored (nothing written). */
  created: boolean;
}

export interface BlobStore {
  readonly kind: 'file' | 's3';
  /** Stores the bytes under their SHA-256; idempotent; never overwrites. `retainUntil`: object-lock date where supported. */
  put(bytes: Uint8Array, opts?: { retainUntil?: Date }): Promise<PutResult>;
  /** The stored bytes; throws BlobNotFoundError. */
  get(key: string): Promise<Buffer>;
  /** The stored bytes as a stream (PdD, big files); throws BlobNotFoundError. */
  stream(key: string): Promise<Readable>;
  has(key: string): Promise<boolean>;
  /** Re-reads the stored bytes and returns their SHA-256 (hex), or null when the blob is missing (fixity). */
  rehash(key: string): Promise<string | null>;
  /** The only delete path (scarto). */
  destroy(key: string, reason: { scartoListId: number }): Promise<void>;
}

export function isBlobKey(key: string): boolean {
  return /^[0-9a-f]{64}$/.test(key);
}
