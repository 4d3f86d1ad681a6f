/**
 * The PostgreSQL tables derived from the SQLite definitions (src/db/pg-schema.ts): every table of
 * schema.ts is there, the types follow the mapping, and SQL in SQLite's dialect is either translated
 * or refused, never copied through unknown. No database needed.
 */
import t from 'tap';
import { sql } from 'drizzle-orm';
import { check, index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { getTableConfig as pgTableConfig } from 'drizzle-orm/pg-core';
import { PgDialect } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { is } from 'drizzle-orm';
import * as schema from '../../src/db/schema.js';
import { createdAt } from '../../src/db/columns.js';
import { derivePgTables, pgTables } from '../../src/db/pg-schema.js';

const pgDialect = new PgDialect();

t.test('one PostgreSQL table for every SQLite table of schema.ts', async (t) => {
  const sqliteNames = Object.values(schema)
    .filter((v) => is(v, SQLiteTable))
    .map((v) => sqliteTableConfig(v as SQLiteTable).name)
    .sort();
  t.same(Object.keys(pgTables).sort(), [...new Set(sqliteNames)]);
  for (const table of Object.values(pgTables)) pgTableConfig(table); // FKs and indexes resolve
});

t.test('types, keys and defaults follow the mapping', async (t) => {
  const sample = sqliteTable(
    'sample',
    {
      id: integer('id').primaryKey({ autoIncrement: true }),
      count: integer('count').notNull().default(3),
      flag: integer('flag', { mode: 'boolean' }).notNull().default(true),
      doc: text('doc', { mode: 'json' }).$type<string[]>().notNull().default(['a']),
      ratio: real('ratio'),
      createdAt: createdAt(),
    },
    (s) => [index('sample_flag').on(s.flag).where(sql`${s.count} >= 1 AND ${s.doc} <> 'x'`), check('sample_count', sql`${s.count} BETWEEN 0 AND 9`)],
  );
  const cfg = pgTableConfig(derivePgTables({ sample }).sample!);
  const col = (name: string) => cfg.columns.find((c) => c.name === name)!;
  t.equal(col('id').getSQLType(), 'bigint');
  t.equal(col('id').generatedIdentity?.type, 'byDefault', 'identity BY DEFAULT: explicit ids still accepted');
  t.equal(col('count').getSQLType(), 'bigint');
  t.equal(col('count').default, 3);
  t.equal(col('flag').getSQLType(), 'integer', 'boolean mode stays an integer 0/1 column');
  t.equal(col('flag').default, 1, 'true is written as 1, as the runtime column does');
  t.equal(col('doc').getSQLType(), 'text');
  t.equal(col('doc').default, '["a"]', 'JSON default as its text');
  t.equal(col('ratio').getSQLType(), 'double precision');
  t.match(pgDialect.sqlToQuery(col('created_at').default as never).sql, /^\(to_char\(statement_timestamp\(\) at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS\.MS"Z"'\)\)$/);
  t.equal(pgDialect.sqlToQuery(cfg.indexes[0]!.config.where!).sql, `"count" >= 1 AND "doc" <> 'x'`);
  t.equal(pgDialect.sqlToQuery(cfg.checks[0]!.value).sql, `"count" BETWEEN 0 AND 9`);
});

t.test('SQLite-only SQL with no known translation is refused', async (t) => {
  const cases = {
    default: sqliteTable('d', { at: text('at').default(sql`(datetime('now'))`) }),
    where: sqliteTable('w', { a: text('a') }, (s) => [index('w_a').on(s.a).where(sql`${s.a} GLOB 'x*'`)]),
    check: sqliteTable('c', { a: integer('a') }, (s) => [check('c_a', sql`json_valid(${s.a})`)]),
    concat: sqliteTable('k', { a: text('a') }, (s) => [check('k_a', sql`${s.a} || 'x' <> 'y'`)]),
    boolLiteral: sqliteTable('b', { a: integer('a', { mode: 'boolean' }) }, (s) => [check('b_a', sql`${s.a} = true`)]),
  };
  for (const [what, table] of Object.entries(cases)) {
    t.throws(
      () => {
        for (const pgTable of Object.values(derivePgTables({ table }))) pgTableConfig(pgTable);
      },
      /SQLite SQL with no known PostgreSQL form: .*SQLITE_TO_PG/,
      what,
    );
  }
});
