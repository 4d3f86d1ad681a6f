import t from 'tap';
import { buildTestApp } from '../helpers.js';
import { getPaymentRequest, verifyRequest } from '../../src/simulators/pagopa/node-messages.js';
import { paForNodeSoapSchema } from '../../src/modules/pagopa/spec-files.js';
import { callStation, createTari, identity, snapshotRows } from './helpers.js';

t.test('bad input gets a SOAP answer, never problem+json, and writes nothing', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const pos = await createTari(app);
  const id = identity(app, pos.fiscalCode);
  const qr = { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[0]!.noticeNumber };
  const good = verifyRequest(id, qr);
  const before = (await snapshotRows(app));

  await t.test('XSD-invalid requests → PAA_SINTASSI_XSD', async (t) => {
    const cases = {
      'qualified child': good.replace('<idPA>', '<nod:idPA>').replace('</idPA>', '</nod:idPA>'),
      'short notice number': good.replace(qr.noticeNumber, qr.noticeNumber.slice(1)),
      'missing idStation': good.replace(/<idStation>[^<]*<\/idStation>/, ''),
      'unknown element': good.replace('</qrCode>', '</qrCode><extra>1</extra>'),
      'amount with comma': getPaymentRequest(id, qr, { amountCents: 100 }).replace('<amount>1.00</amount>', '<amount>1,00</amount>'),
    };
    for (const [name, xml] of Object.entries(cases)) {
      const r = await callStation(app, xml, xml.includes('paGetPaymentReq') ? 'paGetPayment' : 'paVerifyPaymentNotice');
      t.equal(r.status, 200, name);
      t.equal(r.answer.faultCode, 'PAA_SINTASSI_XSD', name);
      t.ok(r.xsd.valid, `${name}: our fault answer is XSD-valid`);
    }
  });

  await t.test('malformed XML, DOCTYPE, billion laughs, wrong encoding → PAA_SINTASSI_EXTRAXSD', async (t) => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>${good.replace(/^<\?xml[^>]*>/, '').replace('<idStation>', '<idStation>&lol2;')}`;
    const cases = {
      malformed: good.slice(0, -20),
      doctype: good.replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x SYSTEM "http://evil.example/x.dtd">'),
      'billion laughs': laughs,
      'latin-1': good.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"'),
      empty: '',
    };
    for (const [name, xml] of Object.entries(cases)) {
      const r = await callStation(app, xml, 'paVerifyPaymentNotice');
      t.equal(r.status, 200, name);
      t.equal(r.answer.faultCode, 'PAA_SINTASSI_EXTRAXSD', name);
      t.ok(r.xsd.valid, `${name}: answer valid`);
      t.match(r.body, /paVerifyPaymentNoticeRes/);
    }
    const noAction = await callStation(app, cases.malformed);
    t.equal(noAction.status, 500, 'operation unknown: SOAP Fault');
    t.match(noAction.body, /<soapenv:Fault><faultcode>soapenv:Client<\/faultcode><faultstring>PAA_SINTASSI_EXTRAXSD/);
    t.ok(noAction.xsd.valid, 'SOAP Fault valid against envelope.xsd');
  });

  await t.test('oversize body → fault, not 413 problem+json', async (t) => {
    const huge = good.replace('</soapenv:Header>', `${'<!-- pad -->'.repeat(60_000)}</soapenv:Header>`).replace('<soapenv:Header/>', `<soapenv:Header>${'<!-- pad -->'.repeat(60_000)}</soapenv:Header>`);
    const r = await callStation(app, huge, 'paVerifyPaymentNotice');
    t.equal(r.status, 200);
    t.equal(r.answer.faultCode, 'PAA_SINTASSI_EXTRAXSD');
    const noAction = await callStation(app, huge);
    t.equal(noAction.status, 500);
    t.match(noAction.body, /soapenv:Fault/);
  });

  await t.test('wrong SOAPAction, unknown operation, SOAP 1.2, not SOAP', async (t) => {
    const wrong = await callStation(app, good, 'paGetPayment');
    t.equal(wrong.answer.faultCode, 'PAA_SINTASSI_EXTRAXSD', 'SOAPAction ≠ body operation');
    t.match(wrong.body, /paVerifyPaymentNoticeRes/);
    const unknown = await callStation(app, good.replaceAll('paVerifyPaymentNoticeReq', 'paChiediQualcosaReq'), 'paChiediQualcosa');
    t.equal(unknown.status, 500);
    t.match(unknown.body, /Operazione sconosciuta/);
    const soap12 = await callStation(app, good.replace('http://schemas.xmlsoap.org/soap/envelope/', 'http://www.w3.org/2003/05/soap-envelope'), 'paVerifyPaymentNotice');
    t.equal(soap12.status, 500);
    t.match(soap12.body, /VersionMismatch/);
    const notSoap = await callStation(app, '<a>b</a>', 'paVerifyPaymentNotice');
    t.equal(notSoap.answer.faultCode, 'PAA_SINTASSI_EXTRAXSD');
    const json = await app.inject({ method: 'POST', url: '/pagopa/paForNode', headers: { 'content-type': 'application/json' }, payload: '{"a":1}' });
    t.equal(json.statusCode, 500);
    t.match(json.headers['content-type'], /text\/xml/);
    t.match(json.body, /soapenv:Fault/);
    const get = await app.inject({ method: 'GET', url: '/pagopa/paForNode' });
    t.equal(get.statusCode, 405);
  });

  t.equal((await snapshotRows(app)), before, 'no database write');
  t.ok(paForNodeSoapSchema());
});
