/**
 * PostgreSQL start-up: applies the drizzle-kit migrations of `migrations-pg/` (generated from the
 * tables pg-schema.ts derives from schema.ts, plus the hand-written triggers) with drizzle's
 * node-postgres migrator, on one connection holding an advisory lock, so that processes starting
 * together migrate one after the other: the first applies, the others find nothing to do. All
 * pending migrations run in one transaction; a failure throws a DatabaseStartError with a one-line
 * Italian reason and leaves the schema as it was.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { DatabaseStartError } from './client.js';

export const MIGRATIONS_PG_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations-pg');
const MIGRATIONS_SCHEMA = 'drizzle';
const MIGRATIONS_TABLE = '__drizzle_migrations';
/** pg_advisory_lock key held while migrating ("SAEL" 0019); any fixed number works, the same in every process. */
export const MIGRATION_LOCK_KEY = 0x5ae1_0019;

/**
 * int8 (count(*), bigint columns) and numeric come from node-postgres as strings by default; the
 * app's columns hold JS numbers (ids, cents, counters all below 2^53), as better-sqlite3 gives them.
 */
export function configurePgTypes(): void {
  pg.types.setTypeParser(20, (v: string) => Number(v));
  pg.types.setTypeParser(1700, (v: string) => Number(v));
}

export async function migratePostgres(
  pool: pg.Pool,
  folder = MIGRATIONS_PG_FOLDER,
): Promise<{ applied: number; expected: number }> {
  let expected: number;
  try {
    expected = readMigrationFiles({ migrationsFolder: folder }).length;
  } catch (err) {
    throw new DatabaseStartError(`migrazioni PostgreSQL illeggibili in ${folder}: ${oneLine(err)}`);
  }
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw new DatabaseStartError(`impossibile connettersi al database PostgreSQL: ${oneLine(err)}`);
  }
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const hadTable = await migrationsTableExists(client);
      try {
        await migrate(drizzle(client), {
          migrationsFolder: folder,
          migrationsSchema: MIGRATIONS_SCHEMA,
          migrationsTable: MIGRATIONS_TABLE,
        });
      } catch (err) {
        // The migrations ran in one transaction, rolled back; the bookkeeping table drizzle made
        // before it is dropped too when this run made it.
        if (!hadTable) await dropBookkeeping(client);
        throw new DatabaseStartError(`migrazione del database PostgreSQL non riuscita: ${oneLine(err)}`);
      }
      return { applied: await countApplied(client), expected };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch((err: Error) => {
        broken = err;
      });
    }
  } catch (err) {
    if (err instanceof DatabaseStartError) throw err;
    broken = err as Error;
    throw new DatabaseStartError(`migrazione del database PostgreSQL non riuscita: ${oneLine(err)}`);
  } finally {
    // A connection that failed is closed, not returned to the pool (it may still hold the lock).
    client.release(broken);
  }
}

/** Count of migrations recorded as applied (for /readyz); 0 before the first migration. */
export async function appliedMigrationsPg(pool: pg.Pool): Promise<number> {
  const client = await pool.connect();
  try {
    return await countApplied(client);
  } finally {
    client.release();
  }
}

async function migrationsTableExists(client: pg.PoolClient): Promise<boolean> {
  const { rows } = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`"${MIGRATIONS_SCHEMA}"."${MIGRATIONS_TABLE}"`]);
  return rows[0]?.t != null;
}

async function countApplied(client: pg.PoolClient): Promise<number> {
  if (!(await migrationsTableExists(client))) return 0;
  const { rows } = await client.query<{ n: string | number }>(`SELECT count(*) AS n FROM "${MIGRATIONS_SCHEMA}"."${MIGRATIONS_TABLE}"`);
  return Number(rows[0]?.n ?? 0);
}

async function dropBookkeeping(client: pg.PoolClient): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS "${MIGRATIONS_SCHEMA}"."${MIGRATIONS_TABLE}"`).catch(() => undefined);
  // Only when empty: another tool may keep its own tables in that schema.
  await client.query(`DROP SCHEMA IF EXISTS "${MIGRATIONS_SCHEMA}"`).catch(() => undefined);
}

/** The error and its cause on one line (drizzle wraps the PostgreSQL error in `cause`). */
function oneLine(err: unknown): string {
  const e = err as Error & { cause?: Error };
  const text = [e.cause?.message, e.message?.split('\n')[0]].filter(Boolean).join(' — ');
  return text.replace(/\s+/g, ' ').slice(0, 300);
}
