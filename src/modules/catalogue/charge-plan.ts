/**
 * The charges an adesione owes (pure: no database, no clock of its own).
 *
 * Rules (spec §B.5 rule 3, issue #15 item 5):
 * - free → no charge; an amount of 0 → no charge (a charge is always > 0 cents).
 * - one_off → one charge (kind 'one_off', period key 0) at activation, for the adesione's amount.
 * - per_unit → one charge (kind 'units', period key 0) at activation: the snapshot's total when it
 *   has one (quantity × unit price, or the band's total), else quantity × the adesione's amount.
 * - annual → one slice per calendar year that the period touches (period key = the year). The
 *   adesione's amount is the fee for 12 months: the period owes amount × its length in months / 12
 *   (a 12-month period owes exactly the amount), split over the calendar years **pro rata by
 *   days** (2026-07-01 … 2027-06-30: 184 days in 2026, 181 in 2027); rounding goes to the last
 *   slice, so the slices always add up to the period's total. A slice is due from its first day
 *   (the period's start, or 1 January): slices not yet due are issued later by the scheduled pass.
 * - Due date of a charge = its issue date (Italian calendar day) + `dueDays`.
 */
import type { BillingKind } from './schema.js';
import { addDays } from '../../domain/iso-date.js';

export type ChargeKind = 'one_off' | 'annual' | 'units';

export interface PlanInput {
  billing: BillingKind;
  /** ISO dates, end inclusive. Null start: one-off / per-unit only (annual needs a period). */
  startDate: string | null;
  endDate: string | null;
  /** The adesione's amount: once (one_off), per 12 months (annual), per unit (per_unit without a total). */
  amountCents: number | null;
  quantity: number;
  /** The price snapshot's total (per_unit / bands), when it has one. */
  snapshotTotalCents?: number | null;
}

export interface PlannedCharge {
  kind: ChargeKind;
  periodKey: number;
  periodFrom: string | null;
  periodTo: string | null;
  amountCents: number;
  /** First day the charge may be issued (ISO date). */
  dueFrom: string;
}

const DAY_MS = 86_400_000;

function toUtc(iso: string): number {
  return Date.UTC(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, Number(iso.slice(8, 10)));
}

export { addDays };

/** Days from `from` to `to`, both included. */
export function daysInclusive(from: string, to: string): number {
  return Math.round((toUtc(to) - toUtc(from)) / DAY_MS) + 1;
}

/** Whole months of a period (end inclusive), rounded to the nearest month, at least 1. */
export function periodMonths(start: string, end: string): number {
  const endExclusive = addDays(end, 1);
  const [y1, m1, d1] = [Number(start.slice(0, 4)), Number(start.slice(5, 7)), Number(start.slice(8, 10))];
  const [y2, m2, d2] = [Number(endExclusive.slice(0, 4)), Number(endExclusive.slice(5, 7)), Number(endExclusive.slice(8, 10))];
  const months = (y2 - y1) * 12 + (m2 - m1) + (d2 - d1) / 30;
  return Math.max(1, Math.round(months));
}

function isIsoDate(s: string | null): s is string {
  return typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s);
}

/** Every charge of the adesione (due or not). Throws on an annual adesione without a valid period. */
export function planCharges(a: PlanInput, activationDate: string): PlannedCharge[] {
  const amount = a.amountCents ?? 0;
  switch (a.billing) {
    case 'free':
      return [];
    case 'one_off': {
      if (!(amount > 0)) return [];
      return [{ kind: 'one_off', periodKey: 0, periodFrom: a.startDate, periodTo: a.endDate, amountCents: amount, dueFrom: a.startDate ?? activationDate }];
    }
    case 'per_unit': {
      const total = a.snapshotTotalCents != null && a.snapshotTotalCents > 0 ? a.snapshotTotalCents : amount * Math.max(0, a.quantity);
      if (!(total > 0)) return [];
      return [{ kind: 'units', periodKey: 0, periodFrom: a.startDate, periodTo: a.endDate, amountCents: total, dueFrom: a.startDate ?? activationDate }];
    }
    case 'annual':
      return annualSlices(a.startDate, a.endDate, amount);
  }
}

/** The calendar-year slices of an annual adesione (see the module comment). */
export function annualSlices(start: string | null, end: string | null, amountPer12Months: number): PlannedCharge[] {
  if (!(amountPer12Months > 0)) return [];
  if (!isIsoDate(start) || !isIsoDate(end) || end < start) throw new Error('Adesione annuale senza un periodo valido (inizio e fine).');
  const total = Math.round((amountPer12Months * periodMonths(start, end)) / 12);
  const totalDays = daysInclusive(start, end);
  const firstYear = Number(start.slice(0, 4));
  const lastYear = Number(end.slice(0, 4));
  const slices: PlannedCharge[] = [];
  let assigned = 0;
  for (let year = firstYear; year <= lastYear; year++) {
    const from = year === firstYear ? start : `${year}-01-01`;
    const to = year === lastYear ? end : `${year}-12-31`;
    const amountCents = year === lastYear ? total - assigned : Math.floor((total * daysInclusive(from, to)) / totalDays);
    assigned += amountCents;
    if (amountCents > 0) slices.push({ kind: 'annual', periodKey: year, periodFrom: from, periodTo: to, amountCents, dueFrom: from });
  }
  return slices;
}

/** The planned charges due by `today` (ISO date): what may be issued now. */
export function dueCharges(plan: readonly PlannedCharge[], today: string): PlannedCharge[] {
  return plan.filter((c) => c.dueFrom <= today);
}

/** Due date of a charge issued on `issueDay`: that day + `dueDays` (at least 1). */
export function chargeDueDate(issueDay: string, dueDays: number): string {
  return addDays(issueDay, Math.max(1, Math.floor(dueDays)));
}

/** What the comune sees for a charge: Da pagare / Scaduto / Pagato / Annullato. */
export type ChargeDisplayStatus = 'to_pay' | 'overdue' | 'paid' | 'cancelled';

export function displayStatus(c: { status: 'issued' | 'paid' | 'cancelled'; dueDate: string }, today: string): ChargeDisplayStatus {
  if (c.status === 'paid') return 'paid';
  if (c.status === 'cancelled') return 'cancelled';
  return c.dueDate < today ? 'overdue' : 'to_pay';
}

export const DISPLAY_LABELS: Record<ChargeDisplayStatus, string> = {
  to_pay: 'Da pagare',
  overdue: 'Scaduto',
  paid: 'Pagato',
  cancelled: 'Annullato',
};

/** Whether a reminder is due now: overdue, issued, and no reminder in the last `everyDays` days. */
export function reminderDue(
  c: { status: 'issued' | 'paid' | 'cancelled'; dueDate: string; lastReminderAt: string | null },
  today: string,
  now: Date,
  everyDays: number,
): boolean {
  if (c.status !== 'issued' || !(c.dueDate < today)) return false;
  if (!c.lastReminderAt) return true;
  return now.getTime() - Date.parse(c.lastReminderAt) >= Math.max(1, everyDays) * DAY_MS;
}
