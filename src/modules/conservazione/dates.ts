/** Days and hours of the conservazione's schedule, in Italian time (Europe/Rome). */
import { addDays } from '../../domain/iso-date.js';
import { todayInItaly } from '../positions/service.js';

const ROME_HOUR = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Rome', hour: '2-digit', hourCycle: 'h23' });

/** The Italian calendar day of an instant (YYYY-MM-DD). */
export function romeDay(at: Date): string {
  return todayInItaly(at);
}

/** The Italian hour (0–23) of an instant. */
export function romeHour(at: Date): number {
  return Number(ROME_HOUR.format(at));
}

export function previousDay(day: string): string {
  return addDays(day, -1);
}
