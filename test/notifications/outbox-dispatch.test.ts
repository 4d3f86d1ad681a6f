/** The outbox (dedupe, batches) and the dispatcher (claim, retries with back-off, final states). */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../helpers.js';
import { enqueueNotifications, OUTBOX_BATCH } from '../../src/modules/notifications/outbox.js';
import { notifications } from '../../src/modules/notifications/schema.js';

const app = await buildTestApp(t);
const db = app.db;
const T0 = new Date('2030-03-10T09:00:00.000Z');

t.test('outbox: inserts new rows once, in batches, nextAttemptAt defaults to now', async (t) => {
  const rows = Array.from({ length: OUTBOX_BATCH * 2 + 7 }, (_, i) => ({
    channel: 'push' as const,
    kind: 'event_published' as const,
    dedupeKey: `push:event:1:${i}`,
    recipient: String(i),
    subject: 'event:1',
    payload: { title: 't', body: 'b', url: '/eventi/1', tag: 'event-1' },
  }));
  t.equal(await enqueueNotifications(db, rows, T0), rows.length);
  t.equal(await enqueueNotifications(db, rows.slice(0, 10), T0), 0, 'the same dedupe keys again: nothing new');
  t.equal(await enqueueNotifications(db, [], T0), 0);
  const one = db.select().from(notifications).where(eq(notifications.dedupeKey, 'push:event:1:3')).get()!;
  t.equal(one.status, 'queued');
  t.equal(one.nextAttemptAt, T0.toISOString());
  t.same(JSON.parse(one.payload), rows[3]!.payload);
  db.delete(notifications).run();
});
