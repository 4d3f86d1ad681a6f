/**
 * The SAEL dashboard's figures from known data (matrix, revenue per year, overdue, expiring,
 * training fill), the page and its CSV exports, who may see them, and the cache: a write through
 * this connection or another one shows on the next request.
 */
import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { adesioni, trainingSessions } from '../../src/modules/catalogue/schema.js';
import { enti } from '../../src/modules/enti/schema.js';
import { computeDashboard, dashboardData } from '../../src/modules/catalogue/dashboard-queries.js';
import { loginAs } from '../helpers.js';
import { comuneId, dashboardApp, insertAdesione, insertCharge, seedKnownData, someServices } from './dashboard-fixtures.js';
import pg from 'pg';
import { dialectOf } from '../../src/db/raw.js';

const user = (role: string, enteIstat?: string) => demoUserFiscalCodes().find((u) => u.role === role && (!enteIstat || u.enteIstat === enteIstat))!.fiscalCode;

t.test('figures from known data', async (t) => {
  const app = await dashboardApp(t);
  const k = await seedKnownData(app);
  const d = await computeDashboard(app.db, '2030-06-15');

  t.equal(d.matrix.length, 84, 'one row per comune of the province');
  const col = (id: number) => d.services.findIndex((s) => s.id === id);
  const row = (id: number) => d.matrix.find((r) => r.enteId === id)!;
  const cells = (id: number) => [k.s1, k.s2, k.s3].map((s) => row(id).cells[col(s.id)]);
  t.same(cells(k.C), ['active', 'suspended', null], 'Campobasso: the latest adesione of s1 (active, not the renewed one), s2 suspended');
  t.same(cells(k.T), ['expiring', 'active', 'submitted'], 'Termoli');
  t.same(cells(k.B), [null, 'rejected', null], 'Bojano: the draft is not shown');
  t.same([row(k.C).inForce, row(k.T).inForce, row(k.B).inForce], [2, 2, 0], 'in force per comune');
  t.same([k.s1, k.s2, k.s3].map((s) => d.services[col(s.id)]!.inForce), [2, 2, 0], 'in force per service');
  t.equal(d.inForceTotal, 4);
  t.equal(d.comuniWithAdesioni, 2);
  t.same(d.statusCounts, { active: 2, suspended: 1, expiring: 1, submitted: 1, rejected: 1 });
  t.equal(d.matrix.filter((r) => r.cells.some(Boolean)).length, 3, 'the other 81 comuni have empty rows');

  t.same(d.revenue, [
    { year: 2028, issuedCount: 1, issuedCents: 10000, paidCount: 1, paidCents: 10000 },
    { year: 2029, issuedCount: 1, issuedCents: 12000, paidCount: 0, paidCents: 0 },
    { year: 2030, issuedCount: 4, issuedCents: 16111, paidCount: 1, paidCents: 12000 },
  ], 'issued by year of issue (cancelled excluded), paid by year of payment');

  t.same(d.overdue, {
    count: 2,
    cents: 8000,
    enti: [
      { enteId: k.C, enteName: 'Comune di Campobasso', count: 1, cents: 5000 },
      { enteId: k.T, enteName: 'Comune di Termoli', count: 1, cents: 3000 },
    ],
  }, 'issued and past due (a charge due today is not overdue yet), largest first');

  t.same(
    d.expiring.map((e) => [e.id, e.endDate, e.daysLeft, e.autoRenew]),
    [
      [k.cS1, '2030-06-30', 15, true],
      [k.tS1, '2030-08-01', 47, false],
    ],
    'in force and ending within 60 days (Termoli s2 ends in 107)',
  );

  t.same(
    d.training.map((s) => [s.title, s.seats, s.taken, s.waitlisted, s.fillPercent]),
    [['Giornata formativa PagoPA', 20, 3, 1, 15]],
    'confirmed over seats; cancelled sessions and those older than a year left out',
  );
});

t.test('the page, its exports and who may see them', async (t) => {
  const app = await dashboardApp(t);
  const k = await seedKnownData(app);
  const admin = await loginAs(app, user('sael_admin'));
  const res = await app.inject({ url: '/admin/catalogo', headers: { cookie: admin, accept: 'text/html' } });
  t.equal(res.statusCode, 200);
  const html = res.body;
  t.match(html, /aria-current="page">Cruscotto</, 'the catalogue tabs, on "Cruscotto"');
  t.match(html, /data-testid="kpi-in-force">4</);
  t.match(html, /data-testid="kpi-overdue">80,00\s€</);
  t.equal((html.match(/<tr><th scope="row" title="Comune di /g) ?? []).length, 84, '84 rows in the matrix');
  const termoli = /<tr><th scope="row" title="Comune di Termoli">[\s\S]*?<\/tr>/.exec(html)![0];
  t.match(termoli, /<td class="m-expiring"><span class="visually-hidden">In scadenza<\/span><\/td>/, 'each cell reads its state');
  t.match(html, /\.sael-matrix td\.m-expiring::before \{ content: "Sc"; content: "Sc" \/ ""; \}/, 'and shows a mark, not only a colour');
  t.match(html, /<svg[^>]*role="img"[^>]*aria-labelledby="chart-revenue-t chart-revenue-d"/, 'the revenue chart is an accessible SVG');
  t.match(html, /<title id="chart-revenue-t">Addebiti emessi e pagati per anno<\/title>/);
  t.match(html, /<title>2030, emessi: 161,11\s€ \(4\)<\/title>/, 'each bar carries its figure');
  t.match(html, /<th scope="row">2030<\/th><td class="text-end">4<\/td><td class="text-end">161,11\s€<\/td><td class="text-end">1<\/td><td class="text-end">120,00\s€<\/td>/, 'and the figures are in a table');
  t.match(html, /<svg[^>]*aria-labelledby="chart-training-t chart-training-d"/);
  t.match(html, /data-testid="expiring-total">2 adesioni/);
  t.notMatch(html, /<script(?![^>]*(bi-components|sw-register))/, 'no script of its own (only the layout’s)');

  const helpdesk = await loginAs(app, user('helpdesk'));
  const hd = await app.inject({ url: '/admin/catalogo', headers: { cookie: helpdesk } });
  t.equal(hd.statusCode, 200, 'the helpdesk reads it');
  t.ok(hd.body.includes('Laura Bianchi') && !hd.body.includes('Mario Rossi'), 'the reused page carries each user’s own header');
  const again = await app.inject({ url: '/admin/catalogo', headers: { cookie: admin } });
  const token = (h: string) => /name="_csrf" value="([^"]+)"/.exec(h)?.[1];
  t.ok(token(again.body) && token(again.body) !== token(hd.body), 'and each response its own CSRF token');
  const operator = await loginAs(app, user('operator'));
  t.equal((await app.inject({ url: '/admin/catalogo', headers: { cookie: operator } })).statusCode, 403, 'an operator of a comune is refused');
  t.equal((await app.inject({ url: '/admin/catalogo/export/adesioni.csv', headers: { cookie: operator } })).statusCode, 403, 'also the exports');
  const enteAdmin = await loginAs(app, user('ente_admin'));
  t.equal((await app.inject({ url: '/admin/catalogo', headers: { cookie: enteAdmin } })).statusCode, 403, 'and an ente admin');
  t.equal((await app.inject({ url: '/admin/catalogo/export/adesioni.csv' })).statusCode, 401, 'anonymous: sign in first');
  t.equal((await app.inject({ url: '/admin/catalogo/export/utenti.csv', headers: { cookie: admin } })).statusCode, 400, 'no other export');
  t.equal((await app.inject({ url: '/admin/catalogo?format=xml', headers: { cookie: admin } })).statusCode, 400);

  const csv = async (url: string) => {
    const r = await app.inject({ url, headers: { cookie: admin } });
    t.equal(r.statusCode, 200, url);
    t.match(r.headers['content-type'], /^text\/csv/);
    t.match(r.headers['content-disposition'], /^attachment; filename="catalogo-.*-2030-06-15\.csv"$/);
    return r.body.replace(/^\uFEFF/, '').split(/\r?\n/).filter(Boolean);
  };
  const matrix = await csv('/admin/catalogo/export/adesioni.csv');
  t.equal(matrix.length, 85, 'header + 84 comuni');
  const head = matrix[0]!.split(';');
  const tl = matrix.find((l) => l.startsWith('Comune di Termoli;'))!.split(';');
  t.equal(tl[head.indexOf(`servizio_${k.s1.code}`)], 'In scadenza');
  t.equal(tl[head.indexOf(`servizio_${k.s3.code}`)], 'Inviata');
  t.equal(tl.at(-1), '2');
  t.same(await csv('/admin/catalogo/export/ricavi.csv'), [
    'anno;addebiti_emessi;importo_emesso;addebiti_pagati;importo_pagato',
    '2028;1;100,00;1;100,00',
    '2029;1;120,00;0;0,00',
    '2030;4;161,11;1;120,00',
  ]);
  t.same(await csv('/admin/catalogo?format=csv&tabella=ricavi'), await csv('/admin/catalogo/export/ricavi.csv'), 'the same through ?format=csv');
  t.same(await csv('/admin/catalogo/export/scaduti.csv'), ['ente;addebiti_scaduti;importo_scaduto', 'Comune di Campobasso;1;50,00', 'Comune di Termoli;1;30,00']);
  t.equal((await csv('/admin/catalogo/export/in-scadenza.csv')).length, 3);

  // A formula in a cell is neutralised; separators and quotes are quoted.
  await app.db.update(trainingSessions).set({ title: '=HYPERLINK("http://x.invalid";"clic")' }).where(eq(trainingSessions.id, k.future));
  await app.db.update(enti).set({ name: '@SUM(1+1); "Comune"' }).where(eq(enti.id, k.C));
  const training = await csv('/admin/catalogo/export/formazione.csv');
  t.equal(training[1], `"'=HYPERLINK(""http://x.invalid"";""clic"")";2030-07-10T09:00:00.000Z;scheduled;20;3;1;15,0`);
  t.ok((await csv('/admin/catalogo/export/scaduti.csv')).includes(`"'@SUM(1+1); ""Comune""";1;50,00`), 'ente names too');
});

t.test('the cache follows every write', async (t) => {
  const app = await dashboardApp(t);
  const k = await seedKnownData(app);
  const onPostgres = dialectOf(app.db) === 'postgres';
  const first = await dashboardData(app.db, '2030-06-15');
  // SQLite keeps the computed figures; PostgreSQL computes them for each request (no cache).
  if (onPostgres) t.same(await dashboardData(app.db, '2030-06-15'), first, 'unchanged data: the same figures');
  else t.equal(await dashboardData(app.db, '2030-06-15'), first, 'unchanged data: the same computed figures');
  t.not(await dashboardData(app.db, '2030-06-16'), first, 'a new day: computed again');

  await app.db.update(adesioni).set({ status: 'active' }).where(eq(adesioni.id, k.cS2));
  const afterUpdate = await dashboardData(app.db, '2030-06-16');
  t.equal(afterUpdate.inForceTotal, 4, 'suspended → active: still in force');
  t.equal(afterUpdate.statusCounts.active, 3, 'an update through this connection shows at once');

  // Another connection (a CLI process, another server process) writes: on SQLite data_version moves.
  if (onPostgres) {
    const other = new pg.Client({ connectionString: app.config.databaseUrl });
    await other.connect();
    await other.query("UPDATE adesioni SET status = 'withdrawn' WHERE id = $1", [k.tS2]);
    await other.end();
  } else {
    const other = new Database(app.config.databaseFile);
    t.teardown(() => other.close());
    other.prepare("UPDATE adesioni SET status = 'withdrawn' WHERE id = ?").run(k.tS2);
  }
  const afterOther = await dashboardData(app.db, '2030-06-16');
  t.equal(afterOther.statusCounts.withdrawn, 1, 'a commit by another connection shows too');
  t.equal(afterOther.inForceTotal, 3);

  const admin = await loginAs(app, user('sael_admin'));
  await app.db.update(adesioni).set({ status: 'expired' }).where(eq(adesioni.id, k.cS1));
  const html = (await app.inject({ url: '/admin/catalogo', headers: { cookie: admin } })).body;
  t.match(html, /data-testid="kpi-in-force">2</, 'the page shows the change');
});

t.test('revenue counts by the Italian calendar year, whatever the offset of the stored instant', async (t) => {
  const app = await dashboardApp(t);
  const [s] = await someServices(app.db, 1);
  const ente = await comuneId(app.db, 'Larino');
  const a = await insertAdesione(app.db, { enteId: ente, serviceId: s!.id, status: 'active' });
  // 23:30 UTC on 31 December is 00:30 of 1 January in Italy; the node's own form carries +01:00.
  await insertCharge(app.db, { adesioneId: a, enteId: ente, kind: 'annual', periodKey: 2031, amountCents: 700, createdAt: '2030-12-31T23:30:00.000Z', dueDate: '2031-01-30', status: 'paid', paidAt: '2030-12-31T23:45:00.000Z' });
  await insertCharge(app.db, { adesioneId: a, enteId: ente, kind: 'one_off', periodKey: 0, amountCents: 300, createdAt: '2030-12-31T22:00:00.000Z', dueDate: '2031-01-30', status: 'paid', paidAt: '2031-01-01T00:10:00+01:00' });
  const d = await computeDashboard(app.db, '2031-01-02');
  t.same(d.revenue, [
    { year: 2030, issuedCount: 1, issuedCents: 300, paidCount: 0, paidCents: 0 },
    { year: 2031, issuedCount: 1, issuedCents: 700, paidCount: 2, paidCents: 1000 },
  ], 'issued at 23:00 Italian time of 31 December counts in 2030; both payments were made on 1 January in Italy');
});
