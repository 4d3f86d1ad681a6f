/**
 * Treasury statements: the documented CSV layout (Italian dates and amounts) and ISO 20022
 * camt.053 (any camt.053.001.xx version). Pure parsing, no database: returns the movements or
 * the full list of problems (an import with any problem stores nothing).
 *
 * CSV layout (README "Helpdesk"): header row, `;` separator (`,` and tab also recognised), UTF-8
 * (BOM allowed) or Windows-1252, columns by name in any order:
 *   data_contabile (gg/mm/aaaa) · data_valuta (optional) · id_movimento · segno (C/D or A/D,
 *   optional: else the sign of the amount) · importo (1.234,56) · causale · iban (optional)
 */
import crypto from 'node:crypto';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import xpath from 'xpath';
import { parseXmlSafely } from '../../xml/safe-parse.js';

export interface StatementMovement {
  /** 1-based line (CSV) or entry number (camt). */
  line: number;
  movementId: string;
  direction: 'CRDT' | 'DBIT';
  amountCents: number;
  bookingDate: string;
  valueDate: string | null;
  causale: string;
  account: string | null;
}

export interface StatementProblem {
  line: number;
  field: string;
  message: string;
}

export interface ParsedStatement {
  format: 'csv' | 'camt053';
  movements: StatementMovement[];
  problems: StatementProblem[];
  /** Entries not imported on purpose (camt: not booked), with the reason. */
  skipped: { line: number; reason: string }[];
}

export const CSV_COLUMNS = ['data_contabile', 'data_valuta', 'id_movimento', 'segno', 'importo', 'causale', 'iban'] as const;

const ALIASES: Record<string, (typeof CSV_COLUMNS)[number]> = {
  data_contabile: 'data_contabile',
  data_operazione: 'data_contabile',
  data: 'data_contabile',
  data_valuta: 'data_valuta',
  valuta: 'data_valuta',
  id_movimento: 'id_movimento',
  identificativo_movimento: 'id_movimento',
  riferimento: 'id_movimento',
  trn: 'id_movimento',
  segno: 'segno',
  importo: 'importo',
  causale: 'causale',
  descrizione: 'causale',
  iban: 'iban',
  iban_conto: 'iban',
  conto: 'iban',
};

function normHeader(h: string): string {
  return h
    .trim()
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

/** gg/mm/aaaa, gg-mm-aaaa, gg.mm.aaaa or aaaa-mm-gg → ISO date; null if not a real date. */
export function parseItalianDate(s: string): string | null {
  const t = s.trim();
  let y: number, m: number, d: number;
  let r = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(t);
  if (r) [d, m, y] = [Number(r[1]), Number(r[2]), Number(r[3])];
  else if ((r = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t))) [y, m, d] = [Number(r[1]), Number(r[2]), Number(r[3])];
  else return null;
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) return null;
  return dt.toISOString().slice(0, 10);
}

/** "1.234,56", "-1234,5", "1234.56", "+12" → signed cents; null otherwise. */
export function parseItalianAmount(s: string): number | null {
  let t = s.trim().replace(/\s|€/g, '');
  let sign = 1;
  if (/^[+-]/.test(t)) {
    if (t[0] === '-') sign = -1;
    t = t.slice(1);
  }
  let r = /^(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?$/.exec(t);
  let int: string, dec: string;
  if (r) {
    int = r[1]!.replace(/\./g, '');
    dec = r[2] ?? '';
  } else if ((r = /^(\d+)\.(\d{1,2})$/.exec(t))) {
    int = r[1]!;
    dec = r[2]!;
  } else return null;
  const cents = Number(int) * 100 + Number(dec.padEnd(2, '0'));
  return Number.isSafeInteger(cents) ? sign * cents : null;
}

function decode(bytes: Buffer): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = iconv.decode(bytes, 'win1252');
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function parseStatementCsv(bytes: Buffer): ParsedStatement {
  const out: ParsedStatement = { format: 'csv', movements: [], problems: [], skipped: [] };
  const text = decode(bytes);
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  const delimiter = [';', '\t', ','].map((d) => [d, firstLine.split(d).length] as const).sort((a, b) => b[1] - a[1])[0]![0];
  let records: string[][];
  try {
    records = parse(text, { delimiter, relax_column_count: true, skip_empty_lines: true, trim: true, bom: true }) as string[][];
  } catch (e) {
    out.problems.push({ line: (e as { lines?: number }).lines ?? 1, field: '', message: `CSV non leggibile: ${(e as Error).message}` });
    return out;
  }
  if (records.length === 0) {
    out.problems.push({ line: 1, field: '', message: 'File vuoto' });
    return out;
  }
  const cols = new Map<string, number>();
  records[0]!.forEach((h, i) => {
    const k = ALIASES[normHeader(h)];
    if (k && !cols.has(k)) cols.set(k, i);
  });
  for (const required of ['data_contabile', 'id_movimento', 'importo', 'causale'] as const) {
    if (!cols.has(required)) out.problems.push({ line: 1, field: required, message: `Colonna «${required}» mancante nell’intestazione` });
  }
  if (out.problems.length) return out;
  const get = (row: string[], k: string) => (cols.has(k) ? (row[cols.get(k)!] ?? '').trim() : '');
  const seen = new Map<string, number>();
  records.slice(1).forEach((row, i) => {
    const line = i + 2;
    if (row.every((c) => c.trim() === '')) return;
    const problems: StatementProblem[] = [];
    const bookingDate = parseItalianDate(get(row, 'data_contabile'));
    if (!bookingDate) problems.push({ line, field: 'data_contabile', message: `Data non valida «${get(row, 'data_contabile')}» (atteso gg/mm/aaaa)` });
    const vd = get(row, 'data_valuta');
    const valueDate = vd ? parseItalianDate(vd) : null;
    if (vd && !valueDate) problems.push({ line, field: 'data_valuta', message: `Data non valida «${vd}» (atteso gg/mm/aaaa)` });
    const movementId = get(row, 'id_movimento');
    if (!movementId || movementId.length > 64) problems.push({ line, field: 'id_movimento', message: 'Identificativo del movimento mancante o più lungo di 64 caratteri' });
    else if (seen.has(movementId)) problems.push({ line, field: 'id_movimento', message: `Identificativo ripetuto (già alla riga ${seen.get(movementId)})` });
    else seen.set(movementId, line);
    const amount = parseItalianAmount(get(row, 'importo'));
    if (amount === null || amount === 0) problems.push({ line, field: 'importo', message: `Importo non valido «${get(row, 'importo')}» (atteso 1.234,56)` });
    const segno = get(row, 'segno').toUpperCase();
    let direction: 'CRDT' | 'DBIT' = amount !== null && amount < 0 ? 'DBIT' : 'CRDT';
    if (segno) {
      if (['C', 'A', '+', 'CRDT', 'AVERE'].includes(segno)) direction = 'CRDT';
      else if (['D', '-', 'DBIT', 'DARE'].includes(segno)) direction = 'DBIT';
      else problems.push({ line, field: 'segno', message: `Segno non valido «${segno}» (C o D)` });
    }
    const causale = get(row, 'causale');
    if (causale.length > 1024) problems.push({ line, field: 'causale', message: 'Causale più lunga di 1024 caratteri' });
    const iban = get(row, 'iban').replace(/\s/g, '').toUpperCase();
    if (problems.length) {
      out.problems.push(...problems);
      return;
    }
    out.movements.push({ line, movementId, direction, amountCents: Math.abs(amount!), bookingDate: bookingDate!, valueDate, causale, account: iban || null });
  });
  if (out.movements.length === 0 && out.problems.length === 0) out.problems.push({ line: 2, field: '', message: 'Nessun movimento nel file' });
  return out;
}

export function parseCamt053(bytes: Buffer): ParsedStatement {
  const out: ParsedStatement = { format: 'camt053', movements: [], problems: [], skipped: [] };
  let doc: Document;
  try {
    doc = parseXmlSafely(bytes, { maxBytes: 32 * 1024 * 1024 });
  } catch (e) {
    out.problems.push({ line: 1, field: '', message: `XML non leggibile: ${(e as Error).message}` });
    return out;
  }
  const root = doc.documentElement!;
  if (root.localName !== 'Document' || !/^urn:iso:std:iso:20022:tech:xsd:camt\.053\./.test(root.namespaceURI ?? '')) {
    out.problems.push({ line: 1, field: '', message: 'Non è un estratto conto ISO 20022 camt.053' });
    return out;
  }
  const sel = (expr: string, node: Node) => xpath.select(expr, node) as Node[];
  const str = (expr: string, node: Node) => (xpath.select(`string(${expr})`, node) as string).trim();
  const seen = new Set<string>();
  let n = 0;
  for (const stmt of sel("//*[local-name()='Stmt']", doc)) {
    const account = str("*[local-name()='Acct']/*[local-name()='Id']/*[local-name()='IBAN']", stmt) || null;
    for (const ntry of sel("*[local-name()='Ntry']", stmt)) {
      const line = ++n;
      const status = str("*[local-name()='Sts']/*[local-name()='Cd']", ntry) || str("*[local-name()='Sts']", ntry);
      if (status && status.toUpperCase() !== 'BOOK') {
        out.skipped.push({ line, reason: `movimento non contabilizzato (stato ${status})` });
        continue;
      }
      const amtNode = sel("*[local-name()='Amt']", ntry)[0] as Element | undefined;
      const ccy = amtNode?.getAttribute('Ccy') ?? '';
      const amount = parseItalianAmount(amtNode?.textContent ?? '');
      const problems: StatementProblem[] = [];
      if (amount === null || amount <= 0) problems.push({ line, field: 'Amt', message: `Importo non valido «${amtNode?.textContent ?? ''}»` });
      if (ccy !== 'EUR') problems.push({ line, field: 'Amt/@Ccy', message: `Valuta ${ccy || 'mancante'}: sono ammessi solo euro` });
      const ind = str("*[local-name()='CdtDbtInd']", ntry);
      if (ind !== 'CRDT' && ind !== 'DBIT') problems.push({ line, field: 'CdtDbtInd', message: 'CdtDbtInd deve essere CRDT o DBIT' });
      const bookingDate = parseItalianDate(str("*[local-name()='BookgDt']/*[local-name()='Dt']", ntry) || str("*[local-name()='BookgDt']/*[local-name()='DtTm']", ntry).slice(0, 10));
      if (!bookingDate) problems.push({ line, field: 'BookgDt', message: 'Data contabile mancante o non valida' });
      const vd = str("*[local-name()='ValDt']/*[local-name()='Dt']", ntry);
      const movementId =
        str("*[local-name()='AcctSvcrRef']", ntry) ||
        str(".//*[local-name()='TxDtls']/*[local-name()='Refs']/*[local-name()='AcctSvcrRef']", ntry) ||
        str("*[local-name()='NtryRef']", ntry) ||
        str(".//*[local-name()='TxDtls']/*[local-name()='Refs']/*[local-name()='EndToEndId']", ntry);
      if (!movementId) problems.push({ line, field: 'AcctSvcrRef', message: 'Riferimento del movimento mancante (AcctSvcrRef / NtryRef)' });
      else if (seen.has(movementId)) problems.push({ line, field: 'AcctSvcrRef', message: `Riferimento ripetuto ${movementId}` });
      else seen.add(movementId);
      const ustrd = sel(".//*[local-name()='RmtInf']/*[local-name()='Ustrd']", ntry).map((x) => (x.textContent ?? '').trim());
      const causale = (ustrd.length ? ustrd.join(' ') : str("*[local-name()='AddtlNtryInf']", ntry)).slice(0, 1024);
      if (problems.length) {
        out.problems.push(...problems);
        continue;
      }
      out.movements.push({
        line,
        movementId,
        direction: ind as 'CRDT' | 'DBIT',
        amountCents: amount!,
        bookingDate: bookingDate!,
        valueDate: vd ? parseItalianDate(vd) : null,
        causale,
        account,
      });
    }
  }
  if (n === 0) out.problems.push({ line: 1, field: 'Ntry', message: 'Nessun movimento (Ntry) nell’estratto conto' });
  return out;
}

/** CSV or camt.053 by content. */
export function parseStatement(bytes: Buffer): ParsedStatement {
  const head = bytes.subarray(0, 512).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  return head.startsWith('<') ? parseCamt053(bytes) : parseStatementCsv(bytes);
}

/** Hash of the data that defines a movement (same key + other hash = conflicting re-import). */
export function movementHash(m: Omit<StatementMovement, 'line'>): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify([m.movementId, m.direction, m.amountCents, m.bookingDate, m.valueDate ?? '', m.causale.replace(/\s+/g, ' ').trim(), m.account ?? '']))
    .digest('hex');
}
