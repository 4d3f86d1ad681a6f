/**
 * The PostgreSQL database (`DATABASE_URL=postgres://…`): a node-postgres pool, drizzle's
 * node-postgres driver over the SAME table objects as SQLite (schema.ts; pg-schema.ts only feeds
 * drizzle-kit), the migrations of `migrations-pg/` applied at start under an advisory lock.
 *
 * The handle's `db` behaves like the SQLite one for the code above it:
 * - `db.transaction(async (tx) => …)` runs on one pooled connection; a `transaction` inside it (on
 *   `tx`, or on `db` from the callback's async context) is a savepoint;
 * - a query on `db` made from inside a transaction's async context joins that transaction (on
 *   SQLite the whole process shares one connection, so code written for it may query `db` where
 *   it holds `tx`): `db` is a proxy that hands each call to the open transaction, if any;
 * - raw SQL goes through db/raw.ts, which finds the transaction's connection the same way.
 * A lost connection makes the query fail (the caller answers 503/500 as for any error); the pool
 * opens a new one for the next query, and `/readyz` reports the database.
 *
 * node-postgres, drizzle's driver for it and the migrator (pg-migrate.ts) are imported by
 * openPostgres, not with this module, which every process loads (raw.ts and the caches call
 * postgresRuntime): a process on SQLite never loads them (~230 ms of CPU at import, measured).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import * as schema from './schema.js';

export type PgDb = NodePgDatabase<typeof schema>;

interface PgTxState {
  tx: PgDb;
  client: pg.PoolClient;
  open: boolean;
}

export interface PostgresRuntime {
  pool: pg.Pool;
  als: AsyncLocalStorage<PgTxState>;
  /** The connection raw SQL must use now: the open transaction's, else the pool. */
  queryable(): pg.Pool | pg.PoolClient;
}

const runtimes = new WeakMap<object, PostgresRuntime>();

/** The PostgreSQL runtime behind a db handle (the proxy or a transaction), or undefined on SQLite. */
export function postgresRuntime(db: object): PostgresRuntime | undefined {
  return runtimes.get(db) ?? runtimes.get((db as { __root?: object }).__root ?? {});
}

export interface PostgresHandle {
  pool: pg.Pool;
  db: PgDb;
  expectedMigrations: number;
  appliedMigrations(): Promise<number>;
  close(): Promise<void>;
}

export async function openPostgres(url: string, opts: { max?: number; log?: (msg: string, err: unknown) => void } = {}): Promise<PostgresHandle> {
  const [{ default: pg }, { drizzle }, { appliedMigrationsPg, configurePgTypes, migratePostgres }] = await Promise.all([
    import('pg'),
    import('drizzle-orm/node-postgres'),
    import('./pg-migrate.js'),
  ]);
  configurePgTypes();
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
  // An idle connection the server drops (restart, network) must not crash the process: the pool
  // discards it and opens another for the next query.
  pool.on('error', (err) => opts.log?.('connessione PostgreSQL persa (verrà riaperta)', err));
  let migrated: { applied: number; expected: number };
  try {
    migrated = await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  const base = drizzle(pool, { schema });
  const als = new AsyncLocalStorage<PgTxState>();
  const runtime: PostgresRuntime = {
    pool,
    als,
    queryable: () => {
      const s = als.getStore();
      return s?.open ? s.client : pool;
    },
  };

  const clientOf = (tx: PgDb): pg.PoolClient => (tx as unknown as { session: { client: pg.PoolClient } }).session.client;
  type TxFn<T> = (tx: PgDb) => Promise<T> | T;
  type TxConfig = { behavior?: string; isolationLevel?: 'read committed' | 'repeatable read' | 'serializable'; accessMode?: 'read only' | 'read write' };

  async function savepoint<T>(state: PgTxState, fn: TxFn<T>): Promise<T> {
    return state.tx.transaction(async (inner) => {
      const child: PgTxState = { tx: inner, client: state.client, open: true };
      try {
        return await als.run(child, () => fn(wrap(inner)));
      } finally {
        child.open = false;
      }
    });
  }

  async function transaction<T>(fn: TxFn<T>, config?: TxConfig): Promise<T> {
    const current = als.getStore();
    if (current?.open) return savepoint(current, fn);
    const pgConfig = config?.isolationLevel || config?.accessMode ? { isolationLevel: config.isolationLevel, accessMode: config.accessMode } : undefined;
    return base.transaction(async (tx) => {
      const state: PgTxState = { tx, client: clientOf(tx), open: true };
      try {
        return await als.run(state, () => fn(wrap(tx)));
      } finally {
        state.open = false;
      }
    }, pgConfig);
  }

  /** A transaction handle whose `transaction` is a savepoint through the same state. */
  function wrap(tx: PgDb): PgDb {
    return new Proxy(tx, {
      get(target, prop, receiver) {
        if (prop === 'transaction') return (fn: TxFn<unknown>) => savepoint(als.getStore()!, fn);
        if (prop === '__root') return db;
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }

  const db = new Proxy(base, {
    get(target, prop) {
      if (prop === 'transaction') return transaction;
      if (prop === '__root') return db;
      const s = als.getStore();
      const t = s?.open ? s.tx : target;
      const v = Reflect.get(t, prop);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  }) as PgDb;
  runtimes.set(db, runtime);

  return {
    pool,
    db,
    expectedMigrations: migrated.expected,
    appliedMigrations: () => appliedMigrationsPg(pool),
    close: () => pool.end(),
  };
}
