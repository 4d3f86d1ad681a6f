/**
 * Writes an OPI Giornale di Cassa (1.4, 1.6.1, 1.7.1, 1.8) split into pages: the simulated
 * treasurer of the demo (helpdesk → Tesoreria → "OPI"), the sample journals of the tests
 * (test/fixtures/opi) and the benchmark. Every page validates against its version's XSD. The
 * `ds:Signature` the schema requires is a placeholder (digest of the page body, no real signature):
 * the platform does not verify it (SIOPE+ does).
 */
import crypto from 'node:crypto';
import { escapeXml } from '../pagopa/soap.js';
import type { OpiVersion } from './opi-journal.js';

export interface OpiOutMovement {
  tipoMovimento?: 'ENTRATA' | 'USCITA';
  tipoDocumento?: 'SOSPESO ENTRATA' | 'REVERSALE' | 'MANDATO' | 'SOSPESO USCITA' | 'GIROCONTO';
  tipoOperazione?: 'ESEGUITO' | 'STORNATO' | 'REGOLARIZZATO' | 'RIPRISTINATO';
  numeroDocumento: number;
  progressivo?: number;
  amountCents: number;
  date: string;
  valueDate?: string;
  causale: string;
  cliente?: string;
  /** A value of the version's enumeration (default SEPA CREDIT TRANSFER, valid in every version). */
  tipoEsecuzione?: string;
}

export interface OpiOutJournal {
  version: OpiVersion;
  enteFiscalCode: string;
  enteName: string;
  esercizio: number;
  /** Reference date of the journal (yyyy-mm-dd). */
  date: string;
  /** Alphanumeric part of identificativo_flusso_BT (10–50 characters). */
  code?: string;
  pages?: number;
  /** Totals per account written (default true); a number changes the declared ENTRATA total of page 1. */
  wrongInTotalPage1?: number;
  createdAt?: string;
  movements: OpiOutMovement[];
}

const dec = (c: number) => `${c < 0 ? '-' : ''}${Math.floor(Math.abs(c) / 100)}.${String(Math.abs(c) % 100).padStart(2, '0')}`;
const tag = (name: string, value: string | number) => `<${name}>${escapeXml(String(value))}</${name}>`;

/** identificativo_flusso_BT of a journal (`GDC-<yyyymmdd><code>#001#001`). */
export function opiFlowId(j: Pick<OpiOutJournal, 'date' | 'code' | 'enteFiscalCode'>): string {
  return `GDC-${j.date.replace(/-/g, '')}${(j.code ?? `${j.enteFiscalCode}0001`).replace(/[^A-Za-z0-9]/g, '')}#001#001`;
}

function movementXml(v: OpiVersion, m: OpiOutMovement, ordinal: number, j: OpiOutJournal): string {
  const p: string[] = [];
  if (v !== '1.4') p.push(tag('identificativo_flusso', `${j.esercizio}${String(ordinal).padStart(10, '0')}`), tag('numero_movimento', ordinal));
  const tipoDoc = m.tipoDocumento ?? 'SOSPESO ENTRATA';
  p.push(
    tag('tipo_movimento', m.tipoMovimento ?? 'ENTRATA'),
    tag('tipo_documento', tipoDoc),
    tag('tipo_operazione', m.tipoOperazione ?? 'ESEGUITO'),
    tag('numero_documento', String(m.numeroDocumento).padStart(7, '0')),
    tag('progressivo_documento', String(m.progressivo ?? (tipoDoc === 'REVERSALE' || tipoDoc === 'MANDATO' ? 1 : 0)).padStart(7, '0')),
    tag('importo', dec(m.amountCents)),
    tag('data_movimento', m.date),
  );
  if (v !== '1.4') p.push(tag('data_movimento_siope', m.date));
  p.push(
    tag('data_valuta_ente', m.valueDate ?? m.date),
    tag('tipo_esecuzione', m.tipoEsecuzione ?? 'SEPA CREDIT TRANSFER'),
    tag('assoggettamento_bollo', 'ESENTE BOLLO'),
    `<cliente>${tag('anagrafica_cliente', m.cliente ?? 'PSP SIMULATO S.P.A.')}</cliente>`,
    tag('causale', m.causale),
  );
  return `    <movimento_conto_evidenza>\n      ${p.join('\n      ')}\n    </movimento_conto_evidenza>\n`;
}

function signature(body: string): string {
  const digest = crypto.createHash('sha256').update(body).digest('base64');
  return (
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>' +
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>' +
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>' +
    `<ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>${digest}</ds:DigestValue></ds:Reference>` +
    `</ds:SignedInfo><ds:SignatureValue>${Buffer.from('FIRMA SIMULATA').toString('base64')}</ds:SignatureValue></ds:Signature>`
  );
}

/** The pages of the journal, in order (movements spread evenly; at least one page). */
export function writeOpiJournal(j: OpiOutJournal): string[] {
  const v = j.version;
  const pages = Math.max(1, j.pages ?? 1);
  const per = Math.ceil(j.movements.length / pages) || 1;
  const flowId = opiFlowId(j);
  const createdAt = j.createdAt ?? `${j.date}T20:00:00`;
  const ipa = `C${j.enteFiscalCode.slice(-5)}`.toUpperCase();
  const out: string[] = [];
  for (let k = 0; k < pages; k++) {
    const slice = j.movements.slice(k * per, (k + 1) * per);
    const inCents = slice.filter((m) => (m.tipoMovimento ?? 'ENTRATA') === 'ENTRATA').reduce((s, m) => s + m.amountCents, 0);
    const outCents = slice.filter((m) => m.tipoMovimento === 'USCITA').reduce((s, m) => s + m.amountCents, 0);
    const declaredIn = k === 0 && j.wrongInTotalPage1 !== undefined ? j.wrongInTotalPage1 : inCents;
    const body =
      `\n  <testata_messaggio>${tag('codice_ABI_BT', '03069')}${tag('data_ora_creazione_flusso', createdAt)}${tag('codice_ente', ipa)}${tag('descrizione_ente', j.enteName)}` +
      `${tag('codice_istat_ente', '070006000')}${tag('codice_fiscale_ente', j.enteFiscalCode)}${tag('codice_tramite_ente', 'A2A-12345678')}${tag('codice_tramite_BT', 'A2A-87654321')}${tag('codice_ente_BT', '1316225')}</testata_messaggio>\n  ` +
      `${tag('identificativo_flusso_BT', flowId)}\n  ${tag('pagina', k + 1)}\n  ${tag('pagine_totali', pages)}\n  ${tag('esercizio', j.esercizio)}\n  ` +
      (v === '1.4' ? `${tag('data_inizio_periodo_riferimento', j.date)}\n  ${tag('data_fine_periodo_riferimento', j.date)}` : tag('data_riferimento_GdC', j.date)) +
      `\n  <informazioni_conto_evidenza>\n    ${tag('conto_evidenza', '0000001')}\n    ${tag('descrizione_conto_evidenza', 'CONTO ORDINARIO')}\n` +
      slice.map((m, i) => movementXml(v, m, k * per + i + 1, j)).join('') +
      `    ${tag('totale_entrate_conto_evidenza', dec(declaredIn))}\n    ${tag('totale_uscite_conto_evidenza', dec(outCents))}\n  </informazioni_conto_evidenza>\n  `;
    out.push(`<?xml version="1.0" encoding="UTF-8"?>\n<flusso_giornale_di_cassa>${body}${signature(body)}\n</flusso_giornale_di_cassa>\n`);
  }
  return out;
}
