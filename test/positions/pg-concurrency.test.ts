/**
 * Several processes on one PostgreSQL database (#19): two apps on the same database URL, each with
 * its own pool (two "processes"), creating positions and storing receipts at the same time. No IUV
 * is issued twice; a receipt sent to both at once is stored once and both answer OK; two different
 * receipts for one notice pay it once and flag the other as a double payment; the same iupd posted
 * to both at once makes one position (the other answer is the idempotent replay, or 409 when the
 * bodies differ), never a 500. Skipped without
 * TEST_DATABASE_URL (SQLite serialises every writer in one process: nothing to race).
 */
import t, { type Test } from 'tap';
import { sqlAll, sqlGet } from '../../src/db/raw.js';
import { getPaymentRequest, newReceiptId, readPaymentData, sendRtRequest, type ReceiptParams } from '../../src/simulators/pagopa/node-messages.js';
import { createTestDatabase, pgServerUrl } from '../db/pg-helpers.js';
import { buildTestApp } from '../helpers.js';
import { callStation, createTari, identity, type Created } from '../pagopa/helpers.js';
import { apiKeyFor, tariBody } from './fixtures.js';

type App = Awaited<ReturnType<typeof buildTestApp>>;

async function twoProcesses(t: Test): Promise<[App, App] | undefined> {
  const server = pgServerUrl(t);
  if (!server) return undefined;
  const url = await createTestDatabase(t, server);
  const env = { DATABASE_URL: url, PAGOPA_FDR_INTERVAL_MINUTES: '0' };
  const a = await buildTestApp(t, env);
  const b = await buildTestApp(t, env);
  return [a, b];
}

async function receiptXml(app: App, pos: Created, receiptId = newReceiptId()): Promise<{ xml: string; params: ReceiptParams }> {
  const notice = { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[0]!.noticeNumber };
  const data = readPaymentData((await callStation(app, getPaymentRequest(identity(app, pos.fiscalCode), notice, { v2: true }), 'paGetPaymentV2')).answer);
  const params: ReceiptParams = { v2: true, receiptId, noticeNumber: notice.noticeNumber, fiscalCode: pos.fiscalCode, data };
  return { xml: sendRtRequest(identity(app, pos.fiscalCode), params), params };
}

t.test('two processes create positions at once: no IUV issued twice', async (t) => {
  const apps = await twoProcesses(t);
  if (!apps) return;
  const created = await Promise.all(Array.from({ length: 24 }, (_, i) => createTari(apps[i % 2]!)));
  const iuvs = created.flatMap((p) => p.options.map((o) => o.iuv));
  t.equal(iuvs.length, 24 * 4);
  t.equal(new Set(iuvs).size, iuvs.length, 'every IUV answered is different');
  const stored = await sqlAll<{ iuv: string }>(apps[0].db, 'SELECT iuv FROM payment_options');
  t.equal(new Set(stored.map((r) => r.iuv)).size, stored.length, 'every stored IUV is different');
  // The counter moved exactly past the bases issued: consecutive, none skipped, none reused.
  const enteId = created[0]!.enteId;
  const bases = created.filter((p) => p.enteId === enteId).flatMap((p) => p.options.map((o) => Number(o.iuv.slice(2, 15)))).sort((x, y) => x - y);
  const next = (await sqlGet<{ next_value: number }>(apps[1].db, 'SELECT next_value FROM iuv_sequences WHERE ente_id = ?', enteId))!.next_value;
  t.same(bases, Array.from({ length: bases.length }, (_, i) => next - bases.length + i), 'a gap-free run of bases ending below the counter');
});

t.test('two processes receive the same iupd at once', async (t) => {
  const apps = await twoProcesses(t);
  if (!apps) return;
  const [a, b] = apps;
  const { ente, body } = await tariBody(a, 'Campobasso', { iupd: `TARI-RACE-${Date.now()}` });
  const key = await apiKeyFor(a, ente.id);
  const post = (app: App, payload: object) =>
    app.inject({ method: 'POST', url: '/api/v1/positions', headers: { authorization: `Bearer ${key}` }, payload });
  const positionsOf = async (iupd: string) => (await sqlGet<{ n: number }>(a.db, 'SELECT count(*) AS n FROM positions WHERE ente_id = ? AND iupd = ?', ente.id, iupd))!.n;

  await t.test('same body: one position; one 201, the other the replay (200) with the same IUVs', async (t) => {
    const res = await Promise.all(Array.from({ length: 8 }, (_, i) => post(i % 2 ? b : a, body)));
    const codes = res.map((r) => r.statusCode).sort();
    t.same(codes, [200, 200, 200, 200, 200, 200, 200, 201], res.find((r) => r.statusCode >= 300)?.body ?? 'no error');
    const iuvs = new Set(res.map((r) => JSON.stringify((r.json() as { paymentOptions: { iuv: string }[] }).paymentOptions.map((o) => o.iuv))));
    t.equal(iuvs.size, 1, 'every answer names the same IUVs');
    t.equal(await positionsOf(body.iupd as string), 1);
  });

  await t.test('different bodies: one position, the other 409 with a message', async (t) => {
    const iupd = `TARI-RACE2-${Date.now()}`;
    const one = { ...body, iupd };
    const other = { ...body, iupd, description: 'TARI 2026 — altro contenuto' };
    const res = await Promise.all([post(a, one), post(b, other), post(a, other), post(b, one)]);
    const codes = res.map((r) => r.statusCode);
    t.equal(codes.filter((c) => c === 201).length, 1, `one created (${codes.join(', ')})`);
    t.ok(codes.every((c) => c === 201 || c === 200 || c === 409), `only 201, 200 and 409 (${codes.join(', ')})`);
    t.ok(codes.includes(409), 'the different body is refused');
    t.match(res.find((r) => r.statusCode === 409)!.json(), { status: 409, detail: /iupd/ });
    t.equal(await positionsOf(iupd), 1);
  });
});

t.test('two processes store receipts at once', async (t) => {
  const apps = await twoProcesses(t);
  if (!apps) return;
  const [a, b] = apps;

  await t.test('the same paSendRTV2 to both, many times: stored once, every answer OK', async (t) => {
    const pos = await createTari(a);
    const { xml, params } = await receiptXml(a, pos);
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => callStation(i % 2 ? b : a, xml, 'paSendRTV2')));
    t.same(
      answers.map((r) => r.answer.outcome),
      answers.map(() => 'OK'),
      answers.find((r) => r.answer.outcome !== 'OK')?.body ?? 'all OK',
    );
    t.equal((await sqlGet<{ n: number }>(a.db, 'SELECT count(*) AS n FROM receipts WHERE receipt_id = ?', params.receiptId))!.n, 1, 'one receipt');
    t.equal(
      (await sqlGet<{ n: number }>(b.db, 'SELECT count(*) AS n FROM receipt_transfers rt JOIN receipts r ON r.id = rt.receipt_row_id WHERE r.receipt_id = ?', params.receiptId))!.n,
      2,
      'its transfers once',
    );
    t.equal(
      (await sqlGet<{ n: number }>(a.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'pay' AND entity = 'position' AND entity_id = CAST((SELECT id FROM positions WHERE iupd = ?) AS TEXT)", pos.iupd))!.n,
      1,
      'one payment applied',
    );
    t.equal((await sqlGet<{ status: string }>(b.db, 'SELECT status FROM positions WHERE iupd = ?', pos.iupd))!.status, 'paid');
  });

  await t.test('two different receipts for one notice, one to each: paid once, the other flagged as a double payment', async (t) => {
    const pos = await createTari(a);
    const first = await receiptXml(a, pos);
    const second = await receiptXml(b, pos);
    const answers = await Promise.all([callStation(a, first.xml, 'paSendRTV2'), callStation(b, second.xml, 'paSendRTV2')]);
    t.same(answers.map((r) => r.answer.outcome), ['OK', 'OK'], 'receipts are never refused');
    const rows = await sqlAll<{ processing: string }>(a.db, 'SELECT processing FROM receipts WHERE iuv = ? ORDER BY id', pos.options[0]!.iuv);
    t.same(rows.map((r) => r.processing).sort(), ['applied', 'flagged'], 'one applied, one flagged');
    t.equal(
      (await sqlGet<{ n: number }>(b.db, "SELECT count(*) AS n FROM anomalies WHERE type = 'receipt_already_paid' AND ente_id = ?", pos.enteId))!.n,
      1,
      'the double payment is an anomaly for the helpdesk',
    );
    t.equal(
      (await sqlGet<{ n: number }>(a.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'pay' AND entity = 'position' AND entity_id = CAST((SELECT id FROM positions WHERE iupd = ?) AS TEXT)", pos.iupd))!.n,
      1,
      'the position is paid once',
    );
  });
});
