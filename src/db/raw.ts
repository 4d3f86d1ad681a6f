/**
 * Raw SQL written once for both databases, for the measured hot paths and the few queries the
 * query builder does not express: `?` placeholders, standard SQL. On SQLite the statement is
 * prepared once per connection and runs synchronously (the promise is already settled); on
 * PostgreSQL the placeholders become `$1…$n` and the query runs on the open transaction's
 * connection (db/postgres.ts), else on the pool. Where the dialects differ, pass
 * `{ sqlite, postgres }` texts.
 */
import { statement, type DbLike } from './client.js';
import { postgresRuntime } from './postgres.js';

export type SqlText = string | { sqlite: string; postgres: string };

export type Dialect = 'sqlite' | 'postgres';

export function dialectOf(db: DbLike | object): Dialect {
  return postgresRuntime(db) ? 'postgres' : 'sqlite';
}

const numbered = new Map<string, string>();

/** `?` → `$n`, outside quoted strings and identifiers. */
export function numberPlaceholders(text: string): string {
  let out = numbered.get(text);
  if (out !== undefined) return out;
  let n = 0;
  let quote: string | null = null;
  out = '';
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') out += `$${++n}`;
    else out += ch;
  }
  numbered.set(text, out);
  return out;
}

function pick(text: SqlText, dialect: Dialect): string {
  return typeof text === 'string' ? text : text[dialect];
}

const statementNames = new Map<string, string>();
/** Texts built from filters (helpdesk searches) vary: past this many, new texts run unnamed. */
const MAX_NAMED_STATEMENTS = 512;

/**
 * A named prepared statement per text: each connection parses and plans it once, the later calls
 * only bind and execute (node-postgres remembers which names each connection has prepared).
 */
function pgStatementName(text: string): string | undefined {
  if (/;\s*\S/.test(text)) return undefined; // several statements (a test's DDL): PostgreSQL prepares only one
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS) statementNames.set(text, (name = `sael_raw_${statementNames.size + 1}`));
  return name;
}

/** The node-postgres query of a raw text (`?` placeholders or the `postgres` form), as a named statement. */
export function pgQueryConfig(text: SqlText, values: unknown[], rowMode?: 'array'): { name?: string; text: string; values: unknown[]; rowMode?: 'array' } {
  const sql = numberPlaceholders(pick(text, 'postgres'));
  return { name: pgStatementName(sql), text: sql, values, ...(rowMode ? { rowMode } : {}) };
}

async function pgQuery(db: object, text: SqlText, params: unknown[]) {
  return postgresRuntime(db)!.queryable().query(pgQueryConfig(text, params));
}

export async function sqlAll<T = Record<string, unknown>>(db: DbLike, text: SqlText, ...params: unknown[]): Promise<T[]> {
  if (postgresRuntime(db)) return (await pgQuery(db, text, params)).rows as T[];
  return statement(db, pick(text, 'sqlite')).all(...params) as T[];
}

export async function sqlGet<T = Record<string, unknown>>(db: DbLike, text: SqlText, ...params: unknown[]): Promise<T | undefined> {
  if (postgresRuntime(db)) return (await pgQuery(db, text, params)).rows[0] as T | undefined;
  return statement(db, pick(text, 'sqlite')).get(...params) as T | undefined;
}

/** Runs a write; `changes` is the number of rows it touched. Use `RETURNING id` with sqlGet for a new id. */
export async function sqlRun(db: DbLike, text: SqlText, ...params: unknown[]): Promise<{ changes: number }> {
  if (postgresRuntime(db)) return { changes: (await pgQuery(db, text, params)).rowCount ?? 0 };
  return { changes: statement(db, pick(text, 'sqlite')).run(...params).changes };
}

/**
 * On PostgreSQL, a transaction-scoped advisory lock on (name, key): writers of the same name and
 * key queue here until the holder's transaction ends, so a read-then-write of theirs sees what the
 * previous one committed. Nothing on SQLite, where BEGIN IMMEDIATE already holds the only write lock.
 */
export async function lockForTransaction(db: DbLike, name: string, key = 0): Promise<void> {
  if (postgresRuntime(db)) await pgQuery(db, 'SELECT pg_advisory_xact_lock(hashtext(?), ?::int) AS locked', [name, key]);
}
