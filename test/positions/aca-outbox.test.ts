import fs from 'node:fs';
import { sqlAll, sqlGet, sqlRun } from '../../src/db/raw.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { buildTestApp } from '../helpers.js';
import { apiKeyFor, demoEnte, tariBody } from './fixtures.js';
import { AcaSender, acaOutboxCounts, endOfItalianDay, type PaCreatePositionBody } from '../../src/modules/positions/aca-outbox.js';
import { claimLease } from '../../src/modules/pagopa/leases.js';
import { acaSimulator } from '../../src/simulators/pagopa/psp.js';
import { payNotice } from '../../src/simulators/pagopa/node.js';
import { countRows, failInserts, freePort, stopFailingInserts } from '../pagopa/helpers.js';

const silent = { info: () => {}, warn: () => {}, error: () => {} };
const OPENAPI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas/pagopa/openapi/paCreatePosition.json');

type Row = { id: number; iuv: string; status: string; attempts: number; last_error: string | null; payload: string };

t.test('central archive outbox', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildTestApp(t, { PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  await app.listen({ port, host: '127.0.0.1' });
  t.teardown(() => {
    acaSimulator.failNext = 0;
    acaSimulator.received.length = 0;
  });
  const { ente } = await demoEnte(app, 'Campobasso');
  const key = await apiKeyFor(app, ente.id);
  const auth = { authorization: `Bearer ${key}` };
  const rows = async (iupd: string): Promise<Row[]> =>
    (await sqlAll(app.db, 'SELECT o.* FROM aca_outbox o JOIN payment_options po ON po.iuv = o.iuv AND po.ente_id = o.ente_id JOIN positions p ON p.id = po.position_id WHERE p.iupd = ? ORDER BY o.id', iupd)) as Row[];
  const bodies = async (iupd: string) => (await rows(iupd)).map((r) => JSON.parse(r.payload) as PaCreatePositionBody);
  const sender = (opts: ConstructorParameters<typeof AcaSender>[3] = {}) => new AcaSender(app.db, app.config.pagopa, silent, { baseBackoffMs: 1, ...opts });
  const clearBackoff = async () => (await sqlRun(app.db, "UPDATE pagopa_schedules SET next_run_at = 0, locked_until = 0, locked_by = NULL WHERE name = 'aca-outbox'"));

  const created = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: (await tariBody(app, 'Campobasso', { iupd: 'ACA-1' })).body });
  t.equal(created.statusCode, 201);
  const options = (created.json() as { paymentOptions: { iuv: string; noticeNumber: string; amountCents: number; dueDate: string }[] }).paymentOptions;

  await t.test('create published → one paCreatePosition body per option, valid against the official OpenAPI', async (t) => {
    const b = (await bodies('ACA-1'));
    t.equal(b.length, 4);
    t.same(b.map((x) => x.amount), [30000, 10000, 10000, 10000]);
    t.match(b[0], {
      paFiscalCode: ente.fiscalCode,
      entityType: 'F',
      entityFiscalCode: 'RSSMRA85T10A562S',
      entityFullName: 'Mario Rossi',
      iuv: options[0]!.iuv,
      nav: options[0]!.noticeNumber,
      expirationDate: endOfItalianDay(options[0]!.dueDate),
      switchToExpired: false,
      payStandIn: true,
    });
    t.equal(b[0]!.iban?.length, 27, 'the primary ente’s IBAN');
    t.ok((await rows('ACA-1')).every((r) => r.status === 'pending' && r.attempts === 0));
    if (fs.existsSync(OPENAPI)) {
      const spec = JSON.parse(fs.readFileSync(OPENAPI, 'utf8')) as { components: { schemas: Record<string, unknown> } };
      const ajv = new Ajv.default({ strict: false, allErrors: true });
      addFormats.default(ajv);
      const schemas = spec.components.schemas as Record<string, Record<string, unknown>>;
      const amount = schemas.AmountEuroCents!;
      const request = JSON.parse(JSON.stringify(schemas.NewDebtPositionRequest).replace('{"$ref":"#/components/schemas/AmountEuroCents"}', JSON.stringify(amount)));
      const validate = ajv.compile(request);
      for (const x of b) t.ok(validate(x), JSON.stringify(validate.errors));
    }
  });

  await t.test('a draft is not sent; publishing it is', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: { ...(await tariBody(app, 'Campobasso', { iupd: 'ACA-DRAFT' })).body, publish: false } });
    t.equal(res.statusCode, 201);
    t.equal((await rows('ACA-DRAFT')).length, 0);
    t.equal((await app.inject({ method: 'POST', url: '/api/v1/positions/ACA-DRAFT/publish', headers: auth })).statusCode, 200);
    t.equal((await rows('ACA-DRAFT')).length, 4);
  });

  await t.test('update → new bodies with the new amounts; a refused update writes nothing (same transaction)', async (t) => {
    const before = (await rows('ACA-1')).length;
    const body = (await tariBody(app, 'Campobasso', { iupd: 'ACA-1' })).body;
    body.paymentOptions[0]!.amountCents = 31000;
    body.paymentOptions[0]!.transfers[0]!.amountCents = 29500;
    const res = await app.inject({ method: 'PATCH', url: '/api/v1/positions/ACA-1', headers: auth, payload: { paymentOptions: body.paymentOptions } });
    t.equal(res.statusCode, 200, res.body);
    const b = (await bodies('ACA-1'));
    t.equal(b.length, before + 4);
    t.equal(b[before]!.amount, 31000);
    // A failure anywhere in the transaction (here: at the outbox insert) rolls back the change too.
    const version = ((await sqlGet(app.db, "SELECT version FROM positions WHERE iupd = 'ACA-1'")) as { version: number }).version;
    await failInserts(app, 'aca_outbox', 'aca_fail', 'simulated failure');
    body.paymentOptions[0]!.amountCents = 32000;
    body.paymentOptions[0]!.transfers[0]!.amountCents = 30500;
    const failed = await app.inject({ method: 'PATCH', url: '/api/v1/positions/ACA-1', headers: auth, payload: { paymentOptions: body.paymentOptions } });
    await stopFailingInserts(app, 'aca_outbox', 'aca_fail');
    t.equal(failed.statusCode, 500);
    t.equal(((await sqlGet(app.db, "SELECT version FROM positions WHERE iupd = 'ACA-1'")) as { version: number }).version, version, 'position unchanged');
    t.equal((await rows('ACA-1')).length, before + 4, 'no outbox row either');
  });

  await t.test('sender posts in order to the archive; rows become sent; superseded rows are not posted', async (t) => {
    acaSimulator.received.length = 0;
    const r = await sender().pass();
    t.match(r, { ran: true, failed: 0, retryLater: 0 });
    t.ok(r.superseded >= 4, 'the older ACA-1 bodies are superseded by the update');
    t.equal((await acaOutboxCounts(app.db)).pending, 0);
    const sentIuv = acaSimulator.received.filter((x) => x.iuv === options[0]!.iuv);
    t.equal(sentIuv.length, 1, 'only the newest body of an IUV in a batch');
    t.equal(sentIuv[0]!.amount, 31000);
    t.match((await rows('ACA-1')).at(-1), { status: 'sent', attempts: 1, last_error: null });
  });

  await t.test('paid through the node → the paid option and the closed ones go to amount 0', async (t) => {
    acaSimulator.received.length = 0;
    const paid = await payNotice(app, { fiscalCode: ente.fiscalCode, noticeNumber: options[0]!.noticeNumber });
    t.ok(paid.ok);
    const pending = (await sqlAll(app.db, "SELECT payload FROM aca_outbox WHERE status = 'pending'")) as { payload: string }[];
    const byIuv = new Map(pending.map((p) => JSON.parse(p.payload) as PaCreatePositionBody).map((b) => [b.iuv, b]));
    for (const o of options) t.equal(byIuv.get(o.iuv)?.amount, 0, `option ${o.iuv} closed in the archive`);
    await sender().pass();
    t.equal(acaSimulator.received.filter((x) => x.amount === 0).length, 4);
  });

  await t.test('an installment paid through the node → it and the single payment go to 0, the other installments stay open', async (t) => {
    const made = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: (await tariBody(app, 'Campobasso', { iupd: 'ACA-RATA' })).body });
    t.equal(made.statusCode, 201);
    const opts = (made.json() as { paymentOptions: { iuv: string; noticeNumber: string; amountCents: number }[] }).paymentOptions;
    t.same(opts.map((o) => o.amountCents), [30000, 10000, 10000, 10000], 'single payment, then three installments');
    const queued = (await bodies('ACA-RATA')).length;
    const paid = await payNotice(app, { fiscalCode: ente.fiscalCode, noticeNumber: opts[1]!.noticeNumber });
    t.ok(paid.ok);
    const after = (await bodies('ACA-RATA')).slice(queued);
    t.same(after.map((b) => [b.iuv, b.amount]), [[opts[0]!.iuv, 0], [opts[1]!.iuv, 0], [opts[2]!.iuv, 10000], [opts[3]!.iuv, 10000]], 'one body per option, in option order');
    t.same(after.map((b) => b.nav), opts.map((o) => o.noticeNumber));
  });

  await t.test('cancel → amount 0 for every unpaid option', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: (await tariBody(app, 'Campobasso', { iupd: 'ACA-2' })).body });
    t.equal(res.statusCode, 201);
    t.equal((await app.inject({ method: 'POST', url: '/api/v1/positions/ACA-2/cancel', headers: auth })).statusCode, 200);
    const b = (await bodies('ACA-2'));
    t.same(b.slice(4).map((x) => x.amount), [0, 0, 0, 0]);
  });

  await t.test('archive down: rows stay pending with attempts, the sender backs off, then catches up in order', async (t) => {
    (await clearBackoff());
    acaSimulator.received.length = 0;
    acaSimulator.failNext = 2;
    acaSimulator.failStatus = 503;
    const s = sender({ concurrency: 1, baseBackoffMs: 60_000 });
    const first = await s.pass();
    t.match(first, { ran: true, sent: 0, retryLater: 1, error: /HTTP 503/ });
    const head = (await sqlGet(app.db, "SELECT * FROM aca_outbox WHERE status = 'pending' ORDER BY next_attempt_at, id LIMIT 1")) as Row;
    t.match(head, { attempts: 1, last_error: /HTTP 503/ });
    const sched = (await sqlGet(app.db, "SELECT * FROM pagopa_schedules WHERE name = 'aca-outbox'")) as { next_run_at: number; failures: number; locked_by: string | null };
    t.ok(sched.next_run_at > Date.now() + 20_000, 'backing off');
    t.equal(sched.failures, 1);
    t.equal(sched.locked_by, null);
    t.match(await s.pass(), { ran: false }, 'not before the backoff');
    (await clearBackoff());
    t.match(await s.pass(), { retryLater: 1 });
    (await clearBackoff());
    const ok = await s.pass();
    t.match(ok, { ran: true, retryLater: 0 });
    t.equal((await acaOutboxCounts(app.db)).pending, 0);
    t.match((await sqlGet(app.db, 'SELECT * FROM aca_outbox WHERE id = ?', head.id)), { status: 'sent', attempts: 3 });
    t.equal(((await sqlGet(app.db, "SELECT failures FROM pagopa_schedules WHERE name = 'aca-outbox'")) as { failures: number }).failures, 0);
  });

  await t.test('a body the archive refuses (4xx) is marked failed and does not block the others', async (t) => {
    (await clearBackoff());
    const res = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: (await tariBody(app, 'Campobasso', { iupd: 'ACA-3' })).body });
    t.equal(res.statusCode, 201);
    acaSimulator.failNext = 1;
    acaSimulator.failStatus = 422;
    const r = await sender({ concurrency: 1 }).pass();
    t.match(r, { failed: 1, sent: 3, retryLater: 0 });
    t.equal((await rows('ACA-3')).filter((x) => x.status === 'failed').length, 1);
    t.match((await rows('ACA-3')).find((x) => x.status === 'failed'), { last_error: /HTTP 422/ });
  });

  await t.test('network error / timeout are retryable; another process holding the lease skips', async (t) => {
    (await clearBackoff());
    const res = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: (await tariBody(app, 'Campobasso', { iupd: 'ACA-4' })).body });
    t.equal(res.statusCode, 201);
    const down = new AcaSender(app.db, { ...app.config.pagopa, acaUrl: 'http://127.0.0.1:1/aca' }, silent, { baseBackoffMs: 1, timeoutMs: 500, concurrency: 1 });
    t.match(await down.pass(), { retryLater: 1, error: /errore di rete/ });
    (await clearBackoff());
    t.ok(await claimLease(app.db, 'aca-outbox', 'other-process', 60_000));
    t.match(await sender().pass(), { ran: false });
    (await clearBackoff());
    t.match(await sender().pass(), { sent: 4 });
  });

  await t.test('the operator never waits: the request path only queues (rows stay pending until the sender runs)', async (t) => {
    const start = Date.now();
    const res = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: (await tariBody(app, 'Campobasso', { iupd: 'ACA-5' })).body });
    t.equal(res.statusCode, 201);
    t.ok(Date.now() - start < 2000);
    t.equal((await countRows(app, "aca_outbox WHERE status = 'pending'")), 4);
  });

  await t.test('background: started sender drains the outbox', async (t) => {
    (await clearBackoff());
    const s = sender({ pollMs: 10 });
    s.start();
    for (let i = 0; i < 100 && (await countRows(app, "aca_outbox WHERE status = 'pending'")) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    await s.stop();
    t.equal((await countRows(app, "aca_outbox WHERE status = 'pending'")), 0);
  });
});
