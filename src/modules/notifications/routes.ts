/**
 * The notifications module's payment part (part D): registers the 'io' and 'email' senders,
 * starts the payment triggers' cursors at what exists, gives the member comuni a demo App IO
 * service in demo mode, and serves:
 * - `/area-personale/notifiche` (citizen): channels and reminders, e-mail with double opt-in, the
 *   last messages sent; `/area-personale/notifiche/conferma` (the link of the confirmation e-mail);
 *   `/notifiche/disiscrizione?token=…` (the link at the foot of every e-mail, no login: asks, then
 *   a POST, also a mail client's one-click POST, turns the citizen's e-mails off);
 * - `/backoffice/enti/:enteId/app-io` (ente_admin of the ente, or the SAEL admin): the ente's IO
 *   service id and API key (stored encrypted, never shown again), "Prova la chiave";
 * - `/helpdesk/notifiche` (helpdesk, sael_admin): the log of what was sent, with filters.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { and, count, desc, eq, gte, or } from 'drizzle-orm';
import { hasRole, requireRole } from '../../plugins/auth.js';
import { auditContext } from '../../plugins/audit/index.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { enteFromParams, enteParams } from '../catalogue/ente-guard.js';
import { getEnte, listEnti } from '../enti/repository.js';
import { EMAIL_PATTERN } from '../portal/cart.js';
import { loginRedirect } from '../portal/personal-area.js';
import { moduleKey } from './crypto.js';
import { emailSender } from './email-channel.js';
import { getProfile } from './io-client.js';
import { ioSender } from './io-channel.js';
import { getIoService, ioCredentials, MissingKeyError, saveIoService, seedDemoIoServices, UndecryptableKeyError } from './io-services.js';
import { listNotificationLog, type LogFilter } from './log-queries.js';
import { enqueueNotifications } from './outbox.js';
import { initPaymentCursors } from './payment-triggers.js';
import { confirmEmail, getPreferences, savePreferences, sha256, unsubscribeEmail, unsubscribeTarget } from './preferences.js';
import { maskEmail } from '../../domain/mask-email.js';
import { oneClickUnsubscribeBody, unsubscribeTokenQuery } from '../../plugins/unsubscribe-schemas.js';
import { NOTIFICATION_CHANNELS, NOTIFICATION_KINDS, NOTIFICATION_STATUSES, notifications } from './schema.js';

export const CHANNEL_LABELS: Record<string, string> = { io: 'App IO', email: 'E-mail', push: 'Web Push' };
export const KIND_LABELS: Record<string, string> = {
  position_published: 'Nuovo avviso',
  payment_reminder: 'Promemoria scadenza',
  receipt: 'Pagamento ricevuto',
  event_published: 'Nuovo evento',
  email_confirmation: 'Conferma e-mail',
};
export const STATUS_LABELS: Record<string, string> = {
  queued: 'In coda',
  sending: 'In invio',
  sent: 'Inviato',
  delivered: 'Consegnato',
  skipped: 'Non inviato',
  gone: 'Destinatario non più valido',
  failed: 'Non riuscito',
};
const STATUS_BADGES: Record<string, string> = {
  queued: 'bg-secondary',
  sending: 'bg-secondary',
  sent: 'bg-primary',
  delivered: 'bg-success',
  skipped: 'bg-warning text-dark',
  gone: 'bg-warning text-dark',
  failed: 'bg-danger',
};
const SERVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const checkbox = { type: 'string', enum: ['on', ''] } as const;

function labelled<T extends { channel: string; kind: string; status: string }>(r: T) {
  return { ...r, channelLabel: CHANNEL_LABELS[r.channel] ?? r.channel, kindLabel: KIND_LABELS[r.kind] ?? r.kind, statusLabel: STATUS_LABELS[r.status] ?? r.status, statusBadge: STATUS_BADGES[r.status] ?? 'bg-secondary' };
}

export default async function routes(app: FastifyInstance): Promise<void> {
  const ctx = app.notifications;
  ctx.channels.set('io', ioSender(ctx));
  ctx.channels.set('email', emailSender(ctx));
  await initPaymentCursors(ctx.db, ctx.now());
  if (!app.config.isProduction && app.config.seedDemo) {
    const key = moduleKey(app.config);
    if (key) await seedDemoIoServices(app.db, key);
  }

  // ------------------------------------------------------------ citizen: preferences

  async function preferencesPage(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) {
    const user = request.user!;
    const prefs = await getPreferences(app.db, user.id);
    const now = ctx.now().toISOString();
    const recent = (await app.db
          .select({ id: notifications.id, channel: notifications.channel, kind: notifications.kind, status: notifications.status, createdAt: notifications.createdAt, sentAt: notifications.sentAt, subject: notifications.subject })
          .from(notifications)
          // Also what was sent to their fiscal code on App IO before they first signed in.
          .where(or(eq(notifications.userId, user.id), and(eq(notifications.channel, 'io'), eq(notifications.recipient, user.fiscalCode))))
          .orderBy(desc(notifications.id))
          .limit(20))
      .map(labelled);
    reply.header('cache-control', 'private, no-store');
    return reply.page('notifications/preferences', {
      title: 'Notifiche',
      prefs,
      values: extra.values ?? { ...prefs, emailAddress: prefs.emailAddress ?? '' },
      emailState: prefs.emailAddress ? (prefs.emailConfirmedAt ? 'confirmed' : prefs.emailConfirmExpiresAt && prefs.emailConfirmExpiresAt > now ? 'pending' : 'expired') : 'none',
      reminderDays: app.config.notifications.reminderDays,
      recent,
      notice: takeFlash(request),
      ...extra,
    });
  }

  app.get('/area-personale/notifiche', async (request, reply) => {
    const redirect = loginRedirect(request, reply);
    if (redirect) return redirect;
    return preferencesPage(request, reply);
  });

  interface PrefsBody {
    io?: string;
    email?: string;
    push?: string;
    reminders?: string;
    emailAddress?: string;
  }
  app.post<{ Body: PrefsBody }>(
    '/area-personale/notifiche',
    {
      schema: {
        body: {
          type: 'object',
          properties: { _csrf: { type: 'string' }, io: checkbox, email: checkbox, push: checkbox, reminders: checkbox, emailAddress: { type: 'string', maxLength: 254 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per scegliere le notifiche.');
      const b = request.body;
      const input = { io: b.io === 'on', email: b.email === 'on', push: b.push === 'on', reminders: b.reminders === 'on', emailAddress: (b.emailAddress ?? '').trim() };
      const errors: Record<string, string> = {};
      if (input.emailAddress && !EMAIL_PATTERN.test(input.emailAddress)) errors.emailAddress = 'Indirizzo e-mail non valido: scrivilo nella forma nome@dominio.it.';
      if (input.email && !input.emailAddress) errors.emailAddress = 'Per ricevere le e-mail indica l’indirizzo.';
      if (Object.keys(errors).length > 0) {
        return preferencesPage(request, reply.code(400), { values: input, errors, errorList: Object.values(errors) });
      }
      const outcome = await savePreferences(app.db, request.user.id, input, ctx.now(), auditContext(request));
      if (outcome.confirm) {
        const link = `${app.config.publicUrl}/area-personale/notifiche/conferma?token=${outcome.confirm.token}`;
        await enqueueNotifications(
          app.db,
          [
            {
              channel: 'email',
              kind: 'email_confirmation',
              dedupeKey: `email:confirm:${request.user.id}:${sha256(outcome.confirm.token).slice(0, 24)}`,
              userId: request.user.id,
              recipient: outcome.confirm.address,
              subject: `user:${request.user.id}`,
              payload: {
                to: outcome.confirm.address,
                subject: 'Conferma il tuo indirizzo per le notifiche dei pagamenti',
                body:
                  `Hai chiesto di ricevere a questo indirizzo le notifiche dei pagamenti del portale dei pagamenti del S.A.E.L.\n\n` +
                  `Per confermare apri questo collegamento entro 48 ore:\n${link}\n\nSe non sei stato tu, ignora questo messaggio: senza conferma non ti scriveremo.\n`,
              },
            },
          ],
          ctx.now(),
        );
        ctx.kick();
      }
      setFlash(
        request,
        outcome.confirm
          ? `Preferenze salvate. Ti abbiamo scritto a ${outcome.confirm.address}: apri il collegamento nel messaggio per confermare l’indirizzo.`
          : 'Preferenze salvate.',
      );
      return reply.redirect('/area-personale/notifiche', 303);
    },
  );

  const tokenQuery = { type: 'object', properties: { token: { type: 'string', maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } }, required: ['token'] } as const;
  app.get<{ Querystring: { token: string } }>('/area-personale/notifiche/conferma', { schema: { querystring: tokenQuery } }, async (request, reply) => {
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    return reply.page('notifications/confirm', { title: 'Conferma indirizzo e-mail', token: request.query.token, csrf: true });
  });

  app.post<{ Body: { token: string } }>(
    '/area-personale/notifiche/conferma',
    { schema: { body: { type: 'object', properties: { _csrf: { type: 'string' }, token: tokenQuery.properties.token }, required: ['token'], additionalProperties: false } } },
    async (request, reply) => {
      const result = await confirmEmail(app.db, request.body.token, ctx.now());
      return reply.code(result === 'confirmed' ? 200 : 400).page('notifications/confirm', { title: 'Conferma indirizzo e-mail', result, [result]: true });
    },
  );

  // ------------------------------------------------------------ the e-mails' unsubscribe link (no login)

  const UNSUBSCRIBE_NOT_FOUND = 'Collegamento per non ricevere più le e-mail non valido: usa quello dell’ultima e-mail ricevuta, oppure scegli i canali dall’area personale, pagina Notifiche.';
  // GET only asks (mail scanners open links); the POST does it.
  app.get<{ Querystring: { token: string } }>('/notifiche/disiscrizione', { schema: { querystring: unsubscribeTokenQuery } }, async (request, reply) => {
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    const target = await unsubscribeTarget(app.db, request.query.token);
    if (!target) throw new HttpError(404, UNSUBSCRIBE_NOT_FOUND);
    return reply.page('notifications/unsubscribe', { title: 'E-mail sui pagamenti', email: maskEmail(target.emailAddress), already: !target.on, token: request.query.token });
  });

  // One click (RFC 8058 style): no session or CSRF token; the secret token in the URL is the
  // authorisation, and turning the e-mails off is all it can do.
  app.post<{ Querystring: { token: string } }>(
    '/notifiche/disiscrizione',
    {
      config: { csrf: false },
      schema: {
        querystring: unsubscribeTokenQuery,
        body: oneClickUnsubscribeBody,
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      const done = await unsubscribeEmail(app.db, request.query.token, ctx.now(), auditContext(request));
      if (!done) throw new HttpError(404, UNSUBSCRIBE_NOT_FOUND);
      return reply.page('notifications/unsubscribe', { title: 'Non riceverai più e-mail sui pagamenti', email: maskEmail(done.emailAddress), done: true });
    },
  );

  // ------------------------------------------------------------ ente: App IO service

  const enteAdmin = requireRole('ente_admin', { ente: enteFromParams(app.db) });

  async function ioPage(request: FastifyRequest<{ Params: { enteId: number } }>, reply: FastifyReply, extra: Record<string, unknown> = {}) {
    const enteId = request.params.enteId;
    const ente = (await getEnte(app.db, enteId))!;
    const service = await getIoService(app.db, enteId);
    const since = new Date(ctx.now().getTime() - 30 * 86_400_000).toISOString();
    const stats = (await app.db
          .select({ status: notifications.status, n: count() })
          .from(notifications)
          .where(and(eq(notifications.enteId, enteId), eq(notifications.channel, 'io'), gte(notifications.createdAt, since)))
          .groupBy(notifications.status))
      .map((s) => ({ ...s, label: STATUS_LABELS[s.status] ?? s.status }));
    return reply.page('notifications/app-io', {
      title: `App IO – ${ente.name}`,
      ente,
      service,
      values: extra.values ?? { serviceId: service?.serviceId ?? '', enabled: service?.enabled ?? true },
      keyAvailable: moduleKey(app.config) !== undefined,
      stats,
      ioApiUrl: app.config.notifications.ioApiUrl,
      notice: takeFlash(request),
      ...extra,
    });
  }

  app.get<{ Params: { enteId: number } }>('/backoffice/enti/:enteId/app-io', { preHandler: enteAdmin, schema: { params: enteParams } }, async (request, reply) => ioPage(request, reply));

  app.post<{ Params: { enteId: number }; Body: { serviceId: string; apiKey?: string; enabled?: string } }>(
    '/backoffice/enti/:enteId/app-io',
    {
      preHandler: enteAdmin,
      schema: {
        params: enteParams,
        body: {
          type: 'object',
          required: ['serviceId'],
          properties: { _csrf: { type: 'string' }, serviceId: { type: 'string', maxLength: 100 }, apiKey: { type: 'string', maxLength: 200 }, enabled: checkbox },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const enteId = request.params.enteId;
      const serviceId = request.body.serviceId.trim();
      const apiKey = (request.body.apiKey ?? '').trim();
      const enabled = request.body.enabled === 'on';
      const existing = await getIoService(app.db, enteId);
      const errors: Record<string, string> = {};
      if (!SERVICE_ID.test(serviceId)) errors.serviceId = 'Indica l’ID del servizio come appare nel Back office IO (lettere, cifre, - e _; al massimo 64 caratteri).';
      if (!existing && !apiKey) errors.apiKey = 'Indica la chiave API del servizio (primaria o secondaria).';
      if (apiKey && (apiKey.length < 16 || /\s/.test(apiKey))) errors.apiKey = 'La chiave API non sembra valida: almeno 16 caratteri, senza spazi.';
      const key = moduleKey(app.config);
      if (!key) errors.apiKey = 'Le chiavi App IO non si possono salvare: manca l’impostazione NOTIFICATIONS_KEY del server.';
      if (Object.keys(errors).length > 0) {
        return ioPage(request, reply.code(400), { values: { serviceId, enabled }, errors, errorList: Object.values(errors) });
      }
      try {
        await saveIoService(app.db, key, { enteId, serviceId, apiKey: apiKey || undefined, enabled }, { ...auditContext(request), userId: request.user!.id });
      } catch (e) {
        if (e instanceof MissingKeyError) throw new HttpError(400, 'Chiave API mancante.');
        throw e;
      }
      setFlash(request, apiKey ? 'Servizio App IO salvato. La chiave è conservata cifrata e non verrà più mostrata.' : 'Servizio App IO aggiornato (chiave invariata).');
      return reply.redirect(`/backoffice/enti/${enteId}/app-io`, 303);
    },
  );

  app.post<{ Params: { enteId: number } }>(
    '/backoffice/enti/:enteId/app-io/prova',
    { preHandler: enteAdmin, schema: { params: enteParams, body: { type: 'object', properties: { _csrf: { type: 'string' } }, additionalProperties: false } } },
    async (request, reply) => {
      const enteId = request.params.enteId;
      let test: { ok: boolean; message: string };
      let creds: Awaited<ReturnType<typeof ioCredentials>> = null;
      let undecryptable: string | null = null;
      try {
        creds = await ioCredentials(app.db, moduleKey(app.config), enteId);
      } catch (e) {
        if (!(e instanceof UndecryptableKeyError)) throw e;
        undecryptable = e.message;
      }
      if (undecryptable) {
        test = { ok: false, message: `La chiave salvata non si può usare: ${undecryptable}.` };
      } else if (!creds) {
        test = { ok: false, message: 'Nessun servizio App IO attivo: salva prima ID del servizio e chiave.' };
      } else {
        const r = await getProfile({ baseUrl: app.config.notifications.ioApiUrl, apiKey: creds.apiKey, timeoutMs: 10_000 }, request.user!.fiscalCode);
        if (r.ok) {
          test = {
            ok: true,
            message: `Chiave accettata da App IO. Il tuo profilo: ${r.value === null ? 'non presente su IO' : r.value.senderAllowed ? 'presente, accetta messaggi da questo servizio' : 'presente, non accetta messaggi da questo servizio'}.`,
          };
        } else if (r.status === 401 || r.status === 403) {
          test = { ok: false, message: `App IO ha rifiutato la chiave (${r.error}). Controlla la chiave nel Back office IO e salvala di nuovo.` };
        } else {
          test = { ok: false, message: `App IO non ha risposto come previsto (${r.error}). Riprova più tardi.` };
        }
      }
      return ioPage(request, reply, { test });
    },
  );

  // ------------------------------------------------------------ helpdesk: log

  interface LogQuery {
    canale?: string;
    stato?: string;
    tipo?: string;
    ente?: number;
    q?: string;
    dal?: string;
    al?: string;
    prima?: number;
  }
  const dateQ = { type: 'string', anyOf: [{ pattern: '^$' }, { pattern: '^\\d{4}-\\d{2}-\\d{2}$' }] } as const;
  app.get<{ Querystring: LogQuery }>(
    '/helpdesk/notifiche',
    {
      preHandler: requireRole(['helpdesk', 'sael_admin']),
      schema: {
        querystring: {
          type: 'object',
          properties: {
            canale: { type: 'string', enum: ['', ...NOTIFICATION_CHANNELS] },
            stato: { type: 'string', enum: ['', ...NOTIFICATION_STATUSES] },
            tipo: { type: 'string', enum: ['', ...NOTIFICATION_KINDS] },
            ente: { type: 'integer', minimum: 1 },
            q: { type: 'string', maxLength: 100 },
            dal: dateQ,
            al: dateQ,
            prima: { type: 'integer', minimum: 1 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const filter: LogFilter = {
        channel: (q.canale || undefined) as LogFilter['channel'],
        status: (q.stato || undefined) as LogFilter['status'],
        kind: (q.tipo || undefined) as LogFilter['kind'],
        enteId: q.ente,
        q: q.q?.trim() || undefined,
        from: q.dal || undefined,
        to: q.al || undefined,
        before: q.prima,
      };
      const { rows, nextBefore } = await listNotificationLog(app.db, filter);
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (k !== 'prima' && v !== undefined && v !== '') params.set(k, String(v));
      const base = `/helpdesk/notifiche${params.size ? `?${params}` : ''}`;
      return reply.page('notifications/helpdesk-log', {
        title: 'Notifiche inviate',
        isStaff: hasRole(request.user, 'helpdesk') || hasRole(request.user, 'sael_admin'),
        filter: q,
        rows: rows.map((r) => ({ ...labelled(r), payloadShown: r.kind === 'email_confirmation' ? null : r.payload })),
        channels: NOTIFICATION_CHANNELS.map((c) => ({ value: c, label: CHANNEL_LABELS[c], selected: c === q.canale })),
        statuses: NOTIFICATION_STATUSES.map((s) => ({ value: s, label: STATUS_LABELS[s], selected: s === q.stato })),
        kinds: NOTIFICATION_KINDS.map((k) => ({ value: k, label: KIND_LABELS[k], selected: k === q.tipo })),
        enti: (await listEnti(app.db, {}))
          .filter((e) => e.member || e.kind !== 'comune')
          .map((e) => ({ id: e.id, name: e.name, selected: e.id === q.ente })),
        next: nextBefore ? `${base}${params.size ? '&' : '?'}prima=${nextBefore}` : null,
        first: q.prima ? base : null,
      });
    },
  );
}
