/**
 * IUV (creditorReferenceId) and notice number (NAV, "codice avviso") of pagoPA payment options,
 * plus the QR payload printed on the notice. Pure functions, no I/O.
 *
 * Layout (pagopa.md §6). We only ever *generate* aux digit 3:
 *
 * | aux | NAV (18 digits)                                   | IUV                              | check-digit input |
 * |-----|---------------------------------------------------|----------------------------------|-------------------|
 * | 0   | `0 <application code 2> <base 13> <check 2>`       | `<base 13><check 2>` (15)        | `0`+app+base      |
 * | 1   | `1 <base 17>`                                      | 17 digits, no check digits       | —                 |
 * | 2   | `2 <base 15> <check 2>`                            | `<base 15><check 2>` (17)        | `2`+base          |
 * | 3   | `3 <segregation code 2> <base 13> <check 2>`       | `<seg 2><base 13><check 2>` (17) | `3`+seg+base      |
 *
 * Check digits = (the 16-digit number formed by the digits before them) mod 93, left-padded to 2.
 * Worked example: `3012025000000042 mod 93 = 28` → IUV `01202500000004228`, NAV `301202500000004228`.
 *
 * Decisions where the spec leaves room:
 * - The 13-digit IUV base is a per-ente sequence number (0 … 9 999 999 999 999), left-padded.
 * - Segregation codes we may generate with: two digits 00–49 (00–45 today, 00–49 in older SACI
 *   editions, so enti assigned 46–49 earlier keep working) except the codes reserved to central
 *   PagoPA services (47 Canone Unico). Codes ≥ 50 are either reserved (81, 85, 96–99) or not
 *   assignable to an ente's generation point, so {@link buildIuv} refuses them. Parsing never
 *   looks at the segregation code: notices of other generation points are still well formed.
 * - Citizens' input is checked strictly (aux 3 only, valid check digits); notices that arrive from
 *   the node are parsed with `{ verifyCheckDigit: false, allowLegacyAux: true }` because PagoPA's
 *   own test notices (`302…`) do not carry valid check digits and PSPs only "may" verify them.
 */

/** The only aux digit this platform generates. */
export const AUX_DIGIT = 3;

/** Largest 13-digit IUV base (the per-ente sequence number). */
export const MAX_IUV_SEQUENCE = 9_999_999_999_999n;

/** Segregation codes reserved to central PagoPA services (pagopa.md §6). */
export const RESERVED_SEGREGATION_CODES: ReadonlySet<string> = new Set(['47', '81', '85', '96', '97', '98', '99']);

/** Highest segregation code PagoPA assigns to an ente's IUV generation point (older SACI: 49). */
export const MAX_ASSIGNABLE_SEGREGATION_CODE = 49;

const DIGITS = /^[0-9]+$/;

/**
 * Check digits of a 16-digit prefix (aux digit + segregation/application code + IUV base):
 * the prefix as a decimal number mod 93, left-padded to two digits ("00".."92").
 */
export function checkDigits(prefix16: string): string {
  if (prefix16.length !== 16 || !DIGITS.test(prefix16)) {
    throw new RangeError('the check-digit prefix must be 16 digits');
  }
  return (BigInt(prefix16) % 93n).toString().padStart(2, '0');
}

/** True when `code` is a segregation code an ente may be assigned (see the module comment). */
export function isAssignableSegregationCode(code: string): boolean {
  if (!/^[0-9]{2}$/.test(code)) return false;
  return Number(code) <= MAX_ASSIGNABLE_SEGREGATION_CODE && !RESERVED_SEGREGATION_CODES.has(code);
}

/**
 * Builds the 17-digit IUV for aux digit 3: `<segregation code 2><sequence 13><check 2>`.
 * Throws RangeError for a segregation code that is not assignable, or a sequence that is
 * negative, fractional, unsafe as a number, or longer than 13 digits.
 */
export function buildIuv(segregationCode: string, sequence: bigint | number): string {
  if (!isAssignableSegregationCode(segregationCode)) {
    throw new RangeError(`segregation code ${JSON.stringify(segregationCode)} is not an assignable 2-digit code (00-49, not 47)`);
  }
  let seq: bigint;
  if (typeof sequence === 'bigint') {
    seq = sequence;
  } else {
    if (!Number.isSafeInteger(sequence)) throw new RangeError('the IUV sequence must be an integer');
    seq = BigInt(sequence);
  }
  if (seq < 0n || seq > MAX_IUV_SEQUENCE) {
    throw new RangeError(`the IUV sequence must be between 0 and ${MAX_IUV_SEQUENCE}`);
  }
  const base = segregationCode + seq.toString().padStart(13, '0');
  return base + checkDigits(String(AUX_DIGIT) + base);
}

/** Builds the 18-digit notice number (aux digit 3) directly from segregation code and sequence. */
export function buildNoticeNumber(segregationCode: string, sequence: bigint | number): string {
  return String(AUX_DIGIT) + buildIuv(segregationCode, sequence);
}

/** True when `iuv` is 17 digits whose last two are the aux-3 check digits. */
export function isValidIuv(iuv: string): boolean {
  if (iuv.length !== 17 || !DIGITS.test(iuv)) return false;
  return checkDigits(String(AUX_DIGIT) + iuv.slice(0, 15)) === iuv.slice(15);
}

/** The 13-digit base of an aux-3 IUV as a bigint (the sequence number it was built from). */
export function iuvSequence(iuv: string): bigint {
  if (iuv.length !== 17 || !DIGITS.test(iuv)) throw new RangeError('an aux-3 IUV is 17 digits');
  return BigInt(iuv.slice(2, 15));
}

/**
 * Notice number of an aux-3 IUV: `"3" + iuv`. By default the IUV's check digits must be valid
 * (we only issue valid ones; pass `{ verifyCheckDigit: false }` for data received from outside).
 */
export function noticeNumberFromIuv(iuv: string, options: { verifyCheckDigit?: boolean } = {}): string {
  if (iuv.length !== 17 || !DIGITS.test(iuv)) throw new RangeError('an aux-3 IUV is 17 digits');
  if ((options.verifyCheckDigit ?? true) && !isValidIuv(iuv)) {
    throw new RangeError(`IUV ${iuv} has wrong check digits`);
  }
  return String(AUX_DIGIT) + iuv;
}

/**
 * IUV (creditorReferenceId) of an 18-digit notice number, for every aux digit of §6:
 * aux 1, 2 and 3 drop the aux digit (17 digits); aux 0 also drops the application code (15).
 * Check digits are not verified (use {@link parseNoticeNumber} for that).
 */
export function iuvFromNoticeNumber(nav: string): string {
  if (nav.length !== 18 || !DIGITS.test(nav)) throw new RangeError('a notice number is 18 digits');
  const aux = nav[0];
  if (aux === '0') return nav.slice(3);
  if (aux === '1' || aux === '2' || aux === '3') return nav.slice(1);
  throw new RangeError(`unsupported aux digit ${aux}`);
}

export type NoticeNumberErrorCode = 'EMPTY' | 'NOT_DIGITS' | 'WRONG_LENGTH' | 'UNSUPPORTED_AUX' | 'WRONG_CHECK_DIGIT';

export type ParsedNoticeNumber =
  | {
      ok: true;
      /** The 18 digits, without separators. */
      noticeNumber: string;
      auxDigit: 0 | 1 | 2 | 3;
      iuv: string;
      /** Segregation code (aux 3 only, otherwise null). */
      segregationCode: string | null;
      /** Application code (aux 0 only, otherwise null). */
      applicationCode: string | null;
    }
  | { ok: false; code: NoticeNumberErrorCode; message: string };

export interface ParseNoticeNumberOptions {
  /** Reject wrong check digits (aux 0, 2, 3). Default true; false for notices from the node. */
  verifyCheckDigit?: boolean;
  /** Accept the legacy aux digits 0, 1 and 2 (never generated here). Default false. */
  allowLegacyAux?: boolean;
}

/** Italian messages shown to a citizen who typed a notice number. */
export const NOTICE_NUMBER_MESSAGES: Readonly<Record<NoticeNumberErrorCode, string>> = {
  EMPTY: 'Inserisci il codice avviso: sono 18 cifre e si trovano sull\u2019avviso di pagamento.',
  NOT_DIGITS: 'Il codice avviso può contenere solo cifre (spazi e trattini sono ammessi).',
  WRONG_LENGTH: 'Il codice avviso è composto da 18 cifre.',
  UNSUPPORTED_AUX:
    'Il codice avviso deve iniziare con la cifra 3: controlla di averlo copiato correttamente dall\u2019avviso.',
  WRONG_CHECK_DIGIT:
    'Il codice avviso non è corretto: le ultime due cifre di controllo non corrispondono. Controlla di averlo digitato correttamente.',
};

function fail(code: NoticeNumberErrorCode, message = NOTICE_NUMBER_MESSAGES[code]): ParsedNoticeNumber {
  return { ok: false, code, message };
}

/**
 * Parses a notice number as typed by a person or received from the node. Spaces (any white
 * space, including non-breaking) and dashes are ignored. Errors are checked in this order:
 * EMPTY, NOT_DIGITS, WRONG_LENGTH, UNSUPPORTED_AUX, WRONG_CHECK_DIGIT.
 */
export function parseNoticeNumber(input: string, options: ParseNoticeNumberOptions = {}): ParsedNoticeNumber {
  const verify = options.verifyCheckDigit ?? true;
  const allowLegacy = options.allowLegacyAux ?? false;
  const nav = String(input ?? '').replace(/[\s\-\u2010-\u2013]/g, '');
  if (nav === '') return fail('EMPTY');
  if (!DIGITS.test(nav)) return fail('NOT_DIGITS');
  if (nav.length !== 18) {
    const n = nav.length;
    return fail('WRONG_LENGTH', `Il codice avviso è composto da 18 cifre: ${n === 1 ? 'ne hai inserita 1' : `ne hai inserite ${n}`}.`);
  }
  const aux = Number(nav[0]);
  if (aux !== AUX_DIGIT && !(allowLegacy && aux <= 2)) return fail('UNSUPPORTED_AUX');
  if (verify && aux !== 1 && checkDigits(nav.slice(0, 16)) !== nav.slice(16)) return fail('WRONG_CHECK_DIGIT');
  return {
    ok: true,
    noticeNumber: nav,
    auxDigit: aux as 0 | 1 | 2 | 3,
    iuv: iuvFromNoticeNumber(nav),
    segregationCode: aux === 3 ? nav.slice(1, 3) : null,
    applicationCode: aux === 0 ? nav.slice(1, 3) : null,
  };
}

/**
 * Display form of a notice number: groups of 4 digits separated by a space, 22 characters
 * ("3012 0250 0000 0042 28"), as required on the printed notice. Throws on anything but 18 digits.
 */
export function formatNoticeNumber(nav: string): string {
  if (nav.length !== 18 || !DIGITS.test(nav)) throw new RangeError('a notice number is 18 digits');
  return nav.replace(/(\d{4})(?=\d)/g, '$1 ');
}

/** Largest amount the QR payload can carry (10 digits of euro cents). */
export const MAX_QR_AMOUNT_CENTS = 9_999_999_999;

/**
 * QR code payload of a notice (pagopa.md §7): `PAGOPA|002|<NAV 18>|<EC fiscal code 11>|<cents>`.
 * The amount is integer cents 1..9 999 999 999, written with at least 2 digits (the field is
 * 2..10 digits, so 5 cents is written "05"). The notice number must be 18 digits with valid check
 * digits (aux 0, 2, 3); the fiscal code must be 11 digits (its check digit is the business of the
 * ente registry: the spec's own example `01234567890` does not carry a valid one). Throws RangeError.
 */
export function qrPayload(nav: string, enteFiscalCode: string, amountCents: number): string {
  const parsed = parseNoticeNumber(nav, { verifyCheckDigit: true, allowLegacyAux: true });
  if (!parsed.ok || parsed.noticeNumber !== nav) throw new RangeError(`invalid notice number ${JSON.stringify(nav)}`);
  if (!/^[0-9]{11}$/.test(enteFiscalCode)) throw new RangeError(`invalid ente fiscal code ${JSON.stringify(enteFiscalCode)}`);
  if (!Number.isSafeInteger(amountCents) || amountCents < 1 || amountCents > MAX_QR_AMOUNT_CENTS) {
    throw new RangeError(`the amount must be integer cents between 1 and ${MAX_QR_AMOUNT_CENTS}`);
  }
  return `PAGOPA|002|${nav}|${enteFiscalCode}|${String(amountCents).padStart(2, '0')}`;
}
