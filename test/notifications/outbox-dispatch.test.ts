/** The outbox (dedupe, batches) and the dispatcher (claim, retries with back-off, final states). */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../helpers.js';
import { enqueueNotifications } from '../../src/modules/notifications/outbox.js';
import { notifications } from '../../src/modules/notifications/schema.js';
import { positionPublishedMessage, toIoMessage } from '../../src/modules/notifications/payment-messages.js';
import { loadIoOpenApi } from '../../src/simulators/io/openapi.js';
import { markdownBlocks } from '../../src/simulators/io/markdown.js';
import type { ChannelResult } from '../../src/modules/notifications/context.js';
import { MAX_ATTEMPTS, runDispatch, STALE_MS } from '../../src/modules/notifications/dispatch.js';

const app = await buildTestApp(t);
const db = app.db;
const T0 = new Date('2030-03-10T09:00:00.000Z');

t.test('outbox: inserts new rows once, nextAttemptAt defaults to now', async (t) => {
  const rows = Array.from({ length: 1007 }, (_, i) => ({
    channel: 'push' as const,
    kind: 'event_published' as const,
    dedupeKey: `push:event:1:${i}`,
    recipient: String(i),
    subject: 'event:1',
    payload: { title: 't', body: 'b', url: '/eventi/1', tag: 'event-1' },
  }));
  t.equal(await enqueueNotifications(db, rows, T0), rows.length);
  t.equal(await enqueueNotifications(db, rows.slice(0, 10), T0), 0, 'the same dedupe keys again: nothing new');
  t.equal(await enqueueNotifications(db, [rows[0]!, { ...rows[0]!, dedupeKey: 'push:event:1:new' }], T0), 1, 'a mix: only the new one');
  t.equal(await enqueueNotifications(db, [], T0), 0);
  const one = (await db.select().from(notifications).where(eq(notifications.dedupeKey, 'push:event:1:3')).limit(1))[0]!;
  t.equal(one.status, 'queued');
  t.equal(one.nextAttemptAt, T0.toISOString());
  t.same(JSON.parse(one.payload), rows[3]!.payload);
  await db.delete(notifications);
});

t.test('dispatcher: retries with back-off 1, 5, 30 min, 2 h, 12 h, then failed; final states; stuck rows requeued', async (t) => {
  const ctx = app.notifications;
  const saved = ctx.channels.get('push');
  t.teardown(() => {
    if (saved) ctx.channels.set('push', saved);
    else ctx.channels.delete('push');
  });
  // A stand-in channel whose answers the test scripts (the real senders are tested with their services).
  const script = new Map<string, ChannelResult | Error>();
  const calls: string[] = [];
  ctx.channels.set('push', async (row) => {
    calls.push(row.dedupeKey);
    const r = script.get(row.dedupeKey)!;
    if (r instanceof Error) throw r;
    return r;
  });
  const row = (key: string) => ({ channel: 'push' as const, kind: 'event_published' as const, dedupeKey: key, recipient: '1', subject: 'event:1', payload: { title: 't', body: 'b', url: '/', tag: 'x' } });
  script.set('push:retry', { status: 'retry', error: 'HTTP 503' });
  script.set('push:gone', { status: 'gone', error: 'HTTP 410' });
  script.set('push:throws', new Error('socket hang up'));
  script.set('push:ok', { status: 'sent', providerId: 'p-1', deliveryState: '201' });
  t.equal(await enqueueNotifications(db, ['push:retry', 'push:gone', 'push:throws', 'push:ok'].map(row), T0), 4);
  const get = async (key: string) => (await db.select().from(notifications).where(eq(notifications.dedupeKey, key)).limit(1))[0]!;

  let at = T0;
  const first = await runDispatch(ctx, at);
  t.equal(first.claimed, 4);
  t.equal((await get('push:gone')).status, 'gone', 'gone is final');
  t.equal((await get('push:ok')).status, 'sent');
  t.equal((await get('push:ok')).providerId, 'p-1');
  t.equal((await get('push:ok')).sentAt, T0.toISOString());
  t.equal((await get('push:throws')).status, 'queued', 'a thrown error is retried');
  t.equal((await get('push:throws')).lastError, 'socket hang up');

  const delays: number[] = [];
  for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
    const r = await get('push:retry');
    t.equal(r.status, 'queued');
    t.equal(r.attempts, attempt);
    const next = Date.parse(r.nextAttemptAt);
    delays.push((next - at.getTime()) / 60_000);
    // Just before it is due: not claimed.
    calls.length = 0;
    await runDispatch(ctx, new Date(next - 1000));
    t.notOk(calls.includes('push:retry'), `not retried before its time (attempt ${attempt + 1})`);
    at = new Date(next);
    await runDispatch(ctx, at);
  }
  t.same(delays, [1, 5, 30, 120, 720], 'back-off in minutes');
  const last = await get('push:retry');
  t.equal(last.status, 'failed', `failed after ${MAX_ATTEMPTS} attempts`);
  t.equal(last.attempts, MAX_ATTEMPTS);
  t.equal(last.lastError, 'HTTP 503');

  // A row left in 'sending' by a process that stopped: back in the queue after STALE_MS.
  await enqueueNotifications(db, [row('push:stuck')], T0);
  script.set('push:stuck', { status: 'sent' });
  await db.update(notifications).set({ status: 'sending', updatedAt: T0.toISOString() }).where(eq(notifications.dedupeKey, 'push:stuck'));
  await runDispatch(ctx, new Date(T0.getTime() + STALE_MS - 60_000));
  t.equal((await get('push:stuck')).status, 'sending', 'not yet stale');
  await runDispatch(ctx, new Date(T0.getTime() + STALE_MS + 60_000));
  t.equal((await get('push:stuck')).status, 'sent', 'requeued and sent in the same pass');
  t.equal((await get('push:stuck')).attempts, 2, 'the interrupted attempt counts');

  // No sender for the channel: skipped, said why.
  ctx.channels.delete('push');
  await enqueueNotifications(db, [row('push:nochannel')], T0);
  await runDispatch(ctx, new Date(T0.getTime() + 3600_000));
  t.equal((await get('push:nochannel')).status, 'skipped');
  t.match((await get('push:nochannel')).lastError, /non configurato/);
  t.end();
});

t.test('message texts: IO limits, escaping, the simulator’s markdown', async (t) => {
  const openapi = loadIoOpenApi();
  const p = {
    positionId: 7,
    enteName: 'Comune di Campobasso',
    enteFiscalCode: '80001234567',
    serviceName: 'S'.repeat(200),
    description: 'Rifiuti **2030** _urgente_',
    switchToExpired: true,
    options: [{ id: 3, amountCents: 12345, dueDate: '2030-04-30', noticeNumber: '301000000000000123', kind: 'single' as const, installmentNumber: null, installmentCount: null }],
  };
  const m = positionPublishedMessage(p, 'https://pagamenti.example.it')!;
  const body = toIoMessage('FRRLCU88E52B519A', m) as { content: { subject: string; markdown: string; payment_data: { invalid_after_due_date: boolean } } };
  t.equal(body.content.subject.length, 120, 'subject clipped to 120');
  t.ok(openapi.definition('NewMessage')(body), 'a valid NewMessage');
  t.equal(body.content.payment_data.invalid_after_due_date, true, 'switchToExpired → not payable after the due date');
  t.match(body.content.markdown, /Rifiuti \\\*\\\*2030\\\*\\\* \\_urgente\\_/, 'our data cannot add markup');
  const blocks = markdownBlocks(body.content.markdown);
  const text = JSON.stringify(blocks);
  t.match(text, /Rifiuti \*\*2030\*\* _urgente_/, 'shown as written');
  t.match(text, /"bold":true/);
  t.ok(blocks.some((b) => 'list' in b), 'options as a list');
  t.match(text, /"href":"https:\/\/pagamenti.example.it\/area-personale\/posizioni\/7"/, 'the link is a link');
  t.equal(positionPublishedMessage({ ...p, options: [] }, 'x'), null, 'nothing left to pay: no message');
});
