/**
 * Issue #14 §5: the CSV layout is a back-office page rendered from csv-layout.ts, and the template
 * offered for download has example rows that import as they are.
 */
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { listServices } from '../../src/modules/enti/repository.js';
import { CSV_COLUMN_DOCS, CSV_LAYOUT_RULES } from '../../src/modules/positions/csv-layout.js';
import { sqlGet } from '../../src/db/raw.js';
import { buildTestApp, htmlUnescape, loginAs } from '../helpers.js';
import { apiKeyFor, demoEnte } from '../positions/fixtures.js';

const users = demoUserFiscalCodes();
const OP_CB = users.find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode;
const OP_TE = users.find((u) => u.role === 'operator' && u.enteIstat === '070078')!.fiscalCode;

t.test('layout page and template with example rows', async (t) => {
  const app = await buildTestApp(t);
  const cb = (await demoEnte(app, 'Campobasso')).ente;
  const op = await loginAs(app, OP_CB);
  const base = `/backoffice/enti/${cb.id}/importazioni`;

  await t.test('the import page links the layout and the template', async (t) => {
    const page = await app.inject({ url: base, headers: { accept: 'text/html', cookie: op } });
    t.match(page.body, `href="${base}/tracciato"`);
    t.match(page.body, `href="${base}/modello.csv"`);
  });

  await t.test('the layout page shows every rule, every column and the ente’s service codes', async (t) => {
    const page = await app.inject({ url: `${base}/tracciato`, headers: { accept: 'text/html', cookie: op } });
    t.equal(page.statusCode, 200);
    const text = htmlUnescape(page.body);
    for (const rule of CSV_LAYOUT_RULES) t.ok(text.includes(rule), rule.slice(0, 40));
    for (const c of CSV_COLUMN_DOCS) {
      t.ok(text.includes(`<code>${c.name}</code></dt>`) && text.includes(`Obbligatoria: ${c.required}.</span> ${c.description}</dd>`), c.name);
    }
    for (const s of await listServices(app.db, cb.id, { activeOnly: true })) t.ok(text.includes(`<code>${s.code}</code></th><td>${s.name}</td><td><code>${s.taxonomyCode}</code>`), s.code);
    t.equal((await app.inject({ url: `${base}/tracciato`, headers: { accept: 'text/html', cookie: await loginAs(app, OP_TE) } })).statusCode, 403, 'another ente’s operator');
  });

  await t.test('the downloaded template imports cleanly', async (t) => {
    const tpl = await app.inject({ url: `${base}/modello.csv`, headers: { cookie: op } });
    t.equal(tpl.statusCode, 200);
    t.match(tpl.headers['content-type'], /text\/csv/);
    t.match(tpl.headers['content-disposition'], /modello-posizioni\.csv/);
    const lines = tpl.body.replace(/^\uFEFF/, '').trim().split('\r\n');
    t.equal(lines.length, 5, 'header and 4 example rows');
    t.match(lines[1], /^ESEMPIO-TARI-\d{4}-0001;F;RSSMRA85T10A562S;Mario Rossi;/);
    t.match(lines[1], /;TARI – Tassa sui rifiuti – anno \d{4};;TARI;;;Unica soluzione;210,00;/);

    const auth = { authorization: `Bearer ${await apiKeyFor(app, cb.id)}` };
    const res = await app.inject({ method: 'POST', url: '/api/v1/imports?mode=all', headers: { ...auth, 'content-type': 'text/csv' }, payload: tpl.rawPayload });
    t.equal(res.statusCode, 202, res.body);
    await app.jobs.drain();
    const status = (await app.inject({ url: `/api/v1/imports/${res.json().id}`, headers: auth })).json();
    t.match(status.result, { outcome: 'imported', rowCount: 4, created: 2, errorCount: 0 }, JSON.stringify(status.result?.errors));
    const transfers = (await sqlGet<{ n: number }>(
      app.db,
      "SELECT count(*) AS n FROM transfers t JOIN payment_options o ON o.id = t.option_id JOIN positions p ON p.id = o.position_id WHERE p.iupd LIKE 'ESEMPIO-TARI-%-0001'",
    ))!;
    t.equal(transfers.n, 6, 'TARI and the province’s TEFA on each of the 3 options');
  });
});
