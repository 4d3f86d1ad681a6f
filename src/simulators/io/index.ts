/**
 * App IO simulator (demo and tests; not registered in production). Under /simulators/io:
 * - the services API at /api/v1 (the operations the platform uses: getProfileByPOST, getProfile,
 *   submitMessageforUserWithFiscalCodeInBody, submitMessageforUser, getMessage): EVERY request is
 *   validated against the official document (openapi.ts) and refused with 400 ProblemJson when it
 *   does not match; the `Ocp-Apim-Subscription-Key` must be the key of one of the enti's IO
 *   services (ente_io_services, decrypted: in demo each member comune has one) — else 401;
 * - citizens' profiles (sim_io_profiles: no row = not on IO → 404; sender_allowed false or the
 *   service blocked → `sender_allowed: false`, and a message sent anyway is REJECTED, not stored);
 * - the page `/simulators/io`: the messages each citizen would see in the app, with the payment
 *   data and a "Paga" link, profile switches, and demo buttons that run the notifications pass now
 *   or as on a chosen day (to see a reminder before its due date).
 */
import crypto from 'node:crypto';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatEuro } from '../../domain/money.js';
import { isIsoDate } from '../../domain/iso-date.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { demoCitizenProfiles } from '../../modules/enti/demo-seed.js';
import { enti } from '../../modules/enti/schema.js';
import { moduleKey } from '../../modules/notifications/crypto.js';
import { allIoCredentials } from '../../modules/notifications/io-services.js';
import { enteIoServices } from '../../modules/notifications/schema.js';
import { markdownBlocks } from './markdown.js';
import { loadIoOpenApi } from './openapi.js';
import { simIoMessages, simIoProfiles } from './schema.js';

export const IO_SIM_PREFIX = '/simulators/io';
const API_CONFIG = { csrf: false, rateLimit: false, session: false } as const;
const FISCAL_CODE = /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/;

/** A ULID (Crockford base32: 48-bit time + 80 random bits), the id format IO gives messages. */
export function ulid(now = Date.now()): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const rnd = crypto.randomBytes(16);
  let rand = '';
  for (let i = 0; i < 16; i++) rand += alphabet[rnd[i]! % 32];
  return time + rand;
}

function problem(reply: FastifyReply, status: number, title: string, detail?: string) {
  return reply.code(status).type('application/problem+json').send({ type: 'about:blank', title, status, ...(detail ? { detail } : {}) });
}

/** Demo citizens on the simulated app: the first two accept messages, the third has turned services off. */
export async function seedIoProfiles(app: FastifyInstance): Promise<void> {
  for (const [i, c] of demoCitizenProfiles().entries()) {
    await app.db
            .insert(simIoProfiles)
            .values({ fiscalCode: c.fiscalCode, senderAllowed: i < 2 })
            .onConflictDoNothing();
  }
}

export default async function ioSimulator(app: FastifyInstance) {
  if (app.config.isProduction) throw new Error('the App IO simulator is not available in production');
  // The official document is read and compiled at the simulator's first use, not at every start
  // (its YAML parse and schema compile cost every test file ~0.3 s).
  let loaded: ReturnType<typeof loadIoOpenApi> | undefined;
  const openapi = () => (loaded ??= loadIoOpenApi());
  if (app.config.seedDemo) await seedIoProfiles(app);
  /** Ids of messages REJECTED (recipient not on IO or sender not allowed): answered by getMessage, not stored. */
  const rejected = new Map<string, { fiscalCode: string; serviceId: string; createdAt: string; content: unknown }>();

  /** The service whose key the request carries, or a 401 sent. */
  async function serviceOf(request: FastifyRequest): Promise<string | null> {
    const key = request.headers['ocp-apim-subscription-key'];
    if (typeof key !== 'string' || !key) return null;
    const known = await allIoCredentials(app.db, moduleKey(app.config));
    const given = Buffer.from(key);
    const hit = known.find((k) => {
      const b = Buffer.from(k.apiKey);
      return b.length === given.length && crypto.timingSafeEqual(b, given);
    });
    return hit?.serviceId ?? null;
  }

  /** Validation against the document, then the key; returns the service id or null when answered. */
  async function admit(operationId: string, request: FastifyRequest, reply: FastifyReply): Promise<string | null> {
    const problems = openapi().validate(operationId, { params: request.params as Record<string, string>, body: request.body, headers: request.headers });
    const missingKey = problems.some((p) => p.startsWith('header '));
    if (missingKey) {
      await problem(reply, 401, 'Unauthorized', 'Ocp-Apim-Subscription-Key mancante');
      return null;
    }
    if (problems.length > 0) {
      request.log.warn({ operationId, problems }, 'IO simulator: request does not match the OpenAPI document');
      await problem(reply, 400, 'Invalid payload', problems.join('; ').slice(0, 2000));
      return null;
    }
    const serviceId = await serviceOf(request);
    if (!serviceId) {
      await problem(reply, 401, 'Unauthorized', 'chiave del servizio sconosciuta');
      return null;
    }
    return serviceId;
  }

  async function senderAllowed(fiscalCode: string, serviceId: string): Promise<boolean | null> {
    const p = (await app.db.select().from(simIoProfiles).where(eq(simIoProfiles.fiscalCode, fiscalCode)).limit(1))[0];
    if (!p) return null;
    const blocked = JSON.parse(p.blockedServices) as string[];
    return p.senderAllowed && !blocked.includes(serviceId);
  }

  async function profile(fiscalCode: string, reply: FastifyReply, serviceId: string) {
    const allowed = await senderAllowed(fiscalCode, serviceId);
    if (allowed === null) return problem(reply, 404, 'Profile not found', 'No user found for the provided fiscal code.');
    return reply.send({ sender_allowed: allowed, preferred_languages: ['it_IT'] });
  }

  app.post('/api/v1/profiles', { config: API_CONFIG, schema: { hide: true } }, async (request, reply) => {
    const serviceId = await admit('getProfileByPOST', request, reply);
    if (!serviceId) return reply;
    return profile((request.body as { fiscal_code: string }).fiscal_code, reply, serviceId);
  });

  app.get<{ Params: { fiscal_code: string } }>('/api/v1/profiles/:fiscal_code', { config: API_CONFIG, schema: { hide: true } }, async (request, reply) => {
    const serviceId = await admit('getProfile', request, reply);
    if (!serviceId) return reply;
    return profile(request.params.fiscal_code, reply, serviceId);
  });

  async function submit(fiscalCode: string | undefined, request: FastifyRequest, reply: FastifyReply, serviceId: string) {
    const body = request.body as { fiscal_code?: string; content: { subject: string; markdown: string; due_date?: string; payment_data?: unknown } };
    if (!fiscalCode) return problem(reply, 400, 'Invalid payload', 'fiscal_code mancante: va nel corpo (POST /messages) o nel percorso (POST /messages/{fiscal_code})');
    const id = ulid();
    const createdAt = new Date().toISOString();
    if (!await senderAllowed(fiscalCode, serviceId)) {
      rejected.set(id, { fiscalCode, serviceId, createdAt, content: body.content });
      // Kept in memory for getMessage only: the oldest go first beyond 10 000.
      if (rejected.size > 10_000) rejected.delete(rejected.keys().next().value!);
    } else {
      await app.db
                .insert(simIoMessages)
                .values({
                  id,
                  fiscalCode,
                  serviceId,
                  subject: body.content.subject,
                  markdown: body.content.markdown,
                  dueDate: body.content.due_date ?? null,
                  paymentData: body.content.payment_data ? JSON.stringify(body.content.payment_data) : null,
                  body: JSON.stringify(body),
                  createdAt,
                });
    }
    return reply.code(201).header('location', `${IO_SIM_PREFIX}/api/v1/messages/${fiscalCode}/${id}`).send({ id });
  }

  app.post('/api/v1/messages', { config: API_CONFIG, schema: { hide: true } }, async (request, reply) => {
    const serviceId = await admit('submitMessageforUserWithFiscalCodeInBody', request, reply);
    if (!serviceId) return reply;
    return submit((request.body as { fiscal_code?: string }).fiscal_code, request, reply, serviceId);
  });

  app.post<{ Params: { fiscal_code: string } }>('/api/v1/messages/:fiscal_code', { config: API_CONFIG, schema: { hide: true } }, async (request, reply) => {
    const serviceId = await admit('submitMessageforUser', request, reply);
    if (!serviceId) return reply;
    return submit(request.params.fiscal_code, request, reply, serviceId);
  });

  app.get<{ Params: { fiscal_code: string; id: string } }>('/api/v1/messages/:fiscal_code/:id', { config: API_CONFIG, schema: { hide: true } }, async (request, reply) => {
    const serviceId = await admit('getMessage', request, reply);
    if (!serviceId) return reply;
    const { fiscal_code: fiscalCode, id } = request.params;
    const r = rejected.get(id);
    if (r && r.fiscalCode === fiscalCode && r.serviceId === serviceId) {
      return reply.send({
        message: { id, fiscal_code: fiscalCode, created_at: r.createdAt, content: r.content, sender_service_id: serviceId, feature_level_type: 'STANDARD' },
        status: 'REJECTED',
      });
    }
    const m = (await app.db
          .select()
          .from(simIoMessages)
          .where(and(eq(simIoMessages.id, id), eq(simIoMessages.fiscalCode, fiscalCode), eq(simIoMessages.serviceId, serviceId))).limit(1))[0];
    if (!m) return problem(reply, 404, 'Message not found', 'No message found for the provided ID.');
    const sent = JSON.parse(m.body) as { content: unknown; time_to_live?: number };
    return reply.send({
      message: { id: m.id, fiscal_code: m.fiscalCode, created_at: m.createdAt, content: sent.content, sender_service_id: m.serviceId, feature_level_type: 'STANDARD', ...(sent.time_to_live ? { time_to_live: sent.time_to_live } : {}) },
      notification: { email: 'SENT' },
      status: 'PROCESSED',
    });
  });

  // ------------------------------------------------------------------ the page

  const pageQuery = { type: 'object', properties: { cf: { type: 'string', maxLength: 16 } }, additionalProperties: false } as const;

  app.get<{ Querystring: { cf?: string } }>('/', { schema: { hide: true, querystring: pageQuery } }, async (request, reply) => {
    const profiles = await app.db
          .select({
            fiscalCode: simIoProfiles.fiscalCode,
            senderAllowed: simIoProfiles.senderAllowed,
            messages: sql<number>`(SELECT count(*) FROM sim_io_messages m WHERE m.fiscal_code = sim_io_profiles.fiscal_code)`,
          })
          .from(simIoProfiles)
          .orderBy(simIoProfiles.fiscalCode);
    const cf = (request.query.cf ?? '').toUpperCase() || profiles[0]?.fiscalCode || '';
    const services = new Map(
      (await app.db.select({ serviceId: enteIoServices.serviceId, name: enti.name }).from(enteIoServices).innerJoin(enti, eq(enti.id, enteIoServices.enteId))).map((s) => [s.serviceId, s.name]),
    );
    const messages = cf
      ? (await app.db
                  .select()
                  .from(simIoMessages)
                  .where(eq(simIoMessages.fiscalCode, cf))
                  .orderBy(desc(simIoMessages.createdAt), desc(simIoMessages.id))
                  .limit(100))
          .map((m) => {
            const pd = m.paymentData ? (JSON.parse(m.paymentData) as { amount: number; notice_number: string; payee?: { fiscal_code: string }; invalid_after_due_date?: boolean }) : null;
            return {
              id: m.id,
              sender: services.get(m.serviceId) ?? `Servizio ${m.serviceId}`,
              subject: m.subject,
              createdAt: m.createdAt,
              dueDate: m.dueDate,
              blocks: markdownBlocks(m.markdown),
              payment: pd
                ? {
                    amount: formatEuro(pd.amount),
                    noticeNumber: pd.notice_number,
                    payee: pd.payee?.fiscal_code ?? '',
                    invalidAfterDueDate: pd.invalid_after_due_date === true,
                    payUrl: `/paga-avviso?codiceAvviso=${encodeURIComponent(pd.notice_number)}${pd.payee ? `&cfEnte=${encodeURIComponent(pd.payee.fiscal_code)}` : ''}`,
                  }
                : null,
            };
          })
      : [];
    const current = profiles.find((p) => p.fiscalCode === cf);
    return reply.page('simulators/io-messages', {
      title: 'App IO (simulatore)',
      csrf: true,
      profiles: profiles.map((p) => ({ ...p, selected: p.fiscalCode === cf })),
      cf,
      current,
      messages,
      apiVersion: openapi().version,
      notice: takeFlash(request),
    });
  });

  const profileBody = {
    type: 'object',
    required: ['fiscalCode'],
    properties: { _csrf: { type: 'string' }, fiscalCode: { type: 'string', maxLength: 32 }, senderAllowed: { type: 'string', enum: ['on', ''] } },
    additionalProperties: false,
  } as const;
  app.post<{ Body: { fiscalCode: string; senderAllowed?: string } }>('/profili', { schema: { hide: true, body: profileBody } }, async (request, reply) => {
    const fc = request.body.fiscalCode.trim().toUpperCase();
    if (!FISCAL_CODE.test(fc)) {
      setFlash(request, 'Codice fiscale non valido: 16 caratteri di una persona fisica (es. RSSMRA80A01B519X).');
      return reply.redirect(IO_SIM_PREFIX, 303);
    }
    const allowed = request.body.senderAllowed === 'on';
    await app.db
            .insert(simIoProfiles)
            .values({ fiscalCode: fc, senderAllowed: allowed })
            .onConflictDoUpdate({ target: simIoProfiles.fiscalCode, set: { senderAllowed: allowed } });
    setFlash(request, `Profilo ${fc} salvato: ${allowed ? 'accetta' : 'non accetta'} messaggi dai servizi.`);
    return reply.redirect(`${IO_SIM_PREFIX}?cf=${fc}`, 303);
  });

  const runBody = {
    type: 'object',
    properties: { _csrf: { type: 'string' }, day: { type: 'string', maxLength: 10 }, cf: { type: 'string', maxLength: 16 } },
    additionalProperties: false,
  } as const;
  app.post<{ Body: { day?: string; cf?: string } }>('/esegui', { schema: { hide: true, body: runBody } }, async (request, reply) => {
    const back = `${IO_SIM_PREFIX}${request.body.cf && FISCAL_CODE.test(request.body.cf) ? `?cf=${request.body.cf}` : ''}`;
    const day = request.body.day?.trim();
    let at: Date | undefined;
    if (day) {
      if (!isIsoDate(day)) throw new HttpError(400, 'Data non valida: usa il formato AAAA-MM-GG.');
      // 10:00 in Rome (after the reminders' hour) of that day.
      at = new Date(`${day}T09:00:00Z`);
    }
    await app.notificationsTick(at);
    setFlash(request, day ? `Notifiche elaborate come se fosse il ${day.split('-').reverse().join('/')} alle 10 circa: promemoria e messaggi in coda inviati.` : 'Notifiche in coda elaborate e inviate.');
    return reply.redirect(back, 303);
  });
}
