/**
 * The notifications outbox: whoever wants to tell a citizen something (payment triggers, event
 * alerts) inserts rows here; the dispatcher (dispatch.ts) sends them. The dedupe key is unique, so
 * queuing the same thing twice (a pass run again, two processes) inserts it once.
 */
import { sql } from 'drizzle-orm';
import { preparedQuery, type DbLike } from '../../db/client.js';
import { dialectOf, sqlRun } from '../../db/raw.js';
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

/**
 * One row's INSERT … ON CONFLICT(dedupe_key) DO NOTHING, prepared once per connection: building a
 * 500-row statement with drizzle took ~1 ms a row (the alerts of one event to 100 000 browsers
 * held the event loop for seconds); the prepared statement takes microseconds.
 */
const ph = sql.placeholder;
const insertOne = (db: DbLike) =>
  preparedQuery(db, 'notifications:enqueue', (d) =>
    d
      .insert(notifications)
      .values({
        channel: ph('channel'),
        kind: ph('kind'),
        dedupeKey: ph('dedupeKey'),
        enteId: ph('enteId'),
        userId: ph('userId'),
        recipient: ph('recipient'),
        subject: ph('subject'),
        payload: ph('payload'),
        status: 'queued',
        nextAttemptAt: ph('nextAttemptAt'),
        createdAt: ph('at'),
        updatedAt: ph('at'),
      })
      .onConflictDoNothing({ target: notifications.dedupeKey })
      .prepare(),
  );

/**
 * Inserts the rows (each INSERT … ON CONFLICT(dedupe_key) DO NOTHING, all in one transaction — a
 * savepoint when `db` is already a transaction) and returns how many were new.
 * Runs synchronously before its promise settles, so it may be awaited inside a caller's transaction.
 */
export async function enqueueNotifications(db: DbLike, rows: readonly OutboxRow[], now: Date = new Date()): Promise<number> {
  return await enqueueNotificationsSync(db, rows, now);
}

/** Rows per INSERT on PostgreSQL. */
const PG_CHUNK = 1000;

/**
 * PostgreSQL: one INSERT … SELECT FROM unnest(arrays) … ON CONFLICT DO NOTHING per chunk of rows
 * (a round trip per row would cost more than the row), all in one transaction.
 */
async function enqueuePostgres(db: DbLike, rows: readonly OutboxRow[], at: string): Promise<number> {
  return await db.transaction(async (tx) => {
    let inserted = 0;
    for (let i = 0; i < rows.length; i += PG_CHUNK) {
      const chunk = rows.slice(i, i + PG_CHUNK);
      const col = <T>(f: (r: OutboxRow) => T) => chunk.map(f);
      inserted += (
        await sqlRun(
          tx,
          `INSERT INTO notifications (channel, kind, dedupe_key, ente_id, user_id, recipient, subject, payload, status, next_attempt_at, created_at, updated_at)
            SELECT x.c, x.k, x.d, x.e, x.u, x.r, x.s, x.p, 'queued', x.n, CAST(? AS TEXT), CAST(? AS TEXT)
            FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[]) AS x(c, k, d, e, u, r, s, p, n)
            ON CONFLICT (dedupe_key) DO NOTHING`,
          at,
          at,
          col((r) => r.channel),
          col((r) => r.kind),
          col((r) => r.dedupeKey),
          col((r) => r.enteId ?? null),
          col((r) => r.userId ?? null),
          col((r) => r.recipient),
          col((r) => r.subject),
          col((r) => (typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload))),
          col((r) => r.nextAttemptAt ?? at),
        )
      ).changes;
    }
    return inserted;
  });
}

/** The same, synchronous: for better-sqlite3 transaction callbacks, which must not await. */
export async function enqueueNotificationsSync(db: DbLike, rows: readonly OutboxRow[], now: Date = new Date()): Promise<number> {
  if (rows.length === 0) return 0;
  const at = now.toISOString();
  if (dialectOf(db) === 'postgres') return await enqueuePostgres(db, rows, at);
  return await db.transaction(async (tx) => {
      const insert = insertOne(tx);
      let inserted = 0;
      for (const r of rows) {
        inserted += insert.run({
          channel: r.channel,
          kind: r.kind,
          dedupeKey: r.dedupeKey,
          enteId: r.enteId ?? null,
          userId: r.userId ?? null,
          recipient: r.recipient,
          subject: r.subject,
          payload: typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload),
          nextAttemptAt: r.nextAttemptAt ?? at,
          at,
        }).changes;
      }
      return inserted;
    });
}
