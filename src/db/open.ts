/**
 * The app's database, by setting: PostgreSQL when `DATABASE_URL` is set, else the SQLite file
 * under `DATA_DIR`. Both give the same drizzle handle shape (db/client.ts, db/postgres.ts).
 */
import type Database from 'better-sqlite3';
import { appliedMigrations, openDatabase, type Db } from './client.js';
import { openPostgres } from './postgres.js';
import type { Dialect } from './raw.js';

export interface AppDatabase {
  dialect: Dialect;
  db: Db;
  /**
   * The better-sqlite3 connection, for the paths not yet written for both databases. On
   * PostgreSQL any use throws, naming the property, so such a path fails loudly, never silently.
   */
  sqlite: Database.Database;
  expectedMigrations: number;
  appliedMigrations(): Promise<number>;
  /** One round trip: throws when the database cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function openAppDatabase(
  config: { databaseFile: string; databaseUrl?: string | undefined },
  opts: { log?: (msg: string, err: unknown) => void; poolSize?: number } = {},
): Promise<AppDatabase> {
  if (config.databaseUrl) {
    const h = await openPostgres(config.databaseUrl, { log: opts.log, max: opts.poolSize });
    return {
      dialect: 'postgres',
      db: h.db as unknown as Db,
      sqlite: sqliteUnavailable(),
      expectedMigrations: h.expectedMigrations,
      appliedMigrations: h.appliedMigrations,
      ping: async () => {
        await h.pool.query('SELECT 1');
      },
      close: h.close,
    };
  }
  const h = openDatabase(config.databaseFile);
  return {
    dialect: 'sqlite',
    db: h.db,
    sqlite: h.sqlite,
    expectedMigrations: h.expectedMigrations,
    appliedMigrations: async () => appliedMigrations(h.sqlite),
    ping: async () => {
      h.sqlite.prepare('SELECT 1').get();
    },
    close: async () => h.close(),
  };
}

function sqliteUnavailable(): Database.Database {
  return new Proxy({} as Database.Database, {
    get(_t, prop) {
      // What Fastify's decorate, util.inspect and promise checks look at.
      if (typeof prop === 'symbol' || ['getter', 'setter', 'then', 'constructor', 'toJSON', 'inspect'].includes(prop)) return undefined;
      throw new Error(`percorso solo SQLite raggiunto con PostgreSQL (sqlite.${String(prop)})`);
    },
  });
}
