import t from 'tap';
import { sqlGet } from '../../src/db/raw.js';
import { eq } from 'drizzle-orm';
import { buildTestApp, loginAs } from '../helpers.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { users } from '../../src/modules/users/schema.js';
import { getPaymentRequest, newReceiptId, readPaymentData, sendRtRequest } from '../../src/simulators/pagopa/node-messages.js';
import { callStation, createTari, identity } from './helpers.js';

t.test('receipt PDF for debtor, operator, helpdesk; receipts API', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const pos = await createTari(app);
  const id = identity(app, pos.fiscalCode);
  const qr = { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[0]!.noticeNumber };
  const data = readPaymentData((await callStation(app, getPaymentRequest(id, qr, { v2: true }), 'paGetPaymentV2')).answer);
  const receiptId = newReceiptId();
  const sent = await callStation(app, sendRtRequest(id, { v2: true, receiptId, noticeNumber: qr.noticeNumber, fiscalCode: pos.fiscalCode, data }), 'paSendRTV2');
  t.equal(sent.answer.outcome, 'OK');
  const row = (await sqlGet(app.db, 'SELECT id FROM receipts WHERE receipt_id = ? AND id_pa = ?', receiptId, pos.fiscalCode)) as { id: number };

  const api = await app.inject({ method: 'GET', url: `/api/v1/positions/${pos.iupd}/receipts`, headers: { authorization: `Bearer ${pos.key}` } });
  t.equal(api.statusCode, 200, api.body);
  t.match(api.json(), { items: [{ receiptId, amountCents: 30000, processing: 'applied', transfers: [{ idTransfer: 1 }, { idTransfer: 2 }] }] });
  t.equal((await app.inject({ method: 'GET', url: `/api/v1/positions/${pos.iupd}/receipts` })).statusCode, 401);
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/positions/NOPE/receipts', headers: { authorization: `Bearer ${pos.key}` } })).statusCode, 404);

  const codes = demoUserFiscalCodes();
  const operator = codes.find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode;
  const helpdesk = codes.find((u) => u.role === 'helpdesk')!.fiscalCode;
  const otherOperator = codes.find((u) => u.role === 'operator' && u.enteIstat !== '070006')!.fiscalCode;

  const op = await app.inject({ method: 'GET', url: `/backoffice/enti/${pos.enteId}/ricevute/${row.id}.pdf`, headers: { cookie: await loginAs(app, operator) } });
  t.equal(op.statusCode, 200, op.body.slice(0, 200));
  t.equal(op.headers['content-type'], 'application/pdf');
  t.match(op.rawPayload.subarray(0, 5).toString(), '%PDF-');
  t.match(op.rawPayload.toString('latin1'), /\/StructTreeRoot/, 'tagged');
  const wrong = await app.inject({ method: 'GET', url: `/backoffice/enti/${pos.enteId}/ricevute/${row.id}.pdf`, headers: { cookie: await loginAs(app, otherOperator) } });
  t.equal(wrong.statusCode, 403);
  const hd = await app.inject({ method: 'GET', url: `/helpdesk/ricevute/${row.id}.pdf`, headers: { cookie: await loginAs(app, helpdesk) } });
  t.equal(hd.statusCode, 200);
  t.equal((await app.inject({ method: 'GET', url: `/helpdesk/ricevute/${row.id}.pdf`, headers: { cookie: await loginAs(app, operator) } })).statusCode, 403);

  // The debtor: a citizen user with the debtor's fiscal code.
  await app.db.insert(users).values({ fiscalCode: 'RSSMRA85T10A562S', name: 'Mario', familyName: 'Rossi' }).onConflictDoNothing();
  const mine = await app.inject({ method: 'GET', url: `/ricevute/${row.id}.pdf`, headers: { cookie: await loginAs(app, 'RSSMRA85T10A562S') } });
  t.equal(mine.statusCode, 200);
  const notMine = await app.inject({ method: 'GET', url: `/ricevute/${row.id}.pdf`, headers: { cookie: await loginAs(app, helpdesk), accept: 'text/html' } });
  t.equal(notMine.statusCode, 404, 'someone else’s receipt looks missing');
  t.equal((await app.inject({ method: 'GET', url: `/ricevute/${row.id}.pdf` })).statusCode, 401);
  t.ok((await app.db.select().from(users).where(eq(users.fiscalCode, 'RSSMRA85T10A562S')).limit(1))[0]);
});
