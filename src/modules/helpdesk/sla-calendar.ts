/**
 * Business calendar for ticket SLAs: working days Monday–Friday except Italian public holidays
 * (incl. Easter Monday) and configured local ones (e.g. the patron saint), working hours as
 * intervals of the day in Europe/Rome. Pure functions, no I/O; instants are Date (UTC inside).
 */

export interface BusinessCalendar {
  /** Working intervals of a day as minutes from local midnight, sorted, non-overlapping. */
  intervals: { from: number; to: number }[];
  /** Extra holidays: `MM-DD` every year or `YYYY-MM-DD` once. */
  extraHolidays: string[];
  timeZone: string;
}

/** "09:00-13:00,14:00-17:00" → intervals; throws on a malformed or overlapping list. */
export function parseBusinessHours(spec: string): { from: number; to: number }[] {
  const out = spec.split(',').map((part) => {
    const m = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(part);
    if (!m) throw new Error(`orario non valido: ${part}`);
    const from = Number(m[1]) * 60 + Number(m[2]);
    const to = Number(m[3]) * 60 + Number(m[4]);
    if (from >= to || to > 24 * 60) throw new Error(`orario non valido: ${part}`);
    return { from, to };
  });
  out.sort((a, b) => a.from - b.from);
  for (let i = 1; i < out.length; i++) if (out[i]!.from < out[i - 1]!.to) throw new Error('intervalli sovrapposti');
  return out;
}

export function defaultCalendar(hours = '09:00-13:00,14:00-17:00', extraHolidays: string[] = ['04-23']): BusinessCalendar {
  return { intervals: parseBusinessHours(hours), extraHolidays, timeZone: 'Europe/Rome' };
}

/** Easter Sunday (Gregorian, anonymous algorithm) as [month 1-12, day]. */
export function easterSunday(year: number): [number, number] {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return [month, day];
}

const FIXED_HOLIDAYS = ['01-01', '01-06', '04-25', '05-01', '06-02', '08-15', '11-01', '12-08', '12-25', '12-26'];

const pad = (n: number) => String(n).padStart(2, '0');

/** Is this local date (YYYY-MM-DD) a national or configured holiday? */
export function isHoliday(isoDate: string, extra: string[] = []): boolean {
  const md = isoDate.slice(5);
  if (FIXED_HOLIDAYS.includes(md) || extra.includes(md) || extra.includes(isoDate)) return true;
  const year = Number(isoDate.slice(0, 4));
  const [em, ed] = easterSunday(year);
  const monday = new Date(Date.UTC(year, em - 1, ed + 1));
  return isoDate === `${year}-${pad(monday.getUTCMonth() + 1)}-${pad(monday.getUTCDate())}`;
}

export function isWorkingDay(isoDate: string, cal: Pick<BusinessCalendar, 'extraHolidays'>): boolean {
  const dow = new Date(`${isoDate}T12:00:00Z`).getUTCDay();
  return dow !== 0 && dow !== 6 && !isHoliday(isoDate, cal.extraHolidays);
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();
function parts(d: Date, timeZone: string): { date: string; minutes: number } {
  let f = fmtCache.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    fmtCache.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(d).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, minutes: Number(p.hour) * 60 + Number(p.minute) + Number(p.second) / 60 };
}

/** UTC instant of a local wall-clock time (minutes from local midnight) on a local date. */
export function localToUtc(isoDate: string, minutes: number, timeZone: string): Date {
  const guess = Date.UTC(Number(isoDate.slice(0, 4)), Number(isoDate.slice(5, 7)) - 1, Number(isoDate.slice(8, 10)), 0, minutes);
  // Offset of the zone at that moment (two passes settle DST edges; business hours avoid 2–3 am).
  let t = guess;
  for (let i = 0; i < 2; i++) {
    const p = parts(new Date(t), timeZone);
    const shown = Date.UTC(Number(p.date.slice(0, 4)), Number(p.date.slice(5, 7)) - 1, Number(p.date.slice(8, 10)), 0, 0) + p.minutes * 60_000;
    t = t + (guess - shown);
  }
  return new Date(t);
}

function nextDate(isoDate: string): string {
  const d = new Date(`${isoDate}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** Business minutes between two instants (0 when to ≤ from). */
export function businessMinutesBetween(from: Date, to: Date, cal: BusinessCalendar): number {
  if (to <= from) return 0;
  let total = 0;
  let day = parts(from, cal.timeZone).date;
  const lastDay = parts(to, cal.timeZone).date;
  for (let guard = 0; day <= lastDay && guard < 3700; guard++, day = nextDate(day)) {
    if (!isWorkingDay(day, cal)) continue;
    for (const iv of cal.intervals) {
      const a = Math.max(localToUtc(day, iv.from, cal.timeZone).getTime(), from.getTime());
      const b = Math.min(localToUtc(day, iv.to, cal.timeZone).getTime(), to.getTime());
      if (b > a) total += (b - a) / 60_000;
    }
  }
  return Math.floor(total + 1e-9);
}

/** The instant at which `minutes` business minutes have elapsed after `from`. */
export function addBusinessMinutes(from: Date, minutes: number, cal: BusinessCalendar): Date {
  let left = Math.max(0, minutes);
  let day = parts(from, cal.timeZone).date;
  for (let guard = 0; guard < 3700; guard++, day = nextDate(day)) {
    if (!isWorkingDay(day, cal)) continue;
    for (const iv of cal.intervals) {
      const start = Math.max(localToUtc(day, iv.from, cal.timeZone).getTime(), from.getTime());
      const end = localToUtc(day, iv.to, cal.timeZone).getTime();
      if (end <= start) continue;
      const avail = (end - start) / 60_000;
      if (left <= avail) return new Date(start + left * 60_000);
      left -= avail;
    }
  }
  throw new Error('calendar without working time');
}

/** Working days strictly after `from` up to `to` (dates, local), e.g. for "older than N working days". */
export function workingDaysBetween(fromDate: string, toDate: string, cal: Pick<BusinessCalendar, 'extraHolidays'>): number {
  let n = 0;
  for (let d = nextDate(fromDate), guard = 0; d <= toDate && guard < 3700; d = nextDate(d), guard++) if (isWorkingDay(d, cal)) n++;
  return n;
}

export function localDate(d: Date, timeZone = 'Europe/Rome'): string {
  return parts(d, timeZone).date;
}
