/** The SAEL admin's listino pages: classes, price lists and their prices, per-ente overrides. */
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { parseBandsText } from '../../src/modules/catalogue/listino-routes.js';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { sqlAll, sqlGet } from '../../src/db/raw.js';

const HTML = { accept: 'text/html' };
const who = (role: string, istat?: string) => demoUserFiscalCodes().find((u) => u.role === role && (istat === undefined || u.enteIstat === istat))!.fiscalCode;

t.test('bands typed one per line', async (t) => {
  t.same(parseBandsText('1-10: 150,00\n11-30: 350\n31+: 600,00'), { ok: true, bands: [{ from: 1, to: 10, amountCents: 15000 }, { from: 11, to: 30, amountCents: 35000 }, { from: 31, to: null, amountCents: 60000 }] });
  t.same(parseBandsText('1-: 10'), { ok: true, bands: [{ from: 1, to: null, amountCents: 1000 }] });
  t.match(parseBandsText('1-10 150'), { ok: false, error: /Riga 1/ });
  t.match(parseBandsText('1-10: 1\n12+: 2'), { ok: false, error: /deve partire da 11/ });
});

t.test('listino admin pages', async (t) => {
  const app = await buildTestApp(t);
  const admin = await loginAs(app, who('sael_admin'));
  const operator = await loginAs(app, who('operator', '070006'));
  const post = (url: string, cookie: string, fields: Record<string, string>) => app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie }, payload: form(fields) });
  const audits = async (entity: string) => ((await sqlGet(app.db, 'SELECT count(*) AS n FROM audit_log WHERE entity = ?', entity)) as { n: number }).n;

  await t.test('non-admins get 403 on every listino page and POST', async (t) => {
    for (const url of ['/admin/catalogo/classi', '/admin/catalogo/listini', '/admin/catalogo/listini/1', '/admin/catalogo/listini/1/servizi/3', '/admin/catalogo/listini/override']) {
      t.equal((await app.inject({ url, headers: { ...HTML, cookie: operator } })).statusCode, 403, url);
    }
    const { token } = await csrfFrom(app, '/servizi', operator);
    t.equal((await post('/admin/catalogo/listini', operator, { _csrf: token, name: 'X listino', validFrom: '2027-01-01' })).statusCode, 403);
    t.equal((await post('/admin/catalogo/classi', operator, { _csrf: token, code_0: 'A', label_0: 'Tutti', min_0: '0', max_0: '' })).statusCode, 403);
  });

  await t.test('classes: counts per class; overlap and gap refused with nothing saved; a valid split is audited', async (t) => {
    const page = await app.inject({ url: '/admin/catalogo/classi', headers: { ...HTML, cookie: admin } });
    t.equal(page.statusCode, 200);
    t.match(page.body, /<th scope="row">A<\/th><td>Fino a 1\.000 abitanti<\/td><td>36<\/td>/);
    const { token } = await csrfFrom(app, '/admin/catalogo/classi', admin);
    const ids = ((await sqlAll(app.db, 'SELECT id, code FROM ente_classes ORDER BY min_population')) as { id: number; code: string }[]);
    const rows = (spec: [string, string, string, string][]) =>
      Object.fromEntries(spec.flatMap(([code, label, min, max], i) => [[`id_${i}`, String(ids.find((c) => c.code === code)?.id ?? '')], [`code_${i}`, code], [`label_${i}`, label], [`min_${i}`, min], [`max_${i}`, max]]));
    const bad = await post('/admin/catalogo/classi', admin, { _csrf: token, ...rows([['A', 'Piccoli', '0', '1000'], ['B', 'Medi', '900', '3000'], ['C', 'Grandi', '3500', '']]) });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /A e B si sovrappongono/);
    t.match(bad.body, /mancano le popolazioni da 3\.001 a 3\.499/);
    t.equal(await audits('ente_classes'), 0);
    const inUse = await post('/admin/catalogo/classi', admin, { _csrf: token, ...rows([['A', 'Fino a 3.000', '0', '3000'], ['C', 'Da 3.001', '3001', '']]) });
    t.equal(inUse.statusCode, 409, 'a class with prices cannot be dropped');
    t.match(inUse.body, /ha prezzi nei listini/);
    const ok = await post('/admin/catalogo/classi', admin, {
      _csrf: token,
      ...rows([['A', 'Fino a 1.000 abitanti', '0', '1000'], ['B', 'Da 1.001 a 3.000', '1001', '3000'], ['C', 'Da 3.001 a 5.000', '3001', '5000'], ['D', 'Da 5.001 a 20.000', '5001', '20000'], ['E', 'Oltre 20.000', '20001', '']]),
    });
    t.equal(ok.statusCode, 303);
    t.equal(await audits('ente_classes'), 1);
    t.match((await app.inject({ url: '/admin/catalogo/classi', headers: { ...HTML, cookie: admin } })).body, /Oltre 20\.000<\/td><td>2<\/td>/);
  });

  await t.test('lists: validity checked; prices per class set, bands validated; the scheda and the resolver follow', async (t) => {
    const { token } = await csrfFrom(app, '/admin/catalogo/listini', admin);
    const bad = await post('/admin/catalogo/listini', admin, { _csrf: token, name: 'Listino 2027', validFrom: '2027-12-31', validTo: '2027-01-01' });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /non può precedere l’inizio/);
    const created = await post('/admin/catalogo/listini', admin, { _csrf: token, name: 'Listino 2026 deliberato', validFrom: '2026-01-01', validTo: '', notes: 'Delibera n. 1' });
    t.equal(created.statusCode, 303);
    const id = Number(/\/admin\/catalogo\/listini\/(\d+)$/.exec(created.headers.location as string)![1]);
    const classE = ((await sqlGet(app.db, "SELECT id FROM ente_classes WHERE code = 'E'")) as { id: number }).id;
    const badPrices = await post(`/admin/catalogo/listini/${id}/servizi/3`, admin, { _csrf: token, mode_default: 'bands', bands_default: '2-5: 10', [`mode_${classE}`]: 'fixed', [`amount_${classE}`]: 'mille' });
    t.equal(badPrices.statusCode, 400);
    t.match(badPrices.body, /Prezzo predefinito: .*partire da 1/);
    t.match(badPrices.body, /Classe E: Indica l’importo in euro/);
    const okPrices = await post(`/admin/catalogo/listini/${id}/servizi/3`, admin, { _csrf: token, mode_default: 'fixed', amount_default: '500,00', [`mode_${classE}`]: 'fixed', [`amount_${classE}`]: '1.100,00' });
    t.equal(okPrices.statusCode, 303);
    const grid = await app.inject({ url: `/admin/catalogo/listini/${id}`, headers: { ...HTML, cookie: admin } });
    t.match(grid.body, /1\.100,00\s€ all’anno/);
    const scheda = await app.inject({ url: '/servizi/3', headers: { ...HTML, cookie: operator } });
    t.match(scheda.body, /1\.100,00\s€ all’anno<\/strong>/, 'the real list now applies to Campobasso (class E)');
    t.notMatch(scheda.body, /data-testid="demo-badge"/);
    t.match(scheda.body, /Listino 2026 deliberato/);
    t.equal((await app.inject({ url: `/admin/catalogo/listini/${id}/servizi/19`, headers: { ...HTML, cookie: admin } })).statusCode, 409, 'free services have no price');
    t.equal((await app.inject({ url: '/admin/catalogo/listini/9999', headers: { ...HTML, cookie: admin } })).statusCode, 404);
  });

  await t.test('per-ente override: validated, wins on the scheda, deletable; audited', async (t) => {
    const { token } = await csrfFrom(app, '/admin/catalogo/listini/override', admin);
    const campobasso = ((await sqlGet(app.db, "SELECT id FROM enti WHERE name = 'Comune di Campobasso'")) as { id: number }).id;
    const bad = await post('/admin/catalogo/listini/override', admin, { _csrf: token, enteId: String(campobasso), serviceCode: '19', mode: 'fixed', amount: '-1', validFrom: 'ieri' });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /Scegli un servizio a listino/);
    t.match(bad.body, /Indica l’importo in euro/);
    t.match(bad.body, /Indica la data di inizio validità/);
    const ok = await post('/admin/catalogo/listini/override', admin, { _csrf: token, enteId: String(campobasso), serviceCode: '3', mode: 'fixed', amount: '700', validFrom: '2020-01-01', note: 'Accordo 2026' });
    t.equal(ok.statusCode, 303);
    const scheda = await app.inject({ url: '/servizi/3', headers: { ...HTML, cookie: operator } });
    t.match(scheda.body, /700,00\s€ all’anno<\/strong>/);
    t.match(scheda.body, /prezzo concordato per il tuo ente/);
    const overrideId = ((await sqlGet(app.db, 'SELECT id FROM ente_prices')) as { id: number }).id;
    t.equal((await post(`/admin/catalogo/listini/override/${overrideId}/elimina`, admin, { _csrf: token })).statusCode, 303);
    t.equal((await post(`/admin/catalogo/listini/override/${overrideId}/elimina`, admin, { _csrf: token })).statusCode, 404);
    t.equal(await audits('ente_price'), 2);
  });
});
