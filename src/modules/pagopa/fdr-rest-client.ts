/**
 * FdR 3 organizations REST client (`schemas/pagopa/openapi/fdr_organization.json`), the
 * alternative to nodoChiedi* chosen by `PAGOPA_FDR_API=rest`:
 *
 * - list: `GET /organizations/{cf}/fdrs?publishedGt=…&page=…&size=…`, every page;
 * - a flow: `GET /organizations/{cf}/fdrs/{fdr}/revisions/{revision}/psps/{pspId}`;
 * - its payments: `GET …/payments?page=…&size=…`, every page (rows by `index`).
 *
 * Every call carries `Ocp-Apim-Subscription-Key` (`PAGOPA_FDR_SUBSCRIPTION_KEY`); every 200 answer
 * is checked against the response schema the document gives (fdr-rest-schema.ts) and against
 * what the download needs (the schemas mark almost nothing required), before anything is used.
 * Timeouts, network errors, 408/429/5xx are retried like the SOAP client (withRetry); a
 * non-conforming answer is final and flagged `invalidAnswer` (the scheduler turns it into an
 * `fdr_invalid_flow` anomaly, as for an XSD-invalid SOAP flow).
 *
 * A revision is handed to the store as a FlussoRiversamento 1.0.4 document built with the field
 * mapping the document itself states (each field's "mappable with the tag …"), so the same XSD
 * check, store, reconciliation and conservazione apply whatever the download path.
 */
import type { PagopaSettings } from '../../config.js';
import { NodeForPaError, withRetry, type ListedFlow, type NodeForPaClient, type NodeForPaClientOptions } from './fdr-client.js';
import { loadFdrOpenApi, type FdrOperationId } from './fdr-rest-schema.js';
import { flussoRiversamentoXml } from './flusso-xml.js';

export interface FdrRestClientOptions extends NodeForPaClientOptions {
  /** Page size for the list and the payments (1–1000). Default 1000. */
  pageSize?: number;
  /** Lower limit of the publication date asked for in the list. Default 62 days ago. */
  publishedSince?: () => Date;
  /** Tests record the exchanges through their own fetch. */
  fetch?: typeof fetch;
}

/** FdR 3 `payStatus` → codiceEsitoSingoloPagamento (the mapping of the document). */
export const PAY_STATUS_CODES: Record<string, string> = { EXECUTED: '0', REVOKED: '3', STAND_IN: '4', STAND_IN_NO_RPT: '8', NO_RPT: '9' };
/** FdR 3 `sender.type` → tipoIdentificativoUnivoco. */
const SENDER_TYPES: Record<string, string> = { LEGAL_PERSON: 'G', ABI_CODE: 'A', BIC_CODE: 'B' };

interface Paged<T> {
  metadata?: { pageSize?: number; pageNumber?: number; totPage?: number };
  count?: number;
  data?: T[];
}
interface FlowItem {
  fdr?: string;
  pspId?: string;
  revision?: number;
  published?: string;
  flowDate?: string;
}
export interface RestFlow {
  status?: string;
  revision?: number;
  fdr?: string;
  fdrDate?: string;
  regulation?: string;
  regulationDate?: string;
  bicCodePouringBank?: string;
  sender?: { type: string; id: string; pspId: string; pspName: string };
  receiver?: { id: string; organizationId: string; organizationName: string };
  published?: string;
  totPayments?: number;
  sumPayments?: number;
}
export interface RestPayment {
  index: number;
  iuv: string;
  iur: string;
  idTransfer: number;
  pay: number;
  payStatus: string;
  payDate: string;
}

/** Euro amount of the document (a JSON number, at most 2 decimals) → cents; NaN otherwise. */
export function euroToCents(n: unknown): number {
  if (typeof n !== 'number' || !Number.isFinite(n)) return NaN;
  const cents = Math.round(n * 100);
  return Math.abs(n * 100 - cents) < 1e-6 ? cents : NaN;
}

const romeDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Rome', year: 'numeric', month: '2-digit', day: '2-digit' });

/**
 * A revision and its payments as FlussoRiversamento 1.0.4 (dataOraFlusso = fdrDate as given,
 * dataEsitoSingoloPagamento = payDate's day in Italy). Throws a final NodeForPaError when an
 * amount cannot be written (more than two decimals).
 */
export function restFlowToXml(flow: Required<Pick<RestFlow, 'fdr' | 'fdrDate' | 'regulation' | 'regulationDate' | 'sender' | 'receiver' | 'totPayments' | 'sumPayments'>> & RestFlow, payments: RestPayment[]): string {
  const sum = euroToCents(flow.sumPayments);
  const bad = (what: string) => new NodeForPaError(`FdR REST: ${what} del flusso ${flow.fdr} non esprimibile in centesimi`, false, 'RISPOSTA_NON_CONFORME', true);
  if (Number.isNaN(sum)) throw bad('sumPayments');
  const rows = payments.map((p) => {
    const cents = euroToCents(p.pay);
    if (Number.isNaN(cents)) throw bad(`pay della riga ${p.index}`);
    return {
      iuv: p.iuv,
      iur: p.iur,
      index: p.idTransfer,
      amountCents: Math.abs(cents),
      outcome: PAY_STATUS_CODES[p.payStatus] ?? p.payStatus,
      date: romeDate.format(new Date(p.payDate)),
    };
  });
  return flussoRiversamentoXml({
    flowId: flow.fdr,
    flowDateTime: flow.fdrDate,
    settlementId: flow.regulation,
    settlementDate: flow.regulationDate,
    sender: { type: SENDER_TYPES[flow.sender.type] ?? flow.sender.type, id: flow.sender.id, name: flow.sender.pspName },
    bic: flow.bicCodePouringBank,
    receiver: { fiscalCode: flow.receiver.id, name: flow.receiver.organizationName },
    totalPayments: flow.totPayments,
    totalAmountCents: sum,
    rows,
  });
}

/** Builds the client (the document is read and compiled once per process). */
export async function createFdrRestClient(settings: PagopaSettings, opts: FdrRestClientOptions = {}): Promise<NodeForPaClient> {
  const api = loadFdrOpenApi();
  const doFetch = opts.fetch ?? fetch;
  const timeout = opts.timeoutMs ?? 30_000;
  const size = Math.min(1000, Math.max(1, opts.pageSize ?? 1000));
  const base = settings.fdrRestUrl.replace(/\/+$/, '');

  /** One GET, validated; retried on transient failures. */
  const get = <T>(id: FdrOperationId, params: Record<string, string>, query: Record<string, string>): Promise<T> => {
    const op = api.operation(id);
    const urlPath = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
    const url = `${base}${urlPath}?${new URLSearchParams(query).toString()}`;
    const label = `${op.path.replace('/organizations/{organizationId}', '')} (${Object.values(params).slice(1).join(' ') || params.organizationId})`;
    return withRetry(async () => {
      let res: Response;
      try {
        res = await doFetch(url, { headers: { [api.apiKeyHeader]: settings.fdrSubscriptionKey, accept: 'application/json' }, signal: AbortSignal.timeout(timeout) });
      } catch (e) {
        const err = e as Error & { cause?: { code?: string } };
        const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError';
        throw new NodeForPaError(`FdR REST ${label}: ${timedOut ? 'timeout' : `errore di rete ${err.cause?.code ?? err.message}`.trim()}`, true);
      }
      const text = await res.text().catch(() => '');
      if (res.status !== 200) {
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { appErrorCode?: string }).appErrorCode;
        } catch {
          /* not JSON (a proxy's page) */
        }
        throw new NodeForPaError(`FdR REST ${label}: HTTP ${res.status}${code ? ` ${code}` : ''}`, res.status >= 500 || res.status === 408 || res.status === 429, code);
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new NodeForPaError(`FdR REST ${label}: risposta non JSON`, false, 'RISPOSTA_NON_CONFORME', true);
      }
      const problems = api.validateResponse(id, 200, body);
      if (problems.length) throw new NodeForPaError(`FdR REST ${label}: risposta non conforme a fdr_organization.json: ${problems.slice(0, 3).join('; ')}`, false, 'RISPOSTA_NON_CONFORME', true);
      return body as T;
    }, opts);
  };

  /** Every page of a paged answer (page numbers from 1 to metadata.totPage). */
  async function allPages<T>(id: FdrOperationId, params: Record<string, string>, query: Record<string, string>): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; ; page++) {
      const r = await get<Paged<T>>(id, params, { ...query, page: String(page), size: String(size) });
      out.push(...(r.data ?? []));
      const total = r.metadata?.totPage;
      if (typeof total !== 'number') throw new NodeForPaError(`FdR REST: metadata.totPage mancante (pagina ${page})`, false, 'RISPOSTA_NON_CONFORME', true);
      if (page >= total || page >= 10_000) return out;
    }
  }

  const listFlows: NodeForPaClient['listFlows'] = async (cf) => {
    const since = (opts.publishedSince ?? (() => new Date(Date.now() - 62 * 86_400_000)))();
    const items = await allPages<FlowItem>('IOrganizationsController_getAllPublishedFlows', { organizationId: cf }, { publishedGt: since.toISOString() });
    const listed: ListedFlow[] = [];
    for (const i of items) {
      if (!i.fdr || !i.pspId || typeof i.revision !== 'number' || !i.flowDate) {
        throw new NodeForPaError(`FdR REST: elemento dell'elenco senza fdr, pspId, revision o flowDate (${JSON.stringify(i).slice(0, 120)})`, false, 'RISPOSTA_NON_CONFORME', true);
      }
      listed.push({ flowId: i.fdr, flowDateTime: i.flowDate, source: 'fdrRest', pspId: i.pspId, revision: i.revision, published: i.published });
    }
    // Older revisions first: each one stored supersedes the one before.
    return listed.sort((a, b) => (a.flowId < b.flowId ? -1 : a.flowId > b.flowId ? 1 : a.revision! - b.revision!));
  };

  return {
    listFlows,
    async getFlow(cf, flowId, listedFlow) {
      let item = listedFlow?.source === 'fdrRest' ? listedFlow : undefined;
      // Without the listed item (CLI, tests): the newest listed revision of that flow.
      item ??= (await listFlows(cf)).filter((f) => f.flowId === flowId).pop();
      if (!item) throw new NodeForPaError(`FdR REST: flusso ${flowId} non elencato`, false, 'FDR-3001');
      const params = { organizationId: cf, fdr: flowId, revision: String(item.revision), pspId: item.pspId! };
      const flow = await get<RestFlow>('IOrganizationsController_getSinglePublishedFlow', params, {});
      const missing = (['fdr', 'fdrDate', 'regulation', 'regulationDate', 'sender', 'receiver', 'totPayments', 'sumPayments'] as const).filter((k) => flow[k] === undefined);
      const invalid = (what: string) => new NodeForPaError(`FdR REST: flusso ${flowId} rev. ${item.revision}: ${what}`, false, 'RISPOSTA_NON_CONFORME', true);
      if (missing.length) throw invalid(`mancano ${missing.join(', ')}`);
      if (flow.fdr !== flowId || flow.revision !== item.revision) throw invalid(`la risposta è del flusso ${flow.fdr} rev. ${flow.revision}`);
      if (flow.receiver!.organizationId !== cf) throw invalid(`destinato a ${flow.receiver!.organizationId}`);
      const payments = await allPages<RestPayment>('IOrganizationsController_getPaymentsFromPublishedFlow', params, {});
      const byIndex = new Map<number, RestPayment>();
      for (const p of payments) {
        if (byIndex.has(p.index)) throw invalid(`indice di pagamento ${p.index} ripetuto tra le pagine`);
        byIndex.set(p.index, p);
      }
      return restFlowToXml(flow as Parameters<typeof restFlowToXml>[0], [...byIndex.values()].sort((a, b) => a.index - b.index));
    },
  };
}
