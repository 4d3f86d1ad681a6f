/**
 * Event feeds and open data (#17 part B), each parsed back: iCalendar per comune and per category
 * (node-ical), RSS 2.0 and Atom (@xmldom/xmldom's parser), open data JSON and CSV (csv-parse)
 * with the CC BY 4.0 licence; drafts never leak; a cell starting with "=" is not a formula.
 */
import t from 'tap';
import { DOMParser } from '@xmldom/xmldom';
import { parse as parseCsv } from 'csv-parse/sync';
import ical from 'node-ical';
import { eq } from 'drizzle-orm';
import { enti } from '../../src/modules/enti/schema.js';
import { addEvent, comuneId, eventsApp } from './pub-fixtures.js';

const NOW = '2027-03-24T10:00:00.000Z';

t.test('feeds and open data', async (t) => {
  const { app, clock } = await eventsApp(t, NOW);
  const ipa = async (name: string) => (await app.db.select({ ipa: enti.ipaCode }).from(enti).where(eq(enti.id, await comuneId(app, name))).limit(1))[0]!.ipa;
  const get = (url: string) => app.inject({ method: 'GET', url });

  const sagra = await addEvent(app, { comune: 'Campobasso', category: 'sagre-enogastronomia', title: 'Sagra "del" tartufo & <vino>', day: '2027-03-27', time: '19:00', endTime: '23:00', latitude: 41.56, longitude: 14.66 });
  clock.now = new Date('2027-03-24T11:00:00.000Z');
  const concerti = await addEvent(app, { comune: 'Campobasso', category: 'spettacoli-concerti', title: 'Concerti del giovedì', day: '2027-03-25', time: '18:00', endTime: '19:30', weeklyUntil: '2027-04-08' });
  clock.now = new Date('2027-03-24T12:00:00.000Z');
  const annullato = await addEvent(app, { comune: 'Campobasso', category: 'sagre-enogastronomia', title: 'Festa annullata', day: '2027-03-28', status: 'cancelled', cancelReason: 'Allerta meteo' });
  const termoli = await addEvent(app, { comune: 'Termoli', category: 'sagre-enogastronomia', title: '=HYPERLINK("http://x.invalid")', day: '2027-03-29', free: false, priceCents: 1250 });
  await addEvent(app, { comune: 'Campobasso', category: 'sport', title: 'Bozza segreta', day: '2027-03-26', status: 'draft' });
  await addEvent(app, { comune: 'Campobasso', category: 'sport', title: 'Evento ritirato', day: '2027-03-26', status: 'unpublished' });
  clock.now = new Date(NOW);

  await t.test('iCalendar per comune: every occurrence, the cancelled one as CANCELLED, nothing of other comuni or drafts', async (t) => {
    const res = await get(`/eventi/feed/comune/${await ipa('Campobasso')}.ics`);
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^text\/calendar; charset=utf-8/);
    const cal = ical.sync.parseICS(res.body);
    const vevents = Object.values(cal).filter((c) => c?.type === 'VEVENT') as ical.VEvent[];
    const summaries = vevents.map((e) => String(e.summary));
    t.same(summaries.sort(), ['ANNULLATO: Festa annullata', 'Concerti del giovedì', 'Concerti del giovedì', 'Concerti del giovedì', 'Sagra "del" tartufo & <vino>'].sort());
    t.equal(vevents.find((e) => String(e.summary).startsWith('ANNULLATO'))?.status, 'CANCELLED');
    t.same(vevents.filter((e) => String(e.summary) === 'Concerti del giovedì').map((e) => e.start.toISOString()), ['2027-03-25T17:00:00.000Z', '2027-04-01T16:00:00.000Z', '2027-04-08T16:00:00.000Z'], '18:00 in Rome before and after the clock change');
    const uid = vevents.find((e) => String(e.summary).startsWith('Sagra'))!.uid;
    t.equal(uid, `event-${sagra.id}@localhost`, 'stable UID: the same as the event’s own .ics');
    const own = ical.sync.parseICS((await get(`/eventi/${sagra.id}.ics`)).body);
    t.ok(Object.values(own).some((c) => c?.type === 'VEVENT' && (c as ical.VEvent).uid === uid));
    t.match(res.body, /X-WR-CALNAME:Eventi – Campobasso/);
    t.match(res.body, /REFRESH-INTERVAL;VALUE=DURATION:PT6H|X-PUBLISHED-TTL:PT6H/);
    t.notMatch(res.body, /Bozza segreta|Evento ritirato|HYPERLINK/);
    t.equal((await get('/eventi/feed/comune/c_zzzz.ics')).statusCode, 404);
    t.equal((await get('/eventi/feed/comune/..%2F.ics')).statusCode, 400);
  });

  await t.test('iCalendar per category: events of every comune in that category', async (t) => {
    const res = await get('/eventi/feed/categoria/sagre-enogastronomia.ics');
    t.equal(res.statusCode, 200);
    const vevents = Object.values(ical.sync.parseICS(res.body)).filter((c) => c?.type === 'VEVENT') as ical.VEvent[];
    t.same(vevents.map((e) => String(e.summary)).sort(), ['=HYPERLINK("http://x.invalid")', 'ANNULLATO: Festa annullata', 'Sagra "del" tartufo & <vino>'].sort());
    t.equal((await get('/eventi/feed/categoria/nessuna.ics')).statusCode, 404);
  });

  await t.test('RSS 2.0 and Atom parse as XML: newest publication first, links absolute, text escaped by the serializer', async (t) => {
    const rss = await get('/eventi/feed/rss.xml');
    t.equal(rss.statusCode, 200);
    t.match(rss.headers['content-type'], /^application\/rss\+xml/);
    const doc = new DOMParser().parseFromString(rss.body, 'text/xml');
    t.equal(doc.documentElement?.nodeName, 'rss');
    t.equal(doc.documentElement?.getAttribute('version'), '2.0');
    const items = Array.from(doc.getElementsByTagName('item'));
    const text = (el: Element, name: string) => el.getElementsByTagName(name)[0]?.textContent ?? '';
    t.same(
      items.map((i) => text(i as unknown as Element, 'title')),
      ['=HYPERLINK("http://x.invalid")', 'Annullato: Festa annullata', 'Concerti del giovedì', 'Sagra "del" tartufo & <vino>'],
      'first publication, newest first; no draft, no withdrawn event',
    );
    t.equal(text(items[3] as unknown as Element, 'link'), `${app.config.publicUrl}/eventi/${sagra.id}`);
    t.equal(new Date(text(items[3] as unknown as Element, 'pubDate')).toISOString(), '2027-03-24T10:00:00.000Z');
    const self = doc.getElementsByTagNameNS('http://www.w3.org/2005/Atom', 'link')[0];
    t.equal(self?.getAttribute('rel'), 'self');

    const atom = await get(`/eventi/feed/atom.xml?comune=${await ipa('Termoli')}`);
    t.equal(atom.statusCode, 200);
    const adoc = new DOMParser().parseFromString(atom.body, 'text/xml');
    t.equal(adoc.documentElement?.namespaceURI, 'http://www.w3.org/2005/Atom');
    const entries = Array.from(adoc.getElementsByTagNameNS('http://www.w3.org/2005/Atom', 'entry'));
    t.equal(entries.length, 1, 'only Termoli');
    t.equal(entries[0]!.getElementsByTagNameNS('http://www.w3.org/2005/Atom', 'id')[0]?.textContent, `${app.config.publicUrl}/eventi/${termoli.id}`);
    t.match(adoc.getElementsByTagNameNS('http://www.w3.org/2005/Atom', 'title')[0]?.textContent ?? '', /Termoli/);
    t.equal((await get('/eventi/feed/rss.xml?comune=c_zzzz')).statusCode, 404);
    t.equal((await get('/eventi/feed/rss.xml?altro=1')).statusCode, 400);
  });

  await t.test('open data JSON: licence CC BY 4.0, every public event (cancelled included), no draft', async (t) => {
    const res = await get('/opendata/eventi.json');
    t.equal(res.statusCode, 200);
    t.match(res.headers.link, /<https:\/\/creativecommons.org\/licenses\/by\/4.0\/deed.it>; rel="license"/);
    const data = JSON.parse(res.body) as { licenza_id: string; licenza_url: string; colonne: string[]; eventi: Array<Record<string, unknown>> };
    t.equal(data.licenza_id, 'CC-BY-4.0');
    t.equal(data.eventi.length, 4);
    const s = data.eventi.find((e) => e.id === sagra.id)!;
    t.equal(s.titolo, 'Sagra "del" tartufo & <vino>');
    t.equal(s.comune, 'Campobasso');
    t.equal(s.codice_ipa, await ipa('Campobasso'));
    t.equal(s.codice_categoria, 'sagre-enogastronomia');
    t.equal(s.latitudine, 41.56);
    t.equal(s.url, `${app.config.publicUrl}/eventi/${sagra.id}`);
    t.equal(data.eventi.find((e) => e.id === annullato.id)?.stato, 'annullato');
    t.equal(data.eventi.find((e) => e.id === concerti.id)?.ricorrenza, 'settimanale');
    t.equal(data.eventi.find((e) => e.id === termoli.id)?.prezzo_euro, '12.50');
    t.same(Object.keys(s), data.colonne, 'every record has the documented columns');
  });

  await t.test('open data CSV: header, one row per event, a formula-looking title neutralised', async (t) => {
    const res = await get('/opendata/eventi.csv');
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^text\/csv; charset=utf-8/);
    const rows = parseCsv(res.body, { bom: true, columns: true }) as Array<Record<string, string>>;
    t.equal(rows.length, 4);
    t.same(rows.map((r) => Number(r.id)), [sagra.id, concerti.id, annullato.id, termoli.id]);
    t.equal(rows.find((r) => Number(r.id) === termoli.id)?.titolo, `'=HYPERLINK("http://x.invalid")`, 'spreadsheets show it as text');
    t.equal(rows.find((r) => Number(r.id) === sagra.id)?.gratuito, 'sì');
    t.equal(rows.find((r) => Number(r.id) === sagra.id)?.titolo, 'Sagra "del" tartufo & <vino>');
  });

  await t.test('a publication shows in the feeds at once (cached per database state)', async (t) => {
    const before = await get(`/eventi/feed/comune/${await ipa('Termoli')}.ics`);
    await addEvent(app, { comune: 'Termoli', category: 'sport', title: 'Regata di primavera', day: '2027-04-03' });
    const after = await get(`/eventi/feed/comune/${await ipa('Termoli')}.ics`);
    t.notMatch(before.body, /Regata di primavera/);
    t.match(after.body, /Regata di primavera/);
    t.match((await get('/eventi/feed/rss.xml')).body, /Regata di primavera/);
  });
});
