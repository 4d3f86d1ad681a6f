/**
 * A receipt answered OK survives `kill -9` of the server right after the answer: the station
 * commits before it answers (WAL; the commit is in the WAL file before the response is written).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import Database from 'better-sqlite3';
import { getPaymentRequest, newReceiptId, readAnswer, readPaymentData, sendRtRequest } from '../../src/simulators/pagopa/node-messages.js';
import { loadConfig } from '../../src/config.js';
import { nodeArgs, tempDir } from '../helpers.js';
import { freePort } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

t.test('receipt answered OK survives kill -9 right after the answer', { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, nodeArgs(path.join(ROOT, 'src/server.ts')), {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dir, HOST: '127.0.0.1', PORT: String(port), PUBLIC_URL: base, LOG_LEVEL: 'silent', APP_MODE: 'demo', PAGOPA_FDR_INTERVAL_MINUTES: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += String(c)));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  let ready = false;
  for (let i = 0; i < 240 && !ready; i++) {
    ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (!ready) await new Promise((r) => setTimeout(r, 250));
  }
  t.ok(ready, `server ready ${stderr.slice(0, 500)}`);

  const dbFile = loadConfig({ DATA_DIR: dir }).databaseFile;
  const ro = new Database(dbFile, { readonly: true });
  const target = ro
    .prepare(
      `SELECT o.id, o.notice_number, e.fiscal_code FROM payment_options o JOIN positions p ON p.id = o.position_id JOIN enti e ON e.id = p.ente_id
       WHERE p.status = 'published' AND o.status = 'unpaid' AND o.kind = 'single' ORDER BY o.id LIMIT 1`,
    )
    .get() as { id: number; notice_number: string; fiscal_code: string };
  ro.close();
  t.ok(target, 'a demo notice to pay');

  const id = { idPA: target.fiscal_code, idBrokerPA: '90700000004', idStation: '90700000004_01' };
  const qr = { fiscalCode: target.fiscal_code, noticeNumber: target.notice_number };
  const post = (action: string, body: string) =>
    fetch(`${base}/pagopa/paForNode`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${action}"` }, body });
  const got = readAnswer(await (await post('paGetPaymentV2', getPaymentRequest(id, qr, { v2: true }))).text());
  t.equal(got.outcome, 'OK');
  const receiptId = newReceiptId();
  const xml = sendRtRequest(id, { v2: true, receiptId, noticeNumber: target.notice_number, fiscalCode: target.fiscal_code, data: readPaymentData(got) });

  const res = await post('paSendRTV2', xml);
  const answer = await res.text();
  child.kill('SIGKILL'); // right after the OK
  t.equal(readAnswer(answer).outcome, 'OK', 'the station answered OK');
  t.equal(await exited, 'SIGKILL', 'killed, no graceful shutdown');

  const after = new Database(dbFile);
  t.teardown(() => after.close());
  const row = after.prepare('SELECT processing, raw_xml FROM receipts WHERE receipt_id = ?').get(receiptId) as { processing: string; raw_xml: string } | undefined;
  t.match(row, { processing: 'applied' }, 'the receipt is in the database after kill -9');
  t.equal(row?.raw_xml, xml, 'with the raw XML as received');
  t.match(after.prepare('SELECT status FROM payment_options WHERE id = ?').get(target.id), { status: 'paid' });
});
