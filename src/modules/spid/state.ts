/**
 * SAML state in the database (several app processes may serve one login), on the tables of
 * `schema.ts`:
 *
 * - `saml_requests`: one row per AuthnRequest (and per SP-initiated LogoutRequest, see
 *   {@link LOGOUT_LEVEL}), found by its opaque RelayState or its ID, bound to the browser by the
 *   SHA-256 of a random value kept in a cookie, consumed once, with a short TTL;
 * - `saml_replay`: assertion IDs already accepted, until their NotOnOrAfter.
 *
 * Expired rows are swept by {@link sweepSamlState} (at start and periodically).
 */
import crypto from 'node:crypto';
import { and, eq, gt, isNull, lt, or, isNotNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import type { ReplayGuard } from './response-validator.js';
import type { SpidLevel } from './saml.js';
import { samlReplay, samlRequests } from './schema.js';
import { affectedRows } from '../../db/client.js';

export type Federation = 'spid' | 'cie';

/**
 * `level` value of a row that records an SP-initiated LogoutRequest rather than an AuthnRequest
 * (the table has no `kind` column; `acs_url` then holds our SLO URL).
 */
export const LOGOUT_LEVEL = 0;

export interface NewRequestState {
  id: string;
  relayState: string;
  /** The raw browser-binding value (only its hash is stored). */
  browserValue: string;
  federation: Federation;
  idpEntityId: string;
  /** 1–3 for logins, {@link LOGOUT_LEVEL} for logouts. */
  level: number;
  issueInstant: string;
  acsUrl: string;
  target: string;
  ttlMs: number;
  now?: number;
}

export type RequestState = typeof samlRequests.$inferSelect;

export function hashBinding(value: string): string {
  return crypto.createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A fresh random browser-binding value (kept in a cookie; the row stores its hash). */
export function newBrowserValue(): string {
  return crypto.randomBytes(32).toString('base64url');
}

export async function saveRequestState(db: Db, s: NewRequestState): Promise<void> {
  const now = s.now ?? Date.now();
  await db.insert(samlRequests)
        .values({
          id: s.id,
          relayState: s.relayState,
          browserBinding: hashBinding(s.browserValue),
          federation: s.federation,
          idpEntityId: s.idpEntityId,
          level: s.level,
          issueInstant: s.issueInstant,
          acsUrl: s.acsUrl,
          target: s.target,
          expiresAt: now + s.ttlMs,
        });
}

/** The stored request for this RelayState (or, when no RelayState came back, this request ID). */
export async function findRequestState(db: Db, by: { relayState?: string | null; id?: string | null }): Promise<RequestState | undefined> {
  if (by.relayState) return (await db.select().from(samlRequests).where(eq(samlRequests.relayState, by.relayState)).limit(1))[0];
  if (by.id) return (await db.select().from(samlRequests).where(eq(samlRequests.id, by.id)).limit(1))[0];
  return undefined;
}

/** Constant-time check that the browser presenting `browserValue` is the one that started the request. */
export function isBoundTo(state: RequestState, browserValue: string | undefined): boolean {
  if (!browserValue) return false;
  const a = Buffer.from(state.browserBinding, 'hex');
  const b = Buffer.from(hashBinding(browserValue), 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/**
 * Marks the request consumed if it is still unconsumed and unexpired (atomic: one UPDATE).
 * Returns false when it was already used or has expired.
 */
export async function consumeRequestState(db: Db, id: string, now = Date.now()): Promise<boolean> {
  const r = await db
      .update(samlRequests)
      .set({ consumedAt: now })
      .where(and(eq(samlRequests.id, id), isNull(samlRequests.consumedAt), gt(samlRequests.expiresAt, now)));
  return affectedRows(r) === 1;
}

/** Assertion-ID replay cache on `saml_replay` (INSERT OR IGNORE: atomic across processes). */
export class DbReplayGuard implements ReplayGuard {
  constructor(
    private readonly db: Db,
    /** Kept this much longer than the assertion's NotOnOrAfter (the clock skew). */
    private readonly marginMs = 0,
  ) {}

  async checkAndRecord(assertionId: string, expiresAt: Date): Promise<boolean> {
    const r = await this.db
          .insert(samlReplay)
          .values({ assertionId, expiresAt: expiresAt.getTime() + this.marginMs })
          .onConflictDoNothing();
    return affectedRows(r) === 1;
  }
}

/**
 * Deletes expired request rows (consumed or not) and expired replay entries. Request rows are kept
 * one hour past their expiry so a late Response still meets "already used / expired" rather than
 * "unknown request" in the logs.
 */
export async function sweepSamlState(db: Db, now = Date.now()): Promise<{ requests: number; replay: number }> {
  const requests = affectedRows(await db
      .delete(samlRequests)
      .where(or(lt(samlRequests.expiresAt, now - 3_600_000), and(isNotNull(samlRequests.consumedAt), lt(samlRequests.expiresAt, now)))));
  const replay = affectedRows(await db.delete(samlReplay).where(lt(samlReplay.expiresAt, now)));
  return { requests, replay };
}
