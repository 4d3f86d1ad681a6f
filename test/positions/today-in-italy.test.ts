import t from 'tap';
import { todayInItaly } from '../../src/modules/positions/service.js';

t.test('today in Italy: the Rome calendar day, also across midnight and the cache', async (t) => {
  // Summer (UTC+2): Rome's midnight is 22:00 UTC; winter (UTC+1): 23:00 UTC.
  t.equal(todayInItaly(new Date('2026-07-14T21:59:59.999Z')), '2026-07-14');
  t.equal(todayInItaly(new Date('2026-07-14T22:00:00.000Z')), '2026-07-15');
  t.equal(todayInItaly(new Date('2026-07-14T21:59:30.000Z')), '2026-07-14', 'back in the previous minute: not the cached answer');
  t.equal(todayInItaly(new Date('2026-12-31T22:59:59.000Z')), '2026-12-31');
  t.equal(todayInItaly(new Date('2026-12-31T23:00:00.000Z')), '2027-01-01');
  // The day the clock goes back (25 October 2026, 03:00 CEST → 02:00 CET).
  t.equal(todayInItaly(new Date('2026-10-24T21:59:00.000Z')), '2026-10-24');
  t.equal(todayInItaly(new Date('2026-10-24T22:00:00.000Z')), '2026-10-25');
  t.equal(todayInItaly(new Date('2026-10-25T22:59:00.000Z')), '2026-10-25');
  t.equal(todayInItaly(new Date('2026-10-25T23:00:00.000Z')), '2026-10-26');
  const now = new Date();
  t.equal(todayInItaly(now), todayInItaly(new Date(now.getTime())), 'same minute, same answer');
});
