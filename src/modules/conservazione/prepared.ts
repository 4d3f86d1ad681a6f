/**
 * The conservazione's hot statements (ingest, event log, blob registry), built with drizzle's query
 * builder and `sql.placeholder`s. On SQLite each is prepared once per connection (`preparedQuery`:
 * building and preparing it on every call was ~0.6 ms of the ~4 ms a receipt took); on PostgreSQL
 * it is built on the handle of the moment (so it runs inside the caller's transaction) and executed
 * once with the values.
 */
import { preparedQuery, type DbLike } from '../../db/client.js';
import { dialectOf } from '../../db/raw.js';

interface SqlitePrepared<G, A> {
  get(values?: Record<string, unknown>): G;
  all(values?: Record<string, unknown>): A;
  run(values?: Record<string, unknown>): unknown;
}

interface PgPrepared {
  execute(values?: Record<string, unknown>): Promise<unknown>;
}

async function onPostgres(q: unknown, values: Record<string, unknown>): Promise<unknown> {
  return (q as PgPrepared).execute(values);
}

/** The first row (or undefined). */
export async function preparedGet<G, A>(db: DbLike, key: string, build: (d: DbLike) => SqlitePrepared<G, A>, values: Record<string, unknown>): Promise<G> {
  if (dialectOf(db) === 'postgres') return ((await onPostgres(build(db), values)) as G[])[0] as G;
  return preparedQuery(db, key, build).get(values);
}

/** Every row. */
export async function preparedAll<G, A>(db: DbLike, key: string, build: (d: DbLike) => SqlitePrepared<G, A>, values: Record<string, unknown>): Promise<A> {
  if (dialectOf(db) === 'postgres') return (await onPostgres(build(db), values)) as A;
  return preparedQuery(db, key, build).all(values);
}

/** A write; the number of rows it changed. */
export async function preparedRun<G, A>(db: DbLike, key: string, build: (d: DbLike) => SqlitePrepared<G, A>, values: Record<string, unknown>): Promise<number> {
  if (dialectOf(db) === 'postgres') return Number((await onPostgres(build(db), values) as { rowCount?: number | null }).rowCount ?? 0);
  return (preparedQuery(db, key, build).run(values) as { changes: number }).changes;
}
