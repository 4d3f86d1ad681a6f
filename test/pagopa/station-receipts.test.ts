import t from 'tap';
import { sqlAll, sqlGet, sqlRun } from '../../src/db/raw.js';
import { buildTestApp } from '../helpers.js';
import { demoEnte } from '../positions/fixtures.js';
import { getPaymentRequest, newReceiptId, readPaymentData, sendRtRequest, type ReceiptParams } from '../../src/simulators/pagopa/node-messages.js';
import { callStation, countRows, createTari, identity, type Created } from './helpers.js';

type App = Awaited<ReturnType<typeof buildTestApp>>;

async function paymentData(app: App, pos: Created, i: number, v2 = true) {
  const r = await callStation(app, getPaymentRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[i]!.noticeNumber }, { v2 }), v2 ? 'paGetPaymentV2' : 'paGetPayment');
  return readPaymentData(r.answer);
}

async function sendRt(app: App, idPA: string, pos: Created, i: number, extra: Partial<ReceiptParams> = {}) {
  const v2 = extra.v2 ?? true;
  const data = extra.data ?? (await paymentData(app, pos, i, v2));
  const params: ReceiptParams = { v2, receiptId: newReceiptId(), noticeNumber: pos.options[i]!.noticeNumber, fiscalCode: pos.fiscalCode, data, ...extra };
  const r = await callStation(app, sendRtRequest(identity(app, idPA), params), v2 ? 'paSendRTV2' : 'paSendRT');
  return { r, params };
}

const status = async (app: App, iupd: string) =>
  ((await sqlGet(app.db, 'SELECT status FROM positions WHERE iupd = ?', iupd)) as { status: string }).status;
const optionStatuses = async (app: App, iupd: string) =>
  ((await sqlAll(app.db, 'SELECT o.status FROM payment_options o JOIN positions p ON p.id = o.position_id WHERE p.iupd = ? ORDER BY o.ordinal', iupd)) as { status: string }[]).map((r) => r.status);

t.test('paSendRT / paSendRTV2', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const province = (await demoEnte(app, 'Provincia di Campobasso')).ente.fiscalCode;

  await t.test('V1 receipt for the single option: stored with raw XML before OK, position paid, plan closed', async (t) => {
    const pos = await createTari(app);
    const { r, params } = await sendRt(app, pos.fiscalCode, pos, 0, { v2: false });
    t.equal(r.answer.outcome, 'OK', r.body);
    t.ok(r.xsd.valid, r.xsd.errors.join('\n'));
    const row = (await sqlGet(app.db, 'SELECT * FROM receipts WHERE receipt_id = ?', params.receiptId)) as Record<string, unknown>;
    t.match(row, { primitive: 'paSendRT', processing: 'applied', payment_amount_cents: 30000, iuv: pos.options[0]!.iuv, debtor_fiscal_code: 'RSSMRA85T10A562S', id_psp: 'SIMPSP01' });
    t.match(String(row.raw_xml), /paSendRTReq/);
    t.equal((await countRows(app, 'receipt_transfers WHERE receipt_row_id = ?', row.id)), 2);
    t.equal((await status(app, pos.iupd)), 'paid');
    t.same((await optionStatuses(app, pos.iupd)), ['paid', 'cancelled', 'cancelled', 'cancelled'], 'installments closed');
    const v = await callStation(app, getPaymentRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[2]!.noticeNumber }), 'paGetPayment');
    t.equal(v.answer.faultCode, 'PAA_PAGAMENTO_DUPLICATO', 'closed installment answers DUPLICATO');
    t.ok((await countRows(app, "audit_log WHERE actor = 'pagopa-node' AND action = 'pay'")) >= 1, 'audited');
  });

  await t.test('replay changes nothing and answers OK (default) — or PAA_RECEIPT_DUPLICATA', async (t) => {
    const pos = await createTari(app);
    const first = await sendRt(app, pos.fiscalCode, pos, 0);
    const receipts = (await countRows(app, 'receipts'));
    const audits = (await countRows(app, 'audit_log'));
    const again = await callStation(app, sendRtRequest(identity(app, pos.fiscalCode), first.params), 'paSendRTV2');
    t.equal(again.answer.outcome, 'OK');
    t.equal((await countRows(app, 'receipts')), receipts, 'no new receipt');
    t.equal((await countRows(app, 'audit_log')), audits, 'no new audit row');

    const dupApp = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0', PAGOPA_RECEIPT_REPLAY_ANSWER: 'PAA_RECEIPT_DUPLICATA' });
    const p2 = await createTari(dupApp);
    const f2 = await sendRt(dupApp, p2.fiscalCode, p2, 0);
    t.equal(f2.r.answer.outcome, 'OK');
    const a2 = await callStation(dupApp, sendRtRequest(identity(dupApp, p2.fiscalCode), f2.params), 'paSendRTV2');
    t.equal(a2.answer.faultCode, 'PAA_RECEIPT_DUPLICATA');
    t.ok(a2.xsd.valid);
    t.equal((await countRows(dupApp, 'receipts')), 1);
  });

  await t.test('50 identical paSendRT at once → one receipt, one transition', async (t) => {
    const pos = await createTari(app);
    const data = await paymentData(app, pos, 0);
    const params: ReceiptParams = { v2: true, receiptId: newReceiptId(), noticeNumber: pos.options[0]!.noticeNumber, fiscalCode: pos.fiscalCode, data };
    const xml = sendRtRequest(identity(app, pos.fiscalCode), params);
    const results = await Promise.all(Array.from({ length: 50 }, () => callStation(app, xml, 'paSendRTV2')));
    t.ok(results.every((r) => r.answer.outcome === 'OK'));
    t.equal((await countRows(app, 'receipts WHERE receipt_id = ?', params.receiptId)), 1);
    t.equal((await countRows(app, "audit_log WHERE action = 'pay' AND entity = 'position' AND entity_id = CAST((SELECT id FROM positions WHERE iupd = ?) AS TEXT)", pos.iupd)), 1);
  });

  await t.test('installments: partially paid, then paid; single option closed', async (t) => {
    const pos = await createTari(app);
    await sendRt(app, pos.fiscalCode, pos, 1);
    t.equal((await status(app, pos.iupd)), 'partially_paid');
    t.same((await optionStatuses(app, pos.iupd)), ['cancelled', 'paid', 'unpaid', 'unpaid']);
    const single = await callStation(app, getPaymentRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[0]!.noticeNumber }), 'paGetPayment');
    t.equal(single.answer.faultCode, 'PAA_PAGAMENTO_DUPLICATO', 'single option no longer payable');
    const next = await callStation(app, getPaymentRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[2]!.noticeNumber }), 'paGetPayment');
    t.equal(next.answer.outcome, 'OK', 'next installment payable');
    await sendRt(app, pos.fiscalCode, pos, 2);
    t.equal((await status(app, pos.iupd)), 'partially_paid');
    await sendRt(app, pos.fiscalCode, pos, 3);
    t.equal((await status(app, pos.iupd)), 'paid');
    t.same((await optionStatuses(app, pos.iupd)), ['cancelled', 'paid', 'paid', 'paid']);
  });

  await t.test('multi-beneficiary: the province copy is stored as secondary, no state change', async (t) => {
    const pos = await createTari(app);
    const data = await paymentData(app, pos, 0);
    const receiptId = newReceiptId();
    const base = { v2: true, receiptId, noticeNumber: pos.options[0]!.noticeNumber, fiscalCode: pos.fiscalCode, data };
    const toProvince = await callStation(app, sendRtRequest(identity(app, province), base), 'paSendRTV2');
    t.equal(toProvince.answer.outcome, 'OK', toProvince.body);
    t.equal((await status(app, pos.iupd)), 'published', 'secondary copy does not pay the position');
    const toComune = await callStation(app, sendRtRequest(identity(app, pos.fiscalCode), base), 'paSendRTV2');
    t.equal(toComune.answer.outcome, 'OK');
    t.equal((await status(app, pos.iupd)), 'paid');
    const rows = (await sqlAll(app.db, 'SELECT id_pa, processing FROM receipts WHERE receipt_id = ? ORDER BY id', receiptId));
    t.same(rows, [{ id_pa: province, processing: 'secondary' }, { id_pa: pos.fiscalCode, processing: 'applied' }]);
  });

  await t.test('receipts for cancelled, expired, unknown, already-paid, amounts not adding up: stored + anomaly, never KO', async (t) => {
    const cancelled = await createTari(app);
    const data = await paymentData(app, cancelled, 0);
    await app.inject({ method: 'POST', url: `/api/v1/positions/${cancelled.iupd}/cancel`, headers: { authorization: `Bearer ${cancelled.key}` } });
    const c = await sendRt(app, cancelled.fiscalCode, cancelled, 0, { data });
    t.equal(c.r.answer.outcome, 'OK');
    t.equal((await status(app, cancelled.iupd)), 'cancelled', 'state unchanged');
    t.equal((await countRows(app, "anomalies WHERE type = 'receipt_cancelled_position' AND status = 'open'")), 1);

    const expired = await createTari(app);
    const edata = await paymentData(app, expired, 0);
    (await sqlRun(app.db, "UPDATE positions SET status = 'expired' WHERE iupd = ?", expired.iupd));
    const e = await sendRt(app, expired.fiscalCode, expired, 0, { data: edata });
    t.equal(e.r.answer.outcome, 'OK');
    t.equal((await status(app, expired.iupd)), 'paid', 'money collected: applied');
    t.equal((await countRows(app, "anomalies WHERE type = 'receipt_expired_position'")), 1);

    const unknown = { ...cancelled, options: [{ ...cancelled.options[0]!, noticeNumber: '301999999999999999' }] };
    const u = await sendRt(app, cancelled.fiscalCode, unknown, 0, { data: { ...data, creditorReferenceId: '01999999999999999' } });
    t.equal(u.r.answer.outcome, 'OK');
    t.equal((await countRows(app, "anomalies WHERE type = 'receipt_unknown_notice'")), 1);
    t.equal((await countRows(app, "receipts WHERE notice_number = '301999999999999999' AND processing = 'flagged'")), 1);

    const twice = await createTari(app);
    const tdata = await paymentData(app, twice, 0);
    await sendRt(app, twice.fiscalCode, twice, 0, { data: tdata });
    const second = await sendRt(app, twice.fiscalCode, twice, 0, { data: tdata });
    t.equal(second.r.answer.outcome, 'OK', 'a second, different receipt for a paid notice');
    t.equal((await countRows(app, "anomalies WHERE type = 'receipt_already_paid'")), 1);

    const odd = await createTari(app);
    const odata = await paymentData(app, odd, 0);
    const o = await sendRt(app, odd.fiscalCode, odd, 0, { data: odata, paymentAmountCents: 29000 });
    t.equal(o.r.answer.outcome, 'OK');
    t.ok((await countRows(app, "anomalies WHERE type = 'receipt_amount_mismatch'")) >= 1);
    t.equal((await countRows(app, 'receipts WHERE receipt_id = ?', o.params.receiptId)), 1);
  });
});
