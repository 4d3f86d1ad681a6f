import t from 'tap';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { apiKeyFor, tariBody } from './fixtures.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { fiscalCodeFor } from './csv-fixtures.js';

t.test('bulk printing of the filtered notices into a ZIP, rendered by worker threads', async (t) => {
  const app = await buildTestApp(t, { NOTICE_WORKERS: '2' });
  const { ente, body } = tariBody(app);
  const auth = { authorization: `Bearer ${apiKeyFor(app, ente.id)}` };
  const created: { iupd: string; debtor: { fiscalCode: string }; paymentOptions: { noticeNumber: string }[] }[] = [];
  for (const [i, cf] of [fiscalCodeFor(1), fiscalCodeFor(2), fiscalCodeFor(3)].entries()) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: { ...body, iupd: `BULK-${i}`, debtor: { ...body.debtor, fiscalCode: cf } } });
    t.equal(res.statusCode, 201, res.body.slice(0, 300));
    created.push(res.json());
  }
  await app.inject({ method: 'POST', url: '/api/v1/positions/BULK-2/cancel', headers: auth });

  const op = loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'operator')!.fiscalCode);
  const { token, cookie } = await csrfFrom(app, `/backoffice/enti/${ente.id}/posizioni`, op);
  const start = await app.inject({ method: 'POST', url: `/backoffice/enti/${ente.id}/stampe`, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, status: 'published' }) });
  t.equal(start.statusCode, 303);
  await app.jobs.drain();
  const page = await app.inject({ url: start.headers.location as string, headers: { accept: 'text/html', cookie } });
  t.match(page.body, /Pronti 2 avvisi/);
  const zip = await app.inject({ url: `${start.headers.location}/avvisi.zip`, headers: { cookie } });
  t.equal(zip.statusCode, 200);
  t.equal(zip.headers['content-type'], 'application/zip');
  const raw = zip.rawPayload.toString('latin1');
  t.equal(zip.rawPayload.readUInt32LE(0), 0x04034b50, 'a ZIP file');
  for (const p of created.slice(0, 2)) t.match(raw, `${p.debtor.fiscalCode}_${p.paymentOptions[0]!.noticeNumber}.pdf`);
  t.notMatch(raw, created[2]!.debtor.fiscalCode, 'the cancelled one is not printed');
  t.equal(raw.split('%PDF-').length - 1, 2, 'two PDFs');

  const { ente: termoli } = { ente: app.sqlite.prepare("SELECT id FROM enti WHERE name = 'Comune di Termoli'").get() as { id: number } };
  t.equal((await app.inject({ url: `/backoffice/enti/${termoli.id}/stampe/1`, headers: { accept: 'text/html', cookie } })).statusCode, 403);
});
