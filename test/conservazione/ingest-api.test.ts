/**
 * B2 over HTTP: the REST versamento (API key, IDOR between enti, schema errors 400, 422 with the
 * esito codes, RdV download, OpenAPI), the back-office upload (roles, Italian messages, server-side
 * SHA-256, result page with the RdV link) and the profiles pages (sael_admin edits with audit,
 * helpdesk reads).
 */
import t from 'tap';
import { count, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { consAips, consEvents, consSips } from '../../src/modules/conservazione/schema.js';
import { buildPda } from '../../src/modules/conservazione/pda.js';
import { readBlob } from '../../src/modules/conservazione/blobs.js';
import { validatePIndex } from '../../src/modules/conservazione/pindex-validate.js';
import { validateRdv } from '../../src/modules/conservazione/rdv.js';
import { PDV_JSON_MAX_BYTES, PDV_UPLOAD_FILE_MAX_BYTES } from '../../src/modules/conservazione/ingest-routes.js';
import { getProfileByCode } from '../../src/modules/conservazione/profiles.js';
import { csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { apiKeyFor } from '../positions/fixtures.js';
import { addUser, adesioniApp, comune } from '../catalogue/adesioni-fixtures.js';
import { PDF, sha, XML } from './ingest-fixtures.js';
import { sqlGet } from '../../src/db/raw.js';

const URL = '/api/v1/conservazione/pdv';

function body(key: string, over: Record<string, unknown> = {}) {
  return {
    profilo: 'determina',
    identificativo: key,
    metadati: { TipologiaDocumentale: 'Determinazione', ModalitaDiFormazione: 'a', Oggetto: 'Impegno di spesa', DataDocumento: '2026-03-01', NumeroDocumento: '7' },
    files: [
      { nome: 'det.pdf', ruolo: 'principale', impronta: sha(PDF), mime: 'application/pdf', contenuto: PDF.toString('base64') },
      { nome: 'all.xml', ruolo: 'allegato', impronta: sha(XML), contenuto: XML.toString('base64') },
    ],
    ...over,
  };
}

const post = (app: FastifyInstance, key: string | null, payload: unknown) =>
  app.inject({ method: 'POST', url: URL, headers: key ? { authorization: `Bearer ${key}` } : {}, payload: payload as Record<string, unknown> });

t.test('REST versamento: auth, schema, 201/422 with esito, IDOR, RdV, OpenAPI', async (t) => {
  const { app } = await adesioniApp(t, '2026-03-02T10:15:00Z');
  const termoli = await comune(app, 'Termoli');
  const riccia = await comune(app, 'Riccia');
  const keyA = await apiKeyFor(app, termoli.id);
  const keyB = await apiKeyFor(app, riccia.id);

  t.equal((await post(app, null, body('D1'))).statusCode, 401, 'no key');
  t.equal((await post(app, 'nonvalida', body('D1'))).statusCode, 401, 'bad key');

  // Schema errors: 400 problem+json naming the field.
  const missing = await post(app, keyA, { profilo: 'determina', identificativo: 'D1', metadati: {} });
  t.equal(missing.statusCode, 400);
  t.match(missing.headers['content-type'], /problem\+json/);
  t.match(missing.json(), { status: 400, errors: [{ field: /files/ }] });
  const badHash = await post(app, keyA, body('D1', { files: [{ nome: 'a.pdf', ruolo: 'principale', impronta: 'abc', contenuto: 'AAAA' }] }));
  t.equal(badHash.statusCode, 400);
  t.match(badHash.body, /impronta/);
  const badB64 = await post(app, keyA, body('D1', { files: [{ nome: 'a.pdf', ruolo: 'principale', impronta: sha(PDF), contenuto: 'non è base64!' }] }));
  t.equal(badB64.statusCode, 400);
  t.match(badB64.json(), { errors: [{ field: 'body.files[0].contenuto' }] });
  const twoMain = await post(app, keyA, body('D1', { files: [{ nome: 'a.pdf', ruolo: 'principale', impronta: sha(PDF), contenuto: PDF.toString('base64') }, { nome: 'b.pdf', ruolo: 'principale', impronta: sha(PDF), contenuto: PDF.toString('base64') }] }));
  t.equal(twoMain.statusCode, 400);
  t.match(twoMain.body, /principale/);
  const otherId = await post(app, keyA, body('D1', { metadati: { ...body('D1').metadati, Identificativo: 'D9' } }));
  t.equal(otherId.statusCode, 400);
  t.match(otherId.json(), { errors: [{ field: 'body.metadati.Identificativo' }] });
  const tooBig = await post(app, keyA, body('D1', { files: [{ nome: 'a.pdf', ruolo: 'principale', impronta: sha(PDF), contenuto: 'A'.repeat(PDV_JSON_MAX_BYTES) }] }));
  t.equal(tooBig.statusCode, 413, 'body over the documented limit');
  t.equal((await app.db.select({ n: count() }).from(consSips).limit(1))[0]!.n, 0, 'nothing stored for schema errors');

  // Accepted: 201, esito, RdV URN + XML valid against the XSD, Location.
  const ok = await post(app, keyA, body('D1'));
  t.equal(ok.statusCode, 201, ok.body);
  const pdv = ok.json();
  t.match(pdv, { stato: 'accepted', profilo: 'determina', identificativo: 'D1', esito: { code: 'OK' }, rdv: { urn: /^urn:sael-pay:.+:rdv:2026:\d+$/, url: `/api/v1/conservazione/pdv/${pdv.id}/rdv` } });
  t.equal(ok.headers.location, `/api/v1/conservazione/pdv/${pdv.id}`);
  t.same(validateRdv(pdv.rdv.xml), { valid: true, errors: [] });
  t.match(pdv.files, [{ ordinale: 1, nome: 'det.pdf', ruolo: 'principale', impronta: sha(PDF), mime: 'application/pdf', conservato: true }, { ordinale: 2, nome: 'all.xml' }]);
  t.equal(pdv.metadati.Identificativo, 'D1', 'Identificativo defaults to identificativo');
  t.equal((await app.db.select().from(consSips).where(eq(consSips.id, pdv.id)).limit(1))[0]!.submittedBy, `apikey:${Object.values((await sqlGet(app.db, 'SELECT id FROM api_keys WHERE ente_id = ?', termoli.id))!)[0]}`);

  // Read back: own ente 200, the other ente's key 404 (no existence leak), unknown 404.
  const mine = await app.inject({ method: 'GET', url: `${URL}/${pdv.id}`, headers: { authorization: `Bearer ${keyA}` } });
  t.equal(mine.statusCode, 200);
  t.match(mine.json(), { id: pdv.id, stato: 'accepted', rdv: { urn: pdv.rdv.urn } });
  t.equal((await app.inject({ method: 'GET', url: `${URL}/${pdv.id}`, headers: { authorization: `Bearer ${keyB}` } })).statusCode, 404, 'B cannot read A’s PdV');
  t.equal((await app.inject({ method: 'GET', url: `${URL}/${pdv.id}/rdv`, headers: { authorization: `Bearer ${keyB}` } })).statusCode, 404, 'B cannot read A’s RdV');
  t.equal((await app.inject({ method: 'GET', url: `${URL}/99999`, headers: { authorization: `Bearer ${keyA}` } })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: `${URL}/abc`, headers: { authorization: `Bearer ${keyA}` } })).statusCode, 400);
  const accessBefore = (await app.db.select({ n: count() }).from(consEvents).where(eq(consEvents.kind, 'access')).limit(1))[0]!.n;
  const rdv = await app.inject({ method: 'GET', url: `${URL}/${pdv.id}/rdv`, headers: { authorization: `Bearer ${keyA}` } });
  t.equal(rdv.statusCode, 200);
  t.match(rdv.headers['content-type'], /application\/xml/);
  t.match(rdv.headers['content-disposition'], /attachment; filename="urn_sael-pay_.+\.xml"/);
  t.equal(rdv.body, pdv.rdv.xml);
  t.equal((await app.db.select({ n: count() }).from(consEvents).where(eq(consEvents.kind, 'access')).limit(1))[0]!.n, accessBefore + 1, 'download logged');

  // Rejected: 422 with the structured esito.
  const mismatch = await post(app, keyA, body('D2', { files: [{ nome: 'det.pdf', ruolo: 'principale', impronta: sha(XML), contenuto: PDF.toString('base64') }] }));
  t.equal(mismatch.statusCode, 422);
  t.match(mismatch.json(), { stato: 'rejected', rdv: null, esito: { code: 'KO' } });
  t.match(
    mismatch.json().esito.checks.filter((c: { outcome: string }) => c.outcome === 'NEGATIVO'),
    [{ check: 'hash', outcome: 'NEGATIVO', code: 'HASH_MISMATCH', file: 'det.pdf' }],
  );
  t.equal((await app.inject({ method: 'GET', url: `${URL}/${mismatch.json().id}/rdv`, headers: { authorization: `Bearer ${keyA}` } })).statusCode, 404, 'no RdV for a rejected PdV');
  const unknown = await post(app, keyA, body('D3', { profilo: 'inesistente' }));
  t.equal(unknown.statusCode, 422);
  t.match(unknown.json(), { id: null, esito: { checks: [{ code: 'PROFILE_UNKNOWN' }] } });
  const notAllowed = await post(app, keyA, body('D4', { profilo: 'ricevuta-pagopa' }));
  t.equal(notAllowed.statusCode, 422);
  t.match(notAllowed.json(), { esito: { checks: [{ code: 'PROFILE_NOT_ALLOWED' }] } });
  const noMeta = await post(app, keyA, body('D5', { metadati: { TipologiaDocumentale: 'Determinazione', ModalitaDiFormazione: 'a', DataDocumento: '2026-03-01', NumeroDocumento: '7' } }));
  t.equal(noMeta.statusCode, 422);
  t.ok(noMeta.json().esito.checks.some((c: { code: string }) => c.code === 'METADATA_MISSING'), 'METADATA_MISSING');

  // The OpenAPI lists the routes under the Conservazione tag with the esito codes.
  const spec = app.swagger() as { paths: Record<string, Record<string, { tags?: string[]; description?: string }>> };
  t.same(spec.paths['/api/v1/conservazione/pdv']?.post?.tags, ['Conservazione']);
  t.match(spec.paths['/api/v1/conservazione/pdv']?.post?.description, /HASH_MISMATCH[\s\S]*PROFILE_NOT_ALLOWED/);
  t.ok(spec.paths['/api/v1/conservazione/pdv/{id}']?.get);
  t.ok(spec.paths['/api/v1/conservazione/pdv/{id}/rdv']?.get);
});

function multipart(fields: Record<string, string>, files: { field: string; filename: string; type: string; data: Buffer }[]) {
  const boundary = `----sael${Date.now()}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  for (const f of files) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${f.field}"; filename="${f.filename}"\r\ncontent-type: ${f.type}\r\n\r\n`), f.data, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'text/html' } };
}

t.test('back-office upload: roles, Italian messages, accepted and rejected result pages', async (t) => {
  const { app } = await adesioniApp(t, '2026-03-02T10:15:00Z');
  const termoli = await comune(app, 'Termoli');
  const riccia = await comune(app, 'Riccia');
  const page = `/backoffice/enti/${termoli.id}/conservazione/versamento`;
  const op = await loginAs(app, await addUser(app, 'operator', termoli.id));
  const ref = await loginAs(app, await addUser(app, 'ente_admin', termoli.id));
  const opRiccia = await loginAs(app, await addUser(app, 'operator', riccia.id));
  const helpdesk = await loginAs(app, await addUser(app, 'helpdesk', null));
  const admin = await loginAs(app, await addUser(app, 'sael_admin', null));
  const get = (url: string, cookie?: string) => app.inject({ method: 'GET', url, headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });

  t.equal((await get(page)).statusCode, 401);
  t.equal((await get(page, opRiccia)).statusCode, 403, 'another ente’s operator');
  t.equal((await get(page, helpdesk)).statusCode, 403, 'the helpdesk reads, does not upload');
  t.equal((await get(`/backoffice/enti/99999/conservazione/versamento`, admin)).statusCode, 404);
  for (const c of [op, ref, admin]) t.equal((await get(page, c)).statusCode, 200);
  const formPage = await get(page, op);
  t.match(formPage.body, /<option value="determina">/);
  t.notMatch(formPage.body, /<option value="ricevuta-pagopa">/, 'receipts are not offered to the ente');
  t.match(formPage.body, /<input type="file"[^>]*id="f-principale"/);

  const upload = async (cookie: string, fields: Record<string, string>, files: Parameters<typeof multipart>[1]) => {
    const { token } = await csrfFrom(app, page, cookie);
    const mp = multipart({ _csrf: token, ...fields }, files);
    return app.inject({ method: 'POST', url: page, headers: { ...mp.headers, cookie }, payload: mp.payload });
  };

  // Every bad input named in Italian; nothing stored.
  const bad = await upload(op, { profilo: 'ricevuta-pagopa', identificativo: '', oggetto: '', dataDocumento: '2026-02-30', modalita: 'z', flusso: 'X', paroleChiave: 'a,b,c,d,e,f' }, []);
  t.equal(bad.statusCode, 400);
  for (const msg of ['Scegli il profilo', 'Indica l’identificativo', 'Indica l’oggetto', 'Indica la data del documento', 'modalità di formazione', 'tipo di flusso', 'al massimo 5 parole chiave', 'Scegli il file del documento principale']) {
    t.ok(bad.body.includes(msg), msg);
  }
  const noNumber = await upload(op, { profilo: 'determina', identificativo: 'DET-9', oggetto: 'Prova', dataDocumento: '2026-03-01', modalita: 'a' }, [{ field: 'principale', filename: 'det.pdf', type: 'application/pdf', data: PDF }]);
  t.equal(noNumber.statusCode, 400);
  t.match(noNumber.body, /richiede il numero del documento/);
  // A file over the limit: the form again with the message, nothing stored.
  const huge = await upload(op, { profilo: 'determina', identificativo: 'DET-9', oggetto: 'Prova', dataDocumento: '2026-03-01', numeroDocumento: '9', modalita: 'a' }, [
    { field: 'principale', filename: 'enorme.pdf', type: 'application/pdf', data: Buffer.alloc(PDV_UPLOAD_FILE_MAX_BYTES + 1, 0x20) },
  ]);
  t.equal(huge.statusCode, 400);
  t.match(huge.body, /File troppo grande \(enorme\.pdf\): ogni file può avere al massimo 25 MB/);
  t.equal((await app.db.select({ n: count() }).from(consSips).limit(1))[0]!.n, 0);
  // Without the CSRF token: refused before any byte is read.
  const mp = multipart({ profilo: 'determina' }, [{ field: 'principale', filename: 'det.pdf', type: 'application/pdf', data: PDF }]);
  t.equal((await app.inject({ method: 'POST', url: page, headers: { ...mp.headers, cookie: op }, payload: mp.payload })).statusCode, 403);

  const fields = { profilo: 'determina', identificativo: 'DET-9', oggetto: 'Impegno di spesa', dataDocumento: '2026-03-01', numeroDocumento: '9', modalita: 'a', flusso: 'I', paroleChiave: 'spesa, manutenzione', riservato: 'on' };
  const ok = await upload(op, fields, [
    { field: 'principale', filename: 'det.pdf', type: 'application/pdf', data: PDF },
    { field: 'allegati', filename: 'all.xml', type: 'text/xml', data: XML },
  ]);
  t.equal(ok.statusCode, 200, ok.body.slice(0, 500));
  t.match(ok.body, /Documento accettato/);
  const sip = (await app.db.select().from(consSips).where(eq(consSips.objectKey, 'DET-9')).limit(1))[0]!;
  t.match(sip, { status: 'accepted', source: 'upload', enteId: termoli.id });
  t.match(JSON.parse(sip.metadata), { Identificativo: 'DET-9', TipologiaDocumentale: 'Determinazione', NumeroDocumento: '9', TipologiaDiFlusso: 'I', ParoleChiave: ['spesa', 'manutenzione'], Riservato: true });
  t.ok(ok.body.includes(sha(PDF)), 'SHA-256 computed server-side and shown');
  const rdvLink = `/backoffice/enti/${termoli.id}/conservazione/versamento/${sip.id}/rdv.xml`;
  t.ok(ok.body.includes(`href="${rdvLink}"`), 'RdV download link');
  const rdv = await get(rdvLink, op);
  t.equal(rdv.statusCode, 200);
  t.same(validateRdv(rdv.body), { valid: true, errors: [] });
  t.equal((await get(rdvLink, helpdesk)).statusCode, 200, 'the helpdesk reads every ente');
  t.equal((await get(rdvLink, opRiccia)).statusCode, 403, 'another ente’s operator');
  t.equal((await get(`/backoffice/enti/${riccia.id}/conservazione/versamento/${sip.id}/rdv.xml`, opRiccia)).statusCode, 404, 'not Riccia’s PdV');

  // A rejected upload: 422 page with the esito table.
  const rejected = await upload(ref, { ...fields, identificativo: 'CONV-1', profilo: 'convenzione' }, [{ field: 'principale', filename: 'conv.pdf', type: 'application/pdf', data: PDF }]);
  t.equal(rejected.statusCode, 422);
  t.match(rejected.body, /Documento rifiutato/);
  t.match(rejected.body, /SIGNATURE_MISSING/);
});

t.test('profiles pages: sael_admin edits (audited), helpdesk reads, others refused', async (t) => {
  const { app } = await adesioniApp(t, '2026-03-02T10:15:00Z');
  const termoli = await comune(app, 'Termoli');
  const admin = await loginAs(app, await addUser(app, 'sael_admin', null));
  const helpdesk = await loginAs(app, await addUser(app, 'helpdesk', null));
  const ref = await loginAs(app, await addUser(app, 'ente_admin', termoli.id));
  const get = (url: string, cookie?: string) => app.inject({ method: 'GET', url, headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });
  const list = '/admin/conservazione/profili';
  const edit = `${list}/determina`;

  t.equal((await get(list)).statusCode, 401);
  t.equal((await get(list, ref)).statusCode, 403);
  const l = await get(list, admin);
  t.equal(l.statusCode, 200);
  t.match(l.body, /Ricevuta di pagamento pagoPA[\s\S]*10 anni/);
  t.equal((await get(list, helpdesk)).statusCode, 200);
  t.match((await get(edit, helpdesk)).body, /Sola lettura[\s\S]*<fieldset class="col-12 row g-3" disabled>/);
  t.equal((await get(`${list}/inesistente`, admin)).statusCode, 404);

  const send = async (cookie: string, fields: Record<string, string>, submitters: string[]) => {
    const { token } = await csrfFrom(app, edit, admin);
    const payload = `${form({ _csrf: token, ...fields })}${submitters.map((s) => `&submitters=${s}`).join('')}`;
    return app.inject({ method: 'POST', url: edit, headers: { ...FORM_HEADERS, cookie }, payload });
  };
  const good = {
    name: 'Determinazione',
    tipologiaDocumentale: 'Determinazione',
    description: 'Determine',
    formats: 'application/pdf | PDF/A | IDONEO\napplication/pkcs7-mime | Busta CAdES | IDONEO | cades',
    requiredMetadata: 'Identificativo\nOggetto\nDataDocumento',
    retentionYears: '20',
    active: 'on',
  };
  t.equal((await send(helpdesk, good, ['ente'])).statusCode, 403, 'helpdesk cannot save');

  const bad = await send(admin, { ...good, formats: 'pdf | x | OTTIMO', requiredMetadata: 'Oggetto\nColore', retentionYears: '0' }, []);
  t.equal(bad.statusCode, 400);
  for (const msg of ['Riga 1 dei formati non valida', 'Metadati sconosciuti: Colore', 'numero di anni da 1 a 9999', 'Scegli almeno un soggetto']) t.ok(bad.body.includes(msg), msg);

  const saved = await send(admin, good, ['ente', 'sael']);
  t.equal(saved.statusCode, 303);
  t.match(await getProfileByCode(app.db, 'determina'), {
    name: 'Determinazione',
    retentionYears: 20,
    submitters: ['ente', 'sael'],
    signatureRequired: false,
    requiredMetadata: ['Identificativo', 'Oggetto', 'DataDocumento'],
    formats: [{ mime: 'application/pdf', label: 'PDF/A', suitability: 'IDONEO' }, { mime: 'application/pkcs7-mime', signed: 'cades' }],
  });
  const audit = (await sqlGet(app.db, "SELECT before, after FROM audit_log WHERE entity = 'cons_profile' AND action = 'cons_profile.update'")) as { before: string; after: string };
  t.match(JSON.parse(audit.before), { name: 'Determinazione dirigenziale', retentionYears: null });
  t.match(JSON.parse(audit.after), { name: 'Determinazione', retentionYears: 20 });
  t.equal((await app.db.select({ n: count() }).from(consEvents).where(eq(consEvents.kind, 'profile')).limit(1))[0]!.n, 1, 'profile event');
  const after = await get(edit, admin);
  t.match(after.body, /Profilo determina salvato/);
  t.match(after.body, /data-testid="history"[\s\S]*Tempo di conservazione \(anni\)[\s\S]*illimitato[\s\S]*20/);
});

t.test('REST metadata correction: a new PdA version, only for the ente, only once in a PdA', async (t) => {
  const { app } = await adesioniApp(t, '2026-03-02T10:15:00Z');
  const termoli = await comune(app, 'Termoli');
  const riccia = await comune(app, 'Riccia');
  const keyA = await apiKeyFor(app, termoli.id);
  const keyB = await apiKeyFor(app, riccia.id);
  const put = (key: string, id: number, metadati: Record<string, unknown>) =>
    app.inject({ method: 'PUT', url: `${URL}/${id}/metadati`, headers: { authorization: `Bearer ${key}` }, payload: { metadati } });
  const created = await post(app, keyA, body('DET-2026-9'));
  t.equal(created.statusCode, 201);
  const sipId = created.json().id as number;
  const corrected = { TipologiaDocumentale: 'Determinazione', ModalitaDiFormazione: 'a', Oggetto: 'Impegno di spesa (rettifica)', DataDocumento: '2026-03-01', NumeroDocumento: '7' };

  const early = await put(keyA, sipId, corrected);
  t.equal(early.statusCode, 409, 'not in a PdA yet');
  t.match(early.json().detail, /non è ancora in un pacchetto di archiviazione/);

  const profile = (await getProfileByCode(app.db, 'determina'))!;
  const first = await buildPda(app.conservazione, { enteId: termoli.id, profileId: profile.id, sipIds: [sipId], actor: 'test' });
  t.equal((await put(keyB, sipId, corrected)).statusCode, 404, 'another ente’s key: not found');
  const renamed = await put(keyA, sipId, { ...corrected, Identificativo: 'ALTRO' });
  t.equal(renamed.statusCode, 400, 'the Identificativo cannot change');
  const invalid = await put(keyA, sipId, { ...corrected, DataDocumento: '2026-02-30' });
  t.equal(invalid.statusCode, 422, 'invalid metadata');
  t.match(invalid.json().detail, /DataDocumento/);

  const ok = await put(keyA, sipId, corrected);
  t.equal(ok.statusCode, 200);
  t.match(ok.json(), { pda: { versione: 2, documenti: 1, urn: /:pda:\d{4}:\d+:v2$/ } });
  const v2 = (await app.db.select().from(consAips).where(eq(consAips.id, ok.json().pda.id)).limit(1))[0]!;
  t.equal(v2.previousAipId, first.aipId, 'linked to the previous PdA');
  t.equal((await app.db.select().from(consAips).where(eq(consAips.id, first.aipId)).limit(1))[0]!.status, 'superseded');
  const index = (await readBlob(app.conservazione, v2.indexKey)).toString('utf8');
  t.match(index, /Impegno di spesa \(rettifica\)/, 'the new index carries the corrected metadata');
  t.match(index, new RegExp(first.indexSha256), 'and names the previous index by its hash');
  t.same(validatePIndex(index).errors, [], 'valid against the SInCRO XSD');
});
