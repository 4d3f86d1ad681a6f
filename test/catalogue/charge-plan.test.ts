/** The pure plan of an adesione's charges: one-off, annual slices over year boundaries, per unit, free. */
import t from 'tap';
import {
  annualSlices,
  chargeDueDate,
  displayStatus,
  dueCharges,
  periodMonths,
  planCharges,
  reminderDue,
} from '../../src/modules/catalogue/charge-plan.js';

t.test('free and zero amounts: no charge', async (t) => {
  t.same(planCharges({ billing: 'free', startDate: '2026-01-01', endDate: '2026-12-31', amountCents: 50000, quantity: 1 }, '2026-01-01'), []);
  t.same(planCharges({ billing: 'one_off', startDate: '2026-01-01', endDate: null, amountCents: 0, quantity: 1 }, '2026-01-01'), []);
  t.same(planCharges({ billing: 'annual', startDate: '2026-01-01', endDate: '2026-12-31', amountCents: null, quantity: 1 }, '2026-01-01'), []);
  t.same(planCharges({ billing: 'per_unit', startDate: '2026-01-01', endDate: null, amountCents: 1500, quantity: 0 }, '2026-01-01'), []);
});

t.test('one-off: one charge at activation, period key 0', async (t) => {
  const plan = planCharges({ billing: 'one_off', startDate: '2026-03-15', endDate: '2027-03-14', amountCents: 25000, quantity: 1 }, '2026-03-15');
  t.same(plan, [{ kind: 'one_off', periodKey: 0, periodFrom: '2026-03-15', periodTo: '2027-03-14', amountCents: 25000, dueFrom: '2026-03-15' }]);
  t.same(dueCharges(plan, '2026-03-14'), [], 'not before the start');
  t.equal(dueCharges(plan, '2026-03-15').length, 1);
});

t.test('per unit: quantity × unit price, or the snapshot total', async (t) => {
  const plan = planCharges({ billing: 'per_unit', startDate: '2026-05-01', endDate: null, amountCents: 1250, quantity: 8 }, '2026-05-01');
  t.same(plan.map((c) => [c.kind, c.periodKey, c.amountCents]), [['units', 0, 10000]]);
  const banded = planCharges({ billing: 'per_unit', startDate: '2026-05-01', endDate: null, amountCents: 1250, quantity: 8, snapshotTotalCents: 9000 }, '2026-05-01');
  t.equal(banded[0]!.amountCents, 9000, 'the band total of the price snapshot wins');
});

t.test('annual inside one calendar year: one slice of the whole amount', async (t) => {
  const plan = planCharges({ billing: 'annual', startDate: '2026-01-01', endDate: '2026-12-31', amountCents: 120000, quantity: 1 }, '2026-01-01');
  t.same(plan, [{ kind: 'annual', periodKey: 2026, periodFrom: '2026-01-01', periodTo: '2026-12-31', amountCents: 120000, dueFrom: '2026-01-01' }]);
});

t.test('annual over a year boundary: slices pro rata by days, summing to the amount', async (t) => {
  const plan = annualSlices('2026-07-01', '2027-06-30', 120000);
  t.same(
    plan.map((c) => [c.periodKey, c.periodFrom, c.periodTo, c.amountCents, c.dueFrom]),
    [
      [2026, '2026-07-01', '2026-12-31', 60493, '2026-07-01'], // 184/365 of 1 200,00 €
      [2027, '2027-01-01', '2027-06-30', 59507, '2027-01-01'], // the rest: 181 days
    ],
  );
  t.equal(plan.reduce((s, c) => s + c.amountCents, 0), 120000);
  t.same(dueCharges(plan, '2026-07-10').map((c) => c.periodKey), [2026], 'only the slice already started is due');
  t.same(dueCharges(plan, '2027-01-01').map((c) => c.periodKey), [2026, 2027], 'the next one from 1 January');

  const leap = annualSlices('2027-09-15', '2028-09-14', 99999);
  t.equal(leap.reduce((s, c) => s + c.amountCents, 0), 99999, 'leap year: still exactly the amount');
  t.same(leap.map((c) => c.periodKey), [2027, 2028]);
});

t.test('annual over three calendar years: a 24-month period owes two years', async (t) => {
  t.equal(periodMonths('2026-04-01', '2028-03-31'), 24);
  const plan = annualSlices('2026-04-01', '2028-03-31', 36500);
  t.same(plan.map((c) => c.periodKey), [2026, 2027, 2028]);
  t.equal(plan.reduce((s, c) => s + c.amountCents, 0), 73000);
  t.equal(plan[1]!.amountCents, 36500 * 365 * 2 / 731 | 0, 'the full year 2027 is its share of the 731 days');
});

t.test('annual without a period is refused', async (t) => {
  t.throws(() => annualSlices(null, '2026-12-31', 1000), /periodo valido/);
  t.throws(() => annualSlices('2026-12-31', '2026-01-01', 1000), /periodo valido/);
});

t.test('due dates, display status, reminders', async (t) => {
  t.equal(chargeDueDate('2026-12-15', 30), '2027-01-14');
  t.equal(chargeDueDate('2028-02-01', 28), '2028-02-29');
  t.equal(displayStatus({ status: 'issued', dueDate: '2026-05-10' }, '2026-05-10'), 'to_pay', 'due today is not overdue');
  t.equal(displayStatus({ status: 'issued', dueDate: '2026-05-10' }, '2026-05-11'), 'overdue');
  t.equal(displayStatus({ status: 'paid', dueDate: '2026-05-10' }, '2026-06-11'), 'paid');
  const now = new Date('2026-06-01T08:00:00Z');
  const overdue = { status: 'issued' as const, dueDate: '2026-05-10', lastReminderAt: null };
  t.ok(reminderDue(overdue, '2026-06-01', now, 7));
  t.notOk(reminderDue({ ...overdue, lastReminderAt: '2026-05-28T08:00:00Z' }, '2026-06-01', now, 7), 'reminded 4 days ago');
  t.ok(reminderDue({ ...overdue, lastReminderAt: '2026-05-25T08:00:00Z' }, '2026-06-01', now, 7), 'reminded 7 days ago');
  t.notOk(reminderDue({ ...overdue, status: 'paid' }, '2026-06-01', now, 7), 'never a paid charge');
  t.notOk(reminderDue({ ...overdue, status: 'cancelled' }, '2026-06-01', now, 7), 'never a cancelled charge');
  t.notOk(reminderDue({ ...overdue, dueDate: '2026-06-01' }, '2026-06-01', now, 7), 'not before it is overdue');
});
