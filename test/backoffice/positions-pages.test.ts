import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { splitShare, formToPositionBody } from '../../src/modules/backoffice/position-form.js';
import { sqlAll, sqlGet } from '../../src/db/raw.js';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { demoEnte, inDays } from '../positions/fixtures.js';

const cf = (role: string) => demoUserFiscalCodes().find((u) => u.role === role)!.fiscalCode;

t.test('percentage split', async (t) => {
  t.same(splitShare(10000, 5), [9500, 500]);
  t.same(splitShare(3333, 5), [3166, 167], 'rounded half up on the share, the rest to the ente');
  t.same(splitShare(101, 0.5), [100, 1]);
  const { body, errors } = formToPositionBody({ description: 'X', singleAmount: '12,345', singleDue: '2030-01-01' }, null);
  t.match(errors, { singleAmount: /Importo non valido/ });
  t.equal(body.paymentOptions!.length, 1);
  t.match(formToPositionBody({ description: 'X' }, null).errors, { single: /unica/ });
});

t.test('operator pages for positions', async (t) => {
  const app = await buildTestApp(t);
  const { ente: campobasso } = await demoEnte(app, 'Campobasso');
  const { ente: termoli } = await demoEnte(app, 'Termoli');
  const op = await loginAs(app, cf('operator')); // operator of Campobasso
  const base = `/backoffice/enti/${campobasso.id}/posizioni`;
  const { token } = await csrfFrom(app, `${base}/nuova`, op);

  const fields = {
    _csrf: token,
    serviceCode: 'TARI',
    description: 'TARI 2026',
    taxonomyCode: '9/0101108TS/',
    debtorType: 'F',
    debtorFiscalCode: 'rssmra85t10a562s',
    debtorName: 'Mario Rossi',
    debtorEmail: 'mario@example.invalid',
    inst1Amount: '100,00',
    inst1Due: inDays(30),
    inst2Amount: '100,00',
    inst2Due: inDays(60),
    inst3Amount: '100,00',
    inst3Due: inDays(90),
    singleAmount: '300,00',
    singleDue: inDays(30),
    secondPercent: '5',
    secondRemittance: 'TEFA 2026',
    secondTaxonomyCode: '9/0201101IM/',
    publish: 'true',
  };

  await t.test('a bad form is shown again with messages next to the fields and nothing saved', async (t) => {
    const res = await app.inject({
      method: 'POST', url: base, headers: { ...FORM_HEADERS, cookie: op },
      payload: form({ ...fields, debtorFiscalCode: 'RSSMRA85T10A562X', inst2Due: inDays(10), inst3Amount: 'dieci' }),
    });
    t.equal(res.statusCode, 400);
    t.match(res.body, /La posizione non è stata salvata/);
    t.match(res.body, /id="f-debtorFiscalCode-error"/);
    t.match(res.body, /id="f-inst3Amount-error"/);
    t.match(res.body, /value="dieci"/, 'typed values kept');
    t.equal((await sqlGet<{ n: number }>(app.db, 'SELECT count(*) AS n FROM positions'))!.n, 0);
  });

  let detailUrl = '';
  await t.test('create a 3-installment TARI with TEFA to the province', async (t) => {
    const res = await app.inject({ method: 'POST', url: base, headers: { ...FORM_HEADERS, cookie: op }, payload: form(fields) });
    t.equal(res.statusCode, 303, res.body.slice(0, 3000));
    detailUrl = res.headers.location as string;
    const page = await app.inject({ url: detailUrl, headers: { accept: 'text/html', cookie: op } });
    t.equal(page.statusCode, 200);
    t.match(page.body, /TARI 2026/);
    t.match(page.body, /Rata 3 di 3/);
    t.match(page.body, /pubblicata/);
    const transfers = await sqlAll<{ id_transfer: number; amount_cents: number; fiscal_code_pa: string }>(
      app.db,
      'SELECT t.id_transfer, t.amount_cents, t.fiscal_code_pa FROM transfers t JOIN payment_options o ON o.id = t.option_id WHERE o.kind = ? ORDER BY o.id, t.id_transfer',
      'installment',
    );
    t.equal(transfers.length, 6);
    const province = (await demoEnte(app, 'Provincia di Campobasso')).ente;
    t.same(transfers.slice(0, 2).map((x) => [x.amount_cents, x.fiscal_code_pa]), [[9500, campobasso.fiscalCode], [500, province.fiscalCode]]);
    t.match(page.body, /Creata/, 'history shown');
  });

  await t.test('list, filters and CSV export', async (t) => {
    const list = await app.inject({ url: `${base}?debtor=RSSMRA85T10A562S`, headers: { accept: 'text/html', cookie: op } });
    t.equal(list.statusCode, 200);
    t.match(list.body, /1 posizioni/);
    const none = await app.inject({ url: `${base}?status=paid`, headers: { accept: 'text/html', cookie: op } });
    t.match(none.body, /Nessuna posizione corrisponde/);
    const bad = await app.inject({ url: `${base}?dueFrom=ieri`, headers: { accept: 'text/html', cookie: op } });
    t.equal(bad.statusCode, 400);
    const csv = await app.inject({ url: `${base}.csv`, headers: { cookie: op } });
    t.equal(csv.statusCode, 200);
    t.match(csv.headers['content-type'], /text\/csv/);
    const lines = csv.body.replace(/^\uFEFF/, '').trim().split('\r\n').length > 1 ? csv.body.replace(/^\uFEFF/, '').trim().split(/\r?\n/) : csv.body.replace(/^\uFEFF/, '').trim().split('\n');
    t.equal(lines.length, 5, 'header + 4 options');
    t.match(lines[0], /^iupd;servizio;stato_posizione;cf_debitore/);
    t.match(lines[1], /;300,00;/);
  });

  await t.test('edit and cancel', async (t) => {
    const edit = await app.inject({ url: `${detailUrl}/modifica`, headers: { accept: 'text/html', cookie: op } });
    t.equal(edit.statusCode, 200);
    t.match(edit.body, /value="300,00"/);
    t.match(edit.body, /name="secondPercent" value="5"/);
    const version = /name="version" value="(\d+)"/.exec(edit.body)![1]!;
    const saved = await app.inject({
      method: 'POST', url: detailUrl, headers: { ...FORM_HEADERS, cookie: op },
      payload: form({ ...fields, version, description: 'TARI 2026 – rettifica' }),
    });
    t.equal(saved.statusCode, 303);
    const stale = await app.inject({
      method: 'POST', url: detailUrl, headers: { ...FORM_HEADERS, cookie: op },
      payload: form({ ...fields, version, description: 'Altra' }),
    });
    t.equal(stale.statusCode, 409);
    t.match(stale.body, /modificata da qualcun altro/);
    const cancel = await app.inject({ method: 'POST', url: `${detailUrl}/annulla`, headers: { ...FORM_HEADERS, cookie: op }, payload: form({ _csrf: token }) });
    t.equal(cancel.statusCode, 303);
    const page = await app.inject({ url: detailUrl, headers: { accept: 'text/html', cookie: op } });
    t.match(page.body, /annullata/);
    t.match(page.body, /Annullata/);
    const again = await app.inject({ method: 'POST', url: `${detailUrl}/annulla`, headers: { ...FORM_HEADERS, cookie: op }, payload: form({ _csrf: token }) });
    t.equal(again.statusCode, 409);
  });

  await t.test('isolation between enti and roles', async (t) => {
    const termoliOp = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'operator' && u.enteIstat === '070078')!.fiscalCode);
    t.equal((await app.inject({ url: base, headers: { accept: 'text/html', cookie: termoliOp } })).statusCode, 403);
    t.equal((await app.inject({ url: detailUrl, headers: { accept: 'text/html', cookie: termoliOp } })).statusCode, 403);
    const positionId = detailUrl.split('/').pop();
    const viaOwn = await app.inject({ url: `/backoffice/enti/${termoli.id}/posizioni/${positionId}`, headers: { accept: 'text/html', cookie: termoliOp } });
    t.equal(viaOwn.statusCode, 404, 'another ente’s position id through one’s own ente');
    const helpdesk = await loginAs(app, cf('helpdesk'));
    t.equal((await app.inject({ url: base, headers: { accept: 'text/html', cookie: helpdesk } })).statusCode, 403);
    t.equal((await app.inject({ url: base, headers: { accept: 'text/html' } })).statusCode, 401);
    const landing = await app.inject({ url: '/backoffice', headers: { accept: 'text/html', cookie: op } });
    t.equal(landing.statusCode, 302);
    t.equal(landing.headers.location, base);
  });
});
