/**
 * The offset of Italian time (Europe/Rome: +01:00 in winter, +02:00 in summer) at an instant.
 * Pure; the formatter is built once (creating an Intl.DateTimeFormat costs ~0.3 ms).
 */
const ROME_OFFSET = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Rome', timeZoneName: 'longOffset' });

/** Minutes east of UTC of Italian time at the instant `at` (milliseconds since the epoch). */
export function italianOffsetMinutes(at: number): number {
  const name = ROME_OFFSET.formatToParts(new Date(at)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT+01:00';
  const m = /^GMT([+-])(\d\d):(\d\d)$/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

/** An offset in minutes as ISO 8601 `±hh:mm`. */
export function formatOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
