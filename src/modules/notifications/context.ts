/**
 * The notifications module's shared shapes. `notifications` rows are the outbox and the audit:
 * whoever wants to tell a citizen something inserts rows with `enqueueNotifications` (dedupe key
 * unique: the same thing is never sent twice); the dispatcher claims due rows and hands each to the
 * sender of its channel (io, email: this module; push: push.ts), then records the result.
 */
import type { Config } from '../../config.js';
import type { Db } from '../../db/client.js';
import type { notifications, NotificationChannel } from './schema.js';

export type NotificationRow = typeof notifications.$inferSelect;
export type NewNotification = typeof notifications.$inferInsert;

/**
 * What a channel sender reports for one row:
 * - sent / delivered: accepted (providerId, deliveryState recorded);
 * - skipped: not to be sent (no IO profile, sender not allowed, preference off, daily cap) — final;
 * - gone: the recipient no longer exists (push 404/410: the subscription is removed) — final;
 * - retry: a transient failure (network, 429, 5xx) — tried again later with back-off;
 * - failed: refused for good (4xx other than the above) — final.
 */
export interface ChannelResult {
  status: 'sent' | 'delivered' | 'skipped' | 'gone' | 'retry' | 'failed';
  providerId?: string;
  deliveryState?: string;
  error?: string;
}

export type ChannelSender = (row: NotificationRow) => Promise<ChannelResult>;

export interface NotificationsCtx {
  db: Db;
  config: Config;
  now: () => Date;
  /** Senders by channel; push.ts registers 'push', the module 'io' and 'email'. */
  channels: Map<NotificationChannel, ChannelSender>;
  /** Runs the dispatcher soon (after rows were queued), without waiting for its timer. */
  kick: () => void;
}
