/**
 * Mailings to the referenti through HTTP and the job runner: the list holds the member enti's
 * ente_admin with an e-mail plus the addresses the admin adds (not a non-member's referente);
 * the job sends one mail per recipient with the unsubscribe link and the linked documents,
 * records progress and per-recipient status, skips an address that unsubscribed after the
 * mailing was queued, and a job that died half-way is taken back by the runner and sends only to
 * the recipients still pending (nobody twice). Unsubscribing: GET confirms, POST unsubscribes,
 * a wrong token is a 404.
 */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { enti } from '../../src/modules/enti/schema.js';
import { jobs } from '../../src/plugins/jobs/schema.js';
import { catalogueDocuments, mailingRecipients, mailings, referentiSubscriptions } from '../../src/modules/catalogue/schema.js';
import { runMailing } from '../../src/modules/catalogue/mailing-job.js';
import { grantRole, upsertUser } from '../../src/modules/users/repository.js';
import { sqlAll } from '../../src/db/raw.js';

type App = Awaited<ReturnType<typeof buildTestApp>>;

async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const app = await buildTestApp(t);
  const users = demoUserFiscalCodes();
  const annaCf = users.find((u) => u.role === 'ente_admin')!.fiscalCode;
  await upsertUser(app.db, { fiscalCode: annaCf, email: 'anna.esposito@comune.termoli.cb.it' }, { actor: 'test' });
  const nonMember = (await app.db.select().from(enti).where(eq(enti.member, false))).find((e) => e.kind === 'comune')!;
  const outsider = await upsertUser(app.db, { fiscalCode: 'NREPLA80A01B519X', name: 'Paola', familyName: 'Neri', email: 'paola@nonmember.it' }, { actor: 'test' });
  await grantRole(app.db, outsider, 'ente_admin', nonMember.id, { actor: 'test' });
  const campobasso = (await app.db.select().from(enti).where(eq(enti.istatCode, '070006')).limit(1))[0]!;
  const admin = await loginAs(app, users.find((u) => u.role === 'sael_admin')!.fiscalCode);
  return { app, admin, campobasso };
}

async function post(app: App, url: string, cookie: string, fields: Record<string, string | string[]>, csrfPage: string) {
  const c = await csrfFrom(app, csrfPage, cookie);
  const body = new URLSearchParams({ _csrf: c.token });
  for (const [k, v] of Object.entries(fields)) for (const x of ([] as string[]).concat(v)) body.append(k, x);
  return app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie: c.cookie }, payload: body.toString() });
}

const outbox = async (app: App) => (await sqlAll(app.db, 'SELECT to_address AS "to", subject, body FROM mail_outbox ORDER BY id')) as { to: string; subject: string; body: string }[];

async function addReferente(app: App, admin: string, enteId: number, name: string, email: string) {
  const res = await post(app, '/admin/catalogo/comunicazioni/referenti', admin, { enteId: String(enteId), name, email }, '/admin/catalogo/comunicazioni/referenti');
  return res;
}

async function compose(app: App, admin: string, subject: string, extra: Record<string, string | string[]> = {}) {
  const res = await post(app, '/admin/catalogo/comunicazioni', admin, { subject, body: 'Nuova versione della modulistica per le adesioni.', ...extra }, '/admin/catalogo/comunicazioni');
  const id = Number(/\/comunicazioni\/(\d+)$/.exec(String(res.headers.location))?.[1]);
  return { res, id };
}

t.test('a mailing is sent as a job: progress, per-recipient status, unsubscribe link, documents; unsubscribed skipped', async (t) => {
  const { app, admin, campobasso } = await setup(t);
  t.equal((await addReferente(app, admin, campobasso.id, 'Ufficio segreteria', 'segreteria@comune.campobasso.it')).statusCode, 303);
  const dup = await addReferente(app, admin, campobasso.id, 'Ufficio segreteria', 'SEGRETERIA@comune.campobasso.it');
  t.equal(dup.statusCode, 409);
  t.match(dup.body, 'è già nella lista dei referenti');
  t.equal((await addReferente(app, admin, campobasso.id, 'Sindaco', 'sindaco@comune.campobasso.it')).statusCode, 303);
  const list = await app.inject({ url: '/admin/catalogo/comunicazioni/referenti', headers: { accept: 'text/html', cookie: admin } });
  t.match(list.body, 'anna.esposito@comune.termoli.cb.it', 'the member ente’s ente_admin is in the list');
  t.notMatch(list.body, 'paola@nonmember.it', 'a non-member ente’s referente is not');

  const doc = (await app.db.insert(catalogueDocuments).values({ kind: 'mailing', title: 'Modulo di adesione 2027', fileName: 'modulo.pdf', contentType: 'application/pdf', sizeBytes: 10, sha256: 'x'.repeat(64), storagePath: 'x' }).returning())[0]!;
  const bad = await compose(app, admin, 'Mo', { documentIds: '999' });
  t.equal(bad.res.statusCode, 400);
  t.match(bad.res.body, 'Scrivi l’oggetto');
  const { res, id } = await compose(app, admin, 'Nuova modulistica', { documentIds: String(doc.id) });
  t.equal(res.statusCode, 303);
  const m = (await app.db.select().from(mailings).where(eq(mailings.id, id)).limit(1))[0]!;
  t.equal(m.total, 3);
  t.equal(m.status, 'queued');
  t.ok(m.jobId);

  // The sindaco unsubscribes after the mailing was queued, before the job runs (token from the key, as a previous mail would carry).
  const { unsubscribeKey, unsubscribeToken } = await import('../../src/modules/catalogue/mailing-repository.js');
  const sindaco = (await app.db.select().from(referentiSubscriptions).where(eq(referentiSubscriptions.email, 'sindaco@comune.campobasso.it')).limit(1))[0]!;
  const token = unsubscribeToken(await unsubscribeKey(app.db), sindaco.id);
  const confirm = await app.inject({ url: `/referenti/disiscrizione?token=${token}`, headers: { accept: 'text/html' } });
  t.equal(confirm.statusCode, 200);
  t.match(confirm.body, 'Conferma la disiscrizione');
  t.equal((await app.db.select().from(referentiSubscriptions).where(eq(referentiSubscriptions.id, sindaco.id)).limit(1))[0]!.unsubscribedAt, null, 'GET alone does not unsubscribe');
  const c = await csrfFrom(app, `/referenti/disiscrizione?token=${token}`);
  const done = await app.inject({ method: 'POST', url: `/referenti/disiscrizione?token=${token}`, headers: { ...FORM_HEADERS, cookie: c.cookie }, payload: form({ _csrf: c.token }) });
  t.equal(done.statusCode, 200);
  t.match(done.body, 'non riceverà più le comunicazioni');

  await app.jobs.drain();
  const job = (await app.db.select().from(jobs).where(eq(jobs.id, m.jobId!)).limit(1))[0]!;
  t.equal(job.status, 'done');
  t.equal(job.done, 3);
  t.equal(job.total, 3);
  const after = (await app.db.select().from(mailings).where(eq(mailings.id, id)).limit(1))[0]!;
  t.equal(after.status, 'done');
  t.equal(after.sent, 2);
  const statuses = Object.fromEntries((await app.db.select().from(mailingRecipients).where(eq(mailingRecipients.mailingId, id))).map((r) => [r.email, r.status]));
  t.same(statuses, { 'anna.esposito@comune.termoli.cb.it': 'sent', 'segreteria@comune.campobasso.it': 'sent', 'sindaco@comune.campobasso.it': 'skipped' });
  const mails = (await outbox(app)).filter((x) => x.subject === 'Nuova modulistica');
  t.same(mails.map((x) => x.to).sort(), ['anna.esposito@comune.termoli.cb.it', 'segreteria@comune.campobasso.it']);
  const annaMail = mails.find((x) => x.to.startsWith('anna'))!;
  t.match(annaMail.body, `Modulo di adesione 2027: ${app.config.publicUrl}/infopoint/documenti/${doc.id}`);
  const link = /\/referenti\/disiscrizione\?token=([A-Za-z0-9_-]+)/.exec(annaMail.body);
  t.ok(link, 'the mail carries its unsubscribe link');
  const sub = (await app.db.select().from(referentiSubscriptions).where(eq(referentiSubscriptions.email, 'anna.esposito@comune.termoli.cb.it')).limit(1))[0]!;
  t.not(sub.unsubscribeTokenHash, link![1], 'the token itself is not stored');
  t.match(sub.unsubscribeTokenHash, /^[0-9a-f]{64}$/);

  const page = await app.inject({ url: `/admin/catalogo/comunicazioni/${id}`, headers: { accept: 'text/html', cookie: admin } });
  t.match(page.body, 'Saltata (disiscritto)');
  const st = await app.inject({ url: `/admin/catalogo/comunicazioni/${id}/stato.json`, headers: { cookie: admin } });
  t.same(JSON.parse(st.body), { status: 'done', phase: 'Inviata', done: 3, total: 3, percent: 100, sent: 2, skipped: 1, failed: 0 });

  // Anna unsubscribes through the link in her mail; the next mailing leaves her out.
  const c2 = await csrfFrom(app, `/referenti/disiscrizione?token=${link![1]}`);
  await app.inject({ method: 'POST', url: `/referenti/disiscrizione?token=${link![1]}`, headers: { ...FORM_HEADERS, cookie: c2.cookie }, payload: form({ _csrf: c2.token }) });
  const second = await compose(app, admin, 'Seconda comunicazione');
  t.equal((await app.db.select().from(mailings).where(eq(mailings.id, second.id)).limit(1))[0]!.total, 1, 'only the segreteria is still subscribed');
  // The unsubscribed ente_admin is not subscribed again by the synchronisation.
  t.ok((await app.db.select().from(referentiSubscriptions).where(eq(referentiSubscriptions.id, sub.id)).limit(1))[0]!.unsubscribedAt);
});

t.test('a job that died half-way is taken back by the runner and sends only to the pending recipients', async (t) => {
  const { app, admin, campobasso } = await setup(t);
  for (let i = 1; i <= 4; i++) await addReferente(app, admin, campobasso.id, `Referente ${i}`, `ref${i}@comune.campobasso.it`);
  const { id } = await compose(app, admin, 'Comunicazione lunga');
  const m = (await app.db.select().from(mailings).where(eq(mailings.id, id)).limit(1))[0]!;
  t.equal(m.total, 5);
  // First run: the process "dies" after two recipients (the progress callback throws).
  let calls = 0;
  const deps = { db: app.db, publicUrl: app.config.publicUrl, provinceName: 'Provincia di Campobasso', mail: app.catalogue.mail };
  await t.rejects(
    runMailing(deps, id, () => {
      if (++calls > 2) throw new Error('process killed');
    }),
  );
  t.equal((await outbox(app)).filter((x) => x.subject === 'Comunicazione lunga').length, 2, 'two sent before the crash');
  // Its job row still says running, held by a worker that stopped reporting a while ago.
  await app.db.update(jobs).set({ status: 'running', lockedBy: 'dead-worker', heartbeatAt: Date.now() - 10 * 60_000 }).where(eq(jobs.id, m.jobId!));
  await app.jobs.drain();
  t.equal((await app.db.select().from(jobs).where(eq(jobs.id, m.jobId!)).limit(1))[0]!.status, 'done', 'the runner took the abandoned job back');
  const sent = (await outbox(app)).filter((x) => x.subject === 'Comunicazione lunga').map((x) => x.to);
  t.equal(sent.length, 5, 'everyone got it');
  t.equal(new Set(sent).size, 5, 'nobody got it twice');
  t.equal((await app.db.select().from(mailings).where(eq(mailings.id, id)).limit(1))[0]!.status, 'done');

  // A failed mailing is resumed from its page with a new job.
  const again = await compose(app, admin, 'Terza');
  await t.rejects(runMailing(deps, again.id, () => { throw new Error('stop'); }));
  await app.db.update(jobs).set({ status: 'failed' }).where(eq(jobs.id, (await app.db.select().from(mailings).where(eq(mailings.id, again.id)).limit(1))[0]!.jobId!));
  const page = await app.inject({ url: `/admin/catalogo/comunicazioni/${again.id}`, headers: { accept: 'text/html', cookie: admin } });
  t.match(page.body, 'Riprendi l’invio');
  const resumed = await post(app, `/admin/catalogo/comunicazioni/${again.id}/riprendi`, admin, {}, `/admin/catalogo/comunicazioni/${again.id}`);
  t.equal(resumed.statusCode, 303);
  await app.jobs.drain();
  const terza = (await outbox(app)).filter((x) => x.subject === 'Terza').map((x) => x.to);
  t.equal(terza.length, 5);
  t.equal(new Set(terza).size, 5);
});

t.test('unsubscribe: a wrong token is a 404; only the SAEL admin composes', async (t) => {
  const { app, admin, campobasso } = await setup(t);
  t.equal((await app.inject({ url: '/referenti/disiscrizione?token=not-a-real-token', headers: { accept: 'text/html' } })).statusCode, 404);
  // A CSRF token from a real confirmation page, then a POST with a wrong token.
  await addReferente(app, admin, campobasso.id, 'Sindaco', 'sindaco@comune.campobasso.it');
  const { unsubscribeKey, unsubscribeToken } = await import('../../src/modules/catalogue/mailing-repository.js');
  const sub = (await app.db.select().from(referentiSubscriptions).where(eq(referentiSubscriptions.email, 'sindaco@comune.campobasso.it')).limit(1))[0]!;
  const good = unsubscribeToken(await unsubscribeKey(app.db), sub.id);
  t.equal((await app.inject({ url: `/referenti/disiscrizione?token=${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`, headers: { accept: 'text/html' } })).statusCode, 404, 'one character changed: 404');
  const c = await csrfFrom(app, `/referenti/disiscrizione?token=${good}`);
  const res = await app.inject({ method: 'POST', url: '/referenti/disiscrizione?token=not-a-real-token', headers: { ...FORM_HEADERS, cookie: c.cookie }, payload: form({ _csrf: c.token }) });
  t.equal(res.statusCode, 404);
  t.equal((await app.db.select().from(referentiSubscriptions).where(eq(referentiSubscriptions.id, sub.id)).limit(1))[0]!.unsubscribedAt, null);
  t.equal((await app.inject({ url: '/referenti/disiscrizione', headers: { accept: 'text/html' } })).statusCode, 400, 'no token at all');
  const anna = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'ente_admin')!.fiscalCode);
  t.equal((await app.inject({ url: '/admin/catalogo/comunicazioni', headers: { accept: 'text/html', cookie: anna } })).statusCode, 403);
});
