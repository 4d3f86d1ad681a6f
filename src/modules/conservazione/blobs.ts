/**
 * Storing a file in conservazione: the bytes go to the write-once store and the blob is registered
 * in cons_blobs (for the fixity audit). Every part stores through `storeBlob` (or puts, then
 * registers in its own transaction: `registerBlob`).
 */
import { sql } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { preparedRun } from './prepared.js';
import type { ConservazioneCtx } from './context.js';
import { consBlobs } from './schema.js';
import type { PutResult } from './storage.js';

export async function storeBlob(ctx: ConservazioneCtx, bytes: Uint8Array, opts: { retainUntil?: Date } = {}): Promise<PutResult> {
  const put = await ctx.store.put(bytes, opts);
  await registerBlob(ctx, ctx.db, put);
  return put;
}

/**
 * The cons_blobs row of a blob already put in the store, on `db` (a caller's transaction: the
 * ingest registers its files with the PdV's rows, one commit instead of one per file).
 */
export async function registerBlob(ctx: ConservazioneCtx, db: DbLike, put: PutResult): Promise<void> {
  await registerBlobs(ctx, db, [put]);
}

/**
 * The cons_blobs rows of several blobs in one statement (the ingest: a PdV's files and its RdV's
 * copy), prepared once per number of rows on SQLite. A key given twice, or already registered, is
 * skipped.
 */
export async function registerBlobs(ctx: ConservazioneCtx, db: DbLike, puts: readonly PutResult[]): Promise<void> {
  if (puts.length === 0) return;
  const values: Record<string, unknown> = { store: ctx.store.kind, createdAt: ctx.now().toISOString() };
  puts.forEach((p, i) => {
    values[`key${i}`] = p.key;
    values[`size${i}`] = p.sizeBytes;
  });
  await preparedRun(db, `cons:blob-insert:${puts.length}`, (d) =>
    d
      .insert(consBlobs)
      .values(puts.map((_, i) => ({ key: sql.placeholder(`key${i}`), sizeBytes: sql.placeholder(`size${i}`), store: sql.placeholder('store'), createdAt: sql.placeholder('createdAt') })))
      .onConflictDoNothing()
      .prepare(),
    values,
  );
}

export async function readBlob(ctx: ConservazioneCtx, key: string): Promise<Buffer> {
  return ctx.store.get(key);
}
