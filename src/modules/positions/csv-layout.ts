/**
 * CSV bulk import of payment positions ("tracciato CSV posizioni debitorie") and the CSV export of
 * its error report. Streaming parse, no other I/O.
 *
 * ## Layout
 *
 * One row per **payment option** (a single payment or one installment). Rows with the same `iupd`
 * form one position and must be consecutive in the file; a row with an empty `iupd` is a position
 * by itself. The first row is the header. The rules and every column, in Italian, are
 * {@link CSV_LAYOUT_RULES} and {@link CSV_COLUMN_DOCS} below: the one description of the layout,
 * published to operators as the page "Tracciato CSV" of the back office; {@link csvTemplateWithExamples}
 * writes the downloadable template (header and example rows that import as they are).
 *
 * ## Result
 * Every bad row is reported with its row number (header = row 1; blank rows count, as in a
 * spreadsheet; a quoted value spanning lines is one row) and the column name. A position with any
 * error is left out of `positions`. When the file cannot be read to the end (bad header, CSV syntax
 * error, too many rows) `complete` is false and `positions` is empty.
 */
import { Readable, pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import iconv from 'iconv-lite';
import { CSV_SAFE_CAST } from '../../domain/csv-safe.js';
import { validatePosition, parseDateInput, type FieldError, type PaymentOptionInput, type PositionInput, type TransferInput, type ValidPosition, type ValidationContext } from './validation.js';

// ---------------------------------------------------------------------------------------------
// Columns
// ---------------------------------------------------------------------------------------------

/** Position-level columns: equal on every row of a position. */
export const CSV_POSITION_COLUMNS = [
  'iupd',
  'tipo_debitore',
  'cf_debitore',
  'nominativo_debitore',
  'indirizzo',
  'civico',
  'cap',
  'localita',
  'provincia',
  'nazione',
  'email',
  'descrizione',
  'data_validita',
  'servizio',
] as const;

/** Payment-option columns (one option per row). */
export const CSV_OPTION_COLUMNS = ['rata', 'piano', 'descrizione_opzione', 'importo', 'scadenza', 'data_conservazione'] as const;

/** Suffixes of the transfer columns `trasfN_<suffix>`. */
export const CSV_TRANSFER_SUFFIXES = ['cf_ente', 'importo', 'iban', 'iban_postale', 'causale', 'tassonomia', 'metadati'] as const;

export const CSV_MAX_TRANSFERS = 5;

type TransferSuffix = (typeof CSV_TRANSFER_SUFFIXES)[number];

function transferColumn(n: number, suffix: TransferSuffix): string {
  return `trasf${n}_${suffix}`;
}

/** Every accepted column, in the order of the template. */
export const CSV_HEADERS: readonly string[] = [
  ...CSV_POSITION_COLUMNS,
  ...CSV_OPTION_COLUMNS,
  ...Array.from({ length: CSV_MAX_TRANSFERS }, (_, k) => CSV_TRANSFER_SUFFIXES.map((s) => transferColumn(k + 1, s))).flat(),
];

/** Columns that must be in the header. */
export const CSV_REQUIRED_HEADERS: readonly string[] = [
  'tipo_debitore',
  'cf_debitore',
  'nominativo_debitore',
  'descrizione',
  'importo',
  'scadenza',
  'trasf1_importo',
  'trasf1_causale',
  'trasf1_tassonomia',
];

/** Header line of an empty template, ready to be offered for download. */
export function csvTemplate(delimiter: ';' | ',' = ';'): string {
  return CSV_HEADERS.join(delimiter) + '\r\n';
}

// ---------------------------------------------------------------------------------------------
// The layout as operators read it (page "Tracciato CSV") and the template with example rows
// ---------------------------------------------------------------------------------------------

/** General rules of the file, in Italian, in the order the page shows them. */
export const CSV_LAYOUT_RULES: readonly string[] = [
  'Una riga per ogni opzione di pagamento: la rata unica oppure una singola rata.',
  'Le righe con lo stesso iupd formano una posizione e devono essere consecutive; una riga con iupd vuoto è una posizione a sé. I dati del debitore, la descrizione e la data di validità devono essere uguali su tutte le righe della posizione.',
  'La prima riga è l’intestazione: nomi delle colonne in qualsiasi ordine, maiuscole o minuscole; le colonne facoltative si possono omettere, una colonna sconosciuta è un errore.',
  'Codifica UTF-8 (con o senza BOM) oppure Windows-1252, come la salva Excel con «CSV (delimitato dal separatore di elenco)»: è riconosciuta da sola.',
  'Separatore punto e virgola (;) oppure virgola (,), riconosciuto dall’intestazione. Con la virgola gli importi con i decimali vanno tra virgolette ("12,50").',
  'Importi in euro: 1.234,56 oppure 1234,56 oppure 1234.56 oppure 1234 (al massimo 2 decimali). L’importo di un’opzione è la somma dei suoi trasferimenti.',
  'Date nel formato gg/mm/aaaa oppure aaaa-mm-gg; la scadenza non può essere già passata.',
  `Trasferimenti: fino a ${CSV_MAX_TRANSFERS} per opzione (colonne trasf1_… fino a trasf${CSV_MAX_TRANSFERS}_…), riempiti da 1 senza salti; un trasferimento c’è quando una sua cella è compilata.`,
  'Le marche da bollo digitali (@e.bollo) non si importano da CSV: usa il modulo o l’API.',
];

/** One column (or family of transfer columns `trasfN_…`) of the layout. */
export interface CsvColumnDoc {
  /** Column name; transfer columns are written `trasfN_<suffix>`. */
  name: string;
  /** Italian: "sì", "no", or when it is required. */
  required: string;
  /** Italian description for operators. */
  description: string;
}

/** Every column of the layout, in the order of the template ({@link CSV_HEADERS}, transfers once as `trasfN_…`). */
export const CSV_COLUMN_DOCS: readonly CsvColumnDoc[] = [
  { name: 'iupd', required: 'no', description: 'Codice della posizione (da 1 a 35 tra lettere, cifre, punto, trattino basso e trattino): raggruppa le righe di una posizione. Se manca è generato; ricaricando lo stesso file non si creano doppioni.' },
  { name: 'tipo_debitore', required: 'sì', description: 'F persona fisica, G persona giuridica.' },
  { name: 'cf_debitore', required: 'sì', description: 'Codice fiscale (16 caratteri) oppure codice fiscale numerico / partita IVA (11 cifre).' },
  { name: 'nominativo_debitore', required: 'sì', description: 'Nome e cognome oppure ragione sociale, al massimo 70 caratteri.' },
  { name: 'indirizzo', required: 'no', description: 'Via o piazza, al massimo 70 caratteri.' },
  { name: 'civico', required: 'no', description: 'Numero civico, al massimo 16 caratteri.' },
  { name: 'cap', required: 'no', description: 'CAP, 5 cifre in Italia.' },
  { name: 'localita', required: 'no', description: 'Comune di residenza, al massimo 35 caratteri.' },
  { name: 'provincia', required: 'no', description: 'Sigla della provincia (2 lettere) in Italia.' },
  { name: 'nazione', required: 'no', description: 'Codice del paese di 2 lettere (es. IT).' },
  { name: 'email', required: 'no', description: 'Indirizzo e-mail del debitore.' },
  { name: 'descrizione', required: 'sì', description: 'Oggetto della posizione, al massimo 140 caratteri (stampato sull’avviso).' },
  { name: 'data_validita', required: 'no', description: 'Data da cui la posizione è pagabile.' },
  { name: 'servizio', required: 'no', description: 'Codice del servizio di pagamento dell’ente (es. TARI); vuoto = il servizio scelto per tutto il file al caricamento.' },
  { name: 'rata', required: 'no', description: 'Vuoto (o 0) = pagamento in unica soluzione; 1, 2, … = numero della rata.' },
  { name: 'piano', required: 'no', description: 'Solo con rata: chiave del piano rateale quando una posizione ha più piani (predefinito 1).' },
  { name: 'descrizione_opzione', required: 'no', description: 'Descrizione di questa opzione, al massimo 140 caratteri (es. «Rata 1 di 3»).' },
  { name: 'importo', required: 'sì', description: 'Importo dell’opzione in euro: la somma degli importi dei trasferimenti.' },
  { name: 'scadenza', required: 'sì', description: 'Data di scadenza dell’opzione.' },
  { name: 'data_conservazione', required: 'no', description: 'Data fino a cui pagoPA conserva la posizione (retentionDate), non prima della scadenza.' },
  { name: 'trasfN_cf_ente', required: 'no', description: 'Codice fiscale dell’ente beneficiario del trasferimento N (predefinito: l’ente che importa).' },
  { name: 'trasfN_importo', required: 'sì per N = 1', description: 'Importo del trasferimento N in euro.' },
  { name: 'trasfN_iban', required: 'uno dei due IBAN', description: 'IBAN di accredito (bancario o postale) registrato dall’ente beneficiario; vuoto per l’ente che importa = l’IBAN predefinito del servizio.' },
  { name: 'trasfN_iban_postale', required: 'uno dei due IBAN', description: 'IBAN postale, da solo o accanto a trasfN_iban.' },
  { name: 'trasfN_causale', required: 'sì per N = 1', description: 'Causale del versamento, al massimo 140 caratteri, senza dati personali.' },
  { name: 'trasfN_tassonomia', required: 'sì per N = 1', description: 'Codice di tassonomia pagoPA del servizio (es. 9/0101108TS/).' },
  { name: 'trasfN_metadati', required: 'no', description: 'Coppie chiave=valore separate da punto e virgola (cella tra virgolette se il file usa il punto e virgola), al massimo 10.' },
];

/** What the template's example rows need of the ente. */
export interface CsvTemplateContext {
  /** Today in Italy, ISO `aaaa-mm-gg` (due dates are set from it, so the rows stay importable). */
  today: string;
  /** The service of the examples: its code, name and taxonomy code; null = a generic TARI. */
  service: { code: string; name: string; taxonomyCode: string } | null;
  /** Account credited by the ente's transfers (the service's default IBAN or an active one). */
  iban: string | null;
  /** The comune's name for the debtors' address (e.g. "Campobasso"). */
  city: string;
  /** The province's share on the TARI example (TEFA), when the province has an account. */
  province: { fiscalCode: string; iban: string } | null;
}

/** Data rows of {@link csvTemplateWithExamples} (the layout page says how many). */
export const CSV_TEMPLATE_EXAMPLE_ROWS = 4;

/** Demo values of valid format for the examples (not real people or firms). */
const EXAMPLE_PERSON = { cf: 'RSSMRA85T10A562S', name: 'Mario Rossi' };
/** Partita IVA of valid format: 0123456, office 070 (Campobasso), check digit. */
const EXAMPLE_FIRM = { piva: '01234560702', name: 'Bar Centrale S.r.l.' };

function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

const itDate = (iso: string): string => `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
const itEuro = (cents: number): string => `${Math.floor(cents / 100)},${String(cents % 100).padStart(2, '0')}`;

/**
 * The template offered for download: the header and example rows for the ente (a position paid
 * in one payment or in 2 installments, with the province's TEFA share on TARI, and a firm's single
 * payment). The rows import as they are; their `iupd` starts with ESEMPIO- so they are easy to
 * find and delete. `;` separator, UTF-8 with BOM (Excel in Italian opens it directly).
 */
export function csvTemplateWithExamples(ctx: CsvTemplateContext): string {
  const service = ctx.service ?? { code: 'TARI', name: 'TARI – Tassa sui rifiuti', taxonomyCode: '9/0101108TS/' };
  const year = ctx.today.slice(0, 4);
  const tefa = service.code === 'TARI' && ctx.province ? ctx.province : null;
  const subject = `${service.name} – anno ${year}`.slice(0, 140);
  const person = {
    iupd: `ESEMPIO-${service.code}-${year}-0001`.slice(0, 35),
    tipo_debitore: 'F',
    cf_debitore: EXAMPLE_PERSON.cf,
    nominativo_debitore: EXAMPLE_PERSON.name,
    indirizzo: 'Via Roma',
    civico: '12',
    cap: '86100',
    localita: ctx.city.slice(0, 35),
    provincia: 'CB',
    nazione: 'IT',
    email: 'mario.rossi@example.invalid',
    descrizione: subject,
    servizio: service.code,
  };
  /** One option: the ente's transfer and, on TARI, the province's 5 % (TEFA). */
  const option = (rata: number | null, amountCents: number, due: string) => {
    const share = tefa ? Math.round(amountCents * 0.05) : 0;
    const what = rata === null ? `${service.code} ${year}` : `${service.code} ${year} rata ${rata}`;
    return {
      rata: rata === null ? '' : String(rata),
      descrizione_opzione: rata === null ? 'Unica soluzione' : `Rata ${rata} di 2`,
      importo: itEuro(amountCents),
      scadenza: itDate(due),
      trasf1_importo: itEuro(amountCents - share),
      trasf1_iban: ctx.iban ?? '',
      trasf1_causale: what,
      trasf1_tassonomia: service.taxonomyCode,
      ...(tefa
        ? { trasf2_cf_ente: tefa.fiscalCode, trasf2_importo: itEuro(share), trasf2_iban: tefa.iban, trasf2_causale: `TEFA ${year}${rata === null ? '' : ` rata ${rata}`}`, trasf2_tassonomia: '9/0201101IM/' }
        : {}),
    };
  };
  const in30 = addDays(ctx.today, 30);
  const rows: Record<string, string>[] = [
    { ...person, ...option(null, 21000, in30) },
    { ...person, ...option(1, 10500, in30) },
    { ...person, ...option(2, 10500, addDays(ctx.today, 90)) },
    {
      iupd: `ESEMPIO-${service.code}-${year}-0002`.slice(0, 35),
      tipo_debitore: 'G',
      cf_debitore: EXAMPLE_FIRM.piva,
      nominativo_debitore: EXAMPLE_FIRM.name,
      indirizzo: 'Corso Vittorio Emanuele',
      civico: '3',
      cap: '86100',
      localita: ctx.city.slice(0, 35),
      provincia: 'CB',
      nazione: 'IT',
      email: 'amministrazione@example.invalid',
      descrizione: subject,
      servizio: service.code,
      ...option(null, 48000, addDays(ctx.today, 60)),
      descrizione_opzione: '',
    },
  ];
  return stringify(
    rows.map((r) => CSV_HEADERS.map((h) => r[h] ?? '')),
    { header: true, columns: [...CSV_HEADERS], delimiter: ';', bom: true, record_delimiter: 'windows', cast: CSV_SAFE_CAST },
  );
}

const DEBTOR_COLUMN: Record<string, string> = {
  type: 'tipo_debitore',
  fiscalCode: 'cf_debitore',
  fullName: 'nominativo_debitore',
  streetName: 'indirizzo',
  civicNumber: 'civico',
  postalCode: 'cap',
  city: 'localita',
  province: 'provincia',
  country: 'nazione',
  email: 'email',
};

const OPTION_COLUMN: Record<string, string> = {
  isInstallment: 'rata',
  installmentNumber: 'rata',
  plan: 'piano',
  description: 'descrizione_opzione',
  amountCents: 'importo',
  amountEuro: 'importo',
  dueDate: 'scadenza',
  retentionDate: 'data_conservazione',
  transfers: 'trasferimenti',
};

const TRANSFER_SUFFIX: Record<string, TransferSuffix> = {
  fiscalCodePA: 'cf_ente',
  amountCents: 'importo',
  amountEuro: 'importo',
  iban: 'iban',
  postalIban: 'iban_postale',
  remittanceInformation: 'causale',
  taxonomyCode: 'tassonomia',
  metadata: 'metadati',
};

/** Sort key of a column in error reports: whole-row errors first, then the template order. */
function columnRank(field: string): number {
  if (field === '') return -1;
  const index = CSV_HEADERS.indexOf(field);
  if (index >= 0) return index;
  const n = field === 'trasferimenti' ? 1 : /^trasf(\d)$/.exec(field)?.[1];
  return n !== undefined ? CSV_HEADERS.indexOf(transferColumn(Number(n), 'cf_ente')) - 0.5 : CSV_HEADERS.length;
}

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface CsvRowError {
  /** Row in the file, header = 1. */
  row: number;
  iupd?: string;
  /** Column name (or a label such as "trasferimenti" for errors on several columns). */
  field: string;
  message: string;
}

export interface CsvImportOptions extends ValidationContext {
  /** Maximum number of data rows (header and blank rows excluded). Default {@link DEFAULT_MAX_ROWS}. */
  maxRows?: number;
  /**
   * Streaming mode: each valid position is handed over as soon as its rows are read, and
   * `positions` in the result stays empty, so memory does not grow with the file.
   */
  onPosition?: (position: CsvPosition) => void | Promise<void>;
  /** When given, a `servizio` value must satisfy it (the ente's active payment service codes). */
  isKnownService?: (code: string) => boolean;
  /**
   * Account used for a transfer to the importing ente that names none (iban, iban_postale both
   * empty): the default IBAN of the row's service (`null` = the service chosen for the file).
   */
  defaultIban?: (serviceCode: string | null) => string | null;
}

/** A valid position with the file rows it came from. */
export type CsvPosition = ValidPosition & {
  sourceRows: number[];
  /** Upper-case service code from the `servizio` column; null = the service chosen for the whole file. */
  serviceCode: string | null;
};

export type CsvEncoding = 'utf-8' | 'windows-1252';

export interface CsvImportResult {
  positions: CsvPosition[];
  errors: CsvRowError[];
  /** Data rows read (header and blank rows excluded). */
  rowCount: number;
  /** False when reading stopped early (header, syntax, row limit); then `positions` is empty. */
  complete: boolean;
  encoding: CsvEncoding | null;
  delimiter: ';' | ',' | null;
}

export const DEFAULT_MAX_ROWS = 50_000;

/** Longest accepted record, in characters (guards against an unterminated quote). */
const MAX_RECORD_CHARS = 65_536;

// ---------------------------------------------------------------------------------------------
// Encoding detection (streaming)
// ---------------------------------------------------------------------------------------------

/**
 * Scans bytes for UTF-8 validity. `ascii`: no multi-byte sequence; `utf8`: at least one valid
 * multi-byte sequence and no invalid byte; `invalid`: not UTF-8. `tail` = bytes of an incomplete
 * (so far valid) sequence at the end, to be completed by the next chunk.
 */
export function scanUtf8(buf: Uint8Array): { kind: 'ascii' | 'utf8' | 'invalid'; tail: number } {
  let multi = false;
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return { kind: 'invalid', tail: 0 };
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return { kind: multi ? 'utf8' : 'ascii', tail: n - i };
      const c = buf[i + k]!;
      const min = k === 1 ? lo : 0x80;
      const max = k === 1 ? hi : 0xbf;
      if (c < min || c > max) return { kind: 'invalid', tail: 0 };
    }
    multi = true;
    i += need + 1;
  }
  return { kind: multi ? 'utf8' : 'ascii', tail: 0 };
}

/**
 * Decodes a byte stream that is either UTF-8 or Windows-1252. While only ASCII has been seen the
 * two agree, so the choice is made at the first non-ASCII byte: valid UTF-8 (or a BOM) → UTF-8,
 * otherwise Windows-1252 for the whole file. Invalid bytes later in a UTF-8 file become U+FFFD,
 * which validation reports on the affected cell.
 */
export class CsvTextDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private decoder: iconv.DecoderStream | null = null;
  private started = false;
  encoding: CsvEncoding | null = null;
  /** Set when the input starts with a UTF-16 byte order mark (not supported). */
  utf16 = false;

  write(chunk: Buffer): string {
    if (this.decoder) return this.decoder.write(chunk);
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    if (!this.started) {
      if (buf.length < 3 && buf.length > 0 && buf[0]! >= 0x80) {
        this.pending = buf; // wait for enough bytes to recognise a BOM
        return '';
      }
      this.started = buf.length > 0;
      if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) {
        this.utf16 = true;
        this.pending = Buffer.alloc(0);
        return '';
      }
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return this.choose('utf-8', buf, true);
    }
    const scan = scanUtf8(buf);
    if (scan.kind === 'ascii') {
      const cut = buf.length - scan.tail;
      this.pending = Buffer.from(buf.subarray(cut));
      return buf.toString('latin1', 0, cut);
    }
    return this.choose(scan.kind === 'utf8' ? 'utf-8' : 'windows-1252', buf, false);
  }

  end(): string {
    if (this.utf16) return '';
    if (this.decoder) return this.decoder.end() ?? '';
    if (this.pending.length > 0) {
      // A truncated multi-byte sequence at the very end: not UTF-8.
      const rest = this.pending;
      this.pending = Buffer.alloc(0);
      return this.choose('windows-1252', rest, false) + (this.decoder!.end() ?? '');
    }
    this.encoding ??= 'utf-8'; // pure ASCII
    return '';
  }

  private choose(encoding: CsvEncoding, buf: Buffer, bom: boolean): string {
    this.encoding = encoding;
    this.pending = Buffer.alloc(0);
    this.decoder = iconv.getDecoder(encoding === 'utf-8' ? 'utf8' : 'windows1252', { stripBOM: bom });
    return this.decoder.write(buf);
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

class FatalCsvError extends Error {
  constructor(
    readonly row: number,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Counts `;` and `,` outside double quotes in the header line; the more frequent wins. */
export function detectDelimiter(headerLine: string): ';' | ',' | null {
  let semi = 0;
  let comma = 0;
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === ';') semi++;
    else if (!quoted && ch === ',') comma++;
  }
  if (semi === 0 && comma === 0) return null;
  return semi >= comma ? ';' : ',';
}

function normaliseHeaderName(name: string): string {
  return name.replace(/^\uFEFF/, '').trim().toLowerCase().replace(/[\s-]+/g, '_');
}

/** Checks the header; returns the column name of each position (null = unnamed column). */
function readHeader(record: string[], errors: CsvRowError[]): (string | null)[] {
  const known = new Set(CSV_HEADERS);
  const names = record.map((h) => normaliseHeaderName(h));
  const seen = new Set<string>();
  names.forEach((name) => {
    if (name === '') return;
    if (!known.has(name)) {
      const hint = /^trasf\d+_/.test(name) ? ` (i trasferimenti vanno da trasf1 a trasf${CSV_MAX_TRANSFERS})` : '';
      errors.push({ row: 1, field: name, message: `Colonna sconosciuta "${name}"${hint}. Controlla l'intestazione con il modello.` });
    } else if (seen.has(name)) {
      errors.push({ row: 1, field: name, message: `La colonna "${name}" è ripetuta.` });
    }
    seen.add(name);
  });
  for (const required of CSV_REQUIRED_HEADERS) {
    if (!seen.has(required)) errors.push({ row: 1, field: required, message: `Manca la colonna obbligatoria "${required}".` });
  }
  return names.map((n) => (n === '' ? null : n));
}

/** Index of every accepted column in {@link CSV_HEADERS}: rows keep their cells in that order. */
const COLUMN_INDEX: ReadonlyMap<string, number> = new Map(CSV_HEADERS.map((name, i) => [name, i]));

function columnIndex(name: string): number {
  const i = COLUMN_INDEX.get(name);
  if (i === undefined) throw new Error(`unknown CSV column ${name}`);
  return i;
}

const COL = {
  iupd: columnIndex('iupd'),
  debtorType: columnIndex('tipo_debitore'),
  debtorFiscalCode: columnIndex('cf_debitore'),
  debtorName: columnIndex('nominativo_debitore'),
  street: columnIndex('indirizzo'),
  civic: columnIndex('civico'),
  postalCode: columnIndex('cap'),
  city: columnIndex('localita'),
  province: columnIndex('provincia'),
  country: columnIndex('nazione'),
  email: columnIndex('email'),
  description: columnIndex('descrizione'),
  validityDate: columnIndex('data_validita'),
  service: columnIndex('servizio'),
  installment: columnIndex('rata'),
  plan: columnIndex('piano'),
  optionDescription: columnIndex('descrizione_opzione'),
  amount: columnIndex('importo'),
  dueDate: columnIndex('scadenza'),
  retentionDate: columnIndex('data_conservazione'),
} as const;

/** Position columns other than iupd, compared across the rows of one position: [name, index]. */
const COMPARED_POSITION_COLUMNS: readonly (readonly [string, number])[] = CSV_POSITION_COLUMNS.filter((c) => c !== 'iupd').map((c) => [c, columnIndex(c)] as const);

/** Column indexes of transfer N (N = 1..5 at [N - 1]), one per suffix. */
const TRANSFER_COLUMNS = Array.from({ length: CSV_MAX_TRANSFERS }, (_, k) => {
  const at = (s: TransferSuffix) => columnIndex(transferColumn(k + 1, s));
  return {
    all: CSV_TRANSFER_SUFFIXES.map(at),
    fiscalCodePA: at('cf_ente'),
    amount: at('importo'),
    iban: at('iban'),
    postalIban: at('iban_postale'),
    remittance: at('causale'),
    taxonomy: at('tassonomia'),
    metadata: at('metadati'),
  };
});

/** Trimmed cells of one data row, indexed like {@link CSV_HEADERS} ('' for a column not in the file). */
type RowValues = string[];

const EMPTY_ROW: readonly string[] = CSV_HEADERS.map(() => '');

interface CsvRow {
  row: number;
  values: RowValues;
  /** For each transfer in the option input, the N of its `trasfN_` columns. */
  transferSlots: number[];
  option: PaymentOptionInput;
  /** The row has values outside the header's columns (already reported). */
  layoutError: boolean;
}

function cell(values: RowValues, column: number): string {
  return values[column]!;
}

/** `k=v;k2=v2` → metadata entries; a pair without `=` becomes an entry with an empty value. */
function parseMetadataCell(text: string): { key: string; value: string }[] {
  return text
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? { key: pair, value: '' } : { key: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() };
    });
}

/** Builds the payment-option input of one row. */
function rowToOption(values: RowValues): { option: PaymentOptionInput; transferSlots: number[] } {
  const rata = cell(values, COL.installment);
  const isInstallment = rata !== '' && rata !== '0';
  const transfers: TransferInput[] = [];
  const transferSlots: number[] = [];
  for (let k = 0; k < CSV_MAX_TRANSFERS; k++) {
    const c = TRANSFER_COLUMNS[k]!;
    let filled = false;
    for (const i of c.all) {
      if (values[i] !== '') {
        filled = true;
        break;
      }
    }
    if (!filled) continue;
    const metadata = cell(values, c.metadata);
    transfers.push({
      idTransfer: k + 1,
      fiscalCodePA: cell(values, c.fiscalCodePA),
      amountEuro: cell(values, c.amount),
      iban: cell(values, c.iban),
      postalIban: cell(values, c.postalIban),
      remittanceInformation: cell(values, c.remittance),
      taxonomyCode: cell(values, c.taxonomy),
      metadata: metadata === '' ? null : parseMetadataCell(metadata),
    });
    transferSlots.push(k + 1);
  }
  return {
    option: {
      isInstallment,
      installmentNumber: isInstallment ? rata : undefined,
      plan: cell(values, COL.plan),
      description: cell(values, COL.optionDescription),
      amountEuro: cell(values, COL.amount),
      dueDate: cell(values, COL.dueDate),
      retentionDate: cell(values, COL.retentionDate),
      transfers,
    },
    transferSlots,
  };
}

/** Value used to compare a position column across the rows of one position. */
function comparable(column: string, value: string): string {
  const v = value.trim().replace(/\s+/g, ' ');
  if (column === 'data_validita') return parseDateInput(v) ?? v;
  return v.toUpperCase();
}

/** Maps a validation field path to a row of the group and a column name. */
function locate(field: string, rows: CsvRow[]): { row: CsvRow; column: string } {
  const first = rows[0]!;
  let m = /^debtor\.(\w+)/.exec(field);
  if (m) return { row: first, column: DEBTOR_COLUMN[m[1]!] ?? 'debitore' };
  if (field === 'debtor') return { row: first, column: 'cf_debitore' };
  if (field === 'iupd') return { row: first, column: 'iupd' };
  if (field === 'description') return { row: first, column: 'descrizione' };
  if (field === 'validityDate') return { row: first, column: 'data_validita' };
  m = /^paymentOptions\[(\d+)\](?:\.(\w+))?(?:\[(\d+)\](?:\.(\w+))?)?/.exec(field);
  if (m) {
    const row = rows[Number(m[1])] ?? first;
    const key = m[2];
    if (key === undefined) return { row, column: '' };
    if (key === 'transfers' && m[3] !== undefined) {
      const n = row.transferSlots[Number(m[3])] ?? Number(m[3]) + 1;
      const suffix = m[4] ? TRANSFER_SUFFIX[m[4]] : undefined;
      return { row, column: suffix ? transferColumn(n, suffix) : `trasf${n}` };
    }
    return { row, column: OPTION_COLUMN[key] ?? key };
  }
  return { row: first, column: field };
}

function withIupd(iupd: string | null, e: Omit<CsvRowError, 'iupd'>): CsvRowError {
  return iupd ? { ...e, iupd } : e;
}

/** Validates one group of rows (one position); pushes errors; returns the position or null. */
function validateGroup(iupd: string | null, rows: CsvRow[], ctx: CsvImportOptions, errors: CsvRowError[]): CsvPosition | null {
  const first = rows[0]!;
  let consistent = true;
  for (let k = 1; k < rows.length; k++) {
    const r = rows[k]!;
    for (const [column, index] of COMPARED_POSITION_COLUMNS) {
      if (comparable(column, cell(r.values, index)) !== comparable(column, cell(first.values, index))) {
        consistent = false;
        errors.push(
          withIupd(iupd, {
            row: r.row,
            field: column,
            message: `Valore diverso da quello della riga ${first.row} per la stessa posizione: i dati del debitore e della posizione devono essere uguali su tutte le righe.`,
          }),
        );
      }
    }
  }
  const v = first.values;
  const serviceCode = cell(v, COL.service).toUpperCase() || null;
  const fallbackIban = ctx.defaultIban?.(serviceCode) ?? null;
  const options: PaymentOptionInput[] = [];
  for (const r of rows) {
    // The option inputs are this parser's own objects: the default account is filled in place.
    if (fallbackIban !== null && r.option.transfers) {
      for (const t of r.option.transfers as TransferInput[]) {
        if (!t.iban && !t.postalIban && (!t.fiscalCodePA || t.fiscalCodePA === ctx.enteFiscalCode)) t.iban = fallbackIban;
      }
    }
    options.push(r.option);
  }
  const input: PositionInput = {
    iupd: iupd ?? undefined,
    debtor: {
      type: cell(v, COL.debtorType),
      fiscalCode: cell(v, COL.debtorFiscalCode),
      fullName: cell(v, COL.debtorName),
      streetName: cell(v, COL.street),
      civicNumber: cell(v, COL.civic),
      postalCode: cell(v, COL.postalCode),
      city: cell(v, COL.city),
      province: cell(v, COL.province),
      country: cell(v, COL.country),
      email: cell(v, COL.email),
    },
    description: cell(v, COL.description),
    validityDate: cell(v, COL.validityDate),
    paymentOptions: options,
  };
  const result = validatePosition(input, ctx);
  if (!result.ok) {
    for (const e of result.errors as FieldError[]) {
      const { row, column } = locate(e.field, rows);
      errors.push(withIupd(iupd, { row: row.row, field: column, message: e.message }));
    }
    return null;
  }
  if (serviceCode !== null && ctx.isKnownService && !ctx.isKnownService(serviceCode)) {
    errors.push(withIupd(iupd, { row: first.row, field: 'servizio', message: `Servizio «${serviceCode}» inesistente o non attivo per questo ente.` }));
    return null;
  }
  if (!consistent) return null;
  const sourceRows: number[] = [];
  for (const r of rows) sourceRows.push(r.row);
  const value = result.value;
  return { iupd: value.iupd, debtor: value.debtor, description: value.description, validityDate: value.validityDate, paymentOptions: value.paymentOptions, sourceRows, serviceCode };
}

/** Decoded text chunks of the input. */
async function* decodeInput(input: AsyncIterable<Buffer | Uint8Array | string>, decoder: CsvTextDecoder): AsyncGenerator<string> {
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    const text = decoder.write(buf);
    if (decoder.utf16) throw new FatalCsvError(1, '', 'Il file è in codifica UTF-16 (testo Unicode), non supportata: salvalo come "CSV UTF-8" oppure "CSV (delimitato dal separatore di elenco)".');
    if (text !== '') yield text;
  }
  const rest = decoder.end();
  if (rest !== '') yield rest;
}

/**
 * Parses and validates a positions CSV (layout in the module comment). Streams the input: bytes
 * are decoded and parsed as they arrive; consecutive rows with the same `iupd` form one position
 * (a position's rows must be consecutive, so memory does not grow with the file), each validated with
 * {@link validatePosition} once the file has been read. Never throws for bad content (every
 * problem is in `errors`); rejects only if the input stream itself fails.
 */
export async function parsePositionsCsv(
  input: AsyncIterable<Buffer | Uint8Array | string> | Readable,
  options: CsvImportOptions,
): Promise<CsvImportResult> {
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  const decoder = new CsvTextDecoder();
  const errors: CsvRowError[] = [];
  const result = (complete: boolean, positions: CsvPosition[], rowCount: number, delimiter: ';' | ',' | null): CsvImportResult => ({
    positions: complete ? positions : [],
    errors: errors.sort((a, b) => a.row - b.row || columnRank(a.field) - columnRank(b.field)),
    rowCount,
    complete,
    encoding: decoder.encoding,
    delimiter,
  });

  const texts = decodeInput(input as AsyncIterable<Buffer | Uint8Array | string>, decoder)[Symbol.asyncIterator]();

  // 1. Read up to the end of the header line to choose the separator.
  let head = '';
  let delimiter: ';' | ',' | null = null;
  try {
    for (;;) {
      const newline = head.search(/[\r\n]/);
      if (newline >= 0 || head.length > MAX_RECORD_CHARS) {
        delimiter = detectDelimiter(newline >= 0 ? head.slice(0, newline) : head);
        break;
      }
      const next = await texts.next();
      if (next.done) {
        delimiter = head.trim() === '' ? null : detectDelimiter(head);
        break;
      }
      head += next.value;
    }
  } catch (err) {
    if (err instanceof FatalCsvError) {
      errors.push({ row: err.row, field: err.field, message: err.message });
      return result(false, [], 0, null);
    }
    throw err;
  }
  if (head.trim() === '' || delimiter === null) await texts.return?.(undefined); // stop reading the input
  if (head.trim() === '') {
    errors.push({ row: 1, field: '', message: 'Il file è vuoto.' });
    return result(false, [], 0, null);
  }
  if (delimiter === null) {
    errors.push({ row: 1, field: '', message: 'Intestazione non riconosciuta: le colonne devono essere separate da punto e virgola (;) o da virgola (,).' });
    return result(false, [], 0, null);
  }

  // 2. Stream the rest through csv-parse.
  async function* allText(): AsyncGenerator<string> {
    try {
      yield head;
      for (;;) {
        const next = await texts.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await texts.return?.(undefined); // on early exit: closes the input (for await destroys a Readable)
    }
  }
  const parser = parse({
    delimiter,
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    relax_quotes: true,
    max_record_size: MAX_RECORD_CHARS,
  });
  let sourceError: unknown = null;
  pipeline(Readable.from(allText()), parser, (err) => {
    if (err && (err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') sourceError = err;
  });

  let columns: (string | null)[] = [];
  /** For each position in a record, the index of its column in CSV_HEADERS (-1: no column). */
  let columnAt: number[] = [];
  let namedColumns = 0;
  // Rows of one position must be consecutive: a position is validated (and handed over) as soon
  // as the next one starts, so memory does not grow with the file.
  const seen = new Set<string>();
  const state: { current: { key: string; iupd: string | null; rows: CsvRow[] } | null } = { current: null };
  const positions: CsvPosition[] = [];
  /** Hands over the current position; returns a promise only when `onPosition` does (then it must be awaited). */
  const flush = (): void | Promise<void> => {
    if (!state.current) return;
    const { iupd, rows } = state.current;
    state.current = null;
    const position = validateGroup(iupd, rows, options, errors);
    if (position && !rows.some((r) => r.layoutError)) {
      if (options.onPosition) return options.onPosition(position);
      positions.push(position);
    }
  };
  let rowCount = 0;
  let lastRow = 0;
  try {
    // Every record counts as a row, blank lines included (skip_empty_lines is off): the record
    // number is the row number of the file.
    for await (const record of parser as AsyncIterable<string[]>) {
      const rowNumber = ++lastRow;
      if (rowNumber === 1) {
        columns = readHeader(record, errors);
        if (errors.length > 0) {
          parser.destroy();
          return result(false, [], 0, delimiter);
        }
        columnAt = columns.map((name) => (name === null ? -1 : columnIndex(name)));
        namedColumns = columns.filter((c) => c !== null).length;
        continue;
      }
      const values: RowValues = EMPTY_ROW.slice();
      let blank = true;
      let extra = false;
      for (let k = 0; k < record.length; k++) {
        const value = record[k]!.trim();
        if (value === '') continue;
        blank = false;
        const column = k < columnAt.length ? columnAt[k]! : -1;
        if (column >= 0) values[column] = value;
        else extra = true;
      }
      if (blank) continue; // blank row
      rowCount++;
      if (rowCount > maxRows) {
        errors.push({ row: rowNumber, field: '', message: `Il file supera il numero massimo di ${maxRows} righe di dati: dividilo in più file.` });
        parser.destroy();
        return result(false, [], rowCount - 1, delimiter);
      }
      const iupd = cell(values, COL.iupd);
      if (extra) {
        const hint = delimiter === ','
          ? ' Se un valore contiene una virgola (es. un importo "12,50") va racchiuso tra virgolette.'
          : ' Se un valore contiene un punto e virgola va racchiuso tra virgolette.';
        errors.push({
          ...(iupd ? { iupd } : {}),
          row: rowNumber,
          field: '',
          message: `La riga ha ${record.length} valori ma l'intestazione ha ${namedColumns} colonne.${hint}`,
        });
      }
      const { option, transferSlots } = rowToOption(values);
      const key = iupd === '' ? `\u0000row${rowNumber}` : iupd;
      const row: CsvRow = { row: rowNumber, values, transferSlots, option, layoutError: extra };
      if (state.current?.key === key) {
        state.current.rows.push(row);
        continue;
      }
      const handedOver = flush();
      if (handedOver) await handedOver;
      if (seen.has(key)) {
        errors.push({
          iupd,
          row: rowNumber,
          field: 'iupd',
          message: `Le righe della posizione ${iupd} devono essere consecutive nel file: questa riga è separata dalle precedenti.`,
        });
        continue;
      }
      if (iupd !== '') seen.add(key);
      state.current = { key, iupd: iupd === '' ? null : iupd, rows: [row] };
    }
  } catch (err) {
    if (err instanceof FatalCsvError) {
      errors.push({ row: err.row, field: err.field, message: err.message });
      return result(false, [], rowCount, delimiter);
    }
    const csvErr = err as { code?: string; records?: number };
    if (typeof csvErr.code === 'string' && csvErr.code.startsWith('CSV_')) {
      const row = (csvErr.records ?? lastRow) + 1;
      const message =
        csvErr.code === 'CSV_QUOTE_NOT_CLOSED'
          ? `Virgolette aperte e mai chiuse a partire dalla riga ${row}: controlla le virgolette nei valori.`
          : csvErr.code === 'CSV_MAX_RECORD_SIZE'
            ? `La riga ${row} è troppo lunga: probabilmente mancano delle virgolette di chiusura.`
            : `Errore di formato CSV alla riga ${row}: ${(err as Error).message}`;
      errors.push({ row, field: '', message });
      return result(false, [], rowCount, delimiter);
    }
    throw err;
  }
  if (sourceError) throw sourceError;
  if (lastRow === 0) {
    errors.push({ row: 1, field: '', message: 'Il file è vuoto.' });
    return result(false, [], 0, delimiter);
  }

  // 3. The last position.
  const handedOver = flush();
  if (handedOver) await handedOver;
  return result(true, positions, rowCount, delimiter);
}

// ---------------------------------------------------------------------------------------------
// Error report export
// ---------------------------------------------------------------------------------------------

export const ERROR_REPORT_HEADERS = ['riga', 'iupd', 'colonna', 'errore'] as const;

/**
 * The error report as CSV text for download: columns riga, iupd, colonna, errore; `;` separator
 * and a UTF-8 BOM by default so that Excel in Italian opens it correctly.
 */
export function errorReportToCsv(errors: readonly CsvRowError[], options: { delimiter?: ';' | ','; bom?: boolean } = {}): string {
  const records = errors.map((e) => [String(e.row), e.iupd ?? '', e.field, e.message]);
  return stringify(records, {
    cast: CSV_SAFE_CAST, // the cells quote the file (CSV injection)
    header: true,
    columns: [...ERROR_REPORT_HEADERS],
    delimiter: options.delimiter ?? ';',
    bom: options.bom ?? true,
    record_delimiter: 'windows',
  });
}
