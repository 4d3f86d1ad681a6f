/**
 * Web Push end to end: browsers subscribe through the push API, an event is published, the alerts
 * pass queues the messages, the dispatcher sends them through the 'push' channel (web-push) to a
 * local fake push service over HTTPS, which decrypts each body with the subscription's private
 * key and auth secret (RFC 8291, real encryption) and verifies the VAPID JWT (RFC 8292).
 * 404/410 removes the subscription; 429/5xx/network are retried; other 4xx fail; daily cap.
 */
import https from 'node:https';
import t from 'tap';
import { and, eq, inArray } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { checkPushEndpoint, classifyPushStatus, createPushSender, vapidKeys } from '../../src/modules/notifications/push.js';
import { notifications } from '../../src/modules/notifications/schema.js';
import { createEvent } from '../../src/modules/events/repository.js';
import { pushSubscriptions, subscriptionInterests } from '../../src/modules/events/schema.js';
import { users } from '../../src/modules/users/schema.js';
import { csrfFrom } from '../helpers.js';
import { addCategory, addEvent, browserKeys, clockedApp, decryptPush, enteId, fakePushService, verifyVapid, type BrowserKeys } from './alerts-fixtures.js';

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

async function subscribe(app: FastifyInstance, endpoint: string, keys: BrowserKeys, comuni: number[], categorie: number[]) {
  const { token, cookie } = await csrfFrom(app, '/eventi/avvisi');
  const res = await app.inject({
    method: 'POST',
    url: '/notifiche/push/iscrizione',
    headers: { ...JSON_HEADERS, cookie, 'x-csrf-token': token },
    payload: { subscription: { endpoint, expirationTime: null, keys: { p256dh: keys.p256dh, auth: keys.auth } }, comuni, categorie },
  });
  if (res.statusCode !== 201) throw new Error(`subscribe ${res.statusCode} ${res.body}`);
  const sub = (await app.db.select().from(pushSubscriptions).where(eq(pushSubscriptions.endpoint, endpoint)).limit(1))[0]!;
  return { id: sub.id, manageToken: (res.json() as { manageToken: string }).manageToken };
}

const rowsFor = async (app: FastifyInstance, eventId: number) =>
  await app.db.select().from(notifications).where(and(eq(notifications.channel, 'push'), eq(notifications.subject, `event:${eventId}`)));

t.test('pure rules: push service answers and endpoints', async (t) => {
  t.equal(classifyPushStatus(201), 'sent');
  t.equal(classifyPushStatus(404), 'gone');
  t.equal(classifyPushStatus(410), 'gone');
  t.equal(classifyPushStatus(429), 'retry');
  t.equal(classifyPushStatus(503), 'retry');
  t.equal(classifyPushStatus(400), 'failed');
  t.equal(classifyPushStatus(413), 'failed');
  t.equal(checkPushEndpoint('https://fcm.googleapis.com/fcm/send/abc', true), null);
  t.equal(checkPushEndpoint('https://updates.push.services.mozilla.com/wpush/v2/abc', true), null);
  t.equal(checkPushEndpoint('https://web.push.apple.com/QGx', true), null);
  t.match(checkPushEndpoint('https://169.254.169.254/latest/meta-data', true), /non riconosciuto/, 'production: only browser push services (no request to any host)');
  t.match(checkPushEndpoint('http://fcm.googleapis.com/fcm/send/abc', true), /https/);
  t.equal(checkPushEndpoint('https://127.0.0.1:8443/push/1', false), null, 'demo and tests: any https host');
  t.match(checkPushEndpoint('not a url', false), /non valido/);
});

t.test('Web Push: encrypted payload, VAPID, gone subscriptions, retries, daily cap', async (t) => {
  const { app, clock } = await clockedApp(t, { PUSH_DAILY_CAP: '4' });
  const service = await fakePushService(t);
  app.notifications.channels.set('push', createPushSender(app.notifications, { agent: new https.Agent({ ca: service.ca }) }));
  const vapid = vapidKeys(app.config)!;
  t.ok(vapid, 'demo mode generated a VAPID pair');
  const keyRes = await app.inject({ url: '/notifiche/push/chiave', headers: { accept: 'application/json' } });
  t.same(keyRes.json(), { publicKey: vapid.publicKey }, 'the page and the API give the same public key');

  const campobasso = await enteId(app, 'Comune di Campobasso');
  const termoli = await enteId(app, 'Comune di Termoli');
  const sagre = await addCategory(app, 'Sagre');
  const concerti = await addCategory(app, 'Concerti');
  const sport = await addCategory(app, 'Sport');
  const mostre = await addCategory(app, 'Mostre');
  const k1 = browserKeys();
  const kGone = browserKeys();
  const kCap = browserKeys();
  const kNet = browserKeys();
  const one = await subscribe(app, `${service.origin}/push/one`, k1, [campobasso], [sagre]);
  const gone = await subscribe(app, `${service.origin}/push/gone`, kGone, [], [concerti]);
  const capped = await subscribe(app, `${service.origin}/push/cap`, kCap, [], [sport]);
  await subscribe(app, 'https://127.0.0.1:1/push/unreachable', kNet, [], [mostre]);

  await t.test('a matching event reaches the browser, decrypted with its keys', async (t) => {
    const ev = await addEvent(app, { enteId: campobasso, categoryId: sagre, title: 'Sagra della pampanella', now: clock.at });
    await addEvent(app, { enteId: termoli, categoryId: sagre, title: 'Sagra a Termoli', now: clock.at });
    await app.eventsTick();
    const rows = await rowsFor(app, ev);
    t.equal(rows.length, 1, 'one message: the subscription of Campobasso × sagre');
    await app.notificationsTick();
    const req = service.requests.find((r) => r.path === '/push/one');
    t.ok(req, 'the push service got the message');
    t.equal(service.requests.filter((r) => r.path === '/push/one').length, 1, 'only the event of Campobasso (not the one of Termoli)');
    t.equal(req!.headers['content-encoding'], 'aes128gcm');
    t.equal(req!.headers.ttl, '86400');
    const clear = JSON.parse(decryptPush(req!.body, k1)) as Record<string, string>;
    t.same(clear, JSON.parse(rows[0]!.payload), 'the decrypted message is exactly the recorded payload');
    t.equal(clear.url, `/eventi/${ev}`);
    t.equal(clear.tag, `evento-${ev}`);
    t.match(clear.title, /Sagra della pampanella – Comune di Campobasso/);
    t.match(clear.body, /Piazza Municipio/);
    t.throws(() => decryptPush(req!.body, kGone), 'another subscription’s keys cannot read it');
    const claims = verifyVapid(req!.headers.authorization as string);
    t.equal(claims.k, vapid.publicKey, 'signed with our VAPID key');
    t.equal(claims.aud, service.origin, 'audience = the push service origin');
    t.equal(claims.sub, app.config.notifications.vapidSubject);
    t.ok(claims.exp * 1000 > Date.now() && claims.exp * 1000 <= Date.now() + 24 * 3600_000 + 60_000, 'expires within 24 h');
    const row = (await app.db.select().from(notifications).where(eq(notifications.id, rows[0]!.id)).limit(1))[0]!;
    t.equal(row.status, 'sent');
    t.equal(row.deliveryState, 'http 201');
    t.match(row.providerId, /^https:\/\/127\.0\.0\.1\/messages\//, 'the message id the push service returned');
    t.ok((await app.db.select().from(pushSubscriptions).where(eq(pushSubscriptions.id, one.id)).limit(1))[0]!.lastSuccessAt);
  });

  await t.test('an operator publishes a sagra of Campobasso: the browser is notified', async (t) => {
    const before = service.requests.filter((r) => r.path === '/push/one').length;
    const start = new Date(clock.at.getTime() + 5 * 86_400_000);
    const ev = await createEvent(
      app.events,
      campobasso,
      {
        categoryId: sagre,
        title: 'Sagra dei cavatelli',
        summary: 'Cavatelli al sugo e musica popolare.',
        body: '',
        startsAt: start.toISOString(),
        endsAt: new Date(start.getTime() + 4 * 3_600_000).toISOString(),
        allDay: false,
        recurrence: 'none',
        recurrenceUntil: null,
        placeName: 'Piazza Vittorio Emanuele',
        address: null,
        latitude: null,
        longitude: null,
        free: true,
        priceCents: null,
        priceNote: null,
        organiser: null,
        contactEmail: null,
        contactPhone: null,
        links: [],
        imageAlt: null,
      },
      { publish: true },
      { actor: 'test', userId: null },
    );
    await app.eventsTick();
    await app.notificationsTick();
    const got = service.requests.filter((r) => r.path === '/push/one');
    t.equal(got.length, before + 1, 'one more message for the subscription of Campobasso × sagre');
    const clear = JSON.parse(decryptPush(got[got.length - 1]!.body, k1)) as { title: string; url: string };
    t.match(clear.title, /Sagra dei cavatelli/);
    t.equal(clear.url, `/eventi/${ev.id}`);
  });

  await t.test('404/410: the subscription is removed, the row is gone', async (t) => {
    service.setStatus((p) => (p === '/push/gone' ? 410 : 201));
    const ev = await addEvent(app, { enteId: termoli, categoryId: concerti, now: clock.at });
    await app.eventsTick();
    await app.notificationsTick();
    const [row] = await rowsFor(app, ev);
    t.equal(row!.status, 'gone');
    t.equal(row!.deliveryState, 'http 410');
    t.notOk((await app.db.select().from(pushSubscriptions).where(eq(pushSubscriptions.id, gone.id)).limit(1))[0], 'subscription deleted');
    t.same(await app.db.select().from(subscriptionInterests).where(and(eq(subscriptionInterests.channel, 'push'), eq(subscriptionInterests.subscriptionId, gone.id))), [], 'with its interests');
    const ev2 = await addEvent(app, { enteId: termoli, categoryId: concerti, now: clock.at });
    await app.eventsTick();
    t.equal((await rowsFor(app, ev2)).length, 0, 'nothing is queued for it any more');
  });

  await t.test('429/5xx and network errors are retried with back-off; other 4xx fail', async (t) => {
    service.setStatus((p) => (p === '/push/one' ? 503 : 201));
    const ev = await addEvent(app, { enteId: campobasso, categoryId: sagre, now: clock.at });
    await app.eventsTick();
    await app.notificationsTick();
    let [row] = await rowsFor(app, ev);
    t.equal(row!.status, 'queued', '503: queued again');
    t.equal(row!.attempts, 1);
    t.match(row!.lastError, /HTTP 503/);
    t.ok(Date.parse(row!.nextAttemptAt) > clock.at.getTime(), 'not before the back-off');
    service.setStatus(() => 429);
    clock.at = new Date(clock.at.getTime() + 2 * 60_000);
    await app.notificationsTick();
    [row] = await rowsFor(app, ev);
    t.equal(row!.status, 'queued', '429: queued again');
    t.equal(row!.attempts, 2);
    service.setStatus(() => 201);
    clock.at = new Date(clock.at.getTime() + 6 * 60_000);
    await app.notificationsTick();
    [row] = await rowsFor(app, ev);
    t.equal(row!.status, 'sent', 'sent once the push service is back');

    const net = await addEvent(app, { enteId: termoli, categoryId: mostre, now: clock.at });
    await app.eventsTick();
    await app.notificationsTick();
    [row] = await rowsFor(app, net);
    t.equal(row!.status, 'queued', 'unreachable push service: retried');
    t.match(row!.lastError, /rete/);

    service.setStatus((p) => (p === '/push/one' ? 400 : 201));
    const bad = await addEvent(app, { enteId: campobasso, categoryId: sagre, now: clock.at });
    await app.eventsTick();
    await app.notificationsTick();
    [row] = await rowsFor(app, bad);
    t.equal(row!.status, 'failed', '400: failed for good');
    t.ok((await app.db.select().from(pushSubscriptions).where(eq(pushSubscriptions.id, one.id)).limit(1))[0], 'the subscription stays');
    service.setStatus(() => 201);
  });

  await t.test('daily cap per subscription (Europe/Rome day): the rest are skipped', async (t) => {
    // Noon in Rome, so "tomorrow" below is another Italian day whatever time the test runs.
    const noonRome = new Date(clock.at);
    noonRome.setUTCHours(11, 0, 0, 0);
    clock.at = noonRome;
    const evs: number[] = [];
    for (const i of [1, 2, 3, 4, 5]) evs.push(await addEvent(app, { enteId: termoli, categoryId: sport, title: `Torneo ${i}`, now: clock.at }));
    await app.eventsTick();
    await app.notificationsTick();
    const firstRows = await Promise.all(evs.map(async (id) => (await rowsFor(app, id))[0]!));
    const statuses = firstRows.map((r) => r.status);
    t.equal(statuses.filter((s) => s === 'sent').length, 4, 'PUSH_DAILY_CAP = 4 sent');
    t.equal(statuses.filter((s) => s === 'skipped').length, 1, 'the fifth skipped');
    const skipped = firstRows.find((r) => r.status === 'skipped')!;
    t.match(skipped.lastError, /limite giornaliero/);
    t.equal(service.requests.filter((r) => r.path === '/push/cap').length, 4, 'the push service got only four');
    clock.at = new Date(noonRome.getTime() + 86_400_000);
    const next = await addEvent(app, { enteId: termoli, categoryId: sport, now: clock.at });
    await app.eventsTick();
    await app.notificationsTick();
    t.equal((await rowsFor(app, next))[0]!.status, 'sent', 'the next day the subscription gets messages again');
    t.equal(capped.id > 0, true);
  });

  await t.test('a signed-in citizen\'s browsers share one daily cap', async (t) => {
    const day = new Date(clock.at.getTime() + 2 * 86_400_000);
    day.setUTCHours(11, 0, 0, 0);
    clock.at = day;
    const cultura = await addCategory(app, 'Cultura condivisa');
    const [ka, kb] = [browserKeys(), browserKeys()];
    const a = await subscribe(app, `${service.origin}/push/user-a`, ka, [], [cultura]);
    const b = await subscribe(app, `${service.origin}/push/user-b`, kb, [], [cultura]);
    const userId = (await app.db.insert(users).values({ fiscalCode: 'CPPSRA80A41B519Q' }).returning({ id: users.id }))[0]!.id;
    await app.db.update(pushSubscriptions).set({ userId }).where(inArray(pushSubscriptions.id, [a.id, b.id]));
    const evs: number[] = [];
    for (const i of [1, 2, 3]) evs.push(await addEvent(app, { enteId: termoli, categoryId: cultura, title: `Incontro ${i}`, now: clock.at }));
    await app.eventsTick();
    await app.notificationsTick();
    const statuses = (await Promise.all(evs.map(async (id) => (await rowsFor(app, id)).map((r) => r.status)))).flat();
    t.equal(statuses.length, 6, 'three events to two browsers');
    t.equal(statuses.filter((s) => s === 'sent').length, 4, 'four in all for the citizen (PUSH_DAILY_CAP = 4)');
    t.equal(statuses.filter((s) => s === 'skipped').length, 2);
  });

  await t.test('production without VAPID settings: Web Push is off', async (t) => {
    // The same settings as production has them: no keys, nothing generated.
    const config = { ...app.config, notifications: { ...app.config.notifications, generateDemoKeys: false, vapidFile: `${app.config.notifications.vapidFile}.none` } };
    t.equal(vapidKeys(config), null);
    const sender = createPushSender({ db: app.db, config, now: () => clock.at });
    t.equal((await sender({ recipient: String(one.id), subject: 'event:1', payload: '{}' } as never)).status, 'skipped');
  });

  await t.test('an event unpublished before sending is not pushed', async (t) => {
    const { events } = await import('../../src/modules/events/schema.js');
    const ev = await addEvent(app, { enteId: campobasso, categoryId: sagre, now: clock.at });
    await app.eventsTick();
    await app.db.update(events).set({ status: 'unpublished' }).where(eq(events.id, ev));
    const before = service.requests.length;
    await app.notificationsTick();
    t.equal((await rowsFor(app, ev))[0]!.status, 'skipped');
    t.equal(service.requests.length, before, 'nothing sent');
  });
});
