/**
 * Simulated banca tesoriera (demo and tests only): the treasury statement an ente would receive
 * for the reporting flows the simulated node publishes — one cumulative SCT credit per flow,
 * causale `/PUR/LGPE-RIVERSAMENTO/URI/<flow id>` with the noise real statements carry (bank prefix,
 * `/ZZ…` tags, a line-wrap space inside the flow id) — as the documented CSV layout
 * (README "Helpdesk") or as ISO 20022 camt.053.001.02.
 */
import { csvSafe } from '../../domain/csv-safe.js';
import type { DbLike } from '../../db/client.js';
import { escapeXml } from '../../modules/pagopa/soap.js';
import { readFlow } from '../../modules/pagopa/flusso-xml.js';
import { parseXmlSafely } from '../../xml/safe-parse.js';
import { buildFlows } from './fdr.js';

export interface SimCredit {
  movementId: string;
  bookingDate: string;
  valueDate: string;
  amountCents: number;
  causale: string;
  flowId: string;
}

function nextDay(iso: string): string {
  const d = new Date(`${iso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** A line-wrap space after the 20th character, as statements printed on 35-character lines do. */
export function noisyCausale(flowId: string, pspName = 'PSP simulato S.p.A.'): string {
  const wrapped = flowId.length > 20 ? `${flowId.slice(0, 20)} ${flowId.slice(20)}` : flowId;
  return `ACCREDITO BONIFICO SEPA RI1/PUR/LGPE- RIVERSAMENTO/URI/${wrapped}/ZZ2${pspName}`;
}

/** One credit per flow of the ente (deterministic for the same simulated payments). */
export async function simulatedCredits(db: DbLike, fiscalCode: string): Promise<SimCredit[]> {
  return (await buildFlows(db, fiscalCode)).map((f) => {
    const doc = readFlow(parseXmlSafely(f.xml).documentElement!);
    return {
      movementId: doc.settlementId,
      bookingDate: nextDay(doc.settlementDate),
      valueDate: nextDay(doc.settlementDate),
      amountCents: doc.totalAmountCents,
      causale: noisyCausale(doc.flowId, doc.pspName ?? undefined),
      flowId: doc.flowId,
    };
  });
}

const itDate = (iso: string) => `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
const itAmount = (cents: number) => {
  const int = String(Math.floor(cents / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  return `${int},${String(cents % 100).padStart(2, '0')}`;
};
const csvCell = (value: string) => {
  const s = csvSafe(value);
  return /[;"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The documented CSV layout (`;`, gg/mm/aaaa, 1.234,56). */
export function treasuryCsv(credits: SimCredit[], iban = ''): string {
  const lines = ['data_contabile;data_valuta;id_movimento;segno;importo;causale;iban'];
  for (const c of credits) lines.push([itDate(c.bookingDate), itDate(c.valueDate), c.movementId, 'C', itAmount(c.amountCents), csvCell(c.causale), iban].join(';'));
  return `${lines.join('\r\n')}\r\n`;
}

/** ISO 20022 camt.053.001.02 with one booked CRDT entry per credit. */
export function treasuryCamt053(credits: SimCredit[], iban: string, statementId = 'SIM-STMT-1'): string {
  const amt = (c: number) => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;
  const entries = credits
    .map(
      (c) => `<Ntry><Amt Ccy="EUR">${amt(c.amountCents)}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>${c.bookingDate}</Dt></BookgDt><ValDt><Dt>${c.valueDate}</Dt></ValDt><AcctSvcrRef>${escapeXml(c.movementId)}</AcctSvcrRef><BkTxCd><Prtry><Cd>SCT</Cd></Prtry></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>${escapeXml(c.movementId)}</EndToEndId></Refs><RmtInf><Ustrd>${escapeXml(c.causale.slice(0, 140))}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>`,
    )
    .join('');
  const now = new Date().toISOString().slice(0, 19);
  return `<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>${escapeXml(statementId)}</MsgId><CreDtTm>${now}</CreDtTm></GrpHdr><Stmt><Id>${escapeXml(statementId)}</Id><CreDtTm>${now}</CreDtTm><Acct><Id><IBAN>${escapeXml(iban)}</IBAN></Id></Acct>${entries}</Stmt></BkToCstmrStmt></Document>`;
}
