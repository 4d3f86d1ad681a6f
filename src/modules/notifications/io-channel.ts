/**
 * The App IO channel: for each row, the ente's IO service (its key decrypted), `POST /profiles`
 * (not on IO, or `sender_allowed` false → skipped: nothing is sent), then `POST /messages` with
 * the row's payload (a NewMessage with payment_data and due_date); the message id is recorded.
 * Later passes ask `GET /messages/{fiscal_code}/{id}` for the delivery state until it is final.
 */
import { and, asc, eq, gte, lte } from 'drizzle-orm';
import type { ChannelResult, ChannelSender, NotificationRow, NotificationsCtx } from './context.js';
import { moduleKey } from './crypto.js';
import { getMessageStatus, getProfile, submitMessage, type IoClientOptions } from './io-client.js';
import { ioCredentials, UndecryptableKeyError } from './io-services.js';
import { notifications } from './schema.js';

/** Delivery polling: first after a minute, then every POLL_MS, for at most POLL_DAYS. */
export const POLL_MS = 10 * 60_000;
export const POLL_DAYS = 7;
const POLL_BATCH = 200;
/** next_attempt_at of a row whose delivery state is final: never polled again. */
export const NEVER = '9999-12-31T00:00:00.000Z';

/** 401/403 may be a key the ente is fixing: retried (the back-off gives it hours); other 4xx are final. */
function classify(o: { retry: boolean; status: number | null; error: string }): ChannelResult {
  if (o.retry || o.status === 401 || o.status === 403) return { status: 'retry', error: o.error };
  return { status: 'failed', error: o.error };
}

async function clientFor(ctx: NotificationsCtx, enteId: number | null): Promise<IoClientOptions | null> {
  if (enteId === null) return null;
  const creds = await ioCredentials(ctx.db, moduleKey(ctx.config), enteId);
  return creds ? { baseUrl: ctx.config.notifications.ioApiUrl, apiKey: creds.apiKey } : null;
}

export function ioSender(ctx: NotificationsCtx): ChannelSender {
  return async (row: NotificationRow): Promise<ChannelResult> => {
    let client: IoClientOptions | null;
    try {
      client = await clientFor(ctx, row.enteId);
    } catch (e) {
      // Retried: the ente can save its key again within the back-off (hours).
      if (e instanceof UndecryptableKeyError) return { status: 'retry', error: e.message };
      throw e;
    }
    if (!client) return { status: 'skipped', error: 'l’ente non ha un servizio App IO attivo' };
    const profile = await getProfile(client, row.recipient);
    if (!profile.ok) return classify(profile);
    if (profile.value === null) return { status: 'skipped', error: 'il cittadino non usa App IO', deliveryState: 'NO_PROFILE' };
    if (!profile.value.senderAllowed) return { status: 'skipped', error: 'il cittadino non accetta messaggi da questo servizio', deliveryState: 'SENDER_NOT_ALLOWED' };
    const sent = await submitMessage(client, JSON.parse(row.payload) as Record<string, unknown>);
    if (!sent.ok) return classify(sent);
    return { status: 'sent', providerId: sent.value.id, deliveryState: 'ACCEPTED' };
  };
}

/** Asks IO for the state of sent messages that are due a poll; PROCESSED → delivered, REJECTED/FAILED → failed. */
export async function pollIoDeliveries(ctx: NotificationsCtx, at: Date): Promise<number> {
  const iso = at.toISOString();
  const rows = await ctx.db
      .select()
      .from(notifications)
      .where(
        and(
          eq(notifications.channel, 'io'),
          eq(notifications.status, 'sent'),
          lte(notifications.nextAttemptAt, iso),
          gte(notifications.sentAt, new Date(at.getTime() - POLL_DAYS * 86_400_000).toISOString()),
        ),
      )
      .orderBy(asc(notifications.nextAttemptAt))
      .limit(POLL_BATCH);
  let polled = 0;
  for (const row of rows) {
    const client = await clientFor(ctx, row.enteId).catch(() => null);
    if (!client || !row.providerId) {
      await ctx.db.update(notifications).set({ nextAttemptAt: NEVER, updatedAt: iso }).where(eq(notifications.id, row.id));
      continue;
    }
    const r = await getMessageStatus(client, row.recipient, row.providerId);
    polled++;
    const next = new Date(at.getTime() + POLL_MS).toISOString();
    if (!r.ok) {
      await ctx.db.update(notifications).set({ nextAttemptAt: next, lastError: r.error.slice(0, 500), updatedAt: iso }).where(eq(notifications.id, row.id));
      continue;
    }
    const state = r.value?.status ?? 'NOT_FOUND';
    const status = state === 'PROCESSED' ? 'delivered' : state === 'REJECTED' || state === 'FAILED' ? 'failed' : 'sent';
    const final = status !== 'sent' || state === 'NOT_FOUND';
    await ctx.db
            .update(notifications)
            .set({ status, deliveryState: state, nextAttemptAt: final ? NEVER : next, updatedAt: iso, ...(status === 'failed' ? { lastError: `App IO: ${state}` } : {}) })
            .where(eq(notifications.id, row.id));
  }
  return polled;
}
