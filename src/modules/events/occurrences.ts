/**
 * The occurrences of an event (pure): what `event_occurrences` holds for it.
 *
 * Conventions (shared by the whole events module):
 * - `startsAt`/`endsAt` are ISO UTC instants; days are Europe/Rome `YYYY-MM-DD`.
 * - An all-day event starts at 00:00 (Rome) of its first day and ends at 00:00 (Rome) of the day
 *   after its last day (exclusive end, as iCalendar's all-day DTEND).
 * - The last day of an occurrence is the Rome day of the instant just before its end: an event
 *   that ends at midnight does not take place on the next day.
 * - A weekly event repeats on the same weekday at the same LOCAL time: an 18:00 event stays 18:00
 *   in Rome after the clock changes (its UTC instant moves by an hour). It repeats while the
 *   occurrence's first day is on or before `recurrenceUntil` (inclusive), at most
 *   MAX_OCCURRENCES times.
 */
import { addDays } from '../../domain/iso-date.js';
import { italianOffsetMinutes } from '../../domain/italian-time.js';
import { italianLocalToUtc, utcToItalianLocal } from '../catalogue/training-quota.js';
import { romeDay } from '../conservazione/dates.js';
import type { EventRecurrence } from './schema.js';

/** Most occurrences one event may have (two years of a weekly event). */
export const MAX_OCCURRENCES = 104;

export interface EventSchedule {
  startsAt: string;
  endsAt: string;
  allDay: boolean;
  recurrence: EventRecurrence;
  /** Last Rome day a weekly occurrence may start on (inclusive); null for a single event. */
  recurrenceUntil: string | null;
}

export interface Occurrence {
  startsAt: string;
  endsAt: string;
  /** Rome days of the start and of the end (inclusive). */
  startDay: string;
  endDay: string;
}

/** Wall-clock time in Rome of an instant: its day and `HH:MM`. */
export function romeWallClock(iso: string): { day: string; time: string } {
  const local = utcToItalianLocal(iso, italianOffsetMinutes);
  return { day: local.slice(0, 10), time: local.slice(11, 16) };
}

/**
 * The UTC instant (ISO) of a Rome wall-clock time, or null when the day or time is not valid.
 * A time skipped by the spring change (02:30 that night) becomes 03:30 summer time; a time that
 * happens twice in the autumn night (02:30) is taken as the second one (winter time).
 */
export function romeInstant(day: string, time = '00:00'): string | null {
  return italianLocalToUtc(`${day}T${time}`, italianOffsetMinutes);
}

/** The last Rome day of a span: the day of the instant just before its end (never before its start). */
export function lastRomeDay(startsAt: string, endsAt: string): string {
  const start = Date.parse(startsAt);
  const end = Math.max(start, Date.parse(endsAt) - 1);
  return romeDay(new Date(end));
}

function occurrence(startsAt: string, endsAt: string): Occurrence {
  return { startsAt, endsAt, startDay: romeDay(new Date(startsAt)), endDay: lastRomeDay(startsAt, endsAt) };
}

/** Every occurrence of the event, in order (one for a single or several-days event). */
export function computeOccurrences(s: EventSchedule): Occurrence[] {
  const first = occurrence(s.startsAt, s.endsAt);
  if (s.recurrence !== 'weekly' || !s.recurrenceUntil) return [first];
  const start = romeWallClock(s.startsAt);
  const end = romeWallClock(s.endsAt);
  const out: Occurrence[] = [first];
  for (let week = 1; out.length < MAX_OCCURRENCES; week++) {
    const day = addDays(start.day, 7 * week);
    if (day > s.recurrenceUntil) break;
    const startsAt = romeInstant(day, start.time);
    const endsAt = romeInstant(addDays(end.day, 7 * week), end.time);
    if (!startsAt || !endsAt) break;
    out.push(occurrence(startsAt, endsAt));
  }
  return out;
}

/** How many occurrences a weekly event from `startDay` to `until` would have (before the cap). */
export function weeklyCount(startDay: string, until: string): number {
  if (until < startDay) return 0;
  const days = Math.round((Date.parse(`${until}T00:00:00Z`) - Date.parse(`${startDay}T00:00:00Z`)) / 86_400_000);
  return Math.floor(days / 7) + 1;
}
