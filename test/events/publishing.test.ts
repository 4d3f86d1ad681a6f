/**
 * Publishing events through the back office pages (one app, real SQLite, real multipart HTTP):
 * the redazione creates and publishes an event with a picture; a renamed non-image and bad fields
 * are refused with Italian messages and nothing is stored; an operator of another ente gets 403
 * on our pages and 404 for our event under theirs; an edit on a stale version is 409; weekly
 * occurrences keep 18:00 in Rome across the DST change; unpublish / cancel / republish keep
 * firstPublishedAt; the SAEL admin features an event and keeps the categories.
 */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import sharp from 'sharp';
import { and, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { auditLog } from '../../src/plugins/audit/schema.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { enti } from '../../src/modules/enti/schema.js';
import { eventCategories, eventOccurrences, events } from '../../src/modules/events/schema.js';
import { csrfFrom, form, FORM_HEADERS, loginAs, tempDir } from '../helpers.js';
import { suiteDb } from '../suite-db.js';

const NOW = new Date('2026-03-02T09:00:00Z');

function cf(role: string, istat: string | null): string {
  return demoUserFiscalCodes().find((u) => u.role === role && u.enteIstat === istat)!.fiscalCode;
}

function multipart(fields: Record<string, string>, file?: { filename: string; type: string; data: Buffer }) {
  const boundary = `----sael${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="${file.filename}"\r\ncontent-type: ${file.type}\r\n\r\n`), file.data, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'text/html' } };
}

const SAGRA = {
  title: 'Sagra della pampanella',
  summary: 'Degustazione di pampanella e musica popolare in piazza.',
  body: 'Stand gastronomici dalle 19.\n\nAlle 21 concerto di musica popolare.',
  startDate: '2026-03-14',
  startTime: '19:00',
  endDate: '2026-03-14',
  endTime: '23:30',
  recurrence: 'none',
  placeName: 'Piazza Municipio',
  address: 'Piazza Municipio, 86100 Campobasso',
  latitude: '41,5603',
  longitude: '14,6627',
  price: 'paid',
  priceAmount: '12,50',
  priceNote: 'Gratis per i minori di 12 anni',
  organiser: 'Pro Loco',
  contactEmail: 'info@proloco.example.it',
  contactPhone: '+39 0874 000000',
  link1Label: 'Programma',
  link1Url: 'https://proloco.example.it/sagra',
  imageAlt: 'Bancarelle illuminate in piazza durante la sagra',
};

async function setup(t: Test) {
  const dir = tempDir(t);
  const sdb = await suiteDb();
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000', ...sdb.env });
  const app = await buildApp(config, { logger: false, backgroundWorkers: false, now: () => NOW });
  sdb.closeWith(t, app);
  const ente = async (istat: string) => (await app.db.select().from(enti).where(eq(enti.istatCode, istat)).limit(1))[0]!;
  const cb = await ente('070006');
  const termoli = await ente('070078');
  const category = async (slug: string) => (await app.db.select().from(eventCategories).where(eq(eventCategories.slug, slug)).limit(1))[0]!;
  return {
    app,
    cb,
    termoli,
    category,
    sara: await loginAs(app, cf('redazione', '070006')),
    opCb: await loginAs(app, cf('operator', '070006')),
    opTermoli: await loginAs(app, cf('operator', '070078')),
    admin: await loginAs(app, cf('sael_admin', null)),
  };
}

/** Sends the event form (new or edit) as the browser does: CSRF first, the picture last. */
async function sendForm(app: FastifyInstance, cookie: string, url: string, formPage: string, fields: Record<string, string>, file?: { filename: string; type: string; data: Buffer }) {
  const { token } = await csrfFrom(app, formPage, cookie);
  const body = multipart({ _csrf: token, ...fields }, file);
  return app.inject({ method: 'POST', url, headers: { ...body.headers, cookie }, payload: body.payload });
}

async function action(app: FastifyInstance, cookie: string, url: string, fields: Record<string, string>) {
  const { token } = await csrfFrom(app, url, cookie);
  return app.inject({ method: 'POST', url: `${url}/azioni`, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, ...fields }) });
}

const eventRow = async (app: FastifyInstance, id: number) => (await app.db.select().from(events).where(eq(events.id, id)).limit(1))[0]!;
const occurrencesOf = async (app: FastifyInstance, id: number) => await app.db.select().from(eventOccurrences).where(eq(eventOccurrences.eventId, id)).orderBy(eventOccurrences.startsAt);
const idFrom = (location: string) => Number(/\/eventi\/(\d+)$/.exec(location)![1]);

t.test('the redazione publishes an event with a picture; checks, roles, versions, statuses', async (t) => {
  const { app, cb, termoli, category, sara, opCb, opTermoli } = await setup(t);
  const base = `/backoffice/enti/${cb.id}/eventi`;
  const imagesDir = app.config.events.imagesDir;
  const jpeg = await sharp({ create: { width: 1800, height: 1200, channels: 3, background: '#b5651d' } }).jpeg().toBuffer();
  const sagre = await category('sagre-enogastronomia');

  // The redazione's entry point leads to its only ente.
  const home = await app.inject({ method: 'GET', url: '/backoffice/redazione', headers: { cookie: sara, accept: 'text/html' } });
  t.equal(home.statusCode, 302);
  t.equal(home.headers.location, base);
  const newPage = await app.inject({ method: 'GET', url: `${base}/nuovo`, headers: { cookie: sara, accept: 'text/html' } });
  t.equal(newPage.statusCode, 200);
  t.match(newPage.body, /Sagre ed enogastronomia/, 'the categories are offered');
  t.match(newPage.body, /enctype="multipart\/form-data"/);

  await t.test('a renamed non-image is refused by its bytes, nothing is stored', async (t) => {
    const res = await sendForm(app, sara, base, `${base}/nuovo`, { ...SAGRA, categoryId: String(sagre.id), action: 'publish' }, { filename: 'foto.jpg', type: 'image/jpeg', data: Buffer.from('<html><body>non sono una foto</body></html>') });
    t.equal(res.statusCode, 415);
    t.match(res.body, /non è un’immagine JPEG, PNG, WebP o AVIF/);
    t.match(res.body, /Sagra della pampanella/, 'the form keeps what was typed');
    t.equal((await app.db.select().from(events)).length, 0, 'no event');
    t.same(fs.existsSync(imagesDir) ? fs.readdirSync(imagesDir) : [], [], 'no image files');
    // Larger than EVENTS_IMAGE_MAX_BYTES (8 MB): the upload stops there, 413 with the limit.
    const huge = Buffer.concat([jpeg, Buffer.alloc(app.config.events.imageMaxBytes)]);
    const big = await sendForm(app, sara, base, `${base}/nuovo`, { ...SAGRA, categoryId: String(sagre.id), action: 'publish' }, { filename: 'enorme.jpg', type: 'image/jpeg', data: huge });
    t.equal(big.statusCode, 413);
    t.match(big.body, /supera la dimensione massima di 8 MB/);
    t.equal((await app.db.select().from(events)).length, 0, 'no event');
  });

  await t.test('wrong fields: one Italian message each, nothing stored', async (t) => {
    const res = await sendForm(
      app,
      sara,
      base,
      `${base}/nuovo`,
      { ...SAGRA, title: '', categoryId: '', endTime: '18:00', imageAlt: '', latitude: '123', link1Url: 'javascript:alert(1)', contactEmail: 'non-una-mail', action: 'publish' },
      { filename: 'sagra.jpg', type: 'image/jpeg', data: jpeg },
    );
    t.equal(res.statusCode, 400);
    for (const m of [/Indica il titolo/, /Scegli la categoria/, /La fine deve essere successiva/, /testo alternativo/, /latitudine è un numero/, /Collegamento 1: indica un indirizzo/, /indirizzo e-mail valido/, /scegli di nuovo l’immagine/]) t.match(res.body, m);
    t.equal((await app.db.select().from(events)).length, 0);
    t.same(fs.existsSync(imagesDir) ? fs.readdirSync(imagesDir) : [], []);
    // A field the form does not have is refused by the schema.
    const extra = await sendForm(app, sara, base, `${base}/nuovo`, { ...SAGRA, categoryId: String(sagre.id), status: 'published' });
    t.equal(extra.statusCode, 400);
    t.match(extra.body, /Campo non previsto nel modulo/);
  });

  let id = 0;
  await t.test('created and published with its picture', async (t) => {
    const res = await sendForm(app, sara, base, `${base}/nuovo`, { ...SAGRA, categoryId: String(sagre.id), action: 'publish' }, { filename: 'sagra.jpg', type: 'image/jpeg', data: jpeg });
    t.equal(res.statusCode, 303, res.body.slice(0, 300));
    id = idFrom(res.headers.location as string);
    const e = await eventRow(app, id);
    t.equal(e.status, 'published');
    t.equal(e.enteId, cb.id);
    t.equal(e.firstPublishedAt, NOW.toISOString());
    t.equal(e.alertsQueuedAt, null, 'the alerts pass will pick it');
    t.equal(e.startsAt, '2026-03-14T18:00:00.000Z', '19:00 in Rome (winter time)');
    t.equal(e.endsAt, '2026-03-14T22:30:00.000Z');
    t.equal(e.free, false);
    t.equal(e.priceCents, 1250);
    t.equal(e.latitude, 41.5603);
    t.same(JSON.parse(e.links), [{ label: 'Programma', url: 'https://proloco.example.it/sagra' }]);
    t.equal(e.body, SAGRA.body);
    t.same([e.imageWidth, e.imageHeight], [1800, 1200]);
    t.equal(e.imageAlt, SAGRA.imageAlt);
    t.same(fs.readdirSync(path.join(imagesDir, e.imageKey!)).sort(), ['1600.webp', '480.webp', '960.webp'], 'the three widths of an 1800-wide original');
  });
  const stored = await eventRow(app, id);

  await t.test('occurrences, audit, picture served immutable, detail page', async (t) => {
    const occ = await occurrencesOf(app, id);
    t.equal(occ.length, 1);
    t.match(occ[0], { listed: true, enteId: cb.id, categoryId: sagre.id, startDay: '2026-03-14', endDay: '2026-03-14' });
    const audit = await app.db.select().from(auditLog).where(and(eq(auditLog.entity, 'event'), eq(auditLog.entityId, String(id))));
    t.same(audit.map((a) => a.action), ['event.create_publish']);
    const img = await app.inject({ method: 'GET', url: `/eventi/immagini/${stored.imageKey}/960.webp` });
    t.equal(img.statusCode, 200);
    t.equal(img.headers['content-type'], 'image/webp');
    t.match(img.headers['cache-control'], /immutable/);
    t.equal((await sharp(img.rawPayload).metadata()).width, 960);
    t.equal((await app.inject({ method: 'GET', url: `/eventi/immagini/${stored.imageKey}/700.webp` })).statusCode, 400, 'a width we do not make');
    t.equal((await app.inject({ method: 'GET', url: `/eventi/immagini/${'0'.repeat(32)}/480.webp` })).statusCode, 404);
    const detail = await app.inject({ method: 'GET', url: `${base}/${id}`, headers: { cookie: sara, accept: 'text/html' } });
    t.equal(detail.statusCode, 200);
    t.match(detail.body, /sabato 14 marzo 2026, dalle 19:00 alle 23:30/);
    t.match(detail.body, /Creato e pubblicato/);
    t.match(detail.body, /srcset="[^"]*480w/);
  });

  await t.test('roles: another ente’s operator, a citizen, anonymous', async (t) => {
    const get = (url: string, cookie?: string) => app.inject({ method: 'GET', url, headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });
    t.equal((await get(base, opTermoli)).statusCode, 403, 'Termoli’s operator on Campobasso’s events');
    t.equal((await get(`${base}/${id}`, opTermoli)).statusCode, 403);
    t.equal((await get(`/backoffice/enti/${termoli.id}/eventi/${id}`, opTermoli)).statusCode, 404, 'our event under their ente: not found');
    t.equal((await get(`/backoffice/enti/${termoli.id}/eventi/${id}/modifica`, opTermoli)).statusCode, 404);
    const { token } = await csrfFrom(app, `/backoffice/enti/${termoli.id}/eventi`, opTermoli);
    const cross = await app.inject({ method: 'POST', url: `/backoffice/enti/${termoli.id}/eventi/${id}/azioni`, headers: { ...FORM_HEADERS, cookie: opTermoli }, payload: form({ _csrf: token, action: 'unpublish', version: '1' }) });
    t.equal(cross.statusCode, 404);
    t.equal((await eventRow(app, id)).status, 'published', 'untouched');
    t.equal((await get(`/backoffice/enti/${termoli.id}/eventi`, sara)).statusCode, 403, 'the redazione of Campobasso on Termoli');
    t.equal((await get(base, opCb)).statusCode, 200, 'Campobasso’s operator edits too');
    t.equal((await get(base)).statusCode, 401);
    t.equal((await get('/admin/eventi', sara)).statusCode, 403);
  });

  await t.test('an edit on a stale version is refused (409); the first one stays', async (t) => {
    const edit = `${base}/${id}/modifica`;
    const first = await sendForm(app, opCb, `${base}/${id}`, edit, { ...SAGRA, title: 'Sagra della pampanella – edizione 2026', categoryId: String(sagre.id), version: '1', action: 'save' });
    t.equal(first.statusCode, 303);
    const second = await sendForm(app, sara, `${base}/${id}`, edit, { ...SAGRA, title: 'Titolo di Sara', categoryId: String(sagre.id), version: '1', action: 'save' });
    t.equal(second.statusCode, 409);
    t.match(second.body, /modificato da un’altra persona/);
    const e = await eventRow(app, id);
    t.equal(e.title, 'Sagra della pampanella – edizione 2026');
    t.equal(e.version, 2);
    t.equal(e.imageKey, stored.imageKey, 'picture kept');
    const audit = await app.db.select().from(auditLog).where(and(eq(auditLog.entity, 'event'), eq(auditLog.action, 'event.update')));
    t.equal(audit.length, 1);
    t.same(JSON.parse(audit[0]!.after!), { title: 'Sagra della pampanella – edizione 2026', updatedBy: e.updatedBy }, 'the audit keeps what changed');
  });

  await t.test('a new picture replaces the old one (its files removed); removing it', async (t) => {
    const png = await sharp({ create: { width: 1000, height: 1000, channels: 3, background: '#123456' } }).png().toBuffer();
    const res = await sendForm(app, sara, `${base}/${id}`, `${base}/${id}/modifica`, { ...SAGRA, categoryId: String(sagre.id), version: '2', imageAlt: 'Un quadrato blu', action: 'save' }, { filename: 'nuova.png', type: 'image/png', data: png });
    t.equal(res.statusCode, 303);
    const e = await eventRow(app, id);
    t.not(e.imageKey, stored.imageKey);
    t.notOk(fs.existsSync(path.join(imagesDir, stored.imageKey!)), 'old variants removed');
    t.same(fs.readdirSync(path.join(imagesDir, e.imageKey!)).sort(), ['480.webp', '960.webp']);
    const removed = await sendForm(app, sara, `${base}/${id}`, `${base}/${id}/modifica`, { ...SAGRA, categoryId: String(sagre.id), version: '3', removeImage: 'on', imageAlt: '', action: 'save' });
    t.equal(removed.statusCode, 303);
    t.equal((await eventRow(app, id)).imageKey, null);
    t.notOk(fs.existsSync(path.join(imagesDir, e.imageKey!)));
  });

  await t.test('unpublish, republish (firstPublishedAt kept), cancel with a reason', async (t) => {
    const url = `${base}/${id}`;
    let v = (await eventRow(app, id)).version;
    t.equal((await action(app, sara, url, { action: 'unpublish', version: String(v) })).statusCode, 303);
    t.equal((await eventRow(app, id)).status, 'unpublished');
    t.same((await occurrencesOf(app, id)).map((o) => o.listed), [false], 'hidden from the public');
    t.equal((await action(app, sara, url, { action: 'publish', version: String(v) })).statusCode, 409, 'stale version');
    v++;
    t.equal((await action(app, sara, url, { action: 'publish', version: String(v) })).statusCode, 303);
    t.equal((await eventRow(app, id)).firstPublishedAt, NOW.toISOString(), 'first publication never reset');
    v++;
    const noReason = await action(app, sara, url, { action: 'cancel', version: String(v), reason: '' });
    t.equal(noReason.statusCode, 400);
    t.match(noReason.body, /motivo dell’annullamento/);
    t.equal((await action(app, sara, url, { action: 'cancel', version: String(v), reason: 'Rinviata per maltempo' })).statusCode, 303);
    const e = await eventRow(app, id);
    t.equal(e.status, 'cancelled');
    t.equal(e.cancelReason, 'Rinviata per maltempo');
    t.same((await occurrencesOf(app, id)).map((o) => o.listed), [true], 'a cancelled event stays listed as annullato');
    t.equal((await app.inject({ method: 'GET', url: `${url}/modifica`, headers: { cookie: sara, accept: 'text/html' } })).statusCode, 409, 'a cancelled event is not edited');
    t.equal((await action(app, sara, url, { action: 'delete', version: String(e.version) })).statusCode, 409, 'only a never-published draft is deleted');
  });

  await t.test('a weekly event keeps 18:00 in Rome across the change to summer time; a draft is deleted', async (t) => {
    const res = await sendForm(app, sara, base, `${base}/nuovo`, {
      ...SAGRA,
      title: 'Mercatino del sabato',
      categoryId: String((await category('cultura-tradizioni')).id),
      startDate: '2026-03-14',
      startTime: '18:00',
      endDate: '',
      endTime: '20:00',
      recurrence: 'weekly',
      recurrenceUntil: '2026-04-11',
      price: 'free',
      priceAmount: '',
      imageAlt: '',
      action: 'draft',
    });
    t.equal(res.statusCode, 303);
    const wid = idFrom(res.headers.location as string);
    const occ = await occurrencesOf(app, wid);
    t.same(
      occ.map((o) => o.startsAt),
      ['2026-03-14T17:00:00.000Z', '2026-03-21T17:00:00.000Z', '2026-03-28T17:00:00.000Z', '2026-04-04T16:00:00.000Z', '2026-04-11T16:00:00.000Z'],
      '18:00 CET, then 18:00 CEST after 29 March',
    );
    t.ok(occ.every((o) => !o.listed), 'a draft is not listed');
    t.equal((await eventRow(app, wid)).firstPublishedAt, null);
    const tooMany = await sendForm(app, sara, base, `${base}/nuovo`, { ...SAGRA, categoryId: String(sagre.id), recurrence: 'weekly', recurrenceUntil: '2028-12-31', imageAlt: '', action: 'draft' });
    t.equal(tooMany.statusCode, 400);
    t.match(tooMany.body, /al massimo 104 volte/);
    t.equal((await action(app, sara, `${base}/${wid}`, { action: 'delete', version: '1' })).statusCode, 303);
    t.equal((await app.db.select().from(events).where(eq(events.id, wid)).limit(1))[0], undefined);
    t.equal((await occurrencesOf(app, wid)).length, 0);
  });
});

t.test('the SAEL admin: featured events and the categories', async (t) => {
  const { app, cb, category, sara, admin } = await setup(t);
  const base = `/backoffice/enti/${cb.id}/eventi`;
  const create = async (title: string, act: 'publish' | 'draft', categoryId?: number) => {
    categoryId ??= (await category('sport')).id;
    const res = await sendForm(app, sara, base, `${base}/nuovo`, { ...SAGRA, title, categoryId: String(categoryId), price: 'free', priceAmount: '', imageAlt: '', action: act });
    t.equal(res.statusCode, 303, res.body.slice(0, 200));
    return idFrom(res.headers.location as string);
  };
  const published = await create('Maratona del Matese', 'publish');
  const draft = await create('Torneo di bocce', 'draft');

  await t.test('the eight seeded categories', async (t) => {
    const slugs = (await app.db.select().from(eventCategories).orderBy(eventCategories.sortOrder)).map((c) => c.slug);
    t.same(slugs, ['mostre', 'spettacoli-concerti', 'sagre-enogastronomia', 'sport', 'cultura-tradizioni', 'natura-escursioni', 'incontri-convegni', 'per-bambini']);
  });

  await t.test('feature a published event; a draft cannot be; unpublishing takes it off', async (t) => {
    const list = await app.inject({ method: 'GET', url: '/admin/eventi', headers: { cookie: admin, accept: 'text/html' } });
    t.equal(list.statusCode, 200);
    t.match(list.body, /Maratona del Matese/);
    t.notMatch(list.body, /Torneo di bocce/, 'the default filter shows the published events');
    const search = async (q: string) => (await app.inject({ method: 'GET', url: `/admin/eventi?stato=&q=${encodeURIComponent(q)}`, headers: { cookie: admin, accept: 'text/html' } })).body;
    t.match(await search('bocce'), /Torneo di bocce/, 'any status, by title');
    t.match(await search('municipio'), /Maratona del Matese/, 'by place, any case');
    t.match(await search('_'), /Nessun evento corrisponde/, '_ is a character, not a wildcard');
    await create('Mercatino: sconti del 50%', 'draft');
    const percent = await search('50%');
    t.match(percent, /sconti del 50%/, 'a % typed is looked for as it is');
    t.notMatch(percent, /Maratona del Matese/);
    const post = async (id: number, featured: '0' | '1') => {
      const { token } = await csrfFrom(app, '/admin/eventi', admin);
      return app.inject({ method: 'POST', url: `/admin/eventi/${id}/evidenza`, headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ _csrf: token, featured, back: '/admin/eventi?stato=published' }) });
    };
    const ok = await post(published, '1');
    t.equal(ok.statusCode, 303);
    t.equal(ok.headers.location, '/admin/eventi?stato=published');
    t.equal((await eventRow(app, published)).featured, true);
    t.equal((await post(draft, '1')).statusCode, 409);
    const { token } = await csrfFrom(app, base, sara);
    const byEditor = await app.inject({ method: 'POST', url: `/admin/eventi/${published}/evidenza`, headers: { ...FORM_HEADERS, cookie: sara }, payload: form({ _csrf: token, featured: '0' }) });
    t.equal(byEditor.statusCode, 403, 'only the SAEL admin features');
    t.equal((await action(app, sara, `${base}/${published}`, { action: 'unpublish', version: String((await eventRow(app, published)).version) })).statusCode, 303);
    t.equal((await eventRow(app, published)).featured, false);
    t.same(
      (await app.db.select().from(auditLog).where(and(eq(auditLog.entity, 'event'), eq(auditLog.entityId, String(published))))).map((a) => a.action),
      ['event.create_publish', 'event.feature', 'event.unpublish'],
    );
  });

  await t.test('categories: create, duplicate code, deactivate, delete only unused', async (t) => {
    const post = async (url: string, fields: Record<string, string>) => {
      const { token } = await csrfFrom(app, '/admin/eventi/categorie', admin);
      return app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ _csrf: token, ...fields }) });
    };
    t.equal((await post('/admin/eventi/categorie', { name: 'Fiere e mercati', slug: '', description: '', sortOrder: '90' })).statusCode, 303);
    const fiere = await category('fiere-e-mercati');
    t.ok(fiere, 'code made from the name');
    const dup = await post('/admin/eventi/categorie', { name: 'Altro', slug: 'sport', description: '', sortOrder: '' });
    t.equal(dup.statusCode, 409);
    t.match(dup.body, /già usato/);
    t.equal((await post('/admin/eventi/categorie', { name: '', slug: 'Non Valido!', description: '', sortOrder: 'x' })).statusCode, 400);
    // Deactivated: new events cannot choose it.
    t.equal((await post(`/admin/eventi/categorie/${fiere.id}`, { name: 'Fiere e mercati', slug: 'fiere-e-mercati', description: '', sortOrder: '90' })).statusCode, 303);
    t.equal((await category('fiere-e-mercati')).active, false);
    const form1 = await app.inject({ method: 'GET', url: `${base}/nuovo`, headers: { cookie: sara, accept: 'text/html' } });
    t.notMatch(form1.body, /Fiere e mercati/);
    const refused = await sendForm(app, sara, base, `${base}/nuovo`, { ...SAGRA, categoryId: String(fiere.id), price: 'free', priceAmount: '', imageAlt: '', action: 'draft' });
    t.equal(refused.statusCode, 400);
    t.match(refused.body, /Scegli la categoria/);
    const used = await post(`/admin/eventi/categorie/${(await category('sport')).id}/elimina`, {});
    t.equal(used.statusCode, 409);
    t.match(used.body, /disattivala/);
    t.equal((await post(`/admin/eventi/categorie/${fiere.id}/elimina`, {})).statusCode, 303);
    t.equal(await category('fiere-e-mercati'), undefined);
    t.equal((await app.inject({ method: 'GET', url: '/admin/eventi/categorie', headers: { cookie: sara, accept: 'text/html' } })).statusCode, 403);
  });
});
