/**
 * "When" of an event in Italian words (pure), in Rome time: «sabato 14 marzo 2026, dalle 18:00
 * alle 20:00», «da sabato 24 ottobre 2026 a lunedì 26 ottobre 2026», «ogni sabato dalle 18:00 alle 20:00, dal
 * 14 marzo 2026 al 4 aprile 2026». All-day ends are exclusive (see occurrences.ts).
 */
import { addDays } from '../../domain/iso-date.js';
import { lastRomeDay, romeWallClock } from './occurrences.js';
import type { EventSchedule } from './occurrences.js';

const DAY_LONG = new Intl.DateTimeFormat('it-IT', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const DAY = new Intl.DateTimeFormat('it-IT', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const WEEKDAY = new Intl.DateTimeFormat('it-IT', { weekday: 'long', timeZone: 'UTC' });

/** «sabato 14 marzo 2026» for a Rome day `YYYY-MM-DD`. */
export function longDay(day: string): string {
  return DAY_LONG.format(new Date(`${day}T12:00:00Z`));
}

/** «14 marzo 2026». */
export function shortDay(day: string): string {
  return DAY.format(new Date(`${day}T12:00:00Z`));
}

/** «dal 14 marzo 2026» / «dall’8 marzo 2026» (and «al» / «all’»). */
function withArticle(prep: 'dal' | 'al', day: string): string {
  const text = shortDay(day);
  return /^(8|11) /.test(text) ? `${prep}l’${text}` : `${prep} ${text}`;
}

/** The event's dates in words. */
export function describeWhen(e: EventSchedule): string {
  const start = romeWallClock(e.startsAt);
  const end = romeWallClock(e.endsAt);
  const lastDay = e.allDay ? addDays(end.day, -1) : lastRomeDay(e.startsAt, e.endsAt);
  const sameDay = lastDay === start.day;
  const hours = e.allDay ? 'tutto il giorno' : `dalle ${start.time} alle ${end.time}`;
  if (e.recurrence === 'weekly' && e.recurrenceUntil) {
    const weekday = WEEKDAY.format(new Date(`${start.day}T12:00:00Z`));
    const span = sameDay ? hours : `per ${Math.round((Date.parse(`${lastDay}T00:00:00Z`) - Date.parse(`${start.day}T00:00:00Z`)) / 86_400_000) + 1} giorni`;
    return `ogni ${weekday} ${span}, ${withArticle('dal', start.day)} ${withArticle('al', e.recurrenceUntil)}`;
  }
  if (sameDay) return `${longDay(start.day)}, ${hours}`;
  if (e.allDay) return `da ${longDay(start.day)} a ${longDay(lastDay)}`;
  return `da ${longDay(start.day)} ore ${start.time} a ${longDay(lastDay)} ore ${end.time}`;
}
