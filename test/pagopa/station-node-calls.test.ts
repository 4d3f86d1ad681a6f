import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { buildTestApp, SQLITE_ONLY } from '../helpers.js';
import { sqlAll, sqlGet, sqlRun } from '../../src/db/raw.js';
import { verifyRequest } from '../../src/simulators/pagopa/node-messages.js';
import { countRows as count } from '../helpdesk/helpers.js';
import { callStation, createTari, identity } from './helpers.js';
import { createNodeCallLog, NODE_CALL_FLUSH_MS, pruneNodeCalls, type NodeCall } from '../../src/modules/helpdesk/node-call-log.js';

type Row = { fiscal_code: string; notice_number: string; operation: string; outcome: string; fault_code: string | null; created_at: string };

t.test('the station logs each node call for the helpdesk timeline, batched', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const pos = await createTari(app);
  const id = identity(app, pos.fiscalCode);
  const notice = pos.options[0]!.noticeNumber;
  const rows = () => sqlAll<Row>(app.db, 'SELECT * FROM node_calls ORDER BY id');

  const before = new Date().toISOString();
  const started = performance.now();
  const ok = await callStation(app, verifyRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: notice }), 'paVerifyPaymentNotice');
  t.equal(ok.answer.outcome, 'OK', ok.body);
  const unknown = `3${notice.slice(1, 3)}999999999999999`;
  const ko = await callStation(app, verifyRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: unknown }), 'paVerifyPaymentNotice');
  t.equal(ko.answer.outcome, 'KO');

  if (performance.now() - started < NODE_CALL_FLUSH_MS) t.equal(app.nodeCallLog.pending(), 2, 'both calls wait for the batch');
  else t.equal(app.nodeCallLog.pending() + (await count(app, 'node_calls')), 2, 'a loaded machine: the timer wrote the first batch, the rest waits');
  await app.nodeCallLog.flush();
  t.equal(app.nodeCallLog.pending(), 0);
  const [a, b] = await rows();
  t.match(a, { fiscal_code: pos.fiscalCode, notice_number: notice, operation: 'paVerifyPaymentNotice', outcome: 'OK', fault_code: null });
  t.match(b, { fiscal_code: pos.fiscalCode, notice_number: unknown, operation: 'paVerifyPaymentNotice', outcome: 'KO', fault_code: 'PAA_PAGAMENTO_SCONOSCIUTO' });
  t.ok(a!.created_at >= before && a!.created_at <= new Date().toISOString(), 'the time of the answer, not of the write');

  await t.test('without a reader the batch is written within a moment', async (t) => {
    await callStation(app, verifyRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: notice }), 'paVerifyPaymentNotice');
    t.equal(await count(app, 'node_calls'), 2, 'not yet');
    await sleep(NODE_CALL_FLUSH_MS + 200);
    t.equal(await count(app, 'node_calls'), 3, 'written by the timer');
  });

  await t.test('a call that is not even a SOAP message is not logged', async (t) => {
    const r = await callStation(app, '<not-soap/>', 'paVerifyPaymentNotice');
    t.equal(r.status, 200);
    t.equal(app.nodeCallLog.pending(), 0);
  });

  await t.test('the helpdesk timeline shows a call answered a moment ago', async (t) => {
    await callStation(app, verifyRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: notice }), 'paVerifyPaymentNotice');
    t.equal(app.nodeCallLog.pending(), 1);
    const { paymentTimeline } = await import('../../src/modules/helpdesk/queries.js');
    await app.nodeCallLog.flush();
    const optionId = (await sqlGet<{ id: number }>(app.db, 'SELECT id FROM payment_options WHERE notice_number = ?', notice))!.id;
    const d = await paymentTimeline(app.db, optionId, 'all');
    t.equal(d?.events.filter((e) => e.what === 'Nodo pagoPA: paVerifyPaymentNotice').length, 3);
  });

  await t.test('closing the app writes what is pending', async (t) => {
    const app2 = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
    const p2 = await createTari(app2);
    await callStation(app2, verifyRequest(identity(app2, p2.fiscalCode), { fiscalCode: p2.fiscalCode, noticeNumber: p2.options[0]!.noticeNumber }), 'paVerifyPaymentNotice');
    t.equal(app2.nodeCallLog.pending(), 1);
    const { databaseFile: file, databaseUrl: url } = app2.config;
    await app2.close();
    if (url) {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      t.equal(Number((await client.query('SELECT count(*) AS n FROM node_calls')).rows[0].n), 1);
      await client.end();
    } else {
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(file, { readonly: true });
      t.equal((db.prepare('SELECT count(*) AS n FROM node_calls').get() as { n: number }).n, 1);
      db.close();
    }
  });
});

t.test('no browser machinery on the station: no cookie, no session row, no CSP, no rate limit', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0', RATE_LIMIT_PER_MINUTE: '3' });
  const pos = await createTari(app);
  const body = verifyRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[0]!.noticeNumber });
  const sessions = await count(app, 'sessions');
  for (let i = 0; i < 6; i++) {
    const res = await app.inject({ method: 'POST', url: '/pagopa/paForNode', headers: { 'content-type': 'text/xml', soapaction: 'paVerifyPaymentNotice' }, payload: body });
    t.equal(res.statusCode, 200, `call ${i + 1} answered (a rate limit of 3/min does not apply to the node)`);
    t.equal(res.headers['set-cookie'], undefined);
    t.equal(res.headers['content-security-policy'], undefined);
    t.equal(res.headers['x-ratelimit-limit'], undefined);
  }
  t.equal(await count(app, 'sessions'), sessions, 'no session stored');
  const page = await app.inject({ url: '/', headers: { accept: 'text/html' } });
  t.match(page.headers['content-security-policy'], /script-src/, 'pages keep their CSP');
});

const call = (n: number): NodeCall => ({ fiscalCode: '00000000001', noticeNumber: `3010000000000${String(n).padStart(5, '0')}`, operation: 'paVerifyPaymentNotice', outcome: 'OK', faultCode: null, at: new Date().toISOString() });

t.test('under load a worker thread writes the log, in order, and flush() waits for it', { skip: SQLITE_ONLY }, async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const errors: Error[] = [];
  const log = createNodeCallLog(app.db, (e) => errors.push(e), { workerMinBatch: 5 });
  t.teardown(() => log.close());
  const notices = () => (app.sqlite.prepare("SELECT notice_number AS n FROM node_calls WHERE fiscal_code = '00000000001' ORDER BY id").all() as { n: string }[]).map((r) => Number(r.n.slice(-5)));

  for (let i = 0; i < 3; i++) log.record(call(i));
  await sleep(NODE_CALL_FLUSH_MS + 100);
  t.equal(log.usesWorker(), false, 'a small batch is written by the main thread');
  t.same(notices(), [0, 1, 2]);

  for (let i = 3; i < 9; i++) log.record(call(i));
  await sleep(NODE_CALL_FLUSH_MS + 20); // the batch of 6 went to the worker, which may still be starting
  t.equal(log.usesWorker(), true, 'a batch of 5 or more starts the worker');
  log.record(call(9)); // recorded after the worker's batch: must come after it
  void log.flush(); // on SQLite the writing is done when flush returns
  t.equal(log.pending(), 0, 'flush waited for the worker');
  t.same(notices(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'every call once, in the order of the answers');

  for (let i = 10; i < 12; i++) log.record(call(i));
  await sleep(NODE_CALL_FLUSH_MS + 20);
  log.record(call(12));
  await log.close();
  t.same(notices().slice(10), [10, 11, 12], 'once the worker runs it writes small batches too; close writes the rest');
  t.same(errors, []);
});

t.test('without a worker (PostgreSQL, or an in-memory SQLite) batches keep their order and flush() waits for those in flight', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const errors: Error[] = [];
  const log = createNodeCallLog(app.db, (e) => errors.push(e), { workerMinBatch: Infinity });
  t.teardown(() => log.close());
  const notices = async () => (await sqlAll<{ n: string }>(app.db, "SELECT notice_number AS n FROM node_calls WHERE fiscal_code = '00000000001' ORDER BY id")).map((r) => Number(r.n.slice(-5)));
  for (let i = 0; i < 50; i++) log.record(call(i));
  await sleep(NODE_CALL_FLUSH_MS + 20); // the timer's batch: on PostgreSQL it may still be in flight
  for (let i = 50; i < 60; i++) log.record(call(i));
  await log.flush();
  t.equal(log.pending(), 0, 'flush waited for every batch');
  t.same(await notices(), Array.from({ length: 60 }, (_, i) => i), 'every call once, in the order of the answers');
  t.equal(log.usesWorker(), false);
  log.record({ ...call(60), faultCode: 'PAA_PAGAMENTO_SCONOSCIUTO', outcome: 'KO' });
  await log.close();
  t.match(await sqlGet(app.db, "SELECT outcome, fault_code FROM node_calls WHERE notice_number LIKE '%00060'"), { outcome: 'KO', fault_code: 'PAA_PAGAMENTO_SCONOSCIUTO' }, 'close writes the rest');
  t.same(errors, []);
});

t.test('lines older than NODE_CALL_RETENTION_DAYS are deleted by the helpdesk tick, a chunk at a time', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0', NODE_CALL_RETENTION_DAYS: '30' });
  const INS = "INSERT INTO node_calls (fiscal_code, notice_number, operation, outcome, created_at) VALUES ('00000000001', ?, 'paVerifyPaymentNotice', 'OK', ?)";
  const day = 86_400_000;
  const at = (daysAgo: number) => new Date(Date.now() - daysAgo * day).toISOString();
  await app.db.transaction(async (tx) => {
    for (let i = 0; i < 5; i++) await sqlRun(tx, INS, `old-${i}`, at(40 - i)); // 40..36 days ago
    for (let i = 0; i < 3; i++) await sqlRun(tx, INS, `new-${i}`, at(20 - i)); // within the 30 days
  });
  const left = async () => (await sqlAll<{ n: string }>(app.db, "SELECT notice_number AS n FROM node_calls WHERE fiscal_code = '00000000001' ORDER BY id")).map((r) => r.n);

  t.equal(await pruneNodeCalls(app.db, at(30), 2), 2, 'a chunk of 2');
  t.same(await left(), ['old-2', 'old-3', 'old-4', 'new-0', 'new-1', 'new-2'], 'the oldest first');
  await app.helpdeskTick();
  t.same(await left(), ['new-0', 'new-1', 'new-2'], 'the periodic task deletes the rest, keeps 30 days');
  t.equal(await pruneNodeCalls(app.db, at(30)), 0, 'nothing more to delete');

  const keepAll = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0', NODE_CALL_RETENTION_DAYS: '0' });
  await sqlRun(keepAll.db, INS, 'x', at(5000));
  await keepAll.helpdeskTick();
  t.equal(await count(keepAll, "node_calls WHERE fiscal_code = '00000000001'"), 1, '0 keeps every line');
});
