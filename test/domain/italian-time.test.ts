import t from 'tap';
import { formatOffset, italianOffsetMinutes } from '../../src/domain/italian-time.js';

t.test('Italian offset: +01:00 in winter, +02:00 in summer, switching at 01:00 UTC on the last Sundays of March and October', async (t) => {
  t.equal(italianOffsetMinutes(Date.parse('2027-01-15T12:00:00Z')), 60);
  t.equal(italianOffsetMinutes(Date.parse('2027-07-15T12:00:00Z')), 120);
  t.equal(italianOffsetMinutes(Date.parse('2027-03-28T00:59:59Z')), 60, 'just before the spring change');
  t.equal(italianOffsetMinutes(Date.parse('2027-03-28T01:00:00Z')), 120, 'at the spring change');
  t.equal(italianOffsetMinutes(Date.parse('2027-10-31T00:59:59Z')), 120, 'just before the autumn change');
  t.equal(italianOffsetMinutes(Date.parse('2027-10-31T01:00:00Z')), 60, 'at the autumn change');
});

t.test('formatOffset writes ±hh:mm', async (t) => {
  t.equal(formatOffset(60), '+01:00');
  t.equal(formatOffset(120), '+02:00');
  t.equal(formatOffset(0), '+00:00');
  t.equal(formatOffset(-330), '-05:30');
});
