import t from 'tap';
import { sqlAll } from '../../src/db/raw.js';
import { buildTestApp, SQLITE_ONLY } from '../helpers.js';
import { getPaymentRequest, readPaymentData, sendRtRequest, newReceiptId, verifyRequest } from '../../src/simulators/pagopa/node-messages.js';
import { handleStationRequest } from '../../src/modules/pagopa/station.js';
import { callStation, createTari, identity, snapshotRows } from './helpers.js';

// The workers read the SQLite file: on PostgreSQL there are none (pagopa/index.ts), see the last test.
t.test('under load the read-only calls are answered by a worker thread, with the same answers', { skip: SQLITE_ONLY }, async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0', PAGOPA_STATION_WORKERS: '1' });
  const pos = await createTari(app);
  const id = identity(app, pos.fiscalCode);
  const notice = pos.options[0]!.noticeNumber;
  const pool = app.stationPool;
  t.equal(pool.readyWorkers, 0, 'no worker before the load');
  pool.start();
  await pool.ready();
  t.equal(pool.readyWorkers, 1);

  const cases: [string, string][] = [
    ['paVerifyPaymentNotice', verifyRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: notice })],
    ['paVerifyPaymentNotice', verifyRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: `3${notice.slice(1, 3)}999999999999999` })], // unknown: KO
    ['paVerifyPaymentNotice', verifyRequest({ ...id, idStation: 'OTHER_STATION' }, { fiscalCode: pos.fiscalCode, noticeNumber: notice })], // wrong station
    ['paVerifyPaymentNotice', verifyRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: notice }).replace('<noticeNumber>', '<noticeNumber>x')], // XSD
    ['paVerifyPaymentNotice', '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'], // malformed
    ['paGetPayment', getPaymentRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: notice })],
    ['paGetPaymentV2', getPaymentRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: notice }, { v2: true })],
  ];
  const before = (await snapshotRows(app));
  for (const [action, xml] of cases) {
    const answered = pool.answeredByWorkers;
    const r = await callStation(app, xml, action);
    t.equal(pool.answeredByWorkers, answered + 1, `${action} answered by the worker`);
    const here = await handleStationRequest({ db: app.db, settings: app.config.pagopa }, { body: xml, soapAction: `"${action}"` });
    t.equal(r.body, here.xml, `${action}: the same answer as the main thread's (${r.answer.outcome} ${r.answer.faultCode ?? ''})`);
    t.equal(r.status, here.status);
  }
  t.equal((await snapshotRows(app)), before, 'nothing written');
  const metrics = (await app.inject({ url: '/metrics' })).body;
  t.match(metrics, /^saelpay_pagopa_station_workers 1$/m, '/metrics: one worker ready');
  t.match(metrics, new RegExp(`^saelpay_pagopa_station_worker_calls_total ${pool.answeredByWorkers}$`, 'm'), '/metrics: calls answered by the workers');
  app.nodeCallLog.flush();
  t.same(
    (await sqlAll(app.db, 'SELECT operation, outcome FROM node_calls WHERE notice_number = ? ORDER BY id', notice)),
    [{ operation: 'paVerifyPaymentNotice', outcome: 'OK' }, { operation: 'paGetPayment', outcome: 'OK' }, { operation: 'paGetPaymentV2', outcome: 'OK' }],
    'the calls answered by the worker are logged like the others',
  );

  await t.test('a receipt is stored by the main thread, and the worker sees it at once', async (t) => {
    const got = await callStation(app, getPaymentRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: notice }, { v2: true }), 'paGetPaymentV2');
    const answered = pool.answeredByWorkers;
    const rt = await callStation(app, sendRtRequest(id, { v2: true, receiptId: newReceiptId(), noticeNumber: notice, fiscalCode: pos.fiscalCode, data: readPaymentData(got.answer) }), 'paSendRTV2');
    t.equal(rt.answer.outcome, 'OK', rt.body);
    t.equal(pool.answeredByWorkers, answered, 'paSendRTV2 is not sent to the worker');
    const again = await callStation(app, verifyRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: notice }), 'paVerifyPaymentNotice');
    t.equal(pool.answeredByWorkers, answered + 1);
    t.equal(again.answer.faultCode, 'PAA_PAGAMENTO_DUPLICATO', 'the worker reads the receipt committed a moment ago');
  });
});

t.test('300 calls at once: each gets the answer to its own message', { skip: SQLITE_ONLY }, async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0', PAGOPA_STATION_WORKERS: '1' });
  const created = [await createTari(app), await createTari(app, {}, 'Termoli'), await createTari(app, {}, 'Bojano')];
  app.stationPool.start();
  await app.stationPool.ready();
  const xmls = Array.from({ length: 300 }, (_, i) => {
    const p = created[i % 3]!;
    return verifyRequest(identity(app, p.fiscalCode), { fiscalCode: p.fiscalCode, noticeNumber: i % 7 === 0 ? `3${p.options[0]!.noticeNumber.slice(1, 3)}999999999999999` : p.options[0]!.noticeNumber });
  });
  const expected = await Promise.all(xmls.map(async (xml) => (await handleStationRequest({ db: app.db, settings: app.config.pagopa }, { body: xml, soapAction: 'paVerifyPaymentNotice' })).xml));
  t.equal(new Set(expected).size, 6, 'six different answers among the messages');
  const answers = await Promise.all(xmls.map((xml) => callStation(app, xml, 'paVerifyPaymentNotice')));
  t.same(answers.map((a) => a.body), expected, 'every answer is the one to its message');
  t.ok(app.stationPool.answeredByWorkers > 0, `${app.stationPool.answeredByWorkers} answered by the worker`);
});

t.test('the pool starts by itself once the read-only calls pass its rate, and never with 0 workers', { skip: SQLITE_ONLY }, async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0', PAGOPA_STATION_WORKERS: '1' });
  const pos = await createTari(app);
  const xml = verifyRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[0]!.noticeNumber });
  const { START_RATE } = await import('../../src/modules/pagopa/station-pool.js');
  // The calls are counted in one second of the pool's clock, held still here: a loaded machine
  // may need more than a wall-clock second for them.
  let clock = 5_000_000;
  app.stationPool.clock = () => clock;
  for (let i = 0; i < START_RATE - 1; i++) await callStation(app, xml, 'paVerifyPaymentNotice');
  await app.stationPool.ready();
  t.equal(app.stationPool.readyWorkers, 0, `${START_RATE - 1} calls in a second: still in the main thread`);
  clock += 1000;
  for (let i = 0; i < START_RATE - 1; i++) await callStation(app, xml, 'paVerifyPaymentNotice');
  await app.stationPool.ready();
  t.equal(app.stationPool.readyWorkers, 0, `the count starts again each second: ${START_RATE - 1} more calls a second later, still in the main thread`);
  await callStation(app, xml, 'paVerifyPaymentNotice');
  await app.stationPool.ready();
  t.equal(app.stationPool.readyWorkers, 1, 'started');
  const r = await callStation(app, xml, 'paVerifyPaymentNotice');
  t.equal(r.answer.outcome, 'OK');
  t.equal(app.stationPool.answeredByWorkers, 1);

  const off = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0', PAGOPA_STATION_WORKERS: '0' });
  off.stationPool.start();
  await off.stationPool.ready();
  t.equal(off.stationPool.readyWorkers, 0, 'PAGOPA_STATION_WORKERS=0: no thread');
});

t.test('on PostgreSQL no worker starts: the main thread answers the read-only calls', { skip: SQLITE_ONLY ? false : 'PostgreSQL only' }, async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0', PAGOPA_STATION_WORKERS: '1' });
  const pos = await createTari(app);
  app.stationPool.start();
  await app.stationPool.ready();
  t.equal(app.stationPool.readyWorkers, 0);
  const r = await callStation(app, verifyRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[0]!.noticeNumber }), 'paVerifyPaymentNotice');
  t.equal(r.answer.outcome, 'OK', r.body);
  t.equal(app.stationPool.answeredByWorkers, 0);
});
