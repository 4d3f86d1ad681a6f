/**
 * Simulated nodeForPa: `nodoChiediElencoFlussiRendicontazione` and `nodoChiediFlussoRendicontazione`
 * answering with reporting flows (FlussoRiversamento 1.0.4, valid against the XSD) built from the
 * receipts the simulator issued: one flow per (beneficiary ente, settlement date, PSP), one row per
 * transfer credited to that ente (stamps excluded). The same flows are served by the FdR 3
 * organizations REST API (fdr-rest.ts), with their revisions (`publishFlowRevision`: SOAP serves
 * the latest). Fault injection for the clients' tests.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { asc } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { centsToDecimalString } from '../../domain/money.js';
import { el, parseEnvelope, soapEnvelope, soapFault, text, xml, type XmlContent } from '../../modules/pagopa/soap.js';
import { NODE_FOR_PA_NS, nodeForPaSoapSchema } from '../../modules/pagopa/spec-files.js';
import { flussoRiversamentoXml } from '../../modules/pagopa/flusso-xml.js';
import { getEnteByFiscalCode } from '../../modules/enti/repository.js';
import { loadFdrOpenApi, type FdrOperationId } from '../../modules/pagopa/fdr-rest-schema.js';
import { simPayments } from './schema.js';

/** Switches the tests flip to exercise the clients (process-wide, demo/test only). */
export const fdrSimFaults = {
  /** The next N flow downloads (nodoChiediFlussoRendicontazione, REST flow or payments page) answer HTTP 503. */
  failNextDownloads: 0,
  /** Flow ids sent invalid: XSD-invalid XML over SOAP, an answer off fdr_organization.json over REST. */
  invalidFlowIds: new Set<string>(),
  /** Delay before answering any nodoChiedi* / REST call (timeouts). */
  delayMs: 0,
  /** REST: this page of any flow's payments answers HTTP 503 (0 = none). */
  failPaymentsPage: 0,
};

/** The latest revision of a flow, as nodoChiedi* serves it. */
export interface SimFlow {
  flowId: string;
  flowDateTime: string;
  receiverFiscalCode: string;
  xml: string;
  revision: number;
}

interface Row {
  iuv: string;
  iur: string;
  index: number;
  amountCents: number;
  date: string;
  /** Instant of the payment (REST payDate). */
  paidAt: string;
}

/** One published revision of a simulated flow (the data both the SOAP and the REST faces serve). */
export interface SimFlowRevision {
  flowId: string;
  revision: number;
  /** dataOraFlusso / fdrDate, UTC without zone (SOAP as is; REST with `Z`). */
  fdrDate: string;
  /** Publication instant (REST `published`). */
  published: string;
  pspId: string;
  pspName: string;
  settlementId: string;
  settlementDate: string;
  bic: string;
  receiverFiscalCode: string;
  rows: Row[];
  totalCents: number;
}

/** Revisions published after the first, per `<ente CF>|<flow id>` (process-wide, demo/test only). */
export const fdrSimRevisions = new Map<string, { fdrDate: string; published: string; excludeIuvs: string[] }[]>();

/** Every revision of every flow the simulated node can report for this ente, oldest first (deterministic for the same receipts). */
export async function buildFlowRevisions(db: DbLike, fiscalCode: string): Promise<SimFlowRevision[][]> {
  const groups = new Map<string, { date: string; psp: string; rows: Row[] }>();
  for (const p of await db.select().from(simPayments).orderBy(asc(simPayments.id))) {
    const transfers = JSON.parse(p.transfers) as { idTransfer: number; fiscalCodePA: string; amountCents: number; stamp?: boolean }[];
    const date = p.paidAt.slice(0, 10);
    for (const t of transfers) {
      if (t.fiscalCodePA !== fiscalCode || t.stamp) continue;
      const key = `${date}|${p.pspId}`;
      const g = groups.get(key) ?? { date, psp: p.pspId, rows: [] };
      g.rows.push({ iuv: p.iuv, iur: p.receiptId, index: t.idTransfer, amountCents: t.amountCents, date, paidAt: new Date(p.paidAt).toISOString() });
      groups.set(key, g);
    }
  }
  return [...groups.values()].map((g, i) => {
    const flowId = `${g.date}${g.psp}-${String(i + 1).padStart(10, '0')}`;
    const trn = crypto.createHash('sha256').update(flowId + fiscalCode).digest('hex').slice(0, 20).toUpperCase();
    const revision = (n: number, fdrDate: string, published: string, rows: Row[]): SimFlowRevision => ({
      flowId,
      revision: n,
      fdrDate,
      published,
      pspId: g.psp,
      pspName: 'PSP simulato S.p.A.',
      settlementId: `SIM${trn}`,
      settlementDate: g.date,
      bic: 'SIMPITM1XXX',
      receiverFiscalCode: fiscalCode,
      rows,
      totalCents: rows.reduce((s, r) => s + r.amountCents, 0),
    });
    const first = revision(1, `${g.date}T23:00:00`, `${g.date}T23:30:00.000Z`, g.rows);
    const later = (fdrSimRevisions.get(`${fiscalCode}|${flowId}`) ?? []).map((x, k) =>
      revision(k + 2, x.fdrDate, x.published, g.rows.filter((r) => !x.excludeIuvs.includes(r.iuv))),
    );
    return [first, ...later];
  });
}

/**
 * Publishes a new revision of a simulated flow (the PSP corrects it): the same rows but those of
 * `excludeIuvs`, a new fdrDate (now; or the previous revision's with `sameFdrDate`). Both the SOAP
 * and the REST face serve it from then on. Returns it, or null when the flow does not exist.
 */
export async function publishFlowRevision(db: DbLike, fiscalCode: string, flowId: string, opts: { excludeIuvs?: string[]; sameFdrDate?: boolean; now?: Date } = {}): Promise<SimFlowRevision | null> {
  const revisions = (await buildFlowRevisions(db, fiscalCode)).find((r) => r[0]!.flowId === flowId);
  if (!revisions) return null;
  const now = opts.now ?? new Date();
  const last = revisions[revisions.length - 1]!;
  const key = `${fiscalCode}|${flowId}`;
  const list = fdrSimRevisions.get(key) ?? [];
  list.push({ fdrDate: opts.sameFdrDate ? last.fdrDate : now.toISOString().slice(0, 19), published: now.toISOString(), excludeIuvs: opts.excludeIuvs ?? [] });
  fdrSimRevisions.set(key, list);
  return (await buildFlowRevisions(db, fiscalCode)).find((r) => r[0]!.flowId === flowId)!.at(-1)!;
}

/** A revision as FlussoRiversamento 1.0.4 (valid against the XSD). */
export function revisionXml(r: SimFlowRevision): string {
  return flussoRiversamentoXml({
    flowId: r.flowId,
    flowDateTime: r.fdrDate,
    settlementId: r.settlementId,
    settlementDate: r.settlementDate,
    sender: { type: 'B', id: r.pspId, name: r.pspName },
    bic: r.bic,
    receiver: { fiscalCode: r.receiverFiscalCode },
    totalPayments: r.rows.length,
    totalAmountCents: r.totalCents,
    rows: r.rows.map((row) => ({ iuv: row.iuv, iur: row.iur, index: row.index, amountCents: row.amountCents, outcome: '0', date: row.date })),
  });
}

/** The latest revision of every flow the simulated node can report for this ente (what nodoChiedi* serves). */
export async function buildFlows(db: DbLike, fiscalCode: string): Promise<SimFlow[]> {
  return (await buildFlowRevisions(db, fiscalCode)).map((revs) => {
    const r = revs[revs.length - 1]!;
    return { flowId: r.flowId, flowDateTime: r.fdrDate, receiverFiscalCode: fiscalCode, xml: revisionXml(r), revision: r.revision };
  });
}

function answer(name: string, content: XmlContent): string {
  return soapEnvelope(xml(el(`nfpa:${name}`, content, ` xmlns:nfpa="${NODE_FOR_PA_NS}"`)));
}

function fault(name: string, code: string, description: string): string {
  return answer(name, el('fault', [el('faultCode', code), el('faultString', description), el('id', 'NodoDeiPagamentiSPC'), el('description', description)]));
}

export default async function nodeForPaSimulator(app: FastifyInstance) {
  await app.register(fdrRestSimulator);
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
    scope.post('/nodo/node-for-pa', { config: { csrf: false }, schema: { hide: true } }, async (request, reply) => {
      if (fdrSimFaults.delayMs) await new Promise((r) => setTimeout(r, fdrSimFaults.delayMs));
      const body = typeof request.body === 'string' ? request.body : '';
      const send = (status: number, x: string) => reply.code(status).type('text/xml; charset=utf-8').send(x);
      let payload: Element;
      try {
        payload = parseEnvelope(body, 1024 * 1024).payload;
      } catch (e) {
        return send(500, soapFault('Client', `PPT_SINTASSI_EXTRAXSD: ${(e as Error).message}`));
      }
      const op = payload.localName;
      const resName = `${op}Risposta`;
      if (op !== 'nodoChiediElencoFlussiRendicontazione' && op !== 'nodoChiediFlussoRendicontazione') {
        return send(500, soapFault('Client', `operazione sconosciuta ${op}`));
      }
      if (request.headers['ocp-apim-subscription-key'] !== app.config.pagopa.subscriptionKey) {
        return reply.code(401).type('application/json').send({ statusCode: 401, message: 'Access denied due to invalid subscription key.' });
      }
      const check = nodeForPaSoapSchema().validate(body);
      if (!check.valid) return send(200, fault(resName, 'PPT_SINTASSI_XSD', check.errors[0] ?? 'XSD'));
      const s = app.config.pagopa;
      if (text(payload, 'identificativoIntermediarioPA') !== s.brokerId || text(payload, 'identificativoStazioneIntermediarioPA') !== s.stationId) {
        return send(200, fault(resName, 'PPT_STAZIONE_INT_PA_SCONOSCIUTA', 'Stazione sconosciuta'));
      }
      if (text(payload, 'password') !== s.stationPassword) return send(200, fault(resName, 'PPT_AUTENTICAZIONE', 'Password errata'));
      const dominio = text(payload, 'identificativoDominio');
      if (!dominio) return send(200, fault(resName, 'PPT_DOMINIO_SCONOSCIUTO', 'identificativoDominio richiesto dal simulatore'));
      const flows = await buildFlows(app.db, dominio);
      if (op === 'nodoChiediElencoFlussiRendicontazione') {
        return send(
          200,
          answer(
            resName,
            el('elencoFlussiRendicontazione', [
              el('totRestituiti', flows.length),
              flows.map((f) => el('idRendicontazione', [el('identificativoFlusso', f.flowId), el('dataOraFlusso', f.flowDateTime)])),
            ]),
          ),
        );
      }
      if (fdrSimFaults.failNextDownloads > 0) {
        fdrSimFaults.failNextDownloads--;
        return reply.code(503).type('text/plain').send('Service Unavailable (simulato)');
      }
      const flowId = text(payload, 'identificativoFlusso');
      const flow = flows.find((f) => f.flowId === flowId);
      if (!flow) return send(200, fault(resName, 'PPT_ID_FLUSSO_SCONOSCIUTO', 'Flusso sconosciuto'));
      const doc = fdrSimFaults.invalidFlowIds.has(flow.flowId) ? flow.xml.replace('<pay_i:versioneOggetto>1.0<', '<pay_i:versioneOggetto>9.9<') : flow.xml;
      return send(200, answer(resName, el('xmlRendicontazione', Buffer.from(doc).toString('base64'))));
    });
  });
}

// ---------------------------------------------------------------------------------- FdR 3 REST

/** Base path of the simulated FdR 3 organizations API (`servers[0].url` path of the document). */
export const FDR_REST_SIM_BASE = '/fdr-org/service/v1';

function restError(status: number, description: string, appErrorCode: string, messages: string[]) {
  return { errorId: crypto.randomUUID(), httpStatusCode: status, httpStatusDescription: description, appErrorCode, errors: messages.map((message) => ({ message })) };
}

const euros = (cents: number) => cents / 100;
/** Start of the previous calendar month at 00:00 UTC (the document's default for flowDate and publishedGt). */
function previousMonthStart(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
}

function page<T>(items: T[], query: { page?: string; size?: string }) {
  const size = Number(query.size ?? 1000);
  const pageNumber = Number(query.page ?? 1);
  const totPage = Math.max(1, Math.ceil(items.length / size));
  return { metadata: { pageSize: size, pageNumber, totPage }, count: items.length, data: items.slice((pageNumber - 1) * size, pageNumber * size) };
}

type RestQuery = Record<string, string | undefined>;
const stringProps = (names: string[]) => ({ type: 'object', properties: Object.fromEntries(names.map((n) => [n, { type: 'string', maxLength: 100 }])) });

/**
 * FdR 3 organizations API (fdr_organization.json) over the same simulated flows: every request is
 * checked against the document (parameters, subscription key), answers follow its schemas; every
 * published revision is listed. Plus `POST /fdr-org/sim/revisions` {organizationId, fdr,
 * excludeIuvs?} to publish a new revision (demo and tests).
 */
async function fdrRestSimulator(app: FastifyInstance) {
  const guard = (op: FdrOperationId, request: FastifyRequest, reply: FastifyReply): boolean => {
    // The document is read and compiled at the first request, not with the app.
    const api = loadFdrOpenApi();
    if (request.headers[api.apiKeyHeader.toLowerCase()] !== app.config.pagopa.fdrSubscriptionKey) {
      void reply.code(401).send({ statusCode: 401, message: 'Access denied due to invalid subscription key.' });
      return false;
    }
    const problems = api.validateRequest(op, { params: request.params as Record<string, string>, query: request.query as RestQuery });
    if (problems.length) {
      void reply.code(400).send(restError(400, 'Bad Request', 'FDR-0702', problems));
      return false;
    }
    return true;
  };
  const delay = () => (fdrSimFaults.delayMs ? new Promise((r) => setTimeout(r, fdrSimFaults.delayMs)) : undefined);
  const revisionOf = async (cf: string, fdr: string, revision: string, pspId: string) =>
    (await buildFlowRevisions(app.db, cf))
      .find((r) => r[0]!.flowId === fdr)
      ?.find((r) => String(r.revision) === revision && r.pspId === pspId);
  const notFound = (reply: FastifyReply, fdr: string) => reply.code(404).send(restError(404, 'Not Found', 'FDR-3001', [`Flow with ID [${fdr}] not found`]));

  app.get<{ Params: { organizationId: string }; Querystring: RestQuery }>(
    `${FDR_REST_SIM_BASE}/organizations/:organizationId/fdrs`,
    { config: { csrf: false }, schema: { hide: true, params: stringProps(['organizationId']), querystring: stringProps(['flowDate', 'page', 'pspId', 'publishedGt', 'size']) } },
    async (request, reply) => {
      await delay();
      if (!guard('IOrganizationsController_getAllPublishedFlows', request, reply)) return reply;
      const q = request.query;
      const publishedGt = q.publishedGt ? new Date(q.publishedGt) : previousMonthStart();
      const flowDate = q.flowDate ? new Date(q.flowDate) : previousMonthStart();
      const items = (await buildFlowRevisions(app.db, request.params.organizationId))
        .flat()
        .filter((r) => new Date(r.published) > publishedGt && new Date(`${r.fdrDate}Z`) >= flowDate && (!q.pspId || r.pspId === q.pspId))
        .map((r) => ({ fdr: r.flowId, pspId: r.pspId, revision: r.revision, published: r.published, flowDate: `${r.fdrDate}Z` }));
      return reply.send(page(items, q));
    },
  );

  const flowPath = `${FDR_REST_SIM_BASE}/organizations/:organizationId/fdrs/:fdr/revisions/:revision/psps/:pspId`;
  type FlowParams = { organizationId: string; fdr: string; revision: string; pspId: string };
  const flowParams = stringProps(['organizationId', 'fdr', 'revision', 'pspId']);

  app.get<{ Params: FlowParams }>(flowPath, { config: { csrf: false }, schema: { hide: true, params: flowParams } }, async (request, reply) => {
    await delay();
    if (!guard('IOrganizationsController_getSinglePublishedFlow', request, reply)) return reply;
    if (fdrSimFaults.failNextDownloads > 0) {
      fdrSimFaults.failNextDownloads--;
      return reply.code(503).type('text/plain').send('Service Unavailable (simulato)');
    }
    const p = request.params;
    const r = await revisionOf(p.organizationId, p.fdr, p.revision, p.pspId);
    if (!r) return notFound(reply, p.fdr);
    const ente = await getEnteByFiscalCode(app.db, r.receiverFiscalCode);
    const sum = euros(r.totalCents);
    return reply.send({
      status: 'PUBLISHED',
      revision: r.revision,
      created: r.published,
      updated: r.published,
      fdr: r.flowId,
      fdrDate: `${r.fdrDate}Z`,
      regulation: r.settlementId,
      regulationDate: r.settlementDate,
      bicCodePouringBank: r.bic,
      sender: { type: 'BIC_CODE', id: r.pspId, pspId: r.pspId, pspName: r.pspName, pspBrokerId: r.pspId, channelId: `${r.pspId}_01` },
      receiver: { id: r.receiverFiscalCode, organizationId: r.receiverFiscalCode, organizationName: (ente?.name ?? `Ente ${r.receiverFiscalCode}`).slice(0, 140) },
      published: r.published,
      computedTotPayments: r.rows.length,
      computedSumPayments: sum,
      totPayments: r.rows.length,
      // Off the document (a string where it wants a number) when the test asks for an invalid answer.
      sumPayments: fdrSimFaults.invalidFlowIds.has(r.flowId) ? centsToDecimalString(r.totalCents).replace('.', ',') : sum,
    });
  });

  app.get<{ Params: FlowParams; Querystring: RestQuery }>(
    `${flowPath}/payments`,
    { config: { csrf: false }, schema: { hide: true, params: flowParams, querystring: stringProps(['page', 'size']) } },
    async (request, reply) => {
      await delay();
      if (!guard('IOrganizationsController_getPaymentsFromPublishedFlow', request, reply)) return reply;
      if (fdrSimFaults.failNextDownloads > 0 || (fdrSimFaults.failPaymentsPage && String(fdrSimFaults.failPaymentsPage) === (request.query.page ?? '1'))) {
        if (fdrSimFaults.failNextDownloads > 0) fdrSimFaults.failNextDownloads--;
        return reply.code(503).type('text/plain').send('Service Unavailable (simulato)');
      }
      const p = request.params;
      const r = await revisionOf(p.organizationId, p.fdr, p.revision, p.pspId);
      if (!r) return notFound(reply, p.fdr);
      const payments = r.rows.map((row, i) => ({ index: i + 1, iuv: row.iuv, iur: row.iur, idTransfer: row.index, pay: euros(row.amountCents), payStatus: 'EXECUTED', payDate: row.paidAt }));
      return reply.send(page(payments, request.query));
    },
  );

  app.post<{ Body: { organizationId: string; fdr: string; excludeIuvs?: string[]; sameFdrDate?: boolean } }>(
    '/fdr-org/sim/revisions',
    {
      config: { csrf: false },
      schema: {
        hide: true,
        body: {
          type: 'object',
          required: ['organizationId', 'fdr'],
          additionalProperties: false,
          properties: {
            organizationId: { type: 'string', pattern: '^[0-9]{11}$' },
            fdr: { type: 'string', minLength: 1, maxLength: 35 },
            excludeIuvs: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 35 } },
            sameFdrDate: { type: 'boolean' },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const r = await publishFlowRevision(app.db, b.organizationId, b.fdr, { excludeIuvs: b.excludeIuvs, sameFdrDate: b.sameFdrDate });
      if (!r) return notFound(reply, b.fdr);
      return reply.code(201).send({ fdr: r.flowId, revision: r.revision, fdrDate: `${r.fdrDate}Z`, published: r.published, totPayments: r.rows.length, sumPayments: euros(r.totalCents) });
    },
  );
}
