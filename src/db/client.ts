/**
 * Opens the SQLite file (WAL, foreign keys, busy timeout), applies the drizzle-kit migrations
 * in one transaction, and exposes the drizzle client. A failed open or migration throws a
 * DatabaseStartError with a one-line reason and leaves the file as it was.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { TransactionRollbackError } from 'drizzle-orm/errors';
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
  const db = drizzle(sqlite, { schema });
  installAsyncTransactions(sqlite, db);
  return db;
}

interface TxState {
  depth: number;
  /** False once the transaction ended: work it scheduled (timers inherit the async context) starts its own. */
  open: boolean;
}

interface TxRuntime {
  als: AsyncLocalStorage<TxState>;
  lock(): Promise<() => void>;
}

const txRuntimes = new WeakMap<Database.Database, TxRuntime>();

type TxConfig = { behavior?: 'deferred' | 'immediate' | 'exclusive' };

/**
 * Transactions whose callback may be async on SQLite (`await db.transaction(async (tx) => …)`),
 * the same shape as on PostgreSQL. better-sqlite3's own transactions refuse a callback that
 * returns a promise, so BEGIN/COMMIT are issued here: one transaction at a time per connection
 * (a queue); a nested `transaction` (on `tx`, or on `db` from inside the callback's async
 * context) is a savepoint. The connection is shared by the whole process: a statement that
 * another request ran while a transaction waited on something other than the database would run
 * inside it, so a transaction's callback awaits only the database (on SQLite every query resolves
 * at once, so the callback never yields to other requests).
 */
function installAsyncTransactions(sqlite: Database.Database, db: Db): void {
  const als = new AsyncLocalStorage<TxState>();
  let tail: Promise<void> = Promise.resolve();
  const lock = (): Promise<() => void> => {
    let release!: () => void;
    const prev = tail;
    tail = new Promise<void>((r) => (release = r));
    return prev.then(() => release);
  };
  txRuntimes.set(sqlite, { als, lock });
  const makeTx = (state: TxState): DbTx => {
    const tx = Object.create(db) as Record<string, unknown>;
    tx.transaction = (fn: (t: DbTx) => unknown) => savepoint(state, fn);
    tx.rollback = () => {
      throw new TransactionRollbackError();
    };
    return tx as unknown as DbTx;
  };
  async function savepoint<T>(state: TxState, fn: (t: DbTx) => T): Promise<Awaited<T>> {
    const name = `sp${++state.depth}`;
    sqlite.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn(makeTx(state));
      sqlite.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      sqlite.exec(`ROLLBACK TO ${name}`);
      sqlite.exec(`RELEASE ${name}`);
      throw err;
    } finally {
      state.depth--;
    }
  }
  async function transaction<T>(fn: (t: DbTx) => T, config?: TxConfig): Promise<Awaited<T>> {
    const current = als.getStore();
    if (current?.open) return savepoint(current, fn);
    const release = await lock();
    const state: TxState = { depth: 0, open: true };
    try {
      sqlite.exec(config?.behavior === 'immediate' ? 'BEGIN IMMEDIATE' : config?.behavior === 'exclusive' ? 'BEGIN EXCLUSIVE' : 'BEGIN');
      try {
        const result = await als.run(state, () => fn(makeTx(state)));
        sqlite.exec('COMMIT');
        return result;
      } catch (err) {
        if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
        throw err;
      }
    } finally {
      state.open = false;
      release();
    }
  }
  (db as unknown as { transaction: unknown }).transaction = transaction;
}

/** Rows changed by an INSERT/UPDATE/DELETE without RETURNING: SQLite's `changes`, PostgreSQL's `rowCount`. */
export function affectedRows(result: unknown): number {
  const r = result as { changes?: number; rowCount?: number | null };
  return Number(r.changes ?? r.rowCount ?? 0);
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
  installAsyncTransactions(sqlite, db);
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
  if (!(client instanceof Database)) return perCallQuery(db, build) as T;
  let cache = preparedCache.get(client);
  if (!cache) preparedCache.set(client, (cache = new Map()));
  let q = cache.get(key) as T | undefined;
  if (q === undefined) cache.set(key, (q = build(db)));
  return q;
}

type PgPrepared = { execute(values?: Record<string, unknown>): Promise<unknown> };

/**
 * PostgreSQL (the client is the pool or a transaction's connection): the query is built on `db`
 * for each call, so it runs on the open transaction's connection (drizzle-pg prepared statements
 * belong to one connection and need a name), and get/all/run answer promises (await them; on
 * SQLite `await` of the synchronous result changes nothing). `run` gives `{ changes }`.
 */
function perCallQuery(db: DbLike, build: (db: DbLike) => unknown) {
  const execute = (values?: Record<string, unknown>) => (build(db) as PgPrepared).execute(values);
  return {
    execute,
    get: async (values?: Record<string, unknown>) => {
      const r = await execute(values);
      return Array.isArray(r) ? r[0] : r;
    },
    all: async (values?: Record<string, unknown>) => {
      const r = await execute(values);
      return Array.isArray(r) ? r : [];
    },
    run: async (values?: Record<string, unknown>) => ({ changes: affectedRows(await execute(values)) }),
  };
}

/**
 * Runs `fn`'s reads in one read transaction: they all see the same snapshot, and the connection
 * takes SQLite's read lock once instead of once per statement (three system calls each, which on
 * this platform's kernels cost more than a small indexed lookup). Inside a transaction it simply
 * runs `fn`. `fn` awaits only the database (see installAsyncTransactions).
 */
export async function readSnapshot<T>(db: DbLike, fn: () => T | Promise<T>): Promise<T> {
  const client = rawClient(db);
  const rt = txRuntimes.get(client);
  if (!rt || rt.als.getStore()?.open || client.inTransaction) return fn();
  return (db as Db).transaction(() => fn()) as Promise<T>;
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
