/** Money is integer euro cents everywhere; these convert to and from what people type and read. */

const EURO = new Intl.NumberFormat('it-IT', { style: 'currency', currency: 'EUR', useGrouping: 'always' } as unknown as Intl.NumberFormatOptions);

export function formatEuro(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new RangeError('amount must be integer cents');
  return EURO.format(cents / 100);
}

/**
 * Parses an amount typed in Italian ("1.234,56", "12,5", "12") or with a dot decimal ("12.50")
 * into integer cents. Returns null for anything else (more than 2 decimals, signs, letters).
 */
export function parseEuroToCents(input: string): number | null {
  const s = input.trim().replace(/\s|€/g, '');
  let intPart: string;
  let decPart = '';
  let m = /^(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?$/.exec(s);
  if (m) {
    intPart = m[1]!.replace(/\./g, '');
    decPart = m[2] ?? '';
  } else {
    m = /^(\d+)\.(\d{1,2})$/.exec(s);
    if (!m) return null;
    intPart = m[1]!;
    decPart = m[2]!;
  }
  const cents = Number(intPart) * 100 + Number(decPart.padEnd(2, '0'));
  return Number.isSafeInteger(cents) ? cents : null;
}

/** "12.50" style used in pagoPA XML (stAmount) from integer cents. */
export function centsToDecimalString(cents: number): string {
  if (!Number.isSafeInteger(cents) || cents < 0) throw new RangeError('amount must be non-negative integer cents');
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}
