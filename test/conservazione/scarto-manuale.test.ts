/**
 * Part D: the scarto workflow over HTTP (propose → approve with the authorisation reference →
 * execute, or reject), roles (sael_admin acts, helpdesk reads, others refused), Italian 409 on an
 * invalid transition, files destroyed only when no kept PdA or pending document uses the same
 * bytes, items and events kept, verify still clean afterwards; the Manuale (HTML lists the active
 * profiles and the a–l sections, PDF with text) and the SAEL overview page.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { asc, eq, inArray } from 'drizzle-orm';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs, tempDir } from '../helpers.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { addDays, addYears } from '../../src/domain/iso-date.js';
import { romeDay } from '../../src/modules/conservazione/dates.js';
import { consAips, consBlobs, consEvents, consProfiles, consScartoItems, consScartoLists } from '../../src/modules/conservazione/schema.js';
import { verifyConservazione } from '../../src/modules/conservazione/verify.js';
import type { ConservazioneCtx } from '../../src/modules/conservazione/context.js';
import { testSealer } from './d-sealer-fixture.js';
import { addAip, addDocument, ensureProfile, memberEnti } from './d-archive-fixture.js';
import { sqlAll } from '../../src/db/raw.js';

const who = (role: string) => demoUserFiscalCodes().find((u) => u.role === role)!.fiscalCode;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;').replace(/`/g, '&#x60;').replace(/=/g, '&#x3D;');

t.test('scarto: propose, approve with the nulla osta, execute; shared files survive', async (t) => {
  const app = await buildTestApp(t);
  const sealer = await testSealer(app.config.dataDir, () => new Date());
  const ctx: ConservazioneCtx = { ...app.conservazione, sealer: async () => sealer };
  const today = romeDay(ctx.now());
  const expired = addDays(today, -1);
  const future = addYears(today, 5);
  const [ente] = await memberEnti(ctx);
  const profileId = await ensureProfile(ctx, 'd-scarto', 10);
  const d1 = await addDocument(ctx, ente!.id, profileId, ['contenuto condiviso', 'solo del documento 1']);
  const d2 = await addDocument(ctx, ente!.id, profileId, ['contenuto condiviso']);
  const d3 = await addDocument(ctx, ente!.id, profileId, ['condiviso con un documento in attesa']);
  const d4 = await addDocument(ctx, ente!.id, profileId, ['condiviso con un documento in attesa']); // in no PdA yet
  const aip1 = await addAip(ctx, sealer, { enteId: ente!.id, profileId, sipIds: [d1.sipId], retentionUntil: expired });
  const aip2 = await addAip(ctx, sealer, { enteId: ente!.id, profileId, sipIds: [d2.sipId], retentionUntil: future });
  const aip3 = await addAip(ctx, sealer, { enteId: ente!.id, profileId, sipIds: [d3.sipId], retentionUntil: expired });
  const aip4 = await addAip(ctx, sealer, { enteId: ente!.id, profileId, sipIds: [], retentionUntil: expired });
  t.equal(d4.keys[0], d3.keys[0], 'd3 and the pending d4 share their file');
  // An earlier version (superseded) past its retention is a candidate too.
  const aip5 = await addAip(ctx, sealer, { enteId: ente!.id, profileId, sipIds: [], retentionUntil: expired });
  await ctx.db.update(consAips).set({ status: 'superseded' }).where(eq(consAips.id, aip5.aipId));
  const urn = async (id: number) => (await ctx.db.select({ urn: consAips.urn }).from(consAips).where(eq(consAips.id, id)).limit(1))[0]!.urn;

  const admin = await loginAs(app, who('sael_admin'));
  const helpdesk = await loginAs(app, who('helpdesk'));
  const operator = await loginAs(app, who('operator'));
  const get = (url: string, cookie?: string) => app.inject({ url, headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });

  // Roles on the pages.
  t.equal((await get('/admin/conservazione/scarto')).statusCode, 401, 'anonymous: sign in first');
  t.equal((await get('/admin/conservazione/scarto', operator)).statusCode, 403, 'an ente operator may not see it');
  const ro = await get('/admin/conservazione/scarto', helpdesk);
  t.equal(ro.statusCode, 200, 'the helpdesk reads');
  t.notMatch(ro.body, 'Proponi l’elenco', 'without the form');
  const page = await get('/admin/conservazione/scarto', admin);
  t.equal(page.statusCode, 200);
  for (const a of [aip1, aip3, aip4, aip5]) t.match(page.body, await urn(a.aipId), 'expired PdA listed');
  t.match(page.body, 'versione precedente', 'the superseded one is marked');
  t.notMatch(page.body, await urn(aip2.aipId), 'a PdA still within its retention is not');

  const { token, cookie } = await csrfFrom(app, '/admin/conservazione/scarto', admin);
  const post = (url: string, fields: Record<string, string> | string, c = cookie) =>
    app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie: c }, payload: typeof fields === 'string' ? fields : form({ _csrf: token, ...fields }) });

  t.equal((await post('/admin/conservazione/scarto', `aip=${aip1.aipId}`)).statusCode, 403, 'no CSRF token: refused');
  const hd = await csrfFrom(app, '/admin/conservazione/scarto', helpdesk);
  t.equal((await app.inject({ method: 'POST', url: '/admin/conservazione/scarto', headers: { ...FORM_HEADERS, cookie: hd.cookie }, payload: form({ _csrf: hd.token, aip: String(aip1.aipId) }) })).statusCode, 403, 'the helpdesk may not propose');
  const none = await post('/admin/conservazione/scarto', {});
  t.equal(none.statusCode, 400);
  t.match(none.body, 'Seleziona almeno un pacchetto');
  const notYet = await post('/admin/conservazione/scarto', `_csrf=${encodeURIComponent(token)}&aip=${aip1.aipId}&aip=${aip2.aipId}`);
  t.equal(notYet.statusCode, 409, 'a PdA within retention cannot be proposed');
  t.match(notYet.body, 'PdA non scartabili');

  const proposed = await post('/admin/conservazione/scarto', `_csrf=${encodeURIComponent(token)}&aip=${aip1.aipId}&aip=${aip3.aipId}&note=${encodeURIComponent('Piano di conservazione 2026')}`);
  t.equal(proposed.statusCode, 303);
  const listUrl = proposed.headers.location as string;
  const listId = Number(/\/scarto\/(\d+)$/.exec(listUrl)![1]);
  t.notMatch((await get('/admin/conservazione/scarto', admin)).body, await urn(aip1.aipId), 'a PdA in an open list is no longer a candidate');

  const early = await post(`${listUrl}/esegui`, {});
  t.equal(early.statusCode, 409, 'execution before the authorisation: 409');
  t.match(early.body, /è proposto: non si può eseguire/);
  const noRef = await post(`${listUrl}/approva`, { authorisationRef: '  ' });
  t.equal(noRef.statusCode, 400, 'the authorisation reference is required');
  t.match(noRef.body, 'Indica gli estremi dell’autorizzazione');
  t.equal((await app.inject({ method: 'POST', url: `${listUrl}/approva`, headers: { ...FORM_HEADERS, cookie: hd.cookie }, payload: form({ _csrf: hd.token, authorisationRef: 'x' }) })).statusCode, 403);
  const ref = 'Soprintendenza archivistica del Molise, nulla osta prot. 1234 del 2 novembre';
  t.equal((await post(`${listUrl}/approva`, { authorisationRef: ref })).statusCode, 303);
  t.equal((await post(`${listUrl}/approva`, { authorisationRef: ref })).statusCode, 409, 'approved twice: 409');
  const detail = await get(listUrl, helpdesk);
  t.equal(detail.statusCode, 200);
  t.match(detail.body, ref, 'the authorisation reference is shown');
  t.notMatch(detail.body, 'Esegui lo scarto</button>', 'the helpdesk sees no action');
  t.match((await get(listUrl, admin)).body, 'Esegui lo scarto</button>');

  const executed = await post(`${listUrl}/esegui`, {});
  t.equal(executed.statusCode, 303);
  t.equal((await post(`${listUrl}/esegui`, {})).statusCode, 409, 'executed twice: 409');
  t.match((await get(listUrl, admin)).body, /Scarto eseguito: 2 PdA \(2 documenti\) scartati, 7 file distrutti, 2 file mantenuti/);

  const aips = await ctx.db.select().from(consAips).where(inArray(consAips.id, [aip1.aipId, aip2.aipId, aip3.aipId])).orderBy(asc(consAips.id));
  t.same(aips.map((a) => a.status), ['discarded', 'active', 'discarded']);
  t.ok(aips[0]!.discardedAt);
  const shared = d1.keys[0]!;
  const pendingShared = d3.keys[0]!;
  const destroyed = [d1.keys[1]!, ...aip1.keys, ...aip3.keys];
  for (const k of destroyed) {
    t.notOk(await ctx.store.has(k), `destroyed ${k.slice(0, 8)}`);
    t.ok((await ctx.db.select().from(consBlobs).where(eq(consBlobs.key, k)).limit(1))[0]!.discardedAt, 'marked discarded');
  }
  for (const k of [shared, pendingShared]) {
    t.ok(await ctx.store.has(k), 'a file another kept PdA or a pending document uses stays');
    t.equal((await ctx.db.select().from(consBlobs).where(eq(consBlobs.key, k)).limit(1))[0]!.discardedAt, null);
  }
  const items = await ctx.db.select().from(consScartoItems).where(eq(consScartoItems.listId, listId));
  t.same(items.map((i) => i.aipUrn).sort(), [await urn(aip1.aipId), await urn(aip3.aipId)].sort(), 'the items are kept with their URNs');
  t.match((await ctx.db.select().from(consScartoLists).where(eq(consScartoLists.id, listId)).limit(1))[0], { status: 'executed', authorisationRef: ref });
  const events = await ctx.db.select().from(consEvents).where(eq(consEvents.kind, 'scarto'));
  t.same(events.map((e) => JSON.parse(e.details).action), ['proposed', 'approved', 'discarded', 'discarded', 'executed']);
  const audits = (await sqlAll(app.db, "SELECT action FROM audit_log WHERE action LIKE 'conservazione.scarto.%' ORDER BY id")) as { action: string }[];
  t.same(audits.map((a) => a.action), ['conservazione.scarto.propose', 'conservazione.scarto.approve', 'conservazione.scarto.execute']);
  t.same((await verifyConservazione(ctx)).findings, [], 'verify skips what scarto destroyed: still clean');

  // A second list, rejected: its PdA become candidates again.
  const second = await post('/admin/conservazione/scarto', `_csrf=${encodeURIComponent(token)}&aip=${aip4.aipId}`);
  const secondUrl = second.headers.location as string;
  t.equal((await post(`${secondUrl}/respingi`, { note: '' })).statusCode, 400, 'a reason is required');
  t.equal((await post(`${secondUrl}/respingi`, { note: 'Manca il nulla osta per questa serie' })).statusCode, 303);
  t.equal((await ctx.db.select().from(consScartoLists).where(eq(consScartoLists.id, Number(/(\d+)$/.exec(secondUrl)![1]))).limit(1))[0]!.status, 'rejected');
  t.equal((await post(`${secondUrl}/approva`, { authorisationRef: ref })).statusCode, 409, 'a rejected list cannot be approved');
  t.match((await get('/admin/conservazione/scarto', admin)).body, await urn(aip4.aipId), 'candidate again');
  t.equal((await get('/admin/conservazione/scarto/999999', admin)).statusCode, 404);
});

t.test('manuale (HTML and PDF) and the SAEL overview', async (t) => {
  const app = await buildTestApp(t);
  const ctx = app.conservazione;
  await ensureProfile(ctx, 'd-manuale', 25);
  const profiles = await ctx.db.select().from(consProfiles).where(eq(consProfiles.active, true));
  t.ok(profiles.length >= 1);

  const html = await app.inject({ url: '/conservazione/manuale', headers: { accept: 'text/html' } });
  t.equal(html.statusCode, 200, 'public');
  for (const p of profiles) {
    t.match(html.body, esc(p.name), `profile ${p.code} listed`);
    t.match(html.body, `(${p.code})`);
  }
  t.match(html.body, '25 anni', 'retention');
  for (const letter of 'abcdefghijkl') t.match(html.body, new RegExp(`<h2 id="[a-z-]+-titolo" class="h3">${letter}\\) `), `section ${letter})`);
  t.match(html.body, 'Mario Rossi', 'the sael_admin is named responsabile');
  t.match(html.body, `almeno una volta ogni ${app.config.conservazione.auditCycleDays} giorni`, 'the fixity cycle from the settings');
  // the database this deployment runs on (the PostgreSQL pass runs this file on PostgreSQL)
  t.match(html.body, app.config.databaseUrl ? 'Base dati: PostgreSQL' : 'Base dati: SQLite', 'the database from the settings');
  t.notMatch(html.body, app.config.databaseUrl ? 'Base dati: SQLite' : 'Base dati: PostgreSQL');

  const pdf = await app.inject({ url: '/conservazione/manuale.pdf' });
  t.equal(pdf.statusCode, 200);
  t.equal(pdf.headers['content-type'], 'application/pdf');
  t.equal(pdf.rawPayload.subarray(0, 5).toString(), '%PDF-');
  const file = path.join(tempDir(t), 'manuale.pdf');
  fs.writeFileSync(file, pdf.rawPayload);
  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  t.match(text, 'Manuale di conservazione');
  t.match(text, 'j) Termini di versamento e di scarto');
  t.match(text, 'Profilo d-manuale (d-manuale)');

  const admin = await loginAs(app, who('sael_admin'));
  const overview = await app.inject({ url: '/admin/conservazione', headers: { accept: 'text/html', cookie: admin } });
  t.equal(overview.statusCode, 200);
  t.match(overview.body, 'Registro degli eventi');
  t.match(overview.body, 'href="/admin/conservazione/scarto"');
  t.equal((await app.inject({ url: '/admin/conservazione', headers: { accept: 'text/html', cookie: await loginAs(app, who('helpdesk')) } })).statusCode, 200);
  t.equal((await app.inject({ url: '/admin/conservazione', headers: { accept: 'text/html', cookie: await loginAs(app, who('operator')) } })).statusCode, 403);
});
