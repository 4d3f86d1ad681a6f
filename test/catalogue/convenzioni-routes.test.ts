/** Convenzioni: the SAEL office registers, uploads the signed PDF (refused when not a PDF), signs, puts in force, records a recesso; the ente reads its convenzione; the schedule expires it. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { adesioni, convenzioni } from '../../src/modules/catalogue/schema.js';
import { csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { addService, addUser, adesioniApp, comune } from './adesioni-fixtures.js';
import { sqlAll } from '../../src/db/raw.js';

function multipart(fields: Record<string, string>, file?: { filename: string; type: string; data: Buffer }) {
  const boundary = `----sael${Date.now()}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${file.filename}"\r\ncontent-type: ${file.type}\r\n\r\n`), file.data, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'text/html' } };
}

async function post(app: FastifyInstance, url: string, cookie: string, fields: Record<string, string>, page = url) {
  const { token } = await csrfFrom(app, page, cookie);
  return app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, ...fields }) });
}

const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

t.test('convenzione lifecycle through the pages', async (t) => {
  const { app, clock } = await adesioniApp(t, '2026-03-02T11:00:00Z');
  const termoli = await comune(app, 'Termoli');
  const riccia = await comune(app, 'Riccia');
  const admin = await loginAs(app, await addUser(app, 'sael_admin', null, 'capo@provincia.example'));
  const refTermoli = await loginAs(app, await addUser(app, 'ente_admin', termoli.id, 'ref@termoli.example'));
  const opRiccia = await loginAs(app, await addUser(app, 'operator', riccia.id));

  // Validation: missing fields → 400 with Italian messages.
  const bad = await post(app, '/admin/catalogo/convenzioni', admin, { enteId: '', actKind: 'delibera', actNumber: '', actDate: '', startDate: '2026-03-01', endDate: '2025-01-01' }, '/admin/catalogo/convenzioni/nuova');
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /Scegli l’ente/);
  t.match(bad.body, /numero dell’atto/);

  // The referente cannot create one (403).
  const forbidden = await app.inject({ method: 'GET', url: '/admin/catalogo/convenzioni/nuova', headers: { accept: 'text/html', cookie: refTermoli } });
  t.equal(forbidden.statusCode, 403);

  const created = await post(app, '/admin/catalogo/convenzioni', admin, { enteId: String(termoli.id), actKind: 'delibera', actNumber: '45', actDate: '2026-02-20', startDate: '2026-03-01', endDate: '2029-02-28' }, '/admin/catalogo/convenzioni/nuova');
  t.equal(created.statusCode, 303);
  const url = created.headers.location as string;
  const id = Number(url.split('/').pop());
  t.equal((await app.db.select().from(convenzioni).where(eq(convenzioni.id, id)).limit(1))[0]?.status, 'draft');

  // In force needs signing first, then the PDF.
  t.equal((await post(app, `${url}/azioni`, admin, { action: 'put_in_force' }, url)).statusCode, 409);
  t.equal((await post(app, `${url}/azioni`, admin, { action: 'sign' }, url)).statusCode, 303);
  const noPdf = await post(app, `${url}/azioni`, admin, { action: 'put_in_force' }, url);
  t.equal(noPdf.statusCode, 409);
  t.match(noPdf.body, /Carica prima il PDF/);

  // Upload: a file that is not a PDF (by its bytes, whatever its name and type) is refused.
  let { token } = await csrfFrom(app, url, admin);
  const fake = multipart({ _csrf: token }, { filename: 'convenzione.pdf', type: 'application/pdf', data: Buffer.from('<html>not a pdf</html>') });
  const refused = await app.inject({ method: 'POST', url: `${url}/documento`, headers: { ...fake.headers, cookie: admin }, payload: fake.payload });
  t.equal(refused.statusCode, 415);
  t.match(refused.body, /non è un PDF/);
  t.equal((await app.db.select().from(convenzioni).where(eq(convenzioni.id, id)).limit(1))[0]?.signedPdfSha256, null);
  t.same(fs.readdirSync(path.join(app.config.dataDir, 'catalogue', 'convenzioni')), [], 'nothing left on disk');

  // Without the CSRF field first: refused.
  const noCsrf = multipart({}, { filename: 'c.pdf', type: 'application/pdf', data: PDF });
  t.equal((await app.inject({ method: 'POST', url: `${url}/documento`, headers: { ...noCsrf.headers, cookie: admin }, payload: noCsrf.payload })).statusCode, 403);

  ({ token } = await csrfFrom(app, url, admin));
  const good = multipart({ _csrf: token }, { filename: 'convenzione-termoli.pdf', type: 'application/pdf', data: PDF });
  const up = await app.inject({ method: 'POST', url: `${url}/documento`, headers: { ...good.headers, cookie: admin }, payload: good.payload });
  t.equal(up.statusCode, 303);
  const sha = crypto.createHash('sha256').update(PDF).digest('hex');
  const row = (await app.db.select().from(convenzioni).where(eq(convenzioni.id, id)).limit(1))[0]!;
  t.equal(row.signedPdfSha256, sha);
  t.ok(fs.existsSync(path.join(app.config.dataDir, 'catalogue', 'convenzioni', `${sha}.pdf`)), 'stored content-addressed');
  const detail = await app.inject({ method: 'GET', url, headers: { accept: 'text/html', cookie: admin } });
  t.match(detail.body, sha, 'the page shows the SHA-256');

  t.equal((await post(app, `${url}/azioni`, admin, { action: 'put_in_force' }, url)).statusCode, 303);
  t.equal((await app.db.select().from(convenzioni).where(eq(convenzioni.id, id)).limit(1))[0]?.status, 'in_force');

  // The ente reads it and downloads the PDF; another ente cannot.
  const entePage = await app.inject({ method: 'GET', url: `/backoffice/enti/${termoli.id}/convenzione`, headers: { accept: 'text/html', cookie: refTermoli } });
  t.equal(entePage.statusCode, 200);
  t.match(entePage.body, /In vigore/);
  t.match(entePage.body, sha);
  const dl = await app.inject({ method: 'GET', url: `/backoffice/enti/${termoli.id}/convenzione/${id}/documento.pdf`, headers: { cookie: refTermoli } });
  t.equal(dl.statusCode, 200);
  t.same(dl.rawPayload, PDF);
  t.equal((await app.inject({ method: 'GET', url: `/backoffice/enti/${termoli.id}/convenzione`, headers: { accept: 'text/html', cookie: opRiccia } })).statusCode, 403);
  t.equal((await app.inject({ method: 'GET', url: `/backoffice/enti/${riccia.id}/convenzione/${id}/documento.pdf`, headers: { cookie: opRiccia } })).statusCode, 404, 'IDOR: another ente’s convenzione is not found');

  // Recesso in the future: stays in force until then, then the schedule marks it withdrawn.
  const wd = await post(app, `${url}/azioni`, admin, { action: 'withdraw', withdrawalDate: '2026-06-01', note: 'PEC prot. 123' }, url);
  t.equal(wd.statusCode, 303);
  t.equal((await app.db.select().from(convenzioni).where(eq(convenzioni.id, id)).limit(1))[0]?.status, 'in_force');
  t.equal((await post(app, `${url}/azioni`, admin, { action: 'withdraw', withdrawalDate: '2026-07-01' }, url)).statusCode, 409, 'recesso only once');
  // An adesione approved before the recesso stays as it is (obligations before the date remain).
  const before = (await app.db.insert(adesioni).values({ enteId: termoli.id, serviceId: (await addService(app, 'annual')).id, convenzioneId: id, status: 'active', startDate: '2026-03-02', endDate: '2027-03-01', amountCents: 50000 }).returning())[0]!;
  clock.set('2026-06-01T10:00:00Z');
  await app.catalogueTick(clock.now);
  t.equal((await app.db.select().from(convenzioni).where(eq(convenzioni.id, id)).limit(1))[0]?.status, 'withdrawn');
  t.match((await app.db.select().from(adesioni).where(eq(adesioni.id, before.id)).limit(1))[0], { status: 'active', amountCents: 50000 }, 'the adesione before the recesso stays');
});

t.test('signed convenzione comes into force at its start and expires after its end (schedule, idempotent)', async (t) => {
  const { app, clock } = await adesioniApp(t, '2026-03-02T11:00:00Z');
  const bojano = await comune(app, 'Bojano');
  const future = (await app.db.insert(convenzioni).values({ enteId: bojano.id, status: 'signed', actKind: 'determina', actNumber: '7', actDate: '2026-02-01', startDate: '2026-04-01', endDate: '2026-12-31', signedPdfSha256: 'b'.repeat(64), signedPdfPath: 'x', signedPdfName: 'x.pdf' }).returning())[0]!;
  const admin = await loginAs(app, await addUser(app, 'sael_admin', null));
  const early = await post(app, `/admin/catalogo/convenzioni/${future.id}/azioni`, admin, { action: 'put_in_force' }, `/admin/catalogo/convenzioni/${future.id}`);
  t.equal(early.statusCode, 409, 'not in force before its start');
  t.match(early.body, /entrerà in vigore/);
  await app.catalogueTick(clock.now);
  t.equal((await app.db.select().from(convenzioni).where(eq(convenzioni.id, future.id)).limit(1))[0]?.status, 'signed');
  clock.set('2026-04-01T08:00:00Z');
  await app.catalogueTick(clock.now);
  t.equal((await app.db.select().from(convenzioni).where(eq(convenzioni.id, future.id)).limit(1))[0]?.status, 'in_force');
  clock.set('2026-12-31T12:00:00Z');
  await app.catalogueTick(clock.now);
  t.equal((await app.db.select().from(convenzioni).where(eq(convenzioni.id, future.id)).limit(1))[0]?.status, 'in_force', 'in force on its last day');
  clock.set('2027-01-01T12:00:00Z');
  await app.catalogueTick(clock.now);
  await app.catalogueTick(clock.now);
  t.equal((await app.db.select().from(convenzioni).where(eq(convenzioni.id, future.id)).limit(1))[0]?.status, 'expired');
  const audits = (await sqlAll(app.db, "SELECT action FROM audit_log WHERE entity = 'convenzione' AND entity_id = ? ORDER BY id", String(future.id))) as { action: string }[];
  t.same(audits.map((a) => a.action), ['convenzione.put_in_force', 'convenzione.expire'], 'each change audited once');
});
