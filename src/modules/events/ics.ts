/**
 * iCalendar (RFC 5545) of events, written by ical-generator (escaping, 75-octet folding, CRLF):
 * one event's "Aggiungi al calendario" file and the subscribable feeds per comune and category.
 *
 * Every occurrence is its own VEVENT with UTC times (`…Z`): a weekly event keeps its local time
 * across the clock change because its occurrences were computed in Rome time (occurrences.ts),
 * which an RRULE on a UTC start would not do, and no VTIMEZONE is needed. All-day events are
 * DATE values (DTEND the day after the last day). UIDs are stable, so a calendar that downloads
 * the file again updates its copy; SEQUENCE is the event's version. A cancelled event stays in
 * with STATUS:CANCELLED, so subscribed calendars learn of it.
 */
import ical, { ICalCalendarMethod, ICalEventStatus } from 'ical-generator';
import { addDays } from '../../domain/iso-date.js';

export interface IcsOccurrence {
  startsAt: string;
  endsAt: string;
  startDay: string;
  endDay: string;
}

export interface IcsEvent {
  id: number;
  version: number;
  title: string;
  summary: string;
  status: 'published' | 'cancelled';
  cancelReason?: string | null;
  allDay: boolean;
  /** true: weekly (each occurrence gets its own UID). */
  recurring: boolean;
  placeName: string;
  address: string | null;
  latitude: number | null;
  longitude: number | null;
  enteName: string;
  categoryName: string;
  occurrences: IcsOccurrence[];
}

export interface IcsOptions {
  publicUrl: string;
  now: Date;
  /** Calendar name (X-WR-CALNAME). */
  name: string;
  description?: string;
  /** Suggested refresh interval of a subscribed feed (REFRESH-INTERVAL / X-PUBLISHED-TTL). */
  ttlSeconds?: number;
}

const utcMidnight = (day: string) => new Date(`${day}T00:00:00.000Z`);

/** The UID of one occurrence of an event (stable across downloads). */
export function occurrenceUid(e: Pick<IcsEvent, 'id' | 'recurring'>, o: IcsOccurrence, host: string): string {
  return e.recurring ? `event-${e.id}-${o.startDay}@${host}` : `event-${e.id}@${host}`;
}

/** A VCALENDAR with every occurrence of `items`. */
export function eventsCalendar(items: IcsEvent[], opts: IcsOptions): string {
  const host = new URL(opts.publicUrl).hostname || 'sael.invalid';
  const cal = ical({
    prodId: { company: 'S.A.E.L. Provincia di Campobasso', product: 'sael-pay eventi', language: 'IT' },
    name: opts.name,
    description: opts.description,
    ttl: opts.ttlSeconds,
  });
  cal.method(ICalCalendarMethod.PUBLISH);
  for (const e of items) {
    const url = `${opts.publicUrl}/eventi/${e.id}`;
    const location = [e.placeName, e.address].filter(Boolean).join(', ');
    const cancelled = e.status === 'cancelled';
    const description = [
      cancelled ? `Evento annullato${e.cancelReason ? `: ${e.cancelReason}` : '.'}` : '',
      e.summary,
      `${e.categoryName} – ${e.enteName}`,
      `Dettagli: ${url}`,
    ]
      .filter(Boolean)
      .join('\n\n');
    for (const o of e.occurrences) {
      cal.createEvent({
        id: occurrenceUid(e, o, host),
        sequence: Math.max(0, e.version - 1),
        stamp: opts.now,
        allDay: e.allDay,
        start: e.allDay ? utcMidnight(o.startDay) : new Date(o.startsAt),
        end: e.allDay ? utcMidnight(addDays(o.endDay, 1)) : new Date(o.endsAt),
        summary: cancelled ? `ANNULLATO: ${e.title}` : e.title,
        description,
        location: e.latitude !== null && e.longitude !== null ? { title: location, geo: { lat: e.latitude, lon: e.longitude } } : location,
        url,
        categories: [{ name: e.categoryName }],
        status: cancelled ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
      });
    }
  }
  return cal.toString();
}
