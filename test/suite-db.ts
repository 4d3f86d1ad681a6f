/**
 * For the tests that build their app with `buildApp` themselves (to inject a clock): the
 * DATABASE_URL of a fresh PostgreSQL database when the suite runs on PostgreSQL
 * (SAEL_TEST_DB=postgres, as buildTestApp does), nothing on SQLite. The database is dropped when
 * the test ends, after the app (`closeThen` closes the app first).
 */
import type { FastifyInstance } from 'fastify';
import { SUITE_ON_POSTGRES, suiteDatabase } from './db/pg-helpers.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface SuiteDb {
  /** `{ DATABASE_URL }` on PostgreSQL, `{}` on SQLite: spread into loadConfig's input. */
  env: Record<string, string>;
  /** Registers the teardown: the app closes, then its database is dropped. */
  closeWith(t: Teardown, app: FastifyInstance): void;
  /** Drops the database (PostgreSQL), for a test that closes its apps itself. */
  dropWith(t: Teardown): void;
}

export async function suiteDb(): Promise<SuiteDb> {
  const pg = SUITE_ON_POSTGRES ? await suiteDatabase() : undefined;
  return {
    env: pg ? { DATABASE_URL: pg.url } : {},
    closeWith: (t, app) =>
      t.teardown(async () => {
        await app.close();
        await pg?.drop();
      }),
    dropWith: (t) => t.teardown(async () => await pg?.drop()),
  };
}
