/**
 * The iCalendar invitation (RFC 5545) of a training session, written by ical-generator (escaping
 * of commas, semicolons and newlines, 75-octet line folding, CRLF). Times are in UTC (`…Z`), so
 * no VTIMEZONE is needed and every calendar shows them in its own zone; the UID is stable per
 * session, so a second download updates the same event (SEQUENCE grows with each edit).
 */
import ical, { ICalCalendarMethod, ICalEventStatus } from 'ical-generator';
import type { TrainingSession } from './training-repository.js';

export function sessionIcs(s: TrainingSession, opts: { publicUrl: string; now: Date; provinceName: string }): string {
  const host = new URL(opts.publicUrl).hostname || 'sael.invalid';
  const cal = ical({ prodId: { company: 'S.A.E.L. Provincia di Campobasso', product: 'sael-pay', language: 'IT' }, name: 'Formazione SAEL' });
  cal.method(ICalCalendarMethod.PUBLISH);
  const url = `${opts.publicUrl}/formazione/${s.id}`;
  const details = [
    s.topic ? `Argomento: ${s.topic}` : '',
    s.speakers ? `Relatori: ${s.speakers}` : '',
    s.onlineUrl ? `Collegamento: ${s.onlineUrl}` : '',
    s.description,
    `Dettagli e iscrizioni: ${url}`,
  ].filter(Boolean);
  cal.createEvent({
    id: `training-session-${s.id}@${host}`,
    sequence: Math.max(0, Math.floor((Date.parse(s.updatedAt) - Date.parse(s.createdAt)) / 1000)),
    stamp: opts.now,
    start: new Date(s.startsAt),
    end: new Date(s.endsAt),
    summary: `Formazione SAEL: ${s.title}`,
    description: details.join('\n\n'),
    location: s.place ?? s.onlineUrl ?? undefined,
    url,
    status: s.status === 'cancelled' ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
  });
  return cal.toString();
}
