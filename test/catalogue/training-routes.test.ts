/**
 * Training through HTTP: the SAEL admin creates a session (Italian local times), a referente
 * enrols colleagues (2 confirmed, the third waitlisted, the same e-mail refused), cancelling a
 * confirmed one promotes the waitlisted colleague of the same ente, a non-member ente is refused,
 * ente B never sees or touches ente A's enrolments, the .ics parses back (node-ical) and the
 * attendance certificate exists only for who attended (text read back with pdftotext).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { eq } from 'drizzle-orm';
import ical from 'node-ical';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs, tempDir } from '../helpers.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { enti } from '../../src/modules/enti/schema.js';
import { trainingEnrollments, trainingSessions } from '../../src/modules/catalogue/schema.js';
import { createSession, enrol } from '../../src/modules/catalogue/training-repository.js';
import { utcToItalianLocal } from '../../src/modules/catalogue/training-quota.js';
import { italianOffsetMinutes } from '../../src/domain/italian-time.js';
import { grantRole, upsertUser } from '../../src/modules/users/repository.js';
import { sqlAll } from '../../src/db/raw.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const app = await buildTestApp(t);
  const users = demoUserFiscalCodes();
  const cf = (role: string, istat: string | null = null) => users.find((u) => u.role === role && (istat === null || u.enteIstat === istat))!.fiscalCode;
  const byIstat = async (istat: string) => (await app.db.select().from(enti).where(eq(enti.istatCode, istat)).limit(1))[0]!;
  const termoli = await byIstat('070078');
  const campobasso = await byIstat('070006');
  const nonMember = (await app.db.select().from(enti).where(eq(enti.member, false))).find((e) => e.kind === 'comune')!;
  const outsiderId = await upsertUser(app.db, { fiscalCode: 'NREPLA80A01B519X', name: 'Paola', familyName: 'Neri' }, { actor: 'test' });
  await grantRole(app.db, outsiderId, 'ente_admin', nonMember.id, { actor: 'test' });
  return {
    app,
    termoli,
    campobasso,
    nonMember,
    admin: await loginAs(app, cf('sael_admin')),
    anna: await loginAs(app, cf('ente_admin', '070078')),
    giuseppe: await loginAs(app, cf('operator', '070006')),
    outsider: await loginAs(app, 'NREPLA80A01B519X'),
  };
}

async function post(app: Awaited<ReturnType<typeof buildTestApp>>, url: string, cookie: string, fields: Record<string, string>, csrfPage = url) {
  const c = await csrfFrom(app, csrfPage, cookie);
  return app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie: c.cookie }, payload: form({ _csrf: c.token, ...fields }) });
}

t.test('admin creates a session, a referente enrols: 2 confirmed, the third waitlisted, same e-mail refused, cancel promotes', async (t) => {
  const { app, termoli, campobasso, admin, anna, giuseppe } = await setup(t);
  const start = Date.now() + 10 * DAY;
  const res = await post(app, '/admin/catalogo/formazione', admin, {
    title: 'SUAP: la pratica online',
    topic: 'SUAP',
    description: 'Programma: accesso; compilazione, firma e invio.',
    startsAt: utcToItalianLocal(new Date(start).toISOString(), italianOffsetMinutes),
    endsAt: utcToItalianLocal(new Date(start + 3 * HOUR).toISOString(), italianOffsetMinutes),
    place: 'Sala Falcone, Via Roma 47, Campobasso',
    onlineUrl: '',
    speakers: 'Mario Rossi; Laura Bianchi',
    seats: '30',
    freePerEnte: '2',
  }, '/admin/catalogo/formazione/nuova');
  t.equal(res.statusCode, 303);
  const sid = Number(/\/admin\/catalogo\/formazione\/(\d+)$/.exec(res.headers.location as string)![1]);
  const s = (await app.db.select().from(trainingSessions).where(eq(trainingSessions.id, sid)).limit(1))[0]!;
  t.equal(Math.abs(Date.parse(s.startsAt) - start) < 60_000, true, 'the Italian local time is stored as the same instant in UTC');

  const bad = await post(app, '/admin/catalogo/formazione', admin, { title: 'X', topic: '', startsAt: '2026-13-01T10:00', endsAt: '', place: '', seats: '0' }, '/admin/catalogo/formazione/nuova');
  t.equal(bad.statusCode, 400);
  t.match(bad.body, 'Indica data e ora di inizio');
  t.match(bad.body, 'Indica il luogo oppure il collegamento online');

  const list = await app.inject({ url: '/formazione', headers: { accept: 'text/html' } });
  t.match(list.body, 'SUAP: la pratica online');
  t.match(list.body, '30 posti liberi su 30');

  const enrolAs = (cookie: string, enteId: number, name: string, email: string) =>
    post(app, `/formazione/${sid}/iscrizioni`, cookie, { enteId: String(enteId), name, email, role: 'Ufficio SUAP' }, `/formazione/${sid}`);
  for (const [n, e] of [['Carla Bruno', 'carla@termoli.it'], ['Dario Conti', 'dario@termoli.it'], ['Elena Fabbri', 'elena@termoli.it']]) t.equal((await enrolAs(anna, termoli.id, n!, e!)).statusCode, 303);
  const page = await app.inject({ url: `/formazione/${sid}`, headers: { accept: 'text/html', cookie: anna } });
  t.match(page.body, 'Il tuo ente ha già 2 partecipanti confermati: Elena Fabbri è in lista d’attesa');

  const dup = await enrolAs(anna, termoli.id, 'Carla Bruno bis', 'CARLA@termoli.it');
  t.equal(dup.statusCode, 409, 'the same address twice (any case) is refused');
  t.match(dup.body, 'L’indirizzo carla@termoli.it è già iscritto a questa sessione');

  t.equal((await enrolAs(giuseppe, campobasso.id, 'Franco Galli', 'franco@campobasso.it')).statusCode, 303);
  const rows = async () => await app.db.select().from(trainingEnrollments).where(eq(trainingEnrollments.sessionId, sid));
  const by = async (email: string) => (await rows()).find((r) => r.participantEmail === email)!;
  t.same([(await by('carla@termoli.it')).status, (await by('dario@termoli.it')).status, (await by('elena@termoli.it')).status, (await by('franco@campobasso.it')).status], ['confirmed', 'confirmed', 'waitlisted', 'confirmed']);

  // Giuseppe cannot enrol for Termoli (not his ente).
  const foreign = await enrolAs(giuseppe, termoli.id, 'Intruso', 'intruso@campobasso.it');
  t.equal(foreign.statusCode, 403);

  // Cancelling Carla promotes Elena (oldest waitlisted of Termoli) into Carla's slot, and mails her.
  const carla = await by('carla@termoli.it');
  const cancel = await post(app, `/backoffice/enti/${termoli.id}/formazione/${carla.id}/annulla`, anna, {}, `/backoffice/enti/${termoli.id}/formazione`);
  t.equal(cancel.statusCode, 303);
  t.equal((await by('carla@termoli.it')).status, 'cancelled');
  t.equal((await by('elena@termoli.it')).status, 'confirmed');
  t.equal((await by('elena@termoli.it')).slot, carla.slot, 'Elena takes the freed slot');
  const promoMail = (await sqlAll(app.db, "SELECT subject FROM mail_outbox WHERE to_address = 'elena@termoli.it' ORDER BY id")) as { subject: string }[];
  t.same(promoMail.map((m) => m.subject), ['In lista d’attesa: SUAP: la pratica online', 'Posto confermato dalla lista d’attesa: SUAP: la pratica online']);
  const entePage = await app.inject({ url: `/backoffice/enti/${termoli.id}/formazione`, headers: { accept: 'text/html', cookie: anna } });
  t.match(entePage.body, 'Elena Fabbri passa dalla lista d’attesa ai confermati');

  // Carla can enrol again after her cancellation (the same-address rule ignores cancelled rows).
  t.equal((await enrolAs(anna, termoli.id, 'Carla Bruno', 'carla@termoli.it')).statusCode, 303);
  t.equal((await rows()).filter((r) => r.participantEmail === 'carla@termoli.it' && r.status === 'waitlisted').length, 1);
});

t.test('a non-member ente is refused; IDOR: ente B never sees or touches ente A’s enrolments', async (t) => {
  const { app, termoli, campobasso, nonMember, anna, giuseppe, outsider } = await setup(t);
  const s = await createSession(app.db, { title: 'Albo pretorio', topic: 'Albo', description: '', startsAt: new Date(Date.now() + 5 * DAY).toISOString(), endsAt: new Date(Date.now() + 5 * DAY + 2 * HOUR).toISOString(), place: 'Termoli', onlineUrl: null, speakers: '', seats: 20, freePerEnte: 2 }, { actor: 'test', userId: null });
  const c = await csrfFrom(app, `/formazione/${s.id}`, outsider);
  const pageOut = await app.inject({ url: `/formazione/${s.id}`, headers: { accept: 'text/html', cookie: outsider } });
  t.match(pageOut.body, 'riservate al personale degli enti aderenti', 'no form for a non-member ente');
  const refused = await app.inject({ method: 'POST', url: `/formazione/${s.id}/iscrizioni`, headers: { ...FORM_HEADERS, cookie: c.cookie }, payload: form({ _csrf: c.token, enteId: String(nonMember.id), name: 'Paola Neri', email: 'paola@nonmember.it' }) });
  t.equal(refused.statusCode, 403);
  t.match(refused.body, 'riservata agli enti aderenti al SAEL');
  t.equal((await app.db.select().from(trainingEnrollments)).length, 0);

  const r = await enrol(app.db, { sessionId: s.id, enteId: termoli.id, name: 'Carla Bruno', email: 'carla@termoli.it', role: null, enrolledBy: null }, { now: new Date(), mail: () => {}, publicUrl: '', by: { actor: 'test' } });
  const eid = r.enrollment.id;
  const mine = await app.inject({ url: `/backoffice/enti/${termoli.id}/formazione`, headers: { accept: 'text/html', cookie: anna } });
  t.equal(mine.statusCode, 200);
  t.match(mine.body, 'Carla Bruno');
  const theirs = await app.inject({ url: `/backoffice/enti/${termoli.id}/formazione`, headers: { accept: 'text/html', cookie: giuseppe } });
  t.equal(theirs.statusCode, 403, 'Campobasso’s operator cannot open Termoli’s page');
  const own = await app.inject({ url: `/backoffice/enti/${campobasso.id}/formazione`, headers: { accept: 'text/html', cookie: giuseppe } });
  t.equal(own.statusCode, 200);
  t.notMatch(own.body, 'Carla Bruno', 'his own page does not list Termoli’s enrolments');
  const cc = await csrfFrom(app, `/backoffice/enti/${campobasso.id}/formazione`, giuseppe);
  const cancelForeign = await app.inject({ method: 'POST', url: `/backoffice/enti/${campobasso.id}/formazione/${eid}/annulla`, headers: { ...FORM_HEADERS, cookie: cc.cookie }, payload: form({ _csrf: cc.token }) });
  t.equal(cancelForeign.statusCode, 404, 'an enrolment of another ente through his own ente’s URL: not found');
  t.equal((await app.db.select().from(trainingEnrollments).where(eq(trainingEnrollments.id, eid)).limit(1))[0]!.status, 'confirmed');
  const certForeign = await app.inject({ url: `/backoffice/enti/${campobasso.id}/formazione/${eid}/attestato.pdf`, headers: { cookie: giuseppe } });
  t.equal(certForeign.statusCode, 404);
  const anon = await app.inject({ url: `/backoffice/enti/${termoli.id}/formazione`, headers: { accept: 'text/html' } });
  t.equal(anon.statusCode, 401);
});

t.test('the .ics invitation parses back (node-ical) with UID, DTSTAMP, UTC times, escaping and folding', async (t) => {
  const { app } = await setup(t);
  const startsAt = new Date(Math.floor((Date.now() + 3 * DAY) / 60_000) * 60_000).toISOString();
  const endsAt = new Date(Date.parse(startsAt) + 4 * HOUR).toISOString();
  const description = 'Programma: saluti; pagoPA, avvisi e ricevute; domande.\nPausa caffè alle 11,00. ' + 'Lungo testo per la piegatura delle righe. '.repeat(4);
  const s = await createSession(app.db, { title: 'pagoPA, avvisi; ricevute', topic: 'pagoPA', description, startsAt, endsAt, place: 'Sala Falcone, Campobasso', onlineUrl: null, speakers: 'Mario Rossi', seats: 20, freePerEnte: 2 }, { actor: 'test', userId: null });
  const res = await app.inject({ url: `/formazione/${s.id}/invito.ics` });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/calendar/);
  const raw = res.body;
  t.ok(raw.split('\r\n').every((l) => Buffer.byteLength(l) <= 75), 'every line folded to at most 75 octets');
  t.match(raw, /\r\nDTSTAMP:\d{8}T\d{6}Z\r\n/);
  t.match(raw, /SUMMARY:Formazione SAEL: pagoPA\\, avvisi\\; ricevute/, 'commas and semicolons escaped');
  const parsed = ical.sync.parseICS(raw);
  const ev = Object.values(parsed).find((c) => c?.type === 'VEVENT') as ical.VEvent;
  t.ok(ev, 'one VEVENT');
  t.match(ev.uid, new RegExp(`^training-session-${s.id}@`));
  t.equal(ev.start.toISOString(), startsAt);
  t.equal(ev.end?.toISOString(), endsAt);
  t.equal(ev.summary, 'Formazione SAEL: pagoPA, avvisi; ricevute');
  t.match(ev.description, 'Pausa caffè alle 11,00.');
  t.match(ev.description, 'Relatori: Mario Rossi');
  t.equal(ev.location, 'Sala Falcone, Campobasso');
  t.equal((await app.inject({ url: '/formazione/99999/invito.ics' })).statusCode, 404);
});

t.test('attendance register and certificate PDF: only who attended gets one', async (t) => {
  const { app, termoli, admin, anna } = await setup(t);
  const startsAt = new Date(Date.now() - 3 * HOUR).toISOString();
  const s = await createSession(app.db, { title: 'Conservazione digitale', topic: 'Conservazione', description: '', startsAt, endsAt: new Date(Date.now() - HOUR).toISOString(), place: 'Campobasso', onlineUrl: null, speakers: 'Laura Bianchi', seats: 20, freePerEnte: 2 }, { actor: 'test', userId: null });
  const before = new Date(Date.now() - 2 * DAY); // enrolled two days before the session (injected clock)
  const mk = (name: string, email: string) => enrol(app.db, { sessionId: s.id, enteId: termoli.id, name, email, role: 'Responsabile conservazione', enrolledBy: null }, { now: before, mail: () => {}, publicUrl: '', by: { actor: 'test' } });
  const carla = (await mk('Carla Bruno', 'carla@termoli.it')).enrollment;
  const dario = (await mk('Dario Conti', 'dario@termoli.it')).enrollment;
  const mark = (eid: number, status: string) => post(app, `/admin/catalogo/formazione/${s.id}/iscrizioni/${eid}/presenza`, admin, { status }, `/admin/catalogo/formazione/${s.id}`);
  t.equal((await mark(carla.id, 'attended')).statusCode, 303);
  t.equal((await mark(dario.id, 'no_show')).statusCode, 303);
  t.equal((await mark(dario.id, 'maybe')).statusCode, 400, 'only attended / no_show');
  const row = (await app.db.select().from(trainingEnrollments).where(eq(trainingEnrollments.id, carla.id)).limit(1))[0]!;
  t.match(row.certificateNumber, /^SAEL-F\/\d{4}\/\d{6}$/);
  const register = await app.inject({ url: `/admin/catalogo/formazione/${s.id}`, headers: { accept: 'text/html', cookie: admin } });
  t.match(register.body, `Attestato n. ${row.certificateNumber}`);

  const pdf = await app.inject({ url: `/backoffice/enti/${termoli.id}/formazione/${carla.id}/attestato.pdf`, headers: { cookie: anna } });
  t.equal(pdf.statusCode, 200);
  t.equal(pdf.headers['content-type'], 'application/pdf');
  const dir = tempDir(t);
  const file = path.join(dir, 'a.pdf');
  fs.writeFileSync(file, pdf.rawPayload);
  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  t.match(text, 'Attestato di partecipazione');
  t.match(text, `Attestato n. ${row.certificateNumber}`);
  t.match(text, 'Carla Bruno');
  t.match(text, 'Conservazione digitale');
  t.match(text, termoli.name);
  t.match(text, 'Durata: 2 ore');

  const none = await app.inject({ url: `/backoffice/enti/${termoli.id}/formazione/${dario.id}/attestato.pdf`, headers: { cookie: anna } });
  t.equal(none.statusCode, 409, 'no certificate for an absent participant');

  // A future session's register is not open yet.
  const future = await createSession(app.db, { title: 'Futuro', topic: 'x', description: '', startsAt: new Date(Date.now() + DAY).toISOString(), endsAt: new Date(Date.now() + DAY + HOUR).toISOString(), place: 'x', onlineUrl: null, speakers: '', seats: 5, freePerEnte: 2 }, { actor: 'test', userId: null });
  const f = (await enrol(app.db, { sessionId: future.id, enteId: termoli.id, name: 'Elena Fabbri', email: 'elena@termoli.it', role: null, enrolledBy: null }, { now: new Date(), mail: () => {}, publicUrl: '', by: { actor: 'test' } })).enrollment;
  await post(app, `/admin/catalogo/formazione/${future.id}/iscrizioni/${f.id}/presenza`, admin, { status: 'attended' }, `/admin/catalogo/formazione/${future.id}`);
  t.equal((await app.db.select().from(trainingEnrollments).where(eq(trainingEnrollments.id, f.id)).limit(1))[0]!.status, 'confirmed', 'attendance refused before the start');
});
