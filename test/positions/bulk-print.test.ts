import fs from 'node:fs';
import { sqlGet } from '../../src/db/raw.js';
import path from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import t from 'tap';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { updateEnteLogo } from '../../src/modules/enti/repository.js';
import { apiKeyFor, tariBody } from './fixtures.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { fiscalCodeFor } from './csv-fixtures.js';
import { encodePng } from './png.js';

t.test('bulk printing of the filtered notices into a ZIP, rendered by worker threads', async (t) => {
  const app = await buildTestApp(t, { NOTICE_WORKERS: '2' });
  const { ente, body } = await tariBody(app);
  const auth = { authorization: `Bearer ${await apiKeyFor(app, ente.id)}` };
  const created: { iupd: string; debtor: { fiscalCode: string }; paymentOptions: { noticeNumber: string }[] }[] = [];
  for (const [i, cf] of [fiscalCodeFor(1), fiscalCodeFor(2), fiscalCodeFor(3)].entries()) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: { ...body, iupd: `BULK-${i}`, debtor: { ...body.debtor, fiscalCode: cf } } });
    t.equal(res.statusCode, 201, res.body.slice(0, 300));
    created.push(res.json());
  }
  await app.inject({ method: 'POST', url: '/api/v1/positions/BULK-2/cancel', headers: auth });

  const op = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'operator')!.fiscalCode);
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

  const entries = zipEntries(zip.rawPayload);
  t.equal(entries.length, 2);
  for (const e of entries) {
    t.equal(e.method, 0, `${e.name}: stored, not deflated again (a PDF is already compressed)`);
    t.equal(e.data.subarray(0, 5).toString('latin1'), '%PDF-');
    t.match(e.data.subarray(-8).toString('latin1'), /%%EOF\s*$/, `${e.name}: a whole PDF`);
    t.equal(crc32(e.data) >>> 0, e.crc, `${e.name}: CRC`);
    t.notMatch(e.data.toString('latin1'), /\/Subtype \/Image/, 'no stemma uploaded: no logo');
  }

  // Once the ente has a stemma, the printed notices carry it as their logo.
  const name = `${ente.id}-0123456789ab.png`;
  fs.mkdirSync(path.join(app.config.dataDir, 'stemmi'), { recursive: true });
  fs.writeFileSync(path.join(app.config.dataDir, 'stemmi', name), png(64, 48));
  await updateEnteLogo(app.db, ente.id, `/stemmi/${name}`, { actor: 'test' });
  const again = await app.inject({ method: 'POST', url: `/backoffice/enti/${ente.id}/stampe`, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, status: 'published' }) });
  t.equal(again.statusCode, 303);
  await app.jobs.drain();
  const zip2 = await app.inject({ url: `${again.headers.location}/avvisi.zip`, headers: { cookie } });
  const withLogo = zipEntries(zip2.rawPayload);
  t.equal(withLogo.length, 2);
  for (const e of withLogo) t.match(e.data.toString('latin1'), /\/Subtype \/Image/, `${e.name}: the stemma is the logo`);
  // The single notice, downloaded by the comune's software or by the operator, carries it too.
  const notice = created[0]!.paymentOptions[0]!.noticeNumber;
  const viaApi = await app.inject({ url: `/api/v1/notices/${notice}/pdf`, headers: auth });
  t.equal(viaApi.statusCode, 200);
  t.match(viaApi.rawPayload.toString('latin1'), /\/Subtype \/Image/, 'API notice: the stemma is the logo');
  const viaBackoffice = await app.inject({ url: `/backoffice/enti/${ente.id}/avvisi/${notice}.pdf`, headers: { cookie } });
  t.equal(viaBackoffice.statusCode, 200);
  t.match(viaBackoffice.rawPayload.toString('latin1'), /\/Subtype \/Image/, 'backoffice notice: the stemma is the logo');

  const { ente: termoli } = { ente: (await sqlGet(app.db, "SELECT id FROM enti WHERE name = 'Comune di Termoli'")) as { id: number } };
  t.equal((await app.inject({ url: `/backoffice/enti/${termoli.id}/stampe/1`, headers: { accept: 'text/html', cookie } })).statusCode, 403);
});

/** The files of a ZIP from its local headers (no data descriptors in what yazl writes for buffers). */
function zipEntries(zip: Buffer): { name: string; method: number; crc: number; data: Buffer }[] {
  const out: { name: string; method: number; crc: number; data: Buffer }[] = [];
  for (let at = 0; zip.readUInt32LE(at) === 0x04034b50; ) {
    const method = zip.readUInt16LE(at + 8);
    const crc = zip.readUInt32LE(at + 14);
    const size = zip.readUInt32LE(at + 18);
    const nameLen = zip.readUInt16LE(at + 26);
    const extraLen = zip.readUInt16LE(at + 28);
    const name = zip.toString('utf8', at + 30, at + 30 + nameLen);
    const start = at + 30 + nameLen + extraLen;
    const raw = zip.subarray(start, start + size);
    out.push({ name, method, crc, data: method === 8 ? inflateRawSync(raw) : raw });
    at = start + size;
  }
  return out;
}

/** A small RGB PNG (a blue square). */
function png(w: number, h: number): Buffer {
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, Buffer.from([20, 60, 200]))]);
  return encodePng(w, h, Buffer.concat(Array(h).fill(row)));
}
