/**
 * What tells a citizen about their payments, queued in the outbox by the notifications pass:
 * - a position published for a debtor (created published, or a draft published later; by page, API
 *   or CSV import): the positions repository audits `create` and `publish` in the same transaction,
 *   so the pass follows audit_log by id (a primary-key range over the rows written since the last
 *   pass; `positions` has no index on published_at) and announces those now open;
 * - a reminder `reminderDays` before each due date of an unpaid option, once a day from
 *   REMINDER_HOUR (Italian time), never for a position published inside that window (its first
 *   message already says the due date), never for a paid or cancelled option;
 * - a receipt applied to one of our positions: cursor on the receipt id.
 * At first run the cursors start at what exists, so installing the module never messages citizens
 * about old notices. Each citizen's preferences decide the channels (no user row: App IO only).
 * `checkBeforeSend` is asked again by the dispatcher just before sending, so a notice paid or
 * cancelled after queuing (or a preference turned off) sends nothing.
 */
import { and, asc, eq, gt, gte, inArray, lte, max, sql } from 'drizzle-orm';
import { addDays } from '../../domain/iso-date.js';
import type { DbLike } from '../../db/client.js';
import { romeDay, romeHour } from '../conservazione/dates.js';
import { enti, paymentServices } from '../enti/schema.js';
import { pushSubscriptions } from '../events/schema.js';
import { receipts } from '../pagopa/schema.js';
import { paymentOptions, positions } from '../positions/schema.js';
import { users } from '../users/schema.js';
import type { NotificationRow, NotificationsCtx } from './context.js';
import { enqueueNotifications, type OutboxRow } from './outbox.js';
import {
  positionPublishedMessage,
  receiptMessage,
  reminderMessage,
  toEmail,
  toIoMessage,
  toPush,
  type NeutralMessage,
  type PositionInfo,
} from './payment-messages.js';
import { emailUsable, ensureUnsubscribeToken, preferencesSync, type Preferences, DEFAULT_PREFERENCES } from './preferences.js';
import { notificationState, type NotificationKind } from './schema.js';
import { auditLog } from '../../plugins/audit/schema.js';

export const REMINDER_HOUR = 9;
const BATCH = 500;
const AUDIT_BATCH = 2000;
const OPEN: ('published' | 'partially_paid')[] = ['published', 'partially_paid'];
/** A natural person's fiscal code (the only recipients App IO has). */
const PERSON_FC = /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/;

export const STATE_POSITIONS = 'payments:positions';
export const STATE_RECEIPTS = 'payments:receipts';
export const STATE_REMINDERS = 'payments:reminders_day';

async function readState<T>(db: DbLike, key: string): Promise<T | undefined> {
  const row = (await db.select({ value: notificationState.value }).from(notificationState).where(eq(notificationState.key, key)).limit(1))[0];
  return row ? (JSON.parse(row.value) as T) : undefined;
}

async function writeState(db: DbLike, key: string, value: unknown, at: Date): Promise<void> {
  const v = JSON.stringify(value);
  await db.insert(notificationState)
        .values({ key, value: v, updatedAt: at.toISOString() })
        .onConflictDoUpdate({ target: notificationState.key, set: { value: v, updatedAt: at.toISOString() } });
}

/**
 * Starts the cursors at what exists (module start-up): positions published and receipts received
 * before the module ran are never notified. Does nothing once they exist.
 */
export async function initPaymentCursors(db: DbLike, at: Date): Promise<void> {
  if ((await readState<{ auditId?: number }>(db, STATE_POSITIONS))?.auditId === undefined) {
    const top = (await db.select({ m: max(auditLog.id) }).from(auditLog).limit(1))[0];
    await writeState(db, STATE_POSITIONS, { auditId: top?.m ?? 0 }, at);
  }
  if (await readState(db, STATE_RECEIPTS) === undefined) {
    const top = (await db.select({ m: max(receipts.id) }).from(receipts).limit(1))[0];
    await writeState(db, STATE_RECEIPTS, { id: top?.m ?? 0 }, at);
  }
}

export interface TriggerStats {
  positions: number;
  reminders: number;
  receipts: number;
  queued: number;
}

export async function runPaymentTriggers(ctx: NotificationsCtx, at: Date): Promise<TriggerStats> {
  const stats: TriggerStats = { positions: 0, reminders: 0, receipts: 0, queued: 0 };
  await publishedPositions(ctx, at, stats);
  await receiptsArrived(ctx, at, stats);
  await dueReminders(ctx, at, stats);
  if (stats.queued > 0) ctx.kick();
  return stats;
}

// ---------------------------------------------------------------- recipients

interface Recipient {
  fiscalCode: string;
  userId: number | null;
  prefs: Preferences;
  pushSubscriptionIds: number[];
}

async function recipientOf(db: DbLike, fiscalCode: string): Promise<Recipient> {
  const fc = fiscalCode.toUpperCase();
  const user = (await db.select({ id: users.id }).from(users).where(eq(users.fiscalCode, fc)).limit(1))[0];
  if (!user) return { fiscalCode: fc, userId: null, prefs: { ...DEFAULT_PREFERENCES }, pushSubscriptionIds: [] };
  const prefs = await preferencesSync(db, user.id);
  if (emailUsable(prefs)) prefs.emailUnsubscribeToken = await ensureUnsubscribeToken(db, user.id, prefs);
  const subs = prefs.push
    ? await db.select({ id: pushSubscriptions.id }).from(pushSubscriptions).where(and(eq(pushSubscriptions.userId, user.id), eq(pushSubscriptions.payments, true)))
    : [];
  return { fiscalCode: fc, userId: user.id, prefs, pushSubscriptionIds: subs.map((s) => s.id) };
}

/** The outbox rows of one message for one citizen, on the channels they chose. */
export function rowsFor(r: Recipient, kind: NotificationKind, key: string, subject: string, enteId: number, m: NeutralMessage): OutboxRow[] {
  const rows: OutboxRow[] = [];
  if (kind === 'payment_reminder' && !r.prefs.reminders) return rows;
  const base = { kind, enteId, userId: r.userId, subject };
  if (r.prefs.io && PERSON_FC.test(r.fiscalCode)) {
    rows.push({ ...base, channel: 'io', dedupeKey: `io:${key}`, recipient: r.fiscalCode, payload: toIoMessage(r.fiscalCode, m) });
  }
  if (emailUsable(r.prefs) && r.prefs.emailUnsubscribeToken) {
    rows.push({ ...base, channel: 'email', dedupeKey: `email:${key}`, recipient: r.prefs.emailAddress, payload: toEmail(r.prefs.emailAddress, m, r.prefs.emailUnsubscribeToken) });
  }
  for (const id of r.pushSubscriptionIds) {
    rows.push({ ...base, channel: 'push', dedupeKey: `push:${key}:${id}`, recipient: String(id), payload: toPush(m, key.replace(/:/g, '-')) });
  }
  return rows;
}

// ---------------------------------------------------------------- positions

async function positionInfo(db: DbLike, positionId: number): Promise<(PositionInfo & { enteId: number; debtorFiscalCode: string; publishedAt: string | null; status: string }) | null> {
  const p = (await db
      .select({
        id: positions.id,
        enteId: positions.enteId,
        status: positions.status,
        description: positions.description,
        debtorFiscalCode: positions.debtorFiscalCode,
        switchToExpired: positions.switchToExpired,
        publishedAt: positions.publishedAt,
        enteName: enti.name,
        enteFiscalCode: enti.fiscalCode,
        serviceName: paymentServices.name,
      })
      .from(positions)
      .innerJoin(enti, eq(enti.id, positions.enteId))
      .innerJoin(paymentServices, eq(paymentServices.id, positions.serviceId))
      .where(eq(positions.id, positionId)).limit(1))[0];
  if (!p) return null;
  const options = await db
      .select({
        id: paymentOptions.id,
        amountCents: paymentOptions.amountCents,
        dueDate: paymentOptions.dueDate,
        noticeNumber: paymentOptions.noticeNumber,
        kind: paymentOptions.kind,
        installmentNumber: paymentOptions.installmentNumber,
        installmentCount: paymentOptions.installmentCount,
      })
      .from(paymentOptions)
      .where(and(eq(paymentOptions.positionId, positionId), eq(paymentOptions.status, 'unpaid')))
      .orderBy(asc(paymentOptions.position));
  return {
    positionId: p.id,
    enteId: p.enteId,
    status: p.status,
    description: p.description,
    debtorFiscalCode: p.debtorFiscalCode,
    switchToExpired: p.switchToExpired,
    publishedAt: p.publishedAt,
    enteName: p.enteName,
    enteFiscalCode: p.enteFiscalCode,
    serviceName: p.serviceName,
    options,
  };
}

async function publishedPositions(ctx: NotificationsCtx, at: Date, stats: TriggerStats): Promise<void> {
  const { db } = ctx;
  const state = await readState<{ auditId?: number }>(db, STATE_POSITIONS);
  if (state?.auditId === undefined) return await initPaymentCursors(db, at);
  // The audit rows are written in the same transaction as the change: their ids follow commit order.
  const top = (await db.select({ m: max(auditLog.id) }).from(auditLog).limit(1))[0]?.m ?? 0;
  let cursor = state.auditId;
  while (cursor < top) {
    // Only the id range in SQL: with `entity = 'position'` SQLite picks audit_entity and reads every
    // position's audit rows ever written; the few new rows are filtered here instead.
    const page = await db
          .select({ id: auditLog.id, entity: auditLog.entity, action: auditLog.action, entityId: auditLog.entityId })
          .from(auditLog)
          .where(and(gt(auditLog.id, cursor), lte(auditLog.id, top)))
          .orderBy(asc(auditLog.id))
          .limit(AUDIT_BATCH);
    const rows: OutboxRow[] = [];
    for (const a of page) {
      if (a.entity !== 'position' || (a.action !== 'create' && a.action !== 'publish')) continue;
      const p = await positionInfo(db, Number(a.entityId));
      // Created as a draft, or cancelled / paid before this pass: nothing to announce.
      if (!p || !p.publishedAt || !OPEN.includes(p.status as (typeof OPEN)[number])) continue;
      const m = positionPublishedMessage(p, ctx.config.publicUrl);
      if (!m) continue;
      rows.push(...rowsFor(await recipientOf(db, p.debtorFiscalCode), 'position_published', `position:${p.positionId}`, `position:${p.positionId}`, p.enteId, m));
      stats.positions++;
    }
    stats.queued += await enqueueNotifications(db, rows, at);
    cursor = page.length === AUDIT_BATCH ? page[page.length - 1]!.id : top;
    await writeState(db, STATE_POSITIONS, { auditId: cursor }, at);
  }
}

// ---------------------------------------------------------------- receipts

async function receiptsArrived(ctx: NotificationsCtx, at: Date, stats: TriggerStats): Promise<void> {
  const { db } = ctx;
  const state = await readState<{ id: number }>(db, STATE_RECEIPTS);
  if (!state) return await initPaymentCursors(db, at);
  let cursor = state.id;
  for (;;) {
    const page = await db
          .select({
            id: receipts.id,
            enteId: receipts.enteId,
            outcome: receipts.outcome,
            processing: receipts.processing,
            description: receipts.description,
            amountCents: receipts.paymentAmountCents,
            noticeNumber: receipts.noticeNumber,
            pspName: receipts.pspCompanyName,
            receivedAt: receipts.receivedAt,
            positionId: receipts.positionId,
            receiptDebtor: receipts.debtorFiscalCode,
            positionDebtor: positions.debtorFiscalCode,
            enteName: enti.name,
          })
          .from(receipts)
          .innerJoin(enti, eq(enti.id, receipts.enteId))
          .leftJoin(positions, eq(positions.id, receipts.positionId))
          .where(gt(receipts.id, cursor))
          .orderBy(asc(receipts.id))
          .limit(BATCH);
    if (page.length === 0) break;
    const rows: OutboxRow[] = [];
    for (const r of page) {
      if (r.outcome !== 'OK' || r.processing !== 'applied' || !r.positionId) continue;
      const m = receiptMessage(
        { receiptId: r.id, enteName: r.enteName, description: r.description, amountCents: r.amountCents, noticeNumber: r.noticeNumber, paidAt: r.receivedAt, pspName: r.pspName, positionId: r.positionId },
        ctx.config.publicUrl,
      );
      rows.push(...rowsFor(await recipientOf(db, r.positionDebtor ?? r.receiptDebtor), 'receipt', `receipt:${r.id}`, `receipt:${r.id}`, r.enteId, m));
      stats.receipts++;
    }
    stats.queued += await enqueueNotifications(db, rows, at);
    cursor = page[page.length - 1]!.id;
    await writeState(db, STATE_RECEIPTS, { id: cursor }, at);
    if (page.length < BATCH) break;
  }
}

// ---------------------------------------------------------------- reminders

async function dueReminders(ctx: NotificationsCtx, at: Date, stats: TriggerStats): Promise<void> {
  const { db } = ctx;
  const today = romeDay(at);
  if (romeHour(at) < REMINDER_HOUR) return;
  if (await readState<string>(db, STATE_REMINDERS) === today) return;
  const days = ctx.config.notifications.reminderDays;
  const last = addDays(today, days);
  // Each ente in turn (a few dozen rows), so each range below uses payment_options_due.
  const enteIds = (await db.select({ id: enti.id }).from(enti)).map((e) => e.id);
  for (const enteId of enteIds) {
    let afterId = 0;
    for (;;) {
      // payment_options_due (ente_id, due_date): a range scan per ente.
      const page = await db
              .select({ id: paymentOptions.id, positionId: paymentOptions.positionId, dueDate: paymentOptions.dueDate, publishedAt: positions.publishedAt })
              .from(paymentOptions)
              .innerJoin(positions, eq(positions.id, paymentOptions.positionId))
              .where(
                and(
                  eq(paymentOptions.enteId, enteId),
                  gte(paymentOptions.dueDate, today),
                  lte(paymentOptions.dueDate, last),
                  eq(paymentOptions.status, 'unpaid'),
                  inArray(positions.status, OPEN),
                  gt(paymentOptions.id, afterId),
                ),
              )
              .orderBy(asc(paymentOptions.id))
              .limit(BATCH);
      if (page.length === 0) break;
      const rows: OutboxRow[] = [];
      for (const o of page) {
        // Published inside the reminder window: its first message already carried the due date.
        if (!o.publishedAt || romeDay(new Date(o.publishedAt)) >= addDays(o.dueDate, -days)) continue;
        const p = await positionInfo(db, o.positionId);
        const option = p?.options.find((x) => x.id === o.id);
        if (!p || !option) continue;
        const daysLeft = Math.round((Date.parse(`${o.dueDate}T00:00:00Z`) - Date.parse(`${today}T00:00:00Z`)) / 86_400_000);
        const m = reminderMessage(p, option, ctx.config.publicUrl, daysLeft);
        rows.push(...rowsFor(await recipientOf(db, p.debtorFiscalCode), 'payment_reminder', `reminder:${o.id}:${o.dueDate}`, `option:${o.id}`, p.enteId, m));
        stats.reminders++;
      }
      stats.queued += await enqueueNotifications(db, rows, at);
      afterId = page[page.length - 1]!.id;
      if (page.length < BATCH) break;
    }
  }
  await writeState(db, STATE_REMINDERS, today, at);
}

// ---------------------------------------------------------------- at send time

/**
 * Asked by the dispatcher just before sending a row: a reason not to send it any more (the notice
 * was paid or cancelled, the citizen turned the channel or reminders off), or null to send it.
 */
export async function checkBeforeSend(db: DbLike, row: NotificationRow): Promise<string | null> {
  if (row.kind !== 'position_published' && row.kind !== 'payment_reminder' && row.kind !== 'receipt') return null;
  if (row.userId !== null) {
    const prefs = await preferencesSync(db, row.userId);
    if (row.channel === 'io' && !prefs.io) return 'App IO disattivata dal cittadino';
    if (row.channel === 'email' && !emailUsable(prefs)) return 'e-mail disattivata o non confermata';
    if (row.channel === 'push' && !prefs.push) return 'notifiche push per i pagamenti disattivate';
    if (row.kind === 'payment_reminder' && !prefs.reminders) return 'promemoria disattivati dal cittadino';
  }
  const [what, idText] = row.subject.split(':');
  const id = Number(idText);
  if (what === 'position') {
    const p = (await db
          .select({ status: positions.status, unpaid: sql<number>`(SELECT count(*) FROM payment_options o WHERE o.position_id = positions.id AND o.status = 'unpaid')` })
          .from(positions)
          .where(eq(positions.id, id)).limit(1))[0];
    if (!p || !OPEN.includes(p.status as (typeof OPEN)[number]) || p.unpaid === 0) return 'posizione pagata o annullata';
  }
  if (what === 'option') {
    const o = (await db
          .select({ status: paymentOptions.status, positionStatus: positions.status })
          .from(paymentOptions)
          .innerJoin(positions, eq(positions.id, paymentOptions.positionId))
          .where(eq(paymentOptions.id, id)).limit(1))[0];
    if (!o || o.status !== 'unpaid' || !OPEN.includes(o.positionStatus as (typeof OPEN)[number])) return 'avviso già pagato o annullato';
  }
  return null;
}
