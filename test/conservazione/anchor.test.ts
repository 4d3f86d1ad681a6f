/**
 * Part D: the daily anchor of the event log (anchor.ts) with an injected clock: once per Italian
 * day, a real RFC 3161 token over the head hash (built-in TSA), an 'anchor' event after it, no
 * anchor without a sealer, without events or without new events, one alert per day on a TSA failure.
 */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../helpers.js';
import { anchorChainHead, anchorDigest } from '../../src/modules/conservazione/anchor.js';
import { appendEvent } from '../../src/modules/conservazione/events.js';
import { consAlerts, consAnchors, consEvents } from '../../src/modules/conservazione/schema.js';
import type { ConservazioneCtx } from '../../src/modules/conservazione/context.js';
import type { Sealer } from '../../src/modules/conservazione/sealing.js';
import { failingSealer, testSealer } from './d-sealer-fixture.js';

const HOUR = 3_600_000;

t.test('the chain head is time-stamped once per Italian day', async (t) => {
  const app = await buildTestApp(t);
  // 22:30 UTC of 10 March = 23:30 in Rome (UTC+1): one hour later it is the 11th in Rome.
  let clock = new Date('2026-03-10T22:30:00Z');
  const now = () => clock;
  const sealer = await testSealer(app.config.dataDir, now);
  let current: Sealer | null = null;
  const ctx: ConservazioneCtx = { ...app.conservazione, now, sealer: async () => current };
  const event = (subject: string) => appendEvent(ctx.db, { kind: 'ingest', enteId: null, actor: 'test', subject }, clock);

  t.equal(await anchorChainHead(ctx), null, 'empty log: nothing to anchor');
  await event('sip:1');
  t.equal(await anchorChainHead(ctx), null, 'no sealer configured: no anchor');
  current = sealer;

  const first = await anchorChainHead(ctx);
  t.match(first, { day: '2026-03-10', created: true, lastSeq: 1 });
  const rows = await ctx.db.select().from(consAnchors);
  t.equal(rows.length, 1);
  const head = (await ctx.db.select().from(consEvents).where(eq(consEvents.seq, 1)).limit(1))[0]!;
  t.equal(rows[0]!.headHash, head.hash, 'the anchor holds the hash of the last event');
  const check = await sealer.verifyTimestamp(Buffer.from(rows[0]!.token, 'base64'), anchorDigest(head.hash));
  t.ok(check.ok, `the token verifies over the head hash: ${check.message}`);
  t.equal(check.timestampedAt?.toISOString(), '2026-03-10T22:30:00.000Z', 'time stamp from the (injected) TSA clock');
  t.notOk((await sealer.verifyTimestamp(Buffer.from(rows[0]!.token, 'base64'), anchorDigest('f'.repeat(64)))).ok, 'and not over another hash');
  const anchorEvent = (await ctx.db.select().from(consEvents).where(eq(consEvents.seq, 2)).limit(1))[0]!;
  t.match(anchorEvent, { kind: 'anchor', subject: 'anchor:2026-03-10' });
  t.match(JSON.parse(anchorEvent.details), { lastSeq: 1, headHash: head.hash });

  clock = new Date(clock.getTime() + 20 * 60_000); // 23:50 in Rome, same day
  await event('sip:2');
  t.match(await anchorChainHead(ctx), { created: false, reason: 'already_anchored' }, 'a second pass the same day does nothing');
  t.equal((await ctx.db.select().from(consAnchors)).length, 1);

  clock = new Date(clock.getTime() + HOUR); // 00:50 of the 11th in Rome
  const second = await anchorChainHead(ctx);
  t.match(second, { day: '2026-03-11', created: true, lastSeq: 3 }, 'next Italian day: the new head (sip:1, anchor, sip:2)');

  clock = new Date(clock.getTime() + 24 * HOUR);
  t.match(await anchorChainHead(ctx), { day: '2026-03-12', created: false, reason: 'no_new_events' }, 'nothing but the anchor since: no new stamp');
  t.equal((await ctx.db.select().from(consAnchors)).length, 2);
});

t.test('a TSA failure raises one alert a day', async (t) => {
  const app = await buildTestApp(t);
  let clock = new Date('2026-06-01T08:00:00Z');
  const ctx: ConservazioneCtx = { ...app.conservazione, now: () => clock, sealer: async () => failingSealer() };
  await appendEvent(ctx.db, { kind: 'ingest', enteId: null, actor: 'test', subject: 'sip:1' }, clock);
  const out = await anchorChainHead(ctx);
  t.match(out, { day: '2026-06-01', created: false, reason: 'timestamp_failed' });
  t.match(out && 'message' in out ? out.message : '', /TSA non raggiungibile/);
  clock = new Date(clock.getTime() + 10 * 60_000);
  await anchorChainHead(ctx);
  const alerts = await ctx.db.select().from(consAlerts).where(eq(consAlerts.kind, 'timestamp_failed'));
  t.equal(alerts.length, 1, 'the next pass retries without a second alert');
  t.equal(alerts[0]!.subject, 'anchor:2026-06-01');
  t.ok(alerts[0]!.ticketId, 'the alert opened a helpdesk ticket');
  t.equal((await ctx.db.select().from(consAnchors)).length, 0, 'no anchor row without a token');
  clock = new Date(clock.getTime() + 24 * HOUR);
  await anchorChainHead(ctx);
  t.equal((await ctx.db.select().from(consAlerts).where(eq(consAlerts.kind, 'timestamp_failed'))).length, 2, 'one more alert the next day');
});
