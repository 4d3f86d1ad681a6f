/**
 * Both dialects' migrations produce the same schema: the SQLite migrations (migrations/) applied to
 * a temporary file and the PostgreSQL ones (migrations-pg/, generated from the tables pg-schema.ts
 * derives from the same definitions, plus the hand-written triggers) applied to a fresh database
 * give the same tables, columns, keys, indexes, foreign keys, checks and triggers. And
 * migratePostgres is safe to run again and from two processes at once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { is } from 'drizzle-orm';
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as schema from '../../src/db/schema.js';
import { DatabaseStartError, openDatabase } from '../../src/db/client.js';
import { appliedMigrationsPg, configurePgTypes, migratePostgres, MIGRATIONS_PG_FOLDER } from '../../src/db/pg-migrate.js';
import { diffFacts, pgFacts, sqliteFacts, type SchemaFacts } from './introspect.js';
import { createTestDatabase, pgServerUrl, testPool } from './pg-helpers.js';

const serverUrl = pgServerUrl(t);

function sqliteSchemaFacts(t: { teardown(fn: () => void): void }): SchemaFacts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-dialects-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const h = openDatabase(path.join(dir, 'db.sqlite'));
  try {
    return sqliteFacts(h.sqlite);
  } finally {
    h.close();
  }
}

if (serverUrl) {
  configurePgTypes();

  t.test('SQLite and PostgreSQL migrations give the same schema', async (t) => {
    const pool = await testPool(t, await createTestDatabase(t, serverUrl));
    const result = await migratePostgres(pool);
    t.equal(result.applied, result.expected, 'every PostgreSQL migration applied');
    t.ok(result.expected >= 2, 'the generated schema and the hand-written triggers');

    const lite = sqliteSchemaFacts(t);
    const post = await pgFacts(pool);
    const diff = diffFacts(lite, post);
    if (diff.text) t.comment(`schema differences:\n${diff.text}`);
    t.same(diff.onlySqlite, [], 'nothing only in SQLite');
    t.same(diff.onlyPg, [], 'nothing only in PostgreSQL');
    t.ok(lite.facts.filter((f) => f.startsWith('trigger ')).length >= 23, 'the triggers are compared');
    t.ok(lite.facts.some((f) => / where /.test(f)), 'partial indexes are compared');

    // Finer than the type classes: int4 exactly for the boolean-mode columns (0/1), int8 for every other integer.
    const booleans = (Object.values(schema) as unknown[])
      .filter((v): v is SQLiteTable => is(v, SQLiteTable))
      .flatMap((tbl) => getTableConfig(tbl).columns.filter((c) => c.columnType === 'SQLiteBoolean').map((c) => `${getTableConfig(tbl).name}.${c.name}`));
    const { rows: int4 } = await pool.query("SELECT table_name || '.' || column_name AS c FROM information_schema.columns WHERE table_schema = 'public' AND data_type = 'integer'");
    t.same(int4.map((r: { c: string }) => r.c).sort(), [...new Set(booleans)].sort(), 'integer (int4) columns are the boolean-mode ones');
    t.ok(booleans.length > 20);

    // The comparison can fail: without one index and one trigger, the difference names them.
    await pool.query('DROP INDEX "positions_ente"');
    await pool.query('DROP TRIGGER "receipts_debtor_version_upd" ON "receipts"');
    const broken = diffFacts(lite, await pgFacts(pool));
    t.same(broken.onlyPg, []);
    t.same(broken.onlySqlite, ['index positions.positions_ente non-unique (ente_id)', 'trigger receipts.receipts_debtor_version_upd after update']);
  });

  t.test('migratePostgres a second time applies nothing', async (t) => {
    const pool = await testPool(t, await createTestDatabase(t, serverUrl));
    const first = await migratePostgres(pool);
    const before = await pgFacts(pool);
    const second = await migratePostgres(pool);
    t.same(second, first);
    t.equal(await appliedMigrationsPg(pool), first.expected);
    t.same((await pgFacts(pool)).facts, before.facts, 'schema unchanged');
  });

  t.test('two processes migrating one fresh database at once: both succeed, tables made once', async (t) => {
    const url = await createTestDatabase(t, serverUrl);
    // Two pools, as two processes would have.
    const a = await testPool(t, url);
    const b = await testPool(t, url);
    const [ra, rb] = await Promise.all([migratePostgres(a), migratePostgres(b)]);
    t.equal(ra.applied, ra.expected);
    t.equal(rb.applied, rb.expected);
    const { rows } = await a.query('SELECT count(*) AS n FROM drizzle.__drizzle_migrations');
    t.equal(rows[0].n, ra.expected, 'each migration recorded once');
    t.equal(typeof rows[0].n, 'number', 'int8 read as a number (configurePgTypes)');
  });

  t.test('a failed migration: DatabaseStartError in one line, nothing left behind', async (t) => {
    const pool = await testPool(t, await createTestDatabase(t, serverUrl));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-pgmig-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const folder = path.join(dir, 'migrations-pg');
    fs.cpSync(MIGRATIONS_PG_FOLDER, folder, { recursive: true });
    const journalFile = path.join(folder, 'meta', '_journal.json');
    const journal = JSON.parse(fs.readFileSync(journalFile, 'utf8'));
    const last = journal.entries[journal.entries.length - 1];
    journal.entries.push({ idx: last.idx + 1, version: last.version, when: last.when + 1000, tag: '9999_broken', breakpoints: true });
    fs.writeFileSync(journalFile, JSON.stringify(journal));
    fs.writeFileSync(path.join(folder, '9999_broken.sql'), 'CREATE TABLE half_done (id integer);\n--> statement-breakpoint\nINSERT INTO no_such_table VALUES (1);');

    const err = (await migratePostgres(pool, folder).catch((e: unknown) => e)) as Error;
    t.type(err, DatabaseStartError);
    t.match(err.message, /migrazione del database PostgreSQL non riuscita: .*no_such_table/);
    t.notMatch(err.message, /\n/, 'one line');
    const { rows } = await pool.query("SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'drizzle') AND c.relkind = 'r'");
    t.equal(rows[0].n, 0, 'no table left, not even the bookkeeping one');

    const unreachable = await testPool(t, 'postgres://sael@127.0.0.1:1/none');
    const err2 = (await migratePostgres(unreachable).catch((e: unknown) => e)) as Error;
    t.type(err2, DatabaseStartError);
    t.match(err2.message, /^impossibile connettersi al database PostgreSQL: /);
  });
}

/** One database, either dialect, reached with `?` placeholders. */
interface Side {
  name: string;
  all(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
}

/**
 * Inserts a row into `table` with every NOT NULL column without a default filled (a distinct value
 * each time, foreign keys pointing at the last row made in the target table), plus `values`.
 */
async function insertRow(side: Side, columnsOf: ColumnsOf, made: Map<string, number>, table: string, values: Record<string, unknown>): Promise<number> {
  const row: Record<string, unknown> = {};
  const { columns, fks } = columnsOf(table);
  for (const c of columns) {
    if (!c.notnull || c.dflt_value !== null || c.pk || c.name in values) continue;
    const fk = fks.find((f) => f.from === c.name);
    if (fk) {
      const target = made.get(fk.table);
      if (target === undefined) throw new Error(`${table}.${c.name}: no ${fk.table} row yet`);
      row[c.name] = target;
    } else row[c.name] = /int/i.test(c.type) ? ++counter : /real/i.test(c.type) ? 1.5 : `v${++counter}`;
  }
  Object.assign(row, values);
  const names = Object.keys(row);
  const [r] = await side.all(
    `INSERT INTO "${table}" (${names.map((n) => `"${n}"`).join(', ')}) VALUES (${names.map(() => '?').join(', ')}) RETURNING "id"`,
    names.map((n) => row[n]),
  );
  const id = Number(r!.id);
  made.set(table, id);
  return id;
}
let counter = 0;

type ColumnsOf = (table: string) => {
  columns: { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }[];
  fks: { table: string; from: string }[];
};

/** The same writes on both databases; what the triggers did, as each database recorded it. */
async function exerciseTriggers(side: Side, columnsOf: ColumnsOf): Promise<{ versions: Record<string, unknown>[]; errors: string[] }> {
  const made = new Map<string, number>();
  const ente = await insertRow(side, columnsOf, made, 'enti', { kind: 'comune' });
  await insertRow(side, columnsOf, made, 'payment_services', { ente_id: ente });
  const iban = await insertRow(side, columnsOf, made, 'ente_ibans', { ente_id: ente });
  await side.all('UPDATE "ente_ibans" SET "label" = ? WHERE "id" = ?', ['Conto', iban]);
  await side.all('UPDATE "enti" SET "name" = ? WHERE "id" = ?', ['Comune', ente]);
  const p1 = await insertRow(side, columnsOf, made, 'positions', { ente_id: ente, debtor_fiscal_code: 'AAA' });
  const p2 = await insertRow(side, columnsOf, made, 'positions', { ente_id: ente, debtor_fiscal_code: 'AAA' });
  const p3 = await insertRow(side, columnsOf, made, 'positions', { ente_id: ente, debtor_fiscal_code: 'BBB' });
  const option = await insertRow(side, columnsOf, made, 'payment_options', { position_id: p1, ente_id: ente });
  // Moved between two positions of the same debtor: SQLite bumps that debtor twice.
  await side.all('UPDATE "payment_options" SET "position_id" = ? WHERE "id" = ?', [p2, option]);
  await side.all('UPDATE "payment_options" SET "position_id" = ? WHERE "id" = ?', [p3, option]);
  await side.all('UPDATE "positions" SET "debtor_fiscal_code" = ? WHERE "id" = ?', ['CCC', p3]);
  await side.all('UPDATE "positions" SET "debtor_fiscal_code" = ? WHERE "id" = ?', ['AAA', p2]);
  const receipt = await insertRow(side, columnsOf, made, 'receipts', { ente_id: ente, debtor_fiscal_code: 'DDD', outcome: 'OK' });
  await side.all('UPDATE "receipts" SET "debtor_fiscal_code" = ? WHERE "id" = ?', ['EEE', receipt]);
  await side.all('DELETE FROM "payment_options" WHERE "id" = ?', [option]);
  await side.all('DELETE FROM "positions" WHERE "id" = ?', [p1]);
  await side.all('DELETE FROM "ente_ibans" WHERE "id" = ?', [iban]);

  const errors: string[] = [];
  await side.all('INSERT INTO "cons_events" ("seq", "at", "kind", "actor", "subject", "prev_hash", "hash") VALUES (1, ?, ?, ?, ?, ?, ?)', ['2026-01-01T00:00:00.000Z', 'ingest', 'system', 'sip:1', '0', 'h1']);
  for (const text of ['UPDATE "cons_events" SET "actor" = ?', 'DELETE FROM "cons_events" WHERE "actor" <> ?'])
    await side.all(text, ['x']).then(
      () => errors.push('accepted'),
      (err: Error) => errors.push(err.message),
    );
  const versions = await side.all('SELECT "fiscal_code", "version" FROM "debtor_versions" ORDER BY "fiscal_code"');
  return { versions: versions.map((v) => ({ fiscal_code: v.fiscal_code, version: Number(v.version) })), errors };
}

if (serverUrl) {
  t.test('the triggers do the same on both databases', async (t) => {
    const pool = await testPool(t, await createTestDatabase(t, serverUrl));
    await migratePostgres(pool);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-dialects-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const h = openDatabase(path.join(dir, 'db.sqlite'));
    t.teardown(() => h.close());

    const columnsOf: ColumnsOf = (table) => ({
      columns: h.sqlite.prepare('SELECT * FROM pragma_table_info(?)').all(table) as ReturnType<ColumnsOf>['columns'],
      fks: h.sqlite.prepare('SELECT * FROM pragma_foreign_key_list(?)').all(table) as ReturnType<ColumnsOf>['fks'],
    });
    const lite: Side = {
      name: 'sqlite',
      all: async (text, params = []) => {
        const stmt = h.sqlite.prepare(text);
        if (stmt.reader) return stmt.all(...params) as Record<string, unknown>[];
        stmt.run(...params);
        return [];
      },
    };
    const post: Side = {
      name: 'postgresql',
      all: async (text, params = []) => {
        let n = 0;
        return (await pool.query(text.replace(/\?/g, () => `$${++n}`), params)).rows;
      },
    };
    const a = await exerciseTriggers(lite, columnsOf);
    const b = await exerciseTriggers(post, columnsOf);
    t.same(b.versions, a.versions, 'debtor_versions counters: the same on both');
    t.same(b.errors, a.errors, 'write-once guards: the same refusals');
    t.same(a.errors, ['cons_events is append-only', 'cons_events is append-only']);
    const v = Object.fromEntries(a.versions.map((r) => [r.fiscal_code, r.version]));
    // AAA: 2 inserts, option insert, option moved P1→P2 (2), P2→P3 (1), P2 set to AAA again (1), P1 deleted (1).
    t.same(v, { '*': 6, AAA: 8, BBB: 3, CCC: 2, DDD: 1, EEE: 1 });
  });
}
