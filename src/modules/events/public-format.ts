/**
 * How the public pages and feeds say when an event happens, and the day ranges of the list's
 * periods (pure). Days are Europe/Rome `YYYY-MM-DD`; instants ISO UTC. An all-day event ends at
 * 00:00 of the day after its last day (see occurrences.ts), so its last day is `endDay`.
 */
import { addDays } from '../../domain/iso-date.js';
import { longDay } from './when.js';

const DAY_MONTH = new Intl.DateTimeFormat('it-IT', { day: 'numeric', month: 'long', timeZone: 'Europe/Rome' });
const TIME = new Intl.DateTimeFormat('it-IT', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'Europe/Rome' });
const SHORT_DAY = new Intl.DateTimeFormat('it-IT', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'Europe/Rome' });

/** A day `YYYY-MM-DD` as the instant of its noon in Rome (safe for formatting the day in any season). */
const noonOf = (day: string) => new Date(`${day}T11:00:00Z`);

export interface WhenInput {
  startsAt: string;
  endsAt: string;
  startDay: string;
  endDay: string;
  allDay: boolean;
}

/**
 * "sabato 12 dicembre 2026, 18:00–20:00"; "sabato 12 dicembre 2026, tutto il giorno";
 * "dal 10 dicembre al 12 dicembre 2026" (with times when not all day: "dal 10 dicembre, 18:00, al …").
 */
export function formatWhen(o: WhenInput): string {
  const start = new Date(o.startsAt);
  const end = new Date(o.endsAt);
  if (o.startDay === o.endDay) {
    const day = longDay(o.startDay);
    if (o.allDay) return `${day}, tutto il giorno`;
    const from = TIME.format(start);
    const to = TIME.format(end);
    return from === to ? `${day}, ore ${from}` : `${day}, ${from}–${to}`;
  }
  const endText = longDay(o.endDay);
  if (o.allDay) return `dal ${DAY_MONTH.format(noonOf(o.startDay))} al ${endText}`;
  return `dal ${DAY_MONTH.format(noonOf(o.startDay))}, ore ${TIME.format(start)}, al ${endText}, ore ${TIME.format(end)}`;
}

/** A short label of the first day for a card's date badge ("sab 12 dic"). */
export function shortDay(day: string): string {
  return SHORT_DAY.format(noonOf(day));
}

export const PERIODS = ['oggi', 'fine-settimana', '7-giorni'] as const;
export type Period = (typeof PERIODS)[number];
export const PERIOD_LABELS: Record<Period, string> = { oggi: 'Oggi', 'fine-settimana': 'Questo fine settimana', '7-giorni': 'Prossimi 7 giorni' };

/** Day of the week of a calendar day (0 = Sunday … 6 = Saturday). */
export function weekday(day: string): number {
  return new Date(`${day}T12:00:00Z`).getUTCDay();
}

/**
 * The Rome days a period covers, seen from `today`: oggi = today; fine settimana = Saturday and
 * Sunday of this week (today only on a Sunday, today and tomorrow on a Saturday); prossimi 7
 * giorni = today and the next six days.
 */
export function periodRange(period: Period, today: string): { from: string; to: string } {
  switch (period) {
    case 'oggi':
      return { from: today, to: today };
    case '7-giorni':
      return { from: today, to: addDays(today, 6) };
    case 'fine-settimana': {
      const dow = weekday(today);
      if (dow === 0) return { from: today, to: today };
      const saturday = addDays(today, 6 - dow);
      return { from: saturday, to: addDays(saturday, 1) };
    }
  }
}

/** Price as shown to citizens: "Ingresso libero", "€ 5,00", or "A pagamento". */
export function priceText(e: { free: boolean; priceCents: number | null; priceNote: string | null }, euro: (cents: number) => string): string {
  if (e.free) return 'Ingresso libero';
  const amount = e.priceCents !== null ? euro(e.priceCents) : 'A pagamento';
  return e.priceNote ? `${amount} (${e.priceNote})` : amount;
}
