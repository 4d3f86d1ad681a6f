/**
 * Group commit of receipts (createReceiptBatcher): many sendRT at once are stored in one
 * transaction, each answered after the commit; one bad receipt does not take the others down.
 */
import t from 'tap';
import { sqlGet } from '../../src/db/raw.js';
import { buildTestApp } from '../helpers.js';
import { createReceiptBatcher, readReceipt, type StoreInput } from '../../src/modules/pagopa/receipts.js';
import { parseEnvelope } from '../../src/modules/pagopa/soap.js';
import { getEnteByFiscalCode } from '../../src/modules/enti/repository.js';
import { getPaymentRequest, newReceiptId, readPaymentData, sendRtRequest, type ReceiptParams } from '../../src/simulators/pagopa/node-messages.js';
import { callStation, countRows, createTari, identity, type Created } from './helpers.js';

type App = Awaited<ReturnType<typeof buildTestApp>>;

async function receiptParams(app: App, pos: Created, i: number): Promise<ReceiptParams> {
  const r = await callStation(app, getPaymentRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[i]!.noticeNumber }, { v2: true }), 'paGetPaymentV2');
  return { v2: true, receiptId: newReceiptId(), noticeNumber: pos.options[i]!.noticeNumber, fiscalCode: pos.fiscalCode, data: readPaymentData(r.answer) };
}

async function storeInput(app: App, pos: Created, params: ReceiptParams): Promise<StoreInput> {
  const xml = sendRtRequest(identity(app, pos.fiscalCode), params);
  const payload = parseEnvelope(xml, 1 << 20).payload;
  let receipt: Element | undefined;
  for (let n = payload.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && (n as Element).localName === 'receipt') receipt = n as Element;
  return { receiver: (await getEnteByFiscalCode(app.db, pos.fiscalCode))!, primitive: 'paSendRTV2', receipt: readReceipt(receipt!), rawXml: xml };
}

t.test('receipts sent together through the station', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const positions = await Promise.all(Array.from({ length: 12 }, () => createTari(app)));
  const params = await Promise.all(positions.map((p) => receiptParams(app, p, 0)));
  // The same receipt twice in the same burst: one stored, the other a replay.
  const bodies = [...positions.map((p, i) => sendRtRequest(identity(app, p.fiscalCode), params[i]!)), sendRtRequest(identity(app, positions[0]!.fiscalCode), params[0]!)];
  const before = (await countRows(app, 'receipts'));
  const answers = await Promise.all(bodies.map((b) => callStation(app, b, 'paSendRTV2')));
  for (const a of answers) t.equal(a.answer.outcome, 'OK', a.body);
  t.equal((await countRows(app, 'receipts')) - before, 12, 'twelve receipts, the replay stored once');
  for (const p of positions) t.equal(((await sqlGet(app.db, 'SELECT status FROM positions WHERE iupd = ?', p.iupd)) as { status: string }).status, 'paid');
});

t.test('in one group, a receipt that fails rolls back alone', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const [a, b, c] = await Promise.all([createTari(app), createTari(app), createTari(app)]);
  const good1 = await storeInput(app, a!, await receiptParams(app, a!, 0));
  const bad = await storeInput(app, b!, await receiptParams(app, b!, 0));
  bad.receiver = { ...bad.receiver, id: 987654 }; // no such ente: the foreign key fails inside its savepoint
  const good2 = await storeInput(app, c!, await receiptParams(app, c!, 0));
  const batcher = createReceiptBatcher(app.db);
  const before = (await countRows(app, 'receipts'));
  const results = await Promise.allSettled([batcher.store(good1), batcher.store(bad), batcher.store(good2)]);
  t.match(results[0], { status: 'fulfilled', value: { kind: 'stored', processing: 'applied' } });
  t.match(results[1], { status: 'rejected' });
  t.match(String((results[1] as PromiseRejectedResult).reason), /FOREIGN KEY/i);
  t.match(results[2], { status: 'fulfilled', value: { kind: 'stored', processing: 'applied' } });
  t.equal((await countRows(app, 'receipts')) - before, 2);
  t.equal(((await sqlGet(app.db, 'SELECT status FROM positions WHERE iupd = ?', b!.iupd)) as { status: string }).status, 'published', 'nothing of the failed one remains');
  t.equal((await countRows(app, "audit_log WHERE action = 'receipt'")), 2, 'no audit row of the failed one either');
});

t.test('an outcome is given only after the commit', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const p = await createTari(app);
  const input = await storeInput(app, p, await receiptParams(app, p, 0));
  const batcher = createReceiptBatcher(app.db);
  const pending = batcher.store(input);
  t.equal((await countRows(app, 'receipts WHERE receipt_id = ?', input.receipt.receiptId)), 0, 'not yet written when store() returns');
  const outcome = await pending;
  t.equal(outcome.kind, 'stored');
  if (app.database.dialect === 'sqlite') t.notOk(app.sqlite.inTransaction, 'committed');
  t.equal((await countRows(app, 'receipts WHERE receipt_id = ?', input.receipt.receiptId)), 1);
});
