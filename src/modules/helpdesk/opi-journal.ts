/**
 * One page of a treasurer's OPI "Giornale di Cassa" (SIOPE+), versions 1.4, 1.6.1, 1.7.1 and 1.8:
 * version detection, validation against that version's official XSD (schemas/treasury, unmodified
 * copies), checks beyond the schema, and the incoming movements as treasury movements for the
 * existing matching. Pure: no database (opi-import.ts stores and joins the pages).
 *
 * - Version: the root `flusso_giornale_di_cassa` has no namespace nor version attribute. 1.4 has
 *   `data_inizio_periodo_riferimento`; 1.6.1, 1.7.1 and 1.8 have `data_riferimento_GdC` and differ
 *   only in the values of `tipo_esecuzione`: such a page is validated against 1.8 (the version in
 *   force), else 1.7.1, else 1.6.1, and recorded as the first that accepts it. 1.8 only adds SEPA
 *   INSTANT CREDIT TRANSFER to 1.7.1, so a 1.7.1 page is recorded as 1.8 unless the sender states
 *   the version (form field / API `versione`: then only that XSD is used); a page with values
 *   removed in 1.7.1 (e.g. ACCREDITO TESORERIA PROVINCIALE STATO PER TAB A) is recorded as 1.6.1.
 *   A page no version accepts is refused with the errors of 1.8.
 * - Movements imported: `tipo_movimento` ENTRATA with `tipo_documento` SOSPESO ENTRATA or
 *   REVERSALE and `tipo_operazione` ESEGUITO (money that came in). Everything else is skipped
 *   with its reason: outgoing movements, other documents (giroconto, anticipazione…), reversals
 *   (STORNATO, RIPRISTINATO) and regularisations of a sospeso already counted (REGOLARIZZATO).
 * - Movement id (the idempotency key with the ente): `OPI-<esercizio>-<REV|SOS>-<numero_documento>-<progressivo_documento>`,
 *   numbers without leading zeros. The same id twice in a journal with the same data is counted
 *   once; with other data the page is refused.
 * - Totals: `totale_entrate_conto_evidenza` / `totale_uscite_conto_evidenza`, when present, must
 *   equal the sum of that account's ENTRATA / USCITA movements on the page.
 * - The XML signature (`ds:Signature`, required by the schema) is not verified: the journal comes
 *   from SIOPE+, which checks the treasurer's signature.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseXmlLite } from '../../xml/lite-dom.js';
import { XmlSafeParseError } from '../../xml/safe-parse.js';
import { getXsdSchema, type XsdSchema } from '../../xml/xsd.js';
import type { StatementMovement, StatementProblem } from './statement.js';

export const OPI_VERSIONS = ['1.4', '1.6.1', '1.7.1', '1.8'] as const;
export type OpiVersion = (typeof OPI_VERSIONS)[number];

/** Largest page accepted (a 10 000-movement page is about 14 MB). */
export const MAX_OPI_BYTES = 32 * 1024 * 1024;

const here = path.dirname(fileURLToPath(import.meta.url));
export function treasurySchemaDir(): string {
  return path.resolve(here, '../../../schemas/treasury');
}

const schemas = new Map<OpiVersion, XsdSchema>();
/** The compiled XSD of a version (compiled once per process). */
export function opiSchema(v: OpiVersion): XsdSchema {
  let s = schemas.get(v);
  if (!s) {
    s = getXsdSchema(path.join(treasurySchemaDir(), `OPI_GIORNALE_DI_CASSA_V_${v.replace(/\./g, '_')}.xsd`), { maxBytes: MAX_OPI_BYTES });
    schemas.set(v, s);
  }
  return s;
}

export interface OpiPage {
  version: OpiVersion;
  /** identificativo_flusso_BT: the same on every page of a journal. */
  flowId: string;
  page: number;
  totalPages: number;
  esercizio: number;
  /** data_riferimento_GdC (1.6.1+) or data_fine_periodo_riferimento (1.4). */
  referenceDate: string;
  enteFiscalCode: string;
  enteName: string;
  /** Incoming movements to import (line = position of the movement on the page, from 1). */
  movements: StatementMovement[];
  /** Movements not imported on purpose, with the reason (line as above). */
  skipped: { line: number; reason: string }[];
  /** Movements in the page (all kinds). */
  total: number;
}

/** A page that cannot be accepted: nothing of it is kept. */
export class OpiRefusal extends Error {
  constructor(
    message: string,
    readonly problems: StatementProblem[] = [],
  ) {
    super(message);
    this.name = 'OpiRefusal';
  }
}

type Node = { nodeType: number; localName: string | null; firstChild: Node | null; nextSibling: Node | null; textContent: string };

function* elements(n: Node): Generator<Node> {
  for (let c = n.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) yield c;
}
function child(n: Node, name: string): Node | null {
  for (let c = n.firstChild; c; c = c.nextSibling) if (c.nodeType === 1 && c.localName === name) return c;
  return null;
}
const text = (n: Node, name: string) => child(n, name)?.textContent.trim() ?? '';

/** Decimal with at most 2 fraction digits (as the XSD allows) → cents. */
export function opiCents(s: string): number | null {
  const m = /^([+-]?)(\d+)(?:\.(\d{1,2}))?$/.exec(s.trim());
  if (!m) return null;
  const v = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  if (!Number.isSafeInteger(v)) return null;
  return m[1] === '-' ? -v : v;
}

const euro = (c: number) => (c / 100).toLocaleString('it-IT', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const stripZeros = (s: string) => s.replace(/^0+(?=\d)/, '');

/** Candidate versions by structure, newest first. */
function candidates(root: Node): OpiVersion[] {
  if (child(root, 'data_inizio_periodo_riferimento')) return ['1.4'];
  return ['1.8', '1.7.1', '1.6.1'];
}

/**
 * Reads and validates one page. `declared` (the version the sender states) skips detection.
 * Throws {@link OpiRefusal} with the reasons (in Italian) when the page cannot be accepted.
 */
export function parseOpiPage(bytes: Uint8Array | string, declared?: OpiVersion): OpiPage {
  let doc;
  try {
    doc = parseXmlLite(bytes, { maxBytes: MAX_OPI_BYTES });
  } catch (e) {
    const msg = e instanceof XmlSafeParseError ? (e.code === 'TOO_LARGE' ? `il file supera ${MAX_OPI_BYTES / 1048576} MB` : e.message) : (e as Error).message;
    throw new OpiRefusal(`File non leggibile come XML: ${msg}`);
  }
  try {
    const root = doc.documentElement as unknown as Node & { namespaceURI: string | null };
    if (root.localName !== 'flusso_giornale_di_cassa' || root.namespaceURI) {
      throw new OpiRefusal(`Non è un Giornale di Cassa OPI: l’elemento radice è «${root.localName}», atteso «flusso_giornale_di_cassa» senza namespace`);
    }
    const tried = declared ? [declared] : candidates(root);
    let version: OpiVersion | null = null;
    let firstErrors: string[] | null = null;
    for (const v of tried) {
      const res = opiSchema(v).validateDocument(doc.native);
      if (res.valid) {
        version = v;
        break;
      }
      firstErrors ??= res.errors;
    }
    if (!version) {
      const label = tried.length > 1 ? `nessuna delle versioni ${tried.join(', ')}` : `la versione ${tried[0]}`;
      throw new OpiRefusal(
        `Il giornale non è conforme allo schema XSD OPI (${label}): ${firstErrors!.length} errori${tried.length > 1 ? ` rispetto alla ${tried[0]}` : ''}`,
        firstErrors!.slice(0, 200).map((e) => {
          const m = /^(\d+):\d+ (.*)$/s.exec(e);
          return { line: m ? Number(m[1]) : 0, field: 'XSD', message: m ? m[2]! : e };
        }),
      );
    }
    return readPage(root, version);
  } finally {
    doc.dispose();
  }
}

const INCOMING_DOCS = new Set(['SOSPESO ENTRATA', 'REVERSALE']);

function readPage(root: Node, version: OpiVersion): OpiPage {
  const testata = child(root, 'testata_messaggio')!;
  const esercizio = Number(text(root, 'esercizio'));
  const page = Number(text(root, 'pagina') || '1');
  const totalPages = Number(text(root, 'pagine_totali') || '1');
  const problems: StatementProblem[] = [];
  if (page > totalPages) problems.push({ line: 0, field: 'pagina', message: `Pagina ${page} di ${totalPages}: il numero di pagina supera le pagine totali` });
  const out: OpiPage = {
    version,
    flowId: text(root, 'identificativo_flusso_BT'),
    page,
    totalPages,
    esercizio,
    referenceDate: text(root, version === '1.4' ? 'data_fine_periodo_riferimento' : 'data_riferimento_GdC'),
    enteFiscalCode: text(testata, 'codice_fiscale_ente').toUpperCase(),
    enteName: text(testata, 'descrizione_ente'),
    movements: [],
    skipped: [],
    total: 0,
  };
  if (!out.flowId) problems.push({ line: 0, field: 'identificativo_flusso_BT', message: 'Identificativo del flusso vuoto' });
  if (out.flowId.length > 200) problems.push({ line: 0, field: 'identificativo_flusso_BT', message: 'Identificativo del flusso più lungo di 200 caratteri' });
  const seen = new Map<string, { line: number; m: StatementMovement }>();
  let line = 0;
  for (const conto of elements(root)) {
    if (conto.localName !== 'informazioni_conto_evidenza') continue;
    const contoId = text(conto, 'conto_evidenza');
    let inCents = 0;
    let outCents = 0;
    for (const mv of elements(conto)) {
      if (mv.localName !== 'movimento_conto_evidenza') continue;
      line++;
      out.total++;
      const tipoMov = text(mv, 'tipo_movimento');
      const tipoDoc = text(mv, 'tipo_documento');
      const op = text(mv, 'tipo_operazione');
      const amount = opiCents(text(mv, 'importo'));
      if (amount === null) {
        problems.push({ line, field: 'importo', message: `Importo non valido «${text(mv, 'importo')}»` });
        continue;
      }
      if (tipoMov === 'ENTRATA') inCents += amount;
      else outCents += amount;
      const numero = stripZeros(text(mv, 'numero_documento'));
      const progressivo = stripZeros(text(mv, 'progressivo_documento'));
      const ref = `${tipoDoc.toLowerCase()} n. ${numero}${progressivo !== '0' ? `/${progressivo}` : ''}`;
      if (tipoMov !== 'ENTRATA') {
        out.skipped.push({ line, reason: `Movimento in uscita (${ref}): non è un incasso` });
        continue;
      }
      if (!INCOMING_DOCS.has(tipoDoc)) {
        out.skipped.push({ line, reason: `Entrata di tipo «${tipoDoc}» (n. ${numero}): si importano solo sospesi di entrata e reversali` });
        continue;
      }
      if (op !== 'ESEGUITO') {
        const why = op === 'REGOLARIZZATO' ? 'regolarizzazione di un sospeso già contabilizzato, non un nuovo incasso' : 'storno o ripristino di un movimento, da verificare con il tesoriere';
        out.skipped.push({ line, reason: `${ref[0]!.toUpperCase()}${ref.slice(1)} con operazione ${op}: ${why}` });
        continue;
      }
      if (amount <= 0) {
        problems.push({ line, field: 'importo', message: `Importo ${euro(amount)} € non positivo per un incasso (${ref})` });
        continue;
      }
      const movementId = `OPI-${esercizio}-${tipoDoc === 'REVERSALE' ? 'REV' : 'SOS'}-${numero}-${progressivo}`;
      if (movementId.length > 64) {
        problems.push({ line, field: 'numero_documento', message: `Identificativo del movimento ${movementId} più lungo di 64 caratteri` });
        continue;
      }
      const m: StatementMovement = {
        line,
        movementId,
        direction: 'CRDT',
        amountCents: amount,
        bookingDate: text(mv, 'data_movimento'),
        valueDate: text(mv, 'data_valuta_ente') || null,
        causale: text(mv, 'causale').slice(0, 1024),
        account: null,
      };
      const prev = seen.get(movementId);
      if (prev) {
        const same = prev.m.amountCents === m.amountCents && prev.m.bookingDate === m.bookingDate && prev.m.valueDate === m.valueDate && prev.m.causale === m.causale;
        if (same) out.skipped.push({ line, reason: `Movimento ${movementId} ripetuto (già al movimento ${prev.line}): contato una volta` });
        else problems.push({ line, field: 'numero_documento', message: `Movimento ${movementId} ripetuto con dati diversi (già al movimento ${prev.line})` });
        continue;
      }
      seen.set(movementId, { line, m });
      out.movements.push(m);
    }
    const declaredIn = child(conto, 'totale_entrate_conto_evidenza');
    if (declaredIn) {
      const d = opiCents(declaredIn.textContent);
      if (d !== inCents) problems.push({ line: 0, field: 'totale_entrate_conto_evidenza', message: `Conto ${contoId}: totale entrate dichiarato ${euro(d ?? 0)} €, somma dei movimenti in entrata ${euro(inCents)} €` });
    }
    const declaredOut = child(conto, 'totale_uscite_conto_evidenza');
    if (declaredOut) {
      const d = opiCents(declaredOut.textContent);
      if (d !== outCents) problems.push({ line: 0, field: 'totale_uscite_conto_evidenza', message: `Conto ${contoId}: totale uscite dichiarato ${euro(d ?? 0)} €, somma dei movimenti in uscita ${euro(outCents)} €` });
    }
  }
  if (problems.length) throw new OpiRefusal(`Pagina ${page} di ${totalPages} del giornale ${out.flowId}: ${problems.length} errori`, problems);
  return out;
}

/** Quick check by content: is this an OPI Giornale di Cassa (root element without namespace)? */
export function looksLikeOpi(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('utf8');
  return /<flusso_giornale_di_cassa[\s>]/.test(head);
}
