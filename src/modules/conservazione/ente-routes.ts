/**
 * The ente's conservazione pages (issue #16 items 8 and 12), under `/backoffice/enti/:enteId/conservazione`:
 * - `` overview: counts, the document search (GET form, works without JavaScript), results with
 *   paging, the latest PdA and PdV, link to the upload page (`…/versamento`, ingest-routes.ts);
 * - `/pdv` (list, filter accepted / rejected) and `/pdv/:id` (esito per check, files, RdV) with
 *   `/pdv/:id/rdv.xml`;
 * - `/pda` (list) and `/pda/:id` (documents and their metadata, version chain) with
 *   `/pda/:id/indice.xml`, `indice.xml.p7s`, `indice.tsr` and `pdd.zip` (the PdD, dip.ts; one
 *   document with `?documento=<PdV id>`).
 * Readers: operators and referenti (ente_admin) of THAT ente, the helpdesk and the SAEL admin for
 * every ente. Anybody else — and any id of another ente's object — gets 404, so an ente cannot
 * even learn that another's PdV or PdA exists. Every detail page view and download is an 'access'
 * event of the conservazione log (the PdD an 'export' event with its cons_dips row).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasRole } from '../../plugins/auth.js';
import { auditContext } from '../../plugins/audit/index.js';
import { HttpError } from '../../plugins/errors.js';
import { getEnte } from '../enti/repository.js';
import { CHECK_KINDS } from './checks/esito.js';
import { createDip, DipError, logAccess } from './dip.js';
import {
  aipDocuments,
  aipVersionChain,
  enteCounts,
  getAip,
  getRdv,
  getSipDetail,
  listAips,
  listSips,
  profileOptions,
  searchDocuments,
  type DocumentFilter,
} from './search.js';
import { SIP_STATUSES, type SipStatus } from './schema.js';
import { enteParams, enteIdParams } from '../catalogue/ente-guard.js';

const BASE = '/backoffice/enti/:enteId/conservazione';

const optDate = { type: 'string', pattern: '^(\\d{4}-\\d{2}-\\d{2})?$' } as const;
const pageField = { type: 'integer', minimum: 1, maximum: 100000 } as const;

const searchQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    profilo: { type: 'string', maxLength: 60 },
    dal: optDate,
    al: optDate,
    iuv: { type: 'string', maxLength: 35 },
    oggetto: { type: 'string', maxLength: 200 },
    urn: { type: 'string', maxLength: 200 },
    pagina: pageField,
  },
} as const;

interface SearchQuery {
  profilo?: string;
  dal?: string;
  al?: string;
  iuv?: string;
  oggetto?: string;
  urn?: string;
  pagina?: number;
}

export const SOURCE_LABELS: Record<string, string> = { api: 'API', upload: 'Caricamento dal back office', auto: 'Automatico (piattaforma)' };
export const CHECK_LABELS: Record<string, string> = {
  hash: 'Impronta (SHA-256)',
  format: 'Formato',
  metadata: 'Metadati',
  signature: 'Firma digitale',
  profile: 'Profilo',
  size: 'Dimensione',
};
const OUTCOME_BADGES: Record<string, string> = { POSITIVO: 'bg-success', NEGATIVO: 'bg-danger', WARNING: 'bg-warning text-dark', DISABILITATO: 'bg-secondary' };
const OUTCOME_LABELS: Record<string, string> = { POSITIVO: 'Positivo', NEGATIVO: 'Negativo', WARNING: 'Avviso', DISABILITATO: 'Non eseguito' };
const AIP_STATUS_LABELS: Record<string, string> = { active: 'Attivo', superseded: 'Sostituito da una nuova versione', discarded: 'Scartato' };
const AIP_STATUS_BADGES: Record<string, string> = { active: 'bg-success', superseded: 'bg-secondary', discarded: 'bg-dark' };
const SIP_STATUS_LABELS: Record<SipStatus, string> = { accepted: 'Accettato', rejected: 'Rifiutato' };

/** Metadata JSON as name/value rows for a definition list (arrays and objects made readable). */
export function metadataRows(json: string): { name: string; value: string }[] {
  let md: unknown;
  try {
    md = JSON.parse(json);
  } catch {
    return [{ name: 'Metadati', value: json }];
  }
  if (!md || typeof md !== 'object' || Array.isArray(md)) return [];
  const show = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'boolean') return v ? 'sì' : 'no';
    if (Array.isArray(v)) return v.map(show).join('; ');
    if (typeof v === 'object')
      return Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined && x !== null && x !== '')
        .map(([k, x]) => `${k}: ${show(x)}`)
        .join(', ');
    return String(v);
  };
  return Object.entries(md as Record<string, unknown>).map(([name, value]) => ({ name, value: show(value) }));
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} byte`;
  if (n < 1024 * 1024) return `${(n / 1024).toLocaleString('it-IT', { maximumFractionDigits: 1 })} KB`;
  return `${(n / 1024 / 1024).toLocaleString('it-IT', { maximumFractionDigits: 1 })} MB`;
}

/** A page link keeping the other query values. */
function pageUrl(path: string, query: Record<string, string | number | undefined>, page: number): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '' && k !== 'pagina') q.set(k, String(v));
  if (page > 1) q.set('pagina', String(page));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export default async function enteRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.conservazione;

  /** Operators / referenti of the ente, helpdesk, SAEL admin; anybody else 404 (not 403: no hint that the ente or object exists). */
  const reader = async (request: FastifyRequest) => {
    const user = request.user;
    if (!user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per continuare.');
    const enteId = (request.params as { enteId: number }).enteId;
    const allowed = hasRole(user, 'operator', enteId) || hasRole(user, 'helpdesk') || hasRole(user, 'sael_admin');
    if (!allowed || !await getEnte(app.db, enteId)) throw new HttpError(404, 'Pagina non trovata.');
  };
  const actorOf = (request: FastifyRequest) => auditContext(request).actor;
  const enteOf = async (request: FastifyRequest) => (await getEnte(app.db, (request.params as { enteId: number }).enteId))!;

  // ------------------------------------------------------------------ overview + search
  app.get<{ Params: { enteId: number }; Querystring: SearchQuery }>(
    BASE,
    { preHandler: reader, schema: { params: enteParams, querystring: searchQuery } },
    async (request, reply) => {
      const ente = await enteOf(request);
      const q = request.query;
      const filter: DocumentFilter = {
        enteId: ente.id,
        profileCode: q.profilo || undefined,
        dateFrom: q.dal || undefined,
        dateTo: q.al || undefined,
        iuv: q.iuv?.trim() || undefined,
        oggetto: q.oggetto?.trim() || undefined,
        urn: q.urn?.trim() || undefined,
        page: q.pagina,
      };
      const errors: string[] = [];
      if (filter.dateFrom && filter.dateTo && filter.dateFrom > filter.dateTo) errors.push('La data “dal” è successiva alla data “al”.');
      const path = `/backoffice/enti/${ente.id}/conservazione`;
      const result = errors.length ? { items: [], total: 0, page: 1, pages: 1, pageSize: 20 } : await searchDocuments(ctx.db, filter);
      const [counts, profiles, latestAips, latestSips] = await Promise.all([
        enteCounts(ctx.db, ente.id),
        profileOptions(ctx.db),
        listAips(ctx.db, { enteId: ente.id, pageSize: 5 }),
        listSips(ctx.db, { enteId: ente.id, pageSize: 5 }),
      ]);
      const filtered = Boolean(filter.profileCode || filter.dateFrom || filter.dateTo || filter.iuv || filter.oggetto || filter.urn);
      return reply.code(errors.length ? 400 : 200).page('conservazione/ente-overview', {
        title: `Conservazione – ${ente.name}`,
        ente,
        counts,
        canUpload: hasRole(request.user, 'operator', ente.id) || hasRole(request.user, 'sael_admin'),
        profiles: profiles.map((p) => ({ ...p, selected: p.code === q.profilo })),
        filter: { dal: q.dal ?? '', al: q.al ?? '', iuv: q.iuv ?? '', oggetto: q.oggetto ?? '', urn: q.urn ?? '' },
        filtered,
        errors,
        results: result,
        prev: result.page > 1 ? pageUrl(path, { ...q }, result.page - 1) : null,
        next: result.page < result.pages ? pageUrl(path, { ...q }, result.page + 1) : null,
        latestAips: latestAips.items.map((a) => ({ ...a, statusLabel: AIP_STATUS_LABELS[a.status] ?? a.status, statusBadge: AIP_STATUS_BADGES[a.status] ?? 'bg-secondary' })),
        latestSips: latestSips.items.map((s) => ({ ...s, statusLabel: SIP_STATUS_LABELS[s.status], statusBadge: s.status === 'accepted' ? 'bg-success' : 'bg-danger' })),
      });
    },
  );

  // ------------------------------------------------------------------ PdV
  app.get<{ Params: { enteId: number }; Querystring: { stato?: SipStatus | ''; pagina?: number } }>(
    `${BASE}/pdv`,
    {
      preHandler: reader,
      schema: { params: enteParams, querystring: { type: 'object', additionalProperties: false, properties: { stato: { type: 'string', enum: ['', ...SIP_STATUSES] }, pagina: pageField } } },
    },
    async (request, reply) => {
      const ente = await enteOf(request);
      const stato = request.query.stato || undefined;
      const list = await listSips(ctx.db, { enteId: ente.id, status: stato, page: request.query.pagina });
      const path = `/backoffice/enti/${ente.id}/conservazione/pdv`;
      return reply.page('conservazione/ente-pdv-list', {
        title: `Pacchetti di versamento – ${ente.name}`,
        ente,
        list,
        items: list.items.map((s) => ({ ...s, statusLabel: SIP_STATUS_LABELS[s.status], statusBadge: s.status === 'accepted' ? 'bg-success' : 'bg-danger', sourceLabel: SOURCE_LABELS[s.source] ?? s.source })),
        statuses: SIP_STATUSES.map((s) => ({ value: s, label: SIP_STATUS_LABELS[s], selected: s === stato })),
        prev: list.page > 1 ? pageUrl(path, { stato }, list.page - 1) : null,
        next: list.page < list.pages ? pageUrl(path, { stato }, list.page + 1) : null,
      });
    },
  );

  app.get<{ Params: { enteId: number; id: number } }>(`${BASE}/pdv/:id`, { preHandler: reader, schema: { params: enteIdParams } }, async (request, reply) => {
    const ente = await enteOf(request);
    const d = await getSipDetail(ctx.db, ente.id, request.params.id);
    if (!d) throw new HttpError(404, 'Pacchetto di versamento non trovato.');
    await logAccess(ctx, { enteId: ente.id, actor: actorOf(request), subject: `sip:${d.sip.id}`, what: 'pdv-page' });
    const order = (c: string) => {
      const i = (CHECK_KINDS as readonly string[]).indexOf(c);
      return i < 0 ? 99 : i;
    };
    return reply.page('conservazione/ente-pdv', {
      title: `Pacchetto di versamento ${d.sip.id} – ${ente.name}`,
      ente,
      sip: { ...d.sip, statusLabel: SIP_STATUS_LABELS[d.sip.status], statusBadge: d.sip.status === 'accepted' ? 'bg-success' : 'bg-danger', sourceLabel: SOURCE_LABELS[d.sip.source] ?? d.sip.source },
      esito: d.esito,
      checks: [...d.esito.checks]
        .sort((a, b) => order(a.check) - order(b.check))
        .map((c) => ({ ...c, checkLabel: CHECK_LABELS[c.check] ?? c.check, outcomeLabel: OUTCOME_LABELS[c.outcome] ?? c.outcome, outcomeBadge: OUTCOME_BADGES[c.outcome] ?? 'bg-secondary' })),
      files: d.files.map((f) => ({ ...f, size: formatBytes(f.sizeBytes), hashOk: f.declaredSha256.toLowerCase() === f.actualSha256.toLowerCase() })),
      metadata: metadataRows(d.sip.metadata),
      rdv: d.rdv,
      aips: d.aips.map((a) => ({ ...a, statusLabel: AIP_STATUS_LABELS[a.status] ?? a.status })),
    });
  });

  app.get<{ Params: { enteId: number; id: number } }>(`${BASE}/pdv/:id/rdv.xml`, { preHandler: reader, schema: { params: enteIdParams } }, async (request, reply) => {
    const ente = await enteOf(request);
    const rdv = await getRdv(ctx.db, ente.id, request.params.id);
    if (!rdv) throw new HttpError(404, 'Rapporto di versamento non trovato.');
    await logAccess(ctx, { enteId: ente.id, actor: actorOf(request), subject: `sip:${request.params.id}`, what: 'rdv-download' });
    return reply
      .type('application/xml; charset=utf-8')
      .header('content-disposition', `attachment; filename="rdv-pdv-${request.params.id}.xml"`)
      .header('x-content-sha256', rdv.sha256)
      .send(rdv.xml);
  });

  // ------------------------------------------------------------------ PdA
  app.get<{ Params: { enteId: number }; Querystring: { pagina?: number } }>(
    `${BASE}/pda`,
    { preHandler: reader, schema: { params: enteParams, querystring: { type: 'object', additionalProperties: false, properties: { pagina: pageField } } } },
    async (request, reply) => {
      const ente = await enteOf(request);
      const list = await listAips(ctx.db, { enteId: ente.id, page: request.query.pagina });
      const path = `/backoffice/enti/${ente.id}/conservazione/pda`;
      return reply.page('conservazione/ente-pda-list', {
        title: `Pacchetti di archiviazione – ${ente.name}`,
        ente,
        list,
        items: list.items.map((a) => ({ ...a, statusLabel: AIP_STATUS_LABELS[a.status] ?? a.status, statusBadge: AIP_STATUS_BADGES[a.status] ?? 'bg-secondary' })),
        prev: list.page > 1 ? pageUrl(path, {}, list.page - 1) : null,
        next: list.page < list.pages ? pageUrl(path, {}, list.page + 1) : null,
      });
    },
  );

  const aipOr404 = async (request: FastifyRequest<{ Params: { enteId: number; id: number } }>) => {
    const aip = await getAip(ctx.db, request.params.enteId, request.params.id);
    if (!aip) throw new HttpError(404, 'Pacchetto di archiviazione non trovato.');
    return aip;
  };

  app.get<{ Params: { enteId: number; id: number } }>(`${BASE}/pda/:id`, { preHandler: reader, schema: { params: enteIdParams } }, async (request, reply) => {
    const ente = await enteOf(request);
    const aip = await aipOr404(request);
    await logAccess(ctx, { enteId: ente.id, actor: actorOf(request), subject: `aip:${aip.id}`, what: 'pda-page' });
    const [docs, chain] = await Promise.all([aipDocuments(ctx.db, aip.id), aipVersionChain(ctx.db, ente.id, aip.id)]);
    return reply.page('conservazione/ente-pda', {
      title: `Pacchetto di archiviazione ${aip.id} – ${ente.name}`,
      ente,
      aip: { ...aip, statusLabel: AIP_STATUS_LABELS[aip.status] ?? aip.status, statusBadge: AIP_STATUS_BADGES[aip.status] ?? 'bg-secondary' },
      available: aip.status !== 'discarded',
      documents: docs.map((d) => ({ ...d, metadataRows: metadataRows(d.metadata) })),
      chain: chain.length > 1 ? chain.map((c) => ({ ...c, isThis: c.id === aip.id, statusLabel: AIP_STATUS_LABELS[c.status] ?? c.status })) : [],
    });
  });

  const part = (name: 'indice.xml' | 'indice.xml.p7s' | 'indice.tsr', key: 'indexKey' | 'signatureKey' | 'timestampKey', type: string) =>
    app.get<{ Params: { enteId: number; id: number } }>(`${BASE}/pda/:id/${name}`, { preHandler: reader, schema: { params: enteIdParams } }, async (request, reply) => {
      const aip = await aipOr404(request);
      if (aip.status === 'discarded') throw new HttpError(410, 'Il pacchetto di archiviazione è stato scartato.');
      const bytes = await ctx.store.get(aip[key]);
      await logAccess(ctx, { enteId: aip.enteId, actor: actorOf(request), subject: `aip:${aip.id}`, what: name });
      return reply
        .type(type)
        .header('content-disposition', `attachment; filename="pda-${aip.id}-${name}"`)
        .header('x-content-sha256', aip[key])
        .send(bytes);
    });
  part('indice.xml', 'indexKey', 'application/xml; charset=utf-8');
  part('indice.xml.p7s', 'signatureKey', 'application/pkcs7-signature');
  part('indice.tsr', 'timestampKey', 'application/timestamp-reply');

  app.get<{ Params: { enteId: number; id: number }; Querystring: { documento?: number[] } }>(
    `${BASE}/pda/:id/pdd.zip`,
    {
      preHandler: reader,
      schema: {
        params: enteIdParams,
        querystring: { type: 'object', additionalProperties: false, properties: { documento: { type: 'array', maxItems: 500, items: { type: 'integer', minimum: 1 } } } },
      },
    },
    async (request, reply: FastifyReply) => {
      const a = auditContext(request);
      try {
        const dip = await createDip(ctx, { enteId: request.params.enteId, aipId: request.params.id, sipIds: request.query.documento, actor: a.actor, requestId: a.requestId });
        return reply
          .type('application/zip')
          .header('content-disposition', `attachment; filename="${dip.fileName}"`)
          .header('x-pdd-urn', dip.urn)
          .send(dip.stream);
      } catch (e) {
        if (e instanceof DipError) throw new HttpError(e.status, e.message);
        throw e;
      }
    },
  );
}
