/**
 * One debt is paid once (issue 14 §2, §4): the options of a position (single payment vs
 * installments) are alternatives. The station answers an option of a settled position with
 * PAA_PAGAMENTO_DUPLICATO (pagopa.md §4: "position already paid/closed at the EC"); a receipt that
 * still arrives for such an option is stored, never refused, and raises an anomaly asking for a
 * refund. Also: secondary receipts for notices of enti the station does not serve raise an
 * anomaly, and paymentDateTime without an offset is Italian time.
 */
import t from 'tap';
import { sqlGet } from '../../src/db/raw.js';
import { buildTestApp } from '../helpers.js';
import { listEnti } from '../../src/modules/enti/repository.js';
import { nodeDateTime } from '../../src/modules/pagopa/receipts.js';
import { conflictingPairs, optionsConflict } from '../../src/modules/pagopa/payment-state.js';
import { getPaymentRequest, newReceiptId, readPaymentData, sendRtRequest, verifyRequest, type ReceiptParams } from '../../src/simulators/pagopa/node-messages.js';
import { callStation, countRows, createTari, identity, type Created } from './helpers.js';

type App = Awaited<ReturnType<typeof buildTestApp>>;

async function paymentData(app: App, pos: Created, i: number) {
  const r = await callStation(app, getPaymentRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[i]!.noticeNumber }, { v2: true }), 'paGetPaymentV2');
  return readPaymentData(r.answer);
}

function receiptXml(app: App, idPA: string, params: ReceiptParams): string {
  return sendRtRequest(identity(app, idPA), params);
}

t.test('pure rules: which options are alternatives', async (t) => {
  const single = { positionId: 1, optionId: 10, kind: 'single' as const, plan: null };
  const r1 = { positionId: 1, optionId: 11, kind: 'installment' as const, plan: null };
  const r2 = { positionId: 1, optionId: 12, kind: 'installment' as const, plan: null };
  const otherPlan = { positionId: 1, optionId: 13, kind: 'installment' as const, plan: 'B' };
  const otherPosition = { positionId: 2, optionId: 20, kind: 'single' as const, plan: null };
  t.ok(optionsConflict(single, r1), 'single vs installment');
  t.notOk(optionsConflict(r1, r2), 'installments of one plan go together');
  t.ok(optionsConflict(r1, otherPlan), 'two plans are alternatives');
  t.notOk(optionsConflict(single, otherPosition), 'different positions');
  t.notOk(optionsConflict(single, single), 'the same option');
  t.same(conflictingPairs([single, r1, r2, otherPosition]), [[0, 1], [0, 2]]);
});

t.test('paymentDateTime without an offset is Italian time', async (t) => {
  t.equal(nodeDateTime('2026-01-15T10:30:00'), '2026-01-15T10:30:00+01:00', 'winter');
  t.equal(nodeDateTime('2026-07-15T10:30:00.123'), '2026-07-15T10:30:00.123+02:00', 'summer, fraction kept');
  t.equal(new Date(nodeDateTime('2026-07-15T10:30:00')!).toISOString(), '2026-07-15T08:30:00.000Z');
  t.equal(nodeDateTime('2026-03-29T01:59:59'), '2026-03-29T01:59:59+01:00', 'just before the spring change');
  t.equal(nodeDateTime('2026-03-29T03:00:00'), '2026-03-29T03:00:00+02:00', 'just after the spring change');
  t.equal(nodeDateTime('2026-10-25T01:30:00'), '2026-10-25T01:30:00+02:00', 'before the autumn change');
  t.equal(nodeDateTime('2026-10-25T04:00:00'), '2026-10-25T04:00:00+01:00', 'after the autumn change');
  t.equal(nodeDateTime('2026-07-15T10:30:00Z'), '2026-07-15T10:30:00Z', 'an explicit offset is kept');
  t.equal(nodeDateTime('2026-07-15T10:30:00+02:00'), '2026-07-15T10:30:00+02:00');
  t.equal(nodeDateTime(undefined), undefined);
});

t.test('station: options of a settled position', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });

  await t.test('single paid first: an installment is answered DUPLICATO; its late receipt is stored and asks for a refund', async (t) => {
    const pos = await createTari(app);
    // Both options were activated before any receipt (two carts, two PSPs): the node holds both.
    const singleData = await paymentData(app, pos, 0);
    const installmentData = await paymentData(app, pos, 1);
    const first = await callStation(app, receiptXml(app, pos.fiscalCode, { v2: true, receiptId: newReceiptId(), noticeNumber: pos.options[0]!.noticeNumber, fiscalCode: pos.fiscalCode, data: singleData }), 'paSendRTV2');
    t.equal(first.answer.outcome, 'OK');

    for (const i of [1, 2, 3]) {
      const v = await callStation(app, verifyRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[i]!.noticeNumber }), 'paVerifyPaymentNotice');
      t.equal(v.answer.faultCode, 'PAA_PAGAMENTO_DUPLICATO', `installment ${i} verify`);
      t.ok(v.xsd.valid);
      const g = await callStation(app, getPaymentRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[i]!.noticeNumber }, { v2: true }), 'paGetPaymentV2');
      t.equal(g.answer.faultCode, 'PAA_PAGAMENTO_DUPLICATO', `installment ${i} activation`);
    }

    const receiptId = newReceiptId();
    const late = await callStation(app, receiptXml(app, pos.fiscalCode, { v2: true, receiptId, noticeNumber: pos.options[1]!.noticeNumber, fiscalCode: pos.fiscalCode, data: installmentData, paymentNote: 'cart-x' }), 'paSendRTV2');
    t.equal(late.answer.outcome, 'OK', 'never refused: a KO would leave it in the node’s retry queue');
    t.ok(late.xsd.valid);
    const row = (await sqlGet(app.db, 'SELECT id, processing, option_id, raw_xml FROM receipts WHERE receipt_id = ?', receiptId)) as { id: number; processing: string; option_id: number; raw_xml: string };
    t.equal(row.processing, 'flagged', 'stored, not applied');
    t.match(row.raw_xml, receiptId);
    const anomaly = (await sqlGet(app.db, "SELECT type, status, amount_cents, detail, refs FROM anomalies WHERE type = 'receipt_alternative_option'")) as Record<string, string | number>;
    t.ok(anomaly, 'an anomaly for the helpdesk');
    t.equal(anomaly.status, 'open');
    t.equal(anomaly.amount_cents, pos.options[1]!.amountCents);
    t.match(String(anomaly.detail), /rimborso/);
    t.match(String(anomaly.detail), /in unica soluzione/, 'names the option paid first');
    t.match(JSON.parse(String(anomaly.refs)), { receiptRowId: row.id, noticeNumber: pos.options[1]!.noticeNumber });
    const state = (await sqlGet(app.db, 'SELECT p.status AS p, o.status AS o FROM payment_options o JOIN positions p ON p.id = o.position_id WHERE o.id = ?', row.option_id)) as { p: string; o: string };
    t.same(state, { p: 'paid', o: 'cancelled' }, 'the position stays paid once');
  });

  await t.test('installment paid first: the single option is answered DUPLICATO and its late receipt asks for a refund', async (t) => {
    const pos = await createTari(app);
    const singleData = await paymentData(app, pos, 0);
    await callStation(app, receiptXml(app, pos.fiscalCode, { v2: true, receiptId: newReceiptId(), noticeNumber: pos.options[1]!.noticeNumber, fiscalCode: pos.fiscalCode, data: await paymentData(app, pos, 1) }), 'paSendRTV2');
    const v = await callStation(app, verifyRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[0]!.noticeNumber }), 'paVerifyPaymentNotice');
    t.equal(v.answer.faultCode, 'PAA_PAGAMENTO_DUPLICATO');
    const next = await callStation(app, verifyRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[2]!.noticeNumber }), 'paVerifyPaymentNotice');
    t.equal(next.answer.outcome, 'OK', 'the next installment of the same plan stays payable');
    const before = (await countRows(app, "anomalies WHERE type = 'receipt_alternative_option'"));
    const late = await callStation(app, receiptXml(app, pos.fiscalCode, { v2: true, receiptId: newReceiptId(), noticeNumber: pos.options[0]!.noticeNumber, fiscalCode: pos.fiscalCode, data: singleData }), 'paSendRTV2');
    t.equal(late.answer.outcome, 'OK');
    t.equal((await countRows(app, "anomalies WHERE type = 'receipt_alternative_option'")), before + 1);
    const detail = ((await sqlGet(app.db, "SELECT detail FROM anomalies WHERE type = 'receipt_alternative_option' ORDER BY id DESC")) as { detail: string }).detail;
    t.match(detail, /rata 1 di 3/);
    t.match(detail, /Disporre il rimborso/);
    t.equal(((await sqlGet(app.db, 'SELECT status FROM positions WHERE iupd = ?', pos.iupd)) as { status: string }).status, 'partially_paid');
  });

  await t.test('a secondary receipt for a notice of an ente the station does not serve is stored with an anomaly', async (t) => {
    const pos = await createTari(app);
    const data = await paymentData(app, pos, 0);
    const stranger = (await listEnti(app.db, { kind: 'comune' })).find((e) => !e.member)!;
    const receiptId = newReceiptId();
    const r = await callStation(app, receiptXml(app, pos.fiscalCode, { v2: true, receiptId, noticeNumber: '301888888888888888', fiscalCode: stranger.fiscalCode, data: { ...data, creditorReferenceId: '01888888888888888' } }), 'paSendRTV2');
    t.equal(r.answer.outcome, 'OK');
    const row = (await sqlGet(app.db, 'SELECT id, processing FROM receipts WHERE receipt_id = ?', receiptId)) as { id: number; processing: string };
    t.equal(row.processing, 'secondary', 'stored as secondary (the transfer to us is real money)');
    const a = (await sqlGet(
      app.db,
      {
        sqlite: "SELECT type, detail FROM anomalies WHERE type = 'receipt_unknown_notice' AND json_extract(refs, '$.receiptRowId') = ?",
        postgres: "SELECT type, detail FROM anomalies WHERE type = 'receipt_unknown_notice' AND (refs::json ->> 'receiptRowId')::bigint = ?",
      },
      row.id,
    )) as { type: string; detail: string } | undefined;
    t.ok(a, 'an anomaly names it');
    t.match(a?.detail ?? '', stranger.fiscalCode);
  });

  await t.test('paymentDateTime without an offset is stored as Italian time', async (t) => {
    const pos = await createTari(app);
    const receiptId = newReceiptId();
    // 09:30 UTC in January = 10:30 in Italy: the node writes "…T10:30:00".
    const xml = receiptXml(app, pos.fiscalCode, { v2: true, receiptId, noticeNumber: pos.options[0]!.noticeNumber, fiscalCode: pos.fiscalCode, data: await paymentData(app, pos, 0), paymentDateTime: new Date('2026-01-15T09:30:00Z') });
    t.match(xml, '<paymentDateTime>2026-01-15T10:30:00</paymentDateTime>', 'the simulator writes Italian time like the node');
    await callStation(app, xml, 'paSendRTV2');
    const row = (await sqlGet(app.db, 'SELECT payment_date_time AS at FROM receipts WHERE receipt_id = ?', receiptId)) as { at: string };
    t.equal(row.at, '2026-01-15T10:30:00+01:00');
    t.equal(new Date(row.at).toISOString(), '2026-01-15T09:30:00.000Z', 'the instant is right');
    const paidAt = ((await sqlGet(app.db, 'SELECT paid_at FROM payment_options WHERE notice_number = ?', pos.options[0]!.noticeNumber)) as { paid_at: string }).paid_at;
    t.equal(paidAt, '2026-01-15T10:30:00+01:00');
  });
});
