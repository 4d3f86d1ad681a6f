/**
 * nodeForPa SOAP client: `nodoChiediElencoFlussiRendicontazione` and
 * `nodoChiediFlussoRendicontazione` (pagopa.md §9), built with the `soap` package from the
 * official, unmodified `schemas/pagopa/wsdl/nodeForPa.wsdl` (+ nodeForPa.xsd): the WSDL decides
 * the operation elements, the SOAPAction and the (unqualified) children.
 *
 * - Every call carries `Ocp-Apim-Subscription-Key` and the station credentials in the body.
 * - Timeout per call (`timeoutMs`), then retries with exponential backoff and full jitter for
 *   transient failures only: network errors, timeouts, HTTP 408/429/5xx, `PPT_SYSTEM_ERROR`.
 *   A node fault such as `PPT_AUTENTICAZIONE` or `PPT_ID_FLUSSO_SCONOSCIUTO` is final.
 * - xsd:dateTime values are kept as the node wrote them (the dedup key is the listed
 *   `dataOraFlusso` string, not a parsed Date).
 * - The password is never logged; errors carry the fault code and a short description only.
 */
import type { PagopaSettings } from '../../config.js';
import { specFile } from './spec-files.js';

export interface ListedFlow {
  flowId: string;
  /** dataOraFlusso exactly as listed by the node (FdR 3 REST: the listed `flowDate`). */
  flowDateTime: string;
  /** Which client listed it; absent: nodoChiedi*. */
  source?: 'nodoChiedi' | 'fdrRest';
  /** FdR 3 REST only: the PSP, the revision and its publication instant. */
  pspId?: string;
  revision?: number;
  published?: string;
}

/** A reporting-flow source: nodoChiedi* (this file) or the FdR 3 organizations API (fdr-rest-client.ts). */
export interface NodeForPaClient {
  /** Every flow the node currently lists for this ente (the node always returns all of them). */
  listFlows(enteFiscalCode: string): Promise<ListedFlow[]>;
  /**
   * The FlussoRiversamento XML of a flow: nodoChiedi* gives the latest version for that id; the
   * REST client needs the listed item (PSP, revision) and renders the revision as the XML.
   */
  getFlow(enteFiscalCode: string, flowId: string, listed?: ListedFlow): Promise<string>;
}

export class NodeForPaError extends Error {
  constructor(
    message: string,
    /** Worth retrying later (network, timeout, 5xx, PPT_SYSTEM_ERROR). */
    readonly retryable: boolean,
    readonly faultCode?: string,
    /** The answer arrived but does not conform to the contract (REST: fdr_organization.json). */
    readonly invalidAnswer = false,
  ) {
    super(message);
    this.name = 'NodeForPaError';
  }
}

export interface RetryOptions {
  /** Extra attempts after the first. Default 3. */
  retries?: number;
  /** First backoff delay; doubles at each retry (full jitter). Default 1000 ms. */
  baseDelayMs?: number;
  /** Cap of a single delay. Default 30 s. */
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry (logging). */
  onRetry?: (attempt: number, delayMs: number, err: NodeForPaError) => void;
}

export interface NodeForPaClientOptions extends RetryOptions {
  /** Timeout of one HTTP call. Default 30 s (a flow can be several MB). */
  timeoutMs?: number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `fn`, retrying transient NodeForPaErrors with exponential backoff and full jitter. */
export async function withRetry<T>(fn: () => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const retries = o.retries ?? 3;
  const base = o.baseDelayMs ?? 1000;
  const max = o.maxDelayMs ?? 30_000;
  const sleep = o.sleep ?? defaultSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const err = e instanceof NodeForPaError ? e : new NodeForPaError((e as Error).message, false);
      if (!err.retryable || attempt >= retries) throw err;
      const delay = Math.round(Math.random() * Math.min(max, base * 2 ** attempt));
      o.onRetry?.(attempt + 1, delay, err);
      await sleep(delay);
    }
  }
}

interface SoapHttpError {
  code?: string;
  message?: string;
  response?: { status?: number };
  root?: { Envelope?: { Body?: { Fault?: { faultcode?: string; faultstring?: string } } } };
}

/** Turns what the soap package / axios throws into a NodeForPaError. */
function classify(op: string, e: unknown): NodeForPaError {
  if (e instanceof NodeForPaError) return e;
  const err = e as SoapHttpError;
  const status = err.response?.status;
  const fault = err.root?.Envelope?.Body?.Fault;
  if (fault) {
    const s = String(fault.faultstring ?? '').slice(0, 200);
    return new NodeForPaError(`${op}: SOAP Fault ${fault.faultcode ?? ''} ${s}`.trim(), status === undefined || status >= 500, s.split(':')[0]);
  }
  if (status !== undefined) {
    return new NodeForPaError(`${op}: HTTP ${status}`, status >= 500 || status === 408 || status === 429);
  }
  const timeout = err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT' || /timeout/i.test(err.message ?? '');
  return new NodeForPaError(`${op}: ${timeout ? 'timeout' : `errore di rete ${err.code ?? ''}`.trim()}`, true);
}

interface Risposta {
  fault?: { faultCode?: string; faultString?: string; description?: string };
}

function checkFault(op: string, r: Risposta | null | undefined): void {
  const f = r?.fault;
  if (!f) return;
  const code = String(f.faultCode ?? 'PPT_SCONOSCIUTO');
  throw new NodeForPaError(`${op}: ${code} ${String(f.description ?? f.faultString ?? '').slice(0, 200)}`.trim(), code === 'PPT_SYSTEM_ERROR', code);
}

type SoapMethod = (args: Record<string, unknown>, options: Record<string, unknown>) => Promise<[unknown, string, unknown, string]>;

/** Builds the client from the official WSDL (parsed once per client); the endpoint is the configured node URL. */
export async function createNodeForPaClient(settings: PagopaSettings, opts: NodeForPaClientOptions = {}): Promise<NodeForPaClient> {
  // node-soap loads with the first client (the FdR download), not with the app.
  const { createClientAsync } = await import('soap');
  const client = await createClientAsync(specFile.nodeForPaWsdl(), {
    endpoint: settings.nodeUrl,
    // Keep xsd:dateTime / xsd:date as text (dedup key and stored values are the node's strings).
    customDeserializer: { dateTime: (t: string) => t, date: (t: string) => t },
    disableCache: false,
  });
  client.addHttpHeader('Ocp-Apim-Subscription-Key', settings.subscriptionKey);
  const timeout = opts.timeoutMs ?? 30_000;
  const credentials = {
    identificativoIntermediarioPA: settings.brokerId,
    identificativoStazioneIntermediarioPA: settings.stationId,
    password: settings.stationPassword,
  };
  const call = (op: 'nodoChiediElencoFlussiRendicontazione' | 'nodoChiediFlussoRendicontazione', args: Record<string, unknown>) =>
    withRetry(async () => {
      const method = (client as unknown as Record<string, SoapMethod>)[`${op}Async`]!;
      try {
        const [result] = await method.call(client, args, { timeout });
        checkFault(op, result as Risposta);
        return result;
      } catch (e) {
        throw classify(op, e);
      }
    }, opts);

  return {
    async listFlows(enteFiscalCode) {
      // The element order of the XSD sequence matters: credentials, identificativoDominio.
      const result = (await call('nodoChiediElencoFlussiRendicontazione', { ...credentials, identificativoDominio: enteFiscalCode })) as {
        elencoFlussiRendicontazione?: { idRendicontazione?: unknown };
      } | null;
      const raw = result?.elencoFlussiRendicontazione?.idRendicontazione;
      const items = (Array.isArray(raw) ? raw : raw ? [raw] : []) as { identificativoFlusso?: unknown; dataOraFlusso?: unknown }[];
      return items
        .filter((i) => i && typeof i.identificativoFlusso === 'string' && typeof i.dataOraFlusso === 'string')
        .map((i) => ({ flowId: String(i.identificativoFlusso), flowDateTime: String(i.dataOraFlusso) }));
    },
    async getFlow(enteFiscalCode, flowId) {
      const result = (await call('nodoChiediFlussoRendicontazione', { ...credentials, identificativoDominio: enteFiscalCode, identificativoFlusso: flowId })) as {
        xmlRendicontazione?: unknown;
      } | null;
      const b64 = result?.xmlRendicontazione;
      if (typeof b64 !== 'string' || !b64.trim()) throw new NodeForPaError(`nodoChiediFlussoRendicontazione: risposta senza xmlRendicontazione per ${flowId}`, false);
      return Buffer.from(b64.replace(/\s+/g, ''), 'base64').toString('utf8');
    },
  };
}
