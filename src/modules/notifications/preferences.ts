/**
 * A citizen's notification choices (`notification_preferences`; no row = the defaults: App IO on,
 * reminders on, e-mail and push off) and the e-mail double opt-in: the address is used only once
 * the citizen opened the confirmation link (token kept as its SHA-256, valid 48 hours). A confirmed
 * address gets an unsubscribe token, in every e-mail's link to `/notifiche/disiscrizione`: opening
 * it and confirming turns the e-mails off without logging in (`unsubscribeEmail`).
 */
import crypto from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { notificationPreferences } from './schema.js';

export interface Preferences {
  io: boolean;
  email: boolean;
  emailAddress: string | null;
  emailConfirmedAt: string | null;
  /** A confirmation is pending for `emailAddress` until this instant. */
  emailConfirmExpiresAt: string | null;
  /** The secret of the e-mails' unsubscribe link (made when the address is confirmed). */
  emailUnsubscribeToken: string | null;
  push: boolean;
  reminders: boolean;
}

export const DEFAULT_PREFERENCES: Preferences = Object.freeze({
  io: true,
  email: false,
  emailAddress: null,
  emailConfirmedAt: null,
  emailConfirmExpiresAt: null,
  emailUnsubscribeToken: null,
  push: false,
  reminders: true,
});

export const CONFIRM_TTL_MS = 48 * 3600_000;
/** Saving the same unconfirmed address again sends a new link, but not more than once in this time. */
export const RESEND_AFTER_MS = 5 * 60_000;

/** A confirmation for the current address was sent less than RESEND_AFTER_MS ago. */
function confirmationRecent(p: Preferences, now: Date): boolean {
  if (!p.emailConfirmExpiresAt) return false;
  const sentAt = Date.parse(p.emailConfirmExpiresAt) - CONFIRM_TTL_MS;
  return now.getTime() - sentAt < RESEND_AFTER_MS;
}
export const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

export async function getPreferences(db: DbLike, userId: number): Promise<Preferences> {
  return await preferencesSync(db, userId);
}

export async function preferencesSync(db: DbLike, userId: number): Promise<Preferences> {
  const row = (await db.select().from(notificationPreferences).where(eq(notificationPreferences.userId, userId)).limit(1))[0];
  if (!row) return { ...DEFAULT_PREFERENCES };
  return {
    io: row.io,
    email: row.email,
    emailAddress: row.emailAddress,
    emailConfirmedAt: row.emailConfirmedAt,
    emailConfirmExpiresAt: row.emailConfirmExpiresAt,
    emailUnsubscribeToken: row.emailUnsubscribeToken,
    push: row.push,
    reminders: row.reminders,
  };
}

/** Whether e-mails may go to the citizen now: chosen, and the address confirmed. */
export const emailUsable = (p: Preferences): p is Preferences & { emailAddress: string } => p.email && Boolean(p.emailAddress) && Boolean(p.emailConfirmedAt);

export interface PreferencesInput {
  io: boolean;
  email: boolean;
  push: boolean;
  reminders: boolean;
  /** The address typed (empty: none). */
  emailAddress: string;
}

export interface SaveOutcome {
  /** A new confirmation is to be sent to this address with this token. */
  confirm?: { address: string; token: string };
}

/**
 * Saves the choices. A new address (or the same unconfirmed one saved again, at most every
 * RESEND_AFTER_MS) gets a new confirmation token (the previous link stops working) and is
 * unconfirmed until the link is opened; the same confirmed address stays confirmed. Audited.
 */
export async function savePreferences(db: Db, userId: number, input: PreferencesInput, now: Date, audit: { actor: string; requestId?: string | null }): Promise<SaveOutcome> {
  return await db.transaction(async (tx) => {
      const before = await preferencesSync(tx, userId);
      const address = input.emailAddress.trim().toLowerCase() || null;
      const sameAddress = address !== null && address === before.emailAddress;
      let outcome: SaveOutcome = {};
      const values: Partial<typeof notificationPreferences.$inferInsert> = {
        io: input.io,
        email: input.email && address !== null,
        push: input.push,
        reminders: input.reminders,
        emailAddress: address,
        updatedAt: now.toISOString(),
      };
      if (!address) {
        Object.assign(values, { emailConfirmedAt: null, emailConfirmTokenHash: null, emailConfirmExpiresAt: null, emailUnsubscribeToken: null });
      } else if (!sameAddress || (!before.emailConfirmedAt && !confirmationRecent(before, now))) {
        const token = newToken();
        // a new address: the old one's unsubscribe links stop working
        Object.assign(values, { emailConfirmedAt: null, emailConfirmTokenHash: sha256(token), emailConfirmExpiresAt: new Date(now.getTime() + CONFIRM_TTL_MS).toISOString(), ...(sameAddress ? {} : { emailUnsubscribeToken: null }) });
        outcome = { confirm: { address, token } };
      }
      await tx.insert(notificationPreferences)
              .values({ userId, ...values } as typeof notificationPreferences.$inferInsert)
              .onConflictDoUpdate({ target: notificationPreferences.userId, set: values });
      await recordAudit(tx, {
              actor: audit.actor,
              action: 'notification_preferences.update',
              entity: 'user',
              entityId: userId,
              before: { io: before.io, email: before.email, push: before.push, reminders: before.reminders, emailSet: Boolean(before.emailAddress) },
              after: { io: values.io, email: values.email, push: values.push, reminders: values.reminders, emailSet: Boolean(address), confirmationSent: Boolean(outcome.confirm) },
              requestId: audit.requestId ?? null,
            });
      return outcome;
    });
}

export type ConfirmResult = 'confirmed' | 'expired' | 'unknown';

/** Opens a confirmation link: the token's address becomes confirmed (once; the token is then spent). */
export async function confirmEmail(db: Db, token: string, now: Date): Promise<ConfirmResult> {
  return await db.transaction(async (tx) => {
      const row = (await tx.select().from(notificationPreferences).where(eq(notificationPreferences.emailConfirmTokenHash, sha256(token))).limit(1))[0];
      if (!row) return 'unknown';
      if (!row.emailConfirmExpiresAt || row.emailConfirmExpiresAt <= now.toISOString()) return 'expired';
      await tx.update(notificationPreferences)
              .set({ emailConfirmedAt: now.toISOString(), emailConfirmTokenHash: null, emailConfirmExpiresAt: null, emailUnsubscribeToken: row.emailUnsubscribeToken ?? newToken(), updatedAt: now.toISOString() })
              .where(eq(notificationPreferences.userId, row.userId));
      await recordAudit(tx, { actor: `user:${row.userId}`, action: 'notification_preferences.email_confirmed', entity: 'user', entityId: row.userId });
      return 'confirmed';
    });
}

const newToken = () => crypto.randomBytes(24).toString('base64url');

/**
 * The unsubscribe token of a confirmed address, made now for one confirmed before tokens existed
 * (set only where still empty, so two processes agree on the one stored).
 */
export async function ensureUnsubscribeToken(db: DbLike, userId: number, p: Preferences): Promise<string> {
  if (p.emailUnsubscribeToken) return p.emailUnsubscribeToken;
  await db
    .update(notificationPreferences)
    .set({ emailUnsubscribeToken: newToken() })
    .where(and(eq(notificationPreferences.userId, userId), isNull(notificationPreferences.emailUnsubscribeToken)));
  const row = (await db.select({ t: notificationPreferences.emailUnsubscribeToken }).from(notificationPreferences).where(eq(notificationPreferences.userId, userId)).limit(1))[0];
  return row!.t!;
}

/** The address an unsubscribe token belongs to, and whether e-mails are still on; undefined for an unknown token. */
export async function unsubscribeTarget(db: DbLike, token: string): Promise<{ userId: number; emailAddress: string; on: boolean } | undefined> {
  const row = (await db
        .select({ userId: notificationPreferences.userId, emailAddress: notificationPreferences.emailAddress, email: notificationPreferences.email })
        .from(notificationPreferences)
        .where(eq(notificationPreferences.emailUnsubscribeToken, token))
        .limit(1))[0];
  return row?.emailAddress ? { userId: row.userId, emailAddress: row.emailAddress, on: row.email } : undefined;
}

/**
 * The unsubscribe link confirmed: e-mails off for that citizen (the address stays, confirmed, so
 * turning them on again from the personal area needs no new confirmation). Audited; idempotent.
 */
export async function unsubscribeEmail(db: Db, token: string, now: Date, audit: { actor: string; requestId?: string | null }): Promise<{ emailAddress: string } | undefined> {
  return await db.transaction(async (tx) => {
      const target = await unsubscribeTarget(tx, token);
      if (!target) return undefined;
      if (target.on) {
        await tx.update(notificationPreferences).set({ email: false, updatedAt: now.toISOString() }).where(eq(notificationPreferences.userId, target.userId));
        await recordAudit(tx, { actor: audit.actor, action: 'notification_preferences.email_unsubscribe', entity: 'user', entityId: target.userId, before: { email: true }, after: { email: false }, requestId: audit.requestId ?? null });
      }
      return { emailAddress: target.emailAddress };
    });
}
