/**
 * The database layer behaves the same on SQLite and on PostgreSQL: async transactions (commit,
 * rollback, savepoints, a query on `db` inside a transaction joins it), raw SQL written once, and
 * the PostgreSQL handle's resilience (a connection the server drops is not a crash).
 */
import path from 'node:path';
import t, { type Test } from 'tap';
import { eq } from 'drizzle-orm';
import { tempDir } from '../helpers.js';
import { openAppDatabase, type AppDatabase } from '../../src/db/open.js';
import { numberPlaceholders, sqlAll, sqlGet, sqlRun, dialectOf } from '../../src/db/raw.js';
import { auditLog } from '../../src/plugins/audit/schema.js';
import { createTestDatabase, pgServerUrl } from './pg-helpers.js';

type Tap = Test;

async function sqliteDb(t: Tap): Promise<AppDatabase> {
  const h = await openAppDatabase({ databaseFile: path.join(tempDir(t), 'tx.sqlite') });
  t.teardown(() => h.close());
  return h;
}

async function postgresDb(t: Tap): Promise<AppDatabase | undefined> {
  const server = pgServerUrl(t);
  if (!server) return undefined;
  const url = await createTestDatabase(t, server);
  const h = await openAppDatabase({ databaseFile: '/nonexistent', databaseUrl: url }, { poolSize: 4 });
  t.teardown(() => h.close());
  return h;
}

const row = (action: string) => ({ actor: 'test', action, entity: 'tx', entityId: '1' });
const actions = async (h: AppDatabase) =>
  (await h.db.select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.entity, 'tx')).orderBy(auditLog.id)).map((r) => r.action);

async function sameBehaviour(t: Tap, h: AppDatabase) {
  await t.test('commit, and rollback on a throw', async (t) => {
    await h.db.transaction(async (tx) => {
      await tx.insert(auditLog).values(row('committed'));
    });
    await t.rejects(
      h.db.transaction(async (tx) => {
        await tx.insert(auditLog).values(row('rolled-back'));
        throw new Error('boom');
      }),
      /boom/,
    );
    t.same(await actions(h), ['committed']);
  });

  await t.test('a query on db inside a transaction joins it (sees its rows, is undone with it)', async (t) => {
    await t.rejects(
      h.db.transaction(async (tx) => {
        await tx.insert(auditLog).values(row('inside'));
        const seen = (await h.db.select().from(auditLog).where(eq(auditLog.action, 'inside'))).length;
        t.equal(seen, 1, 'db sees the uncommitted row of the transaction');
        await h.db.insert(auditLog).values(row('via-db'));
        throw new Error('undo');
      }),
      /undo/,
    );
    t.same(await actions(h), ['committed'], 'both writes undone');
  });

  await t.test('nested transactions are savepoints: the inner one rolls back alone', async (t) => {
    await h.db.transaction(async (tx) => {
      await tx.insert(auditLog).values(row('outer'));
      await t.rejects(
        tx.transaction(async (sp) => {
          await sp.insert(auditLog).values(row('inner'));
          throw new Error('inner fails');
        }),
        /inner fails/,
      );
      // from db, in the transaction's context: also a savepoint
      await h.db.transaction(async (sp) => {
        await sp.insert(auditLog).values(row('inner-ok'));
      });
    });
    t.same(await actions(h), ['committed', 'outer', 'inner-ok']);
  });

  await t.test('concurrent transactions do not mix their writes', async (t) => {
    const results = await Promise.allSettled(
      [0, 1, 2, 3].map((i) =>
        h.db.transaction(async (tx) => {
          await tx.insert(auditLog).values(row(`c${i}`));
          if (i % 2) throw new Error(`fail ${i}`);
        }),
      ),
    );
    t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    const got = (await actions(h)).filter((a) => /^c[0-9]$/.test(a));
    t.same(got.sort(), ['c0', 'c2']);
  });

  await t.test('work a transaction schedules runs after it, in a transaction of its own', async (t) => {
    let later: Promise<void> | undefined;
    await h.db.transaction(async (tx) => {
      await tx.insert(auditLog).values(row('scheduler'));
      later = new Promise<void>((resolve, reject) =>
        setTimeout(() => {
          h.db
            .transaction(async (tx2) => {
              await tx2.insert(auditLog).values(row('scheduled'));
            })
            .then(resolve, reject);
        }, 10),
      );
    });
    await later;
    t.ok((await actions(h)).includes('scheduled'));
  });

  await t.test('raw SQL written once: ? placeholders, changes, rows', async (t) => {
    const ins = await sqlRun(h.db, "INSERT INTO audit_log (actor, action, entity, entity_id) VALUES (?, ?, 'raw', ?)", 'test', 'why?', '7');
    t.equal(ins.changes, 1);
    const one = await sqlGet<{ action: string; entity_id: number }>(h.db, "SELECT action, entity_id FROM audit_log WHERE entity = 'raw' AND action = ?", 'why?');
    t.same(one, { action: 'why?', entity_id: '7' });
    const n = await sqlGet<{ n: number }>(h.db, "SELECT count(*) AS n FROM audit_log WHERE action <> '?'");
    t.equal(typeof n!.n, 'number', 'counts are numbers on both');
    const all = await sqlAll(h.db, { sqlite: "SELECT 'lite' AS d", postgres: "SELECT 'pg' AS d" });
    t.same(all, [{ d: h.dialect === 'postgres' ? 'pg' : 'lite' }]);
    t.equal(dialectOf(h.db), h.dialect);
    // inside a transaction, on its connection
    await t.rejects(
      h.db.transaction(async () => {
        await sqlRun(h.db, "INSERT INTO audit_log (actor, action, entity, entity_id) VALUES ('test', 'raw-in-tx', 'raw', '0')");
        t.ok(await sqlGet(h.db, "SELECT 1 AS x FROM audit_log WHERE action = 'raw-in-tx'"), 'visible in the transaction');
        throw new Error('undo raw');
      }),
      /undo raw/,
    );
    t.notOk(await sqlGet(h.db, "SELECT 1 AS x FROM audit_log WHERE action = 'raw-in-tx'"), 'undone');
  });

  await t.test('ping and migrations for /readyz', async (t) => {
    await h.ping();
    t.equal(await h.appliedMigrations(), h.expectedMigrations);
  });
}

t.test('numberPlaceholders leaves quoted question marks alone', async (t) => {
  t.equal(numberPlaceholders("SELECT ? , '?', \"a?\" , ?"), "SELECT $1 , '?', \"a?\" , $2");
});

t.test('SQLite', async (t) => {
  const h = await sqliteDb(t);
  t.equal(h.dialect, 'sqlite');
  await sameBehaviour(t, h);
});

t.test('PostgreSQL', async (t) => {
  const h = await postgresDb(t);
  if (!h) return;
  t.equal(h.dialect, 'postgres');
  await sameBehaviour(t, h);

  await t.test('a connection the server drops is not a crash; the next query works', async (t) => {
    const pg = (await import('pg')).default;
    await h.ping();
    const { d } = (await sqlGet<{ d: string }>(h.db, 'SELECT current_database() AS d'))!;
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    const killed = await admin.query('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1', [d]);
    await admin.end();
    t.ok(killed.rowCount! >= 1, 'the idle connections were terminated');
    // The first query may meet a dead connection; the one after must succeed.
    await h.ping().catch(() => undefined);
    await h.ping();
    t.equal(await h.appliedMigrations(), h.expectedMigrations);
  });

  await t.test('SQLite-only paths fail loudly, naming themselves', async (t) => {
    t.throws(() => h.sqlite.prepare('SELECT 1'), /percorso solo SQLite raggiunto con PostgreSQL \(sqlite\.prepare\)/);
  });
});
