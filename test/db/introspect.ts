/**
 * The schema of a migrated SQLite file and of a migrated PostgreSQL database, as one list of facts
 * each ("column enti.id integer not-null no-default identity", "index …", "fk …"), in a form both
 * dialects can give, so that the two lists can be compared and their difference printed.
 *
 * Type classes after the mapping of src/db/pg-schema.ts: SQLite integer ↔ bigint or integer,
 * text ↔ text, real ↔ double precision, blob ↔ bytea, numeric ↔ numeric. An SQLite
 * AUTOINCREMENT key ↔ a PostgreSQL identity column. Expressions (index columns, partial-index
 * conditions) are compared after a light normalisation: no quotes, casts, parentheses, blanks or
 * table prefixes, lower case.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';

export interface SchemaFacts {
  facts: string[];
}

const TYPE_CLASS: Record<string, string> = {
  integer: 'integer',
  bigint: 'integer',
  text: 'text',
  real: 'real',
  'double precision': 'real',
  blob: 'blob',
  bytea: 'blob',
  numeric: 'numeric',
};

function typeClass(declared: string): string {
  const t = declared.toLowerCase().replace(/\(.*$/, '').trim();
  return TYPE_CLASS[t] ?? `?${t}`;
}

/** An expression or condition in a comparable form (see the header). */
export function normalizeExpr(expr: string, table?: string): string {
  let s = expr.toLowerCase();
  if (table) s = s.split(`"${table.toLowerCase()}".`).join('').split(`\`${table.toLowerCase()}\`.`).join('');
  return s
    .replace(/::[a-z_]+( [a-z_]+)?(\[\])?/g, '')
    .replace(/["`]/g, '')
    .replace(/[()\s]/g, '');
}

const FK_ACTION: Record<string, string> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' };

/** Splits `a, f(b, c), d` at its top-level commas. */
function splitTopLevel(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  let quote: string | null = null;
  for (const ch of list) {
    if (quote) {
      cur += ch;
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** The column list and WHERE of a `CREATE [UNIQUE] INDEX name ON table (…) [WHERE …]`. */
function parseIndexSql(sqlText: string): { columns: string[]; where: string | null } {
  const on = sqlText.search(/\sON\s/i);
  const open = sqlText.indexOf('(', on);
  let depth = 0;
  let close = open;
  for (let i = open; i < sqlText.length; i++) {
    if (sqlText[i] === '(') depth++;
    if (sqlText[i] === ')' && --depth === 0) {
      close = i;
      break;
    }
  }
  const rest = sqlText.slice(close + 1);
  const w = /\bWHERE\b([\s\S]*)$/i.exec(rest);
  return { columns: splitTopLevel(sqlText.slice(open + 1, close)), where: w ? w[1]!.trim() : null };
}

function indexFact(table: string, name: string, unique: boolean, columns: string[], where: string | null): string {
  const cols = columns.map((c) => normalizeExpr(c, table)).join(', ');
  return `index ${table}.${name} ${unique ? 'unique' : 'non-unique'} (${cols})${where ? ` where ${normalizeExpr(where, table)}` : ''}`;
}

/** Facts of a SQLite database (after its migrations). */
export function sqliteFacts(db: Database.Database): SchemaFacts {
  const facts: string[] = [];
  const tables = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__drizzle_migrations' ORDER BY name")
    .all() as { name: string; sql: string }[];
  for (const { name: table, sql } of tables) {
    facts.push(`table ${table}`);
    const cols = db.prepare(`SELECT * FROM pragma_table_info(?)`).all(table) as {
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
    }[];
    for (const c of cols) {
      const identity = new RegExp(`[\`"]${c.name}[\`"]\\s+integer\\s+PRIMARY\\s+KEY\\s+AUTOINCREMENT`, 'i').test(sql);
      facts.push(
        `column ${table}.${c.name} ${typeClass(c.type)} ${c.notnull ? 'not-null' : 'nullable'} ${c.dflt_value !== null ? 'default' : 'no-default'}${identity ? ' identity' : ''}`,
      );
    }
    const pk = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    if (pk.length) facts.push(`primary key ${table} (${pk.map((c) => c.name).join(', ')})`);

    const indexes = db.prepare(`SELECT * FROM pragma_index_list(?)`).all(table) as { name: string; unique: number; origin: string; partial: number }[];
    for (const ix of indexes) {
      if (ix.origin === 'pk') continue;
      const row = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").get(ix.name) as { sql: string | null } | undefined;
      if (row?.sql) {
        const parsed = parseIndexSql(row.sql);
        facts.push(indexFact(table, ix.name, ix.unique === 1, parsed.columns, parsed.where));
      } else {
        // An automatic index (UNIQUE inside CREATE TABLE): named by its columns.
        const info = db.prepare(`SELECT name FROM pragma_index_info(?) ORDER BY seqno`).all(ix.name) as { name: string }[];
        facts.push(indexFact(table, `(unique ${info.map((i) => i.name).join(',')})`, true, info.map((i) => i.name), null));
      }
    }

    const fks = db.prepare(`SELECT * FROM pragma_foreign_key_list(?)`).all(table) as {
      id: number;
      seq: number;
      table: string;
      from: string;
      to: string;
      on_update: string;
      on_delete: string;
    }[];
    const byId = new Map<number, typeof fks>();
    for (const f of fks) byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
    for (const group of byId.values()) {
      group.sort((a, b) => a.seq - b.seq);
      const f = group[0]!;
      facts.push(
        `fk ${table} (${group.map((g) => g.from).join(', ')}) -> ${f.table} (${group.map((g) => g.to).join(', ')}) on delete ${f.on_delete.toLowerCase()} on update ${f.on_update.toLowerCase()}`,
      );
    }
    for (const m of sql.matchAll(/CONSTRAINT\s+["`]([^"`]+)["`]\s+CHECK/gi)) facts.push(`check ${table}.${m[1]}`);
  }
  const triggers = db.prepare("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name").all() as {
    name: string;
    tbl_name: string;
    sql: string;
  }[];
  for (const tr of triggers) facts.push(triggerFact(tr.name, tr.tbl_name, tr.sql));
  return { facts: facts.sort() };
}

function triggerFact(name: string, table: string, definition: string): string {
  const m = /\b(BEFORE|AFTER|INSTEAD OF)\s+(INSERT|UPDATE|DELETE)\b/i.exec(definition);
  return `trigger ${table}.${name} ${m ? `${m[1]!.toLowerCase()} ${m[2]!.toLowerCase()}` : '?'}`;
}

/** Facts of a PostgreSQL database (schema `public`, after its migrations). */
export async function pgFacts(client: pg.Pool | pg.PoolClient | pg.Client): Promise<SchemaFacts> {
  const facts: string[] = [];
  const q = async <T>(text: string, params: unknown[] = []): Promise<T[]> => (await client.query(text, params)).rows as T[];

  const tables = await q<{ name: string }>(
    "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
  );
  for (const { name } of tables) facts.push(`table ${name}`);

  const cols = await q<{ table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null; is_identity: string }>(
    "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity FROM information_schema.columns WHERE table_schema = 'public'",
  );
  for (const c of cols) {
    facts.push(
      `column ${c.table_name}.${c.column_name} ${typeClass(c.data_type)} ${c.is_nullable === 'NO' ? 'not-null' : 'nullable'} ${c.column_default !== null ? 'default' : 'no-default'}${c.is_identity === 'YES' ? ' identity' : ''}`,
    );
  }

  const constraints = await q<{ table: string; name: string; type: string; cols: string[]; ftable: string | null; fcols: string[] | null; del: string; upd: string }>(
    `SELECT c.relname AS table, k.conname AS name, k.contype AS type,
            ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i)::text[] AS cols,
            f.relname AS ftable,
            ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)::text[] AS fcols,
            k.confdeltype AS del, k.confupdtype AS upd
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_class f ON f.oid = k.confrelid
      WHERE n.nspname = 'public' AND k.contype IN ('p', 'f', 'c')`,
  );
  for (const k of constraints) {
    if (k.type === 'p') facts.push(`primary key ${k.table} (${k.cols.join(', ')})`);
    if (k.type === 'c') facts.push(`check ${k.table}.${k.name}`);
    if (k.type === 'f')
      facts.push(`fk ${k.table} (${k.cols.join(', ')}) -> ${k.ftable} (${(k.fcols ?? []).join(', ')}) on delete ${FK_ACTION[k.del]} on update ${FK_ACTION[k.upd]}`);
  }

  const indexes = await q<{ table: string; name: string; unique: boolean; cols: string[]; pred: string | null }>(
    `SELECT t.relname AS table, i.relname AS name, x.indisunique AS unique,
            ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) FROM generate_series(1, x.indnkeyatts) k ORDER BY k)::text[] AS cols,
            pg_get_expr(x.indpred, x.indrelid, true) AS pred
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND NOT x.indisprimary`,
  );
  for (const ix of indexes) facts.push(indexFact(ix.table, ix.name, ix.unique, ix.cols, ix.pred));

  const triggers = await q<{ table: string; name: string; def: string }>(
    `SELECT c.relname AS table, tg.tgname AS name, pg_get_triggerdef(tg.oid) AS def
       FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND NOT tg.tgisinternal`,
  );
  for (const tr of triggers) facts.push(triggerFact(tr.name, tr.table, tr.def));
  return { facts: facts.sort() };
}

/** What only one side has, readable; empty when both agree. */
export function diffFacts(sqlite: SchemaFacts, postgres: SchemaFacts): { onlySqlite: string[]; onlyPg: string[]; text: string } {
  const a = new Set(sqlite.facts);
  const b = new Set(postgres.facts);
  const onlySqlite = sqlite.facts.filter((f) => !b.has(f));
  const onlyPg = postgres.facts.filter((f) => !a.has(f));
  const text = [...onlySqlite.map((f) => `- sqlite only:     ${f}`), ...onlyPg.map((f) => `+ postgresql only: ${f}`)].join('\n');
  return { onlySqlite, onlyPg, text };
}
