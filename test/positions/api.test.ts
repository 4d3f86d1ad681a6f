import t from 'tap';
import { sqlGet, sqlRun } from '../../src/db/raw.js';
import SwaggerParser from '@apidevtools/swagger-parser';
import { buildTestApp } from '../helpers.js';
import { apiKeyFor, demoEnte, tariBody } from './fixtures.js';
import { countRows } from '../pagopa/helpers.js';
import { checkDigits } from '../../src/modules/positions/numbers.js';


t.test('positions REST API', async (t) => {
  const app = await buildTestApp(t);
  const { ente, body } = await tariBody(app);
  const key = await apiKeyFor(app, ente.id);
  const auth = { authorization: `Bearer ${key}` };
  const { ente: termoli } = await demoEnte(app, 'Termoli');
  const termoliKey = await apiKeyFor(app, termoli.id);

  await t.test('needs a valid API key', async (t) => {
    const none = await app.inject({ method: 'GET', url: '/api/v1/positions' });
    t.equal(none.statusCode, 401);
    t.match(none.headers['www-authenticate'], /Bearer/);
    t.match(none.headers['content-type'], /problem\+json/);
    const bad = await app.inject({ method: 'GET', url: '/api/v1/positions', headers: { authorization: 'Bearer sael_nope' } });
    t.equal(bad.statusCode, 401);
    t.match(bad.json().detail, /non valida/);
    (await sqlRun(app.db, 'UPDATE api_keys SET revoked_at = ? WHERE ente_id = ?', new Date().toISOString(), termoli.id));
    const revoked = await app.inject({ method: 'GET', url: '/api/v1/positions', headers: { authorization: `Bearer ${termoliKey}` } });
    t.equal(revoked.statusCode, 401);
    (await sqlRun(app.db, 'UPDATE api_keys SET revoked_at = NULL WHERE ente_id = ?', termoli.id));
  });

  let created: { paymentOptions: { iuv: string; noticeNumber: string; amountCents: number; transfers: unknown[] }[]; version: number };
  await t.test('creates a TARI with a 3-installment plan and TARI/TEFA split', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: body });
    t.equal(res.statusCode, 201, res.body);
    t.equal(res.headers.location, '/api/v1/positions/TARI-2026-0001');
    created = res.json();
    t.match(created, { iupd: 'TARI-2026-0001', status: 'published', serviceCode: 'TARI', version: 1 });
    t.equal(created.paymentOptions.length, 4);
    for (const o of created.paymentOptions) {
      t.match(o.noticeNumber, /^3\d{17}$/);
      t.equal(o.noticeNumber.slice(1), o.iuv);
      t.equal(o.iuv.slice(0, 2), ente.segregationCode, 'IUV carries the segregation code');
      t.equal(checkDigits(o.noticeNumber.slice(0, 16)), o.noticeNumber.slice(16), 'valid mod-93 check digits');
      t.equal(o.transfers.length, 2);
    }
    t.equal(new Set(created.paymentOptions.map((o) => o.iuv)).size, 4, 'one IUV per option');
    t.match(created.paymentOptions[1], { kind: 'installment', installmentNumber: 1, installmentCount: 3 });
    t.match(created.paymentOptions[0]!.transfers[0], { idTransfer: 1, fiscalCodePA: ente.fiscalCode, iban: /^IT/ }, 'service default IBAN filled');
    t.equal((await countRows(app, "audit_log WHERE entity = 'position' AND action = 'create'")), 1);
  });

  await t.test('idempotent on iupd', async (t) => {
    const options = (await countRows(app, 'payment_options'));
    const again = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: body });
    t.equal(again.statusCode, 200);
    t.same(again.json().paymentOptions.map((o: { iuv: string }) => o.iuv), created.paymentOptions.map((o) => o.iuv));
    const different = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: { ...body, description: 'Altro' } });
    t.equal(different.statusCode, 409);
    t.match(different.json(), { status: 409, detail: /contenuto diverso/ });
    t.equal((await countRows(app, 'payment_options')), options, 'nothing written');
  });

  await t.test('bad input names the field with a JSON pointer and writes nothing', async (t) => {
    const before = (await countRows(app, 'positions'));
    const schemaBad = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: { ...body, iupd: 'X-1', colour: 'red' } });
    t.equal(schemaBad.statusCode, 400);
    t.match(schemaBad.json().errors, [{ pointer: '/colour', message: 'campo non previsto' }]);
    const typeBad = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: { ...body, iupd: 'X-2', paymentOptions: [{ ...body.paymentOptions[0], amountCents: '12,00' }] } });
    t.equal(typeBad.statusCode, 400);
    t.match(typeBad.json().errors, [{ pointer: '/paymentOptions/0/amountCents' }]);
    const sumBad = structuredClone(body) as typeof body;
    sumBad.iupd = 'X-3';
    sumBad.paymentOptions[0]!.transfers[0]!.amountCents = 1;
    const domain = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: sumBad });
    t.equal(domain.statusCode, 422);
    const errors = domain.json().errors as { field: string; pointer: string; message: string }[];
    t.ok(errors.some((e) => e.pointer.startsWith('/paymentOptions/0') && /somma|importo/i.test(e.message)), JSON.stringify(errors));
    const cfBad = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: { ...body, iupd: 'X-4', debtor: { ...body.debtor, fiscalCode: 'RSSMRA85T10A562X' } } });
    t.equal(cfBad.statusCode, 422);
    t.match(cfBad.json().errors, [{ pointer: '/debtor/fiscalCode' }]);
    const serviceBad = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: { ...body, iupd: 'X-5', serviceCode: 'NOPE' } });
    t.equal(serviceBad.statusCode, 422);
    t.match(serviceBad.json().errors, [{ pointer: '/serviceCode' }]);
    const ibanBad = structuredClone(body) as typeof body;
    ibanBad.iupd = 'X-6';
    (ibanBad.paymentOptions[0]!.transfers[1] as { iban: string }).iban = 'IT60X0542811101000000123456';
    const unregistered = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: ibanBad });
    t.equal(unregistered.statusCode, 422, 'an IBAN not registered for that ente is refused');
    const past = structuredClone(body) as typeof body;
    past.iupd = 'X-7';
    past.paymentOptions[0]!.dueDate = '2020-01-01';
    t.equal((await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: past })).statusCode, 422, 'past due date');
    t.equal((await countRows(app, 'positions')), before);
  });

  await t.test('ente isolation', async (t) => {
    const other = { authorization: `Bearer ${termoliKey}` };
    t.equal((await app.inject({ url: '/api/v1/positions/TARI-2026-0001', headers: other })).statusCode, 404);
    t.equal((await app.inject({ method: 'POST', url: '/api/v1/positions/TARI-2026-0001/cancel', headers: other })).statusCode, 404);
    t.equal((await app.inject({ method: 'PATCH', url: '/api/v1/positions/TARI-2026-0001', headers: other, payload: { description: 'x' } })).statusCode, 404);
    const list = await app.inject({ url: '/api/v1/positions', headers: other });
    t.equal(list.json().total, 0);
    // Termoli may use the same iupd for its own position: iupd is unique per ente.
    const own = (await tariBody(app, 'Termoli')).body;
    const res = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: other, payload: own });
    t.equal(res.statusCode, 201, res.body);
    t.equal((await app.inject({ url: '/api/v1/positions', headers: auth })).json().total, 1, 'Campobasso still sees one');
  });

  await t.test('list filters and paging', async (t) => {
    for (let i = 0; i < 5; i++) {
      const b = { ...body, iupd: `MENSA-${i}`, serviceCode: 'MENSA', description: `Mensa ${i}`, paymentOptions: [body.paymentOptions[0]!] };
      b.debtor = { ...body.debtor, fullName: i % 2 ? 'Anna Verdi' : 'Mario Rossi', fiscalCode: i % 2 ? 'VRDNNA80A41B519Z' : body.debtor.fiscalCode };
      const r = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: b });
      t.ok([201, 422].includes(r.statusCode), r.body);
    }
    const all = await app.inject({ url: '/api/v1/positions?pageSize=2&page=1', headers: auth });
    t.equal(all.statusCode, 200);
    t.equal(all.json().items.length, 2);
    t.ok(all.json().total >= 4);
    const mensa = await app.inject({ url: '/api/v1/positions?serviceCode=mensa', headers: auth });
    t.ok(mensa.json().items.every((p: { serviceCode: string }) => p.serviceCode === 'MENSA'));
    const byNotice = await app.inject({ url: `/api/v1/positions?notice=${created.paymentOptions[2]!.noticeNumber.slice(-6)}`, headers: auth });
    t.same(byNotice.json().items.map((p: { iupd: string }) => p.iupd), ['TARI-2026-0001'], 'partial notice number');
    const byName = await app.inject({ url: '/api/v1/positions?debtor=rossi', headers: auth });
    t.ok(byName.json().items.every((p: { debtor: { fullName: string } }) => p.debtor.fullName === 'Mario Rossi'));
    const badQuery = await app.inject({ url: '/api/v1/positions?pageSize=1000', headers: auth });
    t.equal(badQuery.statusCode, 400);
  });

  await t.test('edit, optimistic concurrency, cancel', async (t) => {
    const patched = await app.inject({ method: 'PATCH', url: '/api/v1/positions/TARI-2026-0001', headers: auth, payload: { description: 'TARI 2026 (rettifica)', version: 1 } });
    t.equal(patched.statusCode, 200);
    t.match(patched.json(), { description: 'TARI 2026 (rettifica)', version: 2 });
    t.same(patched.json().paymentOptions.map((o: { iuv: string }) => o.iuv), created.paymentOptions.map((o) => o.iuv), 'IUVs kept');
    const stale = await app.inject({ method: 'PATCH', url: '/api/v1/positions/TARI-2026-0001', headers: auth, payload: { description: 'altro', version: 1 } });
    t.equal(stale.statusCode, 409);
    const fewer = await app.inject({ method: 'PATCH', url: '/api/v1/positions/TARI-2026-0001', headers: auth, payload: { paymentOptions: [body.paymentOptions[0]] } });
    t.equal(fewer.statusCode, 409, 'a published position keeps its options');
    const audit = (await sqlGet(app.db, "SELECT before, after FROM audit_log WHERE entity = 'position' AND action = 'update'")) as { before: string; after: string };
    t.equal(JSON.parse(audit.before).description, 'TARI 2026 – tassa sui rifiuti');
    t.equal(JSON.parse(audit.after).description, 'TARI 2026 (rettifica)');
    const cancel = await app.inject({ method: 'POST', url: '/api/v1/positions/TARI-2026-0001/cancel', headers: auth });
    t.equal(cancel.statusCode, 200);
    t.equal(cancel.json().status, 'cancelled');
    t.ok(cancel.json().paymentOptions.every((o: { status: string }) => o.status === 'cancelled'));
    t.equal((await app.inject({ method: 'POST', url: '/api/v1/positions/TARI-2026-0001/cancel', headers: auth })).statusCode, 409);
    t.equal((await app.inject({ method: 'PATCH', url: '/api/v1/positions/TARI-2026-0001', headers: auth, payload: { description: 'x' } })).statusCode, 409);
    const replay = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: body });
    t.equal(replay.statusCode, 409, 'a cancelled iupd is not recreated');
  });

  await t.test('draft then publish', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: { ...body, iupd: 'DRAFT-1', publish: false } });
    t.equal(res.statusCode, 201);
    t.equal(res.json().status, 'draft');
    const pub = await app.inject({ method: 'POST', url: '/api/v1/positions/DRAFT-1/publish', headers: auth });
    t.equal(pub.json().status, 'published');
    t.equal((await app.inject({ method: 'POST', url: '/api/v1/positions/DRAFT-1/publish', headers: auth })).statusCode, 409);
  });

  await t.test('OpenAPI document is valid and browsable', async (t) => {
    const res = await app.inject('/api/docs/json');
    t.equal(res.statusCode, 200);
    const doc = res.json();
    t.equal(doc.openapi, '3.0.3');
    t.ok(doc.paths['/api/v1/positions'].post);
    t.ok(doc.paths['/api/v1/positions/{iupd}'].patch);
    t.notOk(doc.paths['/admin/enti'], 'HTML pages are not in the API document');
    await t.resolves(SwaggerParser.validate(structuredClone(doc)));
    const ui = await app.inject('/api/docs/');
    t.equal(ui.statusCode, 200);
    t.match(ui.body, /swagger/i);
  });
});
