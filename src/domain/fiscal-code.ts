/**
 * Italian fiscal codes: the 11-digit numeric code of legal persons and enti (same algorithm as the
 * partita IVA) and the 16-character codice fiscale of natural persons, both with their check
 * character. Pure functions, no I/O.
 */

/** True when `code` is 11 digits whose last digit is the partita IVA check digit. */
export function isValidNumericFiscalCode(code: string): boolean {
  if (!/^[0-9]{11}$/.test(code)) return false;
  return numericCheckDigit(code.slice(0, 10)) === Number(code[10]);
}

/** Check digit of a 10-digit base (Luhn variant used by partita IVA and enti fiscal codes). */
export function numericCheckDigit(base10: string): number {
  if (!/^[0-9]{10}$/.test(base10)) throw new RangeError('base10 must be 10 digits');
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    let d = Number(base10[i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

const ODD_VALUES: Record<string, number> = {
  0: 1, 1: 0, 2: 5, 3: 7, 4: 9, 5: 13, 6: 15, 7: 17, 8: 19, 9: 21,
  A: 1, B: 0, C: 5, D: 7, E: 9, F: 13, G: 15, H: 17, I: 19, J: 21, K: 2, L: 4, M: 18, N: 20,
  O: 11, P: 3, Q: 6, R: 8, S: 12, T: 14, U: 16, V: 10, W: 22, X: 25, Y: 24, Z: 23,
};

function evenValue(ch: string): number {
  return /[0-9]/.test(ch) ? Number(ch) : ch.charCodeAt(0) - 65;
}

/** Check character of the first 15 characters of a personal codice fiscale. */
export function personalCheckChar(first15: string): string {
  const s = first15.toUpperCase();
  if (!/^[A-Z0-9]{15}$/.test(s)) throw new RangeError('first15 must be 15 alphanumeric characters');
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const ch = s[i]!;
    sum += i % 2 === 0 ? ODD_VALUES[ch]! : evenValue(ch);
  }
  return String.fromCharCode(65 + (sum % 26));
}

/**
 * Personal codice fiscale: 6 letters, 2 year digits, month letter, 2 day digits, Belfiore code,
 * check letter; digits in the numeric positions may be replaced by the omocodia letters LMNPQRSTUV.
 */
const PERSONAL_CF = /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/;

export function isValidPersonalFiscalCode(code: string): boolean {
  const s = code.toUpperCase();
  if (!PERSONAL_CF.test(s)) return false;
  return personalCheckChar(s.slice(0, 15)) === s[15];
}

/** Accepts either kind; returns the normalised (upper-case, trimmed) code or null. */
export function normaliseFiscalCode(input: string): string | null {
  const s = input.trim().toUpperCase();
  if (isValidPersonalFiscalCode(s) || isValidNumericFiscalCode(s)) return s;
  return null;
}

/** Builds a valid 11-digit code from a 10-digit base (used for clearly marked demo data). */
export function numericFiscalCodeFromBase(base10: string): string {
  return base10 + String(numericCheckDigit(base10));
}
