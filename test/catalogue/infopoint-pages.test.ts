/**
 * Infopoint (#15 item 9): offices seeded from the Province, news drafts invisible to the public,
 * attachments checked by their bytes and downloaded with the right headers, generated and uploaded
 * modulistica, and the suggestions form → helpdesk ticket of the Province (honeypot, rate limit).
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { INFOPOINT_SYSTEM_FISCAL_CODE, seedInfopoint } from '../../src/modules/catalogue/infopoint-repository.js';
import { SUGGESTIONS_RATE } from '../../src/modules/catalogue/infopoint-routes.js';
import { buildTestApp, csrfFrom, FORM_HEADERS, form, loginAs } from '../helpers.js';
import { sqlGet } from '../../src/db/raw.js';

const users = demoUserFiscalCodes();
const ADMIN = users.find((u) => u.role === 'sael_admin')!.fiscalCode;
const OP_CB = users.find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode;

const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(32)]);

function multipart(fields: Record<string, string>, file?: { filename: string; type: string; data: Buffer }) {
  const boundary = `----sael${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${file.filename}"\r\ncontent-type: ${file.type}\r\n\r\n`), file.data, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'text/html' } };
}

const get = (app: FastifyInstance, url: string, cookie?: string) => app.inject({ method: 'GET', url, headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });
const n = async (app: FastifyInstance, sql: string) => ((await sqlGet(app.db, `SELECT count(*) AS n FROM ${sql}`)) as { n: number }).n;

async function upload(app: FastifyInstance, cookie: string, url: string, title: string, file: { filename: string; type: string; data: Buffer }) {
  const { token } = await csrfFrom(app, '/admin/catalogo/infopoint', cookie);
  const mp = multipart({ _csrf: token, title }, file);
  return app.inject({ method: 'POST', url, headers: { ...mp.headers, cookie }, payload: mp.payload });
}

t.test('offices: the Province seeded once (demo), shown publicly, edited by the SAEL admin', async (t) => {
  const app = await buildTestApp(t);
  t.equal(await seedInfopoint(app.db), false, 'already seeded at start-up: idempotent');
  t.equal(await n(app, 'infopoint_offices'), 1);
  const home = await get(app, '/infopoint');
  t.equal(home.statusCode, 200);
  t.match(home.body, 'Via Roma 47, 86100 Campobasso');
  t.match(home.body, 'dati demo');
  t.match(home.body, 'href="tel:0874000000"');

  t.equal((await get(app, '/admin/catalogo/infopoint')).statusCode, 401);
  t.equal((await get(app, '/admin/catalogo/infopoint', await loginAs(app, OP_CB))).statusCode, 403, 'an ente operator is not the SAEL');
  const admin = await loginAs(app, ADMIN);
  const id = ((await sqlGet(app.db, 'SELECT id FROM infopoint_offices')) as { id: number }).id;
  const { token } = await csrfFrom(app, `/admin/catalogo/infopoint/sedi/${id}`, admin);
  const fields = { _csrf: token, name: 'S.A.E.L. – sede centrale', address: 'Via Roma 47, 86100 Campobasso', hours: 'Lun–ven 9–13', phone: '0874 401 1', email: 'non-una-mail', pec: '', notes: '', sortOrder: '0' };
  const bad = await app.inject({ method: 'POST', url: `/admin/catalogo/infopoint/sedi/${id}`, headers: { ...FORM_HEADERS, cookie: admin }, payload: form(fields) });
  t.equal(bad.statusCode, 400);
  t.match(bad.body, 'Indirizzo non valido');
  const ok = await app.inject({ method: 'POST', url: `/admin/catalogo/infopoint/sedi/${id}`, headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ ...fields, email: 'sael@provincia.campobasso.it' }) });
  t.equal(ok.statusCode, 303);
  t.match((await sqlGet(app.db, 'SELECT * FROM infopoint_offices WHERE id = ?', id)), { name: 'S.A.E.L. – sede centrale', email: 'sael@provincia.campobasso.it', pec: null, is_demo: 0 });
  t.equal(await n(app, "audit_log WHERE action = 'infopoint.office.update'"), 1, 'audited');
  t.notMatch((await get(app, '/infopoint')).body, 'dati demo', 'an edited office is no longer demo data');
  const del = await app.inject({ method: 'POST', url: `/admin/catalogo/infopoint/sedi/${id}/elimina`, headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ _csrf: token }) });
  t.equal(del.statusCode, 303);
  t.equal(await n(app, 'infopoint_offices'), 0);
  t.equal(await n(app, "audit_log WHERE action = 'infopoint.office.delete'"), 1);
  t.equal((await app.inject({ method: 'POST', url: `/admin/catalogo/infopoint/sedi/${id}/elimina`, headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ _csrf: token }) })).statusCode, 404);
});

t.test('news: drafts invisible, attachments by bytes, download headers, publish and unpublish', async (t) => {
  const app = await buildTestApp(t);
  const admin = await loginAs(app, ADMIN);
  const { token } = await csrfFrom(app, '/admin/catalogo/infopoint/notizie/nuova', admin);
  const created = await app.inject({
    method: 'POST',
    url: '/admin/catalogo/infopoint/notizie',
    headers: { ...FORM_HEADERS, cookie: admin },
    payload: form({ _csrf: token, title: 'Nuove linee guida AGID', summary: 'Che cosa cambia per i siti dei comuni.', body: 'Primo paragrafo.\n\nSecondo <b>paragrafo</b>.' }),
  });
  t.equal(created.statusCode, 303);
  const id = Number(/notizie\/(\d+)$/.exec(created.headers.location as string)![1]);

  t.equal((await get(app, `/infopoint/notizie/${id}`)).statusCode, 404, 'a draft is not public');
  t.notMatch((await get(app, '/infopoint/notizie')).body, 'Nuove linee guida AGID');

  const renamed = await upload(app, admin, `/admin/catalogo/infopoint/notizie/${id}/allegati`, 'Finto PDF', { filename: 'circolare.pdf', type: 'application/pdf', data: Buffer.from('MZ\x90\x00 not a pdf at all') });
  t.equal(renamed.statusCode, 415, 'a renamed non-PDF is refused');
  t.match(renamed.body, 'non è un PDF');
  t.equal(await n(app, 'catalogue_documents'), 0, 'nothing recorded');

  const up = await upload(app, admin, `/admin/catalogo/infopoint/notizie/${id}/allegati`, 'Circolare n. 1', { filename: 'Circolare è 1.pdf', type: 'application/octet-stream', data: PDF });
  t.equal(up.statusCode, 303);
  const doc = (await sqlGet(app.db, 'SELECT * FROM catalogue_documents')) as Record<string, unknown>;
  t.match(doc, { kind: 'news_attachment', owner_id: id, content_type: 'application/pdf', file_name: 'Circolare è 1.pdf', size_bytes: PDF.length });
  t.match(doc.sha256, /^[0-9a-f]{64}$/);
  t.match(doc.storage_path, new RegExp(`catalogue/documents/${(doc.sha256 as string).slice(0, 2)}/${doc.sha256}$`), 'content-addressed');

  t.equal((await get(app, `/infopoint/documenti/${doc.id}`)).statusCode, 404, 'a draft’s attachment is not public');
  t.equal((await get(app, `/infopoint/documenti/${doc.id}`, admin)).statusCode, 200, 'the SAEL admin may preview it');

  const { token: t2 } = await csrfFrom(app, `/admin/catalogo/infopoint/notizie/${id}`, admin);
  t.equal((await app.inject({ method: 'POST', url: `/admin/catalogo/infopoint/notizie/${id}/pubblica`, headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ _csrf: t2 }) })).statusCode, 303);
  t.equal((await app.inject({ method: 'POST', url: `/admin/catalogo/infopoint/notizie/${id}/pubblica`, headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ _csrf: t2 }) })).statusCode, 409, 'already published');
  const pub = await get(app, `/infopoint/notizie/${id}`);
  t.equal(pub.statusCode, 200);
  t.match(pub.body, '<p>Secondo &lt;b&gt;paragrafo&lt;/b&gt;.</p>', 'paragraphs, escaped');
  t.match(pub.body, `/infopoint/documenti/${doc.id}`);
  t.match((await get(app, '/infopoint/notizie')).body, 'Nuove linee guida AGID');

  const dl = await app.inject({ method: 'GET', url: `/infopoint/documenti/${doc.id}` });
  t.equal(dl.statusCode, 200);
  t.equal(dl.headers['content-type'], 'application/pdf');
  t.equal(dl.headers['content-disposition'], `attachment; filename="Circolare e 1.pdf"; filename*=UTF-8''Circolare%20%C3%A8%201.pdf`);
  t.equal(dl.headers['x-content-sha256'], doc.sha256);
  t.equal(dl.headers['x-content-type-options'], 'nosniff');
  t.same(dl.rawPayload, PDF);

  t.equal((await app.inject({ method: 'POST', url: `/admin/catalogo/infopoint/notizie/${id}/ritira`, headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ _csrf: t2 }) })).statusCode, 303);
  t.equal((await get(app, `/infopoint/notizie/${id}`)).statusCode, 404, 'withdrawn: no longer public');
  t.equal((await get(app, `/infopoint/documenti/${doc.id}`)).statusCode, 404);
  t.equal(await n(app, "audit_log WHERE action IN ('infopoint.news.publish','infopoint.news.unpublish','infopoint.document.add')"), 3);
});

t.test('modulistica: generated paper forms and uploaded moduli', async (t) => {
  const app = await buildTestApp(t);
  for (const name of ['modulo-adesione', 'modulo-richiesta']) {
    const res = await app.inject({ method: 'GET', url: `/infopoint/modulistica/${name}.pdf` });
    t.equal(res.statusCode, 200);
    t.equal(res.headers['content-type'], 'application/pdf');
    t.match(res.headers['content-disposition'], `attachment; filename="${name}-sael.pdf"`);
    t.equal(res.rawPayload.subarray(0, 5).toString(), '%PDF-');
  }
  const admin = await loginAs(app, ADMIN);
  const up = await upload(app, admin, '/admin/catalogo/infopoint/modulistica', 'Delega al referente', { filename: 'delega.png', type: 'image/png', data: PNG });
  t.equal(up.statusCode, 303);
  const page = await get(app, '/infopoint/modulistica');
  t.match(page.body, 'Delega al referente');
  const id = ((await sqlGet(app.db, "SELECT id FROM catalogue_documents WHERE kind = 'modulo'")) as { id: number }).id;
  const dl = await app.inject({ method: 'GET', url: `/infopoint/documenti/${id}` });
  t.equal(dl.headers['content-type'], 'image/png');
  const jpegAsPng = await upload(app, admin, '/admin/catalogo/infopoint/modulistica', 'Script', { filename: 'x.png', type: 'image/png', data: Buffer.from('<script>alert(1)</script>') });
  t.equal(jpegAsPng.statusCode, 415);
  const big = await upload(app, admin, '/admin/catalogo/infopoint/modulistica', 'Grande', { filename: 'big.pdf', type: 'application/pdf', data: Buffer.concat([PDF, Buffer.alloc(10 * 1024 * 1024)]) });
  t.equal(big.statusCode, 413, 'over the size limit');
  t.equal(await n(app, "catalogue_documents WHERE kind = 'modulo'"), 1);
});

t.test('suggestions become tickets of the Province; honeypot and rate limit', async (t) => {
  const app = await buildTestApp(t);
  const send = async (fields: Record<string, string>) => {
    const { token, cookie } = await csrfFrom(app, '/infopoint/suggerimenti');
    return app.inject({ method: 'POST', url: '/infopoint/suggerimenti', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, name: '', email: '', text: '', website: '', ...fields }) });
  };
  const ok = await send({ name: 'Maria Neri', email: 'maria@example.org', text: 'Sarebbe utile un orario pomeridiano anche il mercoledì.' });
  t.equal(ok.statusCode, 303);
  const tk = (await sqlGet(app.db, 'SELECT t.*, u.fiscal_code AS cf, e.kind AS ente_kind FROM tickets t JOIN users u ON u.id = t.requester_id JOIN enti e ON e.id = t.ente_id')) as Record<string, unknown>;
  t.match(tk, { category: 'altro', type: 'suggerimento', priority: 'bassa', ente_kind: 'provincia', cf: INFOPOINT_SYSTEM_FISCAL_CODE, citizen_contact: 'Maria Neri <maria@example.org>' });
  t.match(tk.subject, /^Suggerimento dall’infopoint: Sarebbe utile/);

  const honeypot = await send({ text: 'Compra ora i nostri prodotti, offerta limitata!', website: 'http://spam.example' });
  t.equal(honeypot.statusCode, 400, 'the honeypot rejects');
  t.match(honeypot.body, 'non è stato inviato');
  t.equal((await send({ text: '' })).statusCode, 400, 'text required');
  const badMail = await send({ email: 'non valida', text: 'Un suggerimento qualsiasi ma lungo.' });
  t.equal(badMail.statusCode, 400);
  t.match(badMail.body, 'Indirizzo e-mail non valido');
  const anon = await send({ text: 'Anonimo: più notizie sui bandi europei, grazie.' });
  t.equal(anon.statusCode, 303, 'name and e-mail are optional');
  t.equal(await n(app, 'tickets'), 2, 'two tickets, nothing from the rejected posts');
  t.equal(await n(app, `users WHERE fiscal_code = '${INFOPOINT_SYSTEM_FISCAL_CODE}'`), 1, 'one system user');
  t.equal(await n(app, `role_grants g JOIN users u ON u.id = g.user_id WHERE u.fiscal_code = '${INFOPOINT_SYSTEM_FISCAL_CODE}'`), 0, 'with no role');

  t.equal(SUGGESTIONS_RATE.max, 5);
  const limited = await send({ text: 'Il sesto messaggio in pochi minuti.' });
  t.equal(limited.statusCode, 429, 'rate limited per IP after 5 posts');
  t.equal(await n(app, 'tickets'), 2);
});
