/**
 * The personal area's sections for a citizen, computed once and reused while nothing of theirs
 * changed: the key is the citizen's counter in debtor_versions (bumped by triggers on every write
 * to their positions, options and receipts, from any process), the counter of enti and services
 * (fiscal code '*': names shown on the page) and today's date (what is payable or expired depends
 * on it). The counters are read before the positions, so a write that lands in between can only
 * make the entry look older than it is, never newer (the next request recomputes).
 */
import { rawClient, type DbLike } from '../../db/client.js';
import { postgresRuntime } from '../../db/postgres.js';
import { sqlGet } from '../../db/raw.js';
import { todayInItaly } from '../positions/service.js';
import { citizenPositions, groupPositions, type GroupedPositions } from './citizen.js';

const MAX_ENTRIES = 1000;

interface Entry {
  stamp: string;
  data: GroupedPositions;
}

const caches = new WeakMap<object, Map<string, Entry>>();

/** The data stamp of a citizen's positions: their counter, the enti/services counter, today. */
export async function debtorStamp(db: DbLike, fiscalCode: string, today: string): Promise<string> {
  const row = (await sqlGet<{ v: number; g: number }>(
    db,
    "SELECT coalesce((SELECT version FROM debtor_versions WHERE fiscal_code = ?), 0) AS v, coalesce((SELECT version FROM debtor_versions WHERE fiscal_code = '*'), 0) AS g",
    fiscalCode,
  ))!;
  return `${row.v}:${row.g}:${today}`;
}

/**
 * groupPositions(citizenPositions(...), page), from memory when the citizen's data did not change.
 * `versions` is the '<citizen>:<enti/services>' pair of counters when the caller read it already
 * (the signed-in user's dataVersion, read with the session); otherwise it is read here.
 */
export async function cachedCitizenSections(db: DbLike, fiscalCode: string, page: number, now?: Date, versions?: string): Promise<GroupedPositions> {
  const cf = fiscalCode.toUpperCase();
  // One cache per database: the SQLite connection, or the PostgreSQL pool (not a transaction's connection).
  const client = postgresRuntime(db) ?? rawClient(db);
  let cache = caches.get(client);
  if (!cache) caches.set(client, (cache = new Map()));
  const today = todayInItaly(now);
  const stamp = versions === undefined ? await debtorStamp(db, cf, today) : `${versions}:${today}`;
  const key = `${cf}|${page}`;
  const hit = cache.get(key);
  if (hit && hit.stamp === stamp) {
    // Most recently used last: the oldest entries are evicted first.
    cache.delete(key);
    cache.set(key, hit);
    return hit.data;
  }
  const data = groupPositions(await citizenPositions(db, cf, { now }), page);
  cache.delete(key);
  cache.set(key, { stamp, data });
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  return data;
}
