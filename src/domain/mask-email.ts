/** An e-mail address shown to whoever holds a link, not a login: `m••••••@example.it`. Pure. */
export function maskEmail(email: string): string {
  return email.replace(/^(.)(.*)(@.*)$/, (_m, a: string, b: string, d: string) => `${a}${'•'.repeat(Math.min(b.length, 6))}${d}`);
}
