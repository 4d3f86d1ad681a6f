/**
 * News and zones (#17, part E), through real HTTP on one app (real SQLite file, injected clock):
 * - news: the ente's redazione writes a draft (invisible), publishes it (on /notizie, its page and
 *   the RSS feed, parsed back), edits with a version check (a stale form is refused, nothing
 *   overwritten), withdraws it (404 again); another ente's staff gets 403, another ente's item
 *   under one's own ente 404; the SAEL admin writes the province's news but not a comune's;
 *   every change audited; text escaped.
 * - zones: the demo zones put each of the 84 comuni in exactly one zone (idempotent); only the
 *   SAEL admin manages them; a rename moves its comuni in the same transaction; a name clash and
 *   a zone with comuni are refused; the assignment form is all or nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { DOMParser } from '@xmldom/xmldom';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { DEMO_ZONES, seedDemoZones } from '../../src/modules/events/zones.js';
import { DEMO_EVENTS, DEMO_NEWS, seedEventsDemo } from '../../src/modules/events/demo-seed.js';
import { listPublishedNews } from '../../src/modules/events/news-repository.js';
import { changeEventStatus } from '../../src/modules/events/repository.js';
import { csrfFrom, FORM_HEADERS, form, loginAs, tempDir } from '../helpers.js';
import { sqlAll, sqlGet, sqlRun } from '../../src/db/raw.js';
import { suiteDb } from '../suite-db.js';

const users = demoUserFiscalCodes();
const ADMIN = users.find((u) => u.role === 'sael_admin')!.fiscalCode;
const REDAZIONE_CB = users.find((u) => u.role === 'redazione' && u.enteIstat === '070006')!.fiscalCode;
const OP_CB = users.find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode;
const OP_TERMOLI = users.find((u) => u.role === 'operator' && u.enteIstat === '070078')!.fiscalCode;

let clock = new Date('2026-03-10T09:00:00Z');
const tick = (minutes: number) => (clock = new Date(clock.getTime() + minutes * 60_000));

async function makeApp(t: Test): Promise<FastifyInstance> {
  const sdb = await suiteDb();
  const config = loadConfig({ DATA_DIR: tempDir(t), LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000', PUBLIC_URL: 'http://portale.example.it', ...sdb.env });
  const app = await buildApp(config, { logger: false, backgroundWorkers: false, now: () => clock });
  sdb.closeWith(t, app);
  return app;
}

const get = (app: FastifyInstance, url: string, cookie?: string) => app.inject({ method: 'GET', url, headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });
const post = (app: FastifyInstance, url: string, cookie: string, fields: Record<string, string>) =>
  app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie }, payload: form(fields) });
const count = async (app: FastifyInstance, sql: string, ...args: unknown[]) => ((await sqlGet(app.db, `SELECT count(*) AS n FROM ${sql}`, ...args)) as { n: number }).n;
const enteId = async (app: FastifyInstance, istat: string) => ((await sqlGet(app.db, 'SELECT id FROM enti WHERE istat_code = ?', istat)) as { id: number }).id;
const provinceId = async (app: FastifyInstance) => ((await sqlGet(app.db, "SELECT id FROM enti WHERE kind = 'provincia'")) as { id: number }).id;

t.test('news: draft, publish, feed, version check, roles, IDOR, withdraw', async (t) => {
  const app = await makeApp(t);
  const cb = await enteId(app, '070006');
  const termoli = await enteId(app, '070078');
  const red = await loginAs(app, REDAZIONE_CB);
  const base = `/backoffice/enti/${cb}/notizie`;

  t.equal((await get(app, base)).statusCode, 401, 'anonymous: sign in');
  t.equal((await get(app, base, await loginAs(app, OP_TERMOLI))).statusCode, 403, 'staff of another ente');
  t.equal((await get(app, base, await loginAs(app, ADMIN))).statusCode, 403, 'the SAEL admin does not write a comune’s news');
  t.equal((await get(app, `/backoffice/enti/999999/notizie`, red)).statusCode, 404, 'unknown ente');
  t.equal((await get(app, base, red)).statusCode, 200, 'the redazione of Campobasso');
  t.equal((await get(app, base, await loginAs(app, OP_CB))).statusCode, 200, 'an operator of the ente writes news too');

  const { token } = await csrfFrom(app, `${base}/nuova`, red);
  const bad = await post(app, base, red, { _csrf: token, title: 'Ciao', summary: 'corto', body: '' });
  t.equal(bad.statusCode, 400, 'too short: refused');
  t.match(bad.body, 'Il titolo deve avere almeno 5 caratteri.');
  t.match(bad.body, 'Scrivi un sommario');
  t.equal(await count(app, 'public_news'), 0, 'nothing saved');

  const created = await post(app, base, red, {
    _csrf: token,
    title: 'Chiusura uffici <script>alert(1)</script>',
    summary: 'Gli uffici comunali restano chiusi lunedì per la festa del patrono.',
    body: 'Primo paragrafo.\n\nSecondo paragrafo.',
  });
  t.equal(created.statusCode, 303);
  const id = Number(/notizie\/(\d+)$/.exec(created.headers.location as string)![1]);
  t.equal((await get(app, `/notizie/${id}`)).statusCode, 404, 'a draft is not public');
  t.notMatch((await get(app, '/notizie')).body, 'Chiusura uffici', 'nor listed');

  // Publish (version 1).
  tick(5);
  t.equal((await post(app, `${base}/${id}/pubblica`, red, { _csrf: token, version: '1' })).statusCode, 303);
  const page = await get(app, `/notizie/${id}`);
  t.equal(page.statusCode, 200, 'published: public');
  t.match(page.body, 'Chiusura uffici &lt;script&gt;alert(1)&lt;/script&gt;', 'escaped');
  t.notMatch(page.body, '<script>alert(1)', 'never raw');
  t.match(page.body, '<p>Secondo paragrafo.</p>', 'paragraphs');
  t.match((await get(app, '/notizie')).body, `href="/notizie/${id}"`, 'listed');
  t.match((await get(app, `/notizie?comune=c_b519`)).body, `href="/notizie/${id}"`, 'listed under its comune');
  t.match((await get(app, `/notizie?comune=c_b519`)).body, /<link rel="alternate" type="application\/rss\+xml" title="Notizie – Comune di Campobasso" href="\/notizie\/feed\.rss\?comune(=|&#x3D;)c_b519">/, 'RSS autodiscovery');
  t.notMatch((await get(app, `/notizie?comune=c_l113`)).body, `href="/notizie/${id}"`, 'not under another comune');
  t.equal((await get(app, '/notizie?comune=zz_none')).statusCode, 404, 'unknown comune');
  t.match((await get(app, '/comuni/c_b519')).body, `href="/notizie/${id}"`, 'on the comune page');
  t.equal((await get(app, '/notizie?pagina=abc')).statusCode, 400, 'bad page number');

  // The province's news, by the SAEL admin, newer.
  const admin = await loginAs(app, ADMIN);
  const pBase = `/backoffice/enti/${await provinceId(app)}/notizie`;
  t.equal((await get(app, '/admin/notizie', admin)).headers.location, pBase, '/admin/notizie → the province’s news');
  tick(5);
  const { token: at } = await csrfFrom(app, `${pBase}/nuova`, admin);
  const pn = await post(app, pBase, admin, { _csrf: at, title: 'Nuovo portale dei pagamenti', summary: 'Il S.A.E.L. apre il portale unico dei pagamenti dei comuni.', body: '', publish: '1' });
  t.equal(pn.statusCode, 303, 'saved and published at once');
  const latest = await listPublishedNews(app.db, { limit: 10 });
  t.same(
    latest.map((n) => n.title),
    ['Nuovo portale dei pagamenti', 'Chiusura uffici <script>alert(1)</script>'],
    'newest first',
  );

  // RSS, parsed back.
  const rss = await app.inject({ method: 'GET', url: '/notizie/feed.rss' });
  t.equal(rss.statusCode, 200);
  t.match(rss.headers['content-type'], /application\/rss\+xml/);
  const doc = new DOMParser().parseFromString(rss.body, 'text/xml');
  const items = Array.from(doc.getElementsByTagName('item'));
  t.equal(items.length, 2, 'two items');
  t.equal(items[1]!.getElementsByTagName('title')[0]!.textContent, 'Chiusura uffici <script>alert(1)</script>', 'title round-trips through XML escaping');
  t.equal(items[1]!.getElementsByTagName('link')[0]!.textContent, `http://portale.example.it/notizie/${id}`, 'absolute link');
  t.equal(new Date(items[1]!.getElementsByTagName('pubDate')[0]!.textContent!).toISOString(), '2026-03-10T09:05:00.000Z', 'publication instant (injected clock)');
  const rssCb = new DOMParser().parseFromString((await app.inject({ method: 'GET', url: '/notizie/feed.rss?comune=c_b519' })).body, 'text/xml');
  t.equal(rssCb.getElementsByTagName('item').length, 1, 'per-comune feed: only its news');

  // Edit on version 2 (after publication); a second edit on the same stale version is refused.
  const edited = { _csrf: token, title: 'Chiusura uffici lunedì', summary: 'Gli uffici comunali restano chiusi lunedì per la festa del patrono.', body: 'Testo nuovo.' };
  t.equal((await post(app, `${base}/${id}`, red, { ...edited, version: '2' })).statusCode, 303);
  const op = await loginAs(app, OP_CB);
  const { token: ot } = await csrfFrom(app, `${base}/${id}`, op);
  const stale = await post(app, `${base}/${id}`, op, { ...edited, _csrf: ot, title: 'Versione di un altro', version: '2' });
  t.equal(stale.statusCode, 409, 'stale version refused');
  t.match(stale.body, 'modificata da un altro utente');
  t.match(stale.body, 'value="Versione di un altro"', 'the typed text is kept in the form');
  t.equal(((await sqlGet(app.db, 'SELECT title, version FROM public_news WHERE id = ?', id)) as { title: string }).title, 'Chiusura uffici lunedì', 'not overwritten');

  // IDOR: Campobasso's item under Termoli's address, by Termoli's operator.
  const opT = await loginAs(app, OP_TERMOLI);
  t.equal((await get(app, `/backoffice/enti/${termoli}/notizie/${id}`, opT)).statusCode, 404, 'another ente’s id: not found');
  const { token: tt } = await csrfFrom(app, `/backoffice/enti/${termoli}/notizie`, opT);
  t.equal((await post(app, `/backoffice/enti/${termoli}/notizie/${id}/ritira`, opT, { _csrf: tt, version: '3' })).statusCode, 404, 'cannot withdraw it either');
  t.equal((await post(app, `${base}/${id}/ritira`, opT, { _csrf: tt, version: '3' })).statusCode, 403, 'nor through Campobasso’s address');

  // Withdraw; a published (then withdrawn) item cannot be deleted, a draft can.
  t.equal((await post(app, `${base}/${id}/ritira`, red, { _csrf: token, version: '3' })).statusCode, 303);
  t.equal((await get(app, `/notizie/${id}`)).statusCode, 404, 'withdrawn: gone from the public');
  t.notMatch((await get(app, '/comuni/c_b519')).body, `href="/notizie/${id}"`, 'and from the comune page');
  t.equal((await post(app, `${base}/${id}/elimina`, red, { _csrf: token, version: '4' })).statusCode, 409, 'only drafts are deleted');
  const draft = await post(app, base, red, { _csrf: token, title: 'Bozza da buttare', summary: 'Una bozza che verrà eliminata subito.', body: '' });
  const draftId = Number(/notizie\/(\d+)$/.exec(draft.headers.location as string)![1]);
  t.equal((await post(app, `${base}/${draftId}/elimina`, red, { _csrf: token, version: '1' })).statusCode, 303);
  t.equal(await count(app, 'public_news WHERE id = ?', draftId), 0, 'draft deleted');

  t.same(
    ((await sqlAll(app.db, "SELECT action FROM audit_log WHERE entity = 'public_news' ORDER BY id")) as { action: string }[]).map((r) => r.action),
    ['news.create', 'news.publish', 'news.create', 'news.update', 'news.unpublish', 'news.create', 'news.delete'],
    'every change audited',
  );
});

t.test('zones: demo seed, admin pages, rename moves the comuni, clash and in-use refused, assignment all or nothing', async (t) => {
  const istat = DEMO_ZONES.flatMap((z) => z.istat);
  t.equal(istat.length, 84, 'the demo zones list 84 comuni');
  t.equal(new Set(istat).size, 84, 'each once');

  const app = await makeApp(t);
  t.equal(await count(app, 'zones'), 0, 'no zones outside the demo content');
  (await sqlRun(app.db, "UPDATE enti SET zone = 'Zona scelta prima' WHERE istat_code = '070001'"));
  t.equal(await seedDemoZones(app.db), true);
  t.match((await sqlGet(app.db, "SELECT zone FROM enti WHERE istat_code = '070001'")), { zone: 'Zona scelta prima' }, 'a zone already written is not overwritten');
  (await sqlRun(app.db, "UPDATE enti SET zone = 'Basso Molise' WHERE istat_code = '070001'"));
  t.equal(await seedDemoZones(app.db), false, 'idempotent');
  t.equal(await count(app, "enti WHERE kind = 'comune' AND zone IS NULL"), 0, 'every comune has a zone');
  t.equal(await count(app, "enti WHERE kind = 'comune' AND zone NOT IN (SELECT name FROM zones)"), 0, 'only zones that exist');
  t.equal(await count(app, 'zones WHERE is_demo = 1'), DEMO_ZONES.length, 'flagged demo');

  t.equal((await get(app, '/admin/zone')).statusCode, 401);
  t.equal((await get(app, '/admin/zone', await loginAs(app, OP_CB))).statusCode, 403, 'an ente operator is not the SAEL');
  const admin = await loginAs(app, ADMIN);
  const list = await get(app, '/admin/zone', admin);
  t.equal(list.statusCode, 200);
  t.match(list.body, 'valori dimostrativi', 'demo flag explained');
  t.match(list.body, /Matese<\/a> <span class="badge[^"]*">demo<\/span>/, 'demo badge');

  const matese = (await sqlGet(app.db, "SELECT id FROM zones WHERE name = 'Matese'")) as { id: number };
  const { token } = await csrfFrom(app, `/admin/zone/${matese.id}`, admin);
  const clash = await post(app, `/admin/zone/${matese.id}`, admin, { _csrf: token, name: 'fortore', description: '', sortOrder: '1' });
  t.equal(clash.statusCode, 409, 'the name of another zone (any case)');
  t.match(clash.body, 'Esiste già una zona');
  t.equal((await post(app, `/admin/zone/${matese.id}`, admin, { _csrf: token, name: ' ', description: '', sortOrder: '1' })).statusCode, 400, 'empty name');

  const before = await count(app, "enti WHERE zone = 'Matese'");
  const renamed = await post(app, `/admin/zone/${matese.id}`, admin, { _csrf: token, name: 'Matese e Bojano', description: 'Alle sorgenti del Biferno.', sortOrder: '1' });
  t.equal(renamed.statusCode, 303);
  t.equal(await count(app, "enti WHERE zone = 'Matese'"), 0, 'no comune left with the old name');
  t.equal(await count(app, "enti WHERE zone = 'Matese e Bojano'"), before, 'all its comuni moved with it');
  t.match((await sqlGet(app.db, 'SELECT slug, is_demo FROM zones WHERE id = ?', matese.id)), { slug: 'matese-e-bojano', is_demo: 0 }, 'edited: no longer demo');
  t.match((await get(app, '/comuni/c_a930')).body, 'Matese e Bojano', 'the comune page shows the new name (Bojano)');

  t.equal((await post(app, `/admin/zone/${matese.id}/elimina`, admin, { _csrf: token })).statusCode, 409, 'a zone with comuni is not deleted');

  // A new zone; the assignment moves Bojano into it; an unknown zone id changes nothing.
  const created = await post(app, '/admin/zone', admin, { _csrf: token, name: 'Zona di prova', description: '', sortOrder: '9' });
  t.equal(created.statusCode, 303);
  const prova = (await sqlGet(app.db, "SELECT id FROM zones WHERE name = 'Zona di prova'")) as { id: number };
  const bojano = await enteId(app, '070003');
  const larino = await enteId(app, '070031');
  const refused = await post(app, '/admin/zone/comuni', admin, { _csrf: token, [`z_${bojano}`]: String(prova.id), [`z_${larino}`]: '999999' });
  t.equal(refused.statusCode, 409, 'a zone that does not exist');
  t.equal(((await sqlGet(app.db, 'SELECT zone FROM enti WHERE id = ?', bojano)) as { zone: string }).zone, 'Matese e Bojano', 'all or nothing: Bojano not moved');
  t.equal((await post(app, '/admin/zone/comuni', admin, { _csrf: token, 'z_x': '1' })).statusCode, 400, 'a field that is not a comune');
  const assigned = await post(app, '/admin/zone/comuni', admin, { _csrf: token, [`z_${bojano}`]: String(prova.id), [`z_${larino}`]: '' });
  t.equal(assigned.statusCode, 303);
  t.match((await sqlGet(app.db, 'SELECT zone FROM enti WHERE id = ?', bojano)), { zone: 'Zona di prova' });
  t.match((await sqlGet(app.db, 'SELECT zone FROM enti WHERE id = ?', larino)), { zone: null }, 'empty choice: no zone');
  const page = await get(app, '/admin/zone/comuni', admin);
  t.match(page.body, new RegExp(`<select id="z-${bojano}" name="z_${bojano}"[^>]*>.*<option value="${prova.id}" selected>Zona di prova</option>`), 'the form shows the assignment');
  t.match((await get(app, '/admin/zone', admin)).body, '1</strong> comune non ha ancora una zona', 'unassigned comuni counted');

  // A zone typed on the ente's page (free text) that is not in the list: flagged, and the form keeps it.
  const riccia = await enteId(app, '070057');
  (await sqlRun(app.db, "UPDATE enti SET zone = 'Scritta a mano' WHERE id = ?", riccia));
  t.match((await get(app, '/admin/zone', admin)).body, '1</strong> comune indica una zona che non è in questo elenco', 'unlisted zone flagged');
  t.match((await get(app, '/admin/zone/comuni', admin)).body, `<option value="=" selected>«Scritta a mano» (non in elenco: lascia com’è)</option>`, 'offered as "leave it"');
  t.equal((await post(app, '/admin/zone/comuni', admin, { _csrf: token, [`z_${riccia}`]: '=', [`z_${larino}`]: '' })).statusCode, 303);
  t.match((await sqlGet(app.db, 'SELECT zone FROM enti WHERE id = ?', riccia)), { zone: 'Scritta a mano' }, 'saving the form does not erase it');
  t.equal((await post(app, '/admin/zone/comuni', admin, { _csrf: token, [`z_${riccia}`]: 'x' })).statusCode, 400, 'a value that is not a zone id');
  await post(app, '/admin/zone/comuni', admin, { _csrf: token, [`z_${riccia}`]: String(matese.id) });
  t.match((await sqlGet(app.db, 'SELECT zone FROM enti WHERE id = ?', riccia)), { zone: 'Matese e Bojano' }, 'moved into a listed zone');

  // Move Bojano back, then the empty test zone can go.
  await post(app, '/admin/zone/comuni', admin, { _csrf: token, [`z_${bojano}`]: String(matese.id) });
  t.equal((await post(app, `/admin/zone/${prova.id}/elimina`, admin, { _csrf: token })).statusCode, 303, 'an empty zone is deleted');
  t.equal(await count(app, 'zones WHERE id = ?', prova.id), 0);
  t.same(
    ((await sqlAll(app.db, "SELECT action FROM audit_log WHERE action LIKE 'zone.%' ORDER BY id")) as { action: string }[]).map((r) => r.action),
    ['zone.update', 'zone.create', 'zone.assign', 'zone.assign', 'zone.assign', 'zone.delete'],
    'audited',
  );
});

t.test('demo seed: zones, 42 events around today in the 6 member comuni and 8 categories, pictures, news; idempotent', async (t) => {
  clock = new Date('2026-03-25T10:00:00Z'); // a Wednesday, four days before the clocks change
  const app = await makeApp(t);
  const started = Date.now();
  const first = await seedEventsDemo(app.events);
  t.comment(`demo seed: ${Date.now() - started} ms`);
  t.same(first, { zones: true, events: DEMO_EVENTS.length, news: DEMO_NEWS.length }, 'everything seeded');
  t.same(await seedEventsDemo(app.events), { zones: false, events: 0, news: 0 }, 'idempotent');
  t.equal(await count(app, 'events WHERE is_demo = 1'), 42);
  t.equal(((await sqlGet(app.db, 'SELECT count(DISTINCT ente_id) AS n FROM events')) as { n: number }).n, 6, 'six member comuni');
  t.equal(((await sqlGet(app.db, 'SELECT count(DISTINCT category_id) AS n FROM events')) as { n: number }).n, 8, 'all 8 categories');
  t.equal(await count(app, "events WHERE status = 'cancelled' AND cancel_reason IS NOT NULL"), 1, 'one cancelled, with its reason');
  t.equal(await count(app, "events WHERE recurrence = 'weekly'"), 1, 'one weekly');
  t.equal(await count(app, 'event_occurrences WHERE event_id = (SELECT id FROM events WHERE recurrence = \'weekly\')'), 8, 'eight Saturdays');
  t.same(
    ((await sqlAll(app.db, "SELECT DISTINCT substr(starts_at, 12, 5) AS t FROM event_occurrences WHERE event_id = (SELECT id FROM events WHERE recurrence = 'weekly') ORDER BY t")) as { t: string }[]).map((r) => r.t),
    ['08:30', '09:30'],
    '10:30 in Rome across the clock change: 09:30 UTC in winter, 08:30 UTC in summer',
  );
  const spans = (await sqlAll(app.db, 'SELECT starts_at, ends_at FROM events')) as { starts_at: string; ends_at: string }[];
  t.ok(spans.filter((e) => Date.parse(e.ends_at) - Date.parse(e.starts_at) > 86_400_000).length >= 5, 'several lasting days');
  t.equal(await count(app, 'events WHERE featured = 1'), 4, 'four featured on the home');
  t.equal(await count(app, 'events WHERE alerts_queued_at IS NULL'), 0, 'nobody is alerted of demo content');
  t.equal(await count(app, 'events WHERE image_key IS NULL'), 0, 'every event has a picture');
  const e = (await sqlGet(app.db, 'SELECT image_key, image_width, image_alt FROM events LIMIT 1')) as { image_key: string; image_width: number; image_alt: string };
  t.equal(e.image_width, 960);
  t.ok(fs.existsSync(path.join(app.config.events.imagesDir, e.image_key, '480.webp')) && fs.existsSync(path.join(app.config.events.imagesDir, e.image_key, '960.webp')), 'WebP variants on disk');
  t.match(e.image_alt, /Illustrazione/);
  const days = (await sqlGet(app.db, "SELECT min(start_day) AS a, max(start_day) AS b FROM event_occurrences WHERE listed = 1")) as { a: string; b: string };
  t.ok(days.a < '2026-03-25' && days.b > '2026-04-15', `past and next weeks (${days.a} … ${days.b})`);
  t.ok(await count(app, "event_occurrences WHERE start_day <= '2026-03-25' AND end_day >= '2026-03-25'") >= 3, 'something on today');
  t.ok(await count(app, "event_occurrences WHERE start_day <= '2026-03-29' AND end_day >= '2026-03-28'") >= 6, 'something this weekend');
  t.equal(await count(app, 'public_news WHERE is_demo = 1 AND status = \'published\''), DEMO_NEWS.length, 'news published');
  t.equal(((await sqlGet(app.db, 'SELECT count(DISTINCT ente_id) AS n FROM public_news')) as { n: number }).n, 7, 'the SAEL and the six comuni');

  // The province's home: the featured events (soonest first) and the three latest news.
  const home = await get(app, '/');
  t.equal(home.statusCode, 200);
  const featured = /data-testid="home-featured-events"[\s\S]*?<\/section>/.exec(home.body)?.[0] ?? '';
  t.equal((featured.match(/data-testid="event-card"/g) ?? []).length, 4, 'four featured events');
  t.match(featured, 'In corso fino a', 'the exhibition under way says until when');
  t.match(featured, /srcset="\/eventi\/immagini\/[0-9a-f]{32}\/480\.webp 480w, \/eventi\/immagini\/[0-9a-f]{32}\/960\.webp 960w"/, 'responsive picture');
  const news = /data-testid="home-news"[\s\S]*?<\/section>/.exec(home.body)?.[0] ?? '';
  t.same(
    [...news.matchAll(/<h3 class="h5 card-title"><a href="\/notizie\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]),
    ['Eventi e notizie dei comuni sul portale provinciale', 'Raccolta differenziata: il nuovo calendario', 'Lavori sul lungomare nord: modifiche alla viabilità'],
    'the three latest news, newest first',
  );
  // A withdrawn featured event leaves the home.
  const f = (await sqlGet(app.db, 'SELECT id, ente_id, version FROM events WHERE featured = 1 ORDER BY id LIMIT 1')) as { id: number; ente_id: number; version: number };
  await changeEventStatus(app.events, f.ente_id, f.id, f.version, 'unpublish', { actor: 'test', userId: null });
  t.notMatch((await get(app, '/')).body, `href="/eventi/${f.id}"`, 'unpublished: not on the home');
});
