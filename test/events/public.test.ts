/**
 * Public event pages (#17 part B): /eventi with its filters (comune, zona, categoria, oggi / fine
 * settimana / prossimi 7 giorni / dal–al) and paging, across the DST change (clock on Wednesday
 * 24 March 2027, clocks go forward on Sunday 28); the event page (picture, .ics, map links,
 * share links, JSON-LD, Open Graph); Il mio Comune; I miei eventi (cookie and signed-in).
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { and, eq } from 'drizzle-orm';
import ical from 'node-ical';
import { citizenEventPreferences, eventCategories, eventSaves, events, publicNews, zones } from '../../src/modules/events/schema.js';
import { enti } from '../../src/modules/enti/schema.js';
import { upsertUser } from '../../src/modules/users/repository.js';
import { periodRange } from '../../src/modules/events/public-format.js';
import { parseIds } from '../../src/modules/events/citizen-choices.js';
import { FORM_HEADERS, absorbCookies, cookieHeader, csrfFrom, form, htmlUnescape, loginAs } from '../helpers.js';
import { addEvent, categoryId, comuneId, editEvent, eventsApp } from './pub-fixtures.js';

const HTML = { accept: 'text/html' };
const NOW = '2027-03-24T10:00:00.000Z'; // Wednesday, 11:00 in Rome (CET)

/** Titles of the cards of a list page, in order. */
function titles(html: string): string[] {
  return [...html.matchAll(/<h3 class="h5 card-title mb-1"><a href="\/eventi\/\d+">([^<]*)<\/a>/g)].map((m) => htmlUnescape(m[1]!));
}

t.test('periods: today, this weekend (Saturday and Sunday), next 7 days', async (t) => {
  t.same(periodRange('oggi', '2027-03-24'), { from: '2027-03-24', to: '2027-03-24' });
  t.same(periodRange('fine-settimana', '2027-03-24'), { from: '2027-03-27', to: '2027-03-28' }, 'Wednesday: the coming Saturday and Sunday');
  t.same(periodRange('fine-settimana', '2027-03-27'), { from: '2027-03-27', to: '2027-03-28' }, 'Saturday: today and tomorrow');
  t.same(periodRange('fine-settimana', '2027-03-28'), { from: '2027-03-28', to: '2027-03-28' }, 'Sunday: today only');
  t.same(periodRange('7-giorni', '2027-03-24'), { from: '2027-03-24', to: '2027-03-30' });
  t.same(parseIds('3.1.x', 10), [], 'a cookie value with anything but digits and dots is ignored');
  t.same(parseIds('3.1.3..7', 2), [3, 1], 'distinct, positive, capped');
});

t.test('public event pages', async (t) => {
  const { app } = await eventsApp(t, NOW);
  const get = (url: string, cookie?: string) => app.inject({ method: 'GET', url, headers: { ...HTML, ...(cookie ? { cookie } : {}) } });

  const mostra = await addEvent(app, { comune: 'Termoli', category: 'mostre', title: 'Mostra fotografica del Borgo', day: '2027-03-20', endDay: '2027-04-10', allDay: true });
  const partita = await addEvent(app, { comune: 'Campobasso', category: 'sport', title: 'Partita di pallavolo', day: '2027-03-24', time: '20:00', endTime: '22:00' });
  const concerti = await addEvent(app, {
    comune: 'Bojano',
    category: 'spettacoli-concerti',
    title: 'Concerti del giovedì',
    day: '2027-03-25',
    time: '18:00',
    endTime: '19:30',
    weeklyUntil: '2027-04-15',
  });
  const sagra = await addEvent(app, {
    comune: 'Campobasso',
    category: 'sagre-enogastronomia',
    title: 'Sagra del tartufo & <vino>',
    day: '2027-03-27',
    time: '19:00',
    endTime: '23:00',
    latitude: 41.5603,
    longitude: 14.6627,
    placeName: 'Villa de Capoa',
    free: false,
    priceCents: 500,
    links: [{ label: 'Programma completo', url: 'https://example.invalid/programma' }],
  });
  const annullato = await addEvent(app, { comune: 'Campobasso', category: 'cultura-tradizioni', title: 'Rievocazione storica', day: '2027-03-28', time: '16:00', status: 'cancelled', cancelReason: 'Allerta meteo per vento forte' });
  const bozza = await addEvent(app, { comune: 'Campobasso', category: 'sport', title: 'Torneo in bozza', day: '2027-03-26', status: 'draft' });
  const passato = await addEvent(app, { comune: 'Campobasso', category: 'sport', title: 'Corsa di marzo', day: '2027-03-10' });
  const ritirato = await addEvent(app, { comune: 'Campobasso', category: 'sport', title: 'Evento ritirato', day: '2027-03-26', status: 'unpublished' });
  const riccia = await addEvent(app, { comune: 'Riccia', category: 'natura-escursioni', title: 'Escursione al bosco', day: '2027-04-08', time: '09:00', endTime: '13:00' });

  await t.test('the list: upcoming listed occurrences in start order; drafts, withdrawn and past events are not there', async (t) => {
    const res = await get('/eventi');
    t.equal(res.statusCode, 200);
    t.same(titles(res.body), [
      'Mostra fotografica del Borgo',
      'Partita di pallavolo',
      'Concerti del giovedì',
      'Sagra del tartufo & <vino>',
      'Rievocazione storica',
      'Concerti del giovedì',
      'Escursione al bosco',
      'Concerti del giovedì',
      'Concerti del giovedì',
    ]);
    t.match(res.body, /Sagra del tartufo &amp; &lt;vino&gt;/, 'titles are escaped');
    t.match(res.body, /<span class="badge bg-danger">Annullato<\/span>/, 'a cancelled event stays listed, marked');
    t.notMatch(res.body, /Torneo in bozza|Corsa di marzo|Evento ritirato/);
    t.match(res.body, /<a class="nav-link active" href="\/eventi" aria-current="page"><span>Eventi<\/span><\/a>/, 'the header links the page');
    t.match(res.body, /<link rel="alternate" type="application\/rss\+xml" title="Eventi \(RSS\)" href="\/eventi\/feed\/rss.xml">/);
    // The weekly concert keeps 18:00 in Rome after the clock change (28 March).
    t.match(res.body, /giovedì 25 marzo 2027, 18:00–19:30/);
    t.match(res.body, /giovedì 1 aprile 2027, 18:00–19:30/);
  });

  await t.test('periods and date range: today, this weekend, next 7 days, dal–al across the DST change', async (t) => {
    t.same(titles((await get('/eventi?periodo=oggi')).body), ['Mostra fotografica del Borgo', 'Partita di pallavolo'], 'an exhibition still open today is there');
    t.same(titles((await get('/eventi?periodo=fine-settimana')).body), ['Mostra fotografica del Borgo', 'Sagra del tartufo & <vino>', 'Rievocazione storica']);
    t.same(titles((await get('/eventi?periodo=7-giorni')).body), [
      'Mostra fotografica del Borgo',
      'Partita di pallavolo',
      'Concerti del giovedì',
      'Sagra del tartufo & <vino>',
      'Rievocazione storica',
    ]);
    const april1 = await get('/eventi?dal=2027-04-01&al=2027-04-01');
    t.same(titles(april1.body), ['Mostra fotografica del Borgo', 'Concerti del giovedì']);
    t.match(april1.body, /<time datetime="2027-04-01T16:00:00.000Z">giovedì 1 aprile 2027, 18:00–19:30<\/time>/, 'summer time: 16:00 UTC is 18:00 in Rome');
    t.same(titles((await get('/eventi?dal=2027-03-01&al=2027-03-15')).body), ['Corsa di marzo'], 'a past range shows past events');
    const wrong = await get('/eventi?dal=2027-04-10&al=2027-04-01');
    t.equal(wrong.statusCode, 400);
    t.match(wrong.body, /La data finale è precedente a quella iniziale/);
    t.equal((await get('/eventi?dal=2027-02-30')).statusCode, 400, 'an impossible date');
    t.equal((await get('/eventi?dal=ieri')).statusCode, 400, 'not a date');
    t.equal((await get('/eventi?periodo=domani')).statusCode, 400);
  });

  await t.test('comune, zone and category filters; unknown values say so', async (t) => {
    t.same(titles((await get('/eventi?comune=' + await ipa(app, 'Campobasso'))).body), ['Partita di pallavolo', 'Sagra del tartufo & <vino>', 'Rievocazione storica']);
    t.same(titles((await get('/eventi?categoria=mostre')).body), ['Mostra fotografica del Borgo']);
    t.same(titles((await get(`/eventi?comune=${await ipa(app, 'Campobasso')}&categoria=sport`)).body), ['Partita di pallavolo']);
    await app.db.insert(zones).values({ slug: 'matese', name: 'Matese' });
    await app.db.update(enti).set({ zone: 'Matese' }).where(eq(enti.id, await comuneId(app, 'Bojano')));
    const zone = await get('/eventi?zona=matese');
    t.same([...new Set(titles(zone.body))], ['Concerti del giovedì']);
    t.match(zone.body, /<option value="matese" selected>Matese<\/option>/);
    const unknown = await get('/eventi?comune=c_zzzz');
    t.equal(unknown.statusCode, 404);
    t.match(unknown.body, /Il comune scelto non esiste/);
    t.equal((await get('/eventi?categoria=inesistente')).statusCode, 404);
    t.equal((await get('/eventi?comune=%3Cscript%3E')).statusCode, 400, 'malformed values are refused by the schema');
  });

  await t.test('paging: 12 a page, next and previous links keep the filters; the page after the last is empty', async (t) => {
    for (let i = 1; i <= 14; i++) await addEvent(app, { comune: 'Larino', category: 'incontri-convegni', title: `Incontro ${String(i).padStart(2, '0')}`, day: '2027-04-02', time: `${String(8 + (i % 12)).padStart(2, '0')}:${i < 12 ? '00' : '30'}` });
    const first = await get(`/eventi?comune=${await ipa(app, 'Larino')}`);
    t.equal(titles(first.body).length, 12);
    const next = /href="([^"]+)" rel="next"/.exec(first.body)?.[1];
    t.equal(htmlUnescape(next ?? ''), `/eventi?comune=${await ipa(app, 'Larino')}&pagina=2`);
    t.notMatch(first.body, /rel="prev"/);
    const second = await get(htmlUnescape(next!));
    t.equal(titles(second.body).length, 2);
    t.notMatch(second.body, /rel="next"/);
    t.equal(htmlUnescape(/href="([^"]+)" rel="prev"/.exec(second.body)?.[1] ?? ''), `/eventi?comune=${await ipa(app, 'Larino')}`);
    t.same(new Set([...titles(first.body), ...titles(second.body)]).size, 14, 'no event twice, none lost');
    const beyond = await get(`/eventi?comune=${await ipa(app, 'Larino')}&pagina=5`);
    t.match(beyond.body, /data-testid="no-events"/);
  });

  await t.test('a change shows at once (the cached list follows events, categories and comuni); other writes keep it', async (t) => {
    const before = await get('/eventi?periodo=oggi');
    t.match(before.body, /Partita di pallavolo/);
    await editEvent(app, partita, { title: 'Partita di pallavolo – finale' });
    t.match((await get('/eventi?periodo=oggi')).body, /Partita di pallavolo – finale/, 'an edit through the back office');
    await app.db.update(eventCategories).set({ name: 'Sport e giochi', updatedAt: new Date().toISOString() }).where(eq(eventCategories.slug, 'sport'));
    t.match((await get('/eventi?periodo=oggi')).body, /<span class="badge bg-primary">Sport e giochi<\/span>/, 'a category renamed');
    const cb = await comuneId(app, 'Campobasso');
    await app.db.update(enti).set({ name: 'Comune di Campobasso (CB)' }).where(eq(enti.id, cb));
    t.match((await get('/eventi?periodo=oggi')).body, /Piazza del Municipio – Campobasso \(CB\)/, 'a comune renamed');
    await app.db.update(enti).set({ name: 'Comune di Campobasso' }).where(eq(enti.id, cb));
    await app.db.update(eventCategories).set({ name: 'Sport', updatedAt: new Date(Date.now() + 1000).toISOString() }).where(eq(eventCategories.slug, 'sport'));
    // A write the list does not show (a news item) keeps the cached page.
    const cached = (await get('/eventi?periodo=oggi')).body;
    await app.db.insert(publicNews).values({ enteId: await comuneId(app, 'Termoli'), status: 'draft', title: 'Bozza', summary: 'Non pubblicata.' });
    t.equal((await get('/eventi?periodo=oggi')).body.replace(/nonce="[^"]+"/g, ''), cached.replace(/nonce="[^"]+"/g, ''), 'unrelated write: same page from memory');
  });

  await t.test('the event page: when, where, price, links, map and geo links, share links, .ics, JSON-LD, Open Graph', async (t) => {
    const res = await get(`/eventi/${sagra.id}`);
    t.equal(res.statusCode, 200);
    t.match(res.body, /<h1 id="event-title" class="mb-2">Sagra del tartufo &amp; &lt;vino&gt;<\/h1>/);
    t.match(res.body, /data-testid="event-when">sabato 27 marzo 2027, 19:00–23:00</);
    t.match(res.body, /<dt>Costo<\/dt><dd>5,00\s?€<\/dd>|<dt>Costo<\/dt><dd>€\s?5,00<\/dd>/);
    const plain = htmlUnescape(res.body);
    t.match(plain, /href="https:\/\/www.openstreetmap.org\/\?mlat=41.560300&mlon=14.662700#map=17\/41.560300\/14.662700" rel="noopener" data-testid="osm-link"/);
    t.match(plain, /href="geo:41.560300,14.662700\?q=41.560300,14.662700\(Villa%20de%20Capoa\)"/);
    t.match(res.body, /<a href="https:\/\/example.invalid\/programma" rel="noopener">Programma completo<\/a>/);
    t.match(res.body, /href="\/eventi\/\d+.ics" data-testid="ics-link"/);
    for (const host of ['wa.me', 't.me', 'www.facebook.com', 'x.com']) t.match(res.body, new RegExp(`href="https://${host.replace('.', '\\.')}/`), `share on ${host}`);
    t.match(plain, /href="mailto:\?subject=Sagra%20del%20tartufo%20%26%20%3Cvino%3E&body=/);
    t.notMatch(res.body, /<script[^>]+src="https?:/, 'no third-party script');
    const ld = /<script type="application\/ld\+json" nonce="[^"]+">([\s\S]*?)<\/script>/.exec(res.body)?.[1];
    const json = JSON.parse(ld!) as Record<string, any>;
    t.equal(json['@type'], 'Event');
    t.equal(json.name, 'Sagra del tartufo & <vino>', 'the JSON parses back to the title (escaped with \\u003c inside the script)');
    t.notMatch(ld!, /</, 'no < inside the script element');
    t.equal(json.startDate, '2027-03-27T18:00:00.000Z');
    t.equal(json.eventStatus, 'https://schema.org/EventScheduled');
    t.equal(json.location.geo.latitude, 41.5603);
    t.equal(json.offers.price, '5.00');
    t.match(res.body, /<meta property="og:title" content="Sagra del tartufo &amp; &lt;vino&gt;">/);
    t.match(res.body, new RegExp(`<meta property="og:url" content="${app.config.publicUrl}/eventi/${sagra.id}">`));
    t.match(res.body, new RegExp(`<link rel="canonical" href="${app.config.publicUrl}/eventi/${sagra.id}">`));
    t.match(res.body, /Eventi simili/);
  });

  await t.test('a cancelled event shows its reason; drafts and withdrawn events are 404; a slug redirects', async (t) => {
    const res = await get(`/eventi/${annullato.id}`);
    t.equal(res.statusCode, 200);
    t.match(res.body, /data-testid="event-cancelled"><strong>Evento annullato.<\/strong> Allerta meteo per vento forte/);
    t.match(res.body, /"eventStatus":"https:\/\/schema.org\/EventCancelled"/);
    t.equal((await get(`/eventi/${bozza.id}`)).statusCode, 404);
    t.equal((await get(`/eventi/${ritirato.id}`)).statusCode, 404);
    t.equal((await get(`/eventi/${ritirato.id}.ics`)).statusCode, 404);
    t.equal((await get('/eventi/999999')).statusCode, 404);
    const slug = await get(`/eventi/${sagra.id}/sagra-del-tartufo`);
    t.equal(slug.statusCode, 301);
    t.equal(slug.headers.location, `/eventi/${sagra.id}`);
    const past = await get(`/eventi/${passato.id}`);
    t.match(past.body, /Questo evento si è concluso/);
  });

  await t.test('.ics of an event parses back: a weekly event keeps 18:00 in Rome across DST; an all-day event has DATE values', async (t) => {
    const res = await get(`/eventi/${concerti.id}.ics`);
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^text\/calendar; charset=utf-8/);
    t.match(res.headers['content-disposition'], /attachment; filename="concerti-del-giovedi-\d+.ics"/);
    const parsed = Object.values(ical.sync.parseICS(res.body)).filter((c) => c?.type === 'VEVENT') as ical.VEvent[];
    t.equal(parsed.length, 4, 'four Thursdays');
    const rome = new Intl.DateTimeFormat('it-IT', { timeZone: 'Europe/Rome', hour: '2-digit', minute: '2-digit' });
    t.same(parsed.map((e) => rome.format(e.start)), ['18:00', '18:00', '18:00', '18:00']);
    t.same(parsed.map((e) => e.start.toISOString()), ['2027-03-25T17:00:00.000Z', '2027-04-01T16:00:00.000Z', '2027-04-08T16:00:00.000Z', '2027-04-15T16:00:00.000Z']);
    t.equal(new Set(parsed.map((e) => e.uid)).size, 4, 'one UID per occurrence');
    const all = await get(`/eventi/${mostra.id}.ics`);
    t.match(all.body, /DTSTART;VALUE=DATE:20270320/);
    t.match(all.body, /DTEND;VALUE=DATE:20270411/, 'DTEND is the day after the last day');
    const cancelled = await get(`/eventi/${annullato.id}.ics`);
    t.match(cancelled.body, /STATUS:CANCELLED/);
  });

  await t.test('Il mio Comune: choose a comune (cookie), see its stemma, zone, services with Paga, events and news', async (t) => {
    const empty = await get('/il-mio-comune');
    t.equal(empty.statusCode, 200);
    t.match(empty.body, /data-testid="choose-comune"/);
    const campobasso = await comuneId(app, 'Campobasso');
    await app.db.insert(publicNews).values({ enteId: campobasso, status: 'published', title: 'Nuovi orari della biblioteca', summary: 'Apertura anche il sabato.', publishedAt: '2027-03-20T09:00:00.000Z' });
    await app.db.insert(publicNews).values({ enteId: campobasso, status: 'draft', title: 'Bozza di notizia', summary: 'Non pubblicata.' });
    const { token, cookie } = await csrfFrom(app, '/il-mio-comune');
    const chosen = await app.inject({ method: 'POST', url: '/il-mio-comune', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, comune: String(campobasso) }) });
    t.equal(chosen.statusCode, 303);
    const mio = chosen.cookies.find((c) => c.name === 'mio_comune');
    t.equal(mio?.value, String(campobasso));
    t.ok(mio?.httpOnly && mio.maxAge! > 300 * 24 * 3600, 'kept for a year, HttpOnly');
    const page = await get('/il-mio-comune', `${cookie}; mio_comune=${campobasso}`);
    t.match(page.body, /<h1 class="mb-1">Campobasso<\/h1>/);
    t.match(page.body, /alt="Stemma del Comune di Campobasso"/);
    t.match(page.body, /data-testid="mio-comune-services"/);
    t.match(page.body, /class="btn btn-primary btn-sm" href="\/(comuni\/[a-z0-9_]+\/servizi\/[A-Za-z0-9_-]+|paga-avviso\?ente=\d+)">Paga/);
    t.same(titles(page.body), ['Partita di pallavolo – finale', 'Sagra del tartufo & <vino>', 'Rievocazione storica']);
    t.match(page.body, /Nuovi orari della biblioteca/);
    t.notMatch(page.body, /Bozza di notizia/);
    const comunePage = await get(`/comuni/${await ipa(app, 'Campobasso')}`);
    t.same(titles(/data-testid="comune-events">([\s\S]*?)<\/section>/.exec(comunePage.body)?.[1] ?? ''), ['Partita di pallavolo – finale', 'Sagra del tartufo & <vino>', 'Rievocazione storica'], 'the comune page shows its next events');
    const bad = await app.inject({ method: 'POST', url: '/il-mio-comune', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, comune: '999999' }) });
    t.equal(bad.statusCode, 404);
    const noToken = await app.inject({ method: 'POST', url: '/il-mio-comune', headers: { ...FORM_HEADERS, cookie }, payload: form({ comune: String(campobasso) }) });
    t.equal(noToken.statusCode, 403, 'CSRF token required');
  });

  await t.test('I miei eventi, anonymous: save in a cookie, similar events, choose categories and comuni, remove', async (t) => {
    const jar = new Map<string, string>();
    const first = await get(`/eventi/${sagra.id}`);
    absorbCookies(jar, first);
    const token = /name="_csrf" value="([^"]+)"/.exec(first.body)![1]!;
    const save = await app.inject({ method: 'POST', url: '/i-miei-eventi/salva', headers: { ...FORM_HEADERS, cookie: cookieHeader(jar) }, payload: form({ _csrf: token, evento: String(sagra.id) }) });
    t.equal(save.statusCode, 303);
    t.equal(save.headers.location, `/eventi/${sagra.id}`);
    absorbCookies(jar, save);
    t.equal(jar.get('eventi_salvati'), String(sagra.id));
    const again = await get(`/eventi/${sagra.id}`, cookieHeader(jar));
    t.match(again.body, /Evento salvato tra i tuoi eventi/);
    t.match(again.body, /data-testid="saved-note"/);
    await app.inject({ method: 'POST', url: '/i-miei-eventi/salva', headers: { ...FORM_HEADERS, cookie: cookieHeader(jar) }, payload: form({ _csrf: token, evento: String(passato.id) }) }).then((r) => absorbCookies(jar, r));
    t.equal(jar.get('eventi_salvati'), `${passato.id}.${sagra.id}`, 'newest first');
    const mine = await get('/i-miei-eventi', cookieHeader(jar));
    t.equal(mine.statusCode, 200);
    const saved = /data-testid="saved-events">([\s\S]*?)<\/section>/.exec(mine.body)![1]!;
    t.same(titles(saved), ['Corsa di marzo', 'Sagra del tartufo & <vino>']);
    t.match(saved, /<span class="badge bg-secondary">Concluso<\/span>/);
    // Without a choice: like the saved events (sport, sagre) and their comune (Campobasso); a cancelled one is not suggested.
    const similar = /data-testid="similar-events">([\s\S]*?)<\/div>\s*<\/section>/.exec(mine.body)?.[1] ?? '';
    t.same(titles(similar), ['Partita di pallavolo – finale']);
    // Choose: nature in any comune, and Termoli.
    const prefs = await app.inject({
      method: 'POST',
      url: '/i-miei-eventi/preferenze',
      headers: { ...FORM_HEADERS, cookie: cookieHeader(jar) },
      payload: `_csrf=${encodeURIComponent(token)}&categorie=${await categoryId(app, 'natura-escursioni')}&comuni=${await comuneId(app, 'Termoli')}`,
    });
    t.equal(prefs.statusCode, 303);
    absorbCookies(jar, prefs);
    const chosen = await get('/i-miei-eventi', cookieHeader(jar));
    t.same(titles(/data-testid="similar-events">([\s\S]*?)<\/div>\s*<\/section>/.exec(chosen.body)?.[1] ?? ''), ['Mostra fotografica del Borgo', 'Escursione al bosco']);
    t.match(chosen.body, new RegExp(`id="f-cat-${await categoryId(app, 'natura-escursioni')}" name="categorie" value="\\d+" type="checkbox" checked`));
    const remove = await app.inject({ method: 'POST', url: '/i-miei-eventi/rimuovi', headers: { ...FORM_HEADERS, cookie: cookieHeader(jar) }, payload: form({ _csrf: token, evento: String(passato.id) }) });
    absorbCookies(jar, remove);
    t.equal(jar.get('eventi_salvati'), String(sagra.id));
    const draft = await app.inject({ method: 'POST', url: '/i-miei-eventi/salva', headers: { ...FORM_HEADERS, cookie: cookieHeader(jar) }, payload: form({ _csrf: token, evento: String(bozza.id) }) });
    t.equal(draft.statusCode, 404, 'a draft cannot be saved');
  });

  await t.test('signed in: the cookie choices move to the profile; saves and Il mio Comune live in the database', async (t) => {
    const userId = await upsertUser(app.db, { fiscalCode: 'FRRLCU80A41B519Z', name: 'Lucia', familyName: 'Ferrante' }, { actor: 'test' });
    const session = await loginAs(app, 'FRRLCU80A41B519Z');
    const res = await get('/i-miei-eventi', `${session}; eventi_salvati=${riccia.id}.${sagra.id}; mio_comune=${await comuneId(app, 'Termoli')}`);
    t.equal(res.statusCode, 200);
    t.same(titles(/data-testid="saved-events">([\s\S]*?)<\/section>/.exec(res.body)![1]!), ['Escursione al bosco', 'Sagra del tartufo & <vino>']);
    t.ok(res.cookies.some((c) => c.name === 'eventi_salvati' && c.value === ''), 'the cookie is cleared');
    t.same(
      (await app.db.select({ id: eventSaves.eventId }).from(eventSaves).where(eq(eventSaves.userId, userId))).map((r) => r.id).sort(),
      [riccia.id, sagra.id].sort(),
    );
    t.equal((await app.db.select().from(citizenEventPreferences).where(eq(citizenEventPreferences.userId, userId)).limit(1))[0]?.enteId, await comuneId(app, 'Termoli'));
    const page = await get(`/eventi/${concerti.id}`, session);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    await app.inject({ method: 'POST', url: '/i-miei-eventi/salva', headers: { ...FORM_HEADERS, cookie: session }, payload: form({ _csrf: token, evento: String(concerti.id) }) });
    t.ok((await app.db.select().from(eventSaves).where(and(eq(eventSaves.userId, userId), eq(eventSaves.eventId, concerti.id))).limit(1))[0], 'saved in event_saves');
    const choose = await app.inject({ method: 'POST', url: '/il-mio-comune', headers: { ...FORM_HEADERS, cookie: session }, payload: form({ _csrf: token, comune: String(await comuneId(app, 'Riccia')) }) });
    t.equal(choose.statusCode, 303);
    t.equal((await app.db.select().from(citizenEventPreferences).where(eq(citizenEventPreferences.userId, userId)).limit(1))[0]?.enteId, await comuneId(app, 'Riccia'));
    const list = await get('/eventi', session);
    t.equal(list.statusCode, 200);
    t.match(list.body, /Lucia Ferrante/, 'the reused list page carries the signed-in header');
    t.match(list.body, /name="_csrf" value="[^"]+"/, 'and this session’s logout token');
    t.notMatch((await get('/eventi')).body, /Lucia Ferrante/, 'an anonymous visitor does not get it');
    const mio = await get('/il-mio-comune', session);
    t.match(mio.body, /<h1 class="mb-1">Riccia<\/h1>/, 'from the profile, without any cookie');
    await app.inject({ method: 'POST', url: '/i-miei-eventi/rimuovi', headers: { ...FORM_HEADERS, cookie: session }, payload: form({ _csrf: token, evento: String(concerti.id) }) });
    t.notOk((await app.db.select().from(eventSaves).where(and(eq(eventSaves.userId, userId), eq(eventSaves.eventId, concerti.id))).limit(1))[0], 'removed');
  });
});

async function ipa(app: FastifyInstance, name: string): Promise<string> {
  return (await app.db.select({ ipa: enti.ipaCode }).from(enti).where(eq(enti.id, await comuneId(app, name))).limit(1))[0]!.ipa;
}
