/**
 * Adesioni pages.
 * - `/servizi/:code/adesione`: the referente's modulo (GET form, POST saves a draft or sends it).
 * - `/backoffice/enti/:enteId/adesioni[/:id]`: the ente's list, detail with timeline and its
 *   actions (send, recesso), `/modulo.pdf`. Operators of the ente read; the referente acts.
 *   Another ente's adesione is "not found" (404).
 * - `/admin/catalogo/adesioni[/:id]`: the SAEL office's list (filters, paging) and review
 *   (take in review, approve, reject, request changes, activate, suspend, resume, recesso).
 */
import { enteReaderGuard, enteParams, enteIdParams } from './ente-guard.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { asc, eq } from 'drizzle-orm';
import { hasRole, requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { listQueryErrorFormatter, pageParam, pageWithin } from '../backoffice/shared.js';
import { getEnte, listEnti } from '../enti/repository.js';
import { enti } from '../enti/schema.js';
import { todayInItaly } from '../positions/service.js';
import {
  ADESIONE_ACTION_LABELS,
  ADESIONE_EVENT_LABELS,
  ADESIONE_STATUS_BADGES,
  ADESIONE_STATUS_LABELS,
  availableActions,
  EDITABLE_STATUSES,
  type AdesioneAction,
  type AdesioneActorKind,
} from './adesione-states.js';
import { renderModuloPdf } from './adesione-modulo-pdf.js';
import {
  getAdesione,
  getAdesioneOfEnte,
  listAdesioneEvents,
  listAdesioni,
  listAdesioniOfEnte,
  openAdesioneFor,
  parseRequestData,
  type AdesioneRequestData,
  type AdesioneView,
} from './adesioni-repository.js';
import { saveModulo, transitionAdesione, type AdesioneActor } from './adesioni-service.js';
import { actorOf } from './convenzioni-routes.js';
import { isIsoDate } from './convenzioni-repository.js';
import { ADESIONE_STATUSES, catalogueServices, type AdesioneStatus } from './schema.js';

const PAGE_SIZE = 25;
const USER_ACTIONS = ['submit', 'review', 'approve', 'reject', 'request_changes', 'activate', 'suspend', 'resume', 'withdraw'] as const;
const codeParams = { type: 'object', properties: { code: { type: 'string', minLength: 1, maxLength: 20 } }, required: ['code'] } as const;
const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;
const actionBody = {
  type: 'object',
  required: ['action'],
  properties: {
    _csrf: { type: 'string' },
    action: { type: 'string', enum: [...USER_ACTIONS] },
    version: { type: 'string', pattern: '^[0-9]{1,9}$' },
    note: { type: 'string', maxLength: 2000 },
    effectiveDate: { type: 'string', maxLength: 10 },
  },
} as const;
interface ActionBody {
  action: (typeof USER_ACTIONS)[number];
  version?: string;
  note?: string;
  effectiveDate?: string;
}

/** The ente ids the user is referente (ente_admin grant) of. */
function referenteEnti(request: FastifyRequest): number[] {
  return (request.user?.grants ?? []).flatMap((g) => (g.role === 'ente_admin' && g.enteId !== null ? [g.enteId] : []));
}

interface Snapshot {
  priceListName: string | null;
  isDemo: boolean;
  source: string;
  mode: string;
  amountCents: number | null;
  quantity: number;
  totalCents: number;
  resolvedOn: string;
}

const SOURCE_LABELS: Record<string, string> = { ente_override: 'prezzo riservato all’ente', class: 'prezzo della classe dell’ente', default: 'prezzo base' };
const BILLING_LABELS: Record<string, string> = { free: 'Gratuito', one_off: 'Una tantum', annual: 'Annuale', per_unit: 'A consumo' };

function view(a: AdesioneView) {
  let snapshot: (Snapshot & { sourceLabel: string }) | null = null;
  if (a.priceSnapshot) {
    try {
      const s = JSON.parse(a.priceSnapshot) as Snapshot;
      snapshot = { ...s, sourceLabel: SOURCE_LABELS[s.source] ?? s.source };
    } catch {
      snapshot = null;
    }
  }
  return {
    ...a,
    statusLabel: ADESIONE_STATUS_LABELS[a.status],
    statusBadge: ADESIONE_STATUS_BADGES[a.status],
    billingLabel: BILLING_LABELS[a.billing] ?? a.billing,
    request: parseRequestData(a.requestData),
    snapshot,
  };
}

async function timeline(app: FastifyInstance, id: number) {
  return (await listAdesioneEvents(app.db, id)).map((e) => ({
    ...e,
    label: ADESIONE_EVENT_LABELS[e.action] ?? e.action,
    toLabel: ADESIONE_STATUS_LABELS[e.toStatus as AdesioneStatus] ?? e.toStatus,
    who: e.actorKind === 'system' ? 'Procedura automatica' : (e.actorName ?? 'Utente'),
  }));
}

function actionButtons(a: AdesioneView, kind: AdesioneActorKind) {
  return availableActions(a.status, kind)
    .filter((x) => !(kind === 'referente' && x === 'submit')) // the referente sends from the modulo
    .map((x) => ({ value: x, label: ADESIONE_ACTION_LABELS[x], needsNote: x === 'reject' || x === 'request_changes', isWithdraw: x === 'withdraw', danger: x === 'reject' || x === 'suspend' || x === 'withdraw' }));
}

export default async function adesioniRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.catalogue;
  const saelAdmin = requireRole('sael_admin');
  const saelReader = requireRole(['sael_admin', 'helpdesk']);
  const enteReader = enteReaderGuard(app.db);

  const serviceByCode = async (code: string) => (await ctx.db.select().from(catalogueServices).where(eq(catalogueServices.code, code.toUpperCase())).limit(1))[0];

  // ------------------------------------------------------------ the modulo
  interface FormValues extends AdesioneRequestData {
    quantity: string;
    startDate: string;
    autoRenew: boolean;
  }

  async function modulo(request: FastifyRequest, reply: FastifyReply, code: string, enteChoice: number | undefined, posted?: { values: FormValues; errors: Record<string, string> }) {
    if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per continuare.');
    const service = await serviceByCode(code);
    if (!service || !service.active) throw new HttpError(404, 'Servizio non trovato.');
    const mine = referenteEnti(request);
    if (mine.length === 0) throw new HttpError(403, 'Solo il referente dell’ente (amministratore dell’ente sulla piattaforma) può richiedere un’adesione.');
    const enteId = enteChoice && mine.includes(enteChoice) ? enteChoice : mine[0]!;
    if (enteChoice && !mine.includes(enteChoice)) throw new HttpError(403, 'Non sei referente di questo ente.');
    const ente = (await getEnte(app.db, enteId))!;
    const open = await openAdesioneFor(app.db, enteId, service.id);
    const editing = open && EDITABLE_STATUSES.includes(open.status) ? open : null;
    const blocking = open && !editing ? open : null;
    const u = request.user;
    const saved = editing ? parseRequestData(editing.requestData) : null;
    const values: FormValues = posted?.values ?? {
      referenteName: saved?.referenteName || [u.name, u.familyName].filter(Boolean).join(' '),
      referenteRole: saved?.referenteRole ?? '',
      email: saved?.email || u.email || '',
      phone: saved?.phone ?? '',
      notes: saved?.notes ?? '',
      quantity: String(editing?.quantity ?? 1),
      startDate: editing?.startDate ?? todayInItaly(ctx.now()),
      autoRenew: editing?.autoRenew ?? service.billing === 'annual',
    };
    const errors = posted?.errors ?? {};
    return reply.page('catalogue/adesioni-form', {
      title: `Richiesta di adesione – ${service.name}`,
      service: { ...service, billingLabel: BILLING_LABELS[service.billing] },
      ente,
      enti: mine.length > 1 ? await Promise.all(mine.map(async (id) => ({ id, name: (await getEnte(app.db, id))?.name ?? `Ente ${id}`, selected: id === enteId }))) : null,
      editing: editing ? { ...editing, statusLabel: ADESIONE_STATUS_LABELS[editing.status] } : null,
      blocking: blocking ? { ...blocking, statusLabel: ADESIONE_STATUS_LABELS[blocking.status] } : null,
      values,
      errors,
      errorList: Object.values(errors),
      quantityLabel: service.unitLabel ? `Quantità (${service.unitLabel})` : 'Quantità',
      needsConvenzione: service.billing !== 'free' || service.requiresConvenzione,
    });
  }

  app.get<{ Params: { code: string }; Querystring: { ente?: number } }>(
    '/servizi/:code/adesione',
    { schema: { params: codeParams, querystring: { type: 'object', properties: { ente: { type: 'integer', minimum: 1 } } } } },
    async (request, reply) => {
      // Not signed in: to the login page, back here afterwards.
      if (!request.user) return reply.redirect(`/accesso?next=${encodeURIComponent(request.url)}`, 303);
      return modulo(request, reply, request.params.code, request.query.ente);
    },
  );

  interface ModuloBody {
    enteId: string;
    adesioneId?: string;
    version?: string;
    referenteName: string;
    referenteRole: string;
    email: string;
    phone?: string;
    quantity: string;
    startDate: string;
    autoRenew?: string;
    notes?: string;
    intent: 'save' | 'submit';
  }
  app.post<{ Params: { code: string }; Body: ModuloBody }>(
    '/servizi/:code/adesione',
    {
      schema: {
        params: codeParams,
        body: {
          type: 'object',
          required: ['enteId', 'referenteName', 'referenteRole', 'email', 'quantity', 'startDate', 'intent'],
          properties: {
            _csrf: { type: 'string' },
            enteId: { type: 'string', pattern: '^[0-9]{1,9}$' },
            adesioneId: { type: 'string', pattern: '^[0-9]{0,9}$' },
            version: { type: 'string', pattern: '^[0-9]{0,9}$' },
            referenteName: { type: 'string', maxLength: 120 },
            referenteRole: { type: 'string', maxLength: 120 },
            email: { type: 'string', maxLength: 200 },
            phone: { type: 'string', maxLength: 40 },
            quantity: { type: 'string', maxLength: 6 },
            startDate: { type: 'string', maxLength: 10 },
            autoRenew: { type: 'string', maxLength: 5 },
            notes: { type: 'string', maxLength: 4000 },
            intent: { type: 'string', enum: ['save', 'submit'] },
          },
        },
      },
    },
    async (request, reply) => {
      if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per continuare.');
      const b = request.body;
      const enteId = Number(b.enteId);
      if (!referenteEnti(request).includes(enteId)) throw new HttpError(403, 'Solo il referente dell’ente può richiedere un’adesione per questo ente.');
      const service = await serviceByCode(request.params.code);
      if (!service || !service.active) throw new HttpError(404, 'Servizio non trovato.');
      const values: FormValues = {
        referenteName: b.referenteName.trim(),
        referenteRole: b.referenteRole.trim(),
        email: b.email.trim(),
        phone: (b.phone ?? '').trim(),
        notes: (b.notes ?? '').trim(),
        quantity: b.quantity.trim(),
        startDate: b.startDate.trim(),
        autoRenew: b.autoRenew === 'on' || b.autoRenew === 'true',
      };
      const errors: Record<string, string> = {};
      if (values.referenteName.length < 3) errors.referenteName = 'Indica nome e cognome del referente.';
      if (!values.referenteRole) errors.referenteRole = 'Indica il ruolo del referente nell’ente.';
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.email)) errors.email = 'Indica un indirizzo e-mail valido (nome@dominio.it).';
      if (values.phone && !/^\+?[0-9 ./-]{6,20}$/.test(values.phone)) errors.phone = 'Indica un numero di telefono valido (solo cifre, spazi, + . / -).';
      if (!/^[1-9][0-9]{0,4}$/.test(values.quantity)) errors.quantity = 'Indica una quantità intera da 1 a 99999.';
      const today = todayInItaly(ctx.now());
      if (!isIsoDate(values.startDate)) errors.startDate = 'Indica la data di decorrenza desiderata.';
      else if (values.startDate < today) errors.startDate = 'La decorrenza non può essere nel passato.';
      if (Object.keys(errors).length > 0) return modulo(request, reply.code(400), request.params.code, enteId, { values, errors });
      const id = await saveModulo(
        ctx,
        {
          enteId,
          serviceId: service.id,
          quantity: Number(values.quantity),
          startDate: values.startDate,
          autoRenew: values.autoRenew,
          data: { referenteName: values.referenteName, referenteRole: values.referenteRole, email: values.email, phone: values.phone, notes: values.notes },
          adesioneId: b.adesioneId ? Number(b.adesioneId) : undefined,
          version: b.version ? Number(b.version) : undefined,
        },
        { ...actorOf(request), kind: 'referente' },
        b.intent === 'submit',
      );
      const a = await getAdesione(app.db, id);
      setFlash(
        request,
        b.intent === 'submit'
          ? a?.status === 'active' || a?.status === 'approved'
            ? `Adesione n. ${id} inviata e attivata${a.status === 'approved' ? ` dal ${a.startDate}` : ''}: il servizio è gratuito e non richiede approvazione.`
            : `Richiesta di adesione n. ${id} inviata all’ufficio SAEL (protocollo ${a?.protocolNumber}). Riceverai una e-mail a ogni passaggio.`
          : `Bozza n. ${id} salvata: inviala quando è completa.`,
      );
      return reply.redirect(`/backoffice/enti/${enteId}/adesioni/${id}`, 303);
    },
  );

  // ------------------------------------------------------------ the ente's pages
  app.get<{ Params: { enteId: number } }>('/backoffice/enti/:enteId/adesioni', { preHandler: enteReader, schema: { params: enteParams } }, async (request, reply) => {
    const ente = (await getEnte(app.db, request.params.enteId))!;
    const rows = (await listAdesioniOfEnte(app.db, ente.id)).map(view);
    return reply.page('catalogue/adesioni-ente-list', {
      title: `Adesioni – ${ente.name}`,
      ente,
      rows,
      isReferente: referenteEnti(request).includes(ente.id),
      notice: takeFlash(request),
    });
  });

  /** Who the caller is for this ente's adesione: the referente, the SAEL office, or nobody (403). */
  function enteActor(request: FastifyRequest, enteId: number): AdesioneActor {
    if (referenteEnti(request).includes(enteId)) return { ...actorOf(request), kind: 'referente' };
    if (hasRole(request.user, 'sael_admin')) return { ...actorOf(request), kind: 'sael' };
    throw new HttpError(403, 'Solo il referente dell’ente può inviare la richiesta o registrare il recesso.');
  }

  app.get<{ Params: { enteId: number; id: number } }>('/backoffice/enti/:enteId/adesioni/:id', { preHandler: enteReader, schema: { params: enteIdParams } }, async (request, reply) => {
    const ente = (await getEnte(app.db, request.params.enteId))!;
    const a = await getAdesioneOfEnte(app.db, ente.id, request.params.id);
    if (!a) throw new HttpError(404, 'Adesione non trovata.');
    const isReferente = referenteEnti(request).includes(ente.id);
    return reply.page('catalogue/adesioni-detail', {
      title: `Adesione n. ${a.id} – ${a.serviceName}`,
      a: view(a),
      ente,
      enteView: true,
      events: await timeline(app, a.id),
      actions: isReferente ? actionButtons(a, 'referente') : [],
      canSubmit: isReferente && EDITABLE_STATUSES.includes(a.status),
      actionUrl: `/backoffice/enti/${ente.id}/adesioni/${a.id}/azioni`,
      moduloUrl: `/backoffice/enti/${ente.id}/adesioni/${a.id}/modulo.pdf`,
      today: todayInItaly(ctx.now()),
      notice: takeFlash(request),
    });
  });

  app.post<{ Params: { enteId: number; id: number }; Body: ActionBody }>(
    '/backoffice/enti/:enteId/adesioni/:id/azioni',
    { preHandler: enteReader, schema: { params: enteIdParams, body: actionBody } },
    async (request, reply) => {
      const { enteId, id } = request.params;
      const a = await getAdesioneOfEnte(app.db, enteId, id);
      if (!a) throw new HttpError(404, 'Adesione non trovata.');
      const by = enteActor(request, enteId);
      await act(request, a, by);
      return reply.redirect(`/backoffice/enti/${enteId}/adesioni/${id}`, 303);
    },
  );

  async function act(request: FastifyRequest<{ Body: ActionBody }>, a: AdesioneView, by: AdesioneActor) {
    const b = request.body;
    const action = b.action as AdesioneAction;
    if (b.effectiveDate && !isIsoDate(b.effectiveDate)) throw new HttpError(400, 'Indica una data valida per il recesso.');
    const to = await transitionAdesione(ctx, a.id, action, by, { version: b.version ? Number(b.version) : undefined, note: b.note, effectiveDate: b.effectiveDate || undefined });
    setFlash(request, `Adesione n. ${a.id}: ${ADESIONE_EVENT_LABELS[action] ?? action}. Stato attuale: «${ADESIONE_STATUS_LABELS[(await getAdesione(app.db, a.id))?.status ?? to]}».`);
  }

  app.get<{ Params: { enteId: number; id: number } }>('/backoffice/enti/:enteId/adesioni/:id/modulo.pdf', { preHandler: enteReader, schema: { params: enteIdParams } }, async (request, reply) => {
    const a = await getAdesioneOfEnte(app.db, request.params.enteId, request.params.id);
    if (!a) throw new HttpError(404, 'Adesione non trovata.');
    return sendModulo(reply, a);
  });

  async function sendModulo(reply: FastifyReply, a: AdesioneView) {
    const r = parseRequestData(a.requestData);
    const submittedAt = (await listAdesioneEvents(app.db, a.id)).filter((e) => e.action === 'submit').pop()?.at ?? null;
    const pdf = await renderModuloPdf({
      provinceName: app.config.provinceName,
      adesioneId: a.id,
      protocolNumber: a.protocolNumber,
      statusLabel: ADESIONE_STATUS_LABELS[a.status],
      enteName: a.enteName,
      enteFiscalCode: a.enteFiscalCode,
      serviceCode: a.serviceCode,
      serviceName: a.serviceName,
      referenteName: r.referenteName,
      referenteRole: r.referenteRole,
      email: r.email,
      phone: r.phone,
      quantity: a.quantity,
      unitLabel: a.unitLabel,
      startDate: a.startDate,
      endDate: a.endDate,
      autoRenew: a.autoRenew,
      notes: r.notes,
      submittedAt,
      generatedAt: ctx.now().toISOString(),
    });
    return reply.type('application/pdf').header('content-disposition', `inline; filename="modulo-adesione-${a.id}.pdf"`).send(pdf);
  }

  // ------------------------------------------------------------ the SAEL office
  interface ListQuery {
    stato?: AdesioneStatus | '';
    servizio?: number;
    ente?: number;
    pagina: number;
  }
  app.get<{ Querystring: ListQuery }>(
    '/admin/catalogo/adesioni',
    {
      preHandler: saelReader,
      schemaErrorFormatter: listQueryErrorFormatter,
      schema: {
        querystring: {
          type: 'object',
          properties: { stato: { type: 'string', enum: ['', ...ADESIONE_STATUSES] }, servizio: { type: 'integer', minimum: 1 }, ente: { type: 'integer', minimum: 1 }, pagina: pageParam },
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const filter = { status: q.stato || undefined, serviceId: q.servizio, enteId: q.ente };
      let result = await listAdesioni(app.db, filter, q.pagina, PAGE_SIZE);
      const paging = pageWithin(q.pagina, result.total, PAGE_SIZE);
      if (paging.pastTheEnd) result = await listAdesioni(app.db, filter, paging.page, PAGE_SIZE);
      const qs = (page: number) => {
        const p = new URLSearchParams();
        if (q.stato) p.set('stato', q.stato);
        if (q.servizio) p.set('servizio', String(q.servizio));
        if (q.ente) p.set('ente', String(q.ente));
        p.set('pagina', String(page));
        return `/admin/catalogo/adesioni?${p}`;
      };
      const services = await ctx.db.select({ id: catalogueServices.id, code: catalogueServices.code, name: catalogueServices.name }).from(catalogueServices).orderBy(asc(catalogueServices.sortOrder), asc(catalogueServices.id));
      return reply.page('catalogue/adesioni-admin-list', {
        title: 'Adesioni',
        rows: result.rows.map(view),
        total: result.total,
        page: paging.page,
        pages: paging.pages,
        prevUrl: paging.page > 1 ? qs(paging.page - 1) : null,
        nextUrl: paging.page < paging.pages ? qs(paging.page + 1) : null,
        statuses: ADESIONE_STATUSES.map((s) => ({ value: s, label: ADESIONE_STATUS_LABELS[s], selected: s === q.stato })),
        services: services.map((s) => ({ ...s, selected: s.id === q.servizio })),
        enti: (await listEnti(app.db, { kind: 'comune' })).map((e) => ({ id: e.id, name: e.name, selected: e.id === q.ente })),
        notice: takeFlash(request),
      });
    },
  );

  app.get<{ Params: { id: number } }>('/admin/catalogo/adesioni/:id', { preHandler: saelReader, schema: { params: idParams } }, async (request, reply) => {
    const a = await getAdesione(app.db, request.params.id);
    if (!a) throw new HttpError(404, 'Adesione non trovata.');
    const ente = (await app.db.select().from(enti).where(eq(enti.id, a.enteId)).limit(1))[0]!;
    const isAdmin = hasRole(request.user, 'sael_admin');
    return reply.page('catalogue/adesioni-detail', {
      title: `Adesione n. ${a.id} – ${a.serviceName}`,
      a: view(a),
      ente,
      enteView: false,
      events: await timeline(app, a.id),
      actions: isAdmin ? actionButtons(a, 'sael') : [],
      actionUrl: `/admin/catalogo/adesioni/${a.id}/azioni`,
      moduloUrl: `/admin/catalogo/adesioni/${a.id}/modulo.pdf`,
      today: todayInItaly(ctx.now()),
      notice: takeFlash(request),
    });
  });

  app.get<{ Params: { id: number } }>('/admin/catalogo/adesioni/:id/modulo.pdf', { preHandler: saelReader, schema: { params: idParams } }, async (request, reply) => {
    const a = await getAdesione(app.db, request.params.id);
    if (!a) throw new HttpError(404, 'Adesione non trovata.');
    return sendModulo(reply, a);
  });

  app.post<{ Params: { id: number }; Body: ActionBody }>(
    '/admin/catalogo/adesioni/:id/azioni',
    { preHandler: saelAdmin, schema: { params: idParams, body: actionBody } },
    async (request, reply) => {
      const a = await getAdesione(app.db, request.params.id);
      if (!a) throw new HttpError(404, 'Adesione non trovata.');
      await act(request, a, { ...actorOf(request), kind: 'sael' });
      return reply.redirect(`/admin/catalogo/adesioni/${a.id}`, 303);
    },
  );
}
