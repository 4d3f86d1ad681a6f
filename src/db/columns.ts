/** Shared column helpers for the drizzle table definitions of every module. */
import { sql } from 'drizzle-orm';
import { integer, text } from 'drizzle-orm/sqlite-core';

/** ISO-8601 UTC timestamp text, set by the database on insert. */
export const createdAt = () =>
  text('created_at').notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`);

export const updatedAt = () =>
  text('updated_at').notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`);

export const bool = (name: string) => integer(name, { mode: 'boolean' });

export const nowIso = () => new Date().toISOString();
