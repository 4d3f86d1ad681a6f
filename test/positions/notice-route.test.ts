import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { buildTestApp, loginAs, tempDir } from '../helpers.js';
import { apiKeyFor, demoEnte, tariBody } from './fixtures.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

t.test('notice PDF through the API and the back office; the QR decodes to the pagoPA payload', async (t) => {
  const app = await buildTestApp(t);
  const { ente, body } = await tariBody(app);
  const auth = { authorization: `Bearer ${await apiKeyFor(app, ente.id)}` };
  const created = (await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: { ...body, paymentOptions: [body.paymentOptions[0]] } })).json();
  const option = created.paymentOptions[0];

  const res = await app.inject({ url: `/api/v1/notices/${option.noticeNumber}/pdf`, headers: auth });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'application/pdf');
  t.match(res.headers['content-disposition'], `${body.debtor.fiscalCode}_${option.noticeNumber}.pdf`);
  t.equal(res.rawPayload.subarray(0, 5).toString(), '%PDF-');

  const { ente: termoli } = await demoEnte(app, 'Termoli');
  const other = await app.inject({ url: `/api/v1/notices/${option.noticeNumber}/pdf`, headers: { authorization: `Bearer ${await apiKeyFor(app, termoli.id)}` } });
  t.equal(other.statusCode, 404, 'another ente’s key cannot print it');
  t.equal((await app.inject({ url: '/api/v1/notices/123/pdf', headers: auth })).statusCode, 400);

  const op = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode);
  const page = await app.inject({ url: `/backoffice/enti/${ente.id}/avvisi/${option.noticeNumber}.pdf`, headers: { cookie: op } });
  t.equal(page.statusCode, 200);
  t.equal(page.headers['content-type'], 'application/pdf');

  if (!has('pdftoppm') || !has('zbarimg')) {
    t.skip('QR decoding needs pdftoppm and zbarimg (.ci/run installs poppler-utils and zbar-tools)', async () => {});
  } else {
    const dir = tempDir(t);
    const pdf = path.join(dir, 'notice.pdf');
    fs.writeFileSync(pdf, res.rawPayload);
    execFileSync('pdftoppm', ['-r', '200', '-png', '-f', '1', '-l', '1', pdf, path.join(dir, 'page')]);
    const png = fs.readdirSync(dir).find((f) => f.endsWith('.png'))!;
    const decoded = execFileSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', path.join(dir, png)]).toString().trim().split('\n');
    t.same(decoded, [`PAGOPA|002|${option.noticeNumber}|${ente.fiscalCode}|${option.amountCents}`]);
  }

  await app.inject({ method: 'POST', url: `/api/v1/positions/${body.iupd}/cancel`, headers: auth });
  const cancelled = await app.inject({ url: `/api/v1/notices/${option.noticeNumber}/pdf`, headers: auth });
  t.equal(cancelled.statusCode, 409);
  t.match(cancelled.json().detail, /non è stampabile/);
});
