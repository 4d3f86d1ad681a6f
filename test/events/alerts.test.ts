/**
 * Alerts of new events: who matches an event (comuni × categories through subscription_interests,
 * "none of a kind" = all), once per first publication, in batches; e-mail double opt-in (link
 * bound to the choices, 48 h expiry, no mail bombing), one-click unsubscribe (RFC 8058 POST
 * without session or CSRF token); the push API's validation and management token; the app's
 * manifest, icons, service worker and offline page.
 */
import crypto from 'node:crypto';
import t from 'tap';
import { and, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { ALERT_BATCH, queuePendingAlerts } from '../../src/modules/events/alerts.js';
import { eventEmailSubscriptions, events, pushSubscriptions, subscriptionInterests } from '../../src/modules/events/schema.js';
import { notifications } from '../../src/modules/notifications/schema.js';
import { upsertUser } from '../../src/modules/users/repository.js';
import { citizens } from '../portal/fixtures.js';
import { csrfFrom, form, FORM_HEADERS, htmlUnescape, injectPath, loginAs } from '../helpers.js';
import { addCategory, addEvent, browserKeys, clockedApp, enteId } from './alerts-fixtures.js';
import { sqlAll } from '../../src/db/raw.js';

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

async function addPush(app: FastifyInstance, o: { enti?: number[]; categories?: number[]; events?: boolean } = {}): Promise<number> {
  const id = (await app.db
      .insert(pushSubscriptions)
      .values({ endpoint: `https://push.example.invalid/${crypto.randomUUID()}`, p256dh: 'x', auth: 'y', manageToken: crypto.randomUUID(), events: o.events ?? true })
      .returning({ id: pushSubscriptions.id }))[0]!.id;
  await addInterests(app, 'push', id, o);
  return id;
}

async function addEmail(app: FastifyInstance, status: 'pending' | 'confirmed' | 'unsubscribed', o: { enti?: number[]; categories?: number[] } = {}): Promise<number> {
  const id = (await app.db
      .insert(eventEmailSubscriptions)
      .values({ email: `${crypto.randomUUID()}@example.it`, status, unsubscribeToken: crypto.randomBytes(24).toString('base64url') })
      .returning({ id: eventEmailSubscriptions.id }))[0]!.id;
  await addInterests(app, 'email', id, o);
  return id;
}

async function addInterests(app: FastifyInstance, channel: 'push' | 'email', subscriptionId: number, o: { enti?: number[]; categories?: number[] }) {
  const rows = [...(o.enti ?? []).map((refId) => ({ channel, subscriptionId, kind: 'ente' as const, refId })), ...(o.categories ?? []).map((refId) => ({ channel, subscriptionId, kind: 'category' as const, refId }))];
  if (rows.length) await app.db.insert(subscriptionInterests).values(rows);
}

const queued = async (app: FastifyInstance, eventId: number, channel: 'push' | 'email') =>
  await app.db.select().from(notifications).where(and(eq(notifications.channel, channel), eq(notifications.subject, `event:${eventId}`)));

t.test('alerts', async (t) => {
  const { app, clock } = await clockedApp(t);
  const campobasso = await enteId(app, 'Comune di Campobasso');
  const termoli = await enteId(app, 'Comune di Termoli');
  const sagre = await addCategory(app, 'Sagre');
  const sport = await addCategory(app, 'Sport');

  await t.test('matching by comuni and categories, once, only first publications', async (t) => {
    const all = await addPush(app);
    const cb = await addPush(app, { enti: [campobasso] });
    const tl = await addPush(app, { enti: [termoli] });
    const cbSagre = await addPush(app, { enti: [campobasso, termoli], categories: [sagre] });
    const onlySport = await addPush(app, { categories: [sport] });
    const noEvents = await addPush(app, { events: false });
    const mailAll = await addEmail(app, 'confirmed');
    const mailPending = await addEmail(app, 'pending');
    const mailGone = await addEmail(app, 'unsubscribed');
    const mailTl = await addEmail(app, 'confirmed', { enti: [termoli] });

    const ev = await addEvent(app, { enteId: campobasso, categoryId: sagre, now: clock.at });
    const draft = await addEvent(app, { enteId: campobasso, categoryId: sagre, status: 'draft', firstPublished: false, now: clock.at });
    const withdrawn = await addEvent(app, { enteId: campobasso, categoryId: sagre, status: 'unpublished', now: clock.at });
    const past = await addEvent(app, { enteId: campobasso, categoryId: sagre, startsInDays: -2, now: clock.at });

    const summary = await queuePendingAlerts(app.events, clock.at);
    t.same(summary, { events: 2, push: 3, email: 1 }, 'the new event and the one already over (marked, nothing sent)');
    t.same((await queued(app, ev, 'push')).map((r) => Number(r.recipient)).sort((a, b) => a - b), [all, cb, cbSagre], 'all, Campobasso, Campobasso × sagre');
    const push = await queued(app, ev, 'push');
    t.notOk(push.some((r) => [tl, onlySport, noEvents].includes(Number(r.recipient))));
    t.equal(push[0]!.dedupeKey, `push:event:${ev}:${push[0]!.recipient}`);
    t.equal(push[0]!.kind, 'event_published');
    t.same(Object.keys(JSON.parse(push[0]!.payload)).sort(), ['body', 'tag', 'title', 'url'], 'push payload = {title, body, url, tag}');
    const mail = await queued(app, ev, 'email');
    t.equal(mail.length, 1, 'only the confirmed address following every comune');
    t.equal(mail[0]!.dedupeKey, `email:event:${ev}:${mailAll}`);
    const payload = JSON.parse(mail[0]!.payload) as { to: string; subject: string; body: string; listUnsubscribe: string };
    t.same(Object.keys(payload).sort(), ['body', 'listUnsubscribe', 'subject', 'to']);
    const sub = (await app.db.select().from(eventEmailSubscriptions).where(eq(eventEmailSubscriptions.id, mailAll)).limit(1))[0]!;
    t.equal(payload.to, sub.email);
    t.ok(payload.body.includes(`/eventi/avvisi/disiscrizione?token=${sub.unsubscribeToken}`), 'the e-mail carries its one-click unsubscribe link');
    t.equal(payload.listUnsubscribe, `${app.config.publicUrl}/eventi/avvisi/disiscrizione?token=${sub.unsubscribeToken}`, 'and its List-Unsubscribe URL');
    t.ok(payload.body.includes(`/eventi/${ev}`));
    t.notOk([mailPending, mailGone, mailTl].some((id) => mail[0]!.dedupeKey.endsWith(`:${id}`)));
    t.ok((await app.db.select().from(events).where(eq(events.id, ev)).limit(1))[0]!.alertsQueuedAt, 'alerts_queued_at set');
    t.ok((await app.db.select().from(events).where(eq(events.id, past)).limit(1))[0]!.alertsQueuedAt, 'the past event is marked done');
    t.equal((await queued(app, past, 'push')).length, 0);
    t.equal((await app.db.select().from(events).where(eq(events.id, draft)).limit(1))[0]!.alertsQueuedAt, null, 'a draft waits');
    t.equal((await app.db.select().from(events).where(eq(events.id, withdrawn)).limit(1))[0]!.alertsQueuedAt, null, 'an unpublished event waits');

    t.same(await queuePendingAlerts(app.events, clock.at), { events: 0, push: 0, email: 0 }, 'a second pass queues nothing');
    // A pass interrupted after queuing (alerts_queued_at not set): run again, nothing is sent twice.
    await app.db.update(events).set({ alertsQueuedAt: null }).where(eq(events.id, ev));
    t.same(await queuePendingAlerts(app.events, clock.at), { events: 1, push: 0, email: 0 }, 'dedupe keys: no duplicates');
    await app.db.delete(notifications);
  });

  await t.test(`more subscribers than one batch (${ALERT_BATCH}): all queued, keyset batches`, async (t) => {
    const many = ALERT_BATCH * 2 + 17;
    await app.db.transaction(async (tx) => {
            for (let i = 0; i < many; i++) {
              const id = (await tx
                        .insert(pushSubscriptions)
                        .values({ endpoint: `https://push.example.invalid/many/${i}`, p256dh: 'x', auth: 'y', manageToken: `many-${i}` })
                        .returning({ id: pushSubscriptions.id }))[0]!.id;
              if (i % 2 === 0) await tx.insert(subscriptionInterests).values({ channel: 'push', subscriptionId: id, kind: 'category', refId: sport });
            }
          });
    const ev = await addEvent(app, { enteId: termoli, categoryId: sport, now: clock.at });
    // Every one of them follows (half with the category sport, half with no interest = all), plus 3 of the first test:
    // the one following all, the one of Termoli, the one of sport.
    const followers = many + 3;
    await app.eventsTick();
    const rows = await queued(app, ev, 'push');
    t.equal(rows.length, followers, 'one row per following subscription');
    t.ok(rows.length > many, `${rows.length} rows`);
    t.equal(new Set(rows.map((r) => r.recipient)).size, rows.length, 'no subscription twice');
    await app.db.delete(notifications);
  });

  await t.test('e-mail alerts: double opt-in bound to the choices, expiry, no mail bombing', async (t) => {
    const page = await app.inject({ url: `/eventi/avvisi?comune=${campobasso}` });
    t.equal(page.statusCode, 200);
    t.match(page.body, new RegExp(`id="ente-${campobasso}" name="comuni" type="checkbox" value="${campobasso}" checked`), '?comune= preselects it');
    t.match(page.body, /data-vapid-key="[A-Za-z0-9_-]{80,}"/);
    const { token, cookie } = await csrfFrom(app, '/eventi/avvisi');
    const post = (fields: Record<string, string | string[]>) =>
      app.inject({ method: 'POST', url: '/eventi/avvisi/email', headers: { ...FORM_HEADERS, cookie }, payload: new URLSearchParams([['_csrf', token], ...Object.entries(fields).flatMap(([k, v]) => ([] as string[]).concat(v).map((x) => [k, x]))]).toString() });

    const bad = await post({ email: 'non-un-indirizzo', comuni: String(campobasso) });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /Scrivi un indirizzo e-mail valido/);
    t.match(bad.body, new RegExp(`value="${campobasso}" checked`), 'the choices are kept');
    const unknown = await post({ email: 'lucia@example.it', categorie: '999999' });
    t.equal(unknown.statusCode, 400);
    t.match(unknown.body, /non esistono più/);
    const noCsrf = await app.inject({ method: 'POST', url: '/eventi/avvisi/email', headers: { ...FORM_HEADERS, cookie }, payload: form({ email: 'lucia@example.it' }) });
    t.equal(noCsrf.statusCode, 403, 'the form needs its CSRF token');

    const ok = await post({ email: 'Lucia.Ferrante@Example.it', comuni: [String(campobasso), String(termoli)], categorie: String(sagre) });
    t.equal(ok.statusCode, 303);
    const after = await app.inject({ url: '/eventi/avvisi', headers: { cookie } });
    t.match(after.body, /Ti abbiamo scritto a Lucia\.Ferrante@Example\.it/);
    const sub = (await app.db.select().from(eventEmailSubscriptions).where(eq(eventEmailSubscriptions.email, 'lucia.ferrante@example.it')).limit(1))[0]!;
    t.equal(sub.status, 'pending', 'not active before the confirmation');
    const confirmRows = await app.db.select().from(notifications).where(eq(notifications.kind, 'email_confirmation'));
    t.equal(confirmRows.length, 1);
    t.equal(confirmRows[0]!.channel, 'email');
    const mail = JSON.parse(confirmRows[0]!.payload) as { to: string; body: string };
    t.equal(mail.to, 'lucia.ferrante@example.it');
    const link = /(http\S+\/eventi\/avvisi\/conferma\?\S+)/.exec(mail.body)![1]!;
    t.match(link, new RegExp(`comuni=${Math.min(campobasso, termoli)},${Math.max(campobasso, termoli)}&categorie=${sagre}`));

    const again = await post({ email: 'lucia.ferrante@example.it', comuni: String(termoli) });
    t.equal(again.statusCode, 303, 'asking again answers the same');
    t.equal((await app.db.select().from(notifications).where(eq(notifications.kind, 'email_confirmation'))).length, 1, 'but no second e-mail within 5 minutes');

    const tampered = link.replace(/comuni=[^&]*/, `comuni=${termoli}`);
    t.equal((await app.inject({ url: injectPath(tampered) })).statusCode, 404, 'a link edited to other choices is refused');
    const view = await app.inject({ url: injectPath(link) });
    t.equal(view.statusCode, 200);
    t.match(view.body, /Conferma gli avvisi/);
    t.match(view.body, /l•+@example\.it/, 'the address is shown masked');
    t.match(view.body, /Campobasso/);
    t.equal((await app.db.select().from(eventEmailSubscriptions).where(eq(eventEmailSubscriptions.id, sub.id)).limit(1))[0]!.status, 'pending', 'opening the link (a mail scanner) does not confirm');
    const c = await csrfFrom(app, injectPath(link));
    const confirm = await app.inject({ method: 'POST', url: injectPath(htmlUnescape(link)), headers: { ...FORM_HEADERS, cookie: c.cookie }, payload: form({ _csrf: c.token }) });
    t.equal(confirm.statusCode, 200);
    t.match(confirm.body, /Avvisi per e-mail attivati/);
    const confirmed = (await app.db.select().from(eventEmailSubscriptions).where(eq(eventEmailSubscriptions.id, sub.id)).limit(1))[0]!;
    t.equal(confirmed.status, 'confirmed');
    t.equal(confirmed.confirmTokenHash, null, 'the link works once');
    const interests = await app.db.select().from(subscriptionInterests).where(and(eq(subscriptionInterests.channel, 'email'), eq(subscriptionInterests.subscriptionId, sub.id)));
    t.same(interests.map((i) => `${i.kind}:${i.refId}`).sort(), [`category:${sagre}`, `ente:${campobasso}`, `ente:${termoli}`].sort());
    t.equal((await app.inject({ url: injectPath(link) })).statusCode, 404, 'used link: 404');

    const ev = await addEvent(app, { enteId: termoli, categoryId: sagre, now: clock.at });
    await app.eventsTick();
    t.equal((await queued(app, ev, 'email')).filter((r) => r.dedupeKey === `email:event:${ev}:${sub.id}`).length, 1, 'the confirmed address gets the next matching event');
    await app.notificationsTick();
    const mails = (await sqlAll(app.db, "SELECT subject, body FROM mail_outbox WHERE to_address = ? ORDER BY id", 'lucia.ferrante@example.it')) as { subject: string; body: string }[];
    t.match(mails[0]?.subject, /Conferma gli avvisi/, 'the confirmation went through the mail outbox');
    const alert = mails.find((m) => m.subject.startsWith('Nuovo evento a Comune di Termoli'));
    t.ok(alert, 'and so did the alert (demo mailbox /helpdesk/posta)');
    t.ok(alert!.body.includes(`/eventi/${ev}\n`), 'with the event link');
    t.ok(alert!.body.includes(`/eventi/avvisi/disiscrizione?token=${confirmed.unsubscribeToken}\n`), 'and the one-click unsubscribe link');

    // Expiry: a new request, then 49 hours later.
    clock.at = new Date(clock.at.getTime() + 10 * 60_000);
    t.equal((await post({ email: 'giulia@example.it' })).statusCode, 303);
    const giuliaMail = JSON.parse((await app.db.select().from(notifications).where(eq(notifications.recipient, 'giulia@example.it')).limit(1))[0]!.payload) as { body: string };
    const giuliaLink = injectPath(/(http\S+\/eventi\/avvisi\/conferma\?\S+)/.exec(giuliaMail.body)![1]!);
    clock.at = new Date(clock.at.getTime() + 49 * 3_600_000);
    const expired = await app.inject({ url: giuliaLink });
    t.equal(expired.statusCode, 410);
    t.match(expired.body, /scaduto/);
    t.equal((await post({ email: 'giulia@example.it' })).statusCode, 303);
    t.equal((await app.db.select().from(notifications).where(eq(notifications.recipient, 'giulia@example.it'))).length, 2, 'after the expiry a new link is sent');
  });

  await t.test('one-click unsubscribe (RFC 8058): POST without session or CSRF token', async (t) => {
    const id = await addEmail(app, 'confirmed', { enti: [campobasso] });
    const sub = (await app.db.select().from(eventEmailSubscriptions).where(eq(eventEmailSubscriptions.id, id)).limit(1))[0]!;
    const url = `/eventi/avvisi/disiscrizione?token=${sub.unsubscribeToken}`;
    const page = await app.inject({ url });
    t.equal(page.statusCode, 200);
    t.match(page.body, /Conferma la disiscrizione/);
    const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    t.equal(res.statusCode, 200);
    t.match(res.body, /non riceverà più/);
    t.equal((await app.db.select().from(eventEmailSubscriptions).where(eq(eventEmailSubscriptions.id, id)).limit(1))[0]!.status, 'unsubscribed');
    t.equal((await app.db.select().from(subscriptionInterests).where(and(eq(subscriptionInterests.channel, 'email'), eq(subscriptionInterests.subscriptionId, id)))).length, 0);
    const ev = await addEvent(app, { enteId: campobasso, categoryId: sport, now: clock.at });
    await app.eventsTick();
    t.notOk((await queued(app, ev, 'email')).some((r) => r.dedupeKey.endsWith(`:${id}`)), 'no more alerts');
    t.match((await app.inject({ url })).body, /non riceve già più/);
    t.equal((await app.inject({ method: 'POST', url: '/eventi/avvisi/disiscrizione?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' })).statusCode, 404);
  });

  await t.test('push API: validation, CSRF, management token', async (t) => {
    const { token, cookie } = await csrfFrom(app, '/eventi/avvisi');
    const keys = browserKeys();
    const body = (endpoint: string, extra: Record<string, unknown> = {}) => ({ subscription: { endpoint, expirationTime: null, keys: { p256dh: keys.p256dh, auth: keys.auth } }, comuni: [campobasso], categorie: [sagre], ...extra });
    const call = (url: string, payload: unknown, withCsrf = true) => app.inject({ method: 'POST', url, headers: { ...JSON_HEADERS, cookie, ...(withCsrf ? { 'x-csrf-token': token } : {}) }, payload: payload as object });

    t.equal((await call('/notifiche/push/iscrizione', body('https://push.example.it/a'), false)).statusCode, 403, 'no CSRF token: 403');
    const cross = await app.inject({ method: 'POST', url: '/notifiche/push/iscrizione', headers: { ...JSON_HEADERS, cookie, 'x-csrf-token': token, 'sec-fetch-site': 'cross-site' }, payload: body('https://push.example.it/a') });
    t.equal(cross.statusCode, 403, 'cross-site: 403');
    t.equal((await call('/notifiche/push/iscrizione', { subscription: { endpoint: 'https://push.example.it/a' }, comuni: [], categorie: [] })).statusCode, 400, 'no keys: 400');
    t.equal((await call('/notifiche/push/iscrizione', body('http://push.example.it/a'))).statusCode, 422, 'http endpoint: 422');
    const badKey = await call('/notifiche/push/iscrizione', { ...body('https://push.example.it/a'), subscription: { endpoint: 'https://push.example.it/a', keys: { p256dh: 'A'.repeat(87), auth: keys.auth } } });
    t.equal(badKey.statusCode, 422, 'p256dh not a P-256 point: 422');
    t.equal((await call('/notifiche/push/iscrizione', { ...body('https://push.example.it/a'), categorie: [999999] })).statusCode, 422, 'unknown category: 422');

    const created = await call('/notifiche/push/iscrizione', body('https://push.example.it/a'));
    t.equal(created.statusCode, 201);
    const { manageToken } = created.json() as { manageToken: string };
    t.match(manageToken, /^[A-Za-z0-9_-]{32}$/);
    const same = await call('/notifiche/push/iscrizione', body('https://push.example.it/a', { comuni: [termoli] }));
    t.equal(same.statusCode, 200, 'the same endpoint again updates it');
    t.equal((same.json() as { manageToken: string }).manageToken, manageToken);
    t.same((await call('/notifiche/push/stato', { manageToken })).json(), { comuni: [termoli], categorie: [sagre], pagamenti: false });
    t.equal((await call('/notifiche/push/aggiorna', { manageToken, comuni: [], categorie: [sport] })).statusCode, 200);
    t.same((await call('/notifiche/push/stato', { manageToken })).json(), { comuni: [], categorie: [sport], pagamenti: false });
    t.equal((await call('/notifiche/push/stato', { manageToken: 'x'.repeat(32) })).statusCode, 404);
    // The browser replaced the subscription: the service worker posts it without a CSRF token.
    const k2 = browserKeys();
    const renewed = await app.inject({
      method: 'POST',
      url: '/notifiche/push/rinnova',
      headers: { ...JSON_HEADERS, 'sec-fetch-site': 'same-origin' },
      payload: { oldEndpoint: 'https://push.example.it/a', subscription: { endpoint: 'https://push.example.it/a2', keys: { p256dh: k2.p256dh, auth: k2.auth } } },
    });
    t.equal(renewed.statusCode, 200);
    const moved = (await app.db.select().from(pushSubscriptions).where(eq(pushSubscriptions.manageToken, manageToken)).limit(1))[0]!;
    t.same([moved.endpoint, moved.p256dh], ['https://push.example.it/a2', k2.p256dh], 'same row, new endpoint and keys');
    t.same((await call('/notifiche/push/stato', { manageToken })).json(), { comuni: [], categorie: [sport], pagamenti: false }, 'choices kept');
    const unknownOld = await app.inject({ method: 'POST', url: '/notifiche/push/rinnova', headers: JSON_HEADERS, payload: { oldEndpoint: 'https://push.example.it/zz', subscription: { endpoint: 'https://push.example.it/a3', keys: { p256dh: k2.p256dh, auth: k2.auth } } } });
    t.equal(unknownOld.statusCode, 404, 'an unknown old endpoint: 404');
    t.equal((await call('/notifiche/push/disiscrizione', { manageToken })).statusCode, 200);
    t.equal((await call('/notifiche/push/stato', { manageToken })).statusCode, 404, 'gone after unsubscribing');
    t.equal((await call('/notifiche/push/disiscrizione', { manageToken })).statusCode, 404);
    const audit = (await sqlAll(app.db, "SELECT action FROM audit_log WHERE entity = 'push_subscription' ORDER BY id")) as { action: string }[];
    t.same(
      audit.map((a) => a.action),
      ['event_alerts.push.subscribe', 'event_alerts.push.update', 'event_alerts.push.update', 'event_alerts.push.renew', 'event_alerts.push.unsubscribe'],
      'every change audited',
    );

    // Payment notifications: only for a signed-in citizen, whose device it becomes.
    const anon = await call('/notifiche/push/iscrizione', body('https://push.example.it/b', { pagamenti: true }));
    t.equal(anon.statusCode, 201);
    let row = (await app.db.select().from(pushSubscriptions).where(eq(pushSubscriptions.endpoint, 'https://push.example.it/b')).limit(1))[0]!;
    t.same([row.userId, row.payments], [null, false], 'anonymous: no payment notifications');
    const { lucia } = citizens();
    await upsertUser(app.db, lucia, { actor: 'test' });
    const signed = await loginAs(app, lucia.fiscalCode);
    const c = await csrfFrom(app, '/eventi/avvisi', signed);
    const page = await app.inject({ url: '/eventi/avvisi', headers: { cookie: signed } });
    t.match(page.body, /id="push-payments"/, 'the signed-in page offers payments too');
    const upd = await app.inject({
      method: 'POST',
      url: '/notifiche/push/aggiorna',
      headers: { ...JSON_HEADERS, cookie: c.cookie, 'x-csrf-token': c.token },
      payload: { manageToken: (anon.json() as { manageToken: string }).manageToken, comuni: [], categorie: [], pagamenti: true },
    });
    t.equal(upd.statusCode, 200);
    row = (await app.db.select().from(pushSubscriptions).where(eq(pushSubscriptions.endpoint, 'https://push.example.it/b')).limit(1))[0]!;
    t.ok(row.userId !== null && row.payments, 'signed in: linked to the citizen, payments on');
  });

  await t.test('installable app: manifest, icons, service worker, offline page', async (t) => {
    const m = await app.inject({ url: '/manifest.webmanifest' });
    t.equal(m.statusCode, 200);
    t.match(m.headers['content-type'], /^application\/manifest\+json/);
    const manifest = m.json() as { name: string; short_name: string; start_url: string; scope: string; display: string; icons: { src: string; sizes: string; purpose: string }[] };
    t.equal(manifest.display, 'standalone');
    t.equal(manifest.scope, '/');
    for (const icon of manifest.icons) {
      const res = await app.inject({ url: icon.src });
      t.equal(res.statusCode, 200, icon.src);
      t.equal(res.headers['content-type'], 'image/png');
      const meta = await sharp(res.rawPayload).metadata();
      t.equal(`${meta.width}x${meta.height}`, icon.sizes, `${icon.src} is ${icon.sizes}`);
    }
    t.ok(manifest.icons.some((i) => i.purpose === 'maskable'));
    t.equal((await app.inject({ url: '/icone/altro.png' })).statusCode, 400);
    const sw = await app.inject({ url: '/sw.js' });
    t.equal(sw.statusCode, 200);
    t.match(sw.headers['content-type'], /javascript/);
    t.equal(sw.headers['service-worker-allowed'], '/');
    t.notMatch(sw.body, /__SW_VERSION__/, 'the version is filled in');
    t.match(sw.body, /addEventListener\('push'/);
    const home = await app.inject({ url: '/' });
    t.match(home.body, /<link rel="manifest" href="\/manifest.webmanifest">/);
    t.match(home.body, /<script src="\/static\/js\/sw-register.js" nonce="[^"]+" defer><\/script>/);

    const saved = await addEvent(app, { enteId: campobasso, categoryId: sagre, title: 'Concerto in piazza', now: clock.at });
    const offline = await app.inject({ url: '/offline', cookies: { eventi_salvati: String(saved) } });
    t.equal(offline.statusCode, 200);
    t.match(offline.body, /Sei offline/);
    t.match(offline.body, /Concerto in piazza/, 'the saved event (cookie of an anonymous visitor)');
    t.match(offline.body, new RegExp(`href="/eventi/${saved}"`));
    t.match((await app.inject({ url: '/offline' })).body, /Non hai ancora salvato eventi/);
  });
});
