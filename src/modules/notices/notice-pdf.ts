/**
 * pagoPA payment notice ("avviso di pagamento", template v3) as a PDF: a pure renderer from
 * {@link NoticeData} to bytes. No database, no clock (the creation date comes from the caller),
 * so the same input gives the same bytes and files can be cached and hashed.
 *
 * Layout (ui-conventions.md §6, docs.pagopa.it/avviso-pagamento Allegato 2), A4, 10 mm margins:
 *   1  Intestazione     "AVVISO DI PAGAMENTO" + oggetto + ente logo (30×30 mm, top right), on every page
 *   2  Ente Creditore | Destinatario avviso
 *   3  Quanto e quando pagare? | Dove pagare?
 *   4  Dati per il pagamento: rata unica (QR 25×25 mm + Codice Avviso, CBILL, CF ente), then its
 *      Bollettino Postale PA (DataMatrix 25×25 mm) when the ente has a postal account; then the
 *      installments in bands of 2 or 3 (the same band layout on every page), each band followed
 *      by the installments' postal bollettini.
 * Blocks that do not fit the page move to a new page that repeats the header.
 *
 * Accessibility (ui-conventions.md §7): tagged PDF, `lang it-IT`, document title displayed, real
 * text in reading order (headings, paragraphs, figures with alternative text), borders and
 * backgrounds and the repeated page header marked as artifacts, Titillium Web embedded.
 *
 * Codes: QR `PAGOPA|002|<NAV>|<CF ente>|<cents>` (ECC M, version 4, 33×33 modules, `qrcode`) and
 * the Poste DataMatrix (pagopa.md §7, bwip-js's encoder), both drawn as one vector path of their
 * dark modules.
 *
 * Speed (bulk printing renders thousands): what does not depend on the notice is prepared once per
 * process and shared by the documents: parsed fonts, word layouts, the font subsets (every subset
 * starts with the same glyphs, so the same programs are embedded and encoded once), the logos
 * (read and, for PNG/JPEG, made ready for PDF once; files are taken as unchanging, as the uploaded
 * stemmi are: their names carry their hash). Single lines that fit skip pdfkit's line wrapper.
 * pdfkit, fontkit, the code encoders and svg-to-pdfkit are loaded at the first notice
 * (lazy-packages.ts), not when this module is imported.
 */
import type * as fontkit from 'fontkit';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { loadBwipjs, loadFontkit, loadPdfkit, loadQrcode, loadSvgToPdfkit } from '../../lazy-packages.js';
import { formatEuro } from '../../domain/money.js';
import { isIsoDate } from '../../domain/iso-date.js';

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

/** The ente that issues the notice ("Ente Creditore"). */
export interface NoticeCreditor {
  /** Denomination, ≤ 50 characters ("Comune di Campobasso"). */
  name: string;
  /** Numeric fiscal code, 11 digits. */
  fiscalCode: string;
  /** Organisational unit that manages the payment ("Servizio Tributi"), ≤ 50 characters. */
  sector?: string;
  /** Contact line for citizens (site, phone, e-mail; separate items with " · "), ≤ 100 characters. */
  info?: string;
  /** CBILL (SIA) interbank code, 5 letters or digits; printed upper case. */
  cbillCode?: string;
  /** Logo file (.svg, .png, .jpg), drawn in the 30×30 mm box at the top right. */
  logoPath?: string;
  /** Whether the notice can be paid on the ente's own site and/or app ("Dove pagare" text). */
  onlineChannel?: 'website' | 'app' | 'website-or-app';
  /** The ente's own physical payment point ("Casse Automatiche dell'Ospedale"), ≤ 50 characters. */
  physicalChannel?: string;
}

/** The person the notice is addressed to ("Destinatario avviso"). */
export interface NoticeDebtor {
  /** Name and surname (or company name), ≤ 70 characters. */
  fullName: string;
  /** Personal codice fiscale (16) or numeric fiscal code (11); printed upper case. */
  fiscalCode: string;
  /** Street ("Via Roma"); address, building number, postal code, city and province ≤ 140 together. */
  address?: string;
  buildingNumber?: string;
  postalCode?: string;
  city?: string;
  /** Province abbreviation ("CB"). */
  province?: string;
}

/** One payable option of the notice. */
export interface NoticePayment {
  /** Notice number (NAV, "Codice Avviso"), 18 digits. */
  noticeNumber: string;
  /** Amount in integer euro cents, 1 … 9 999 999 999. */
  amountCents: number;
  /** Due date, ISO `YYYY-MM-DD`. */
  dueDate: string;
}

/** One installment ("rata") of an installment plan. */
export interface NoticeInstallment extends NoticePayment {
  /** 1-based installment number, printed as "Rata n". */
  installmentNumber: number;
}

/** The ente's postal current account: adds the "Bollettino Postale PA" with its DataMatrix. */
export interface NoticePostalAccount {
  /** Conto corrente postale, up to 12 digits (left-padded with zeros to 12). */
  accountNumber: string;
  /** Account holder ("intestato a"), ≤ 50 characters. */
  holderName: string;
  /** Poste authorisation to print the bollettino, `AUT. DB/xxxx/xxx xxxxx DEL xx/xx/xxxx`. */
  authorization: string;
}

/** Everything printed on one notice. At least one of `singlePayment` and `installments` is required. */
export interface NoticeData {
  creditor: NoticeCreditor;
  debtor: NoticeDebtor;
  /** "Oggetto del pagamento", ≤ 90 characters, sentence case ("Tassa sui rifiuti (TARI) 2025"). */
  subject: string;
  /** "Rata unica": pay everything at once. */
  singlePayment?: NoticePayment;
  /** Installment plan, in any order (printed by installment number). */
  installments?: readonly NoticeInstallment[];
  postalAccount?: NoticePostalAccount;
}

export interface RenderNoticeOptions {
  /** PDF CreationDate (and the seed of the file ID). Pass it to get byte-identical output; default now. */
  generatedAt?: Date | string;
}

/** Thrown for input the notice cannot be printed from; `field` is the path of the offending value. */
export class NoticeDataError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'NoticeDataError';
  }
}

// ---------------------------------------------------------------------------------------------
// Pure helpers: codes and formats
// ---------------------------------------------------------------------------------------------

/** Largest amount the QR code and the DataMatrix can carry (10 digits of cents). */
export const MAX_NOTICE_AMOUNT_CENTS = 9_999_999_999;

function assertNoticeNumber(nav: string, field = 'noticeNumber'): void {
  if (typeof nav !== 'string' || !/^[0-9]{18}$/.test(nav)) {
    throw new NoticeDataError(field, `the notice number (Codice Avviso) must be 18 digits, got ${JSON.stringify(nav)}`);
  }
}

function assertEnteFiscalCode(cf: string, field = 'creditor.fiscalCode'): void {
  if (typeof cf !== 'string' || !/^[0-9]{11}$/.test(cf)) {
    throw new NoticeDataError(field, `the ente fiscal code must be 11 digits, got ${JSON.stringify(cf)}`);
  }
}

function assertAmount(cents: number, field = 'amountCents'): void {
  if (!Number.isSafeInteger(cents) || cents < 1 || cents > MAX_NOTICE_AMOUNT_CENTS) {
    throw new NoticeDataError(field, `the amount must be integer cents between 1 and ${MAX_NOTICE_AMOUNT_CENTS}, got ${String(cents)}`);
  }
}

/**
 * QR code payload of a payment option (pagopa.md §7): `PAGOPA|002|<NAV 18>|<CF ente 11>|<cents>`,
 * the amount in cents written with at least 2 digits ("05" for 5 cents). Throws NoticeDataError.
 */
export function noticeQrPayload(noticeNumber: string, enteFiscalCode: string, amountCents: number): string {
  assertNoticeNumber(noticeNumber);
  assertEnteFiscalCode(enteFiscalCode, 'enteFiscalCode');
  assertAmount(amountCents);
  return `PAGOPA|002|${noticeNumber}|${enteFiscalCode}|${String(amountCents).padStart(2, '0')}`;
}

export interface PosteDataMatrixInput {
  noticeNumber: string;
  /** Postal account number, 1–12 digits (left-padded with zeros). */
  postalAccount: string;
  amountCents: number;
  enteFiscalCode: string;
  debtorFiscalCode: string;
  debtorName: string;
  subject: string;
}

/**
 * Text fields of the DataMatrix are fixed-width: transliterated to printable ASCII (accents
 * dropped, anything else becomes "?"), cut to `width` and right-padded with spaces.
 */
function dataMatrixField(value: string, width: number): string {
  const ascii = value
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[‘’]/g, "'")
    .replace(/\s/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?');
  return ascii.slice(0, width).padEnd(width, ' ');
}

/**
 * Payload of the Poste "Bollettino Postale PA" DataMatrix (pagopa.md §7), always 256 characters:
 * `codfase=NBPA;` + codeline (`18` NAV `12` account(12) `10` cents(10) `3` `896`) + `1P1` + CF ente
 * (11) + debtor CF (16) + debtor name (40) + subject (110) + 12 spaces + `A`. Decoders read the
 * NAV at [15,33), the amount at [49,59) and the CF ente at [66,77). Throws NoticeDataError.
 */
export function posteDataMatrixPayload(input: PosteDataMatrixInput): string {
  assertNoticeNumber(input.noticeNumber);
  assertEnteFiscalCode(input.enteFiscalCode, 'enteFiscalCode');
  assertAmount(input.amountCents);
  if (!/^[0-9]{1,12}$/.test(input.postalAccount)) {
    throw new NoticeDataError('postalAccount', `the postal account number must be 1 to 12 digits, got ${JSON.stringify(input.postalAccount)}`);
  }
  const codeline =
    '18' + input.noticeNumber +
    '12' + input.postalAccount.padStart(12, '0') +
    '10' + String(input.amountCents).padStart(10, '0') +
    '3' + '896';
  return (
    'codfase=NBPA;' + codeline + '1P1' + input.enteFiscalCode +
    dataMatrixField(input.debtorFiscalCode.toUpperCase(), 16) +
    dataMatrixField(input.debtorName, 40) +
    dataMatrixField(input.subject, 110) +
    ' '.repeat(12) + 'A'
  );
}

/** "Codice Avviso" as printed: 18 digits in groups of 4, 22 characters ("3012 0250 0000 0042 28"). */
export function formatNoticeCode(noticeNumber: string): string {
  assertNoticeNumber(noticeNumber);
  return noticeNumber.replace(/(\d{4})(?=\d)/g, '$1 ');
}

/** True for a real calendar date written `YYYY-MM-DD`. */

/** `YYYY-MM-DD` → `dd/mm/yyyy` (AVVISO.DATA). */
export function formatDueDate(isoDate: string): string {
  if (typeof isoDate !== 'string' || !isIsoDate(isoDate)) {
    throw new NoticeDataError('dueDate', `the due date must be a date YYYY-MM-DD, got ${JSON.stringify(isoDate)}`);
  }
  const [y, m, d] = isoDate.split('-');
  return `${d}/${m}/${y}`;
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

function requireText(value: unknown, field: string, max: number, optional = false): void {
  if (value === undefined && optional) return;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new NoticeDataError(field, 'must be a non-empty string');
  }
  if ([...value].length > max) {
    throw new NoticeDataError(field, `must be at most ${max} characters, got ${[...value].length}`);
  }
}

function validatePayment(p: NoticePayment, field: string): void {
  assertNoticeNumber(p.noticeNumber, `${field}.noticeNumber`);
  assertAmount(p.amountCents, `${field}.amountCents`);
  if (typeof p.dueDate !== 'string' || !isIsoDate(p.dueDate)) {
    throw new NoticeDataError(`${field}.dueDate`, `the due date must be a date YYYY-MM-DD, got ${JSON.stringify(p.dueDate)}`);
  }
}

/** Checks everything the renderer relies on; throws {@link NoticeDataError} on the first problem. */
export function validateNoticeData(notice: NoticeData): void {
  if (notice === null || typeof notice !== 'object') throw new NoticeDataError('notice', 'must be an object');
  const { creditor, debtor } = notice;
  if (!creditor || typeof creditor !== 'object') throw new NoticeDataError('creditor', 'is required');
  requireText(creditor.name, 'creditor.name', 50);
  assertEnteFiscalCode(creditor.fiscalCode);
  requireText(creditor.sector, 'creditor.sector', 50, true);
  requireText(creditor.info, 'creditor.info', 100, true);
  requireText(creditor.physicalChannel, 'creditor.physicalChannel', 50, true);
  if (creditor.cbillCode !== undefined && !/^[A-Za-z0-9]{5}$/.test(creditor.cbillCode)) {
    throw new NoticeDataError('creditor.cbillCode', `the CBILL code must be 5 letters or digits, got ${JSON.stringify(creditor.cbillCode)}`);
  }
  if (creditor.logoPath !== undefined && !/\.(svg|png|jpe?g)$/i.test(creditor.logoPath)) {
    throw new NoticeDataError('creditor.logoPath', 'the logo must be an .svg, .png or .jpg file');
  }
  if (!debtor || typeof debtor !== 'object') throw new NoticeDataError('debtor', 'is required');
  requireText(debtor.fullName, 'debtor.fullName', 70);
  if (typeof debtor.fiscalCode !== 'string' || !/^([0-9]{11}|[A-Za-z0-9]{16})$/.test(debtor.fiscalCode)) {
    throw new NoticeDataError('debtor.fiscalCode', `must be a 16-character codice fiscale or an 11-digit fiscal code, got ${JSON.stringify(debtor.fiscalCode)}`);
  }
  for (const key of ['address', 'buildingNumber', 'postalCode', 'city', 'province'] as const) {
    requireText(debtor[key], `debtor.${key}`, 140, true);
  }
  if ([...addressLines(debtor).join(' ')].length > 140) {
    throw new NoticeDataError('debtor.address', 'the whole address must be at most 140 characters');
  }
  requireText(notice.subject, 'subject', 90);

  const installments = notice.installments ?? [];
  if (!notice.singlePayment && installments.length === 0) {
    throw new NoticeDataError('singlePayment', 'a notice needs a single payment (rata unica) and/or installments');
  }
  if (notice.singlePayment) validatePayment(notice.singlePayment, 'singlePayment');
  const numbers = new Set<number>();
  installments.forEach((inst, i) => {
    validatePayment(inst, `installments[${i}]`);
    if (!Number.isSafeInteger(inst.installmentNumber) || inst.installmentNumber < 1) {
      throw new NoticeDataError(`installments[${i}].installmentNumber`, 'must be a positive integer');
    }
    if (numbers.has(inst.installmentNumber)) {
      throw new NoticeDataError(`installments[${i}].installmentNumber`, `installment ${inst.installmentNumber} appears twice`);
    }
    numbers.add(inst.installmentNumber);
  });
  const navs = [notice.singlePayment, ...installments].filter((p) => p !== undefined).map((p) => p.noticeNumber);
  if (new Set(navs).size !== navs.length) {
    throw new NoticeDataError('installments', 'every payment option needs its own notice number');
  }
  const postal = notice.postalAccount;
  if (postal) {
    if (typeof postal.accountNumber !== 'string' || !/^[0-9]{1,12}$/.test(postal.accountNumber)) {
      throw new NoticeDataError('postalAccount.accountNumber', `must be 1 to 12 digits, got ${JSON.stringify(postal.accountNumber)}`);
    }
    requireText(postal.holderName, 'postalAccount.holderName', 50);
    requireText(postal.authorization, 'postalAccount.authorization', 60);
    if (!/^AUT\./i.test(postal.authorization.trim())) {
      throw new NoticeDataError('postalAccount.authorization', 'must be the Poste authorisation text "AUT. DB/…"');
    }
  }
}

/** Debtor address as printed: street + number, then postal code, city and (province). */
function addressLines(debtor: NoticeDebtor): string[] {
  const street = [debtor.address, debtor.buildingNumber].filter(Boolean).join(', ');
  const place = [debtor.postalCode, debtor.city, debtor.province ? `(${debtor.province.toUpperCase()})` : undefined]
    .filter(Boolean)
    .join(' ');
  return [street, place].filter((s) => s !== '');
}

// ---------------------------------------------------------------------------------------------
// Assets: fonts, codes, logos
// ---------------------------------------------------------------------------------------------

const FONT_FILES = {
  regular: 'titillium-web-v10-latin-ext_latin-regular.ttf',
  semibold: 'titillium-web-v10-latin-ext_latin-600.ttf',
  bold: 'titillium-web-v10-latin-ext_latin-700.ttf',
} as const;
type FontName = keyof typeof FONT_FILES;

/** A parsed font; pdfkit accepts it in registerFont in place of a file. */
type ParsedFont = fontkit.Font;

let fontsPromise: Promise<Record<FontName, ParsedFont>> | undefined;

/**
 * Titillium Web TTF files shipped with bootstrap-italia, read and parsed once per process: pdfkit
 * would otherwise parse each font again for every document, and fontkit's decoded OpenType tables
 * and glyph caches (most of the time of a notice) would start cold every time.
 */
function loadFonts(): Promise<Record<FontName, ParsedFont>> {
  fontsPromise ??= (async () => {
    const fontkit = await loadFontkit();
    const pkg = createRequire(import.meta.url).resolve('bootstrap-italia/package.json');
    const dir = join(dirname(pkg), 'dist', 'fonts', 'Titillium_Web');
    const entries = await Promise.all(
      (Object.keys(FONT_FILES) as FontName[]).map(async (name) => [name, fontkit.create(await readFile(join(dir, FONT_FILES[name]))) as ParsedFont] as const),
    );
    return Object.fromEntries(entries) as Record<FontName, ParsedFont>;
  })().catch((err: unknown) => {
    fontsPromise = undefined;
    throw err;
  });
  return fontsPromise;
}

/** What pdfkit keeps per embedded font of a document (pdfkit 0.20 `EmbeddedFont`, not typed). */
interface PdfkitEmbeddedFont {
  layoutCache?: Record<string, unknown>;
  scale: number;
  widths: number[];
  unicode: number[][];
  subset: { glyphs: number[]; includeGlyph(id: number): number; encode(): Uint8Array };
}

/**
 * Word layouts (fontkit glyph runs: OpenType shaping, kerning) shared by the documents of this
 * process. pdfkit caches the layout of every word per document, so each notice started cold and
 * shaped the same labels and sentences again; a run depends only on the font and the word and
 * pdfkit never changes a cached run. Dropped every {@link FONT_CACHE_DOCUMENTS} documents so the
 * words of names and addresses cannot pile up.
 */
const layoutCaches = new Map<FontName, Record<string, unknown>>();
const FONT_CACHE_DOCUMENTS = 500;
let documentsSinceReset = 0;

/**
 * Characters whose glyphs open every embedded subset, in this order: digits, Latin letters, the
 * Italian accented vowels and the punctuation of the notice. pdfkit numbers the glyphs of a subset
 * in the order the text first uses them, so the same glyphs gave a different font program in every
 * notice; with this fixed start, notices that use no other glyph (nearly all) share one subset per
 * font, encoded once ({@link fontPrograms}). Costs a few kB per PDF for glyphs a notice may not use.
 */
const SUBSET_BASE = ' 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzàèéìòùÈ.,:;!?-–/()\'’"«»€%&@·…';

/** Glyph ids and code points of {@link SUBSET_BASE}, per parsed font. */
const subsetBases = new WeakMap<ParsedFont, Array<{ id: number; advanceWidth: number; codePoint: number }>>();

function subsetBase(font: ParsedFont): Array<{ id: number; advanceWidth: number; codePoint: number }> {
  let base = subsetBases.get(font);
  if (!base) {
    const seen = new Set<number>();
    base = [];
    for (const ch of SUBSET_BASE) {
      const codePoint = ch.codePointAt(0)!;
      const glyph = font.glyphForCodePoint(codePoint);
      if (glyph.id === 0 || seen.has(glyph.id)) continue;
      seen.add(glyph.id);
      base.push({ id: glyph.id, advanceWidth: glyph.advanceWidth, codePoint });
    }
    subsetBases.set(font, base);
  }
  return base;
}

/** Encoded font subsets (TrueType programs) by font and glyph list; the oldest go beyond the cap. */
const fontPrograms = new Map<string, Uint8Array>();
const FONT_PROGRAMS_MAX = 48;

/**
 * Prepares the notice fonts of `doc`: selects each once, starts its subset with the fixed glyphs,
 * points it at the shared word layouts, and makes it reuse an already encoded identical subset.
 */
function useSharedFontCaches(doc: Doc, fonts: Record<FontName, ParsedFont>): void {
  if (++documentsSinceReset > FONT_CACHE_DOCUMENTS) {
    layoutCaches.clear();
    documentsSinceReset = 1;
  }
  for (const name of Object.keys(FONT_FILES) as FontName[]) {
    doc.font(name);
    const font = (doc as unknown as { _font: PdfkitEmbeddedFont })._font;
    const { subset } = font;
    for (const g of subsetBase(fonts[name])) {
      const gid = subset.includeGlyph(g.id);
      font.widths[gid] ??= g.advanceWidth * font.scale;
      font.unicode[gid] ??= [g.codePoint];
    }
    const encode = subset.encode.bind(subset);
    subset.encode = () => {
      const key = `${name}:${subset.glyphs.join(',')}`;
      let program = fontPrograms.get(key);
      if (!program) {
        program = encode();
        fontPrograms.set(key, program);
        if (fontPrograms.size > FONT_PROGRAMS_MAX) fontPrograms.delete(fontPrograms.keys().next().value!);
      }
      return program;
    };
    if (font.layoutCache) {
      let cache = layoutCaches.get(name);
      if (!cache) layoutCaches.set(name, (cache = Object.create(null) as Record<string, unknown>));
      font.layoutCache = cache;
    }
  }
}

interface Logo {
  kind: 'svg' | 'raster';
  svg?: string;
  raster?: RasterTemplate;
}

/**
 * A PNG or JPEG logo made ready for PDF once per process: pdfkit decodes a PNG (inflate, split
 * the alpha channel, deflate colour and alpha again) every time it embeds one, per document and
 * per page. Here pdfkit's own image code runs once against a recording stand-in for a document;
 * each notice then writes the recorded objects (already compressed) as they are.
 */
interface RasterTemplate {
  width: number;
  height: number;
  orientation: number;
  root: RecordedObject;
}

/** A PDF object as pdfkit's image code wrote it: its dictionary (may refer to others) and stream. */
class RecordedObject {
  readonly chunks: Uint8Array[] = [];
  constructor(
    readonly data: Record<string, unknown>,
    private readonly onEnd: () => void,
  ) {}

  write(chunk: Uint8Array | string): void {
    this.chunks.push(typeof chunk === 'string' ? Buffer.from(`${chunk}\n`, 'latin1') : chunk);
  }

  end(chunk?: Uint8Array | string): void {
    if (chunk) this.write(chunk);
    this.onEnd();
  }
}

/** pdfkit's PDF object reference and the document methods that make them (internals, untyped). */
interface PdfkitRef {
  write(chunk: Uint8Array): void;
  end(): void;
}
interface PdfkitDocInternals {
  ref(data: Record<string, unknown>): PdfkitRef;
  openImage(src: Buffer): unknown;
}

/** pdfkit's image object (PNGImage, JPEG), untyped internals. */
interface PdfkitImage {
  width: number;
  height: number;
  orientation?: number;
  embed(document: unknown): void;
}

async function rasterTemplate(data: Buffer): Promise<RasterTemplate> {
  const PDFDocument = await loadPdfkit();
  const scratch = new PDFDocument({ autoFirstPage: false, font: '' });
  const image = (scratch as unknown as PdfkitDocInternals).openImage(data) as PdfkitImage;
  let root: RecordedObject | undefined;
  const ended = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the image was not decoded')), 10_000).unref();
    const recorder = {
      ref(dict: Record<string, unknown> = {}): RecordedObject {
        const obj = new RecordedObject(dict, () => {
          if (obj === root) {
            clearTimeout(timer);
            resolve();
          }
        });
        root ??= obj;
        return obj;
      },
    };
    try {
      image.embed(recorder);
    } catch (err) {
      clearTimeout(timer);
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
  await ended;
  return { width: image.width, height: image.height, orientation: image.orientation ?? 1, root: root! };
}

/** Writes a recorded object (and those it refers to) into `doc`; returns its reference. */
function writeRecorded(doc: Doc, obj: RecordedObject): PdfkitRef {
  const copy = (value: unknown): unknown => {
    if (value instanceof RecordedObject) return writeRecorded(doc, value);
    if (Array.isArray(value)) return value.map(copy);
    return value;
  };
  const dict: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj.data)) dict[key] = copy(value);
  const ref = (doc as unknown as PdfkitDocInternals).ref(dict);
  for (const chunk of obj.chunks) ref.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  ref.end();
  return ref;
}

/** Logos by file path, read (and a raster one made ready) once; the oldest go beyond the cap. */
const logos = new Map<string, Promise<Logo>>();
const LOGOS_MAX = 64;

function loadLogo(path: string): Promise<Logo> {
  let logo = logos.get(path);
  if (!logo) {
    logo = readLogo(path);
    logos.set(path, logo);
    if (logos.size > LOGOS_MAX) logos.delete(logos.keys().next().value!);
    // A file that could not be read may appear later (an upload in progress): do not keep the failure.
    logo.catch(() => logos.get(path) === logo && logos.delete(path));
  }
  return logo;
}

async function readLogo(path: string): Promise<Logo> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw new NoticeDataError('creditor.logoPath', `cannot read the logo ${path}: ${(err as Error).message}`);
  }
  if (extname(path).toLowerCase() === '.svg') return { kind: 'svg', svg: data.toString('utf8') };
  try {
    return { kind: 'raster', raster: await rasterTemplate(data) };
  } catch (err) {
    throw new NoticeDataError('creditor.logoPath', `the logo ${path} is not a readable PNG or JPEG image: ${String((err as Error)?.message ?? err)}`);
  }
}

type Bwipjs = Awaited<ReturnType<typeof loadBwipjs>>;
type Qrcode = Awaited<ReturnType<typeof loadQrcode>>;
type BwipOptions = Parameters<Bwipjs['toSVG']>[0] & { eclevel?: string; version?: string; format?: string };

/** The code encoders and the SVG drawer of a document, loaded with pdfkit at the first one. */
interface DrawingPackages {
  QRCode: Qrcode;
  bwipjs: Bwipjs;
  SVGtoPDF: Awaited<ReturnType<typeof loadSvgToPdfkit>>;
}

/** A square 2D code as modules: `size`×`size`, row-major, 1 = dark; row 0 is the top row. */
export interface CodeMatrix {
  size: number;
  modules: Uint8Array;
}

/** Vector SVG of a module matrix (4 units per module, no quiet zone), one path of row runs. */
function matrixSvg(m: CodeMatrix): string {
  const u = 4;
  let d = '';
  forEachRun(m, (row, col, len) => {
    d += `M${col * u} ${row * u}h${len * u}v${u}h-${len * u}z`;
  });
  return `<svg viewBox="0 0 ${m.size * u} ${m.size * u}" xmlns="http://www.w3.org/2000/svg"><path d="${d}" fill="#000"/></svg>`;
}

/** Calls `fn` for every horizontal run of dark modules (row, first column, length). */
function forEachRun(m: CodeMatrix, fn: (row: number, col: number, len: number) => void): void {
  const { size, modules } = m;
  for (let r = 0; r < size; r++) {
    const at = r * size;
    let c = 0;
    while (c < size) {
      if (modules[at + c] !== 1) {
        c++;
        continue;
      }
      const start = c;
      while (c < size && modules[at + c] === 1) c++;
      fn(r, start, c - start);
    }
  }
}

/**
 * QR code (ECC M, version 4 = 33×33 modules, no quiet zone) of a payload, as an SVG string with
 * vector paths: `noticeQrSvg(noticeQrPayload(...))`. Usable on web pages too.
 */
export async function noticeQrSvg(payload: string): Promise<string> {
  return matrixSvg(await noticeQrModules(payload));
}

/**
 * The QR modules of a notice payload: version 4 (33×33), error correction M, byte mode, as the
 * pagoPA notice requires. Built with the `qrcode` package, ~100× faster than bwip-js's QR encoder,
 * which dominated the time of a notice; bwip-js stays for the Poste DataMatrix.
 */
export async function noticeQrModules(payload: string): Promise<CodeMatrix> {
  return qrModules(await loadQrcode(), payload);
}

function qrModules(QRCode: Qrcode, payload: string): CodeMatrix {
  // Byte mode (the payload has '|'), given as raw bytes so the encoder cannot pick another mode.
  const qr = QRCode.create([{ data: Buffer.from(payload, 'utf8'), mode: 'byte' }], { errorCorrectionLevel: 'M', version: 4 });
  const { size, data } = qr.modules;
  return { size, modules: Uint8Array.from(data) };
}

/** The QR modules of a notice payload as a lookup function (see {@link noticeQrModules}). */
export async function noticeQrMatrix(payload: string): Promise<{ size: number; dark: (row: number, col: number) => boolean }> {
  const { size, modules } = await noticeQrModules(payload);
  return { size, dark: (row, col) => modules[row * size + col] === 1 };
}

/**
 * Modules of the square ECC 200 DataMatrix of a payload (no quiet zone), from bwip-js's encoder
 * (`bwipjs.raw`): the same symbol as {@link posteDataMatrixSvg} without bwip-js's SVG renderer and
 * the SVG parser that drew it into the PDF, which took most of the time of a postal notice.
 */
export async function posteDataMatrixModules(payload: string): Promise<CodeMatrix> {
  return dataMatrixModules(await loadBwipjs(), payload);
}

function dataMatrixModules(bwipjs: Bwipjs, payload: string): CodeMatrix {
  const opts: BwipOptions = { bcid: 'datamatrix', text: payload, format: 'square' };
  const [symbol] = bwipjs.raw(opts) as unknown as Array<{ pixs: number[]; pixx: number; pixy: number }>;
  if (!symbol || symbol.pixx !== symbol.pixy || symbol.pixs.length !== symbol.pixx * symbol.pixy) {
    throw new Error('bwip-js returned an unexpected DataMatrix');
  }
  return { size: symbol.pixx, modules: Uint8Array.from(symbol.pixs) };
}

/** Square ECC 200 DataMatrix of a payload (no quiet zone), as an SVG string with vector paths. */
export async function posteDataMatrixSvg(payload: string): Promise<string> {
  const bwipjs = await loadBwipjs();
  const opts: BwipOptions = { bcid: 'datamatrix', text: payload, format: 'square' };
  return bwipjs.toSVG(opts);
}

// ---------------------------------------------------------------------------------------------
// Layout constants (points; 1 mm = 72/25.4 pt)
// ---------------------------------------------------------------------------------------------

const MM = 72 / 25.4;
const PAGE_W = 595.28;
const PAGE_H = 841.89;
const MARGIN = 10 * MM;
const CONTENT_W = PAGE_W - 2 * MARGIN;
/** Minimum space between modules (Allegato 2: at least 6 mm). */
const MODULE_GAP = 6 * MM;
const CODE_SIZE = 25 * MM;
const LOGO_SIZE = 30 * MM;
const HEADER_H = LOGO_SIZE;
const FOOTER_H = 14;
const MAX_Y = PAGE_H - MARGIN - FOOTER_H;
const PAD = 12;
const STRIP_H = 28;
/** Height of a label + value field, and of one whose value is set large (Codice Avviso). */
const ROW = 25;
const ROW_BIG = 28;
/** Space between two blocks of the payment part. */
const BLOCK_GAP = 8;

const COLOR = {
  text: '#17324D',
  accent: '#0066CC',
  muted: '#5C6F82',
  border: '#A9B6C4',
  band: '#EEF3F8',
  /** Poste authorisation: 70 % black. */
  poste: '#4D4D4D',
} as const;

const TEXTS = {
  title: 'AVVISO DI PAGAMENTO',
  creditor: 'ENTE CREDITORE',
  debtor: 'DESTINATARIO AVVISO',
  howMuch: 'QUANTO E QUANDO PAGARE?',
  where: 'DOVE PAGARE?',
  paymentData: 'DATI PER IL PAGAMENTO',
  dueBy: 'entro il',
  legal:
    'In fase di pagamento, se previsto dall’ente, l’importo potrebbe essere aggiornato automaticamente e subire variazioni ' +
    'in diminuzione (per sgravi, note di credito) o in aumento (per sanzioni, interessi, ecc.).',
  manyInstallments: 'Importi e scadenze sono riportati nel dettaglio di ogni singola rata.',
  onlineTitle: 'PAGA CON L’APP IO',
  physicalTitle: 'PAGA SUL TERRITORIO',
  physical:
    'presso Banche e Sportelli ATM, negli Uffici Postali e Punti Postali, nei Bar, Edicole, Ricevitorie, Supermercati, ' +
    'Tabaccherie e altri Operatori Abilitati.',
  channels: 'Tutti i canali di pagamento: vai su pagopa.gov.it',
  singleInstallment: 'RATA UNICA',
  qrBeside: 'Inquadra il codice QR con la tua app di pagamento o usa i dati accanto.',
  qrAbove: 'Inquadra il codice QR con la tua app di pagamento o usa i dati sopra.',
  fieldCreditor: 'Ente Creditore',
  fieldDebtor: 'Destinatario',
  fieldSubject: 'Oggetto del pagamento',
  fieldCbill: 'Codice CBILL',
  fieldNotice: 'Codice Avviso',
  fieldCreditorCf: 'Codice Fiscale Ente Creditore',
  postalTitle: 'BOLLETTINO POSTALE PA',
  postalIntro:
    'Bollettino Postale pagabile in tutti gli Uffici Postali e sui canali fisici o digitali abilitati di Poste Italiane ' +
    'e dell’Ente Creditore.',
  postalAccount: 'sul C/C n.',
  postalHolder: 'intestato a',
  postalType: 'Tipo',
} as const;

/** "dal tuo Home Banking…" sentence of the "Dove pagare" module, with the ente's own channel if any. */
function onlineChannelText(creditor: NoticeCreditor): string {
  const where = {
    website: `sul sito di ${creditor.name}, `,
    app: `sull’app di ${creditor.name}, `,
    'website-or-app': `sul sito o app di ${creditor.name}, `,
  };
  const own = creditor.onlineChannel ? where[creditor.onlineChannel] : '';
  return `oppure ${own}dal tuo Home Banking, con la tua app di pagamento o con gli altri canali abilitati.`;
}

function physicalChannelText(creditor: NoticeCreditor): string {
  return creditor.physicalChannel ? `${creditor.physicalChannel}, ${TEXTS.physical}` : TEXTS.physical;
}

/**
 * Installments per band: 3 when the count is a multiple of 3, else 2 when it is even, else 3
 * (Allegato 2 "Rate multiple": bands of 2 or 3, one band layout for the whole notice).
 */
export function installmentsPerBand(count: number): 2 | 3 {
  if (count % 3 === 0) return 3;
  if (count % 2 === 0) return 2;
  return 3;
}

// ---------------------------------------------------------------------------------------------
// Renderer
// ---------------------------------------------------------------------------------------------

type Doc = PDFKit.PDFDocument;
type Struct = PDFKit.PDFStructureElement;

interface TextStyle {
  font: FontName;
  size: number;
  color?: string;
  width: number;
  /** Cut to this many lines with an ellipsis. */
  lines?: number;
  align?: 'left' | 'right' | 'center';
  characterSpacing?: number;
}

/** A vertical slice of the payment part; laid out top to bottom, moved whole to the next page. */
interface Block {
  height: number;
  /** Draws the block with its top at `y`, its structure elements under `parent`. */
  draw(y: number, parent: Struct): void;
}

/** Heights of wrapped texts by font, size, width and text ({@link NoticeWriter.wrappedHeight}). */
const heights = new Map<string, number>();
const HEIGHTS_MAX = 2000;

interface PreparedNotice {
  notice: NoticeData;
  logo?: Logo;
  installments: NoticeInstallment[];
}

class NoticeWriter {
  /** A `continued` text is open in pdfkit's line wrapper. */
  private continuing = false;
  /** Raster logos of this document, each written once. */
  private readonly images = new Map<RasterTemplate, PdfkitImage & { label: string; obj: PdfkitRef | null }>();
  private pageOfNotice = 0;
  private pagesOfNotice = 0;

  constructor(
    private readonly doc: Doc,
    private readonly root: Struct,
    private readonly packages: DrawingPackages,
  ) {}

  // --- primitives ------------------------------------------------------------------------

  /**
   * The image object pdfkit draws for a raster logo in this document: written into the document
   * the first time it is drawn, then the same XObject on every page and every notice of it.
   */
  private rasterImage(template: RasterTemplate): PdfkitImage & { label: string; obj: PdfkitRef | null } {
    let image = this.images.get(template);
    if (!image) {
      const doc = this.doc;
      const created = {
        label: `Logo${this.images.size + 1}`,
        width: template.width,
        height: template.height,
        orientation: template.orientation,
        obj: null as PdfkitRef | null,
        embed(): void {
          created.obj = writeRecorded(doc, template.root);
        },
      };
      image = created;
      this.images.set(template, image);
    }
    return image;
  }

  /** Sets the font and draws text at an absolute position; returns the y below it. */
  private text(value: string, x: number, y: number, style: TextStyle, continued = false): number {
    const { doc } = this;
    doc.font(style.font).fontSize(style.size).fillColor(style.color ?? COLOR.text);
    const align = style.align ?? 'left';
    const characterSpacing = style.characterSpacing ?? 0;
    // One line that fits (most labels and values): drawn at its place without pdfkit's line
    // wrapper, which would split it into words, find the break opportunities and lay it out again.
    // Not while a `continued` text is open: that one has to finish through the wrapper.
    if (!continued && !this.continuing && !value.includes('\n')) {
      const w = doc.widthOfString(value) + characterSpacing * value.length;
      if (w <= style.width - 0.01) {
        // As pdfkit places a line: right-aligned without trailing spaces, centred on its width.
        const dx =
          align === 'right'
            ? style.width - doc.widthOfString(value.replace(/\s+$/, ''), { characterSpacing })
            : align === 'center'
              ? (style.width - doc.widthOfString(value)) / 2
              : 0;
        doc.text(value, x + dx, y, { lineBreak: false, characterSpacing });
        return y + doc.currentLineHeight(true);
      }
    }
    this.continuing = continued;
    const options: PDFKit.Mixins.TextOptions = {
      width: style.width,
      align,
      lineGap: 0,
      continued,
    };
    if (characterSpacing) options.characterSpacing = characterSpacing;
    if (style.lines) {
      options.height = doc.currentLineHeight(true) * style.lines + 0.5;
      options.ellipsis = true;
    }
    doc.text(value, x, y, options);
    return doc.y;
  }

  /** Height of `value` in `style`, honouring the line limit. */
  private measure(value: string, style: TextStyle): number {
    const { doc } = this;
    doc.font(style.font).fontSize(style.size);
    const h = this.wrappedHeight(value, style.font, style.size, style.width);
    return style.lines ? Math.min(h, doc.currentLineHeight(true) * style.lines) : h;
  }

  /**
   * Height of `value` wrapped at `width` in the current font (`font`, `size`), remembered across
   * documents: the paragraphs measured for the layout are mostly the same fixed texts.
   */
  private wrappedHeight(value: string, font: FontName, size: number, width: number): number {
    const key = `${font}|${size}|${width}|${value}`;
    let h = heights.get(key);
    if (h === undefined) {
      h = this.doc.heightOfString(value, { width, lineGap: 0 });
      if (heights.size >= HEIGHTS_MAX) heights.clear();
      heights.set(key, h);
    }
    return h;
  }

  /** Adds a structure element of `type` to `parent`, whose marked content is what `draw` paints. */
  private tag(parent: Struct, type: string, draw: () => void, options: PDFKit.Mixins.StructureElementOptions = {}): void {
    parent.add(this.doc.struct(type, options, draw));
  }

  /** Adds a grouping structure element (Sect, Div) to `parent` and returns it. */
  private group(parent: Struct, type: string, title?: string): Struct {
    const el = this.doc.struct(type, title ? { title } : {});
    parent.add(el);
    return el;
  }

  /** Paints decoration (borders, backgrounds, repeated header) outside the structure tree. */
  private artifact(draw: () => void, type: 'Layout' | 'Pagination' = 'Layout'): void {
    this.doc.markContent('Artifact', { type });
    draw();
    this.doc.endMarkedContent();
  }

  private box(x: number, y: number, w: number, h: number, fill?: string): void {
    this.artifact(() => {
      const { doc } = this;
      doc.save();
      if (fill) doc.roundedRect(x, y, w, h, 4).fill(fill);
      doc.roundedRect(x, y, w, h, 4).lineWidth(0.75).strokeColor(COLOR.border).stroke();
      doc.restore();
    });
  }

  private stripe(x: number, y: number, w: number, h: number): void {
    this.artifact(() => {
      const { doc } = this;
      doc.save();
      doc.roundedRect(x, y, w, h, 4).clip();
      doc.rect(x, y, w, STRIP_H).fill(COLOR.band);
      doc.restore();
    });
  }

  private vline(x: number, y1: number, y2: number): void {
    this.artifact(() => {
      this.doc.save().moveTo(x, y1).lineTo(x, y2).lineWidth(0.5).strokeColor(COLOR.border).stroke().restore();
    });
  }

  /**
   * Draws a 2D code `size` points wide at (x, y) as one vector path of horizontal runs of dark
   * modules, filled black in one operation (no images, no SVG parsing).
   */
  private codeModules(m: CodeMatrix, x: number, y: number, size: number): void {
    // In module units (a scale transform), so each run is written with small integers.
    const ops: string[] = [];
    forEachRun(m, (row, col, len) => {
      ops.push(`${col} ${row} ${len} 1 re`);
    });
    const { doc } = this;
    doc.save();
    doc.transform(size / m.size, 0, 0, size / m.size, x, y);
    doc.fillColor('#000000');
    doc.addContent(ops.join('\n'));
    doc.fill();
    doc.restore();
  }

  private svg(svg: string, x: number, y: number, w: number, h: number, align = 'xMidYMid meet'): void {
    this.packages.SVGtoPDF(this.doc, svg, x, y, { width: w, height: h, preserveAspectRatio: align });
  }

  /** Label (small, muted) above a value; one P element so it reads "label value". */
  private field(parent: Struct, label: string, value: string, x: number, y: number, width: number, valueStyle: Partial<TextStyle> = {}): void {
    this.tag(parent, 'P', () => {
      const align = valueStyle.align ?? 'left';
      const below = this.text(label, x, y, { font: 'regular', size: 7.5, color: COLOR.muted, width, lines: 1, align });
      this.text(value, x, below + 0.5, { font: 'semibold', size: 9.5, width, lines: 1, ...valueStyle });
    });
  }

  /** Amount as printed, shrunk if it does not fit `width` (it must never be cut). */
  private amount(parent: Struct, cents: number, x: number, y: number, width: number, size: number, align: 'left' | 'right' = 'right'): void {
    const value = formatEuro(cents);
    this.doc.font('bold');
    let s = size;
    while (s > 7 && this.doc.fontSize(s).widthOfString(value) > width) s -= 0.5;
    this.tag(parent, 'P', () => this.text(value, x, y, { font: 'bold', size: s, width, align, lines: 1 }));
  }

  // --- page furniture --------------------------------------------------------------------

  /** Intestazione: label, subject, logo. Tagged on the first page, an artifact when repeated. */
  private header(prepared: PreparedNotice, parent: Struct | undefined): void {
    const { notice, logo } = prepared;
    const textW = CONTENT_W - (logo ? LOGO_SIZE + PAD : 0);
    const subjectStyle = this.subjectStyle(notice.subject, textW);
    const drawLabel = (): void => {
      this.text(TEXTS.title, MARGIN, MARGIN, { font: 'semibold', size: 10, color: COLOR.accent, width: textW, lines: 1, characterSpacing: 1 });
    };
    const drawSubject = (): void => {
      this.text(notice.subject, MARGIN, MARGIN + 18, subjectStyle);
    };
    const drawLogo = (): void => {
      if (!logo) return;
      const x = MARGIN + CONTENT_W - LOGO_SIZE;
      if (logo.kind === 'svg' && logo.svg) this.svg(logo.svg, x, MARGIN, LOGO_SIZE, LOGO_SIZE, 'xMaxYMin meet');
      else if (logo.raster) this.doc.image(this.rasterImage(logo.raster) as unknown as Buffer, x, MARGIN, { fit: [LOGO_SIZE, LOGO_SIZE], align: 'right' });
    };
    if (parent) {
      this.tag(parent, 'P', drawLabel);
      this.tag(parent, 'H1', drawSubject);
      if (logo) this.tag(parent, 'Figure', drawLogo, { alt: `Logo di ${notice.creditor.name}` });
    } else {
      this.artifact(() => {
        drawLabel();
        drawSubject();
        drawLogo();
      }, 'Pagination');
    }
  }

  /** The subject in 20 pt, or smaller when 20 pt would need more than two lines. */
  private subjectStyle(subject: string, width: number): TextStyle {
    for (const size of [20, 17, 14]) {
      const style: TextStyle = { font: 'bold', size, width, lines: 2 };
      this.doc.font('bold').fontSize(size);
      if (this.wrappedHeight(subject, 'bold', size, width) <= this.doc.currentLineHeight(true) * 2 + 0.5) return style;
    }
    return { font: 'bold', size: 14, width, lines: 3 };
  }

  private footer(): void {
    const label = `Pagina ${this.pageOfNotice} di ${this.pagesOfNotice}`;
    this.artifact(() => {
      this.text(label, MARGIN, PAGE_H - MARGIN - 9, { font: 'regular', size: 7.5, color: COLOR.muted, width: CONTENT_W, align: 'right', lines: 1 });
    }, 'Pagination');
  }

  private newPage(prepared: PreparedNotice, first: boolean, sect: Struct): number {
    this.doc.addPage({ size: [PAGE_W, PAGE_H], margin: 0 });
    this.pageOfNotice++;
    this.header(prepared, first ? sect : undefined);
    this.footer();
    return MARGIN + HEADER_H + MODULE_GAP;
  }

  // --- modules 2 and 3 -------------------------------------------------------------------

  /** Ente Creditore | Destinatario avviso; returns the y below. */
  private parties(sect: Struct, notice: NoticeData, y: number): number {
    const colW = (CONTENT_W - MODULE_GAP) / 2;
    const left = MARGIN;
    const right = MARGIN + colW + MODULE_GAP;
    const { creditor, debtor } = notice;

    const ente = this.group(sect, 'Sect');
    this.tag(ente, 'H2', () => this.sectionTitle(TEXTS.creditor, left, y, colW));
    let yl = y + 16;
    this.tag(ente, 'P', () => {
      yl = this.text(creditor.name, left, yl, { font: 'bold', size: 12, width: colW, lines: 2 });
    });
    if (creditor.sector) {
      this.tag(ente, 'P', () => {
        yl = this.text(creditor.sector ?? '', left, yl + 1, { font: 'regular', size: 10, width: colW, lines: 2 });
      });
    }
    if (creditor.info) {
      this.tag(ente, 'P', () => {
        yl = this.text(creditor.info ?? '', left, yl + 1, { font: 'regular', size: 9, width: colW, lines: 2 });
      });
    }
    this.tag(ente, 'P', () => {
      this.text('Codice Fiscale ', left, yl + 2, { font: 'regular', size: 9, color: COLOR.muted, width: colW }, true);
      yl = this.text(creditor.fiscalCode, left, yl + 2, { font: 'semibold', size: 9, width: colW });
    });

    const dest = this.group(sect, 'Sect');
    this.tag(dest, 'H2', () => this.sectionTitle(TEXTS.debtor, right, y, colW));
    let yr = y + 16;
    this.tag(dest, 'P', () => {
      yr = this.text(debtor.fullName, right, yr, { font: 'bold', size: 12, width: colW, lines: 2 });
    });
    this.tag(dest, 'P', () => {
      this.text('Codice Fiscale ', right, yr + 1, { font: 'regular', size: 9, color: COLOR.muted, width: colW }, true);
      yr = this.text(debtor.fiscalCode.toUpperCase(), right, yr + 1, { font: 'semibold', size: 9, width: colW });
    });
    for (const line of addressLines(debtor)) {
      this.tag(dest, 'P', () => {
        yr = this.text(line, right, yr + 1, { font: 'regular', size: 9, width: colW, lines: 2 });
      });
    }
    return Math.max(yl, yr);
  }

  private sectionTitle(title: string, x: number, y: number, width: number): void {
    this.text(title, x, y, { font: 'bold', size: 9, color: COLOR.accent, width, lines: 1, characterSpacing: 0.8 });
  }

  /** Quanto e quando pagare? | Dove pagare?; returns the y below. */
  private amountAndWhere(sect: Struct, prepared: PreparedNotice, y: number): number {
    const { notice, installments } = prepared;
    const colW = (CONTENT_W - MODULE_GAP) / 2;
    const inner = colW - 2 * PAD;
    const left = MARGIN;
    const right = MARGIN + colW + MODULE_GAP;
    const single = notice.singlePayment;
    const n = installments.length;
    const totalCents = single ? single.amountCents : installments.reduce((sum, i) => sum + i.amountCents, 0);
    const rateInfo = n >= 2 ? (single ? `Puoi pagare per intero o in ${n} rate` : `Puoi pagare in ${n} rate`) : undefined;

    const small: TextStyle = { font: 'regular', size: 8, width: inner };
    const titleH = 16;
    const leftH =
      PAD + titleH + 28 + (single ? 15 : 0) +
      (rateInfo ? this.measure(rateInfo, { font: 'semibold', size: 9, width: inner }) + 3 : 0) +
      (!single ? this.measure(TEXTS.manyInstallments, small) + 3 : 0) +
      this.measure(TEXTS.legal, { ...small, size: 7 }) + PAD;
    const rightH =
      PAD + titleH +
      12 + this.measure(onlineChannelText(notice.creditor), small) + 6 +
      12 + this.measure(physicalChannelText(notice.creditor), small) + 6 +
      12 + PAD;
    const h = Math.max(leftH, rightH);
    this.box(left, y, colW, h, COLOR.band);
    this.box(right, y, colW, h);

    const howMuch = this.group(sect, 'Sect');
    this.tag(howMuch, 'H2', () => this.sectionTitle(TEXTS.howMuch, left + PAD, y + PAD, inner));
    let yl = y + PAD + titleH;
    this.tag(howMuch, 'P', () => {
      this.text(formatEuro(totalCents), left + PAD, yl, { font: 'bold', size: 22, width: inner, lines: 1 });
      if (single) this.text(`${TEXTS.dueBy} ${formatDueDate(single.dueDate)}`, left + PAD, yl + 28, { font: 'semibold', size: 11, width: inner, lines: 1 });
    });
    yl += 28 + (single ? 15 : 0);
    if (rateInfo) {
      this.tag(howMuch, 'P', () => {
        yl = this.text(rateInfo, left + PAD, yl, { font: 'semibold', size: 9, width: inner }) + 3;
      });
    }
    if (!single) {
      this.tag(howMuch, 'P', () => {
        yl = this.text(TEXTS.manyInstallments, left + PAD, yl, small) + 3;
      });
    }
    this.tag(howMuch, 'P', () => {
      this.text(TEXTS.legal, left + PAD, yl, { ...small, size: 7, color: COLOR.muted });
    });

    const where = this.group(sect, 'Sect');
    this.tag(where, 'H2', () => this.sectionTitle(TEXTS.where, right + PAD, y + PAD, inner));
    let yr = y + PAD + titleH;
    this.tag(where, 'P', () => {
      yr = this.text(TEXTS.onlineTitle, right + PAD, yr, { font: 'bold', size: 9, width: inner, lines: 1 });
      yr = this.text(onlineChannelText(notice.creditor), right + PAD, yr, small) + 6;
    });
    this.tag(where, 'P', () => {
      yr = this.text(TEXTS.physicalTitle, right + PAD, yr, { font: 'bold', size: 9, width: inner, lines: 1 });
      yr = this.text(physicalChannelText(notice.creditor), right + PAD, yr, small) + 6;
    });
    this.tag(where, 'P', () => {
      this.text(TEXTS.channels, right + PAD, yr, { font: 'semibold', size: 8.5, color: COLOR.accent, width: inner, lines: 1 });
    });
    return y + h;
  }

  // --- module 4: payment data ------------------------------------------------------------

  /** Strip at the top of a payment block: "<TITLE> entro il dd/mm/yyyy" on the left, the amount right. */
  private stripTitle(parent: Struct, title: string, subtitle: string, payment: NoticePayment, x: number, y: number, w: number): void {
    const amountW = 130;
    this.tag(parent, 'H3', () => {
      this.text(`${title} `, x + PAD, y + 7, { font: 'bold', size: 11, width: w - 2 * PAD - amountW, lines: 1 }, true);
      this.text(subtitle, x + PAD, y + 7, { font: 'regular', size: 10, width: w - 2 * PAD - amountW, lines: 1 });
    });
    this.amount(parent, payment.amountCents, x + w - PAD - amountW, y + 5.5, amountW, 13);
  }

  private qr(parent: Struct, payment: NoticePayment, enteCf: string, x: number, y: number): void {
    const payload = noticeQrPayload(payment.noticeNumber, enteCf, payment.amountCents);
    const alt = `Codice QR pagoPA dell’avviso ${formatNoticeCode(payment.noticeNumber)}, importo ${formatEuro(payment.amountCents)}`;
    this.tag(parent, 'Figure', () => this.codeModules(qrModules(this.packages.QRCode, payload), x, y, CODE_SIZE), { alt });
  }

  /** Rata unica: QR on the left, the data for manual entry on the right. */
  private singleBlock(notice: NoticeData, payment: NoticePayment): Block {
    const height = STRIP_H + 10 + 16 + ROW_BIG + 2 * ROW + 2 + PAD;
    return {
      height,
      draw: (y, parent) => {
        const x = MARGIN;
        const w = CONTENT_W;
        this.stripe(x, y, w, height);
        this.box(x, y, w, height);
        const part = this.group(parent, 'Div');
        this.stripTitle(part, TEXTS.singleInstallment, `${TEXTS.dueBy} ${formatDueDate(payment.dueDate)}`, payment, x, y, w);
        const y1 = y + STRIP_H + 10;
        this.qr(part, payment, notice.creditor.fiscalCode, x + PAD, y1 + 4);
        const xr = x + PAD + CODE_SIZE + 16;
        const wr = x + w - PAD - xr;
        this.tag(part, 'P', () => this.text(TEXTS.qrBeside, xr, y1, { font: 'regular', size: 8, color: COLOR.muted, width: wr, lines: 1 }));
        const colW = (wr - 12) / 2;
        const xb = xr + colW + 12;
        let row = y1 + 16;
        this.field(part, TEXTS.fieldNotice, formatNoticeCode(payment.noticeNumber), xr, row, colW, { font: 'bold', size: 11 });
        this.field(part, TEXTS.fieldCreditorCf, notice.creditor.fiscalCode, xb, row, colW);
        row += ROW_BIG;
        this.field(part, TEXTS.fieldCreditor, notice.creditor.name, xr, row, colW);
        if (notice.creditor.cbillCode) this.field(part, TEXTS.fieldCbill, notice.creditor.cbillCode.toUpperCase(), xb, row, colW);
        row += ROW;
        this.field(part, TEXTS.fieldDebtor, notice.debtor.fullName, xr, row, colW);
        this.field(part, TEXTS.fieldSubject, notice.subject, xb, row, colW);
      },
    };
  }

  /** Bollettino Postale PA for one payment option: data on the left, DataMatrix and authorisation right. */
  private postalBlock(notice: NoticeData, postal: NoticePostalAccount, payment: NoticePayment, label: string): Block {
    const height = STRIP_H + 8 + 14 + 2 * ROW_BIG + ROW + 8;
    return {
      height,
      draw: (y, parent) => {
        const x = MARGIN;
        const w = CONTENT_W;
        this.stripe(x, y, w, height);
        this.box(x, y, w, height);
        const part = this.group(parent, 'Div');
        this.stripTitle(part, TEXTS.postalTitle, `${label} ${TEXTS.dueBy} ${formatDueDate(payment.dueDate)}`, payment, x, y, w);
        const y1 = y + STRIP_H + 8;
        const codeX = x + w - PAD - CODE_SIZE;
        const wl = codeX - 16 - (x + PAD);
        this.tag(part, 'P', () => this.text(TEXTS.postalIntro, x + PAD, y1, { font: 'regular', size: 7.5, color: COLOR.muted, width: wl, lines: 1 }));
        const col = (wl - 2 * 12) / 3;
        const c1 = x + PAD;
        const c2 = c1 + col + 12;
        const c3 = c2 + col + 12;
        let row = y1 + 14;
        this.field(part, TEXTS.postalAccount, postal.accountNumber.padStart(12, '0'), c1, row, col, { font: 'bold', size: 11 });
        this.field(part, TEXTS.postalHolder, postal.holderName, c2, row, 2 * col + 12);
        row += ROW_BIG;
        this.field(part, TEXTS.fieldDebtor, notice.debtor.fullName, c1, row, col);
        this.field(part, TEXTS.fieldSubject, notice.subject, c2, row, 2 * col + 12);
        row += ROW_BIG;
        this.field(part, TEXTS.fieldNotice, formatNoticeCode(payment.noticeNumber), c1, row, col, { font: 'bold', size: 11 });
        this.field(part, TEXTS.postalType, 'P1', c2, row, col);
        this.field(part, TEXTS.fieldCreditorCf, notice.creditor.fiscalCode, c3, row, col);
        const payload = posteDataMatrixPayload({
          noticeNumber: payment.noticeNumber,
          postalAccount: postal.accountNumber,
          amountCents: payment.amountCents,
          enteFiscalCode: notice.creditor.fiscalCode,
          debtorFiscalCode: notice.debtor.fiscalCode,
          debtorName: notice.debtor.fullName,
          subject: notice.subject,
        });
        const alt = `Codice DataMatrix di Poste Italiane del bollettino ${formatNoticeCode(payment.noticeNumber)}, importo ${formatEuro(payment.amountCents)}`;
        this.tag(part, 'Figure', () => this.codeModules(dataMatrixModules(this.packages.bwipjs, payload), codeX, y1, CODE_SIZE), { alt });
        this.tag(part, 'P', () =>
          this.text(postal.authorization, codeX - 40, y1 + CODE_SIZE + 4, { font: 'regular', size: 6.5, color: COLOR.poste, width: CODE_SIZE + 40, align: 'right', lines: 2 }),
        );
      },
    };
  }

  /** A band of `perBand` installment columns (QR + code each) with the shared data underneath. */
  private installmentBand(notice: NoticeData, band: NoticeInstallment[], perBand: 2 | 3): Block {
    const columnsH = PAD + 14 + 14 + 6 + CODE_SIZE + 6 + 24;
    const sharedH = 8 + 14 + 2 * ROW + 4;
    const height = columnsH + sharedH;
    return {
      height,
      draw: (y, parent) => {
        const x = MARGIN;
        const w = CONTENT_W;
        const colW = w / perBand;
        this.box(x, y, w, height);
        this.artifact(() => {
          const { doc } = this;
          doc.save();
          doc.roundedRect(x, y, w, height, 4).clip();
          doc.rect(x, y + columnsH, w, sharedH).fill(COLOR.band);
          doc.restore();
        });
        for (let i = 1; i < perBand; i++) this.vline(x + i * colW, y + 8, y + columnsH - 8);
        const part = this.group(parent, 'Div');
        band.forEach((inst, i) => {
          const cx = x + i * colW + PAD;
          const cw = colW - 2 * PAD;
          const div = this.group(part, 'Div');
          const amountW = cw * 0.55;
          this.tag(div, 'H3', () => {
            this.text(`RATA ${inst.installmentNumber}`, cx, y + PAD, { font: 'bold', size: 11, width: cw - amountW, lines: 1 });
            this.text(`${TEXTS.dueBy} ${formatDueDate(inst.dueDate)}`, cx, y + PAD + 15, { font: 'regular', size: 9, width: cw, lines: 1 });
          });
          this.amount(div, inst.amountCents, cx + cw - amountW, y + PAD - 1, amountW, 13);
          const qrY = y + PAD + 14 + 14 + 6;
          this.qr(div, inst, notice.creditor.fiscalCode, cx + (cw - CODE_SIZE) / 2, qrY);
          this.field(div, TEXTS.fieldNotice, formatNoticeCode(inst.noticeNumber), cx, qrY + CODE_SIZE + 6, cw, { font: 'bold', size: 10.5, align: 'center' });
        });
        const ys = y + columnsH + 8;
        const sw = w - 2 * PAD;
        this.tag(part, 'P', () => this.text(TEXTS.qrAbove, x + PAD, ys, { font: 'regular', size: 8, color: COLOR.muted, width: sw, lines: 1 }));
        const c = (sw - 2 * 12) / 3;
        const c1 = x + PAD;
        const c2 = c1 + c + 12;
        const c3 = c2 + c + 12;
        let row = ys + 14;
        this.field(part, TEXTS.fieldCreditor, notice.creditor.name, c1, row, c);
        this.field(part, TEXTS.fieldCreditorCf, notice.creditor.fiscalCode, c2, row, c);
        if (notice.creditor.cbillCode) this.field(part, TEXTS.fieldCbill, notice.creditor.cbillCode.toUpperCase(), c3, row, c);
        row += ROW;
        this.field(part, TEXTS.fieldSubject, notice.subject, c1, row, 2 * c + 12);
        this.field(part, TEXTS.fieldDebtor, notice.debtor.fullName, c3, row, c);
      },
    };
  }

  /** The payment part as blocks, in the order of Allegato 2. */
  private paymentBlocks(prepared: PreparedNotice): Block[] {
    const { notice, installments } = prepared;
    const postal = notice.postalAccount;
    const blocks: Block[] = [];
    if (notice.singlePayment) {
      blocks.push(this.singleBlock(notice, notice.singlePayment));
      if (postal) blocks.push(this.postalBlock(notice, postal, notice.singlePayment, 'Rata unica'));
    }
    if (installments.length > 0) {
      const perBand = installmentsPerBand(installments.length);
      for (let i = 0; i < installments.length; i += perBand) {
        const band = installments.slice(i, i + perBand);
        blocks.push(this.installmentBand(notice, band, perBand));
        if (postal) {
          for (const inst of band) blocks.push(this.postalBlock(notice, postal, inst, `Rata ${inst.installmentNumber}`));
        }
      }
    }
    return blocks;
  }

  /**
   * Greedy page plan: the page index (0 = first page) of every block, given where the payment
   * part starts on the first page and where content starts on the following pages.
   */
  private static plan(blocks: Block[], firstY: number, nextPageY: number): number[] {
    const pages: number[] = [];
    let page = 0;
    let y = firstY;
    blocks.forEach((block, i) => {
      const gap = i === 0 ? 0 : BLOCK_GAP;
      if (y + gap + block.height > MAX_Y && y > nextPageY) {
        page++;
        y = nextPageY;
      } else {
        y += gap;
      }
      pages.push(page);
      y += block.height;
    });
    return pages;
  }

  /** Writes one notice, starting on a new page. */
  write(prepared: PreparedNotice): void {
    const { notice } = prepared;
    const sect = this.group(this.root, 'Sect', `Avviso di pagamento: ${notice.subject}`);
    const blocks = this.paymentBlocks(prepared);
    const titleH = 18;
    const nextPageY = MARGIN + HEADER_H + MODULE_GAP;

    // First page: the fixed modules. Their height depends on the text, so they are drawn first
    // and the pages are counted from where the payment part starts.
    this.pageOfNotice = 0;
    this.pagesOfNotice = 0;
    const doc = this.doc;
    doc.addPage({ size: [PAGE_W, PAGE_H], margin: 0 });
    this.pageOfNotice = 1;
    this.header(prepared, sect);
    let y = nextPageY;
    y = this.parties(sect, notice, y) + MODULE_GAP;
    y = this.amountAndWhere(sect, prepared, y) + MODULE_GAP;

    // The "Dati per il pagamento" title travels with the first block.
    const firstBlocks = blocks.map((b, i) => (i === 0 ? { height: b.height + titleH, draw: b.draw } : b));
    const pages = NoticeWriter.plan(firstBlocks, y, nextPageY);
    this.pagesOfNotice = (pages[pages.length - 1] ?? 0) + 1;
    this.footer();

    const paymentPart = this.group(sect, 'Sect');
    let page = 0;
    blocks.forEach((block, i) => {
      const target = pages[i] ?? page;
      if (target !== page) {
        page = target;
        y = this.newPage(prepared, false, sect);
      } else if (i > 0) {
        y += BLOCK_GAP;
      }
      if (i === 0) {
        this.tag(paymentPart, 'H2', () => this.sectionTitle(TEXTS.paymentData, MARGIN, y, CONTENT_W));
        y += titleH;
      }
      block.draw(y, paymentPart);
      y += block.height;
    });
    paymentPart.end();
    sect.end();
  }
}

/** Validates a notice, sorts its installments and reads its logo. */
async function prepare(notice: NoticeData): Promise<PreparedNotice> {
  validateNoticeData(notice);
  const installments = [...(notice.installments ?? [])].sort((a, b) => a.installmentNumber - b.installmentNumber);
  const prepared: PreparedNotice = { notice, installments };
  if (notice.creditor.logoPath) prepared.logo = await loadLogo(notice.creditor.logoPath);
  return prepared;
}

function creationDate(options: RenderNoticeOptions): Date {
  if (options.generatedAt === undefined) return new Date();
  const date = new Date(options.generatedAt);
  if (Number.isNaN(date.getTime())) throw new NoticeDataError('generatedAt', `not a date: ${String(options.generatedAt)}`);
  return date;
}

async function render(prepared: PreparedNotice[], title: string, options: RenderNoticeOptions): Promise<Buffer> {
  const [fonts, PDFDocument, QRCode, bwipjs, SVGtoPDF] = await Promise.all([loadFonts(), loadPdfkit(), loadQrcode(), loadBwipjs(), loadSvgToPdfkit()]);
  const first = prepared[0]?.notice;
  const info: PDFKit.DocumentInfo = {
    Title: title,
    Author: first && prepared.every((p) => p.notice.creditor.fiscalCode === first.creditor.fiscalCode) ? first.creditor.name : 'pagoPA',
    Subject: 'Avviso di pagamento pagoPA',
    Creator: 'sael-pay',
    CreationDate: creationDate(options),
  };
  const doc = new PDFDocument({
    autoFirstPage: false,
    // No default font: pdfkit would parse Helvetica's AFM metrics for every document, never used.
    font: '',
    size: [PAGE_W, PAGE_H],
    margin: 0,
    pdfVersion: '1.7',
    tagged: true,
    lang: 'it-IT',
    displayTitle: true,
    info,
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  for (const name of Object.keys(fonts) as FontName[]) doc.registerFont(name, fonts[name] as unknown as Buffer);
  useSharedFontCaches(doc, fonts);

  const root = doc.struct('Document');
  doc.addStructure(root);
  const writer = new NoticeWriter(doc, root, { QRCode, bwipjs, SVGtoPDF });
  for (const p of prepared) writer.write(p);
  root.end();
  doc.end();
  return done;
}

/** Renders one payment notice (A4, one or more pages) to PDF bytes. Throws NoticeDataError on bad input. */
export async function renderNoticePdf(notice: NoticeData, options: RenderNoticeOptions = {}): Promise<Buffer> {
  const prepared = await prepare(notice);
  return render([prepared], `Avviso di pagamento - ${notice.subject}`, options);
}

/**
 * Renders several notices into one PDF for bulk printing; every notice starts on a new page and
 * repeats its own header and page numbering. Throws NoticeDataError (with the notice index) on bad input.
 */
export async function renderNoticesPdf(notices: NoticeData[], options: RenderNoticeOptions = {}): Promise<Buffer> {
  if (!Array.isArray(notices) || notices.length === 0) throw new NoticeDataError('notices', 'at least one notice is required');
  const prepared: PreparedNotice[] = [];
  for (const [i, notice] of notices.entries()) {
    try {
      prepared.push(await prepare(notice));
    } catch (err) {
      if (err instanceof NoticeDataError) throw new NoticeDataError(`notices[${i}].${err.field}`, err.message.slice(err.field.length + 2));
      throw err;
    }
  }
  const title = notices.length === 1 ? `Avviso di pagamento - ${notices[0]?.subject ?? ''}` : `Avvisi di pagamento (${notices.length})`;
  return render(prepared, title, options);
}
