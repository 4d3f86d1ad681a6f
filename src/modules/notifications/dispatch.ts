/**
 * The dispatcher: claims due outbox rows (queued, next_attempt_at ≤ now) in batches by one UPDATE …
 * RETURNING (status → sending), hands each to its channel's sender, and records the result:
 * sent / delivered (sent_at, provider id, delivery state), skipped / gone / failed (final, with the
 * reason), retry (again after 1, 5, 30 min, 2 h, 12 h; failed after MAX_ATTEMPTS attempts).
 * Rows left in `sending` by a process that stopped mid-send go back to the queue after STALE_MS.
 * Then it asks App IO for the delivery state of the messages it sent (io-channel.ts).
 */
import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import type { ChannelResult, NotificationRow, NotificationsCtx } from './context.js';
import { pollIoDeliveries } from './io-channel.js';
import { checkBeforeSend } from './payment-triggers.js';
import { notifications } from './schema.js';

export const BACKOFF_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000, 12 * 3600_000] as const;
export const MAX_ATTEMPTS = 6;
export const DISPATCH_BATCH = 100;
/** Rows sent at the same time (each channel call is network I/O). */
export const CONCURRENCY = 8;
export const STALE_MS = 15 * 60_000;
export const FIRST_POLL_MS = 60_000;
/** A pass stops claiming after this long, so one pass never holds the scheduler for ever. */
const PASS_BUDGET_MS = 50_000;

export interface DispatchStats {
  claimed: number;
  byStatus: Record<string, number>;
}

/** The delay before attempt `attempts + 1`, after `attempts` failed ones. */
export const backoffAfter = (attempts: number) => BACKOFF_MS[Math.min(attempts - 1, BACKOFF_MS.length - 1)]!;

export async function claimDue(db: DbLike, at: Date, limit = DISPATCH_BATCH): Promise<NotificationRow[]> {
  const iso = at.toISOString();
  const due = db
    .select({ id: notifications.id })
    .from(notifications)
    .where(and(eq(notifications.status, 'queued'), lte(notifications.nextAttemptAt, iso)))
    .orderBy(asc(notifications.nextAttemptAt))
    .limit(limit);
  return await db.update(notifications).set({ status: 'sending', updatedAt: iso }).where(inArray(notifications.id, due)).returning();
}

/** Records what the channel said about a claimed row. */
export async function recordResult(db: DbLike, row: NotificationRow, result: ChannelResult, at: Date): Promise<NotificationRow['status']> {
  const iso = at.toISOString();
  const attempts = row.attempts + 1;
  const common = { attempts, updatedAt: iso, lastError: result.error?.slice(0, 500) ?? null };
  let status: NotificationRow['status'];
  let extra: Partial<NotificationRow> = {};
  switch (result.status) {
    case 'sent':
    case 'delivered':
      status = result.status;
      // For a sent row next_attempt_at is when its delivery state is first asked (io-channel.ts).
      extra = { sentAt: iso, providerId: result.providerId ?? null, deliveryState: result.deliveryState ?? null, nextAttemptAt: new Date(at.getTime() + FIRST_POLL_MS).toISOString() };
      break;
    case 'retry':
      if (attempts >= MAX_ATTEMPTS) {
        status = 'failed';
      } else {
        status = 'queued';
        extra = { nextAttemptAt: new Date(at.getTime() + backoffAfter(attempts)).toISOString() };
      }
      break;
    default:
      status = result.status;
      if (result.deliveryState) extra = { deliveryState: result.deliveryState };
  }
  await db.update(notifications)
        .set({ ...common, ...extra, status })
        .where(and(eq(notifications.id, row.id), eq(notifications.status, 'sending')));
  return status;
}

async function sendOne(ctx: NotificationsCtx, row: NotificationRow): Promise<ChannelResult> {
  const reason = await checkBeforeSend(ctx.db, row);
  if (reason) return { status: 'skipped', error: reason };
  const sender = ctx.channels.get(row.channel);
  if (!sender) return { status: 'skipped', error: `canale ${row.channel} non configurato` };
  try {
    return await sender(row);
  } catch (e) {
    return { status: 'retry', error: (e as Error).message };
  }
}

export async function runDispatch(ctx: NotificationsCtx, at: Date): Promise<DispatchStats> {
  const stats: DispatchStats = { claimed: 0, byStatus: {} };
  const iso = at.toISOString();
  // A process stopped mid-send: back to the queue (the attempt counts).
  await ctx.db
        .update(notifications)
        .set({ status: 'queued', attempts: sql`${notifications.attempts} + 1`, lastError: 'invio interrotto', updatedAt: iso })
        .where(and(eq(notifications.status, 'sending'), lte(notifications.updatedAt, new Date(at.getTime() - STALE_MS).toISOString())));
  const started = Date.now();
  while (Date.now() - started < PASS_BUDGET_MS) {
    const rows = await claimDue(ctx.db, at);
    if (rows.length === 0) break;
    stats.claimed += rows.length;
    for (let i = 0; i < rows.length; i += CONCURRENCY) {
      const slice = rows.slice(i, i + CONCURRENCY);
      const results = await Promise.all(slice.map((r) => sendOne(ctx, r)));
      for (const [j, r] of slice.entries()) {
        const s = await recordResult(ctx.db, r, results[j]!, at);
        stats.byStatus[s] = (stats.byStatus[s] ?? 0) + 1;
      }
    }
    if (rows.length < DISPATCH_BATCH) break;
  }
  // Rows claimed but not reached before the budget ran out stay queued (claimDue only claims what it sends).
  await pollIoDeliveries(ctx, at);
  return stats;
}
