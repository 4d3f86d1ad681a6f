/**
 * The SOAP messages the pagoPA node sends to an EC station (paForNode), built the way the node
 * does: operation element qualified with a configurable prefix, children unqualified. Also reads
 * the station's answers. Used by the simulator and by the tests.
 */
import crypto from 'node:crypto';
import { centsToDecimalString } from '../../domain/money.js';
import { amountToCents, child, children, el, escapeXml, parseEnvelope, text, xml, XmlNode, type XmlContent } from '../../modules/pagopa/soap.js';
import { PA_FOR_NODE_NS, SOAP_ENV_NS } from '../../modules/pagopa/spec-files.js';

export interface Identity {
  idPA: string;
  idBrokerPA: string;
  idStation: string;
}

export interface EnvelopeStyle {
  /** Prefix of the paForNode namespace (the node uses `nod:`, others `pafn:`, `ns2:`…). */
  prefix?: string;
  /** Prefix of the SOAP envelope namespace. */
  soapPrefix?: string;
}

export function nodeEnvelope(operationElement: string, content: XmlContent, style: EnvelopeStyle = {}): string {
  const p = style.prefix ?? 'nod';
  const s = style.soapPrefix ?? 'soapenv';
  return (
    `<?xml version="1.0" encoding="UTF-8"?><${s}:Envelope xmlns:${s}="${SOAP_ENV_NS}" xmlns:${p}="${PA_FOR_NODE_NS}">` +
    `<${s}:Header/><${s}:Body><${p}:${operationElement}>${xml(content)}</${p}:${operationElement}></${s}:Body></${s}:Envelope>`
  );
}

function ids(id: Identity): XmlContent {
  return [el('idPA', id.idPA), el('idBrokerPA', id.idBrokerPA), el('idStation', id.idStation)];
}

export function verifyRequest(id: Identity, qr: { fiscalCode: string; noticeNumber: string }, style?: EnvelopeStyle): string {
  return nodeEnvelope('paVerifyPaymentNoticeReq', [ids(id), el('qrCode', [el('fiscalCode', qr.fiscalCode), el('noticeNumber', qr.noticeNumber)])], style);
}

export interface GetPaymentOptions {
  v2?: boolean;
  amountCents?: number;
  paymentNote?: string;
  transferType?: 'POSTAL' | 'PAGOPA';
  dueDate?: string;
}

export function getPaymentRequest(id: Identity, qr: { fiscalCode: string; noticeNumber: string }, o: GetPaymentOptions = {}, style?: EnvelopeStyle): string {
  return nodeEnvelope(
    o.v2 ? 'paGetPaymentV2Request' : 'paGetPaymentReq',
    [
      ids(id),
      el('qrCode', [el('fiscalCode', qr.fiscalCode), el('noticeNumber', qr.noticeNumber)]),
      el('amount', o.amountCents === undefined ? undefined : centsToDecimalString(o.amountCents)),
      el('paymentNote', o.paymentNote),
      el('transferType', o.transferType),
      el('dueDate', o.dueDate),
    ],
    style,
  );
}

export interface DemandParams {
  /** idServizio of the service in pagoPA's services catalogue (5 characters). */
  idServizio: string;
  /** idSoggettoServizio (5 characters; the station does not use it). */
  idSoggettoServizio?: string;
  /** The PSP's form for the service (XML), sent base64 as datiSpecificiServizioRequest. */
  formXml: string;
}

/** paDemandPaymentNoticeRequest: a payment of a service started at a PSP, without a notice. */
export function demandRequest(id: Identity, p: DemandParams, style?: EnvelopeStyle): string {
  return nodeEnvelope(
    'paDemandPaymentNoticeRequest',
    [
      ids(id),
      el('idServizio', p.idServizio),
      el('idSoggettoServizio', p.idSoggettoServizio ?? '00001'),
      el('datiSpecificiServizioRequest', Buffer.from(p.formXml, 'utf8').toString('base64')),
    ],
    style,
  );
}

// ---- reading answers --------------------------------------------------------------------------

export interface StationAnswer {
  outcome: 'OK' | 'KO';
  faultCode?: string;
  faultDescription?: string;
  payload: Element;
}

export function readAnswer(xmlText: string): StationAnswer {
  const { payload } = parseEnvelope(xmlText, 4 * 1024 * 1024);
  if (payload.localName === 'Fault') {
    return { outcome: 'KO', faultCode: text(payload, 'faultstring')?.split(':')[0], faultDescription: text(payload, 'faultstring'), payload };
  }
  return {
    outcome: text(payload, 'outcome') === 'OK' ? 'OK' : 'KO',
    faultCode: text(payload, 'fault/faultCode'),
    faultDescription: text(payload, 'fault/description'),
    payload,
  };
}

export interface PaymentTransfer {
  idTransfer: number;
  amountCents: number;
  fiscalCodePA: string;
  companyName?: string;
  iban?: string;
  stamp?: { hashDocumento: string; tipoBollo: string; provinciaResidenza: string };
  remittanceInformation: string;
  transferCategory: string;
  metadata: { key: string; value: string }[];
}

export interface PaymentData {
  creditorReferenceId: string;
  paymentAmountCents: number;
  dueDate: string;
  description: string;
  companyName?: string;
  officeName?: string;
  /** The debtor ctSubject, as XML children (copied as is into the receipt). */
  debtorXml: string;
  debtorFiscalCode: string;
  transfers: PaymentTransfer[];
}

function innerXml(e: Element): string {
  let out = '';
  for (let n = e.firstChild; n; n = n.nextSibling) out += n.nodeType === 1 ? serialize(n as Element) : n.nodeType === 3 ? escapeXml(n.nodeValue ?? '') : '';
  return out;
}

/** Serialises an unqualified element subtree (ctSubject children have no namespace). */
function serialize(e: Element): string {
  return `<${e.localName}>${innerXml(e)}</${e.localName}>`;
}

export function readPaymentData(answer: StationAnswer): PaymentData {
  const data = child(answer.payload, 'data');
  if (!data) throw new Error('no data in the paGetPayment answer');
  const debtor = child(data, 'debtor')!;
  return {
    creditorReferenceId: text(data, 'creditorReferenceId')!,
    paymentAmountCents: amountToCents(text(data, 'paymentAmount'))!,
    dueDate: text(data, 'dueDate')!,
    description: text(data, 'description')!,
    companyName: text(data, 'companyName'),
    officeName: text(data, 'officeName'),
    debtorXml: innerXml(debtor),
    debtorFiscalCode: text(debtor, 'uniqueIdentifier/entityUniqueIdentifierValue')!,
    transfers: children(child(data, 'transferList'), 'transfer').map((t) => {
      const stamp = child(t, 'richiestaMarcaDaBollo');
      return {
        idTransfer: Number(text(t, 'idTransfer')),
        amountCents: amountToCents(text(t, 'transferAmount'))!,
        fiscalCodePA: text(t, 'fiscalCodePA')!,
        companyName: text(t, 'companyName'),
        iban: text(t, 'IBAN'),
        stamp: stamp
          ? { hashDocumento: text(stamp, 'hashDocumento')!, tipoBollo: text(stamp, 'tipoBollo')!, provinciaResidenza: text(stamp, 'provinciaResidenza')! }
          : undefined,
        remittanceInformation: text(t, 'remittanceInformation')!,
        transferCategory: text(t, 'transferCategory')!,
        metadata: children(child(t, 'metadata'), 'mapEntry').map((m) => ({ key: text(m, 'key')!, value: text(m, 'value')! })),
      };
    }),
  };
}

export interface DemandAnswer {
  fiscalCode: string;
  noticeNumber: string;
  amountCents: number;
  description?: string;
  companyName?: string;
  officeName?: string;
}

/** The notice a positive paDemandPaymentNoticeResponse gives. */
export function readDemandAnswer(answer: StationAnswer): DemandAnswer {
  const p = answer.payload;
  const fiscalCode = text(p, 'qrCode/fiscalCode');
  const noticeNumber = text(p, 'qrCode/noticeNumber');
  const amountCents = amountToCents(text(p, 'paymentList/paymentOptionDescription/amount'));
  if (!fiscalCode || !noticeNumber || amountCents === undefined) throw new Error('no qrCode or amount in the paDemandPaymentNotice answer');
  return { fiscalCode, noticeNumber, amountCents, description: text(p, 'paymentDescription'), companyName: text(p, 'companyName'), officeName: text(p, 'officeName') };
}

// ---- receipts -------------------------------------------------------------------------------

export interface Psp {
  idPSP: string;
  name: string;
  fiscalCode: string;
  idChannel: string;
  channelDescription: string;
  paymentMethod: string;
}

export const DEMO_PSP: Psp = {
  idPSP: 'SIMPSP01',
  name: 'PSP simulato S.p.A.',
  fiscalCode: '00000000001',
  idChannel: 'SIMPSP01_01',
  channelDescription: 'app',
  paymentMethod: 'creditCard',
};

export interface ReceiptParams {
  v2: boolean;
  receiptId: string;
  noticeNumber: string;
  /** Owner of the notice. */
  fiscalCode: string;
  data: PaymentData;
  psp?: Psp;
  paymentNote?: string;
  paymentDateTime?: Date;
  feeCents?: number;
  outcome?: 'OK' | 'KO';
  /** Overrides the paid amount (to simulate receipts that do not add up). */
  paymentAmountCents?: number;
  standIn?: boolean;
}

/** A random paymentToken-like receipt id (32 hex characters, as the node's). */
export function newReceiptId(): string {
  return crypto.randomBytes(16).toString('hex');
}

/** base64 of a marcaDaBollo-like XML for the V2 MBDAttachment (not a real signed stamp). */
function mbdAttachment(hash: string): string {
  const doc = `<?xml version="1.0" encoding="UTF-8"?><marcaDaBollo xmlns="http://www.agenziaentrate.gov.it/2014/MarcaDaBollo"><PSP><CodiceFiscale>00000000001</CodiceFiscale><Denominazione>PSP simulato</Denominazione></PSP><IUBD>01234567890123</IUBD><OraAcquisto>${new Date().toISOString()}</OraAcquisto><Importo>16.00</Importo><TipoBollo>01</TipoBollo><ImprontaDocumento><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue>${hash}</DigestValue></ImprontaDocumento></marcaDaBollo>`;
  return Buffer.from(doc).toString('base64');
}

/** Built once (an Intl.DateTimeFormat per receipt is slow). */
const ROME_WALL = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Rome', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

/** As the node writes date-times: Italian local time, no offset (`2026-03-01T10:15:00`). */
export function localIsoDateTime(d: Date): string {
  return ROME_WALL.format(d).replace(' ', 'T');
}

export function sendRtRequest(id: Identity, p: ReceiptParams, style?: EnvelopeStyle): string {
  const psp = p.psp ?? DEMO_PSP;
  const when = p.paymentDateTime ?? new Date();
  const transfers = p.data.transfers.map((t) =>
    el('transfer', [
      el('idTransfer', t.idTransfer),
      el('transferAmount', centsToDecimalString(t.amountCents)),
      el('fiscalCodePA', t.fiscalCodePA),
      p.v2 ? el('companyName', t.companyName) : undefined,
      t.stamp ? (p.v2 ? el('MBDAttachment', mbdAttachment(t.stamp.hashDocumento)) : undefined) : el('IBAN', t.iban ?? ''),
      el('remittanceInformation', t.remittanceInformation),
      el('transferCategory', t.transferCategory),
      t.metadata.length ? el('metadata', t.metadata.map((m) => el('mapEntry', [el('key', m.key), el('value', m.value)]))) : undefined,
    ]),
  );
  const receipt = [
    el('receiptId', p.receiptId),
    el('noticeNumber', p.noticeNumber),
    el('fiscalCode', p.fiscalCode),
    el('outcome', p.outcome ?? 'OK'),
    el('creditorReferenceId', p.data.creditorReferenceId),
    el('paymentAmount', centsToDecimalString(p.paymentAmountCents ?? p.data.paymentAmountCents)),
    el('description', p.data.description),
    el('companyName', p.data.companyName ?? 'Ente creditore'),
    el('officeName', p.data.officeName),
    el('debtor', new XmlNode(p.data.debtorXml)),
    el('transferList', transfers),
    el('idPSP', psp.idPSP),
    el('pspFiscalCode', psp.fiscalCode),
    el('PSPCompanyName', psp.name),
    el('idChannel', psp.idChannel),
    el('channelDescription', psp.channelDescription),
    el('paymentMethod', psp.paymentMethod),
    p.v2 ? el('paymentNote', p.paymentNote) : undefined,
    el('fee', centsToDecimalString(p.feeCents ?? 100)),
    el('paymentDateTime', localIsoDateTime(when)),
    el('applicationDate', when.toISOString().slice(0, 10)),
    el('transferDate', when.toISOString().slice(0, 10)),
    p.standIn === undefined ? undefined : el('standIn', p.standIn ? 'true' : 'false'),
  ];
  return nodeEnvelope(p.v2 ? 'paSendRTV2Request' : 'paSendRTReq', [ids(id), el('receipt', receipt)], style);
}
