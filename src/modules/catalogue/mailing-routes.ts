/**
 * Information to the referenti (seed: base service and item 19). SAEL admin:
 * `/admin/catalogo/comunicazioni` (mailings with progress, compose), `/…/:id` (per-recipient
 * status, resume a stopped mailing), `/…/referenti` (the list; add an address). Public:
 * `/referenti/disiscrizione?token=…` (GET asks for confirmation, POST unsubscribes; a wrong token
 * is a 404). The sending runs as a job of src/plugins/jobs (mailing-job.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditContext } from '../../plugins/audit/index.js';
import { requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { listEnti } from '../enti/repository.js';
import { MAILING_JOB, registerMailingJob } from './mailing-job.js';
import { maskEmail } from '../../domain/mask-email.js';
import {
  addSubscription,
  createMailing,
  getMailing,
  linkableDocuments,
  listMailings,
  listRecipients,
  listSubscriptions,
  MailingError,
  recipientCounts,
  resumeMailing,
  subscriptionByToken,
  syncReferenti,
  unsubscribe,
  type Mailing,
} from './mailing-repository.js';

type Form = Record<string, string | string[] | undefined>;

const id = { type: 'integer', minimum: 1, maximum: 2_147_483_647 } as const;
const idParams = { type: 'object', properties: { id }, required: ['id'], additionalProperties: false } as const;
const tokenQuery = { type: 'object', properties: { token: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['token'], additionalProperties: false } as const;
const csrfOnly = { type: 'object', properties: { _csrf: { type: 'string', maxLength: 200 } }, additionalProperties: false } as const;
const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[a-z]{2,}$/i;

const STATUS_LABELS: Record<string, string> = { queued: 'In coda', sending: 'In invio', done: 'Inviata', failed: 'Interrotta' };
const RECIPIENT_LABELS: Record<string, string> = { pending: 'Da inviare', sent: 'Inviata', failed: 'Non riuscita', skipped: 'Saltata (disiscritto)' };

function mailingView(m: Mailing) {
  const done = m.sent + m.failed;
  return { ...m, statusLabel: STATUS_LABELS[m.status] ?? m.status, percent: m.total ? Math.floor((done * 100) / m.total) : 100 };
}

export default async function mailingRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.catalogue;
  const adminOnly = requireRole('sael_admin');
  const deps = { db: app.db, publicUrl: app.config.publicUrl, provinceName: app.config.provinceName, mail: ctx.mail };
  registerMailingJob(app.jobs, deps);
  const enqueue = (request: FastifyRequest) => async (mailingId: number) =>
    await app.jobs.enqueue({ kind: MAILING_JOB, enteId: null, requestedBy: `user:${request.user!.id}`, input: { mailingId } });

  async function listPage(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) {
    await syncReferenti(app.db);
    const subs = await listSubscriptions(app.db);
    const documents = await linkableDocuments(app.db);
    const chosen = new Set(([] as string[]).concat(((extra.form as Form | undefined)?.documentIds as string[] | string | undefined) ?? []).map(Number));
    return reply.page('catalogue/mailing-admin-list', {
      title: 'Comunicazioni ai referenti',
      mailings: (await listMailings(app.db)).map(mailingView),
      subscribed: subs.filter((s) => !s.unsubscribedAt).length,
      unsubscribed: subs.filter((s) => s.unsubscribedAt).length,
      documents: documents.map((d) => ({ ...d, checked: chosen.has(d.id) })),
      form: {},
      errors: {},
      notice: takeFlash(request),
      ...extra,
    });
  }

  app.get('/admin/catalogo/comunicazioni', { preHandler: adminOnly }, async (request, reply) => listPage(request, reply));

  app.post<{ Body: Form }>(
    '/admin/catalogo/comunicazioni',
    {
      preHandler: adminOnly,
      schema: {
        body: {
          type: 'object',
          properties: {
            _csrf: { type: 'string', maxLength: 200 },
            subject: { type: 'string', maxLength: 250 },
            body: { type: 'string', maxLength: 15000 },
            documentIds: { anyOf: [{ type: 'string', pattern: '^[0-9]{1,9}$' }, { type: 'array', maxItems: 20, items: { type: 'string', pattern: '^[0-9]{1,9}$' } }] },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const f = request.body;
      const subject = String(f.subject ?? '').trim();
      const body = String(f.body ?? '').trim();
      const errors: Record<string, string> = {};
      if (subject.length < 3) errors.subject = 'Scrivi l’oggetto della comunicazione (almeno 3 caratteri).';
      if (body.length < 10) errors.body = 'Scrivi il testo della comunicazione (almeno 10 caratteri).';
      if (Object.keys(errors).length) return listPage(request, reply.code(400), { form: f, errors });
      const documentIds = [...new Set(([] as string[]).concat(f.documentIds ?? []).map(Number))];
      try {
        const m = await createMailing(app.db, { subject, body, documentIds }, { userId: request.user!.id, by: auditContext(request), enqueue: enqueue(request) });
        setFlash(request, `Comunicazione in invio a ${m.total} referenti.`);
        return reply.redirect(`/admin/catalogo/comunicazioni/${m.id}`, 303);
      } catch (err) {
        if (err instanceof MailingError) return listPage(request, reply.code(err.status), { form: f, errors: {}, error: err.message });
        throw err;
      }
    },
  );

  app.get('/admin/catalogo/comunicazioni/referenti', { preHandler: adminOnly }, async (request, reply) => {
    await syncReferenti(app.db);
    return reply.page('catalogue/mailing-referenti', {
      title: 'Lista dei referenti',
      subscriptions: await listSubscriptions(app.db),
      enti: await listEnti(app.db, { membersOnly: true }),
      form: {},
      errors: {},
      notice: takeFlash(request),
    });
  });

  app.post<{ Body: Record<string, string | undefined> }>(
    '/admin/catalogo/comunicazioni/referenti',
    {
      preHandler: adminOnly,
      schema: {
        body: {
          type: 'object',
          properties: { _csrf: { type: 'string', maxLength: 200 }, enteId: { type: 'string', pattern: '^[0-9]{1,9}$' }, name: { type: 'string', maxLength: 120 }, email: { type: 'string', maxLength: 254 } },
          required: ['enteId'],
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const f = request.body;
      const errors: Record<string, string> = {};
      const name = (f.name ?? '').trim();
      const email = (f.email ?? '').trim();
      if (name.length < 3) errors.name = 'Scrivi nome e cognome del referente.';
      if (!EMAIL_RE.test(email)) errors.email = 'Scrivi un indirizzo e-mail valido.';
      const rerender = async (code: number, extra: Record<string, unknown>) =>
        reply.code(code).page('catalogue/mailing-referenti', {
          title: 'Lista dei referenti',
          subscriptions: await listSubscriptions(app.db),
          enti: (await listEnti(app.db, { membersOnly: true })).map((e) => ({ ...e, selected: String(e.id) === f.enteId })),
          form: f,
          errors: {},
          ...extra,
        });
      if (Object.keys(errors).length) return rerender(400, { errors });
      try {
        const s = await addSubscription(app.db, { enteId: Number(f.enteId), name, email }, auditContext(request));
        setFlash(request, `${s.email} aggiunto alla lista dei referenti.`);
        return reply.redirect('/admin/catalogo/comunicazioni/referenti', 303);
      } catch (err) {
        if (err instanceof MailingError) return rerender(err.status === 404 ? 400 : err.status, { error: err.message });
        throw err;
      }
    },
  );

  async function mailingStatus(mailingId: number) {
    const m = await getMailing(app.db, mailingId);
    if (!m) throw new HttpError(404, 'Comunicazione non trovata.');
    const counts = await recipientCounts(app.db, m.id);
    const done = m.total - (counts.pending ?? 0);
    const job = m.jobId ? await app.jobs.get(m.jobId) : undefined;
    return { m, counts, done, percent: m.total ? Math.floor((done * 100) / m.total) : 100, job };
  }

  app.get<{ Params: { id: number } }>('/admin/catalogo/comunicazioni/:id', { preHandler: adminOnly, schema: { params: idParams } }, async (request, reply) => {
    const st = await mailingStatus(request.params.id);
    const recipients = await listRecipients(app.db, st.m.id);
    const inProgress = st.m.status === 'queued' || st.m.status === 'sending';
    return reply.page('catalogue/mailing-admin-detail', {
      title: `Comunicazione: ${st.m.subject}`,
      m: { ...st.m, statusLabel: STATUS_LABELS[st.m.status] },
      done: st.done,
      pct: st.percent,
      counts: { sent: st.counts.sent ?? 0, skipped: st.counts.skipped ?? 0, failed: st.counts.failed ?? 0, pending: st.counts.pending ?? 0 },
      inProgress,
      resumable: st.m.status === 'failed',
      statusUrl: `/admin/catalogo/comunicazioni/${st.m.id}/stato.json`,
      recipients: recipients.map((r) => ({ ...r, statusLabel: RECIPIENT_LABELS[r.status] ?? r.status })),
      notice: takeFlash(request),
      csrf: true,
    });
  });

  app.get<{ Params: { id: number } }>('/admin/catalogo/comunicazioni/:id/stato.json', { preHandler: adminOnly, schema: { params: idParams } }, async (request) => {
    const st = await mailingStatus(request.params.id);
    // job-progress.js reloads the page on done/failed.
    return { status: st.m.status, phase: STATUS_LABELS[st.m.status], done: st.done, total: st.m.total, percent: st.percent, sent: st.counts.sent ?? 0, skipped: st.counts.skipped ?? 0, failed: st.counts.failed ?? 0 };
  });

  app.post<{ Params: { id: number } }>('/admin/catalogo/comunicazioni/:id/riprendi', { preHandler: adminOnly, schema: { params: idParams, body: csrfOnly } }, async (request, reply) => {
    try {
      await resumeMailing(app.db, request.params.id, { by: auditContext(request), enqueue: enqueue(request) });
      setFlash(request, 'Invio ripreso: riceveranno la comunicazione solo i referenti che non l’hanno ancora avuta.');
    } catch (err) {
      if (!(err instanceof MailingError)) throw err;
      if (err.status === 404) throw new HttpError(404, err.message);
      setFlash(request, err.message);
    }
    return reply.redirect(`/admin/catalogo/comunicazioni/${request.params.id}`, 303);
  });

  // ---------------------------------------------------------------- unsubscribe (public)

  app.get<{ Querystring: { token: string } }>('/referenti/disiscrizione', { schema: { querystring: tokenQuery } }, async (request, reply) => {
    const s = await subscriptionByToken(app.db, request.query.token);
    if (!s) throw new HttpError(404, 'Collegamento per la disiscrizione non valido: controlla di aver copiato l’indirizzo completo dall’e-mail.');
    return reply.page('catalogue/mailing-unsubscribe', {
      title: 'Disiscrizione dalle comunicazioni SAEL',
      email: maskEmail(s.email),
      enteName: s.enteName,
      token: request.query.token,
      already: Boolean(s.unsubscribedAt),
      csrf: true,
    });
  });

  app.post<{ Querystring: { token: string } }>(
    '/referenti/disiscrizione',
    { schema: { querystring: tokenQuery, body: { type: 'object', properties: { _csrf: { type: 'string', maxLength: 200 }, 'List-Unsubscribe': { type: 'string', maxLength: 40 } } } } },
    async (request, reply) => {
      const s = await unsubscribe(app.db, request.query.token, ctx.now());
      if (!s) throw new HttpError(404, 'Collegamento per la disiscrizione non valido: controlla di aver copiato l’indirizzo completo dall’e-mail.');
      return reply.page('catalogue/mailing-unsubscribe', { title: 'Disiscrizione completata', email: maskEmail(s.email), enteName: s.enteName, done: true });
    },
  );
}
