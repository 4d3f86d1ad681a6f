/** The helpdesk's log of notifications (`/helpdesk/notifiche`): filters and keyset paging, newest first. */
import { and, desc, eq, gte, like, lt, or, sql, type SQL } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { enti } from '../enti/schema.js';
import { notifications, type NotificationChannel, type NotificationKind, type NotificationStatus } from './schema.js';

export interface LogFilter {
  channel?: NotificationChannel;
  status?: NotificationStatus;
  kind?: NotificationKind;
  enteId?: number;
  /** Recipient (fiscal code, e-mail, subscription id) or subject (`position:12`), exact or prefix. */
  q?: string;
  /** YYYY-MM-DD (UTC day of creation), inclusive. */
  from?: string;
  to?: string;
  /** Rows with a smaller id (the next page). */
  before?: number;
}

export const LOG_PAGE = 50;

export async function listNotificationLog(db: DbLike, f: LogFilter, limit = LOG_PAGE) {
  const where: SQL[] = [];
  if (f.channel) where.push(eq(notifications.channel, f.channel));
  if (f.status) where.push(eq(notifications.status, f.status));
  if (f.kind) where.push(eq(notifications.kind, f.kind));
  if (f.enteId) where.push(eq(notifications.enteId, f.enteId));
  if (f.q) {
    const q = f.q.trim();
    // lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    const pattern = `${q.replace(/[%_]/g, '').toLowerCase()}%`;
    where.push(or(eq(notifications.recipient, q.toUpperCase()), eq(notifications.recipient, q.toLowerCase()), like(sql`lower(${notifications.subject})`, pattern))!);
  }
  if (f.from) where.push(gte(notifications.createdAt, `${f.from}T00:00:00.000Z`));
  if (f.to) where.push(lt(notifications.createdAt, `${f.to}T23:59:59.999Z`));
  if (f.before) where.push(lt(notifications.id, f.before));
  const rows = await db
      .select({
        id: notifications.id,
        channel: notifications.channel,
        kind: notifications.kind,
        recipient: notifications.recipient,
        subject: notifications.subject,
        status: notifications.status,
        attempts: notifications.attempts,
        nextAttemptAt: notifications.nextAttemptAt,
        lastError: notifications.lastError,
        providerId: notifications.providerId,
        deliveryState: notifications.deliveryState,
        sentAt: notifications.sentAt,
        createdAt: notifications.createdAt,
        payload: notifications.payload,
        enteName: enti.name,
      })
      .from(notifications)
      .leftJoin(enti, eq(enti.id, notifications.enteId))
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(notifications.id))
      .limit(limit + 1);
  const more = rows.length > limit;
  return { rows: rows.slice(0, limit), nextBefore: more ? rows[limit - 1]!.id : null };
}
