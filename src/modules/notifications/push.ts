/**
 * The Web Push channel (RFC 8030 push, RFC 8291 message encryption, RFC 8292 VAPID), through the
 * `web-push` library. The VAPID pair comes from VAPID_PUBLIC_KEY/VAPID_PRIVATE_KEY; in demo mode
 * without them a pair is generated at first start into DATA_DIR/vapid.json (mode 0600); in
 * production without them Web Push is off (no subscription is offered, rows are skipped).
 *
 * One `notifications` row = one message to one subscription (`recipient` = the subscription id,
 * `payload` = JSON {title, body, url, tag}, exactly what the service worker shows). The push
 * service's answer decides the outcome: 2xx → sent; 404/410 → the subscription is deleted (with
 * its interests) and the row is 'gone'; 429, 5xx, network errors, timeouts → retry; other 4xx →
 * failed. At most PUSH_DAILY_CAP messages per subscription per Italian day: the rest are skipped.
 * `web-push` is loaded at the first message (lazy-packages.ts), not when the app starts.
 */
import { createECDH } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type https from 'node:https';
import { and, eq, gte, inArray } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Db } from '../../db/client.js';
import { loadWebPush } from '../../lazy-packages.js';
import { romeDay } from '../conservazione/dates.js';
import { events, pushSubscriptions, subscriptionInterests } from '../events/schema.js';
import type { ChannelResult, ChannelSender, NotificationRow, NotificationsCtx } from './context.js';
import { notifications } from './schema.js';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  subject: string;
}

/** What a push message carries (the service worker shows it as a notification). */
export interface PushPayload {
  title: string;
  body: string;
  /** Same-origin path opened when the notification is clicked. */
  url: string;
  /** Notifications with the same tag replace each other on the device. */
  tag: string;
}

const vapidCache = new Map<string, VapidKeys | null>();

/**
 * A new VAPID pair (P-256; base64url of the 65-byte uncompressed public point and of the 32-byte
 * private scalar): web-push's generateVAPIDKeys, written out so that the app start that makes the
 * demo pair does not load web-push.
 */
function generateVapidKeys(): { publicKey: string; privateKey: string } {
  const curve = createECDH('prime256v1');
  curve.generateKeys();
  const pad = (b: Buffer, length: number) => (b.length < length ? Buffer.concat([Buffer.alloc(length - b.length), b]) : b);
  return { publicKey: pad(curve.getPublicKey(), 65).toString('base64url'), privateKey: pad(curve.getPrivateKey(), 32).toString('base64url') };
}

function readVapidFile(file: string): { publicKey: string; privateKey: string } | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { publicKey?: unknown; privateKey?: unknown };
    if (typeof parsed.publicKey === 'string' && typeof parsed.privateKey === 'string') return { publicKey: parsed.publicKey, privateKey: parsed.privateKey };
    throw new Error(`${file}: publicKey/privateKey missing`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The VAPID pair and subject, or null when Web Push is off (production without VAPID_* settings).
 * Demo mode generates the pair once into `vapidFile` (another process racing us: theirs is used).
 */
export function vapidKeys(config: Config): VapidKeys | null {
  const n = config.notifications;
  const cacheKey = `${n.vapidFile}\u0000${n.vapidPublicKey ?? ''}`;
  const cached = vapidCache.get(cacheKey);
  if (cached !== undefined) return cached;
  let keys: VapidKeys | null = null;
  if (n.vapidPublicKey && n.vapidPrivateKey) {
    keys = { publicKey: n.vapidPublicKey, privateKey: n.vapidPrivateKey, subject: n.vapidSubject };
  } else if (n.generateDemoKeys) {
    let pair = readVapidFile(n.vapidFile);
    if (!pair) {
      const generated = generateVapidKeys();
      fs.mkdirSync(path.dirname(n.vapidFile), { recursive: true });
      try {
        fs.writeFileSync(n.vapidFile, `${JSON.stringify(generated)}\n`, { mode: 0o600, flag: 'wx' });
        pair = generated;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        pair = readVapidFile(n.vapidFile)!;
      }
    }
    keys = { ...pair, subject: n.vapidSubject };
  }
  vapidCache.set(cacheKey, keys);
  return keys;
}

/** Push services of the browsers in use; production sends only to these (no request to an arbitrary host). */
const KNOWN_PUSH_HOSTS = [/^fcm\.googleapis\.com$/, /^updates\.push\.services\.mozilla\.com$/, /^web\.push\.apple\.com$/, /\.push\.apple\.com$/, /\.notify\.windows\.com$/];

/**
 * Checks a subscription endpoint before storing it: an https URL (at most 1000 characters); in
 * production its host must be a known browser push service (the server POSTs to this URL). Returns
 * an Italian message, or null when acceptable.
 */
export function checkPushEndpoint(endpoint: string, production: boolean): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'Indirizzo del servizio di notifica non valido.';
  }
  if (url.protocol !== 'https:' || url.username || url.password) return 'Il servizio di notifica deve avere un indirizzo https.';
  if (production && !KNOWN_PUSH_HOSTS.some((re) => re.test(url.hostname))) return 'Servizio di notifica del browser non riconosciuto.';
  return null;
}

export interface PushSenderOptions {
  /** HTTPS agent for the push service requests (tests: one that trusts the fake service's certificate). */
  agent?: https.Agent;
  /** Socket timeout of one request, ms (default 15 s). */
  timeoutMs?: number;
  /** TTL of the message at the push service, seconds (default one day). */
  ttlSeconds?: number;
}

const DAY_MS = 86_400_000;

/** How many push messages these subscriptions (one browser, or every browser of one citizen) were sent during the Italian day of `at`. */
async function sentToday(db: Db, subscriptionIds: number[], at: Date, rowId: number): Promise<number> {
  const day = romeDay(at);
  // The index (channel, recipient, created_at) narrows to the last few days; the day is decided on
  // sent_at. Rows being sent right now ('sending', claimed by the dispatcher before it sends) count
  // when they came first (a lower id): the dispatcher sends several rows at once, and a row's
  // 'sent' is written after the next one may have counted. A first-come row the cap then skips
  // means the later one is skipped too: the same rule, fewer before it cannot be.
  const rows = await db
    .select({ id: notifications.id, status: notifications.status, sentAt: notifications.sentAt })
    .from(notifications)
    .where(
      and(
        eq(notifications.channel, 'push'),
        inArray(notifications.recipient, subscriptionIds.map(String)),
        gte(notifications.createdAt, new Date(at.getTime() - 3 * DAY_MS).toISOString()),
        inArray(notifications.status, ['sent', 'delivered', 'sending']),
      ),
    );
  return rows.filter((r) => (r.status === 'sending' ? r.id < rowId : r.sentAt !== null && romeDay(new Date(r.sentAt)) === day)).length;
}

/** Deletes a subscription the push service reported gone, with its interests. */
export async function deletePushSubscription(db: Db, subscriptionId: number): Promise<void> {
  await db.transaction(async (tx) => {
        await tx.delete(subscriptionInterests).where(and(eq(subscriptionInterests.channel, 'push'), eq(subscriptionInterests.subscriptionId, subscriptionId)));
        await tx.delete(pushSubscriptions).where(eq(pushSubscriptions.id, subscriptionId));
      });
}

/** The outcome of a push service's HTTP status. */
export function classifyPushStatus(status: number): ChannelResult['status'] {
  if (status >= 200 && status < 300) return 'sent';
  if (status === 404 || status === 410) return 'gone';
  if (status === 429 || status >= 500) return 'retry';
  return 'failed';
}

/** The Web Push sender for the dispatcher (one row, one subscription). */
export function createPushSender(ctx: Pick<NotificationsCtx, 'db' | 'config' | 'now'>, opts: PushSenderOptions = {}): ChannelSender {
  const { db, config } = ctx;
  return async (row: NotificationRow): Promise<ChannelResult> => {
    const keys = vapidKeys(config);
    if (!keys) return { status: 'skipped', error: 'Web Push non configurato (VAPID_PUBLIC_KEY/VAPID_PRIVATE_KEY)' };
    const subscriptionId = Number(row.recipient);
    const sub = Number.isInteger(subscriptionId)
      ? (await db.select().from(pushSubscriptions).where(eq(pushSubscriptions.id, subscriptionId)).limit(1))[0]
      : undefined;
    if (!sub) return { status: 'gone', error: 'iscrizione non più presente' };
    // An event alert whose event was unpublished or cancelled before sending is not sent.
    const eventRef = /^event:(\d+)$/.exec(row.subject);
    if (eventRef) {
      const ev = (await db.select({ status: events.status }).from(events).where(eq(events.id, Number(eventRef[1]))).limit(1))[0];
      if (!ev || ev.status !== 'published') return { status: 'skipped', error: 'evento non più pubblicato' };
    }
    const at = ctx.now();
    // The cap is per citizen: a signed-in citizen's browsers share it; an anonymous browser has its own.
    const capIds = sub.userId === null ? [sub.id] : (await db.select({ id: pushSubscriptions.id }).from(pushSubscriptions).where(eq(pushSubscriptions.userId, sub.userId))).map((r) => r.id);
    const already = await sentToday(db, capIds, at, row.id);
    if (already >= config.notifications.pushDailyCap) {
      return { status: 'skipped', error: `limite giornaliero di ${config.notifications.pushDailyCap} notifiche raggiunto` };
    }
    const webpush = await loadWebPush();
    try {
      const res = await webpush.sendNotification({ endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } }, row.payload, {
        vapidDetails: keys,
        TTL: opts.ttlSeconds ?? 86_400,
        timeout: opts.timeoutMs ?? 15_000,
        contentEncoding: 'aes128gcm',
        urgency: 'normal',
        ...(opts.agent ? { agent: opts.agent } : {}),
      });
      await db.update(pushSubscriptions).set({ failures: 0, lastSuccessAt: at.toISOString() }).where(eq(pushSubscriptions.id, sub.id));
      const location = res.headers?.location;
      return { status: 'sent', deliveryState: `http ${res.statusCode}`, ...(typeof location === 'string' ? { providerId: location.slice(0, 500) } : {}) };
    } catch (err) {
      const status = (err as { statusCode?: unknown }).statusCode;
      if (typeof status !== 'number') {
        await db.update(pushSubscriptions).set({ failures: sub.failures + 1 }).where(eq(pushSubscriptions.id, sub.id));
        return { status: 'retry', error: `rete: ${String((err as Error).message).slice(0, 300)}` };
      }
      const outcome = classifyPushStatus(status);
      const body = String((err as { body?: unknown }).body ?? '').slice(0, 300);
      if (outcome === 'gone') {
        await deletePushSubscription(db, sub.id);
        return { status: 'gone', deliveryState: `http ${status}`, error: `iscrizione scaduta (HTTP ${status})` };
      }
      await db.update(pushSubscriptions).set({ failures: sub.failures + 1 }).where(eq(pushSubscriptions.id, sub.id));
      return { status: outcome === 'sent' ? 'retry' : outcome, deliveryState: `http ${status}`, error: `HTTP ${status}${body ? `: ${body}` : ''}` };
    }
  };
}

/** Registers the 'push' channel; generates the demo VAPID pair now, so the first page does not wait for it. */
export async function registerPushChannel(ctx: NotificationsCtx): Promise<void> {
  vapidKeys(ctx.config);
  ctx.channels.set('push', createPushSender(ctx));
}
