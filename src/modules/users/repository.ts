/** Users by fiscal code, role grants and API keys. Every write records an audit row in the same transaction. */
import crypto from 'node:crypto';
import { and, asc, count, desc, eq, isNull, lt, or } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
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
export async function upsertUser(db: Db, profile: UserProfile, by: Actor): Promise<number> {
  return await db.transaction(async (tx) => {
      const existing = (await tx.select().from(users).where(eq(users.fiscalCode, profile.fiscalCode)).limit(1))[0];
      if (!existing) {
        const row = (await tx
                .insert(users)
                .values({ fiscalCode: profile.fiscalCode, name: profile.name, familyName: profile.familyName, email: profile.email ?? profile.emailIfMissing })
                .returning())[0]!;
        await recordAudit(tx, { ...by, action: 'create', entity: 'user', entityId: row.id, after: row });
        return row.id;
      }
      const changes: Partial<typeof users.$inferInsert> = {};
      if (profile.name !== undefined && profile.name !== existing.name) changes.name = profile.name;
      if (profile.familyName !== undefined && profile.familyName !== existing.familyName) changes.familyName = profile.familyName;
      if (profile.email !== undefined && profile.email !== existing.email) changes.email = profile.email;
      else if (profile.email === undefined && profile.emailIfMissing && !existing.email) changes.email = profile.emailIfMissing;
      if (Object.keys(changes).length > 0) {
        const after = (await tx
                .update(users)
                .set({ ...changes, updatedAt: new Date().toISOString() })
                .where(eq(users.id, existing.id))
                .returning())[0]!;
        await recordAudit(tx, { ...by, action: 'update', entity: 'user', entityId: existing.id, before: existing, after });
      }
      return existing.id;
    });
}

/**
 * Records a sign-in (SPID or CIE): the administrators' pages show each enabled person's last one,
 * so an account nobody uses any more stands out when access is reviewed.
 */
export async function recordLogin(db: Db, userId: number, at: Date): Promise<void> {
  await db.update(users).set({ lastLoginAt: at.toISOString() }).where(eq(users.id, userId));
}

export class GrantError extends Error {}

/** Grants a role; per-ente roles need an ente, global roles must not have one. Idempotent. */
export async function grantRole(db: Db, userId: number, role: Role, enteId: number | null, by: Actor): Promise<boolean> {
  const perEnte = ENTE_ROLES.includes(role);
  if (perEnte && enteId === null) throw new GrantError(`il ruolo ${role} richiede un ente`);
  if (!perEnte && enteId !== null) throw new GrantError(`il ruolo ${role} è globale e non va legato a un ente`);
  return await db.transaction(async (tx) => {
      const result = (await tx
            .insert(roleGrants)
            .values({ userId, role, enteId })
            .onConflictDoNothing()
            .returning())[0]!;
      if (!result) return false;
      await recordAudit(tx, { ...by, action: 'grant', entity: 'role_grant', entityId: result.id, enteId, after: result });
      return true;
    });
}

export async function revokeRole(db: Db, grantId: number, enteId: number | null, by: Actor): Promise<boolean> {
  return await db.transaction(async (tx) => {
      const where = and(eq(roleGrants.id, grantId), enteId === null ? isNull(roleGrants.enteId) : eq(roleGrants.enteId, enteId));
      const before = (await tx.select().from(roleGrants).where(where).limit(1))[0];
      if (!before) return false;
      await tx.delete(roleGrants).where(eq(roleGrants.id, grantId));
      await recordAudit(tx, { ...by, action: 'revoke', entity: 'role_grant', entityId: grantId, enteId: before.enteId, before });
      return true;
    });
}

/** A role grant with the person it is given to (the ente's and the global lists). */
const grantWithPerson = {
  id: roleGrants.id,
  role: roleGrants.role,
  userId: users.id,
  fiscalCode: users.fiscalCode,
  name: users.name,
  familyName: users.familyName,
  createdAt: roleGrants.createdAt,
  lastLoginAt: users.lastLoginAt,
};

export async function grantsOfEnte(db: Db, enteId: number) {
  return await db
      .select(grantWithPerson)
      .from(roleGrants)
      .innerJoin(users, eq(users.id, roleGrants.userId))
      .where(eq(roleGrants.enteId, enteId))
      .orderBy(users.familyName, users.name, roleGrants.role);
}

const API_KEY_PREFIX = 'sael_';

export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

/** Creates an API key for an ente and returns it in clear text: it is shown once and never stored. */
export async function createApiKey(db: Db, enteId: number, label: string, by: Actor): Promise<{ id: number; key: string }> {
  const key = `${API_KEY_PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
  return await db.transaction(async (tx) => {
      const row = (await tx
            .insert(apiKeys)
            .values({ enteId, label, prefix: key.slice(0, API_KEY_PREFIX.length + 6), keyHash: hashApiKey(key) })
            .returning({ id: apiKeys.id, prefix: apiKeys.prefix, label: apiKeys.label }))[0]!;
      await recordAudit(tx, { ...by, action: 'create', entity: 'api_key', entityId: row.id, enteId, after: row });
      return { id: row.id, key };
    });
}

/** The last use of a key is written at most this often: an API call reads, it does not write. */
export const API_KEY_LAST_USE_RESOLUTION_MS = 60_000;

/**
 * The ente an API key belongs to, or null when the key is unknown or revoked. Records the key's
 * last use, but only when the recorded one is older than API_KEY_LAST_USE_RESOLUTION_MS (or
 * missing): a client calling many times a minute causes one write a minute, not one per call. The
 * condition is repeated in the UPDATE, so several processes do not write twice either.
 */
export async function authenticateApiKey(db: Db, key: string, now: Date = new Date()): Promise<{ keyId: number; enteId: number; enteFiscalCode: string } | null> {
  if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return null;
  const row = (await db
      .select({ keyId: apiKeys.id, enteId: apiKeys.enteId, enteFiscalCode: enti.fiscalCode, lastUsedAt: apiKeys.lastUsedAt })
      .from(apiKeys)
      .innerJoin(enti, eq(enti.id, apiKeys.enteId))
      .where(and(eq(apiKeys.keyHash, hashApiKey(key)), isNull(apiKeys.revokedAt))).limit(1))[0];
  if (!row) return null;
  const threshold = new Date(now.getTime() - API_KEY_LAST_USE_RESOLUTION_MS).toISOString();
  if (row.lastUsedAt === null || row.lastUsedAt < threshold) {
    await db.update(apiKeys)
            .set({ lastUsedAt: now.toISOString() })
            .where(and(eq(apiKeys.id, row.keyId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, threshold))));
  }
  return { keyId: row.keyId, enteId: row.enteId, enteFiscalCode: row.enteFiscalCode };
}

export interface ApiKeyListing {
  id: number;
  prefix: string;
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** The API keys of an ente (never their hash), the active ones first, newest first. */
export async function listApiKeys(db: DbLike, enteId: number): Promise<ApiKeyListing[]> {
  return await db
      .select({
        id: apiKeys.id,
        prefix: apiKeys.prefix,
        label: apiKeys.label,
        createdAt: apiKeys.createdAt,
        lastUsedAt: apiKeys.lastUsedAt,
        revokedAt: apiKeys.revokedAt,
      })
      .from(apiKeys)
      .where(eq(apiKeys.enteId, enteId))
      .orderBy(desc(isNull(apiKeys.revokedAt)), desc(apiKeys.id));
}

/**
 * Revokes a key of the ente (from the next request on, it answers 401). Returns false when the
 * ente has no such key; revoking a revoked key changes nothing and is not audited again.
 */
export async function revokeApiKey(db: Db, enteId: number, keyId: number, by: Actor, now: Date = new Date()): Promise<boolean> {
  return await db.transaction(async (tx) => {
      const before = (await tx
            .select({ id: apiKeys.id, prefix: apiKeys.prefix, label: apiKeys.label, revokedAt: apiKeys.revokedAt })
            .from(apiKeys)
            .where(and(eq(apiKeys.id, keyId), eq(apiKeys.enteId, enteId))).limit(1))[0];
      if (!before) return false;
      if (before.revokedAt !== null) return true;
      const revokedAt = now.toISOString();
      await tx.update(apiKeys).set({ revokedAt }).where(eq(apiKeys.id, keyId));
      await recordAudit(tx, { ...by, action: 'revoke', entity: 'api_key', entityId: keyId, enteId, before, after: { ...before, revokedAt } });
      return true;
    });
}

/** The grants of the global roles (helpdesk, sael_admin), with their people. */
export async function listGlobalGrants(db: DbLike) {
  return await db
      .select(grantWithPerson)
      .from(roleGrants)
      .innerJoin(users, eq(users.id, roleGrants.userId))
      .where(isNull(roleGrants.enteId))
      .orderBy(asc(roleGrants.role), asc(users.familyName), asc(users.name));
}

export class LastAdminError extends Error {}

/**
 * Revokes a global role. The last sael_admin grant is never revoked (nobody could then manage
 * enti, roles or keys from the pages); returns false when there is no such global grant.
 */
export async function revokeGlobalRole(db: Db, grantId: number, by: Actor): Promise<boolean> {
  return await db.transaction(async (tx) => {
      const grant = (await tx.select().from(roleGrants).where(and(eq(roleGrants.id, grantId), isNull(roleGrants.enteId))).limit(1))[0];
      if (!grant) return false;
      if (grant.role === 'sael_admin') {
        const admins = (await tx.select({ n: count() }).from(roleGrants).where(and(eq(roleGrants.role, 'sael_admin'), isNull(roleGrants.enteId))).limit(1))[0];
        if ((admins?.n ?? 0) <= 1) throw new LastAdminError('È l’unico amministratore S.A.E.L.: abilita prima un’altra persona, poi revoca questo ruolo.');
      }
      await tx.delete(roleGrants).where(eq(roleGrants.id, grantId));
      await recordAudit(tx, { ...by, action: 'revoke', entity: 'role_grant', entityId: grantId, enteId: null, before: grant });
      return true;
    });
}
