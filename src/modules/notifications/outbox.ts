/**
 * The notifications outbox: whoever wants to tell a citizen something (payment triggers, event
 * alerts) inserts rows here; the dispatcher (dispatch.ts) sends them. The dedupe key is unique, so
 * queuing the same thing twice (a pass run again, two processes) inserts it once.
 */
import type { DbLike } from '../../db/client.js';
import type { NotificationChannel, NotificationKind } from './schema.js';
import { notifications } from './schema.js';

/** One message to queue. `payload` is exactly what the channel sends (an object is JSON-encoded). */
export interface OutboxRow {
  channel: NotificationChannel;
  kind: NotificationKind;
  /** `io:position:<positionId>`, `io:reminder:<optionId>:<dueDate>`, `push:event:<eventId>:<subId>`, … */
  dedupeKey: string;
  enteId?: number | null;
  userId?: number | null;
  /** Fiscal code (IO), e-mail address, or push subscription id. */
  recipient: string;
  /** `position:<id>`, `option:<id>`, `receipt:<id>`, `event:<id>`. */
  subject: string;
  payload: string | object;
  /** ISO UTC instant; default `now`. */
  nextAttemptAt?: string;
}

/** Rows per INSERT statement: 13 bound values each, well under SQLite's 32 766 variables. */
export const OUTBOX_BATCH = 500;

/**
 * Inserts the rows (INSERT … ON CONFLICT(dedupe_key) DO NOTHING, in batches of OUTBOX_BATCH, in one
 * transaction — a savepoint when `db` is already a transaction) and returns how many were new.
 * Runs synchronously before its promise settles, so it may be awaited inside a caller's transaction.
 */
export async function enqueueNotifications(db: DbLike, rows: readonly OutboxRow[], now: Date = new Date()): Promise<number> {
  return enqueueNotificationsSync(db, rows, now);
}

/** The same, synchronous: for better-sqlite3 transaction callbacks, which must not await. */
export function enqueueNotificationsSync(db: DbLike, rows: readonly OutboxRow[], now: Date = new Date()): number {
  if (rows.length === 0) return 0;
  const at = now.toISOString();
  const values = rows.map((r) => ({
    channel: r.channel,
    kind: r.kind,
    dedupeKey: r.dedupeKey,
    enteId: r.enteId ?? null,
    userId: r.userId ?? null,
    recipient: r.recipient,
    subject: r.subject,
    payload: typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload),
    status: 'queued' as const,
    nextAttemptAt: r.nextAttemptAt ?? at,
    createdAt: at,
    updatedAt: at,
  }));
  return db.transaction((tx) => {
    let inserted = 0;
    for (let i = 0; i < values.length; i += OUTBOX_BATCH) {
      const res = tx
        .insert(notifications)
        .values(values.slice(i, i + OUTBOX_BATCH))
        .onConflictDoNothing({ target: notifications.dedupeKey })
        .run();
      inserted += res.changes;
    }
    return inserted;
  });
}
