/**
 * PostgreSQL for tests: the server URL comes from TEST_DATABASE_URL (`scripts/pg-throwaway.sh
 * start` prints one); each test creates its own database and drops it at teardown. Without the
 * variable a test skips, unless SAEL_REQUIRE_PG=1 (CI), where it fails.
 */
import crypto from 'node:crypto';
import pg from 'pg';

interface TapLike {
  teardown(fn: () => unknown): void;
  fail(message: string): unknown;
  plan(n: number, comment?: string): void;
}

/** The server URL, or undefined after skipping (or failing, under SAEL_REQUIRE_PG=1) the test. */
export function pgServerUrl(t: TapLike): string | undefined {
  const url = process.env.TEST_DATABASE_URL;
  if (url) return url;
  if (process.env.SAEL_REQUIRE_PG === '1') {
    t.fail('SAEL_REQUIRE_PG=1 but TEST_DATABASE_URL is not set: start a cluster with scripts/pg-throwaway.sh start and set TEST_DATABASE_URL to the URL it prints');
  } else {
    t.plan(0, 'no PostgreSQL: TEST_DATABASE_URL is not set (scripts/pg-throwaway.sh start prints a URL to set it to)');
  }
  return undefined;
}

/** A fresh database `t_<random>` on the server; its URL. Dropped (connections closed) at teardown. */
export async function createTestDatabase(t: TapLike, serverUrl: string): Promise<string> {
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await c.end();
    }
  });
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A pool on `url`, ended at teardown. */
export function testPool(t: TapLike, url: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  // A database dropped WITH (FORCE) at teardown ends idle connections: not an error here.
  pool.on('error', () => undefined);
  t.teardown(() => pool.end());
  return pool;
}
