/**
 * Occurrences and the event form, pure (no app): weekly events keep their Rome wall-clock time
 * across both DST changes, all-day and several-days spans, events ending at or past midnight,
 * the 104 cap, times that do not exist or happen twice; the form's reading; the words for "when";
 * the status rules.
 */
import t from 'tap';
import { computeOccurrences, MAX_OCCURRENCES, romeInstant, romeWallClock, weeklyCount, type EventSchedule } from '../../src/modules/events/occurrences.js';
import { eventToForm, parseEventForm, parseLinks } from '../../src/modules/events/validation.js';
import { describeWhen } from '../../src/modules/events/when.js';
import { isListed, nextStatus } from '../../src/modules/events/repository.js';

function weekly(day: string, from: string, to: string, until: string): EventSchedule {
  return { startsAt: romeInstant(day, from)!, endsAt: romeInstant(day, to)!, allDay: false, recurrence: 'weekly', recurrenceUntil: until };
}

t.test('a weekly 18:00 event stays 18:00 in Rome across the spring change (29 March 2026)', async (t) => {
  const occ = computeOccurrences(weekly('2026-03-21', '18:00', '20:00', '2026-04-04'));
  t.same(
    occ.map((o) => [o.startsAt, o.endsAt]),
    [
      ['2026-03-21T17:00:00.000Z', '2026-03-21T19:00:00.000Z'],
      ['2026-03-28T17:00:00.000Z', '2026-03-28T19:00:00.000Z'],
      ['2026-04-04T16:00:00.000Z', '2026-04-04T18:00:00.000Z'],
    ],
  );
  t.same(
    occ.map((o) => romeWallClock(o.startsAt).time),
    ['18:00', '18:00', '18:00'],
  );
  t.same(
    occ.map((o) => [o.startDay, o.endDay]),
    [
      ['2026-03-21', '2026-03-21'],
      ['2026-03-28', '2026-03-28'],
      ['2026-04-04', '2026-04-04'],
    ],
  );
});

t.test('… and across the autumn change (25 October 2026); a Sunday event on the night of the change', async (t) => {
  const occ = computeOccurrences(weekly('2026-10-18', '18:00', '19:30', '2026-11-01'));
  t.same(
    occ.map((o) => o.startsAt),
    ['2026-10-18T16:00:00.000Z', '2026-10-25T17:00:00.000Z', '2026-11-01T17:00:00.000Z'],
  );
  t.same(
    occ.map((o) => Date.parse(o.endsAt) - Date.parse(o.startsAt)),
    [90 * 60_000, 90 * 60_000, 90 * 60_000],
    'same length every week',
  );
  // A weekly Sunday 02:30: on 29 March 02:30 does not exist (03:30 summer time is taken),
  // on 25 October it happens twice (the second, winter time, is taken).
  const spring = computeOccurrences(weekly('2026-03-22', '02:30', '03:30', '2026-03-29'));
  t.equal(spring[1]!.startsAt, '2026-03-29T01:30:00.000Z');
  t.equal(romeWallClock(spring[1]!.startsAt).time, '03:30');
  const autumn = computeOccurrences(weekly('2026-10-18', '02:30', '04:00', '2026-10-25'));
  t.equal(autumn[1]!.startsAt, '2026-10-25T01:30:00.000Z', '02:30 winter time');
  t.equal(autumn[1]!.endsAt, '2026-10-25T03:00:00.000Z', '04:00 winter time');
});

t.test('single, several days, all day, midnight', async (t) => {
  const single = computeOccurrences({ startsAt: romeInstant('2026-07-10', '21:00')!, endsAt: romeInstant('2026-07-10', '23:30')!, allDay: false, recurrence: 'none', recurrenceUntil: null });
  t.same(single, [{ startsAt: '2026-07-10T19:00:00.000Z', endsAt: '2026-07-10T21:30:00.000Z', startDay: '2026-07-10', endDay: '2026-07-10' }]);
  // All day from Saturday 24 to Sunday 25 October: the span has 49 hours (the clock goes back).
  const allDay = computeOccurrences({ startsAt: romeInstant('2026-10-24')!, endsAt: romeInstant('2026-10-26')!, allDay: true, recurrence: 'none', recurrenceUntil: null });
  t.same(allDay, [{ startsAt: '2026-10-23T22:00:00.000Z', endsAt: '2026-10-25T23:00:00.000Z', startDay: '2026-10-24', endDay: '2026-10-25' }]);
  const toMidnight = computeOccurrences({ startsAt: romeInstant('2026-05-02', '20:00')!, endsAt: romeInstant('2026-05-03', '00:00')!, allDay: false, recurrence: 'none', recurrenceUntil: null });
  t.equal(toMidnight[0]!.endDay, '2026-05-02', 'ending at midnight: not on the next day');
  const pastMidnight = computeOccurrences({ startsAt: romeInstant('2026-05-02', '22:00')!, endsAt: romeInstant('2026-05-03', '02:00')!, allDay: false, recurrence: 'none', recurrenceUntil: null });
  t.equal(pastMidnight[0]!.endDay, '2026-05-03');
  const exhibition = computeOccurrences({ startsAt: romeInstant('2026-03-01')!, endsAt: romeInstant('2026-07-01')!, allDay: true, recurrence: 'none', recurrenceUntil: null });
  t.same([exhibition[0]!.startDay, exhibition[0]!.endDay], ['2026-03-01', '2026-06-30']);
});

t.test('weekly limits: until inclusive, at most 104', async (t) => {
  t.equal(computeOccurrences(weekly('2026-01-03', '10:00', '11:00', '2026-01-17')).length, 3, 'until is the last day, inclusive');
  t.equal(computeOccurrences(weekly('2026-01-03', '10:00', '11:00', '2026-01-16')).length, 2);
  t.equal(computeOccurrences(weekly('2026-01-03', '10:00', '11:00', '2026-01-03')).length, 1);
  t.equal(computeOccurrences(weekly('2026-01-03', '10:00', '11:00', '2029-12-31')).length, MAX_OCCURRENCES, 'capped');
  t.equal(weeklyCount('2026-01-03', '2027-12-25'), 104);
  t.equal(weeklyCount('2026-01-03', '2028-01-01'), 105);
  // A weekly all-day market on Saturdays.
  const market = computeOccurrences({ startsAt: romeInstant('2026-03-21')!, endsAt: romeInstant('2026-03-22')!, allDay: true, recurrence: 'weekly', recurrenceUntil: '2026-04-04' });
  t.same(
    market.map((o) => [o.startsAt, o.startDay, o.endDay]),
    [
      ['2026-03-20T23:00:00.000Z', '2026-03-21', '2026-03-21'],
      ['2026-03-27T23:00:00.000Z', '2026-03-28', '2026-03-28'],
      ['2026-04-03T22:00:00.000Z', '2026-04-04', '2026-04-04'],
    ],
  );
});

const CATEGORIES = new Set([1, 2]);
const BASE = { title: 'Concerto in piazza', summary: 'Musica dal vivo.', categoryId: '1', startDate: '2026-03-28', startTime: '21:00', endTime: '23:00', placeName: 'Piazza Duomo' };

t.test('the event form', async (t) => {
  const ok = parseEventForm(BASE, { categoryIds: CATEGORIES, hasImage: false });
  t.same(ok.errors, {});
  t.match(ok.input, { startsAt: '2026-03-28T20:00:00.000Z', endsAt: '2026-03-28T22:00:00.000Z', allDay: false, recurrence: 'none', recurrenceUntil: null, free: true, priceCents: null, links: [], imageAlt: null });

  const allDay = parseEventForm({ ...BASE, allDay: 'on', startTime: '', endTime: '', endDate: '2026-03-29' }, { categoryIds: CATEGORIES, hasImage: false });
  t.match(allDay.input, { startsAt: '2026-03-27T23:00:00.000Z', endsAt: '2026-03-29T22:00:00.000Z', allDay: true }, 'all day: midnight to the midnight after the last day');
  const form = eventToForm({ ...allDay.input!, version: 3 });
  t.match(form, { startDate: '2026-03-28', endDate: '2026-03-29', startTime: '', endTime: '', allDay: 'on', version: '3' }, 'and back to the form');

  const paid = parseEventForm({ ...BASE, price: 'paid', priceAmount: '1.234,5', link1Label: '', link1Url: 'https://example.org/programma' }, { categoryIds: CATEGORIES, hasImage: false });
  t.equal(paid.input?.priceCents, 123450);
  t.same(paid.input?.links, [{ label: 'example.org', url: 'https://example.org/programma' }], 'a link without text is named by its host');
  t.equal(eventToForm(paid.input!).priceAmount, '1.234,50');

  const bad = parseEventForm(
    { ...BASE, categoryId: '9', startTime: '25:00', recurrence: 'weekly', recurrenceUntil: '2026-03-01', latitude: '41,5', longitude: '', price: 'paid', priceAmount: '-3', contactPhone: 'chiamami', link2Url: 'ftp://example.org' },
    { categoryIds: CATEGORIES, hasImage: true },
  );
  t.same(Object.keys(bad.errors).sort(), ['categoryId', 'contactPhone', 'imageAlt', 'link2Url', 'longitude', 'priceAmount', 'recurrenceUntil', 'startTime']);
  t.notOk(bad.input);
  const longWeekly = parseEventForm({ ...BASE, endDate: '2026-04-10', recurrence: 'weekly', recurrenceUntil: '2026-06-01' }, { categoryIds: CATEGORIES, hasImage: false });
  t.match(longWeekly.errors.recurrence, /meno di una settimana/);
  t.same(parseLinks('[{"label":"ok","url":"https://a.example/"},{"label":"x","url":"javascript:alert(1)"}]'), [{ label: 'ok', url: 'https://a.example/' }], 'a stored non-http link is dropped');
  t.same(parseLinks('non json'), []);
});

t.test('when, in words', async (t) => {
  const at = (day: string, time: string) => romeInstant(day, time)!;
  t.equal(describeWhen({ startsAt: at('2026-03-14', '18:00'), endsAt: at('2026-03-14', '20:00'), allDay: false, recurrence: 'none', recurrenceUntil: null }), 'sabato 14 marzo 2026, dalle 18:00 alle 20:00');
  t.equal(describeWhen({ startsAt: at('2026-10-24', '00:00'), endsAt: at('2026-10-26', '00:00'), allDay: true, recurrence: 'none', recurrenceUntil: null }), 'da sabato 24 ottobre 2026 a domenica 25 ottobre 2026');
  t.equal(describeWhen({ startsAt: at('2026-08-14', '00:00'), endsAt: at('2026-08-15', '00:00'), allDay: true, recurrence: 'none', recurrenceUntil: null }), 'venerdì 14 agosto 2026, tutto il giorno');
  t.equal(describeWhen({ startsAt: at('2026-08-14', '21:00'), endsAt: at('2026-08-16', '01:00'), allDay: false, recurrence: 'none', recurrenceUntil: null }), 'da venerdì 14 agosto 2026 ore 21:00 a domenica 16 agosto 2026 ore 01:00');
  t.equal(describeWhen(weekly('2026-03-14', '18:00', '20:00', '2026-04-04')), 'ogni sabato dalle 18:00 alle 20:00, dal 14 marzo 2026 al 4 aprile 2026');
  t.equal(describeWhen(weekly('2026-03-08', '10:00', '12:00', '2026-04-11')), 'ogni domenica dalle 10:00 alle 12:00, dall’8 marzo 2026 all’11 aprile 2026');
});

/** The HTTP status of what `fn` throws (null when it does not). */
function refusal(fn: () => unknown): number | null {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as { statusCode?: number }).statusCode ?? -1;
  }
}

t.test('status rules', async (t) => {
  t.equal(nextStatus('draft', 'publish'), 'published');
  t.equal(nextStatus('unpublished', 'publish'), 'published');
  t.equal(nextStatus('published', 'unpublish'), 'unpublished');
  t.equal(nextStatus('cancelled', 'unpublish'), 'unpublished');
  t.equal(nextStatus('published', 'cancel'), 'cancelled');
  t.equal(refusal(() => nextStatus('draft', 'cancel')), 409);
  t.equal(refusal(() => nextStatus('cancelled', 'publish')), 409);
  t.equal(refusal(() => nextStatus('published', 'publish')), 409);
  t.same(['draft', 'published', 'unpublished', 'cancelled'].map((s) => isListed(s as 'draft')), [false, true, false, true]);
});
