import t from 'tap';
import { sqlGet, sqlRun } from '../../src/db/raw.js';
import { buildTestApp } from '../helpers.js';
import { demoEnte } from '../positions/fixtures.js';
import { getPaymentRequest, readPaymentData, verifyRequest } from '../../src/simulators/pagopa/node-messages.js';
import { callStation, countRows, createTari, identity, snapshotRows } from './helpers.js';

t.test('paVerifyPaymentNotice and paGetPayment(V2)', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const pos = await createTari(app);
  const single = pos.options[0]!;
  const id = identity(app, pos.fiscalCode);
  const qr = { fiscalCode: pos.fiscalCode, noticeNumber: single.noticeNumber };

  await t.test('verify answers the current amount, read-only, valid against the XSD', async (t) => {
    const before = (await snapshotRows(app));
    const r = await callStation(app, verifyRequest(id, qr), 'paVerifyPaymentNotice');
    t.equal(r.status, 200);
    t.ok(r.xsd.valid, r.xsd.errors.join('\n'));
    t.equal(r.answer.outcome, 'OK', r.body);
    t.match(r.body, /<amount>300\.00<\/amount>/);
    t.match(r.body, /<options>EQ<\/options>/);
    t.match(r.body, /<allCCP>(true|false)<\/allCCP>/);
    t.match(r.body, /<companyName>Comune di Campobasso<\/companyName>/);
    t.match(r.body, new RegExp(`<fiscalCodePA>${pos.fiscalCode}</fiscalCodePA>`));
    t.equal((await snapshotRows(app)), before, 'nothing written');
  });

  await t.test('any namespace prefix is accepted', async (t) => {
    for (const style of [{ prefix: 'pafn' }, { prefix: 'ns2', soapPrefix: 'S' }, { prefix: 'x', soapPrefix: 'env' }]) {
      const r = await callStation(app, verifyRequest(id, qr, style), 'paVerifyPaymentNotice');
      t.equal(r.answer.outcome, 'OK', `${JSON.stringify(style)} ${r.body}`);
    }
    const r = await callStation(app, verifyRequest(id, qr), undefined);
    t.equal(r.answer.outcome, 'OK', 'no SOAPAction header: operation from the body');
  });

  await t.test('getPayment is repeatable and changes nothing', async (t) => {
    const before = (await snapshotRows(app));
    const a = await callStation(app, getPaymentRequest(id, qr, { paymentNote: 'x' }), 'paGetPayment');
    const b = await callStation(app, getPaymentRequest(id, qr), 'paGetPayment');
    t.ok(a.xsd.valid, a.xsd.errors.join('\n'));
    t.equal(a.answer.outcome, 'OK', a.body);
    const da = readPaymentData(a.answer);
    const db = readPaymentData(b.answer);
    t.same(da, db, 'same data both times');
    t.equal(da.creditorReferenceId, single.iuv);
    t.equal(da.paymentAmountCents, 30000);
    t.equal(da.transfers.length, 2);
    t.equal(da.transfers.reduce((s, x) => s + x.amountCents, 0), 30000, 'transfers add up');
    t.equal(da.transfers[1]!.fiscalCodePA, (await demoEnte(app, 'Provincia di Campobasso')).ente.fiscalCode, 'TEFA to the province');
    t.equal(da.debtorFiscalCode, 'RSSMRA85T10A562S');
    t.equal((await snapshotRows(app)), before, 'nothing written');
  });

  await t.test('V2 gives companyName per transfer; POSTAL gives postal IBANs', async (t) => {
    const r = await callStation(app, getPaymentRequest(id, qr, { v2: true, transferType: 'POSTAL' }), 'paGetPaymentV2');
    t.ok(r.xsd.valid, r.xsd.errors.join('\n'));
    t.equal(r.answer.outcome, 'OK', r.body);
    const d = readPaymentData(r.answer);
    t.equal(d.companyName, 'Comune di Campobasso');
    t.equal(d.transfers[0]!.companyName, 'Comune di Campobasso');
    t.equal(d.transfers[1]!.companyName, 'Provincia di Campobasso');
    const postal = (await demoEnte(app, 'Campobasso')).ibans.find((i) => i.kind === 'postal')!.iban;
    t.equal(d.transfers[0]!.iban, postal, 'the comune transfer is credited to its postal account');
    t.ok(d.transfers[0]!.metadata.some((m) => m.key === 'IBANAPPOGGIO'), 'bank account as IBANAPPOGGIO');
    const plain = readPaymentData((await callStation(app, getPaymentRequest(id, qr, { v2: true }), 'paGetPaymentV2')).answer);
    t.not(plain.transfers[0]!.iban, postal, 'without POSTAL the bank IBAN');
  });

  await t.test('digital stamp transfer: V2 richiestaMarcaDaBollo, V1 refuses', async (t) => {
    const stampPos = await createTari(app, {
      serviceCode: 'DIRITTI',
      paymentOptions: [
        {
          isInstallment: false,
          description: 'Diritti di segreteria con bollo',
          amountCents: 2600,
          dueDate: new Date(Date.now() + 20 * 86400000).toISOString().slice(0, 10),
          transfers: [
            { idTransfer: 1, amountCents: 1000, iban: (await demoEnte(app, 'Campobasso')).ibans.find((i) => i.kind === 'bank')!.iban, remittanceInformation: 'Diritti di segreteria', taxonomyCode: '9/0201102IM/' },
            { idTransfer: 2, amountCents: 1600, stamp: { hashDocument: 'cXVlc3RhIMOoIHVuYSBwcm92YSBkaSBoYXNoIGRlbCBkb2N1bWVudG8x', stampType: '01', provincialResidence: 'CB' }, remittanceInformation: 'Marca da bollo', taxonomyCode: '9/0101108TS/' },
          ],
        },
      ],
    });
    const sqr = { fiscalCode: stampPos.fiscalCode, noticeNumber: stampPos.options[0]!.noticeNumber };
    const v2 = await callStation(app, getPaymentRequest(id, sqr, { v2: true }), 'paGetPaymentV2');
    t.ok(v2.xsd.valid, v2.xsd.errors.join('\n'));
    t.equal(v2.answer.outcome, 'OK', v2.body);
    t.match(v2.body, /<richiestaMarcaDaBollo><hashDocumento>/);
    const v1 = await callStation(app, getPaymentRequest(id, sqr), 'paGetPayment');
    t.ok(v1.xsd.valid);
    t.equal(v1.answer.faultCode, 'PAA_SEMANTICA');
  });

  await t.test('state faults', async (t) => {
    const unknown = await callStation(app, verifyRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: '302000000000000000' }), 'paVerifyPaymentNotice');
    t.ok(unknown.xsd.valid, unknown.xsd.errors.join('\n'));
    t.equal(unknown.answer.faultCode, 'PAA_PAGAMENTO_SCONOSCIUTO');
    t.match(unknown.body, new RegExp(`<id>${pos.fiscalCode}</id>`), 'fault id = EC fiscal code');

    const draft = await createTari(app, { publish: false });
    const d = await callStation(app, getPaymentRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: draft.options[0]!.noticeNumber }), 'paGetPayment');
    t.equal(d.answer.faultCode, 'PAA_PAGAMENTO_SCONOSCIUTO', 'draft');
    t.ok(d.xsd.valid);

    const cancelled = await createTari(app);
    const del = await app.inject({ method: 'POST', url: `/api/v1/positions/${cancelled.iupd}/cancel`, headers: { authorization: `Bearer ${cancelled.key}` } });
    t.equal(del.statusCode, 200, "cancelled through the API");
    for (const op of ['paVerifyPaymentNotice', 'paGetPayment', 'paGetPaymentV2'] as const) {
      const xml = op === 'paVerifyPaymentNotice'
        ? verifyRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: cancelled.options[1]!.noticeNumber })
        : getPaymentRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: cancelled.options[1]!.noticeNumber }, { v2: op === 'paGetPaymentV2' });
      const r = await callStation(app, xml, op);
      t.equal(r.answer.faultCode, 'PAA_PAGAMENTO_ANNULLATO', op);
      t.ok(r.xsd.valid, `${op} fault valid`);
    }

    const expired = await createTari(app, { switchToExpired: true });
    (await sqlRun(app.db, "UPDATE positions SET status = 'expired' WHERE iupd = ?", expired.iupd));
    const e = await callStation(app, verifyRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: expired.options[0]!.noticeNumber }), 'paVerifyPaymentNotice');
    t.equal(e.answer.faultCode, 'PAA_PAGAMENTO_SCADUTO');

    const pastDue = await createTari(app, { switchToExpired: true });
    (await sqlRun(app.db, "UPDATE payment_options SET due_date = '2020-01-01' WHERE notice_number = ?", pastDue.options[0]!.noticeNumber));
    const pd = await callStation(app, verifyRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: pastDue.options[0]!.noticeNumber }), 'paVerifyPaymentNotice');
    t.equal(pd.answer.faultCode, 'PAA_PAGAMENTO_SCADUTO', 'switchToExpired and past due');

    const paid = await createTari(app);
    (await sqlRun(app.db, "UPDATE positions SET status = 'paid' WHERE iupd = ?", paid.iupd));
    const p = await callStation(app, getPaymentRequest(id, { fiscalCode: pos.fiscalCode, noticeNumber: paid.options[0]!.noticeNumber }), 'paGetPayment');
    t.equal(p.answer.faultCode, 'PAA_PAGAMENTO_DUPLICATO');
    t.ok(p.xsd.valid);
  });

  await t.test('identity faults', async (t) => {
    const termoli = (await demoEnte(app, 'Termoli')).ente.fiscalCode;
    const notMember = (await sqlGet(app.db, 'SELECT fiscal_code AS cf FROM enti WHERE member = 0 LIMIT 1')) as { cf: string };
    const cases: [typeof id, typeof qr, string][] = [
      [{ ...id, idPA: notMember.cf }, qr, 'PAA_ID_DOMINIO_ERRATO'],
      [{ ...id, idPA: '12345678901' }, qr, 'PAA_ID_DOMINIO_ERRATO'],
      [id, { ...qr, fiscalCode: notMember.cf }, 'PAA_ID_DOMINIO_ERRATO'],
      [{ ...id, idBrokerPA: '99999999999' }, qr, 'PAA_ID_INTERMEDIARIO_ERRATO'],
      [{ ...id, idStation: '99999999999_01' }, qr, 'PAA_STAZIONE_INT_ERRATA'],
      [{ ...id, idPA: termoli }, { ...qr, fiscalCode: termoli }, 'PAA_PAGAMENTO_SCONOSCIUTO'],
    ];
    for (const [i, q, code] of cases) {
      for (const op of ['paVerifyPaymentNotice', 'paGetPayment'] as const) {
        const xml = op === 'paVerifyPaymentNotice' ? verifyRequest(i, q) : getPaymentRequest(i, q);
        const r = await callStation(app, xml, op);
        t.equal(r.answer.faultCode, code, `${op} ${JSON.stringify(i)} ${q.fiscalCode}`);
        t.ok(r.xsd.valid, r.xsd.errors.join('\n'));
      }
    }
  });

  await t.test('answers fast', async (t) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 50; i++) await callStation(app, getPaymentRequest(id, qr, { v2: true }), 'paGetPaymentV2');
    const ms = Number(process.hrtime.bigint() - start) / 1e6 / 50;
    t.ok(ms < 200, `mean ${ms.toFixed(1)} ms per getPaymentV2 (SLA 2 s)`);
    t.equal((await countRows(app, 'receipts')), 0);
  });
});
