/**
 * Validation of a payment position ("posizione debitoria") as it arrives from a back-office form,
 * a group of CSV rows or the JSON API, into a normalised, typed value — or the full list of field
 * errors (Italian messages, never stopping at the first one). Pure functions, no I/O: whatever
 * needs the database (registered IBANs, "today") comes in through {@link ValidationContext}.
 *
 * Shape (input and output mirror each other; see the interfaces below):
 *
 * ```
 * position
 *   iupd?              external id of the position, 1..35 of [A-Za-z0-9._-]
 *   debtor             type F|G, fiscalCode, fullName, address…, email
 *   description        1..140
 *   validityDate?      date from which the position is payable
 *   paymentOptions[]   1..100, each one becomes one IUV / notice number
 *     isInstallment    false = single payment ("unica soluzione"), true = installment ("rata")
 *     plan?            installments only: groups installments into a plan (default "1")
 *     installmentNumber?  installments only: 1..n inside the plan (default: order in the array)
 *     description?     1..140, e.g. "Rata 1 di 3"
 *     amountCents | amountEuro, dueDate, retentionDate?
 *     transfers[]      1..5
 *       idTransfer?    1..5 (default: position in the array + 1)
 *       fiscalCodePA?  beneficiary ente (default: the position's own ente)
 *       amountCents | amountEuro
 *       iban? postalIban? | stamp{hashDocument, stampType, provincialResidence}
 *       remittanceInformation, taxonomyCode, metadata?
 * ```
 *
 * This covers every pagoPA payment-option case (SANP "Opzioni di pagamento"): one single payment;
 * several single payments with different due dates; one installment plan; a single payment plus a
 * plan; several plans with or without a single payment.
 *
 * Rules and the decisions taken where the spec is silent:
 * - Debtor `F` (natural person): 16-character codice fiscale with a valid check character, or an
 *   11-digit numeric code (the provisional codice fiscale the Agenzia delle Entrate gives natural
 *   persons) with a valid check digit. Debtor `G` (legal person, incl. sole traders registered with
 *   their partita IVA): 11-digit numeric code with a valid check digit only. pagoPA's
 *   `entityUniqueIdentifierValue` is 2..16 chars, so both fit; "ANONIMO" and foreign ids are refused.
 * - Postal code: 5 digits and province 2 letters when the country is IT or absent; for another
 *   country postal code ≤ 16 and province/region ≤ 35 (ctSubject limits).
 * - Amounts: integer cents 1..999 999 999 (`amountCents`, a number or a digit string) or euro text
 *   (`amountEuro`: "1.234,56", "12,5", "12.50"; a JSON number with at most 2 decimals). One of the two.
 * - Dates: `YYYY-MM-DD` (also `gg/mm/aaaa`, for forms and CSV), real calendar dates, normalised to ISO.
 *   Due date ≥ validity date; retention date ≥ due date; due date ≥ `ctx.today` when given.
 * - Single payments of one position must have different due dates (SANP "più opzioni con scadenze
 *   differenti"); installment plans have ≥ 2 installments numbered 1..n with strictly increasing
 *   due dates.
 * - Transfers: ids unique and consecutive from 1; Σ amounts = option amount; at least one transfer
 *   to the position's own ente; each transfer credits exactly one of: `iban` (bank or postal IBAN),
 *   `postalIban` (must be a Poste IBAN, may accompany `iban` as in GPD), or a digital `stamp`.
 * - Digital stamp (@e.bollo, pagopa.md §8): never together with an IBAN; `stampType` is "01" (the
 *   only value of stTipoBolloDigitale); `hashDocument` base64 of 4..72 chars (stBase64Binary72; a
 *   SHA-256 is 44); `provincialResidence` 2 letters; the transfer's beneficiary must be the
 *   position's own ente (the stamp is requested by the ente issuing the document). Note: options
 *   with a stamp can only be paid through Checkout from our portal (V2 primitives), not at PSPs.
 * - Taxonomy code (`transferCategory`): `[prefix/]<tipo ente 2n><macro area 2n><tipologia servizio
 *   3n><motivo giuridico IM|TS|SP|SA|AP>/`, i.e. 7 digits (not 9) + 2 letters + "/", optional prefix
 *   6/, 7/, 8/ or 9/ (SANP, "Tassonomia dei servizi di incasso"). Upper-cased, otherwise strict.
 * - Metadata: ≤ 10 entries (GPD limit, stricter than SOAP's 15), key and value 1..140, unique keys.
 * - Text: trimmed, runs of white space collapsed to one space; control characters and U+FFFD (the
 *   trace of a wrongly decoded file) are rejected.
 */
import { isValidNumericFiscalCode, isValidPersonalFiscalCode } from '../../domain/fiscal-code.js';
import { isPostalIban, isValidIban, normaliseIban } from '../../domain/iban.js';
import { formatEuro, parseEuroToCents } from '../../domain/money.js';
import { isValidIuv } from './numbers.js';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/** One validation problem; `field` is a path like `paymentOptions[1].transfers[0].iban`. */
export interface FieldError {
  field: string;
  message: string;
}

export interface ValidationContext {
  /** 11-digit fiscal code of the ente issuing the position. */
  enteFiscalCode: string;
  /** ISO date; when given, due dates before it are refused. */
  today?: string;
  /** When given, every `iban`/`postalIban` must be registered for the transfer's beneficiary. */
  isRegisteredIban?: (fiscalCodePA: string, iban: string) => boolean;
  /**
   * When given, every payment option brings its own IUV (`paymentOptions[].iuv`, the GPD API):
   * 17 digits (aux digit 3) starting with this segregation code, with valid check digits, different
   * from the other options' IUVs. Whether it was ever issued is the repository's business. When
   * absent, an `iuv` in the input is ignored and the platform issues one.
   */
  externalIuvSegregationCode?: string;
}

export type DebtorType = 'F' | 'G';

export interface DebtorInput {
  type?: unknown;
  fiscalCode?: unknown;
  fullName?: unknown;
  streetName?: unknown;
  civicNumber?: unknown;
  postalCode?: unknown;
  city?: unknown;
  province?: unknown;
  country?: unknown;
  email?: unknown;
}

export interface StampInput {
  hashDocument?: unknown;
  stampType?: unknown;
  provincialResidence?: unknown;
}

export type MetadataInput = ReadonlyArray<{ key?: unknown; value?: unknown }> | Readonly<Record<string, unknown>>;

export interface TransferInput {
  idTransfer?: unknown;
  fiscalCodePA?: unknown;
  amountCents?: unknown;
  amountEuro?: unknown;
  iban?: unknown;
  postalIban?: unknown;
  stamp?: StampInput | null;
  remittanceInformation?: unknown;
  taxonomyCode?: unknown;
  metadata?: MetadataInput | null;
}

export interface PaymentOptionInput {
  /** The caller's own IUV (only read with {@link ValidationContext.externalIuvSegregationCode}). */
  iuv?: unknown;
  isInstallment?: unknown;
  plan?: unknown;
  installmentNumber?: unknown;
  description?: unknown;
  amountCents?: unknown;
  amountEuro?: unknown;
  dueDate?: unknown;
  retentionDate?: unknown;
  transfers?: readonly TransferInput[];
}

export interface PositionInput {
  iupd?: unknown;
  debtor?: DebtorInput;
  description?: unknown;
  validityDate?: unknown;
  paymentOptions?: readonly PaymentOptionInput[];
}

export interface ValidDebtor {
  type: DebtorType;
  /** Upper-case codice fiscale (16) or numeric code (11). */
  fiscalCode: string;
  fullName: string;
  streetName: string | null;
  civicNumber: string | null;
  postalCode: string | null;
  city: string | null;
  province: string | null;
  country: string | null;
  email: string | null;
}

export interface ValidStamp {
  hashDocument: string;
  stampType: '01';
  provincialResidence: string;
}

export interface MetadataEntry {
  key: string;
  value: string;
}

export interface ValidTransfer {
  idTransfer: 1 | 2 | 3 | 4 | 5;
  fiscalCodePA: string;
  amountCents: number;
  /** Bank or postal IBAN (normalised); null for a stamp or a postalIban-only transfer. */
  iban: string | null;
  /** Poste IBAN, alone or next to `iban`; null otherwise. */
  postalIban: string | null;
  stamp: ValidStamp | null;
  remittanceInformation: string;
  taxonomyCode: string;
  metadata: MetadataEntry[];
}

export type PaymentOptionKind = 'single' | 'installment';

export interface ValidPaymentOption {
  kind: PaymentOptionKind;
  /** Plan key (installments only). */
  plan: string | null;
  /** 1..n inside the plan (installments only). */
  installmentNumber: number | null;
  /** Number of installments in the plan (installments only). */
  installmentCount: number | null;
  description: string | null;
  amountCents: number;
  /** ISO date YYYY-MM-DD. */
  dueDate: string;
  retentionDate: string | null;
  /** Sorted by idTransfer. */
  transfers: ValidTransfer[];
  /** The caller's own IUV (GPD API); absent when the platform issues it. */
  iuv?: string;
}

export interface ValidPosition {
  iupd: string | null;
  debtor: ValidDebtor;
  description: string;
  validityDate: string | null;
  /** Same order as the input. */
  paymentOptions: ValidPaymentOption[];
}

export type PositionValidationResult = { ok: true; value: ValidPosition } | { ok: false; errors: FieldError[] };

// ---------------------------------------------------------------------------------------------
// Limits and patterns
// ---------------------------------------------------------------------------------------------

export const MAX_AMOUNT_CENTS = 999_999_999;
export const MAX_PAYMENT_OPTIONS = 100;
export const MAX_TRANSFERS = 5;
export const MAX_METADATA = 10;
export const MAX_INSTALLMENTS = 100;

/** `iupd` and installment plan keys. */
export const IUPD_PATTERN = /^[A-Za-z0-9._-]{1,35}$/;

/** pagoPA taxonomy code (transferCategory), see the module comment. */
export const TAXONOMY_CODE_PATTERN = /^(?:[6-9]\/)?[0-9]{2}[0-9]{2}[0-9]{3}(?:IM|TS|SP|SA|AP)\/$/;

/** stEMail of the pagoPA common types, anchored. */
const EMAIL_PATTERN = /^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*$/;

const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000E-\u001F\u007F]/;

// ---------------------------------------------------------------------------------------------
// Small reusable parsers (exported for the CSV layer and the forms)
// ---------------------------------------------------------------------------------------------

/** True when the value is a valid taxonomy code (after trimming and upper-casing). */
export function isValidTaxonomyCode(code: string): boolean {
  return TAXONOMY_CODE_PATTERN.test(code.trim().toUpperCase());
}

/**
 * Parses `YYYY-MM-DD` or `gg/mm/aaaa` (1- or 2-digit day and month) into an ISO date string,
 * or null when the text is not a real calendar date (e.g. 31/02/2025).
 */
export function parseDateInput(input: string): string | null {
  const s = input.trim();
  let y: number;
  let m: number;
  let d: number;
  let match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (match) {
    [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  } else {
    match = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(s);
    if (!match) return null;
    [d, m, y] = [Number(match[1]), Number(match[2]), Number(match[3])];
  }
  if (y < 1900 || m < 1 || m > 12 || d < 1) return null;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** ISO date → "gg/mm/aaaa" for messages. */
export function formatDateIt(iso: string): string {
  const [y, m, d] = iso.split('-');
  return `${d}/${m}/${y}`;
}

// ---------------------------------------------------------------------------------------------
// Internal helpers
// ---------------------------------------------------------------------------------------------

/**
 * Memoises a pure check of a short string. The same IBANs, dates and amounts come back on most
 * rows of a bulk import; the cache is bounded (emptied when full) and long inputs bypass it.
 */
function memoised<T>(fn: (input: string) => T, max = 2048): (input: string) => T {
  const cache = new Map<string, T>();
  return (input) => {
    if (input.length > 64) return fn(input);
    const hit = cache.get(input);
    if (hit !== undefined || cache.has(input)) return hit as T;
    if (cache.size >= max) cache.clear();
    const value = fn(input);
    cache.set(input, value);
    return value;
  };
}

const cachedIsValidIban = memoised(isValidIban);
const cachedIsPostalIban = memoised(isPostalIban);
const cachedParseDate = memoised(parseDateInput);
const cachedEuroToCents = memoised(parseEuroToCents);
const isValidEnteFiscalCode = memoised(isValidNumericFiscalCode, 256);

class Errors {
  readonly list: FieldError[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
  get count(): number {
    return this.list.length;
  }
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Scalar input → string (numbers are accepted where people may type digits), else null. */
function asText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

interface TextRule {
  required: boolean;
  max: number;
  label: string;
}

/**
 * Reads a single-line text: trimmed, white space collapsed; checks presence, type, characters
 * and length. Returns the normalised text, null when absent (and optional), or undefined on error.
 */
function readText(errors: Errors, field: string, value: unknown, rule: TextRule): string | null | undefined {
  if (isBlank(value)) {
    if (rule.required) {
      errors.add(field, `${rule.label}: campo obbligatorio.`);
      return undefined;
    }
    return null;
  }
  const raw = asText(value);
  if (raw === null) {
    errors.add(field, `${rule.label}: valore non valido.`);
    return undefined;
  }
  if (raw.includes('\uFFFD')) {
    errors.add(field, `${rule.label}: contiene caratteri non leggibili (\uFFFD); controlla la codifica del file (UTF-8 o Windows-1252).`);
    return undefined;
  }
  if (CONTROL_CHARS.test(raw)) {
    errors.add(field, `${rule.label}: contiene caratteri di controllo non ammessi.`);
    return undefined;
  }
  const text = raw.trim().replace(/\s+/g, ' ');
  if (text.length > rule.max) {
    errors.add(field, `${rule.label}: massimo ${rule.max} caratteri (ne contiene ${text.length}).`);
    return undefined;
  }
  return text;
}

/** Reads an optional date; undefined on error. */
function readDate(errors: Errors, field: string, value: unknown, label: string, required: boolean): string | null | undefined {
  if (isBlank(value)) {
    if (required) {
      errors.add(field, `${label}: campo obbligatorio.`);
      return undefined;
    }
    return null;
  }
  const text = asText(value);
  const iso = typeof value === 'string' && text !== null ? cachedParseDate(text) : null;
  if (iso === null) {
    errors.add(field, `${label}: data non valida, usa il formato gg/mm/aaaa o aaaa-mm-gg.`);
    return undefined;
  }
  return iso;
}

/** Reads a boolean flag from JSON or form values ("true", "1", "on", "si"/"sì" and their opposites). */
function readFlag(errors: Errors, field: string, value: unknown, label: string): boolean | undefined {
  if (isBlank(value)) return false;
  if (typeof value === 'boolean') return value;
  const text = asText(value)?.trim().toLowerCase();
  if (text !== undefined) {
    if (['true', '1', 'on', 'si', 'sì', 's', 'yes'].includes(text)) return true;
    if (['false', '0', 'off', 'no', 'n'].includes(text)) return false;
  }
  errors.add(field, `${label}: valore non valido (usa sì/no).`);
  return undefined;
}

/** Reads a positive integer in [min, max] from a number or a digit string; null when absent. */
function readInteger(errors: Errors, field: string, value: unknown, label: string, min: number, max: number): number | null | undefined {
  if (isBlank(value)) return null;
  let n: number | null = null;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) n = Number(value.trim());
  if (n === null || !Number.isSafeInteger(n) || n < min || n > max) {
    errors.add(field, `${label}: deve essere un numero intero da ${min} a ${max}.`);
    return undefined;
  }
  return n;
}

/**
 * Reads an amount given either as `amountCents` or `amountEuro` on `obj`; errors go on the key
 * that was used. Returns cents, or undefined on error.
 */
function readAmount(errors: Errors, path: string, obj: { amountCents?: unknown; amountEuro?: unknown }, label: string): number | undefined {
  const hasCents = !isBlank(obj.amountCents);
  const hasEuro = !isBlank(obj.amountEuro);
  if (!hasCents && !hasEuro) {
    errors.add(`${path}.amountCents`, `${label}: campo obbligatorio.`);
    return undefined;
  }
  if (hasCents && hasEuro) {
    errors.add(`${path}.amountCents`, `${label}: indica l'importo in centesimi oppure in euro, non entrambi.`);
    return undefined;
  }
  let cents: number | null = null;
  let field: string;
  if (hasCents) {
    field = `${path}.amountCents`;
    const v = obj.amountCents;
    if (typeof v === 'number' && Number.isSafeInteger(v)) cents = v;
    else if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) cents = Number(v.trim());
    if (cents === null) {
      errors.add(field, `${label}: l'importo in centesimi deve essere un numero intero.`);
      return undefined;
    }
  } else {
    field = `${path}.amountEuro`;
    const v = obj.amountEuro;
    if (typeof v === 'number') {
      if (Number.isFinite(v) && Math.round(v * 100) / 100 === v) cents = Math.round(v * 100);
    } else if (typeof v === 'string') {
      cents = cachedEuroToCents(v);
    }
    if (cents === null) {
      errors.add(field, `${label}: importo non valido; scrivi ad esempio 1.234,56 oppure 1234.56 (al massimo due decimali).`);
      return undefined;
    }
  }
  if (!Number.isSafeInteger(cents) || cents <= 0) {
    errors.add(field, `${label}: l'importo deve essere maggiore di zero.`);
    return undefined;
  }
  if (cents > MAX_AMOUNT_CENTS) {
    errors.add(field, `${label}: l'importo massimo è ${formatEuro(MAX_AMOUNT_CENTS)}.`);
    return undefined;
  }
  return cents;
}

// ---------------------------------------------------------------------------------------------
// Debtor
// ---------------------------------------------------------------------------------------------

function validateDebtor(errors: Errors, input: unknown): ValidDebtor | undefined {
  const path = 'debtor';
  if (!isRecord(input)) {
    errors.add(path, 'Dati del debitore mancanti.');
    return undefined;
  }
  const before = errors.count;

  let type: DebtorType | undefined;
  const rawType = asText(input.type)?.trim().toUpperCase();
  if (isBlank(input.type)) errors.add(`${path}.type`, 'Tipo di debitore: campo obbligatorio (F = persona fisica, G = persona giuridica).');
  else if (rawType === 'F' || rawType === 'G') type = rawType;
  else errors.add(`${path}.type`, 'Tipo di debitore non valido: usa F (persona fisica) o G (persona giuridica).');

  let fiscalCode: string | undefined;
  if (isBlank(input.fiscalCode)) {
    errors.add(`${path}.fiscalCode`, 'Codice fiscale del debitore: campo obbligatorio.');
  } else {
    const cf = (asText(input.fiscalCode) ?? '').replace(/\s+/g, '').toUpperCase();
    const personal = isValidPersonalFiscalCode(cf);
    const numeric = isValidNumericFiscalCode(cf);
    if (type === 'G' && personal) {
      errors.add(`${path}.fiscalCode`, 'Per una persona giuridica serve il codice fiscale numerico di 11 cifre o la partita IVA; un codice di 16 caratteri indica una persona fisica (tipo F).');
    } else if (type === 'G' && !numeric) {
      errors.add(`${path}.fiscalCode`, 'Codice fiscale/partita IVA del debitore non valido: servono 11 cifre con la cifra di controllo corretta.');
    } else if (!personal && !numeric) {
      errors.add(`${path}.fiscalCode`, 'Codice fiscale del debitore non valido: servono 16 caratteri (o 11 cifre) con il carattere di controllo corretto.');
    } else {
      fiscalCode = cf;
    }
  }

  const fullName = readText(errors, `${path}.fullName`, input.fullName, { required: true, max: 70, label: 'Nome e cognome o ragione sociale' });
  const streetName = readText(errors, `${path}.streetName`, input.streetName, { required: false, max: 70, label: 'Indirizzo' });
  const civicNumber = readText(errors, `${path}.civicNumber`, input.civicNumber, { required: false, max: 16, label: 'Numero civico' });
  const city = readText(errors, `${path}.city`, input.city, { required: false, max: 35, label: 'Località' });

  let country: string | null | undefined = null;
  if (!isBlank(input.country)) {
    const c = (asText(input.country) ?? '').trim().toUpperCase();
    if (/^[A-Z]{2}$/.test(c)) country = c;
    else {
      errors.add(`${path}.country`, 'Nazione: usa il codice di 2 lettere (es. IT).');
      country = undefined;
    }
  }
  const italian = country === null || country === 'IT';

  let postalCode: string | null | undefined = null;
  if (!isBlank(input.postalCode)) {
    const pc = (asText(input.postalCode) ?? '').trim();
    if (italian && !/^[0-9]{5}$/.test(pc)) {
      errors.add(`${path}.postalCode`, 'CAP non valido: servono 5 cifre.');
      postalCode = undefined;
    } else {
      postalCode = readText(errors, `${path}.postalCode`, pc, { required: false, max: 16, label: 'CAP' });
    }
  }

  let province: string | null | undefined = null;
  if (!isBlank(input.province)) {
    const pr = (asText(input.province) ?? '').trim();
    if (italian) {
      if (/^[A-Za-z]{2}$/.test(pr)) province = pr.toUpperCase();
      else {
        errors.add(`${path}.province`, 'Provincia: usa la sigla di 2 lettere (es. CB).');
        province = undefined;
      }
    } else {
      province = readText(errors, `${path}.province`, pr, { required: false, max: 35, label: 'Provincia o regione' });
    }
  }

  let email: string | null | undefined = null;
  if (!isBlank(input.email)) {
    const e = (asText(input.email) ?? '').trim();
    if (e.length > 256 || !EMAIL_PATTERN.test(e)) {
      errors.add(`${path}.email`, 'Indirizzo email non valido.');
      email = undefined;
    } else {
      email = e;
    }
  }

  if (errors.count > before || !type || !fiscalCode) return undefined;
  return {
    type,
    fiscalCode,
    fullName: fullName!,
    streetName: streetName ?? null,
    civicNumber: civicNumber ?? null,
    postalCode: postalCode ?? null,
    city: city ?? null,
    province: province ?? null,
    country: country ?? null,
    email: email ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Transfers
// ---------------------------------------------------------------------------------------------

function readMetadata(errors: Errors, path: string, input: unknown): MetadataEntry[] | undefined {
  if (input === undefined || input === null) return [];
  let entries: { key: unknown; value: unknown }[];
  if (Array.isArray(input)) {
    entries = input.map((e: unknown) => (isRecord(e) ? { key: e.key, value: e.value } : { key: undefined, value: undefined }));
  } else if (isRecord(input)) {
    entries = Object.entries(input).map(([key, value]) => ({ key, value }));
  } else {
    errors.add(path, 'Metadati non validi.');
    return undefined;
  }
  if (entries.length > MAX_METADATA) {
    errors.add(path, `Al massimo ${MAX_METADATA} metadati per trasferimento (ne sono indicati ${entries.length}).`);
    return undefined;
  }
  const before = errors.count;
  const out: MetadataEntry[] = [];
  const seen = new Set<string>();
  entries.forEach((e, k) => {
    const key = readText(errors, `${path}[${k}].key`, e.key, { required: true, max: 140, label: 'Chiave del metadato' });
    const value = readText(errors, `${path}[${k}].value`, e.value, { required: true, max: 140, label: 'Valore del metadato' });
    if (key && seen.has(key)) errors.add(`${path}[${k}].key`, `Chiave del metadato ripetuta: ${key}.`);
    if (key) seen.add(key);
    if (key && value) out.push({ key, value });
  });
  return errors.count > before ? undefined : out;
}

function readStamp(errors: Errors, path: string, input: StampInput): ValidStamp | undefined {
  const before = errors.count;
  const hash = (asText(input.hashDocument) ?? '').trim();
  if (hash === '') errors.add(`${path}.hashDocument`, 'Impronta del documento (marca da bollo): campo obbligatorio.');
  else if (hash.length < 4 || hash.length > 72 || !BASE64_PATTERN.test(hash)) {
    errors.add(`${path}.hashDocument`, "Impronta del documento non valida: dev'essere in base64 (da 4 a 72 caratteri; l'impronta SHA-256 ne ha 44).");
  }
  const type = (asText(input.stampType) ?? '').trim();
  if (type !== '01') errors.add(`${path}.stampType`, 'Tipo di bollo non valido: l\u2019unico valore ammesso è 01.');
  const prov = (asText(input.provincialResidence) ?? '').trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(prov)) errors.add(`${path}.provincialResidence`, 'Provincia di residenza del pagatore: usa la sigla di 2 lettere.');
  if (errors.count > before) return undefined;
  return { hashDocument: hash, stampType: '01', provincialResidence: prov };
}

function hasAnyStampValue(stamp: unknown): stamp is StampInput {
  return isRecord(stamp) && [stamp.hashDocument, stamp.stampType, stamp.provincialResidence].some((v) => !isBlank(v));
}

/** Validates one transfer; `defaultId` is used when idTransfer is absent. */
function validateTransfer(
  errors: Errors,
  path: string,
  input: unknown,
  defaultId: number,
  ctx: ValidationContext,
): { value?: ValidTransfer; id?: number; fiscalCodePA?: string; amountCents?: number } {
  if (!isRecord(input)) {
    errors.add(path, 'Trasferimento non valido.');
    return {};
  }
  const t = input as TransferInput;
  const before = errors.count;
  const label = `Trasferimento ${defaultId}`;

  const idRead = readInteger(errors, `${path}.idTransfer`, t.idTransfer, 'Identificativo del trasferimento', 1, MAX_TRANSFERS);
  const id = idRead === null ? defaultId : idRead;

  let fiscalCodePA: string | undefined = ctx.enteFiscalCode;
  if (!isBlank(t.fiscalCodePA)) {
    const cf = (asText(t.fiscalCodePA) ?? '').trim();
    if (isValidNumericFiscalCode(cf)) fiscalCodePA = cf;
    else {
      errors.add(`${path}.fiscalCodePA`, `${label}: codice fiscale dell'ente beneficiario non valido (11 cifre con cifra di controllo).`);
      fiscalCodePA = undefined;
    }
  }

  const amountCents = readAmount(errors, path, t, `${label}, importo`);

  let iban: string | null = null;
  let postalIban: string | null = null;
  let stamp: ValidStamp | null = null;
  const hasIban = !isBlank(t.iban);
  const hasPostal = !isBlank(t.postalIban);
  const hasStamp = hasAnyStampValue(t.stamp);
  if (hasStamp && (hasIban || hasPostal)) {
    errors.add(`${path}.stamp`, `${label}: la marca da bollo digitale non può essere indicata insieme a un IBAN.`);
  } else if (!hasStamp && !hasIban && !hasPostal) {
    errors.add(`${path}.iban`, `${label}: indica l'IBAN di accredito (oppure l'IBAN postale o la marca da bollo digitale).`);
  } else if (hasStamp) {
    stamp = readStamp(errors, `${path}.stamp`, t.stamp as StampInput) ?? null;
    if (fiscalCodePA !== undefined && fiscalCodePA !== ctx.enteFiscalCode) {
      errors.add(`${path}.fiscalCodePA`, `${label}: la marca da bollo digitale può essere richiesta solo dall'ente che emette la posizione.`);
    }
  } else {
    if (hasIban) {
      const v = normaliseIban(asText(t.iban) ?? '');
      if (!cachedIsValidIban(v)) errors.add(`${path}.iban`, `${label}: IBAN non valido.`);
      else iban = v;
    }
    if (hasPostal) {
      const v = normaliseIban(asText(t.postalIban) ?? '');
      if (!cachedIsValidIban(v)) errors.add(`${path}.postalIban`, `${label}: IBAN postale non valido.`);
      else if (!cachedIsPostalIban(v)) errors.add(`${path}.postalIban`, `${label}: l'IBAN indicato non è di un conto postale (ABI 07601).`);
      else postalIban = v;
    }
    if (ctx.isRegisteredIban && fiscalCodePA !== undefined) {
      for (const [key, value] of [['iban', iban], ['postalIban', postalIban]] as const) {
        if (value !== null && !ctx.isRegisteredIban(fiscalCodePA, value)) {
          errors.add(`${path}.${key}`, `${label}: l'IBAN ${value} non risulta registrato per l'ente ${fiscalCodePA}.`);
        }
      }
    }
  }

  const remittanceInformation = readText(errors, `${path}.remittanceInformation`, t.remittanceInformation, {
    required: true,
    max: 140,
    label: `${label}, causale`,
  });

  let taxonomyCode: string | undefined;
  if (isBlank(t.taxonomyCode)) {
    errors.add(`${path}.taxonomyCode`, `${label}: codice tassonomico obbligatorio (es. 9/0101101IM/).`);
  } else {
    const code = (asText(t.taxonomyCode) ?? '').trim().toUpperCase();
    if (TAXONOMY_CODE_PATTERN.test(code)) taxonomyCode = code;
    else {
      errors.add(
        `${path}.taxonomyCode`,
        `${label}: codice tassonomico non valido "${code}": il formato è [prefisso/]7 cifre + IM, TS, SP, SA o AP + "/" (es. 9/0101101IM/).`,
      );
    }
  }

  const metadata = readMetadata(errors, `${path}.metadata`, t.metadata);

  const result = { id: idRead === undefined ? undefined : id, fiscalCodePA, amountCents };
  if (errors.count > before || idRead === undefined || !fiscalCodePA || amountCents === undefined || !remittanceInformation || !taxonomyCode || !metadata) {
    return result;
  }
  return {
    id: result.id,
    fiscalCodePA,
    amountCents,
    value: {
      idTransfer: id as ValidTransfer['idTransfer'],
      fiscalCodePA,
      amountCents,
      iban,
      postalIban,
      stamp,
      remittanceInformation,
      taxonomyCode,
      metadata,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Payment options
// ---------------------------------------------------------------------------------------------

interface OptionDraft {
  index: number;
  kind?: PaymentOptionKind;
  plan: string | null;
  /** Given explicitly (null = absent, undefined = invalid). */
  givenNumber: number | null | undefined;
  dueDate?: string;
  value?: Omit<ValidPaymentOption, 'installmentNumber' | 'installmentCount'>;
}

/** Human name of an option for messages: "l'opzione 2 (rata 1)". */
function optionName(d: OptionDraft, number: number | null, multiplePlans: boolean): string {
  const n = `l'opzione di pagamento n. ${d.index + 1}`;
  if (d.kind === 'installment') {
    const plan = multiplePlans && d.plan ? ` del piano «${d.plan}»` : '';
    return number ? `${n} (rata ${number}${plan})` : `${n} (rata${plan})`;
  }
  return `${n} (unica soluzione)`;
}

function validateOption(
  errors: Errors,
  index: number,
  input: unknown,
  validityDate: string | null | undefined,
  ctx: ValidationContext,
): OptionDraft {
  const path = `paymentOptions[${index}]`;
  const draft: OptionDraft = { index, plan: null, givenNumber: null };
  if (!isRecord(input)) {
    errors.add(path, `Opzione di pagamento n. ${index + 1} non valida.`);
    return draft;
  }
  const o = input as PaymentOptionInput;
  const before = errors.count;

  const isInstallment = readFlag(errors, `${path}.isInstallment`, o.isInstallment, 'Rata');
  if (isInstallment !== undefined) draft.kind = isInstallment ? 'installment' : 'single';

  if (isInstallment) {
    if (isBlank(o.plan)) draft.plan = '1';
    else {
      const plan = (asText(o.plan) ?? '').trim();
      if (IUPD_PATTERN.test(plan)) draft.plan = plan;
      else errors.add(`${path}.plan`, 'Piano rateale: da 1 a 35 caratteri tra lettere, cifre, punto, trattino e trattino basso.');
    }
    draft.givenNumber = readInteger(errors, `${path}.installmentNumber`, o.installmentNumber, 'Numero della rata', 1, MAX_INSTALLMENTS);
  } else if (isInstallment === false) {
    if (!isBlank(o.plan)) errors.add(`${path}.plan`, 'Il piano rateale si indica solo per le rate, non per il pagamento in unica soluzione.');
    if (!isBlank(o.installmentNumber)) {
      errors.add(`${path}.installmentNumber`, 'Il numero di rata si indica solo per le rate: questa opzione è in unica soluzione.');
    }
  }

  const description = readText(errors, `${path}.description`, o.description, { required: false, max: 140, label: 'Descrizione dell\u2019opzione' });
  const amountCents = readAmount(errors, path, o, 'Importo');
  const iuv = ctx.externalIuvSegregationCode === undefined ? undefined : readExternalIuv(errors, `${path}.iuv`, o.iuv, ctx.externalIuvSegregationCode);

  const dueDate = readDate(errors, `${path}.dueDate`, o.dueDate, 'Scadenza', true);
  if (dueDate) {
    draft.dueDate = dueDate;
    if (validityDate && dueDate < validityDate) {
      errors.add(`${path}.dueDate`, `La scadenza (${formatDateIt(dueDate)}) non può precedere la data di inizio validità (${formatDateIt(validityDate)}).`);
    }
    if (ctx.today && dueDate < ctx.today) {
      errors.add(`${path}.dueDate`, `La scadenza (${formatDateIt(dueDate)}) è già passata.`);
    }
  }
  const retentionDate = readDate(errors, `${path}.retentionDate`, o.retentionDate, 'Data di conservazione', false);
  if (retentionDate && dueDate && retentionDate < dueDate) {
    errors.add(`${path}.retentionDate`, `La data di conservazione (${formatDateIt(retentionDate)}) non può precedere la scadenza (${formatDateIt(dueDate)}).`);
  }

  // Transfers
  const transfers: ValidTransfer[] = [];
  const rawTransfers = o.transfers;
  let transfersOk = true;
  if (!Array.isArray(rawTransfers) || rawTransfers.length === 0) {
    errors.add(`${path}.transfers`, 'Indica almeno un trasferimento (beneficiario, importo, IBAN, causale, tassonomia).');
    transfersOk = false;
  } else if (rawTransfers.length > MAX_TRANSFERS) {
    errors.add(`${path}.transfers`, `Al massimo ${MAX_TRANSFERS} trasferimenti per opzione di pagamento (ne sono indicati ${rawTransfers.length}).`);
    transfersOk = false;
  } else {
    const results: ReturnType<typeof validateTransfer>[] = [];
    for (let j = 0; j < rawTransfers.length; j++) results.push(validateTransfer(errors, `${path}.transfers[${j}]`, rawTransfers[j], j + 1, ctx));
    const kindName = draft.kind === 'installment'
      ? ` (rata${typeof draft.givenNumber === 'number' ? ` ${draft.givenNumber}` : ''})`
      : draft.kind === 'single' ? ' (unica soluzione)' : '';
    const name = `dell'opzione di pagamento n. ${index + 1}${kindName}`;

    // ids: unique, consecutive from 1
    const ids = new Map<number, number>();
    let allIds = true;
    let allCfs = true;
    let ownEnte = false;
    let allAmounts = true;
    let sum = 0;
    for (let j = 0; j < results.length; j++) {
      const r = results[j]!;
      if (r.fiscalCodePA === undefined) allCfs = false;
      else if (r.fiscalCodePA === ctx.enteFiscalCode) ownEnte = true;
      if (r.amountCents === undefined) allAmounts = false;
      else sum += r.amountCents;
      if (r.id === undefined) {
        allIds = false;
        continue;
      }
      if (ids.has(r.id)) errors.add(`${path}.transfers[${j}].idTransfer`, `Identificativo del trasferimento ripetuto: ${r.id}.`);
      else ids.set(r.id, j);
    }
    if (allIds && ids.size === results.length) {
      const missing: number[] = [];
      for (let k = 1; k <= results.length; k++) if (!ids.has(k)) missing.push(k);
      if (missing.length > 0) {
        errors.add(
          `${path}.transfers`,
          `Gli identificativi dei trasferimenti devono essere consecutivi a partire da 1: manca il trasferimento ${missing.join(', ')}.`,
        );
      }
    }

    // at least one transfer to the own ente
    if (allCfs && !ownEnte) {
      errors.add(`${path}.transfers`, `Almeno un trasferimento ${name} deve essere a favore dell'ente che emette la posizione (${ctx.enteFiscalCode}).`);
    }

    // sum = option amount
    if (amountCents !== undefined && allAmounts) {
      if (sum !== amountCents) {
        errors.add(
          `${path}.transfers`,
          `La somma dei trasferimenti (${formatEuro(sum)}) non corrisponde all'importo ${name}, pari a ${formatEuro(amountCents)}.`,
        );
      }
    }
    for (const r of results) {
      if (r.value) transfers.push(r.value);
      else transfersOk = false;
    }
    transfers.sort((a, b) => a.idTransfer - b.idTransfer);
  }

  if (errors.count === before && transfersOk && draft.kind && amountCents !== undefined && dueDate && retentionDate !== undefined && description !== undefined) {
    draft.value = {
      kind: draft.kind,
      plan: draft.plan,
      description,
      amountCents,
      dueDate,
      retentionDate,
      transfers,
      ...(iuv ? { iuv } : {}),
    };
  }
  return draft;
}

/** An IUV the caller brings (see {@link ValidationContext.externalIuvSegregationCode}); null on error. */
function readExternalIuv(errors: Errors, field: string, value: unknown, segregationCode: string): string | null {
  const iuv = typeof value === 'string' ? value.trim() : '';
  if (iuv === '') errors.add(field, 'IUV: campo obbligatorio.');
  else if (!/^[0-9]{17}$/.test(iuv)) errors.add(field, 'IUV non valido: servono 17 cifre (codice avviso con cifra ausiliaria 3).');
  else if (iuv.slice(0, 2) !== segregationCode) errors.add(field, `IUV non valido: deve iniziare con il codice di segregazione dell\u2019ente (${segregationCode}).`);
  else if (!isValidIuv(iuv)) errors.add(field, 'IUV non valido: le ultime due cifre di controllo non corrispondono.');
  else return iuv;
  return null;
}

/**
 * Cross-option rules: single payments with distinct due dates; each plan with ≥ 2 installments,
 * numbered 1..n, due dates strictly increasing. Returns the installment number of each option.
 */
function checkPlans(errors: Errors, drafts: OptionDraft[]): Map<number, { number: number; count: number }> {
  const numbering = new Map<number, { number: number; count: number }>();

  const singles = drafts.filter((d) => d.kind === 'single');
  const seenDue = new Map<string, number>();
  for (const d of singles) {
    if (!d.dueDate) continue;
    const first = seenDue.get(d.dueDate);
    if (first !== undefined) {
      errors.add(
        `paymentOptions[${d.index}].dueDate`,
        `Le opzioni in unica soluzione devono avere scadenze diverse: l'opzione n. ${d.index + 1} ha la stessa scadenza (${formatDateIt(d.dueDate)}) dell'opzione n. ${first + 1}.`,
      );
    } else {
      seenDue.set(d.dueDate, d.index);
    }
  }

  // When a flag or a plan key is invalid the grouping is unknown: plan checks would only add noise.
  if (drafts.some((d) => d.kind === undefined || (d.kind === 'installment' && d.plan === null))) return numbering;

  const plans = new Map<string, OptionDraft[]>();
  for (const d of drafts) {
    if (d.kind !== 'installment' || d.plan === null) continue;
    const list = plans.get(d.plan) ?? [];
    list.push(d);
    plans.set(d.plan, list);
  }
  const multiplePlans = plans.size > 1;

  for (const [plan, list] of plans) {
    const planName = multiplePlans ? ` «${plan}»` : '';
    const first = list[0]!;
    if (list.length < 2) {
      errors.add(
        `paymentOptions[${first.index}].isInstallment`,
        `Un piano rateale deve avere almeno 2 rate: il piano${planName} ne ha una sola (${optionName(first, null, multiplePlans)}).`,
      );
      continue;
    }
    if (list.some((d) => d.givenNumber === undefined)) continue; // already reported
    const given = list.filter((d) => d.givenNumber !== null);
    if (given.length > 0 && given.length < list.length) {
      const missing = list.find((d) => d.givenNumber === null)!;
      errors.add(
        `paymentOptions[${missing.index}].installmentNumber`,
        `Piano rateale${planName}: indica il numero di rata per tutte le rate oppure per nessuna.`,
      );
      continue;
    }
    // number → draft (explicit numbers, or the order in the array)
    const byNumber = new Map<number, OptionDraft>();
    let numberingOk = true;
    list.forEach((d, k) => {
      const n = d.givenNumber ?? k + 1;
      if (byNumber.has(n)) {
        errors.add(`paymentOptions[${d.index}].installmentNumber`, `Piano rateale${planName}: la rata ${n} è indicata più volte.`);
        numberingOk = false;
      } else {
        byNumber.set(n, d);
      }
    });
    if (!numberingOk) continue;
    const missing = list.map((_, k) => k + 1).filter((n) => !byNumber.has(n));
    if (missing.length > 0) {
      errors.add(
        `paymentOptions[${first.index}].installmentNumber`,
        `Piano rateale${planName}: le rate devono essere numerate da 1 a ${list.length} senza salti; manca la rata ${missing.join(', ')}.`,
      );
      continue;
    }
    for (let n = 1; n <= list.length; n++) {
      const d = byNumber.get(n)!;
      numbering.set(d.index, { number: n, count: list.length });
      const prev = byNumber.get(n - 1);
      if (prev?.dueDate && d.dueDate && d.dueDate <= prev.dueDate) {
        errors.add(
          `paymentOptions[${d.index}].dueDate`,
          `Piano rateale${planName}: la scadenza della rata ${n} (${formatDateIt(d.dueDate)}) deve essere successiva a quella della rata ${n - 1} (${formatDateIt(prev.dueDate)}).`,
        );
      }
    }
  }
  return numbering;
}

// ---------------------------------------------------------------------------------------------
// Position
// ---------------------------------------------------------------------------------------------

/**
 * Validates a whole position. Every problem is reported (field path + Italian message); the
 * value is returned only when there is none.
 */
export function validatePosition(input: unknown, ctx: ValidationContext): PositionValidationResult {
  if (!isValidEnteFiscalCode(ctx.enteFiscalCode)) {
    throw new RangeError('ctx.enteFiscalCode must be a valid 11-digit fiscal code');
  }
  const errors = new Errors();
  if (!isRecord(input)) {
    errors.add('', 'Posizione debitoria non valida.');
    return { ok: false, errors: errors.list };
  }
  const p = input as PositionInput;

  let iupd: string | null = null;
  if (!isBlank(p.iupd)) {
    const v = (asText(p.iupd) ?? '').trim();
    if (IUPD_PATTERN.test(v)) iupd = v;
    else errors.add('iupd', 'Codice identificativo della posizione (IUPD): da 1 a 35 caratteri tra lettere, cifre, punto, trattino e trattino basso.');
  }

  const debtor = validateDebtor(errors, p.debtor);
  const description = readText(errors, 'description', p.description, { required: true, max: 140, label: 'Descrizione' });
  const validityDate = readDate(errors, 'validityDate', p.validityDate, 'Data di inizio validità', false);

  const options = p.paymentOptions;
  const drafts: OptionDraft[] = [];
  if (!Array.isArray(options) || options.length === 0) {
    errors.add('paymentOptions', 'Indica almeno un\u2019opzione di pagamento (unica soluzione o rate).');
  } else if (options.length > MAX_PAYMENT_OPTIONS) {
    errors.add('paymentOptions', `Al massimo ${MAX_PAYMENT_OPTIONS} opzioni di pagamento per posizione (ne sono indicate ${options.length}).`);
  } else {
    for (let i = 0; i < options.length; i++) drafts.push(validateOption(errors, i, options[i], validityDate, ctx));
  }
  const numbering = checkPlans(errors, drafts);
  if (ctx.externalIuvSegregationCode !== undefined) {
    const seen = new Map<string, number>();
    for (const d of drafts) {
      const iuv = d.value?.iuv;
      if (!iuv) continue;
      const first = seen.get(iuv);
      if (first !== undefined) errors.add(`paymentOptions[${d.index}].iuv`, `IUV ripetuto: è lo stesso dell\u2019opzione n. ${first + 1}.`);
      else seen.set(iuv, d.index);
    }
  }

  if (errors.count > 0 || !debtor || !description || validityDate === undefined) {
    return { ok: false, errors: errors.list };
  }
  const paymentOptions: ValidPaymentOption[] = [];
  for (const d of drafts) {
    const n = numbering.get(d.index);
    const v = d.value!;
    paymentOptions.push({
      kind: v.kind,
      plan: v.plan,
      description: v.description,
      amountCents: v.amountCents,
      dueDate: v.dueDate,
      retentionDate: v.retentionDate,
      transfers: v.transfers,
      installmentNumber: n?.number ?? null,
      installmentCount: n?.count ?? null,
      ...(v.iuv ? { iuv: v.iuv } : {}),
    });
  }
  return { ok: true, value: { iupd, debtor, description, validityDate, paymentOptions } };
}
