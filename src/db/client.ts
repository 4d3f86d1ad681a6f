/**
 * Opens the SQLite file (WAL, foreign keys, busy timeout), applies the drizzle-kit migrations
 * in one transaction, and exposes the drizzle client. A failed open or migration throws a
 * DatabaseStartError with a one-line reason and leaves the file as it was.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema>;
/** The handle inside `db.transaction((tx) => …)`. */
export type DbTx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Either; repository helpers accept both so they compose inside a caller's transaction. */
export type DbLike = Db | DbTx;

export interface DatabaseHandle {
  sqlite: Database.Database;
  db: Db;
  /** Number of migrations shipped with this build. */
  expectedMigrations: number;
  close(): void;
}

export const MIGRATIONS_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');
const MIGRATIONS_TABLE = '__drizzle_migrations';

export class DatabaseStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseStartError';
  }
}

/** SQLite's page cache per connection: 64 MB (see openDatabase). */
const CACHE_SIZE = 'cache_size = -65536';

/**
 * A read-only connection to a database that openDatabase has already opened and migrated (worker
 * threads that only read: pagopa/station-worker.ts). No migrations; the same waits and cache.
 */
export function openReadOnlyDatabase(file: string): Db {
  const sqlite = new Database(file, { readonly: true, fileMustExist: true });
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma(CACHE_SIZE);
  return drizzle(sqlite, { schema });
}

export function openDatabase(file: string, migrationsFolder = MIGRATIONS_FOLDER): DatabaseHandle {
  let sqlite: Database.Database;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    sqlite = new Database(file, { fileMustExist: false });
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('synchronous = NORMAL');
    // The hot B-tree pages stay in SQLite's own cache (64 MB). No mmap: pages read through a
    // mapping count in the process RSS (a million-row import went from 282 to 331 MB).
    sqlite.pragma(CACHE_SIZE);
    // Statement journals (an upsert in the debtor_versions triggers needs one per insert) and
    // temporary b-trees in memory, not in files under /var/tmp (29 writes per inserted row).
    sqlite.pragma('temp_store = MEMORY');
    // A checkpoint (copy of the WAL into the file, two fsyncs) runs inside the commit that crosses
    // the threshold: every 16 000 pages (64 MB) instead of SQLite's 1 000, so a receipt (~17 pages
    // over a dozen tables and indexes) pays for one every ~900 receipts instead of every ~60, and
    // pages written again and again (table tails, hot index pages) are copied once. The WAL is
    // trimmed back to 64 MB after each reset.
    sqlite.pragma('wal_autocheckpoint = 16000');
    sqlite.pragma('journal_size_limit = 67108864');
    // Reading the schema fails here, not later, when the file is not a database.
    sqlite.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (err) {
    throw new DatabaseStartError(`impossibile aprire il database ${file}: ${(err as Error).message}`);
  }
  const db = drizzle(sqlite, { schema });
  let expectedMigrations: number;
  try {
    expectedMigrations = readMigrationFiles({ migrationsFolder }).length;
    applyMigrations(sqlite, db, migrationsFolder);
  } catch (err) {
    sqlite.close();
    throw new DatabaseStartError(`migrazione del database ${file} non riuscita: ${oneLine(err)}`);
  }
  return { sqlite, db, expectedMigrations, close: () => sqlite.close() };
}

/** Applies pending migrations; drizzle runs them in one transaction, we also undo its bookkeeping table. */
function applyMigrations(sqlite: Database.Database, db: Db, migrationsFolder: string): void {
  const hadTable = sqlite
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
    .get(MIGRATIONS_TABLE);
  try {
    migrate(db, { migrationsFolder, migrationsTable: MIGRATIONS_TABLE });
  } catch (err) {
    if (!hadTable) sqlite.exec(`DROP TABLE IF EXISTS "${MIGRATIONS_TABLE}"`);
    throw err;
  }
}

/** The better-sqlite3 connection behind a drizzle handle (database or transaction). */
export function rawClient(db: DbLike): Database.Database {
  return (db as unknown as { session: { client: Database.Database } }).session.client;
}

const statementCache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/**
 * A prepared statement cached per connection, for hot write paths (bulk import, receipts) where
 * building the query with drizzle and preparing it again on every call dominates the time.
 * Works inside a drizzle transaction: it is the same connection.
 */
export function statement(db: DbLike, sqlText: string): Database.Statement {
  const client = rawClient(db);
  let cache = statementCache.get(client);
  if (!cache) statementCache.set(client, (cache = new Map()));
  let stmt = cache.get(sqlText);
  if (!stmt) cache.set(sqlText, (stmt = client.prepare(sqlText)));
  return stmt;
}

const preparedCache = new WeakMap<Database.Database, Map<string, unknown>>();

/**
 * A drizzle prepared query (built with the query builder, `sql.placeholder` for the values) cached
 * per connection under `key`, for measured hot paths where building and preparing the query on
 * every call dominates (conservazione ingest: ~70 µs per statement). The same builder serves
 * PostgreSQL. Usable inside a transaction: it is the same connection.
 */
export function preparedQuery<T>(db: DbLike, key: string, build: (db: DbLike) => T): T {
  const client = rawClient(db);
  let cache = preparedCache.get(client);
  if (!cache) preparedCache.set(client, (cache = new Map()));
  let q = cache.get(key) as T | undefined;
  if (q === undefined) cache.set(key, (q = build(db)));
  return q;
}

const snapshotRunners = new WeakMap<Database.Database, (fn: () => unknown) => unknown>();

/**
 * Runs `fn`'s reads in one read transaction: they all see the same snapshot, and the connection
 * takes SQLite's read lock once instead of once per statement (three system calls each, which on
 * this platform's kernels cost more than a small indexed lookup). Nested inside a transaction it
 * is a savepoint. `fn` must be synchronous.
 */
export function readSnapshot<T>(db: DbLike, fn: () => T): T {
  const client = rawClient(db);
  let run = snapshotRunners.get(client);
  if (!run) snapshotRunners.set(client, (run = client.transaction((f: () => unknown) => f())));
  return run(fn) as T;
}

/** Count of migrations recorded as applied (for /readyz). */
export function appliedMigrations(sqlite: Database.Database): number {
  const row = sqlite.prepare(`SELECT count(*) AS n FROM "${MIGRATIONS_TABLE}"`).get() as { n: number };
  return row.n;
}

/** The error and its cause on one line (drizzle wraps the SQLite error in `cause`). */
function oneLine(err: unknown): string {
  const e = err as Error & { cause?: Error };
  const text = [e.cause?.message, e.message.split('\n')[0]].filter(Boolean).join(' — ');
  return text.replace(/\s+/g, ' ').slice(0, 300);
}
