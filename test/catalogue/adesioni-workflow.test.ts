/**
 * Adesioni through HTTP: the referente's modulo, the SAEL office's review, every transition with
 * its role (403), state (409) and version (409) checks, IDOR (404), the convenzione a paid service
 * needs, the price snapshot that a later listino does not change, timeline, audit and mails; the
 * modulo PDF's text (pdftotext).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { adesioneEvents, adesioni, catalogueCharges } from '../../src/modules/catalogue/schema.js';
import { csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { addConvenzione, addPrice, addService, addUser, adesioniApp, comune, mails, setListPrice } from './adesioni-fixtures.js';
import { sqlAll } from '../../src/db/raw.js';

async function post(app: FastifyInstance, url: string, cookie: string, fields: Record<string, string>, page: string) {
  const { token } = await csrfFrom(app, page, cookie);
  return app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, ...fields }) });
}

const MODULO = { referenteName: 'Anna Esposito', referenteRole: 'Responsabile servizi informatici', email: 'anna.esposito@termoli.example', phone: '0875 712345', quantity: '3', notes: 'Attivare entro aprile.' };

async function row(app: FastifyInstance, id: number) {
  return (await app.db.select().from(adesioni).where(eq(adesioni.id, id)).limit(1))[0]!;
}

async function submitModulo(app: FastifyInstance, cookie: string, code: string, enteId: number, fields: Record<string, string> = {}) {
  const res = await post(app, `/servizi/${code}/adesione`, cookie, { enteId: String(enteId), ...MODULO, startDate: '2026-03-02', autoRenew: 'on', intent: 'submit', ...fields }, `/servizi/${code}/adesione?ente=${enteId}`);
  return { res, id: res.statusCode === 303 ? Number(String(res.headers.location).split('/').pop()) : 0 };
}

t.test('paid service: modulo, review, approval with convenzione and snapshot, roles, IDOR, timeline', async (t) => {
  const { app } = await adesioniApp(t, '2026-03-02T11:00:00Z');
  const termoli = await comune(app, 'Termoli');
  const riccia = await comune(app, 'Riccia');
  const svc = await addService(app, 'annual', { name: 'Conservazione digitale a norma' });
  const listId = await addPrice(app, svc.id, 120000);
  const ref = await loginAs(app, await addUser(app, 'ente_admin', termoli.id, 'ref@termoli.example'));
  const op = await loginAs(app, await addUser(app, 'operator', termoli.id, 'op@termoli.example'));
  const admin = await loginAs(app, await addUser(app, 'sael_admin', null, 'capo@provincia.example'));
  const refRiccia = await loginAs(app, await addUser(app, 'ente_admin', riccia.id, 'ref@riccia.example'));

  const form1 = await app.inject({ method: 'GET', url: `/servizi/${svc.code}/adesione`, headers: { accept: 'text/html', cookie: ref } });
  t.equal(form1.statusCode, 200);
  t.match(form1.body, /Richiesta di adesione/);
  t.equal((await app.inject({ method: 'GET', url: `/servizi/${svc.code}/adesione`, headers: { accept: 'text/html', cookie: op } })).statusCode, 403, 'an operator is not the referente');
  const anon = await app.inject({ method: 'GET', url: `/servizi/${svc.code}/adesione`, headers: { accept: 'text/html' } });
  t.equal(anon.statusCode, 303, 'anonymous: to the login page');
  t.equal(anon.headers.location, `/accesso?next=${encodeURIComponent(`/servizi/${svc.code}/adesione`)}`);

  // Bad input: 400 with the Italian messages, nothing saved.
  const bad = await submitModulo(app, ref, svc.code, termoli.id, { email: 'non-una-mail', quantity: '0', startDate: '2026-01-01' });
  t.equal(bad.res.statusCode, 400);
  t.match(bad.res.body, /indirizzo e-mail valido/);
  t.match(bad.res.body, /quantità intera/);
  t.match(bad.res.body, /nel passato/);
  t.equal((await app.db.select().from(adesioni)).length, 0);
  t.equal((await submitModulo(app, refRiccia, svc.code, termoli.id)).res.statusCode, 403, 'a referente of another ente cannot ask for Termoli');

  const { res, id } = await submitModulo(app, ref, svc.code, termoli.id);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/backoffice/enti/${termoli.id}/adesioni/${id}`);
  t.match(await row(app, id), { status: 'submitted', quantity: 3, autoRenew: true, protocolNumber: /^SAEL-ADE-2026-0+\d+$/ });
  t.ok((await mails(app, 'sael@provincia.example')).some((m) => /Richiesta inviata/.test(m.subject)), 'the SAEL notify address is told');
  t.ok((await mails(app, 'capo@provincia.example')).length === 1, 'the SAEL admin is told');
  t.ok((await mails(app, 'ref@termoli.example')).length === 1, 'the referente gets a confirmation');
  t.equal((await submitModulo(app, ref, svc.code, termoli.id)).res.statusCode, 409, 'a second open adesione to the same service is refused');

  // IDOR: Riccia's referente never sees or touches Termoli's adesione.
  const detailUrl = `/backoffice/enti/${termoli.id}/adesioni/${id}`;
  t.equal((await app.inject({ method: 'GET', url: detailUrl, headers: { accept: 'text/html', cookie: refRiccia } })).statusCode, 403);
  t.equal((await app.inject({ method: 'GET', url: `/backoffice/enti/${riccia.id}/adesioni/${id}`, headers: { accept: 'text/html', cookie: refRiccia } })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: `/backoffice/enti/${riccia.id}/adesioni/${id}/modulo.pdf`, headers: { cookie: refRiccia } })).statusCode, 404);
  const idor = await post(app, `/backoffice/enti/${riccia.id}/adesioni/${id}/azioni`, refRiccia, { action: 'withdraw' }, `/backoffice/enti/${riccia.id}/adesioni`);
  t.equal(idor.statusCode, 404);
  const rList = await app.inject({ method: 'GET', url: `/backoffice/enti/${riccia.id}/adesioni`, headers: { accept: 'text/html', cookie: refRiccia } });
  t.notMatch(rList.body, 'Conservazione digitale a norma');
  t.equal((await app.inject({ method: 'GET', url: `/admin/catalogo/adesioni/${id}`, headers: { accept: 'text/html', cookie: ref } })).statusCode, 403);

  // Roles (403) and states (409).
  const adminUrl = `/admin/catalogo/adesioni/${id}`;
  const adminAct = (fields: Record<string, string>) => post(app, `${adminUrl}/azioni`, admin, fields, adminUrl);
  const enteAct = (cookie: string, fields: Record<string, string>) => post(app, `${detailUrl}/azioni`, cookie, fields, detailUrl);
  t.equal((await post(app, `${adminUrl}/azioni`, ref, { action: 'approve' }, detailUrl)).statusCode, 403, 'the referente cannot use the SAEL review');
  t.equal((await enteAct(ref, { action: 'review' })).statusCode, 403, 'the referente cannot take it in review');
  t.equal((await enteAct(op, { action: 'withdraw' })).statusCode, 403, 'an operator cannot act');
  const adminSubmit = await adminAct({ action: 'submit' });
  t.equal(adminSubmit.statusCode, 403, 'the SAEL office does not send the ente’s modulo');
  const early = await adminAct({ action: 'approve' });
  t.equal(early.statusCode, 409);
  t.match(early.body, /non consentita: l’adesione è nello stato «Inviata»/);
  t.equal((await adminAct({ action: 'suspend' })).statusCode, 409);

  const v1 = (await row(app, id)).version;
  t.equal((await adminAct({ action: 'review', version: String(v1) })).statusCode, 303);
  t.equal((await row(app, id)).status, 'under_review');
  const stale = await adminAct({ action: 'approve', version: String(v1) });
  t.equal(stale.statusCode, 409, 'a stale form is refused');
  t.match(stale.body, /modificata nel frattempo/);

  // A paid service needs a convenzione in force over the whole period (2026-03-02 … 2027-03-01).
  const noConv = await adminAct({ action: 'approve' });
  t.equal(noConv.statusCode, 409);
  t.match(noConv.body, /convenzione in vigore per tutto il periodo/);
  await addConvenzione(app, termoli.id, '2026-01-01', '2026-12-31');
  t.equal((await adminAct({ action: 'approve' })).statusCode, 409, 'a convenzione ending before the adesione does not cover it');
  await addConvenzione(app, termoli.id, '2026-01-01', '2026-12-31', 'signed');
  t.equal((await adminAct({ action: 'approve' })).statusCode, 409, 'a convenzione not in force does not count');
  const conv = await addConvenzione(app, termoli.id, '2026-01-01', '2029-12-31');
  const approved = await adminAct({ action: 'approve', version: String((await row(app, id)).version) });
  t.equal(approved.statusCode, 303);
  const a = await row(app, id);
  t.match(a, { status: 'active', startDate: '2026-03-02', endDate: '2027-03-01', amountCents: 120000, convenzioneId: conv }, 'approved and, starting today, active');
  const snap = JSON.parse(a.priceSnapshot!) as { totalCents: number; resolvedOn: string; source: string };
  t.match(snap, { totalCents: 120000, resolvedOn: '2026-03-02', source: 'default' });
  const charges = await app.db.select().from(catalogueCharges).where(eq(catalogueCharges.adesioneId, id));
  t.equal(charges.length, 1, 'the first annual charge is issued at activation');
  t.ok(charges[0]!.amountCents > 0 && charges[0]!.amountCents <= 120000, `charge of ${charges[0]!.amountCents} cents from the snapshot (slice of the year)`);

  // A later listino change never alters the snapshot.
  await setListPrice(app, listId, svc.id, 999900);
  t.equal((await row(app, id)).amountCents, 120000);
  t.equal((await row(app, id)).priceSnapshot, a.priceSnapshot);

  // Suspend / resume; invalid resume first.
  t.equal((await adminAct({ action: 'resume' })).statusCode, 409);
  t.equal((await adminAct({ action: 'suspend' })).statusCode, 303);
  t.equal((await row(app, id)).status, 'suspended');
  t.equal((await adminAct({ action: 'resume' })).statusCode, 303);
  t.equal((await row(app, id)).status, 'active');

  // Recesso by the referente, with its effective date.
  t.equal((await enteAct(ref, { action: 'withdraw', effectiveDate: '2026-02-01' })).statusCode, 400, 'not before the start');
  const wd = await enteAct(ref, { action: 'withdraw', effectiveDate: '2026-09-30', version: String((await row(app, id)).version) });
  t.equal(wd.statusCode, 303);
  t.match(await row(app, id), { status: 'withdrawn', withdrawalDate: '2026-09-30' });
  t.equal((await enteAct(ref, { action: 'withdraw' })).statusCode, 409, 'nothing after withdrawn');

  // Timeline, audit, page.
  const events = await app.db.select().from(adesioneEvents).where(eq(adesioneEvents.adesioneId, id));
  t.same(events.map((e) => e.action), ['create', 'submit', 'review', 'approve', 'activate', 'suspend', 'resume', 'withdraw']);
  const audit = (await sqlAll(app.db, "SELECT action FROM audit_log WHERE entity = 'adesione' AND entity_id = ? ORDER BY id", String(id))) as { action: string }[];
  t.same(audit.map((x) => x.action), events.map((e) => `adesione.${e.action}`), 'one audit entry per event');
  const page = await app.inject({ method: 'GET', url: detailUrl, headers: { accept: 'text/html', cookie: op } });
  t.equal(page.statusCode, 200);
  for (const label of ['Richiesta inviata', 'Presa in esame', 'Approvata', 'Attivata', 'Sospesa', 'Riattivata', 'Recesso registrato', '1.200,00']) t.match(page.body, label);
  t.ok((await mails(app, 'ref@termoli.example')).length >= 7, 'the referente is told of every step');

  // Admin list: filters and paging.
  const list = await app.inject({ method: 'GET', url: `/admin/catalogo/adesioni?stato=withdrawn&ente=${termoli.id}`, headers: { accept: 'text/html', cookie: admin } });
  t.equal(list.statusCode, 200);
  t.match(list.body, `n. ${id} – Conservazione digitale a norma`);
  const none = await app.inject({ method: 'GET', url: `/admin/catalogo/adesioni?stato=active`, headers: { accept: 'text/html', cookie: admin } });
  t.notMatch(none.body, `n. ${id} –`);
  t.equal((await app.inject({ method: 'GET', url: `/admin/catalogo/adesioni?pagina=0`, headers: { accept: 'text/html', cookie: admin } })).statusCode, 400);
});

t.test('changes requested and rejected: notes required, the referente edits and sends again', async (t) => {
  const { app } = await adesioniApp(t, '2026-03-02T11:00:00Z');
  const larino = await comune(app, 'Larino');
  const svc = await addService(app, 'free', { requiresApproval: true });
  const ref = await loginAs(app, await addUser(app, 'ente_admin', larino.id, 'ref@larino.example'));
  const admin = await loginAs(app, await addUser(app, 'sael_admin', null));
  const draft = await post(app, `/servizi/${svc.code}/adesione`, ref, { enteId: String(larino.id), ...MODULO, startDate: '2026-04-01', intent: 'save' }, `/servizi/${svc.code}/adesione`);
  t.equal(draft.statusCode, 303);
  const id = Number(String(draft.headers.location).split('/').pop());
  t.equal((await row(app, id)).status, 'draft');
  t.equal((await mails(app)).length, 0, 'a draft mails nobody');
  const adminUrl = `/admin/catalogo/adesioni/${id}`;
  const adminAct = (fields: Record<string, string>) => post(app, `${adminUrl}/azioni`, admin, fields, adminUrl);
  t.equal((await adminAct({ action: 'review' })).statusCode, 409, 'a draft is not reviewed');

  // Send the draft from the form (edit in place: same row).
  const sent = await post(app, `/servizi/${svc.code}/adesione`, ref, { enteId: String(larino.id), adesioneId: String(id), version: String((await row(app, id)).version), ...MODULO, startDate: '2026-04-01', intent: 'submit' }, `/servizi/${svc.code}/adesione`);
  t.equal(sent.headers.location, `/backoffice/enti/${larino.id}/adesioni/${id}`);
  t.equal((await row(app, id)).status, 'submitted');
  // Two SAEL officers take it in review at the same moment from the same page: one wins, the other gets 409.
  const { token } = await csrfFrom(app, adminUrl, admin);
  const version = String((await row(app, id)).version);
  const both = await Promise.all(
    [1, 2].map(() => app.inject({ method: 'POST', url: `${adminUrl}/azioni`, headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ _csrf: token, action: 'review', version }) })),
  );
  t.same(both.map((r) => r.statusCode).sort(), [303, 409], 'concurrent transitions: exactly one applies');
  t.equal((await app.db.select().from(adesioneEvents).where(eq(adesioneEvents.adesioneId, id))).filter((e) => e.action === 'review').length, 1);
  const noNote = await adminAct({ action: 'request_changes', note: ' ' });
  t.equal(noNote.statusCode, 400);
  t.match(noNote.body, /Indica che cosa l’ente deve modificare/);
  t.equal((await adminAct({ action: 'request_changes', note: 'Indicare il numero di caselle' })).statusCode, 303);
  t.match(await row(app, id), { status: 'changes_requested', decisionNote: 'Indicare il numero di caselle' });
  const formPage = await app.inject({ method: 'GET', url: `/servizi/${svc.code}/adesione`, headers: { accept: 'text/html', cookie: ref } });
  t.match(formPage.body, /Indicare il numero di caselle/);
  t.match(formPage.body, /value="Anna Esposito"/);
  const stale = await post(app, `/servizi/${svc.code}/adesione`, ref, { enteId: String(larino.id), adesioneId: String(id), version: '1', ...MODULO, startDate: '2026-04-01', intent: 'submit' }, `/servizi/${svc.code}/adesione`);
  t.equal(stale.statusCode, 409, 'stale modulo refused');
  const again = await post(app, `/servizi/${svc.code}/adesione`, ref, { enteId: String(larino.id), adesioneId: String(id), version: String((await row(app, id)).version), ...MODULO, quantity: '5', startDate: '2026-04-01', intent: 'submit' }, `/servizi/${svc.code}/adesione`);
  t.equal(again.statusCode, 303);
  t.match(await row(app, id), { status: 'submitted', quantity: 5 });
  t.equal((await adminAct({ action: 'review' })).statusCode, 303);
  t.equal((await adminAct({ action: 'reject' })).statusCode, 400, 'a rejection needs its reason');
  t.equal((await adminAct({ action: 'reject', note: 'Servizio non disponibile per l’ente' })).statusCode, 303);
  t.equal((await row(app, id)).status, 'rejected');
  for (const action of ['approve', 'review', 'activate', 'suspend', 'resume', 'withdraw', 'request_changes']) t.equal((await adminAct({ action, note: 'x' })).statusCode, 409, `${action} after rejected`);
  t.ok((await mails(app, 'ref@larino.example')).some((m) => /Respinta/.test(m.subject) && /Servizio non disponibile/.test(m.body)), 'the reason is mailed');
  // A rejected adesione does not block a new request.
  t.equal((await submitModulo(app, ref, svc.code, larino.id)).res.statusCode, 303);
});

t.test('free service without approval: active on submit, or on its start date through the schedule', async (t) => {
  const { app, clock } = await adesioniApp(t, '2026-03-02T11:00:00Z');
  const riccia = await comune(app, 'Riccia');
  const trivento = await comune(app, 'Trivento');
  const svc = await addService(app, 'free', { requiresApproval: false });
  const ref = await loginAs(app, await addUser(app, 'ente_admin', riccia.id, 'ref@riccia.example'));
  const { id } = await submitModulo(app, ref, svc.code, riccia.id);
  t.match(await row(app, id), { status: 'active', startDate: '2026-03-02', endDate: '2027-03-01', amountCents: 0, priceSnapshot: null });
  const events = await app.db.select().from(adesioneEvents).where(eq(adesioneEvents.adesioneId, id));
  t.same(events.map((e) => [e.action, e.actorKind]), [['create', 'user'], ['submit', 'user'], ['auto_approve', 'system'], ['activate', 'system']]);

  const refT = await loginAs(app, await addUser(app, 'ente_admin', trivento.id));
  const later = await submitModulo(app, refT, svc.code, trivento.id, { startDate: '2026-05-01' });
  t.equal((await row(app, later.id)).status, 'approved');
  await app.catalogueTick(clock.now);
  t.equal((await row(app, later.id)).status, 'approved');
  clock.set('2026-05-01T06:00:00Z');
  await app.catalogueTick(clock.now);
  t.match(await row(app, later.id), { status: 'active', startDate: '2026-05-01', endDate: '2027-04-30' });
});

t.test('the modulo PDF carries the fields the referente filled', async (t) => {
  const { app } = await adesioniApp(t, '2026-03-02T11:00:00Z');
  const termoli = await comune(app, 'Termoli');
  const svc = await addService(app, 'per_unit', { name: 'Caselle PEC istituzionali' });
  const ref = await loginAs(app, await addUser(app, 'ente_admin', termoli.id));
  const { id } = await submitModulo(app, ref, svc.code, termoli.id, { startDate: '2026-04-15' });
  const pdf = await app.inject({ method: 'GET', url: `/backoffice/enti/${termoli.id}/adesioni/${id}/modulo.pdf`, headers: { cookie: ref } });
  t.equal(pdf.statusCode, 200);
  t.equal(pdf.headers['content-type'], 'application/pdf');
  t.equal(pdf.rawPayload.subarray(0, 5).toString(), '%PDF-');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modulo-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'm.pdf'), pdf.rawPayload);
  const text = execFileSync('pdftotext', ['-layout', path.join(dir, 'm.pdf'), '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  const protocol = (await row(app, id)).protocolNumber!;
  for (const expected of [
    'Richiesta di adesione ai servizi SAEL',
    `Adesione n. ${id}`,
    protocol,
    'Comune di Termoli',
    termoli.fiscalCode,
    `${svc.code} – Caselle PEC istituzionali`,
    'Quantità: 3 (casella PEC)',
    'Decorrenza richiesta: 15/04/2026',
    'Rinnovo automatico: Sì',
    'Nome e cognome: Anna Esposito',
    'Ruolo: Responsabile servizi informatici',
    'E-mail: anna.esposito@termoli.example',
    'Telefono: 0875 712345',
    'Attivare entro aprile.',
  ]) t.ok(text.includes(expected), `PDF text has «${expected}»`);
});
