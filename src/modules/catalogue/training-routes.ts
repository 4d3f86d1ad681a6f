/**
 * Training (seed: base service and item 19). Public: `/formazione` (upcoming sessions first,
 * seats left) and `/formazione/:id` (with the enrolment form for users of a member ente) and its
 * `.ics` invitation. Ente: `/backoffice/enti/:enteId/formazione` (only that ente's enrolments,
 * cancel, attestati). SAEL admin: `/admin/catalogo/formazione[...]` (sessions, register,
 * attendance, certificates). Every form posts with the CSRF token and redirects 303 with a flash.
 */
import { enteFromParams, enteReaderGuard } from './ente-guard.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { italianOffsetMinutes } from '../../domain/italian-time.js';
import { auditContext } from '../../plugins/audit/index.js';
import { entiWithRole, hasRole, requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { getEnte, listEnti } from '../enti/repository.js';
import {
  cancelEnrollment,
  cancelSession,
  createSession,
  enrol,
  getEnrollment,
  getSession,
  getSessionListing,
  italianRange,
  listEnteEnrollments,
  listSessionEnrollments,
  listSessions,
  markAttendance,
  TrainingError,
  updateSession,
  type SessionInput,
  type TrainingSession,
} from './training-repository.js';
import { renderCertificatePdf } from './training-pdf.js';
import { sessionIcs } from './training-ics.js';
import { ENROLLMENT_LABELS, italianLocalToUtc, utcToItalianLocal } from './training-quota.js';

type Form = Record<string, string | undefined>;

const id = { type: 'integer', minimum: 1, maximum: 2_147_483_647 } as const;
const idParams = { type: 'object', properties: { id }, required: ['id'], additionalProperties: false } as const;
const enteParams = { type: 'object', properties: { enteId: id }, required: ['enteId'], additionalProperties: false } as const;
const enteEnrolParams = { type: 'object', properties: { enteId: id, eid: id }, required: ['enteId', 'eid'], additionalProperties: false } as const;
const sessionEnrolParams = { type: 'object', properties: { id, eid: id }, required: ['id', 'eid'], additionalProperties: false } as const;

function formBody(fields: Record<string, number>, required: string[] = []) {
  const properties: Record<string, unknown> = { _csrf: { type: 'string', maxLength: 200 } };
  for (const [f, max] of Object.entries(fields)) properties[f] = { type: 'string', maxLength: max };
  return { type: 'object', properties, required, additionalProperties: false } as const;
}

const SESSION_FIELDS = { title: 200, topic: 200, description: 4000, startsAt: 20, endsAt: 20, place: 300, onlineUrl: 500, speakers: 500, seats: 6, freePerEnte: 4 };
const ENROL_FIELDS = { enteId: 12, name: 120, email: 254, role: 120 };
const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[a-z]{2,}$/i;

export type FieldErrors = Record<string, string>;

/** Validates the session form (Italian local times) into a SessionInput, or field errors. */
export function validateSessionForm(f: Form): { ok: true; value: SessionInput } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const t = (k: string) => (f[k] ?? '').trim();
  if (t('title').length < 3) errors.title = 'Scrivi il titolo della sessione (almeno 3 caratteri).';
  if (t('topic').length < 2) errors.topic = 'Scrivi l’argomento.';
  const startsAt = italianLocalToUtc(t('startsAt'), italianOffsetMinutes);
  const endsAt = italianLocalToUtc(t('endsAt'), italianOffsetMinutes);
  if (!startsAt) errors.startsAt = 'Indica data e ora di inizio (gg/mm/aaaa, ora).';
  if (!endsAt) errors.endsAt = 'Indica data e ora di fine.';
  else if (startsAt && endsAt <= startsAt) errors.endsAt = 'La fine deve essere dopo l’inizio.';
  const place = t('place') || null;
  const onlineUrl = t('onlineUrl') || null;
  if (!place && !onlineUrl) errors.place = 'Indica il luogo oppure il collegamento online.';
  if (onlineUrl && !/^https:\/\/[^\s<>"]+$/.test(onlineUrl)) errors.onlineUrl = 'Il collegamento deve essere un indirizzo https:// valido.';
  const seats = Number(t('seats'));
  if (!/^\d+$/.test(t('seats')) || seats < 1 || seats > 10000) errors.seats = 'I posti sono un numero intero da 1 a 10000.';
  const freeRaw = t('freePerEnte') || '2';
  const freePerEnte = Number(freeRaw);
  if (!/^\d+$/.test(freeRaw) || freePerEnte < 1 || freePerEnte > 50) errors.freePerEnte = 'I posti gratuiti per ente sono un numero intero da 1 a 50.';
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    value: { title: t('title'), topic: t('topic'), description: t('description'), startsAt: startsAt!, endsAt: endsAt!, place, onlineUrl, speakers: t('speakers'), seats, freePerEnte },
  };
}

function sessionToForm(s: TrainingSession): Form {
  return {
    title: s.title,
    topic: s.topic,
    description: s.description,
    startsAt: utcToItalianLocal(s.startsAt, italianOffsetMinutes),
    endsAt: utcToItalianLocal(s.endsAt, italianOffsetMinutes),
    place: s.place ?? '',
    onlineUrl: s.onlineUrl ?? '',
    speakers: s.speakers,
    seats: String(s.seats),
    freePerEnte: String(s.freePerEnte),
  };
}

const SESSION_STATUS_LABELS: Record<string, string> = { scheduled: 'In programma', cancelled: 'Annullata', held: 'Svolta' };

function sessionView(s: TrainingSession & { seatsLeft?: number; confirmed?: number; waitlisted?: number }) {
  return {
    ...s,
    when: italianRange(s.startsAt, s.endsAt),
    statusLabel: SESSION_STATUS_LABELS[s.status] ?? s.status,
    full: s.seatsLeft === 0,
    speakersList: s.speakers ? s.speakers.split(/[;\n]/).map((x) => x.trim()).filter(Boolean) : [],
  };
}

function hours(s: TrainingSession): number {
  return Math.round(((Date.parse(s.endsAt) - Date.parse(s.startsAt)) / 3_600_000) * 2) / 2;
}

export default async function trainingRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.catalogue;
  const publicUrl = app.config.publicUrl;
  const adminOnly = requireRole('sael_admin');
  const enteReader = enteReaderGuard(app.db);
  const enteWriter = requireRole(['operator', 'sael_admin'], { ente: enteFromParams(app.db) });
  const by = (request: FastifyRequest) => auditContext(request);

  /** Member enti for which the signed-in user may enrol colleagues (operator or ente_admin). */
  async function enrolEnti(request: FastifyRequest) {
    const ids = new Set(entiWithRole(request.user, 'operator'));
    if (ids.size === 0) return [];
    return (await listEnti(app.db, {})).filter((e) => ids.has(e.id) && e.member);
  }

  function trainingError(err: unknown): never {
    if (err instanceof TrainingError) throw new HttpError(err.status, err.message);
    throw err;
  }

  // ---------------------------------------------------------------- public
  app.get('/formazione', async (request, reply) => {
    const { upcoming, past } = await listSessions(app.db, ctx.now(), { limitPast: 12 });
    return reply.page('catalogue/training-list', {
      title: 'Formazione per gli enti',
      upcoming: upcoming.map(sessionView),
      past: past.map(sessionView),
      notice: takeFlash(request),
    });
  });

  async function renderSession(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) {
    const sid = (request.params as { id: number }).id;
    const s = await getSessionListing(app.db, sid);
    if (!s) throw new HttpError(404, 'Sessione di formazione non trovata.');
    const now = ctx.now().toISOString();
    const open = s.status === 'scheduled' && s.startsAt > now;
    const entiForUser = request.user ? await enrolEnti(request) : [];
    const chosen = Number((extra.form as Form | undefined)?.enteId) || entiForUser[0]?.id;
    return reply.page('catalogue/training-detail', {
      title: s.title,
      s: sessionView(s),
      open,
      signedIn: Boolean(request.user),
      canEnrol: open && entiForUser.length > 0,
      noMemberEnte: Boolean(request.user) && open && entiForUser.length === 0,
      entiOptions: entiForUser.map((e) => ({ id: e.id, name: e.name, selected: e.id === chosen })),
      singleEnte: entiForUser.length === 1 ? entiForUser[0] : null,
      form: {},
      errors: {},
      notice: takeFlash(request),
      ...extra,
    });
  }

  app.get('/formazione/:id', { schema: { params: idParams } }, async (request, reply) => renderSession(request, reply));

  app.get<{ Params: { id: number } }>('/formazione/:id/invito.ics', { schema: { params: idParams } }, async (request, reply) => {
    const s = await getSession(app.db, request.params.id);
    if (!s) throw new HttpError(404, 'Sessione di formazione non trovata.');
    return reply
      .type('text/calendar; charset=utf-8')
      .header('content-disposition', `attachment; filename="formazione-sael-${s.id}.ics"`)
      .send(sessionIcs(s, { publicUrl, now: ctx.now(), provinceName: app.config.provinceName }));
  });

  app.post<{ Params: { id: number }; Body: Form }>(
    '/formazione/:id/iscrizioni',
    {
      schema: { params: idParams, body: formBody(ENROL_FIELDS, ['enteId']) },
      preHandler: requireRole('operator', {
        ente: async (request) => {
          const enteId = Number((request.body as Form).enteId);
          return Number.isInteger(enteId) && enteId > 0 && await getEnte(app.db, enteId) ? enteId : null;
        },
      }),
    },
    async (request, reply) => {
      const f = request.body;
      const errors: FieldErrors = {};
      const name = (f.name ?? '').trim();
      const email = (f.email ?? '').trim();
      if (name.length < 3) errors.name = 'Scrivi nome e cognome del partecipante.';
      if (!EMAIL_RE.test(email)) errors.email = 'Scrivi un indirizzo e-mail valido (es. nome.cognome@comune.it).';
      if (Object.keys(errors).length) return renderSession(request, reply.code(400), { form: f, errors });
      try {
        const r = await enrol(
          app.db,
          { sessionId: request.params.id, enteId: Number(f.enteId), name, email, role: f.role ?? null, enrolledBy: request.user!.id },
          { now: ctx.now(), mail: ctx.mail, publicUrl, by: by(request) },
        );
        setFlash(request, r.message);
        return reply.redirect(`/formazione/${request.params.id}#iscrizione`, 303);
      } catch (err) {
        if (err instanceof TrainingError && err.status === 409 && err.message.includes('già iscritto'))
          return renderSession(request, reply.code(409), { form: f, errors: { email: err.message } });
        if (err instanceof TrainingError && err.status !== 404) return renderSession(request, reply.code(err.status), { form: f, error: err.message });
        return trainingError(err);
      }
    },
  );

  // ---------------------------------------------------------------- the ente's enrolments
  app.get<{ Params: { enteId: number } }>('/backoffice/enti/:enteId/formazione', { preHandler: enteReader, schema: { params: enteParams } }, async (request, reply) => {
    const ente = (await getEnte(app.db, request.params.enteId))!;
    const rows = await listEnteEnrollments(app.db, ente.id);
    const now = ctx.now().toISOString();
    const canWrite = hasRole(request.user, 'operator', ente.id) || hasRole(request.user, 'sael_admin');
    return reply.page('catalogue/training-ente', {
      title: `Formazione – ${ente.name}`,
      ente,
      enrollments: rows.map((e) => ({
        ...e,
        when: italianRange(e.session.startsAt, e.session.endsAt),
        statusLabel: ENROLLMENT_LABELS[e.status],
        cancellable: canWrite && (e.status === 'confirmed' || e.status === 'waitlisted') && e.session.startsAt > now && e.session.status === 'scheduled',
        hasCertificate: e.status === 'attended' && Boolean(e.certificateNumber),
      })),
      notice: takeFlash(request),
      csrf: true,
    });
  });

  app.post<{ Params: { enteId: number; eid: number } }>(
    '/backoffice/enti/:enteId/formazione/:eid/annulla',
    { preHandler: enteWriter, schema: { params: enteEnrolParams, body: formBody({}) } },
    async (request, reply) => {
      try {
        const r = await cancelEnrollment(app.db, request.params.eid, { enteId: request.params.enteId, now: ctx.now(), mail: ctx.mail, publicUrl, by: by(request) });
        setFlash(
          request,
          `Iscrizione di ${r.cancelled.participantName} annullata.${r.promoted ? ` ${r.promoted.participantName} passa dalla lista d’attesa ai confermati.` : ''}`,
        );
      } catch (err) {
        if (err instanceof TrainingError && err.status === 409) setFlash(request, err.message);
        else trainingError(err);
      }
      return reply.redirect(`/backoffice/enti/${request.params.enteId}/formazione`, 303);
    },
  );

  async function sendCertificate(reply: FastifyReply, eid: number, enteId?: number) {
    const e = await getEnrollment(app.db, eid);
    if (!e || (enteId !== undefined && e.enteId !== enteId)) throw new HttpError(404, 'Iscrizione non trovata.');
    if (e.status !== 'attended' || !e.certificateNumber) throw new HttpError(409, 'L’attestato è disponibile solo per chi risulta presente nel registro.');
    const s = (await getSession(app.db, e.sessionId))!;
    const ente = (await getEnte(app.db, e.enteId))!;
    const pdf = await renderCertificatePdf({
      certificateNumber: e.certificateNumber,
      participantName: e.participantName,
      participantRole: e.participantRole,
      enteName: ente.name,
      title: s.title,
      topic: s.topic,
      speakers: s.speakers,
      when: italianRange(s.startsAt, s.endsAt),
      where: [s.place, s.onlineUrl ? 'online' : null].filter(Boolean).join(' – '),
      hours: hours(s),
      issuedAt: new Date(e.updatedAt),
      provinceName: app.config.provinceName,
    });
    return reply
      .type('application/pdf')
      .header('content-disposition', `attachment; filename="attestato-${e.certificateNumber.replace(/[^A-Za-z0-9-]+/g, '-')}.pdf"`)
      .send(pdf);
  }

  app.get<{ Params: { enteId: number; eid: number } }>(
    '/backoffice/enti/:enteId/formazione/:eid/attestato.pdf',
    { preHandler: enteReader, schema: { params: enteEnrolParams } },
    async (request, reply) => sendCertificate(reply, request.params.eid, request.params.enteId),
  );

  // ---------------------------------------------------------------- SAEL admin
  app.get('/admin/catalogo/formazione', { preHandler: adminOnly }, async (request, reply) => {
    const { upcoming, past } = await listSessions(app.db, ctx.now(), { includeCancelled: true, limitPast: 100 });
    return reply.page('catalogue/training-admin-list', {
      title: 'Formazione – sessioni',
      groups: [
        { heading: 'In programma', rows: upcoming.map(sessionView), empty: 'Nessuna sessione in programma.' },
        { heading: 'Passate', rows: past.map(sessionView), empty: 'Nessuna sessione passata.' },
      ],
      notice: takeFlash(request),
    });
  });

  const formPage = (reply: FastifyReply, data: { form: Form; errors: FieldErrors; action: string; editing?: boolean; sessionId?: number; error?: string }) =>
    reply.page('catalogue/training-admin-form', { title: data.editing ? 'Modifica la sessione' : 'Nuova sessione di formazione', hasErrors: Object.keys(data.errors).length > 0, ...data });

  app.get('/admin/catalogo/formazione/nuova', { preHandler: adminOnly }, async (_request, reply) =>
    formPage(reply, { form: { freePerEnte: '2', seats: '30' }, errors: {}, action: '/admin/catalogo/formazione' }),
  );

  app.post<{ Body: Form }>('/admin/catalogo/formazione', { preHandler: adminOnly, schema: { body: formBody(SESSION_FIELDS) } }, async (request, reply) => {
    const v = validateSessionForm(request.body);
    if (!v.ok) return formPage(reply.code(400), { form: request.body, errors: v.errors, action: '/admin/catalogo/formazione' });
    const s = await createSession(app.db, v.value, { ...by(request), userId: request.user!.id });
    setFlash(request, `Sessione "${s.title}" creata.`);
    return reply.redirect(`/admin/catalogo/formazione/${s.id}`, 303);
  });

  app.get<{ Params: { id: number } }>('/admin/catalogo/formazione/:id', { preHandler: adminOnly, schema: { params: idParams } }, async (request, reply) => {
    const s = await getSessionListing(app.db, request.params.id);
    if (!s) throw new HttpError(404, 'Sessione di formazione non trovata.');
    const now = ctx.now().toISOString();
    const rows = await listSessionEnrollments(app.db, s.id);
    const registerOpen = s.status !== 'cancelled' && s.startsAt <= now;
    return reply.page('catalogue/training-admin-session', {
      title: `Registro – ${s.title}`,
      s: sessionView(s),
      editable: s.status === 'scheduled',
      registerOpen,
      enrollments: rows.map((e) => ({
        ...e,
        statusLabel: ENROLLMENT_LABELS[e.status],
        markable: registerOpen && ['confirmed', 'attended', 'no_show'].includes(e.status),
        cancellable: (e.status === 'confirmed' || e.status === 'waitlisted') && s.status === 'scheduled' && s.startsAt > now,
        hasCertificate: e.status === 'attended' && Boolean(e.certificateNumber),
      })),
      notice: takeFlash(request),
    });
  });

  app.get<{ Params: { id: number } }>('/admin/catalogo/formazione/:id/modifica', { preHandler: adminOnly, schema: { params: idParams } }, async (request, reply) => {
    const s = await getSession(app.db, request.params.id);
    if (!s) throw new HttpError(404, 'Sessione di formazione non trovata.');
    return formPage(reply, { form: sessionToForm(s), errors: {}, action: `/admin/catalogo/formazione/${s.id}`, editing: true, sessionId: s.id });
  });

  app.post<{ Params: { id: number }; Body: Form }>(
    '/admin/catalogo/formazione/:id',
    { preHandler: adminOnly, schema: { params: idParams, body: formBody(SESSION_FIELDS) } },
    async (request, reply) => {
      const action = `/admin/catalogo/formazione/${request.params.id}`;
      const v = validateSessionForm(request.body);
      if (!v.ok) return formPage(reply.code(400), { form: request.body, errors: v.errors, action, editing: true, sessionId: request.params.id });
      try {
        await updateSession(app.db, request.params.id, v.value, by(request));
      } catch (err) {
        if (err instanceof TrainingError && err.status === 409)
          return formPage(reply.code(409), { form: request.body, errors: {}, action, editing: true, sessionId: request.params.id, error: err.message });
        return trainingError(err);
      }
      setFlash(request, 'Sessione aggiornata.');
      return reply.redirect(action, 303);
    },
  );

  app.post<{ Params: { id: number } }>('/admin/catalogo/formazione/:id/annulla', { preHandler: adminOnly, schema: { params: idParams, body: formBody({}) } }, async (request, reply) => {
    try {
      await cancelSession(app.db, request.params.id, by(request), ctx.mail, publicUrl);
      setFlash(request, 'Sessione annullata: i partecipanti sono stati avvisati per e-mail.');
    } catch (err) {
      if (err instanceof TrainingError && err.status === 409) setFlash(request, err.message);
      else trainingError(err);
    }
    return reply.redirect(`/admin/catalogo/formazione/${request.params.id}`, 303);
  });

  app.post<{ Params: { id: number; eid: number }; Body: Form }>(
    '/admin/catalogo/formazione/:id/iscrizioni/:eid/presenza',
    {
      preHandler: adminOnly,
      schema: {
        params: sessionEnrolParams,
        body: { type: 'object', properties: { _csrf: { type: 'string', maxLength: 200 }, status: { type: 'string', enum: ['attended', 'no_show'] } }, required: ['status'], additionalProperties: false },
      },
    },
    async (request, reply) => {
      const e = await getEnrollment(app.db, request.params.eid);
      if (!e || e.sessionId !== request.params.id) throw new HttpError(404, 'Iscrizione non trovata.');
      try {
        const after = await markAttendance(app.db, e.id, request.body.status as 'attended' | 'no_show', { now: ctx.now(), by: by(request) });
        setFlash(request, after.status === 'attended' ? `${e.participantName}: presente (attestato n. ${after.certificateNumber}).` : `${e.participantName}: assente.`);
      } catch (err) {
        if (err instanceof TrainingError && err.status === 409) setFlash(request, err.message);
        else trainingError(err);
      }
      return reply.redirect(`/admin/catalogo/formazione/${request.params.id}#registro`, 303);
    },
  );

  app.post<{ Params: { id: number; eid: number } }>(
    '/admin/catalogo/formazione/:id/iscrizioni/:eid/annulla',
    { preHandler: adminOnly, schema: { params: sessionEnrolParams, body: formBody({}) } },
    async (request, reply) => {
      const e = await getEnrollment(app.db, request.params.eid);
      if (!e || e.sessionId !== request.params.id) throw new HttpError(404, 'Iscrizione non trovata.');
      try {
        const r = await cancelEnrollment(app.db, e.id, { now: ctx.now(), mail: ctx.mail, publicUrl, by: by(request) });
        setFlash(request, `Iscrizione di ${r.cancelled.participantName} annullata.${r.promoted ? ` ${r.promoted.participantName} passa dalla lista d’attesa ai confermati.` : ''}`);
      } catch (err) {
        if (err instanceof TrainingError && err.status === 409) setFlash(request, err.message);
        else trainingError(err);
      }
      return reply.redirect(`/admin/catalogo/formazione/${request.params.id}#registro`, 303);
    },
  );

  app.get<{ Params: { id: number; eid: number } }>(
    '/admin/catalogo/formazione/:id/iscrizioni/:eid/attestato.pdf',
    { preHandler: adminOnly, schema: { params: sessionEnrolParams } },
    async (request, reply) => {
      const e = await getEnrollment(app.db, request.params.eid);
      if (!e || e.sessionId !== request.params.id) throw new HttpError(404, 'Iscrizione non trovata.');
      return sendCertificate(reply, e.id);
    },
  );
}
