/**
 * Citizens' subscriptions to alerts of new events: Web Push subscriptions (one per browser,
 * managed with a secret token the browser keeps) and e-mail subscriptions (double opt-in: the
 * choices take effect when the link mailed to the address is confirmed; one-click unsubscribe).
 * What each follows is in `subscription_interests` (one row per comune or category; none of a kind
 * = every value of that kind). Every change is audited in its transaction (ids only, never the
 * address or the endpoint).
 */
import crypto from 'node:crypto';
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import { eventCategories, eventEmailSubscriptions, pushSubscriptions, subscriptionInterests } from './schema.js';

export type InterestChannel = 'push' | 'email';

export interface Interests {
  enti: number[];
  categories: number[];
}

export interface Actor {
  actor: string;
  requestId?: string | null;
}

/** How long the link of a confirmation e-mail stays valid. */
export const EMAIL_CONFIRM_TTL_MS = 48 * 3_600_000;
/** A pending address gets at most one confirmation e-mail in this time (no mail bombing through the form). */
export const EMAIL_RESEND_MS = 5 * 60_000;

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const token = () => crypto.randomBytes(24).toString('base64url');

/** Sorted, without duplicates. */
export function normaliseInterests(i: Interests): Interests {
  const clean = (xs: number[]) => [...new Set(xs)].filter((x) => Number.isInteger(x) && x > 0).sort((a, b) => a - b);
  return { enti: clean(i.enti), categories: clean(i.categories) };
}

/** The interests as the query string of a confirmation link (`comuni=1,2&categorie=3`). */
export function interestsQuery(i: Interests): string {
  const n = normaliseInterests(i);
  return `comuni=${n.enti.join(',')}&categorie=${n.categories.join(',')}`;
}

/** Parses `1,2,3` (empty: none); null when malformed. */
export function parseIdList(s: string | undefined): number[] | null {
  if (s === undefined || s === '') return [];
  if (!/^\d{1,9}(,\d{1,9}){0,199}$/.test(s)) return null;
  return s.split(',').map(Number);
}

/** The confirmation secret binds the token to the choices it confirms (so a link cannot be edited to other choices). */
function confirmHash(rawToken: string, i: Interests): string {
  return sha256(`${rawToken}|${interestsQuery(i)}`);
}

/** Ids among `i` that do not exist (an unknown ente, an unknown or inactive category). */
export async function unknownInterests(db: Db, i: Interests): Promise<{ enti: number[]; categories: number[] }> {
  const foundEnti = i.enti.length ? await db.select({ id: enti.id }).from(enti).where(inArray(enti.id, i.enti)) : [];
  const foundCats = i.categories.length
    ? await db.select({ id: eventCategories.id }).from(eventCategories).where(and(inArray(eventCategories.id, i.categories), eq(eventCategories.active, true)))
    : [];
  const e = new Set(foundEnti.map((r) => r.id));
  const c = new Set(foundCats.map((r) => r.id));
  return { enti: i.enti.filter((x) => !e.has(x)), categories: i.categories.filter((x) => !c.has(x)) };
}

async function replaceInterests(tx: DbLike, channel: InterestChannel, subscriptionId: number, i: Interests): Promise<void> {
  await tx.delete(subscriptionInterests).where(and(eq(subscriptionInterests.channel, channel), eq(subscriptionInterests.subscriptionId, subscriptionId)));
  const n = normaliseInterests(i);
  const rows = [
    ...n.enti.map((refId) => ({ channel, subscriptionId, kind: 'ente' as const, refId })),
    ...n.categories.map((refId) => ({ channel, subscriptionId, kind: 'category' as const, refId })),
  ];
  if (rows.length) await tx.insert(subscriptionInterests).values(rows);
}

export async function interestsOf(db: DbLike, channel: InterestChannel, subscriptionId: number): Promise<Interests> {
  const rows = await db
    .select({ kind: subscriptionInterests.kind, refId: subscriptionInterests.refId })
    .from(subscriptionInterests)
    .where(and(eq(subscriptionInterests.channel, channel), eq(subscriptionInterests.subscriptionId, subscriptionId)))
    .orderBy(asc(subscriptionInterests.refId));
  return { enti: rows.filter((r) => r.kind === 'ente').map((r) => r.refId), categories: rows.filter((r) => r.kind === 'category').map((r) => r.refId) };
}

// ---------------------------------------------------------------- Web Push

export interface PushSubscriptionInput {
  endpoint: string;
  p256dh: string;
  auth: string;
  userId: number | null;
  /** Payment notifications too (only for a signed-in citizen). */
  payments: boolean;
  interests: Interests;
}

export type PushSubscriptionRow = typeof pushSubscriptions.$inferSelect;

/**
 * Stores a browser's subscription with its interests; the same endpoint again (the browser
 * subscribing anew) updates it. Returns its id and management token.
 */
export async function savePushSubscription(db: Db, input: PushSubscriptionInput, at: Date, by: Actor): Promise<{ id: number; manageToken: string; created: boolean }> {
  const now = at.toISOString();
  return await db.transaction(async (tx) => {
      const existing = (await tx.select().from(pushSubscriptions).where(eq(pushSubscriptions.endpoint, input.endpoint)).limit(1))[0];
      let id: number;
      let manageToken: string;
      if (existing) {
        id = existing.id;
        manageToken = existing.manageToken;
        await tx.update(pushSubscriptions)
                  .set({
                    p256dh: input.p256dh,
                    auth: input.auth,
                    events: true,
                    userId: input.userId ?? existing.userId,
                    payments: input.userId !== null ? input.payments : existing.payments,
                    failures: 0,
                    updatedAt: now,
                  })
                  .where(eq(pushSubscriptions.id, id));
      } else {
        manageToken = token();
        const row = (await tx
                .insert(pushSubscriptions)
                .values({
                  endpoint: input.endpoint,
                  p256dh: input.p256dh,
                  auth: input.auth,
                  userId: input.userId,
                  payments: input.userId !== null && input.payments,
                  manageToken,
                  createdAt: now,
                  updatedAt: now,
                })
                .returning({ id: pushSubscriptions.id }))[0]!;
        id = row.id;
      }
      await replaceInterests(tx, 'push', id, input.interests);
      await recordAudit(tx, { ...by, action: existing ? 'event_alerts.push.update' : 'event_alerts.push.subscribe', entity: 'push_subscription', entityId: id, after: normaliseInterests(input.interests) });
      return { id, manageToken, created: !existing };
    });
}

export async function pushSubscriptionByToken(db: DbLike, manageToken: string): Promise<PushSubscriptionRow | undefined> {
  return (await db.select().from(pushSubscriptions).where(eq(pushSubscriptions.manageToken, manageToken)).limit(1))[0];
}

/** Changes what a subscription follows (and, for a signed-in citizen, payment notifications); false when the token is unknown. */
export async function updatePushInterests(
  db: Db,
  manageToken: string,
  interests: Interests,
  at: Date,
  by: Actor,
  payments?: { userId: number; payments: boolean },
): Promise<boolean> {
  const sub = await pushSubscriptionByToken(db, manageToken);
  if (!sub) return false;
  await db.transaction(async (tx) => {
        await tx.update(pushSubscriptions)
                .set({ events: true, updatedAt: at.toISOString(), ...(payments ? { userId: payments.userId, payments: payments.payments } : {}) })
                .where(eq(pushSubscriptions.id, sub.id));
        await replaceInterests(tx, 'push', sub.id, interests);
        await recordAudit(tx, { ...by, action: 'event_alerts.push.update', entity: 'push_subscription', entityId: sub.id, after: normaliseInterests(interests) });
      });
  return true;
}

/**
 * The browser replaced its subscription (`pushsubscriptionchange`): the row of the old endpoint
 * takes the new endpoint and keys, keeping its choices and token. The old endpoint, a secret URL
 * only the browser and its push service know, is the authorisation. False when it is unknown.
 */
export async function renewPushSubscription(db: Db, oldEndpoint: string, next: { endpoint: string; p256dh: string; auth: string }, at: Date, by: Actor): Promise<boolean> {
  const sub = (await db.select().from(pushSubscriptions).where(eq(pushSubscriptions.endpoint, oldEndpoint)).limit(1))[0];
  if (!sub) return false;
  await db.transaction(async (tx) => {
        // The new endpoint already subscribed on its own (the page did it first): keep that one.
        const taken = (await tx.select({ id: pushSubscriptions.id }).from(pushSubscriptions).where(eq(pushSubscriptions.endpoint, next.endpoint)).limit(1))[0];
        if (taken && taken.id !== sub.id) {
          await tx.delete(subscriptionInterests).where(and(eq(subscriptionInterests.channel, 'push'), eq(subscriptionInterests.subscriptionId, sub.id)));
          await tx.delete(pushSubscriptions).where(eq(pushSubscriptions.id, sub.id));
        } else {
          await tx.update(pushSubscriptions).set({ ...next, failures: 0, updatedAt: at.toISOString() }).where(eq(pushSubscriptions.id, sub.id));
        }
        await recordAudit(tx, { ...by, action: 'event_alerts.push.renew', entity: 'push_subscription', entityId: sub.id });
      });
  return true;
}

/** Deletes a subscription (the citizen turned notifications off); false when the token is unknown. */
export async function deletePushSubscriptionByToken(db: Db, manageToken: string, by: Actor): Promise<boolean> {
  const sub = await pushSubscriptionByToken(db, manageToken);
  if (!sub) return false;
  await db.transaction(async (tx) => {
        await tx.delete(subscriptionInterests).where(and(eq(subscriptionInterests.channel, 'push'), eq(subscriptionInterests.subscriptionId, sub.id)));
        await tx.delete(pushSubscriptions).where(eq(pushSubscriptions.id, sub.id));
        await recordAudit(tx, { ...by, action: 'event_alerts.push.unsubscribe', entity: 'push_subscription', entityId: sub.id });
      });
  return true;
}

// ---------------------------------------------------------------- e-mail

export type EmailSubscriptionRow = typeof eventEmailSubscriptions.$inferSelect;

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * An address asks for alerts with these choices: the subscription is created (pending) or kept,
 * and a new confirmation token bound to the choices is made. Returns the token to mail, or null
 * when a confirmation was mailed to this address less than EMAIL_RESEND_MS ago (nothing is sent;
 * the page says the same either way, so the form tells nobody whether an address is subscribed).
 */
export async function requestEmailAlerts(
  db: Db,
  input: { email: string; userId: number | null; interests: Interests },
  at: Date,
  by: Actor,
): Promise<{ subscriptionId: number; token: string | null; unsubscribeToken: string }> {
  const email = normaliseEmail(input.email);
  const now = at.toISOString();
  return await db.transaction(async (tx) => {
      const existing = (await tx.select().from(eventEmailSubscriptions).where(eq(eventEmailSubscriptions.email, email)).limit(1))[0];
      if (existing?.confirmExpiresAt && Date.parse(existing.confirmExpiresAt) - EMAIL_CONFIRM_TTL_MS + EMAIL_RESEND_MS > at.getTime()) {
        return { subscriptionId: existing.id, token: null, unsubscribeToken: existing.unsubscribeToken };
      }
      const raw = token();
      const fields = { confirmTokenHash: confirmHash(raw, input.interests), confirmExpiresAt: new Date(at.getTime() + EMAIL_CONFIRM_TTL_MS).toISOString(), updatedAt: now };
      let id: number;
      let unsubscribeToken: string;
      if (existing) {
        id = existing.id;
        unsubscribeToken = existing.unsubscribeToken;
        await tx.update(eventEmailSubscriptions)
                  .set({ ...fields, userId: input.userId ?? existing.userId })
                  .where(eq(eventEmailSubscriptions.id, id));
      } else {
        unsubscribeToken = token();
        id = (await tx
                .insert(eventEmailSubscriptions)
                .values({ email, userId: input.userId, status: 'pending', unsubscribeToken, createdAt: now, ...fields })
                .returning({ id: eventEmailSubscriptions.id }))[0]!.id;
      }
      await recordAudit(tx, { ...by, action: 'event_alerts.email.request', entity: 'event_email_subscription', entityId: id, after: normaliseInterests(input.interests) });
      return { subscriptionId: id, token: raw, unsubscribeToken };
    });
}

export type ConfirmOutcome = { outcome: 'confirmed'; subscription: EmailSubscriptionRow } | { outcome: 'expired' } | { outcome: 'invalid' };

/** The subscription a confirmation link names, without confirming it (the GET page). */
export async function emailSubscriptionByConfirm(db: DbLike, rawToken: string, i: Interests, at: Date): Promise<ConfirmOutcome> {
  const sub = (await db.select().from(eventEmailSubscriptions).where(eq(eventEmailSubscriptions.confirmTokenHash, confirmHash(rawToken, i))).limit(1))[0];
  if (!sub) return { outcome: 'invalid' };
  if (!sub.confirmExpiresAt || Date.parse(sub.confirmExpiresAt) <= at.getTime()) return { outcome: 'expired' };
  return { outcome: 'confirmed', subscription: sub };
}

/** Confirms the address with the choices the link carries (they replace the previous ones). */
export async function confirmEmailAlerts(db: Db, rawToken: string, i: Interests, at: Date, by: Actor): Promise<ConfirmOutcome> {
  const found = await emailSubscriptionByConfirm(db, rawToken, i, at);
  if (found.outcome !== 'confirmed') return found;
  const now = at.toISOString();
  const sub = found.subscription;
  return await db.transaction(async (tx) => {
      await tx.update(eventEmailSubscriptions)
              .set({ status: 'confirmed', confirmedAt: now, unsubscribedAt: null, confirmTokenHash: null, confirmExpiresAt: null, updatedAt: now })
              .where(eq(eventEmailSubscriptions.id, sub.id));
      await replaceInterests(tx, 'email', sub.id, i);
      await recordAudit(tx, { ...by, action: 'event_alerts.email.confirm', entity: 'event_email_subscription', entityId: sub.id, before: { status: sub.status }, after: normaliseInterests(i) });
      return { outcome: 'confirmed' as const, subscription: { ...sub, status: 'confirmed' as const, confirmedAt: now } };
    });
}

export async function emailSubscriptionByUnsubscribeToken(db: DbLike, unsubscribeToken: string): Promise<EmailSubscriptionRow | undefined> {
  return (await db.select().from(eventEmailSubscriptions).where(eq(eventEmailSubscriptions.unsubscribeToken, unsubscribeToken)).limit(1))[0];
}

/** One-click unsubscribe: the address gets no more alerts (its choices are removed). Undefined for an unknown token. */
export async function unsubscribeEmailAlerts(db: Db, unsubscribeToken: string, at: Date, by: Actor): Promise<EmailSubscriptionRow | undefined> {
  const sub = await emailSubscriptionByUnsubscribeToken(db, unsubscribeToken);
  if (!sub) return undefined;
  if (sub.status === 'unsubscribed') return sub;
  const now = at.toISOString();
  await db.transaction(async (tx) => {
        await tx.update(eventEmailSubscriptions)
                .set({ status: 'unsubscribed', unsubscribedAt: now, confirmTokenHash: null, confirmExpiresAt: null, updatedAt: now })
                .where(eq(eventEmailSubscriptions.id, sub.id));
        await tx.delete(subscriptionInterests).where(and(eq(subscriptionInterests.channel, 'email'), eq(subscriptionInterests.subscriptionId, sub.id)));
        await recordAudit(tx, { ...by, action: 'event_alerts.email.unsubscribe', entity: 'event_email_subscription', entityId: sub.id, before: { status: sub.status } });
      });
  return { ...sub, status: 'unsubscribed', unsubscribedAt: now };
}
