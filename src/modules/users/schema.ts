/** Users (identified by fiscal code), their role grants, and the per-ente API keys. */
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { createdAt, updatedAt } from '../../db/columns.js';
import { enti } from '../enti/schema.js';

export const ROLES = ['operator', 'ente_admin', 'redazione', 'helpdesk', 'sael_admin'] as const;
export type Role = (typeof ROLES)[number];
/** Roles that are granted for one ente; the others are global. */
export const ENTE_ROLES: readonly Role[] = ['operator', 'ente_admin', 'redazione'];

export const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  fiscalCode: text('fiscal_code').notNull().unique(),
  name: text('name'),
  familyName: text('family_name'),
  email: text('email'),
  lastLoginAt: text('last_login_at'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const roleGrants = sqliteTable(
  'role_grants',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ROLES }).notNull(),
    /** Null for the global roles helpdesk and sael_admin. */
    enteId: integer('ente_id').references(() => enti.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [
    // One grant per (user, role, ente), and one per (user, role) for the global roles.
    uniqueIndex('role_grants_unique_ente').on(t.userId, t.role, t.enteId).where(sql`${t.enteId} IS NOT NULL`),
    uniqueIndex('role_grants_unique_global').on(t.userId, t.role).where(sql`${t.enteId} IS NULL`),
    index('role_grants_ente').on(t.enteId),
    // Every signed-in request reads a user's grants: the partial unique indexes serve only
    // queries that also name the role (migration 0013).
    index('role_grants_user').on(t.userId),
  ],
);

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'cascade' }),
    /** First characters of the key, shown to operators to tell keys apart. */
    prefix: text('prefix').notNull(),
    /** SHA-256 (hex) of the whole key; the key itself is never stored. */
    keyHash: text('key_hash').notNull().unique(),
    label: text('label').notNull(),
    revokedAt: text('revoked_at'),
    lastUsedAt: text('last_used_at'),
    createdAt: createdAt(),
  },
  (t) => [index('api_keys_ente').on(t.enteId)],
);
