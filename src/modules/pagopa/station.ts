/**
 * The EC station (paForNode): one SOAP message in, one SOAP message out. No Fastify here, so the
 * same function serves the route, the tests and the benchmark.
 *
 * Order of checks for every message:
 * 1. size, well-formed XML without DTD, SOAP 1.1 envelope with one Body element → else
 *    PAA_SINTASSI_EXTRAXSD (typed answer when the operation is known from the element or the
 *    SOAPAction header) or a SOAP Fault (operation unknown);
 * 2. known operation element in the paForNode namespace, SOAPAction (when sent) equal to it;
 * 3. the whole envelope valid against envelope.xsd + paForNode.xsd → else PAA_SINTASSI_XSD;
 * 4. identity: idPA (and qrCode.fiscalCode) an ente we serve → PAA_ID_DOMINIO_ERRATO; idBrokerPA
 *    ours → PAA_ID_INTERMEDIARIO_ERRATO; idStation ours → PAA_STAZIONE_INT_ERRATA;
 * 5. the operation (paDemandPaymentNotice: demand.ts). Every answer we write is itself valid
 *    against the same schemas (tests).
 * Faults carry `id` = the EC fiscal code (idPA, or our broker id when idPA is unusable).
 */
import { readSnapshot, type Db } from '../../db/client.js';
import type { PagopaSettings } from '../../config.js';
import { XmlSafeParseError } from '../../xml/safe-parse.js';
import type { Ente } from '../enti/repository.js';
import { todayInItaly } from '../positions/service.js';
import { demandPaymentNotice } from './demand.js';
import { checkPayable } from './payment-state.js';
import { findForStation, servedEnteFast, stationQueries } from './station-queries.js';
import { paymentDataContent, StampNeedsV2Error, verifyContent } from './payment-xml.js';
import { readReceipt, storeReceipt, type StoreInput, type StoreOutcome } from './receipts.js';
import type { XmlDocument } from 'libxml2-wasm';
import { el, parseEnvelopeLite, soapActionOf, soapEnvelope, soapFault, SoapEnvelopeError, text, xml, type LiteEnvelope, type XmlContent } from './soap.js';
import { MAX_SOAP_BYTES, PA_FOR_NODE_NS, paForNodeSoapSchema } from './spec-files.js';

export const OPERATIONS = {
  paVerifyPaymentNotice: { request: 'paVerifyPaymentNoticeReq', response: 'paVerifyPaymentNoticeRes' },
  paGetPayment: { request: 'paGetPaymentReq', response: 'paGetPaymentRes' },
  paGetPaymentV2: { request: 'paGetPaymentV2Request', response: 'paGetPaymentV2Response' },
  paSendRT: { request: 'paSendRTReq', response: 'paSendRTRes' },
  paSendRTV2: { request: 'paSendRTV2Request', response: 'paSendRTV2Response' },
  paDemandPaymentNotice: { request: 'paDemandPaymentNoticeRequest', response: 'paDemandPaymentNoticeResponse' },
} as const;
export type Operation = keyof typeof OPERATIONS;

const BY_REQUEST = new Map<string, Operation>(
  (Object.entries(OPERATIONS) as [Operation, { request: string }][]).map(([op, d]) => [d.request, op]),
);

export function isOperation(name: string | undefined): name is Operation {
  return !!name && Object.hasOwn(OPERATIONS, name);
}

export type FaultCode =
  | 'PAA_SINTASSI_XSD'
  | 'PAA_SINTASSI_EXTRAXSD'
  | 'PAA_ID_DOMINIO_ERRATO'
  | 'PAA_ID_INTERMEDIARIO_ERRATO'
  | 'PAA_STAZIONE_INT_ERRATA'
  | 'PAA_PAGAMENTO_SCONOSCIUTO'
  | 'PAA_PAGAMENTO_DUPLICATO'
  | 'PAA_PAGAMENTO_SCADUTO'
  | 'PAA_PAGAMENTO_ANNULLATO'
  | 'PAA_SEMANTICA'
  | 'PAA_RECEIPT_DUPLICATA'
  | 'PAA_SYSTEM_ERROR';

const FAULT_STRINGS: Record<FaultCode, string> = {
  PAA_SINTASSI_XSD: 'Errore di sintassi XSD',
  PAA_SINTASSI_EXTRAXSD: 'Errore di sintassi extra XSD',
  PAA_ID_DOMINIO_ERRATO: 'Identificativo dominio errato',
  PAA_ID_INTERMEDIARIO_ERRATO: 'Identificativo intermediario errato',
  PAA_STAZIONE_INT_ERRATA: 'Stazione intermediario errata',
  PAA_PAGAMENTO_SCONOSCIUTO: 'Pagamento in attesa risulta sconosciuto all’Ente Creditore',
  PAA_PAGAMENTO_DUPLICATO: 'Pagamento in attesa risulta concluso all’Ente Creditore',
  PAA_PAGAMENTO_SCADUTO: 'Pagamento in attesa risulta scaduto all’Ente Creditore',
  PAA_PAGAMENTO_ANNULLATO: 'Pagamento in attesa risulta annullato all’Ente Creditore',
  PAA_SEMANTICA: 'Errore semantico',
  PAA_RECEIPT_DUPLICATA: 'Ricevuta duplicata',
  PAA_SYSTEM_ERROR: 'Errore generico',
};

export interface StationRequest {
  body: string | Uint8Array;
  soapAction?: string | string[];
  requestId?: string;
}

export interface StationResult {
  /** 200 for operation answers (OK or KO), 500 for SOAP Faults (SOAP 1.1 HTTP binding). */
  status: 200 | 500;
  xml: string;
  operation?: Operation;
  outcome: 'OK' | 'KO' | 'FAULT';
  faultCode?: FaultCode;
  /** EC fiscal code and notice number, for the log line (no personal data). */
  idPA?: string;
  noticeNumber?: string;
  /** Fiscal code of the EC the notice belongs to (qrCode or receipt), for the helpdesk's node-call log. */
  fiscalCode?: string;
}

export interface StationContext {
  db: Db;
  settings: PagopaSettings;
  now?: () => Date;
}

class Fault extends Error {
  constructor(
    readonly code: FaultCode,
    readonly description: string,
  ) {
    super(description);
  }
}

function answer(op: Operation, content: XmlContent): string {
  const name = OPERATIONS[op].response;
  return soapEnvelope(xml(el(`pafn:${name}`, content, ` xmlns:pafn="${PA_FOR_NODE_NS}"`)));
}

function faultAnswer(op: Operation, code: FaultCode, description: string, id: string): string {
  return answer(op, [
    el('outcome', 'KO'),
    el('fault', [el('faultCode', code), el('faultString', FAULT_STRINGS[code]), el('id', id), el('description', description.slice(0, 1000))]),
  ]);
}

/** A served ente (member of the platform) by fiscal code. */
async function servedEnte(db: Db, fiscalCode: string | undefined): Promise<Ente | undefined> {
  if (!fiscalCode) return undefined;
  return await servedEnteFast(stationQueries(db), fiscalCode);
}

/**
 * A paSendRT(V2) that passed every check and now needs its receipt stored: the caller stores
 * `input` (alone with storeReceipt, or in a group commit with a ReceiptBatcher) and answers
 * `finish(outcome)` — only after the commit.
 */
export interface PendingReceipt {
  kind: 'receipt';
  input: StoreInput;
  finish(outcome: StoreOutcome): StationResult;
}

/** One message in, one message out, storing a receipt (when there is one) in its own transaction. */
export async function handleStationRequest(ctx: StationContext, req: StationRequest): Promise<StationResult> {
  const step = await beginStationRequest(ctx, req);
  return 'finish' in step ? step.finish(await storeReceipt(ctx.db, step.input)) : step;
}

/** Every check and every read-only operation; a receipt to store comes back as a {@link PendingReceipt}. */
export async function beginStationRequest(ctx: StationContext, req: StationRequest): Promise<StationResult | PendingReceipt> {
  const action = soapActionOf(req.soapAction);
  const actionOp = isOperation(action) ? action : undefined;
  const brokerId = ctx.settings.brokerId;

  // 1. envelope (one libxml2 parse for reading and for the XSD check of step 3)
  let parsed: LiteEnvelope;
  try {
    parsed = parseEnvelopeLite(req.body, MAX_SOAP_BYTES);
  } catch (e) {
    if (!(e instanceof XmlSafeParseError) && !(e instanceof SoapEnvelopeError)) throw e;
    const description =
      e instanceof XmlSafeParseError
        ? { TOO_LARGE: `Messaggio oltre ${MAX_SOAP_BYTES} byte`, DTD_FORBIDDEN: 'DOCTYPE e dichiarazioni non ammessi', ENCODING: 'Codifica non UTF-8', MALFORMED: 'XML non ben formato', EMPTY: 'Messaggio vuoto' }[e.code]
        : e.message;
    if (e instanceof SoapEnvelopeError && e.code === 'VERSION') {
      return { status: 500, xml: soapFault('VersionMismatch', description), outcome: 'FAULT', faultCode: 'PAA_SINTASSI_EXTRAXSD' };
    }
    if (actionOp) {
      return { status: 200, xml: faultAnswer(actionOp, 'PAA_SINTASSI_EXTRAXSD', description, brokerId), operation: actionOp, outcome: 'KO', faultCode: 'PAA_SINTASSI_EXTRAXSD' };
    }
    return { status: 500, xml: soapFault('Client', `PAA_SINTASSI_EXTRAXSD: ${description}`), outcome: 'FAULT', faultCode: 'PAA_SINTASSI_EXTRAXSD' };
  }

  try {
    const run = async () => await checkedRequest(ctx, req, parsed.payload, parsed.native, action, brokerId);
    // paDemandPaymentNotice writes a position (in its own write transaction), so it is not run
    // inside the read snapshot; every other message reads its checks and its answer in one
    // snapshot (one read lock, not one per statement).
    if (parsed.payload.localName === OPERATIONS.paDemandPaymentNotice.request) return await run();
    return await readSnapshot(ctx.db, run);
  } finally {
    parsed.native.dispose();
  }
}

async function checkedRequest(
  ctx: StationContext,
  req: StationRequest,
  payload: Element,
  native: XmlDocument,
  action: string | undefined,
  brokerId: string,
): Promise<StationResult | PendingReceipt> {
  // 2. operation
  const op = payload.namespaceURI === PA_FOR_NODE_NS ? BY_REQUEST.get(payload.localName) : undefined;
  if (!op) {
    return { status: 500, xml: soapFault('Client', `Operazione sconosciuta: ${payload.localName.slice(0, 100)}`), outcome: 'FAULT', faultCode: 'PAA_SINTASSI_EXTRAXSD' };
  }
  const idPA = text(payload, 'idPA');
  const faultId = idPA && /^[0-9]{11}$/.test(idPA) ? idPA : brokerId;
  const ko = (code: FaultCode, description: string, extra: Partial<StationResult> = {}): StationResult => ({
    status: 200,
    xml: faultAnswer(op, code, description, faultId),
    operation: op,
    outcome: 'KO',
    faultCode: code,
    idPA,
    ...extra,
  });
  if (action !== undefined && action !== op) {
    return ko('PAA_SINTASSI_EXTRAXSD', `SOAPAction «${action.slice(0, 60)}» diversa dall’operazione ${op}`);
  }

  // 3. XSD
  const check = paForNodeSoapSchema().validateDocument(native);
  if (!check.valid) return ko('PAA_SINTASSI_XSD', check.errors.slice(0, 3).join(' | '));

  // 4. identity
  const ente = await servedEnte(ctx.db, idPA);
  if (!ente) return ko('PAA_ID_DOMINIO_ERRATO', `L’ente ${idPA} non è servito da questa stazione`);
  if (text(payload, 'idBrokerPA') !== brokerId) return ko('PAA_ID_INTERMEDIARIO_ERRATO', 'idBrokerPA diverso dall’intermediario di questa stazione');
  if (text(payload, 'idStation') !== ctx.settings.stationId) return ko('PAA_STAZIONE_INT_ERRATA', 'idStation diverso da questa stazione');

  // 5. operation
  try {
    switch (op) {
      case 'paVerifyPaymentNotice':
      case 'paGetPayment':
      case 'paGetPaymentV2':
        return await paymentQuery(ctx, op, ente, payload, ko);
      case 'paSendRT':
      case 'paSendRTV2':
        return sendRt(ctx, op, ente, payload, req, ko);
      case 'paDemandPaymentNotice': {
        const r = await demandPaymentNotice(ctx.db, ente, payload, ctx.now?.());
        if (!r.ok) return ko(r.code, r.description);
        return { status: 200, xml: answer(op, [el('outcome', 'OK'), r.content]), operation: op, outcome: 'OK', idPA: ente.fiscalCode, noticeNumber: r.noticeNumber, fiscalCode: ente.fiscalCode };
      }
    }
  } catch (e) {
    if (e instanceof Fault) return ko(e.code, e.description);
    throw e;
  }
}

type Ko = (code: FaultCode, description: string, extra?: Partial<StationResult>) => StationResult;

async function paymentQuery(ctx: StationContext, op: 'paVerifyPaymentNotice' | 'paGetPayment' | 'paGetPaymentV2', ente: Ente, payload: Element, ko: Ko): Promise<StationResult> {
  const qrFiscalCode = text(payload, 'qrCode/fiscalCode')!;
  const noticeNumber = text(payload, 'qrCode/noticeNumber')!;
  const owner = qrFiscalCode === ente.fiscalCode ? ente : await servedEnte(ctx.db, qrFiscalCode);
  if (!owner) return ko('PAA_ID_DOMINIO_ERRATO', `L’ente ${qrFiscalCode} dell’avviso non è servito da questa stazione`, { noticeNumber, fiscalCode: qrFiscalCode });
  const found = await findForStation(stationQueries(ctx.db), owner.id, noticeNumber);
  const today = todayInItaly(ctx.now?.() ?? new Date());
  const notPayable = checkPayable(found, today);
  if (notPayable) return ko(notPayable.code, notPayable.message, { noticeNumber, fiscalCode: qrFiscalCode });
  const { position, option } = found!;
  const base = { status: 200 as const, operation: op, outcome: 'OK' as const, idPA: ente.fiscalCode, noticeNumber, fiscalCode: qrFiscalCode };
  if (op === 'paVerifyPaymentNotice') {
    return { ...base, xml: answer(op, [el('outcome', 'OK'), await verifyContent(ctx.db, owner, position, option)]) };
  }
  try {
    const data = await paymentDataContent(ctx.db, owner, position, option, {
          v2: op === 'paGetPaymentV2',
          postal: text(payload, 'transferType') === 'POSTAL',
        });
    return { ...base, xml: answer(op, [el('outcome', 'OK'), data]) };
  } catch (e) {
    if (e instanceof StampNeedsV2Error) return ko('PAA_SEMANTICA', e.message, { noticeNumber, fiscalCode: qrFiscalCode });
    throw e;
  }
}

function sendRt(ctx: StationContext, op: 'paSendRT' | 'paSendRTV2', ente: Ente, payload: Element, req: StationRequest, ko: Ko): PendingReceipt {
  const receipt = readReceipt(childReceipt(payload));
  const rawXml = typeof req.body === 'string' ? req.body : Buffer.from(req.body).toString('utf8');
  const noticeNumber = receipt.noticeNumber;
  return {
    kind: 'receipt',
    input: { receiver: ente, primitive: op, receipt, rawXml, requestId: req.requestId, now: ctx.now?.() },
    finish(outcome) {
      if (outcome.kind === 'duplicate' && ctx.settings.receiptReplayAnswer === 'PAA_RECEIPT_DUPLICATA') {
        return ko('PAA_RECEIPT_DUPLICATA', 'Ricevuta già acquisita', { noticeNumber, fiscalCode: receipt.fiscalCode });
      }
      return { status: 200, xml: answer(op, el('outcome', 'OK')), operation: op, outcome: 'OK', idPA: ente.fiscalCode, noticeNumber, fiscalCode: receipt.fiscalCode };
    },
  };
}

function childReceipt(payload: Element): Element {
  for (let n = payload.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === 'receipt') return n as Element;
  }
  throw new Fault('PAA_SINTASSI_XSD', 'receipt mancante');
}

/** The answer for a request that never reached the handler (body too large, internal error). */
export function stationErrorResult(soapAction: string | string[] | undefined, code: FaultCode, description: string, brokerId: string): StationResult {
  const action = soapActionOf(soapAction);
  if (isOperation(action)) {
    return { status: 200, xml: faultAnswer(action, code, description, brokerId), operation: action, outcome: 'KO', faultCode: code };
  }
  return { status: 500, xml: soapFault(code === 'PAA_SYSTEM_ERROR' ? 'Server' : 'Client', `${code}: ${description}`), outcome: 'FAULT', faultCode: code };
}
