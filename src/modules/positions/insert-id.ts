/**
 * The id of a row just inserted by raw SQL, on both databases: on SQLite the cached statement's
 * `lastInsertRowid` (an `INSERT … RETURNING id` read with `.get()` measured 3–6 µs slower per row,
 * and the creation and receipt paths insert several rows each), on PostgreSQL `RETURNING id`.
 * `text` is an INSERT without RETURNING, `?` placeholders (db/raw.ts).
 */
import { statement, type DbLike } from '../../db/client.js';
import { dialectOf, sqlGet } from '../../db/raw.js';

const returning = new Map<string, string>();

/** The new row's id, or undefined when the INSERT wrote nothing (`ON CONFLICT … DO NOTHING`). */
export async function insertIdOrNone(db: DbLike, text: string, ...params: unknown[]): Promise<number | undefined> {
  if (dialectOf(db) === 'sqlite') {
    const r = statement(db, text).run(...params);
    return r.changes ? Number(r.lastInsertRowid) : undefined;
  }
  let withId = returning.get(text);
  if (withId === undefined) returning.set(text, (withId = `${text} RETURNING id`));
  const row = await sqlGet<{ id: number }>(db, withId, ...params);
  return row && Number(row.id);
}

/** The new row's id (for an INSERT that always writes its row). */
export async function insertId(db: DbLike, text: string, ...params: unknown[]): Promise<number> {
  const id = await insertIdOrNone(db, text, ...params);
  if (id === undefined) throw new Error('INSERT senza riga inserita');
  return id;
}
