/**
 * Admin pages for enti (under /admin): the SAEL admin manages enti and their IBANs; the ente's
 * admin (or the SAEL admin) manages its payment services, operators and API keys (a new key is
 * shown once, on the answer to its creation; keys are revoked, never deleted; their last use is
 * shown). The SAEL admin also grants and revokes the global roles (helpdesk, sael_admin) at
 * /admin/ruoli. Every form posts with a CSRF token, is re-shown with Italian messages per field
 * when invalid (HTTP 400), and every write is audited.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditContext } from '../../plugins/audit/index.js';
import { requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { isValidPersonalFiscalCode, normaliseFiscalCode } from '../../domain/fiscal-code.js';
import { formatEuro } from '../../domain/money.js';
import {
  createApiKey,
  GrantError,
  grantRole,
  grantsOfEnte,
  LastAdminError,
  listApiKeys,
  listGlobalGrants,
  revokeApiKey,
  revokeGlobalRole,
  revokeRole,
  upsertUser,
} from '../users/repository.js';
import type { Role } from '../users/schema.js';
import {
  addIban,
  createEnte,
  createService,
  getEnte,
  getService,
  listEnti,
  listIbans,
  listServices,
  setIbanActive,
  UniqueConflictError,
  updateEnte,
  updateEnteLogo,
  updateService,
  type Ente,
  type PaymentService,
} from './repository.js';
import { amountRule, fieldsOf } from './service-fields.js';
import { validateEnte, validateIban, validateService, type FieldErrors, type ServiceInput } from './validation.js';
import { serviceFormXsd } from '../pagopa/demand-xsd.js';

type Form = Record<string, string | undefined>;

const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;

const subParams = (name: string) =>
  ({
    type: 'object',
    properties: { id: { type: 'integer', minimum: 1 }, [name]: { type: 'integer', minimum: 1 } },
    required: ['id', name],
  }) as const;

/** Form bodies: named string fields of bounded length, plus the CSRF token. */
function formBody(fields: string[], maxLength = 1000) {
  const properties: Record<string, unknown> = { _csrf: { type: 'string', maxLength: 200 } };
  for (const f of fields) properties[f] = { type: 'string', maxLength };
  return { type: 'object', properties, additionalProperties: false } as const;
}

const ENTE_FIELDS = [
  'kind', 'name', 'fiscalCode', 'ipaCode', 'istatCode', 'segregationCode', 'slogan', 'zone',
  'address', 'phone', 'email', 'pec', 'website', 'officeHours', 'member',
];
const SERVICE_FIELDS = [
  'code', 'name', 'description', 'taxonomyCode', 'defaultIbanId', 'spontaneous', 'amountMode',
  'fixedAmount', 'minAmount', 'maxAmount', 'pspServiceId', 'active',
];

/** Resolves :id to an existing ente id, or null (404 from the guard). */
function enteParam(app: FastifyInstance) {
  return async (request: FastifyRequest) => {
    const id = (request.params as { id: number }).id;
    return await getEnte(app.db, id) ? id : null;
  };
}

function centsField(cents: number | null): string {
  return cents === null ? '' : formatEuro(cents).replace(/\s?€/, '').trim();
}

function serviceForm(s: PaymentService): Form {
  return {
    code: s.code,
    name: s.name,
    description: s.description ?? '',
    taxonomyCode: s.taxonomyCode,
    defaultIbanId: s.defaultIbanId ? String(s.defaultIbanId) : '',
    spontaneous: s.spontaneous ? 'on' : undefined,
    amountMode: s.amountMode,
    fixedAmount: centsField(s.fixedAmountCents),
    minAmount: centsField(s.minAmountCents),
    maxAmount: centsField(s.maxAmountCents),
    pspServiceId: s.pspServiceId ?? '',
    active: s.active ? 'on' : undefined,
  };
}

function isSaelAdmin(request: FastifyRequest): boolean {
  return !!request.user?.grants.some((g) => g.role === 'sael_admin');
}

/**
 * The service form's values as the user may save them: only the SAEL admin (the intermediary
 * that registers services in pagoPA's catalogue) sets the idServizio; for the ente's admin it is
 * left as it is.
 */
function serviceInputFor(request: FastifyRequest, value: ServiceInput): ServiceInput {
  if (isSaelAdmin(request)) return value;
  const { pspServiceId: _ignored, ...rest } = value;
  return rest;
}

/** What the service form shows about payments at a PSP: the generated XSD's fields, and who may change it. */
function pspView(request: FastifyRequest, ente: Ente, service?: PaymentService) {
  const rule = service ? amountRule(service) : null;
  return {
    canSetPspServiceId: isSaelAdmin(request),
    pspXsdHref: service?.pspServiceId && isSaelAdmin(request) ? `/admin/enti/${ente.id}/servizi/${service.id}/catalogo.xsd` : null,
    pspFormFields: service ? fieldsOf(service).map((f) => `${f.label} (fino a ${f.maxLength} caratteri)`) : [],
    pspAmount: rule ? (rule.fixed ? `importo fisso ${rule.fixed}, stabilito dall’ente` : `importo scelto da chi paga${rule.hint ? `: ${rule.hint.replace(/\.$/, '').toLowerCase()}` : ''}`) : null,
  };
}

const MAX_LOGO_BYTES = 300 * 1024;

/** PNG or JPEG by their magic bytes (SVG is refused: it can carry scripts). */
export function imageExtension(data: Buffer): 'png' | 'jpg' | null {
  if (data.length > 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (data.length > 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'jpg';
  return null;
}

/** Public route serving the uploaded stemmi (file names carry their hash, so they can be cached). */
export async function stemmiRoutes(app: FastifyInstance) {
  app.get<{ Params: { file: string } }>(
    '/stemmi/:file',
    { schema: { params: { type: 'object', properties: { file: { type: 'string', pattern: '^[0-9]+-[0-9a-f]{12}\\.(png|jpg)$' } }, required: ['file'] } } },
    async (request, reply) => {
      const full = path.join(app.config.dataDir, 'stemmi', request.params.file);
      if (!fs.existsSync(full)) throw new HttpError(404, 'Immagine non trovata.');
      return reply
        .type(request.params.file.endsWith('.png') ? 'image/png' : 'image/jpeg')
        .header('cache-control', 'public, max-age=31536000, immutable')
        .send(fs.createReadStream(full));
    },
  );
}

export default async function entiModule(app: FastifyInstance) {
  const adminOnly = requireRole('sael_admin');
  const enteAdmin = requireRole('ente_admin', { ente: enteParam(app) });

  async function loadEnte(request: FastifyRequest) {
    const ente = await getEnte(app.db, (request.params as { id: number }).id);
    if (!ente) throw new HttpError(404, 'Ente non trovato.');
    return ente;
  }

  async function renderDetail(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) {
    const ente = await loadEnte(request);
    return reply.page('enti/detail', {
      title: ente.name,
      ente,
      ibans: await listIbans(app.db, ente.id),
      services: await listServices(app.db, ente.id),
      operators: await grantsOfEnte(app.db, ente.id),
      apiKeys: await listApiKeys(app.db, ente.id),
      canEditEnte: request.user?.grants.some((g) => g.role === 'sael_admin'),
      ibanForm: {},
      operatorForm: {},
      apiKeyForm: {},
      ...extra,
    });
  }

  app.get<{ Querystring: { q?: string } }>(
    '/enti',
    {
      preHandler: adminOnly,
      schema: { querystring: { type: 'object', properties: { q: { type: 'string', maxLength: 80 } }, additionalProperties: false } },
    },
    async (request, reply) => {
      const q = request.query.q?.trim() ?? '';
      return reply.page('enti/list', { title: 'Enti', q, enti: await listEnti(app.db, { q: q || undefined }) });
    },
  );

  app.get('/enti/nuovo', { preHandler: adminOnly }, async (_request, reply) =>
    reply.page('enti/form', { title: 'Nuovo ente', form: { kind: 'comune', segregationCode: '01' }, errors: {}, action: '/admin/enti' }),
  );

  app.post<{ Body: Form }>('/enti', { preHandler: adminOnly, schema: { body: formBody(ENTE_FIELDS) } }, async (request, reply) => {
    const result = validateEnte(request.body);
    const fail = (errors: FieldErrors) =>
      reply.code(400).page('enti/form', { title: 'Nuovo ente', form: request.body, errors, action: '/admin/enti' });
    if (!result.ok) return fail(result.errors);
    try {
      const ente = await createEnte(app.db, result.value, auditContext(request));
      return reply.redirect(`/admin/enti/${ente.id}`, 303);
    } catch (err) {
      if (err instanceof UniqueConflictError) return fail({ [err.field]: err.message });
      throw err;
    }
  });

  app.get('/enti/:id', { preHandler: enteAdmin, schema: { params: idParams } }, async (request, reply) => renderDetail(request, reply));

  app.get('/enti/:id/modifica', { preHandler: adminOnly, schema: { params: idParams } }, async (request, reply) => {
    const ente = await loadEnte(request);
    const form = Object.fromEntries(Object.entries(ente).map(([k, v]) => [k, v === null ? '' : typeof v === 'boolean' ? (v ? 'on' : undefined) : String(v)]));
    return reply.page('enti/form', { title: `Modifica ${ente.name}`, form, errors: {}, action: `/admin/enti/${ente.id}`, editing: true });
  });

  app.post<{ Body: Form; Params: { id: number } }>(
    '/enti/:id',
    { preHandler: adminOnly, schema: { params: idParams, body: formBody(ENTE_FIELDS) } },
    async (request, reply) => {
      const ente = await loadEnte(request);
      const result = validateEnte(request.body);
      const fail = (errors: FieldErrors) =>
        reply.code(400).page('enti/form', { title: `Modifica ${ente.name}`, form: request.body, errors, action: `/admin/enti/${ente.id}`, editing: true });
      if (!result.ok) return fail(result.errors);
      try {
        await updateEnte(app.db, ente.id, result.value, auditContext(request));
      } catch (err) {
        if (err instanceof UniqueConflictError) return fail({ [err.field]: err.message });
        throw err;
      }
      return reply.redirect(`/admin/enti/${ente.id}`, 303);
    },
  );

  app.post<{ Params: { id: number } }>(
    '/enti/:id/stemma',
    { preHandler: adminOnly, config: { upload: true }, schema: { params: idParams } },
    async (request, reply) => {
      const ente = await loadEnte(request);
      const fail = (message: string) => renderDetail(request, reply.code(400), { logoError: message });
      if (!request.isMultipart()) return fail('Scegli un’immagine PNG o JPEG.');
      const file = await request.file({ limits: { fileSize: MAX_LOGO_BYTES } });
      if (!file) return fail('Scegli un’immagine PNG o JPEG.');
      // Only a file over the limit is answered here; a malformed body goes to the error handler (400).
      const data = await file.toBuffer().catch((err: { code?: string }) => {
        if (err.code === 'FST_REQ_FILE_TOO_LARGE') return null;
        throw err;
      });
      if (!data || file.file.truncated) return fail(`L’immagine supera ${MAX_LOGO_BYTES / 1024} KB.`);
      const ext = imageExtension(data);
      if (!ext) return fail('Il file non è un’immagine PNG o JPEG.');
      const dir = path.join(app.config.dataDir, 'stemmi');
      fs.mkdirSync(dir, { recursive: true });
      const name = `${ente.id}-${crypto.createHash('sha256').update(data).digest('hex').slice(0, 12)}.${ext}`;
      fs.writeFileSync(path.join(dir, name), data, { mode: 0o644 });
      await updateEnteLogo(app.db, ente.id, `/stemmi/${name}`, auditContext(request));
      return reply.redirect(`/admin/enti/${ente.id}`, 303);
    },
  );

  app.post<{ Body: Form; Params: { id: number } }>(
    '/enti/:id/iban',
    { preHandler: adminOnly, schema: { params: idParams, body: formBody(['iban', 'label'], 140) } },
    async (request, reply) => {
      const ente = await loadEnte(request);
      const result = validateIban(request.body);
      if (!result.ok) return renderDetail(request, reply.code(400), { ibanForm: request.body, ibanErrors: result.errors });
      try {
        await addIban(app.db, ente.id, result.value, auditContext(request));
      } catch (err) {
        if (err instanceof UniqueConflictError)
          return renderDetail(request, reply.code(400), { ibanForm: request.body, ibanErrors: { [err.field]: err.message } });
        throw err;
      }
      return reply.redirect(`/admin/enti/${ente.id}#conti`, 303);
    },
  );

  app.post<{ Body: Form; Params: { id: number; ibanId: number } }>(
    '/enti/:id/iban/:ibanId/stato',
    { preHandler: adminOnly, schema: { params: subParams('ibanId'), body: formBody(['active'], 10) } },
    async (request, reply) => {
      const { id, ibanId } = request.params;
      const updated = await setIbanActive(app.db, id, ibanId, request.body.active === 'true', auditContext(request));
      if (!updated) throw new HttpError(404, 'Conto non trovato per questo ente.');
      return reply.redirect(`/admin/enti/${id}#conti`, 303);
    },
  );

  const serviceFormData = async (enteId: number) => ({ ibans: (await listIbans(app.db, enteId)).filter((i) => i.active) });

  app.get('/enti/:id/servizi/nuovo', { preHandler: enteAdmin, schema: { params: idParams } }, async (request, reply) => {
    const ente = await loadEnte(request);
    return reply.page('enti/service-form', {
      title: 'Nuovo servizio di pagamento',
      ente,
      form: { amountMode: 'free', active: 'on' },
      errors: {},
      action: `/admin/enti/${ente.id}/servizi`,
      ...await serviceFormData(ente.id),
      ...pspView(request, ente),
    });
  });

  app.post<{ Body: Form; Params: { id: number } }>(
    '/enti/:id/servizi',
    { preHandler: enteAdmin, schema: { params: idParams, body: formBody(SERVICE_FIELDS) } },
    async (request, reply) => {
      const ente = await loadEnte(request);
      const { ibans } = await serviceFormData(ente.id);
      const result = validateService(isSaelAdmin(request) ? request.body : { ...request.body, pspServiceId: undefined }, ibans.map((i) => i.id));
      const fail = (errors: FieldErrors) =>
        reply.code(400).page('enti/service-form', {
          title: 'Nuovo servizio di pagamento', ente, form: request.body, errors, action: `/admin/enti/${ente.id}/servizi`, ibans, ...pspView(request, ente),
        });
      if (!result.ok) return fail(result.errors);
      try {
        await createService(app.db, ente.id, serviceInputFor(request, result.value), auditContext(request));
      } catch (err) {
        if (err instanceof UniqueConflictError) return fail({ [err.field]: err.message });
        throw err;
      }
      return reply.redirect(`/admin/enti/${ente.id}#servizi`, 303);
    },
  );

  app.get<{ Params: { id: number; serviceId: number } }>(
    '/enti/:id/servizi/:serviceId',
    { preHandler: enteAdmin, schema: { params: subParams('serviceId') } },
    async (request, reply) => {
      const ente = await loadEnte(request);
      const service = await getService(app.db, ente.id, request.params.serviceId);
      if (!service) throw new HttpError(404, 'Servizio non trovato per questo ente.');
      return reply.page('enti/service-form', {
        title: `Modifica ${service.name}`, ente, form: serviceForm(service), errors: {},
        action: `/admin/enti/${ente.id}/servizi/${service.id}`, editing: true, ...await serviceFormData(ente.id), ...pspView(request, ente, service),
      });
    },
  );

  app.post<{ Body: Form; Params: { id: number; serviceId: number } }>(
    '/enti/:id/servizi/:serviceId',
    { preHandler: enteAdmin, schema: { params: subParams('serviceId'), body: formBody(SERVICE_FIELDS) } },
    async (request, reply) => {
      const ente = await loadEnte(request);
      const service = await getService(app.db, ente.id, request.params.serviceId);
      if (!service) throw new HttpError(404, 'Servizio non trovato per questo ente.');
      const { ibans } = await serviceFormData(ente.id);
      const result = validateService(isSaelAdmin(request) ? request.body : { ...request.body, pspServiceId: undefined }, ibans.map((i) => i.id));
      const fail = (errors: FieldErrors) =>
        reply.code(400).page('enti/service-form', {
          title: `Modifica ${service.name}`, ente, form: isSaelAdmin(request) ? request.body : { ...request.body, pspServiceId: service.pspServiceId ?? '' }, errors,
          action: `/admin/enti/${ente.id}/servizi/${service.id}`, editing: true, ibans, ...pspView(request, ente, service),
        });
      if (!result.ok) return fail(result.errors);
      try {
        await updateService(app.db, ente.id, service.id, serviceInputFor(request, result.value), auditContext(request));
      } catch (err) {
        if (err instanceof UniqueConflictError) return fail({ [err.field]: err.message });
        throw err;
      }
      return reply.redirect(`/admin/enti/${ente.id}#servizi`, 303);
    },
  );

  // The form XSD of a service payable at a PSP, for pagoPA's services catalogue (SAEL admin only).
  app.get<{ Params: { id: number; serviceId: number } }>(
    '/enti/:id/servizi/:serviceId/catalogo.xsd',
    { preHandler: adminOnly, schema: { params: subParams('serviceId') } },
    async (request, reply) => {
      const ente = await loadEnte(request);
      const service = await getService(app.db, ente.id, request.params.serviceId);
      if (!service) throw new HttpError(404, 'Servizio non trovato per questo ente.');
      if (!service.pspServiceId) throw new HttpError(404, 'Il servizio non è pagabile presso i PSP: indica prima il suo idServizio nel catalogo dei servizi pagoPA.');
      return reply
        .type('application/xml; charset=utf-8')
        .header('content-disposition', `attachment; filename="servizio-${service.pspServiceId}-${service.code}.xsd"`)
        .header('cache-control', 'no-store')
        .send(serviceFormXsd(ente, service));
    },
  );

  app.post<{ Body: Form; Params: { id: number } }>(
    '/enti/:id/operatori',
    { preHandler: enteAdmin, schema: { params: idParams, body: formBody(['fiscalCode', 'role'], 40) } },
    async (request, reply) => {
      const ente = await loadEnte(request);
      const fiscalCode = normaliseFiscalCode(request.body.fiscalCode ?? '');
      const role = request.body.role as Role;
      const errors: FieldErrors = {};
      if (!fiscalCode || fiscalCode.length !== 16) errors.fiscalCode = 'Codice fiscale della persona non valido (16 caratteri).';
      if (role !== 'operator' && role !== 'ente_admin' && role !== 'redazione') errors.role = 'Scegli il ruolo: operatore, redazione o amministratore dell’ente.';
      if (Object.keys(errors).length > 0) return renderDetail(request, reply.code(400), { operatorForm: request.body, operatorErrors: errors });
      const by = auditContext(request);
      try {
        const userId = await upsertUser(app.db, { fiscalCode: fiscalCode! }, by);
        await grantRole(app.db, userId, role, ente.id, by);
      } catch (err) {
        if (err instanceof GrantError) throw new HttpError(400, err.message);
        throw err;
      }
      return reply.redirect(`/admin/enti/${ente.id}#operatori`, 303);
    },
  );

  app.post<{ Params: { id: number; grantId: number } }>(
    '/enti/:id/operatori/:grantId/revoca',
    { preHandler: enteAdmin, schema: { params: subParams('grantId'), body: formBody([], 10) } },
    async (request, reply) => {
      const { id, grantId } = request.params;
      if (!await revokeRole(app.db, grantId, id, auditContext(request))) throw new HttpError(404, 'Abilitazione non trovata per questo ente.');
      return reply.redirect(`/admin/enti/${id}#operatori`, 303);
    },
  );

  // ------------------------------------------------------------------ API keys of an ente

  app.post<{ Body: Form; Params: { id: number } }>(
    '/enti/:id/chiavi-api',
    { preHandler: enteAdmin, schema: { params: idParams, body: formBody(['keyLabel'], 200) } },
    async (request, reply) => {
      const ente = await loadEnte(request);
      const label = (request.body.keyLabel ?? '').trim();
      if (label.length < 2 || label.length > 80) {
        return renderDetail(request, reply.code(400), {
          apiKeyForm: request.body,
          apiKeyErrors: { keyLabel: 'Descrivi a cosa serve la chiave (da 2 a 80 caratteri), ad esempio «gestionale tributi».' },
        });
      }
      const { id, key } = await createApiKey(app.db, ente.id, label, auditContext(request));
      // The key exists in clear only in this answer: never cached, never in a redirect or a URL.
      reply.header('cache-control', 'no-store');
      return reply.page('enti/api-key-created', { title: 'Nuova chiave API', ente, key, keyId: id, label });
    },
  );

  app.post<{ Params: { id: number; keyId: number } }>(
    '/enti/:id/chiavi-api/:keyId/revoca',
    { preHandler: enteAdmin, schema: { params: subParams('keyId'), body: formBody([], 10) } },
    async (request, reply) => {
      const { id, keyId } = request.params;
      if (!(await revokeApiKey(app.db, id, keyId, auditContext(request)))) throw new HttpError(404, 'Chiave API non trovata per questo ente.');
      return reply.redirect(`/admin/enti/${id}#chiavi-api`, 303);
    },
  );

  // ------------------------------------------------------------------ global roles (helpdesk, sael_admin)

  const GLOBAL_ROLES = ['helpdesk', 'sael_admin'] as const;

  async function renderRoles(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) {
    const grants = (await listGlobalGrants(app.db)).map((g) => ({ ...g, isSelf: g.userId === request.user?.id }));
    return reply.page('enti/roles', {
      title: 'Ruoli globali',
      helpdesk: grants.filter((g) => g.role === 'helpdesk'),
      admins: grants.filter((g) => g.role === 'sael_admin'),
      roleForm: {},
      ...extra,
    });
  }

  app.get('/ruoli', { preHandler: adminOnly, schema: { querystring: { type: 'object', properties: {}, additionalProperties: false } } }, async (request, reply) => renderRoles(request, reply));

  app.post<{ Body: Form }>('/ruoli', { preHandler: adminOnly, schema: { body: formBody(['fiscalCode', 'role'], 40) } }, async (request, reply) => {
    const fiscalCode = (request.body.fiscalCode ?? '').replace(/\s+/g, '').toUpperCase();
    const role = request.body.role;
    const errors: FieldErrors = {};
    if (!isValidPersonalFiscalCode(fiscalCode)) errors.fiscalCode = 'Codice fiscale della persona non valido (16 caratteri, controlla l’ultimo).';
    if (!GLOBAL_ROLES.includes(role as (typeof GLOBAL_ROLES)[number])) errors.role = 'Scegli il ruolo: helpdesk o amministratore S.A.E.L.';
    if (Object.keys(errors).length > 0) return renderRoles(request, reply.code(400), { roleForm: request.body, roleErrors: errors });
    const by = auditContext(request);
    const userId = await upsertUser(app.db, { fiscalCode }, by);
    await grantRole(app.db, userId, role as Role, null, by);
    return reply.redirect('/admin/ruoli', 303);
  });

  app.post<{ Params: { grantId: number } }>(
    '/ruoli/:grantId/revoca',
    {
      preHandler: adminOnly,
      schema: { params: { type: 'object', properties: { grantId: { type: 'integer', minimum: 1 } }, required: ['grantId'] }, body: formBody([], 10) },
    },
    async (request, reply) => {
      try {
        if (!(await revokeGlobalRole(app.db, request.params.grantId, auditContext(request)))) throw new HttpError(404, 'Ruolo globale non trovato.');
      } catch (err) {
        if (err instanceof LastAdminError) return renderRoles(request, reply.code(409), { revokeError: err.message });
        throw err;
      }
      return reply.redirect('/admin/ruoli', 303);
    },
  );
}
