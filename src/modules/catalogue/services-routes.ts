/**
 * The catalogue's services on the web:
 * - public pages `/servizi` (GET filter by area and kind, works without JavaScript) and
 *   `/servizi/:code` (the scheda, following the modello comuni "servizio" page; for a signed-in
 *   operator or ente admin, the price resolved today for their ente, with class and demo flag);
 * - the SAEL admin's `/admin/catalogo/servizi` (list) and `/admin/catalogo/servizi/:code` (edit
 *   form, every field validated, audited before/after, history from audit_log);
 * - the public REST `GET /api/v1/catalogo/servizi[/:code]` (no session, in the OpenAPI).
 * Anonymous answers of the public pages may be cached for a minute; signed-in ones are no-store
 * (auth plugin).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditContext } from '../../plugins/audit/index.js';
import { entiWithRole, requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { withoutSessions } from '../../plugins/sessions/index.js';
import { formatEuro } from '../../domain/money.js';
import { getEnte, listEnti } from '../enti/repository.js';
import { todayInItaly } from '../positions/service.js';
import { eq, inArray } from 'drizzle-orm';
import { users } from '../users/schema.js';
import { BILLING_KINDS, SERVICE_AREAS, SERVICE_KINDS, type ServiceArea, type ServiceKind } from './schema.js';
import {
  AREA_LABELS,
  BILLING_LABELS,
  getServiceByCode,
  KIND_LABELS,
  lines,
  listServices,
  serviceHistory,
  updateService,
  type CatalogueService,
  type ServiceUpdate,
} from './services-repository.js';
import { listEnteClasses, listPriceLists, resolvePriceFor, type EnteClass, type PriceSnapshot } from './price-repository.js';
import { listsByPriority, parseBands, type Band, type PriceModeName } from './pricing.js';
import { prices as pricesTable } from './schema.js';

// ------------------------------------------------------------------------------ presentation

/** Business minutes as Italian text, on 7-hour working days ("2 ore lavorative", "3 giorni lavorativi"). */
export function businessTime(minutes: number): string {
  const DAY = 420;
  if (minutes >= DAY && minutes % DAY === 0) return minutes === DAY ? '1 giorno lavorativo' : `${minutes / DAY} giorni lavorativi`;
  if (minutes % 60 === 0) return minutes === 60 ? '1 ora lavorativa' : `${minutes / 60} ore lavorative`;
  return `${minutes} minuti lavorativi`;
}

function periodWord(s: Pick<CatalogueService, 'billing' | 'periodMonths'>): string {
  if (s.billing === 'one_off') return ' una tantum';
  if (s.periodMonths === 12) return ' all’anno';
  return ` ogni ${s.periodMonths} mesi`;
}

/** One price as Italian text: "€ 250,00 all’anno", "€ 35,00 per casella PEC all’anno", bands. */
export function priceText(
  s: Pick<CatalogueService, 'billing' | 'periodMonths' | 'unitLabel'>,
  terms: { mode: PriceModeName; amountCents: number | null; bands: Band[] | null },
): string {
  const when = periodWord(s);
  if (terms.mode === 'fixed' && terms.amountCents !== null) return `${formatEuro(terms.amountCents)}${when}`;
  if (terms.mode === 'per_unit' && terms.amountCents !== null) return `${formatEuro(terms.amountCents)} per ${s.unitLabel ?? 'unità'}${when}`;
  if (terms.mode === 'bands' && terms.bands) {
    const unit = s.unitLabel ? ` (${s.unitLabel})` : '';
    return (
      terms.bands.map((b) => `da ${b.from}${b.to === null ? ' in su' : ` a ${b.to}`}: ${formatEuro(b.amountCents)}`).join('; ') + `${unit}${when}`
    );
  }
  return 'prezzo non definito';
}

const AREA_SLUGS: Record<ServiceArea, string> = {
  amministrazione_digitale: 'amministrazione-digitale',
  consulenza_tecnica: 'consulenza-tecnica',
  altri_servizi: 'altri-servizi',
};
const SLUG_AREAS = Object.fromEntries(Object.entries(AREA_SLUGS).map(([a, s]) => [s, a])) as Record<string, ServiceArea>;
const KIND_SLUGS: Record<ServiceKind, string> = { base: 'base', specialistico: 'specialistico' };

/** The current listino's prices of one service, one row per class (+ the default). */
async function currentTariffs(app: FastifyInstance, service: CatalogueService, today: string) {
  if (service.billing === 'free') return null;
  const lists = listsByPriority(await listPriceLists(app.db), today);
  const servicePrices = await app.db.select().from(pricesTable).where(eq(pricesTable.serviceId, service.id));
  const classes = await listEnteClasses(app.db);
  for (const list of lists) {
    const inList = servicePrices.filter((p) => p.priceListId === list.id);
    if (!inList.length) continue;
    const classById = new Map<number, EnteClass>(classes.map((c) => [c.id, c]));
    const rows = inList
      .map((p) => {
        const cls = p.enteClassId === null ? null : classById.get(p.enteClassId) ?? null;
        const bands = parseBands(p.bands);
        return {
          classCode: cls?.code ?? null,
          classLabel: cls ? `Classe ${cls.code} – ${cls.label}` : 'Tutti gli enti',
          sort: cls ? cls.minPopulation : -1,
          mode: p.mode,
          amountCents: p.amountCents,
          bands,
          text: priceText(service, { mode: p.mode, amountCents: p.amountCents, bands }),
        };
      })
      .sort((a, b) => a.sort - b.sort);
    return { priceListId: list.id, priceListName: list.name, isDemo: list.isDemo, validFrom: list.validFrom, validTo: list.validTo, rows };
  }
  return { priceListId: null, priceListName: null, isDemo: false, validFrom: null, validTo: null, rows: [] };
}

function serviceView(s: CatalogueService) {
  return {
    ...s,
    areaLabel: AREA_LABELS[s.area],
    kindLabel: KIND_LABELS[s.kind],
    billingLabel: BILLING_LABELS[s.billing],
    isFree: s.billing === 'free',
    /** The adesione asks how many units (per-unit services, or priced by quantity bands without counted usage). */
    asksQuantity: s.billing === 'per_unit' || (Boolean(s.unitLabel) && s.includedUnits === null && s.billing !== 'free'),
    paragraphs: s.description.split(/\r?\n\s*\r?\n/).map((p) => p.trim()).filter(Boolean),
    includedList: lines(s.included),
    requestKindList: lines(s.requestKinds),
    tto: businessTime(s.slaTtoMinutes),
    ttr: businessTime(s.slaTtrMinutes),
    href: `/servizi/${encodeURIComponent(s.code)}`,
  };
}

/** Enti for which the signed-in user is operator or ente admin (their own enti, never "all"). */
function enteIdsOf(request: FastifyRequest): number[] {
  return entiWithRole(request.user, 'operator');
}

function cacheAnonymous(request: FastifyRequest, reply: FastifyReply) {
  if (!request.user && request.session?.userId === undefined) reply.header('cache-control', 'public, max-age=60').header('vary', 'cookie');
}

// ------------------------------------------------------------------------------ admin form

type Form = Record<string, string | undefined>;
const SERVICE_FIELDS = [
  'name', 'kind', 'area', 'summary', 'description', 'included', 'billing', 'unitLabel', 'includedUnits',
  'requiresConvenzione', 'requiresApproval', 'slaTtoMinutes', 'slaTtrMinutes', 'requestKinds', 'periodMonths', 'active',
];

export const FIELD_LABELS: Record<string, string> = {
  name: 'Nome', kind: 'Tipo', area: 'Area', summary: 'Sintesi', description: 'Descrizione', included: 'Cosa comprende',
  billing: 'Fatturazione', unitLabel: 'Unità', includedUnits: 'Unità comprese all’anno', requiresConvenzione: 'Richiede la convenzione',
  requiresApproval: 'Richiede l’approvazione', slaTtoMinutes: 'Presa in carico (minuti lavorativi)', slaTtrMinutes: 'Risoluzione (minuti lavorativi)',
  requestKinds: 'Tipi di richiesta', periodMonths: 'Durata dell’adesione (mesi)', active: 'Attivo',
};

function intField(v: string | undefined): number | null | undefined {
  const s = (v ?? '').trim();
  if (s === '') return null;
  if (!/^\d{1,7}$/.test(s)) return undefined;
  return Number(s);
}

/** Validates the admin's service form; Italian messages per field. */
export function validateServiceForm(f: Form): { ok: true; value: ServiceUpdate } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const text = (k: string) => (f[k] ?? '').replace(/\r\n/g, '\n').trim();
  const name = text('name');
  if (name.length < 3 || name.length > 150) errors.name = 'Il nome deve avere fra 3 e 150 caratteri.';
  const kind = text('kind') as ServiceKind;
  if (!SERVICE_KINDS.includes(kind)) errors.kind = 'Scegli il tipo di servizio.';
  const area = text('area') as ServiceArea;
  if (!SERVICE_AREAS.includes(area)) errors.area = 'Scegli l’area.';
  const summary = text('summary');
  if (summary.length < 10 || summary.length > 300) errors.summary = 'La sintesi deve avere fra 10 e 300 caratteri.';
  const description = text('description');
  if (description.length < 20 || description.length > 8000) errors.description = 'La descrizione deve avere fra 20 e 8.000 caratteri.';
  const included = lines(text('included'));
  if (included.length > 30 || included.some((l) => l.length > 300)) errors.included = 'Al massimo 30 voci, una per riga, di non più di 300 caratteri.';
  const billing = text('billing') as CatalogueService['billing'];
  if (!BILLING_KINDS.includes(billing)) errors.billing = 'Scegli come si paga il servizio.';
  else if (kind === 'base' && billing !== 'free') errors.billing = 'Un servizio di base è gratuito: scegli “Gratuito”.';
  else if (kind === 'specialistico' && billing === 'free') errors.billing = 'Un servizio specialistico è a listino: scegli una tantum, canone annuale o a unità.';
  const unitLabel = text('unitLabel');
  if (unitLabel.length > 60) errors.unitLabel = 'L’unità può avere al massimo 60 caratteri.';
  else if (billing === 'per_unit' && !unitLabel) errors.unitLabel = 'Per un servizio a unità indica che cosa è un’unità (es. “casella PEC”).';
  const includedUnits = intField(f.includedUnits);
  if (includedUnits === undefined || (includedUnits !== null && (includedUnits < 1 || includedUnits > 10000)))
    errors.includedUnits = 'Indica un numero intero da 1 a 10.000, o lascia vuoto se le richieste non si contano.';
  else if (includedUnits !== null && !unitLabel) errors.unitLabel = 'Indica l’unità delle unità comprese (es. “intervento”).';
  const tto = intField(f.slaTtoMinutes);
  if (tto === undefined || tto === null || tto < 15 || tto > 10080) errors.slaTtoMinutes = 'Indica un numero intero di minuti lavorativi fra 15 e 10.080.';
  const ttr = intField(f.slaTtrMinutes);
  if (ttr === undefined || ttr === null || ttr < 15 || ttr > 100800) errors.slaTtrMinutes = 'Indica un numero intero di minuti lavorativi fra 15 e 100.800.';
  else if (typeof tto === 'number' && ttr < tto) errors.slaTtrMinutes = 'La risoluzione non può essere più breve della presa in carico.';
  const requestKinds = lines(text('requestKinds'));
  if (requestKinds.length > 20 || requestKinds.some((l) => l.length > 120)) errors.requestKinds = 'Al massimo 20 tipi, uno per riga, di non più di 120 caratteri.';
  const periodMonths = intField(f.periodMonths);
  if (periodMonths === undefined || periodMonths === null || periodMonths < 1 || periodMonths > 60) errors.periodMonths = 'Indica una durata fra 1 e 60 mesi.';
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    value: {
      name, kind, area, summary, description,
      included: included.join('\n'),
      billing,
      unitLabel: unitLabel || null,
      includedUnits: includedUnits as number | null,
      requiresConvenzione: f.requiresConvenzione === 'on',
      requiresApproval: f.requiresApproval === 'on',
      slaTtoMinutes: tto as number,
      slaTtrMinutes: ttr as number,
      requestKinds: requestKinds.join('\n'),
      periodMonths: periodMonths as number,
      active: f.active === 'on',
    },
  };
}

function formOf(s: CatalogueService): Form {
  return {
    name: s.name, kind: s.kind, area: s.area, summary: s.summary, description: s.description, included: s.included,
    billing: s.billing, unitLabel: s.unitLabel ?? '', includedUnits: s.includedUnits === null ? '' : String(s.includedUnits),
    requiresConvenzione: s.requiresConvenzione ? 'on' : undefined, requiresApproval: s.requiresApproval ? 'on' : undefined,
    slaTtoMinutes: String(s.slaTtoMinutes), slaTtrMinutes: String(s.slaTtrMinutes), requestKinds: s.requestKinds,
    periodMonths: String(s.periodMonths), active: s.active ? 'on' : undefined,
  };
}

const options = <T extends string>(values: readonly T[], labels: Record<T, string>, selected: string | undefined) =>
  values.map((value) => ({ value, label: labels[value], selected: value === selected }));

function historyValue(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'boolean') return v ? 'sì' : 'no';
  return String(v);
}

// ------------------------------------------------------------------------------ REST schemas

const TAG = ['Catalogo SAEL'];
const bandSchema = { type: 'object', properties: { from: { type: 'integer' }, to: { type: ['integer', 'null'] }, amountCents: { type: 'integer' } } } as const;
const serviceOut = {
  type: 'object',
  properties: {
    code: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string', enum: [...SERVICE_KINDS] },
    area: { type: 'string', enum: [...SERVICE_AREAS] },
    summary: { type: 'string' },
    description: { type: 'string' },
    included: { type: 'array', items: { type: 'string' } },
    billing: { type: 'string', enum: [...BILLING_KINDS] },
    unitLabel: { type: ['string', 'null'] },
    includedUnits: { type: ['integer', 'null'] },
    requiresConvenzione: { type: 'boolean' },
    requiresApproval: { type: 'boolean' },
    sla: { type: 'object', properties: { ttoMinutes: { type: 'integer' }, ttrMinutes: { type: 'integer' } } },
    requestKinds: { type: 'array', items: { type: 'string' } },
    periodMonths: { type: 'integer' },
    active: { type: 'boolean' },
    url: { type: 'string' },
  },
} as const;
const tariffsOut = {
  type: ['object', 'null'],
  description: 'Il listino in vigore oggi per il servizio (null per i servizi gratuiti). isDemo: importi dimostrativi, non deliberati.',
  properties: {
    priceListName: { type: ['string', 'null'] },
    isDemo: { type: 'boolean' },
    validFrom: { type: ['string', 'null'] },
    validTo: { type: ['string', 'null'] },
    prices: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          classCode: { type: ['string', 'null'], description: 'null = prezzo per tutti gli enti (predefinito)' },
          classLabel: { type: 'string' },
          mode: { type: 'string', enum: ['fixed', 'per_unit', 'bands'] },
          amountCents: { type: ['integer', 'null'] },
          bands: { type: ['array', 'null'], items: bandSchema },
        },
      },
    },
  },
} as const;
const problem = { type: 'object', properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, instance: { type: 'string' } } } as const;
const codeParam = { type: 'object', properties: { code: { type: 'string', pattern: '^[0-9]{1,3}[A-Za-z]?$' } }, required: ['code'], additionalProperties: false } as const;

function apiService(s: CatalogueService, publicUrl: string) {
  return {
    code: s.code, name: s.name, kind: s.kind, area: s.area, summary: s.summary, description: s.description,
    included: lines(s.included), billing: s.billing, unitLabel: s.unitLabel, includedUnits: s.includedUnits,
    requiresConvenzione: s.requiresConvenzione, requiresApproval: s.requiresApproval,
    sla: { ttoMinutes: s.slaTtoMinutes, ttrMinutes: s.slaTtrMinutes }, requestKinds: lines(s.requestKinds),
    periodMonths: s.periodMonths, active: s.active, url: `${publicUrl.replace(/\/$/, '')}/servizi/${encodeURIComponent(s.code)}`,
  };
}

// ------------------------------------------------------------------------------ routes

export default async function servicesRoutes(app: FastifyInstance): Promise<void> {
  const adminOnly = requireRole('sael_admin');
  const today = () => todayInItaly(app.catalogue.now());

  // ---------------------------------------------------------------- public list
  app.get<{ Querystring: { area?: string; tipo?: string } }>(
    '/servizi',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { area: { type: 'string', enum: ['', ...Object.values(AREA_SLUGS)] }, tipo: { type: 'string', enum: ['', 'base', 'specialistico'] } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const areaSlug = request.query.area ?? '';
      const kindSlug = request.query.tipo ?? '';
      const area = areaSlug ? SLUG_AREAS[areaSlug] : undefined;
      const kind = (kindSlug || undefined) as ServiceKind | undefined;
      const services = await listServices(app.db, { area, kind, activeOnly: true });
      const groups = SERVICE_AREAS.map((a) => ({
        area: a,
        label: AREA_LABELS[a],
        id: `area-${AREA_SLUGS[a]}`,
        services: services.filter((s) => s.area === a).map(serviceView),
      })).filter((g) => g.services.length > 0);
      cacheAnonymous(request, reply);
      return reply.page('catalogue/services-list', {
        title: 'Servizi del S.A.E.L.',
        groups,
        total: services.length,
        filtered: Boolean(area || kind),
        areaOptions: SERVICE_AREAS.map((a) => ({ value: AREA_SLUGS[a], label: AREA_LABELS[a], selected: AREA_SLUGS[a] === areaSlug })),
        kindOptions: SERVICE_KINDS.map((k) => ({ value: KIND_SLUGS[k], label: KIND_LABELS[k], selected: k === kind })),
      });
    },
  );

  // ---------------------------------------------------------------- public scheda
  app.get<{ Params: { code: string } }>('/servizi/:code', { schema: { params: codeParam } }, async (request, reply) => {
    const service = await getServiceByCode(app.db, request.params.code.toUpperCase());
    if (!service || !service.active) throw new HttpError(404, 'Servizio non trovato nel catalogo del S.A.E.L.');
    const on = today();
    const tariffs = await currentTariffs(app, service, on);
    const enteIds = enteIdsOf(request);
    const classes = await listEnteClasses(app.db);
    const yourPrices: unknown[] = [];
    for (const enteId of enteIds) {
      const ente = await getEnte(app.db, enteId);
      if (!ente) continue;
      const snapshot: PriceSnapshot | null = service.billing === 'free' ? null : await resolvePriceFor(app.db, { enteId, serviceId: service.id, on, quantity: 1 });
      const cls = snapshot?.enteClassCode ? classes.find((c) => c.code === snapshot.enteClassCode) : null;
      yourPrices.push({
        enteName: ente.name,
        population: ente.population === null ? null : ente.population.toLocaleString('it-IT', { useGrouping: true }),
        classLabel: cls ? `Classe ${cls.code} – ${cls.label}` : null,
        isFree: service.billing === 'free',
        text: snapshot ? priceText(service, snapshot) : null,
        sourceLabel: snapshot ? { ente_override: 'prezzo concordato per il tuo ente', class: 'prezzo della classe del tuo ente', default: 'prezzo per tutti gli enti' }[snapshot.source] : null,
        priceListName: snapshot?.priceListName ?? null,
        isDemo: snapshot?.isDemo ?? false,
        canJoin: request.user!.grants.some((g) => g.role === 'ente_admin' && g.enteId === enteId),
      });
    }
    const sael = (await listEnti(app.db, { kind: 'provincia' }))[0] ?? null;
    cacheAnonymous(request, reply);
    return reply.page('catalogue/services-detail', {
      title: `${service.name} – Servizi del S.A.E.L.`,
      s: serviceView(service),
      tariffs,
      yourPrices,
      isEnteUser: enteIds.length > 0,
      isReferente: request.user?.grants.some((g) => g.role === 'ente_admin') ?? false,
      sael,
      saelPhoneHref: sael?.phone ? sael.phone.replace(/[^\d+]/g, '') : null,
      signedIn: Boolean(request.user),
    });
  });

  // ---------------------------------------------------------------- admin
  app.get('/admin/catalogo/servizi', { preHandler: adminOnly }, async (request, reply) => {
    const services = (await listServices(app.db)).map(serviceView);
    const notice = takeFlash(request);
    return reply.page('catalogue/services-admin-list', { title: 'Catalogo SAEL – servizi', services, notice });
  });

  const renderEdit = async (reply: FastifyReply, service: CatalogueService, form: Form, errors: Record<string, string>, notice?: string) => {
    const entries = await serviceHistory(app.db, service.id);
    const userIds = [...new Set(entries.map((h) => /^user:(\d+)$/.exec(h.actor)?.[1]).filter((x): x is string => Boolean(x)).map(Number))];
    const names = new Map(
      (userIds.length ? await app.db.select({ id: users.id, name: users.name, familyName: users.familyName, fiscalCode: users.fiscalCode }).from(users).where(inArray(users.id, userIds)) : []).map((u) => [
        `user:${u.id}`,
        [u.name, u.familyName].filter(Boolean).join(' ') || u.fiscalCode,
      ]),
    );
    const history = entries.map((h) => ({
      ...h,
      actor: names.get(h.actor) ?? h.actor,
      changes: h.changes.map((c) => ({ label: FIELD_LABELS[c.field] ?? c.field, before: historyValue(c.before), after: historyValue(c.after) })),
    }));
    return reply.page('catalogue/services-admin-edit', {
      title: `Modifica servizio ${service.code}`,
      s: service,
      form,
      errors,
      errorList: Object.values(errors),
      notice,
      history,
      kindOptions: options(SERVICE_KINDS, KIND_LABELS, form.kind),
      areaOptions: options(SERVICE_AREAS, AREA_LABELS, form.area),
      billingOptions: options(BILLING_KINDS, BILLING_LABELS, form.billing),
      action: `/admin/catalogo/servizi/${encodeURIComponent(service.code)}`,
    });
  };

  const loadForAdmin = async (code: string) => {
    const service = await getServiceByCode(app.db, code.toUpperCase());
    if (!service) throw new HttpError(404, 'Servizio non trovato nel catalogo.');
    return service;
  };

  app.get<{ Params: { code: string } }>('/admin/catalogo/servizi/:code', { preHandler: adminOnly, schema: { params: codeParam } }, async (request, reply) => {
    const service = await loadForAdmin(request.params.code);
    return renderEdit(reply, service, formOf(service), {}, takeFlash(request));
  });

  const bodySchema = {
    type: 'object',
    properties: Object.fromEntries([['_csrf', { type: 'string', maxLength: 200 }], ...SERVICE_FIELDS.map((f) => [f, { type: 'string', maxLength: 10000 }])]),
    additionalProperties: false,
  };
  app.post<{ Params: { code: string }; Body: Form }>(
    '/admin/catalogo/servizi/:code',
    { preHandler: adminOnly, schema: { params: codeParam, body: bodySchema } },
    async (request, reply) => {
      const service = await loadForAdmin(request.params.code);
      const result = validateServiceForm(request.body);
      if (!result.ok) return renderEdit(reply.code(400), service, request.body, result.errors);
      await updateService(app.db, service.id, result.value, auditContext(request));
      setFlash(request, `Servizio ${service.code} salvato.`);
      return reply.redirect(`/admin/catalogo/servizi/${encodeURIComponent(service.code)}`, 303);
    },
  );

  // ---------------------------------------------------------------- public REST
  await app.register(async (api) => {
    withoutSessions(api);
    api.get<{ Querystring: { area?: ServiceArea; kind?: ServiceKind } }>(
      '/api/v1/catalogo/servizi',
      {
        schema: {
          tags: TAG,
          summary: 'Elenca i servizi del catalogo S.A.E.L. (pubblico)',
          querystring: {
            type: 'object',
            properties: { area: { type: 'string', enum: [...SERVICE_AREAS] }, kind: { type: 'string', enum: [...SERVICE_KINDS] } },
            additionalProperties: false,
          },
          response: { 200: { type: 'object', properties: { total: { type: 'integer' }, items: { type: 'array', items: serviceOut } } }, 400: problem },
        },
      },
      async (request, reply) => {
        const items = await listServices(app.db, { area: request.query.area, kind: request.query.kind, activeOnly: true });
        reply.header('cache-control', 'public, max-age=60');
        return { total: items.length, items: items.map((s) => apiService(s, app.config.publicUrl)) };
      },
    );
    api.get<{ Params: { code: string } }>(
      '/api/v1/catalogo/servizi/:code',
      {
        schema: {
          tags: TAG,
          summary: 'Scheda di un servizio del catalogo, con il listino in vigore (pubblico)',
          params: codeParam,
          response: { 200: { type: 'object', properties: { ...serviceOut.properties, tariffs: tariffsOut } }, 400: problem, 404: problem },
        },
      },
      async (request, reply) => {
        const service = await getServiceByCode(app.db, request.params.code.toUpperCase());
        if (!service || !service.active) throw new HttpError(404, 'Servizio non trovato nel catalogo del S.A.E.L.');
        const t = await currentTariffs(app, service, today());
        reply.header('cache-control', 'public, max-age=60');
        return {
          ...apiService(service, app.config.publicUrl),
          tariffs: t && {
            priceListName: t.priceListName,
            isDemo: t.isDemo,
            validFrom: t.validFrom,
            validTo: t.validTo,
            prices: t.rows.map((r) => ({ classCode: r.classCode, classLabel: r.classLabel, mode: r.mode, amountCents: r.amountCents, bands: r.bands })),
          },
        };
      },
    );
  });
}
