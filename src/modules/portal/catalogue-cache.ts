/**
 * Data of the public pages that depends only on the enti and their payment services (the home's
 * lists of comuni and services, the enti a notice can be paid to): computed once and reused while
 * the '*' counter of debtor_versions is unchanged. Triggers bump it on every insert, update
 * and delete of enti and payment_services, from any process (SQLite migrations 0005 and 0006,
 * PostgreSQL 0001_triggers). The counter
 * is read before the data, so a write landing in between can only make an entry look older than it
 * is (the next request recomputes). Cached values are shared by requests: never mutate them.
 */
import { rawClient, type DbLike } from '../../db/client.js';
import { postgresRuntime } from '../../db/postgres.js';
import { sqlGet } from '../../db/raw.js';

interface Entry {
  version: number;
  value: unknown;
}

const caches = new WeakMap<object, Map<string, Entry>>();

/** The counter of enti and services ('*' in debtor_versions; 0 before any change). */
export async function catalogueVersion(db: DbLike): Promise<number> {
  const row = await sqlGet<{ version: number }>(db, "SELECT version FROM debtor_versions WHERE fiscal_code = '*'");
  return row?.version ?? 0;
}

/** `compute()`, from memory while no ente or service changed since it last ran for `key`. */
export async function cachedCatalogueData<T>(db: DbLike, key: string, compute: () => T): Promise<T> {
  // One cache per database: the SQLite connection, or the PostgreSQL pool (not a transaction's connection).
  const client = postgresRuntime(db) ?? rawClient(db);
  let cache = caches.get(client);
  if (!cache) caches.set(client, (cache = new Map()));
  const version = await catalogueVersion(db);
  const hit = cache.get(key);
  if (hit && hit.version === version) return hit.value as T;
  const value = compute();
  cache.set(key, { version, value });
  return value;
}
