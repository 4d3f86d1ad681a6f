/**
 * PostgreSQL for tests: the server URL comes from TEST_DATABASE_URL (`scripts/pg-throwaway.sh
 * start` prints one); each test creates its own database and drops it at teardown. Without the
 * variable a test skips, unless SAEL_REQUIRE_PG=1 (CI), where it fails. node-postgres is imported
 * at first use: test/helpers.ts imports this module in every test process, most of them on SQLite.
 */
import crypto from 'node:crypto';
import type pg from 'pg';
import type { AppDatabase } from '../../src/db/open.js';

const loadPg = async () => (await import('pg')).default;

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
  const { url, drop } = await newDatabase(serverUrl);
  t.teardown(drop);
  return url;
}

/** Whether the test server has CREATE DATABASE … STRATEGY (PostgreSQL 15+), asked once per process. */
let fileCopyKnown: boolean | undefined;

/** Creates `t_<random>` (a copy of `template` when named); its URL and the function that drops it. */
async function newDatabase(serverUrl: string, template?: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  const pg = await loadPg();
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    // FILE_COPY (PostgreSQL 15+) copies the template's files; the default WAL_LOG writes every
    // page through the WAL: 63–133 ms a database against 33–41 here (a 13 MB template, fsync off),
    // and each test app on PostgreSQL makes one.
    const fileCopy = template && (fileCopyKnown ??= Number((await admin.query('SHOW server_version_num')).rows[0].server_version_num) >= 150000);
    await admin.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}${fileCopy ? ' STRATEGY FILE_COPY' : ''}`);
  } finally {
    await admin.end();
  }
  const drop = async () => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await c.end();
    }
  };
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop };
}

/** A pool on `url`, ended at teardown. */
export async function testPool(t: TapLike, url: string, max = 4): Promise<pg.Pool> {
  const pg = await loadPg();
  const pool = new pg.Pool({ connectionString: url, max });
  // A database dropped WITH (FORCE) at teardown ends idle connections: not an error here.
  pool.on('error', () => undefined);
  t.teardown(() => pool.end());
  return pool;
}

/**
 * The suite on PostgreSQL (`SAEL_TEST_DB=postgres` with TEST_DATABASE_URL): each test app gets a
 * database of its own, copied from a template that holds the migrated schema. The template is
 * made once per server and migrations folder (its name carries their hash), under an advisory
 * lock, so that the run's parallel processes do not each migrate a database of their own.
 */
export const SUITE_ON_POSTGRES = process.env.SAEL_TEST_DB === 'postgres';

const TEMPLATE_LOCK_KEY = 0x5ae1_7e57;
let templateName: Promise<string> | undefined;

async function migratedTemplate(serverUrl: string): Promise<string> {
  const { MIGRATIONS_PG_FOLDER, migratePostgres } = await import('../../src/db/pg-migrate.js');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const hash = crypto.createHash('sha256');
  for (const f of fs.readdirSync(MIGRATIONS_PG_FOLDER, { recursive: true }).map(String).sort()) {
    const p = path.join(MIGRATIONS_PG_FOLDER, f);
    if (fs.statSync(p).isFile()) hash.update(f).update(fs.readFileSync(p));
  }
  const name = `sael_tpl_${hash.digest('hex').slice(0, 16)}`;
  const pg = await loadPg();
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      const building = `${name}_building`;
      await admin.query(`DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${building}"`);
      const u = new URL(serverUrl);
      u.pathname = `/${building}`;
      const pool = new pg.Pool({ connectionString: u.toString(), max: 1 });
      try {
        await migratePostgres(pool);
      } finally {
        await pool.end();
      }
      await admin.query(`ALTER DATABASE "${building}" RENAME TO "${name}"`);
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]).catch(() => undefined);
    await admin.end();
  }
  return name;
}

/** A fresh, migrated database for one test app, and the function that drops it. */
export async function suiteDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) throw new Error('SAEL_TEST_DB=postgres needs TEST_DATABASE_URL (scripts/pg-throwaway.sh start prints it)');
  templateName ??= migratedTemplate(serverUrl);
  return newDatabase(serverUrl, await templateName);
}

/**
 * One database seen by two "processes", on either dialect: on PostgreSQL two pools on a fresh
 * database; on SQLite one connection to a fresh file, shared (two SQLite connections in one thread
 * would deadlock on the write lock: a busy wait blocks the thread the holder needs to commit; the
 * two-process SQLite case is the cluster test's). Undefined when PostgreSQL is missing (skipped).
 */
export async function sharedDatabase(t: TapLike, dialect: 'sqlite' | 'postgres'): Promise<[AppDatabase, AppDatabase] | undefined> {
  const { openAppDatabase } = await import('../../src/db/open.js');
  let config: { databaseFile: string; databaseUrl?: string };
  if (dialect === 'sqlite') {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-shared-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    config = { databaseFile: path.join(dir, 'shared.sqlite') };
  } else {
    const server = pgServerUrl(t);
    if (!server) return undefined;
    config = { databaseFile: '/nonexistent', databaseUrl: await createTestDatabase(t, server) };
  }
  const a = await openAppDatabase(config, { poolSize: 4 });
  const b = dialect === 'sqlite' ? a : await openAppDatabase(config, { poolSize: 4 });
  t.teardown(async () => {
    await a.close();
    if (b !== a) await b.close();
  });
  return [a, b];
}
