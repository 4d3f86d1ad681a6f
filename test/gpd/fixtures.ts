/** What the GPD tests share: a client's own IUVs and the debtor of their positions. */

/** A GPD client's own IUV: segregation code + 13-digit base + check digits ((3 + body) mod 93). */
export function clientIuv(segregationCode: string, base: number | bigint): string {
  const body = segregationCode + String(base).padStart(13, '0');
  return body + (BigInt(`3${body}`) % 93n).toString().padStart(2, '0');
}

/** The debtor fields of a GPD position body (a natural person in Campobasso). */
export const GPD_DEBTOR = {
  type: 'F',
  fiscalCode: 'RSSMRA85T10A562S',
  fullName: 'Mario Rossi',
  streetName: 'Via Roma',
  civicNumber: '1',
  postalCode: '86100',
  city: 'Campobasso',
  province: 'CB',
  region: 'Molise',
  country: 'IT',
  email: 'mario.rossi@example.invalid',
  phone: '0874000000',
} as const;
