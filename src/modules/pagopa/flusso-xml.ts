/**
 * Reading a Flusso di Rendicontazione (FlussoRiversamento 1.0.4), downloaded from the node or uploaded: XSD validation and
 * extraction of header and rows. The official XSD enumerates codiceEsitoSingoloPagamento 0/3/9
 * only; SACI 3.2.x added 4 and 8 (reconciliation.md §3), so the file is validated against a copy
 * of the official schema whose only change is the two extra enumeration values (generated in a
 * temporary folder at first use; the official file stays untouched).
 */
import fs from 'node:fs';
import path from 'node:path';
import { centsToDecimalString } from '../../domain/money.js';
import { FLUSSO_NS, specFile } from './spec-files.js';
import { child, children, el, text, xml } from './soap.js';
import { parseXmlSafely } from '../../xml/safe-parse.js';
import { getXsdSchema, schemaScratchDir, type XsdSchema } from '../../xml/xsd.js';

export const ACCEPTED_OUTCOMES = ['0', '3', '4', '8', '9'] as const;
export const MAX_FLOW_BYTES = 8 * 1024 * 1024;

export interface FlowRow {
  ordinal: number;
  iuv: string;
  iur: string;
  transferIndex: number | null;
  amountCents: number;
  outcomeCode: string;
  outcomeDate: string;
}

export interface FlowDoc {
  flowId: string;
  flowDateTime: string;
  settlementId: string;
  settlementDate: string;
  pspId: string;
  pspName: string | null;
  bic: string | null;
  receiverFiscalCode: string;
  totalPayments: number;
  totalAmountCents: number;
  rows: FlowRow[];
}

let extended: XsdSchema | null = null;

/** The official FlussoRiversamento XSD with esito 4 and 8 added. */
export function extendedFlussoSchema(): XsdSchema {
  if (extended) return extended;
  const original = fs.readFileSync(specFile.flussoXsd(), 'utf8');
  const anchor = '<xsd:enumeration value="9" />';
  if (!original.includes(anchor)) throw new Error('FlussoRiversamento XSD: enumeration of codiceEsitoSingoloPagamento not found');
  const patched = original.replace(anchor, `${anchor}<xsd:enumeration value="4" /><xsd:enumeration value="8" />`);
  const dir = schemaScratchDir('sael-flusso-xsd-');
  const file = path.join(dir, 'FlussoRiversamento_1_0_4_esiti_SACI_3_2.xsd');
  fs.writeFileSync(file, patched);
  extended = getXsdSchema(file, { maxBytes: MAX_FLOW_BYTES });
  return extended;
}

function cents(s: string | undefined): number {
  const m = /^(-?)(\d+)\.(\d{2})$/.exec((s ?? '').trim());
  if (!m) return NaN;
  const v = Number(m[2]) * 100 + Number(m[3]);
  return m[1] ? -v : v;
}

export class FlowXmlError extends Error {
  constructor(readonly problems: string[]) {
    super(`Flusso non valido: ${problems.slice(0, 3).join('; ')}`);
    this.name = 'FlowXmlError';
  }
}

/** Validates against the (extended) XSD and reads the flow; throws FlowXmlError with the XSD messages. */
export function parseFlowXml(input: string | Uint8Array): FlowDoc {
  const check = extendedFlussoSchema().validate(input);
  if (!check.valid) throw new FlowXmlError(check.errors.length ? check.errors.slice(0, 20) : ['documento non conforme allo schema FlussoRiversamento 1.0.4']);
  return readFlow(parseXmlSafely(input, { maxBytes: MAX_FLOW_BYTES }).documentElement!);
}

/** Reads an already validated FlussoRiversamento element. */
export function readFlow(root: Element): FlowDoc {
  const rows = children(root, 'datiSingoliPagamenti').map((r, i) => {
    const idx = text(r, 'indiceDatiSingoloPagamento');
    return {
      ordinal: i + 1,
      iuv: text(r, 'identificativoUnivocoVersamento') ?? '',
      iur: text(r, 'identificativoUnivocoRiscossione') ?? '',
      transferIndex: idx ? Number(idx) : null,
      amountCents: cents(text(r, 'singoloImportoPagato')),
      outcomeCode: text(r, 'codiceEsitoSingoloPagamento') ?? '',
      outcomeDate: text(r, 'dataEsitoSingoloPagamento') ?? '',
    };
  });
  return {
    flowId: text(root, 'identificativoFlusso') ?? '',
    flowDateTime: text(root, 'dataOraFlusso') ?? '',
    settlementId: text(root, 'identificativoUnivocoRegolamento') ?? '',
    settlementDate: text(root, 'dataRegolamento') ?? '',
    pspId: text(root, 'istitutoMittente/identificativoUnivocoMittente/codiceIdentificativoUnivoco') ?? '',
    pspName: text(root, 'istitutoMittente/denominazioneMittente') || null,
    bic: text(root, 'codiceBicBancaDiRiversamento') || null,
    receiverFiscalCode: text(root, 'istitutoRicevente/identificativoUnivocoRicevente/codiceIdentificativoUnivoco') ?? '',
    totalPayments: Number(text(root, 'numeroTotalePagamenti')),
    totalAmountCents: cents(text(child(root, 'importoTotalePagamenti') ? root : undefined, 'importoTotalePagamenti')),
    rows,
  };
}

/** What a FlussoRiversamento 1.0.4 document says, for {@link flussoRiversamentoXml}. */
export interface FlussoOut {
  flowId: string;
  flowDateTime: string;
  settlementId: string;
  settlementDate: string;
  sender: { type: string; id: string; name: string | null | undefined };
  bic: string | null | undefined;
  receiver: { fiscalCode: string; name?: string | null };
  totalPayments: number;
  totalAmountCents: number;
  rows: { iuv: string; iur: string; index: number; amountCents: number; outcome: string; date: string }[];
}

/**
 * Writes a FlussoRiversamento 1.0.4 document (the FdR REST client's flows, the node simulator's):
 * optional elements are left out when missing, amounts in euro with two decimals.
 */
export function flussoRiversamentoXml(f: FlussoOut): string {
  const body = [
    el('pay_i:versioneOggetto', '1.0'),
    el('pay_i:identificativoFlusso', f.flowId),
    el('pay_i:dataOraFlusso', f.flowDateTime),
    el('pay_i:identificativoUnivocoRegolamento', f.settlementId),
    el('pay_i:dataRegolamento', f.settlementDate),
    el('pay_i:istitutoMittente', [
      el('pay_i:identificativoUnivocoMittente', [el('pay_i:tipoIdentificativoUnivoco', f.sender.type), el('pay_i:codiceIdentificativoUnivoco', f.sender.id)]),
      el('pay_i:denominazioneMittente', f.sender.name),
    ]),
    f.bic ? el('pay_i:codiceBicBancaDiRiversamento', f.bic) : undefined,
    el('pay_i:istitutoRicevente', [
      el('pay_i:identificativoUnivocoRicevente', [el('pay_i:tipoIdentificativoUnivoco', 'G'), el('pay_i:codiceIdentificativoUnivoco', f.receiver.fiscalCode)]),
      el('pay_i:denominazioneRicevente', f.receiver.name),
    ]),
    el('pay_i:numeroTotalePagamenti', f.totalPayments),
    el('pay_i:importoTotalePagamenti', centsToDecimalString(f.totalAmountCents)),
    f.rows.map((r) =>
      el('pay_i:datiSingoliPagamenti', [
        el('pay_i:identificativoUnivocoVersamento', r.iuv),
        el('pay_i:identificativoUnivocoRiscossione', r.iur),
        el('pay_i:indiceDatiSingoloPagamento', r.index),
        el('pay_i:singoloImportoPagato', centsToDecimalString(r.amountCents)),
        el('pay_i:codiceEsitoSingoloPagamento', r.outcome),
        el('pay_i:dataEsitoSingoloPagamento', r.date),
      ]),
    ),
  ];
  return `<?xml version="1.0" encoding="UTF-8"?>${xml(el('pay_i:FlussoRiversamento', body, ` xmlns:pay_i="${FLUSSO_NS}"`))}`;
}
