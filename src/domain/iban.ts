/**
 * IBAN syntax and the ISO 13616 mod-97 check, plus the Italian layout (IT, 2 check digits,
 * CIN letter, ABI 5, CAB 5, account 12). Poste Italiane accounts have ABI 07601.
 */

export const POSTE_ABI = '07601';

export function normaliseIban(input: string): string {
  return input.replace(/\s+/g, '').toUpperCase();
}

export function isValidIban(input: string): boolean {
  const iban = normaliseIban(input);
  if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  if (iban.startsWith('IT') && !/^IT[0-9]{2}[A-Z][0-9]{10}[A-Z0-9]{12}$/.test(iban)) return false;
  return mod97(iban.slice(4) + iban.slice(0, 4)) === 1;
}

/** True for an Italian IBAN of a Poste Italiane (postal) account. */
export function isPostalIban(input: string): boolean {
  const iban = normaliseIban(input);
  return isValidIban(iban) && iban.startsWith('IT') && iban.slice(5, 10) === POSTE_ABI;
}

/** Postal account number (12 digits) of a postal IBAN, as printed on the Bollettino PA. */
export function postalAccountNumber(input: string): string {
  const iban = normaliseIban(input);
  if (!isPostalIban(iban)) throw new RangeError('not a postal IBAN');
  return iban.slice(15);
}

/** Computes the two check digits for an IBAN whose check digits are unknown. */
export function ibanCheckDigits(country: string, bban: string): string {
  return String(98 - mod97(bban.toUpperCase() + country.toUpperCase() + '00')).padStart(2, '0');
}

/** ISO 7064 mod 97-10 of an alphanumeric string (letters count as 10..35). */
function mod97(alphanumeric: string): number {
  let remainder = 0;
  for (const ch of alphanumeric) {
    const value = /[0-9]/.test(ch) ? ch : String(ch.charCodeAt(0) - 55);
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder;
}
