/** Users by fiscal code, role grants and API keys. Every write records an audit row in the same transaction. */
import crypto from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { apiKeys, ENTE_ROLES, roleGrants, users, type Role } from './schema.js';
import { enti } from '../enti/schema.js';

export interface Actor {
  actor: string;
  requestId?: string | null;
}

export interface UserProfile {
  fiscalCode: string;
  name?: string | null;
  familyName?: string | null;
  email?: string | null;
  /** Used as the email only when the user has none yet (the email from SPID/CIE at login: the
   * address the citizen chose in the profile for receipts is not overwritten at each login). */
  emailIfMissing?: string | null;
}

/** Creates the user or updates the profile fields that are given; returns the user id. */
export function upsertUser(db: Db, profile: UserProfile, by: Actor): number {
  return db.transaction((tx) => {
    const existing = tx.select().from(users).where(eq(users.fiscalCode, profile.fiscalCode)).get();
    if (!existing) {
      const row = tx
        .insert(users)
        .values({ fiscalCode: profile.fiscalCode, name: profile.name, familyName: profile.familyName, email: profile.email ?? profile.emailIfMissing })
        .returning()
        .get();
      recordAudit(tx, { ...by, action: 'create', entity: 'user', entityId: row.id, after: row });
      return row.id;
    }
    const changes: Partial<typeof users.$inferInsert> = {};
    if (profile.name !== undefined && profile.name !== existing.name) changes.name = profile.name;
    if (profile.familyName !== undefined && profile.familyName !== existing.familyName) changes.familyName = profile.familyName;
    if (profile.email !== undefined && profile.email !== existing.email) changes.email = profile.email;
    else if (profile.email === undefined && profile.emailIfMissing && !existing.email) changes.email = profile.emailIfMissing;
    if (Object.keys(changes).length > 0) {
      const after = tx
        .update(users)
        .set({ ...changes, updatedAt: new Date().toISOString() })
        .where(eq(users.id, existing.id))
        .returning()
        .get();
      recordAudit(tx, { ...by, action: 'update', entity: 'user', entityId: existing.id, before: existing, after });
    }
    return existing.id;
  });
}

export class GrantError extends Error {}

/** Grants a role; per-ente roles need an ente, global roles must not have one. Idempotent. */
export function grantRole(db: Db, userId: number, role: Role, enteId: number | null, by: Actor): boolean {
  const perEnte = ENTE_ROLES.includes(role);
  if (perEnte && enteId === null) throw new GrantError(`il ruolo ${role} richiede un ente`);
  if (!perEnte && enteId !== null) throw new GrantError(`il ruolo ${role} è globale e non va legato a un ente`);
  return db.transaction((tx) => {
    const result = tx
      .insert(roleGrants)
      .values({ userId, role, enteId })
      .onConflictDoNothing()
      .returning()
      .get();
    if (!result) return false;
    recordAudit(tx, { ...by, action: 'grant', entity: 'role_grant', entityId: result.id, enteId, after: result });
    return true;
  });
}

export function revokeRole(db: Db, grantId: number, enteId: number | null, by: Actor): boolean {
  return db.transaction((tx) => {
    const where = and(eq(roleGrants.id, grantId), enteId === null ? isNull(roleGrants.enteId) : eq(roleGrants.enteId, enteId));
    const before = tx.select().from(roleGrants).where(where).get();
    if (!before) return false;
    tx.delete(roleGrants).where(eq(roleGrants.id, grantId)).run();
    recordAudit(tx, { ...by, action: 'revoke', entity: 'role_grant', entityId: grantId, enteId: before.enteId, before });
    return true;
  });
}

export function grantsOfEnte(db: Db, enteId: number) {
  return db
    .select({
      id: roleGrants.id,
      role: roleGrants.role,
      fiscalCode: users.fiscalCode,
      name: users.name,
      familyName: users.familyName,
      createdAt: roleGrants.createdAt,
    })
    .from(roleGrants)
    .innerJoin(users, eq(users.id, roleGrants.userId))
    .where(eq(roleGrants.enteId, enteId))
    .orderBy(users.familyName, users.name, roleGrants.role)
    .all();
}

const API_KEY_PREFIX = 'sael_';

export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

/** Creates an API key for an ente and returns it in clear text: it is shown once and never stored. */
export function createApiKey(db: Db, enteId: number, label: string, by: Actor): { id: number; key: string } {
  const key = `${API_KEY_PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
  return db.transaction((tx) => {
    const row = tx
      .insert(apiKeys)
      .values({ enteId, label, prefix: key.slice(0, API_KEY_PREFIX.length + 6), keyHash: hashApiKey(key) })
      .returning({ id: apiKeys.id, prefix: apiKeys.prefix, label: apiKeys.label })
      .get();
    recordAudit(tx, { ...by, action: 'create', entity: 'api_key', entityId: row.id, enteId, after: row });
    return { id: row.id, key };
  });
}

/** The ente an API key belongs to, or null when the key is unknown or revoked. */
export function authenticateApiKey(db: Db, key: string): { keyId: number; enteId: number; enteFiscalCode: string } | null {
  if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return null;
  const row = db
    .select({ keyId: apiKeys.id, enteId: apiKeys.enteId, enteFiscalCode: enti.fiscalCode })
    .from(apiKeys)
    .innerJoin(enti, eq(enti.id, apiKeys.enteId))
    .where(and(eq(apiKeys.keyHash, hashApiKey(key)), isNull(apiKeys.revokedAt)))
    .get();
  if (!row) return null;
  db.update(apiKeys).set({ lastUsedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))` }).where(eq(apiKeys.id, row.keyId)).run();
  return row;
}
