/**
 * The alerts pass: for each event published for the first time (`first_published_at` set,
 * `alerts_queued_at` still null, status published) it queues one Web Push message per matching
 * push subscription and one e-mail per matching confirmed e-mail subscription in the
 * notifications outbox, then sets `alerts_queued_at`. The dispatcher of the notifications module
 * sends them (retries, daily cap, gone subscriptions).
 *
 * Matching is SQL over `subscription_interests` (a subscription follows the event when, for each
 * kind — comune, category — it has no row of that kind or a row naming the event's value), read in
 * keyset batches of ALERT_BATCH subscription ids: memory stays flat whatever the number of
 * subscribers. The dedupe keys (`push:event:<eventId>:<subId>`, `email:event:<eventId>:<subId>`)
 * make a pass interrupted half-way safe to run again.
 */
import { and, asc, eq, exists, gt, is, isNotNull, isNull, lte, max, notExists, or, SQL, sql } from 'drizzle-orm';
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import { affectedRows, type Db } from '../../db/client.js';
import { dialectOf } from '../../db/raw.js';
import { enti } from '../enti/schema.js';
import { vapidKeys, type PushPayload } from '../notifications/push.js';
import { notifications } from '../notifications/schema.js';
import type { EventsCtx } from './context.js';
import { eventCategories, eventEmailSubscriptions, eventOccurrences, events, pushSubscriptions, subscriptionInterests } from './schema.js';

/** Subscriptions read (and rows queued) per batch. */
export const ALERT_BATCH = 1000;
/** Events handled per pass (the rest at the next pass). */
const EVENTS_PER_PASS = 20;

export interface AlertEvent {
  id: number;
  enteId: number;
  categoryId: number;
  title: string;
  summary: string;
  startsAt: string;
  endsAt: string;
  allDay: boolean;
  recurrence: 'none' | 'weekly';
  placeName: string;
  enteName: string;
  categoryName: string;
}

export interface AlertsSummary {
  events: number;
  push: number;
  email: number;
}

const WHEN_IT = new Intl.DateTimeFormat('it-IT', { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Rome' });
const DAY_IT = new Intl.DateTimeFormat('it-IT', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'Europe/Rome' });

/** "sab 12 dic, 18:00" (or the day alone for an all-day event), in Italian time. */
export function whenText(ev: Pick<AlertEvent, 'startsAt' | 'allDay' | 'recurrence'>): string {
  const d = new Date(ev.startsAt);
  const text = ev.allDay ? DAY_IT.format(d) : WHEN_IT.format(d);
  return ev.recurrence === 'weekly' ? `${text} (ogni settimana)` : text;
}

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1).trimEnd()}…`);

/** The push message of an event: what the notification shows, and the page it opens. */
export function pushPayload(ev: AlertEvent): PushPayload {
  return {
    title: clip(`${ev.title} – ${ev.enteName}`, 120),
    body: clip(`${whenText(ev)} · ${ev.placeName}. ${ev.summary}`, 240),
    url: `/eventi/${ev.id}`,
    tag: `evento-${ev.id}`,
  };
}

/** The alert e-mail of an event for one address, with its one-click unsubscribe link. */
export function emailPayload(ev: AlertEvent, to: string, o: { publicUrl: string; provinceName: string; unsubscribeToken: string }): { to: string; subject: string; body: string; listUnsubscribe: string } {
  const unsubscribeUrl = `${o.publicUrl}/eventi/avvisi/disiscrizione?token=${o.unsubscribeToken}`;
  return {
    to,
    listUnsubscribe: unsubscribeUrl,
    subject: clip(`Nuovo evento a ${ev.enteName}: ${ev.title}`, 200),
    body: [
      `${ev.enteName} ha pubblicato un nuovo evento (${ev.categoryName}).`,
      '',
      ev.title,
      `Quando: ${whenText(ev)}`,
      `Dove: ${ev.placeName}`,
      '',
      ev.summary,
      '',
      `Tutti i dettagli: ${o.publicUrl}/eventi/${ev.id}`,
      '',
      '—',
      `Ricevi questo messaggio perché hai chiesto gli avvisi dei nuovi eventi sul portale ${o.provinceName} e hai confermato il tuo indirizzo.`,
      `Per non ricevere più questi avvisi (basta un clic): ${unsubscribeUrl}`,
      `Per cambiare comuni e categorie: ${o.publicUrl}/eventi/avvisi`,
    ].join('\n'),
  };
}

/** The condition "the subscription (column `subId`) of `channel` follows `refId` for `kind`". */
function follows(db: Db, channel: 'push' | 'email', subId: typeof pushSubscriptions.id | typeof eventEmailSubscriptions.id, kind: 'ente' | 'category', refId: number) {
  const si = subscriptionInterests;
  const ofKind = and(eq(si.channel, channel), eq(si.subscriptionId, subId), eq(si.kind, kind));
  const one = { one: sql`1` };
  return or(notExists(db.select(one).from(si).where(ofKind)), exists(db.select(one).from(si).where(and(ofKind, eq(si.refId, refId)))));
}

/** The last id of the next ALERT_BATCH subscriptions after `afterId` (the batch's upper bound), or null at the end. */
async function batchEnd(db: Db, table: typeof pushSubscriptions | typeof eventEmailSubscriptions, afterId: number): Promise<number | null> {
  const ids = await db.select({ id: table.id }).from(table).where(gt(table.id, afterId)).orderBy(asc(table.id)).limit(ALERT_BATCH);
  return ids.length ? ids[ids.length - 1]!.id : null;
}

const text = (v: string) => sql<string>`${v}`;
const nothing = sql`NULL`;

/** Every SQL expression named after its key (drizzle needs an alias for computed columns of a sub-select). */
function aliased<T extends Record<string, SQL | AnySQLiteColumn>>(o: T): { [K in keyof T]: T[K] extends SQL<infer U> ? SQL.Aliased<U> : T[K] } {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, is(v, SQL) ? v.as(k) : v])) as never;
}

/**
 * The columns of `notifications` (all of them, in table order, as INSERT … SELECT needs) common to
 * the alerts of one event: the database builds one row per matching subscription, no row goes
 * through JavaScript.
 */
function outboxColumns(db: Db, ev: AlertEvent, iso: string) {
  return {
    // SQLite numbers a NULL id; PostgreSQL's identity column takes its next value explicitly.
    id: dialectOf(db) === 'postgres' ? sql<number>`nextval(pg_get_serial_sequence('notifications', 'id'))` : sql<number>`NULL`,
    kind: text('event_published'),
    enteId: sql<number>`${ev.enteId}`,
    subject: text(`event:${ev.id}`),
    status: text('queued'),
    attempts: sql<number>`0`,
    nextAttemptAt: text(iso),
    lastError: nothing,
    providerId: nothing,
    deliveryState: nothing,
    sentAt: nothing,
    createdAt: text(iso),
    updatedAt: text(iso),
  };
}

/** Queues the push rows of the subscriptions with ids in (afterId, lastId] that follow the event; returns how many were new. */
async function queuePushRange(db: Db, ev: AlertEvent, payload: string, afterId: number, lastId: number, iso: string): Promise<number> {
  const s = pushSubscriptions;
  const c = outboxColumns(db, ev, iso);
  const rows = db
    .select(
      aliased({
        id: c.id,
        channel: text('push'),
        kind: c.kind,
        dedupeKey: sql<string>`${`push:event:${ev.id}:`} || ${s.id}`,
        enteId: c.enteId,
        userId: s.userId,
        recipient: sql<string>`CAST(${s.id} AS TEXT)`,
        subject: c.subject,
        payload: text(payload),
        ...queuedState(c),
      }),
    )
    .from(s)
    .where(and(gt(s.id, afterId), lte(s.id, lastId), eq(s.events, true), follows(db, 'push', s.id, 'ente', ev.enteId), follows(db, 'push', s.id, 'category', ev.categoryId)));
  return affectedRows(await db.insert(notifications).select(rows).onConflictDoNothing({ target: notifications.dedupeKey }));
}

/** The columns every queued alert row shares (status queued, no attempt yet, the pass's time), in table order. */
function queuedState(c: ReturnType<typeof outboxColumns>) {
  const { status, attempts, nextAttemptAt, lastError, providerId, deliveryState, sentAt, createdAt, updatedAt } = c;
  return { status, attempts, nextAttemptAt, lastError, providerId, deliveryState, sentAt, createdAt, updatedAt };
}

/** The same for the confirmed e-mail subscriptions; each e-mail's JSON is built by the database (json_object, json_build_object) around its unsubscribe token. */
async function queueEmailRange(db: Db, ev: AlertEvent, mail: { subject: string; before: string; after: string; unsubscribeBefore: string }, afterId: number, lastId: number, iso: string): Promise<number> {
  const s = eventEmailSubscriptions;
  const c = outboxColumns(db, ev, iso);
  const rows = db
    .select(
      aliased({
        id: c.id,
        channel: text('email'),
        kind: c.kind,
        dedupeKey: sql<string>`${`email:event:${ev.id}:`} || ${s.id}`,
        enteId: c.enteId,
        userId: s.userId,
        recipient: s.email,
        subject: c.subject,
        payload:
          dialectOf(db) === 'postgres'
            ? sql<string>`json_build_object('to', ${s.email}, 'subject', CAST(${mail.subject} AS TEXT), 'body', CAST(${mail.before} AS TEXT) || ${s.unsubscribeToken} || CAST(${mail.after} AS TEXT), 'listUnsubscribe', CAST(${mail.unsubscribeBefore} AS TEXT) || ${s.unsubscribeToken})::text`
            : sql<string>`json_object('to', ${s.email}, 'subject', ${mail.subject}, 'body', ${mail.before} || ${s.unsubscribeToken} || ${mail.after}, 'listUnsubscribe', ${mail.unsubscribeBefore} || ${s.unsubscribeToken})`,
        ...queuedState(c),
      }),
    )
    .from(s)
    .where(and(gt(s.id, afterId), lte(s.id, lastId), eq(s.status, 'confirmed'), follows(db, 'email', s.id, 'ente', ev.enteId), follows(db, 'email', s.id, 'category', ev.categoryId)));
  return affectedRows(await db.insert(notifications).select(rows).onConflictDoNothing({ target: notifications.dedupeKey }));
}

/** Events whose first-publication alerts are still to queue. */
async function pendingEvents(db: Db): Promise<AlertEvent[]> {
  return db
    .select({
      id: events.id,
      enteId: events.enteId,
      categoryId: events.categoryId,
      title: events.title,
      summary: events.summary,
      startsAt: events.startsAt,
      endsAt: events.endsAt,
      allDay: events.allDay,
      recurrence: events.recurrence,
      placeName: events.placeName,
      enteName: enti.name,
      categoryName: eventCategories.name,
    })
    .from(events)
    .innerJoin(enti, eq(enti.id, events.enteId))
    .innerJoin(eventCategories, eq(eventCategories.id, events.categoryId))
    .where(and(isNotNull(events.firstPublishedAt), isNull(events.alertsQueuedAt), eq(events.status, 'published')))
    .orderBy(asc(events.id))
    .limit(EVENTS_PER_PASS);
}

/** When the event's last occurrence ends (its occurrences, or its own end when none are stored). */
async function lastEnd(db: Db, ev: AlertEvent): Promise<string> {
  const row = (await db.select({ end: max(eventOccurrences.endsAt) }).from(eventOccurrences).where(eq(eventOccurrences.eventId, ev.id)))[0];
  return row?.end ?? ev.endsAt;
}

/**
 * Queues every alert of one event, ALERT_BATCH subscriptions at a time (each batch one
 * INSERT … SELECT … ON CONFLICT(dedupe_key) DO NOTHING); returns how many rows were new.
 */
export async function queueEventAlerts(ctx: Pick<EventsCtx, 'db' | 'config'>, ev: AlertEvent, at: Date): Promise<{ push: number; email: number }> {
  const { db, config } = ctx;
  const iso = at.toISOString();
  let push = 0;
  let email = 0;
  if (vapidKeys(config)) {
    const payload = JSON.stringify(pushPayload(ev));
    for (let from = 0, last = await batchEnd(db, pushSubscriptions, 0); last !== null; from = last, last = await batchEnd(db, pushSubscriptions, from)) {
      push += await queuePushRange(db, ev, payload, from, last, iso);
    }
  }
  // The e-mail around its one variable part, the unsubscribe token (base64url: nothing to escape).
  const marker = '\u0000TOKEN\u0000';
  const sample = emailPayload(ev, '', { publicUrl: config.publicUrl, provinceName: config.provinceName, unsubscribeToken: marker });
  const [before, after] = sample.body.split(marker) as [string, string];
  const unsubscribeBefore = sample.listUnsubscribe.slice(0, -marker.length); // the URL ends with the token
  for (let from = 0, last = await batchEnd(db, eventEmailSubscriptions, 0); last !== null; from = last, last = await batchEnd(db, eventEmailSubscriptions, from)) {
    email += await queueEmailRange(db, ev, { subject: sample.subject, before, after, unsubscribeBefore }, from, last, iso);
  }
  return { push, email };
}

/**
 * The pass: queues the alerts of the events published for the first time since the last pass.
 * An event already over when the pass sees it gets no alerts (it is only marked done).
 */
export async function queuePendingAlerts(ctx: Pick<EventsCtx, 'db' | 'config'>, at: Date): Promise<AlertsSummary> {
  const summary: AlertsSummary = { events: 0, push: 0, email: 0 };
  for (;;) {
    const pending = await pendingEvents(ctx.db);
    if (pending.length === 0) break;
    for (const ev of pending) {
      if (Date.parse(await lastEnd(ctx.db, ev)) > at.getTime()) {
        const n = await queueEventAlerts(ctx, ev, at);
        summary.push += n.push;
        summary.email += n.email;
      }
      await ctx.db.update(events).set({ alertsQueuedAt: at.toISOString() }).where(and(eq(events.id, ev.id), isNull(events.alertsQueuedAt)));
      summary.events++;
    }
  }
  return summary;
}

/** The events module's scheduled pass (`app.eventsTick`). */
export async function runEventAlerts(ctx: Pick<EventsCtx, 'db' | 'config'>, at: Date): Promise<void> {
  await queuePendingAlerts(ctx, at);
}
