/**
 * Charges in the database: the catalogue settings they read, listings (one ente, or all with
 * filters for the SAEL admin), one charge, the paid sync against the Province's payment options,
 * and the reminder bookkeeping. Every function is async and built with drizzle's query builder.
 */
import { and, asc, desc, eq, gte, inArray, isNull, like, lt, lte, ne, or, sql, type SQL } from 'drizzle-orm';
import { affectedRows, type DbLike } from '../../db/client.js';
import { enti } from '../enti/schema.js';
import { paymentOptions, positions } from '../positions/schema.js';
import { roleGrants, users } from '../users/schema.js';
import { adesioni, catalogueCharges, catalogueServices, catalogueSettings } from './schema.js';

export type ChargeRow = typeof catalogueCharges.$inferSelect;

/** The settings of the charges and their defaults. */
export const CHARGE_SETTINGS = {
  charges_service_code: 'SAEL',
  charges_due_days: 30,
  charges_reminder_days: 7,
  /** Taxonomy code of the payment service created in demo mode. */
  charges_taxonomy_code: '9/0201102IM/',
} as const;

type SettingKey = keyof typeof CHARGE_SETTINGS | 'charges_error';

/** A catalogue setting (JSON value), or the fallback when absent or unreadable. */
export async function getSetting<T>(db: DbLike, key: SettingKey, fallback: T): Promise<T> {
  const row = (await db.select({ value: catalogueSettings.value }).from(catalogueSettings).where(eq(catalogueSettings.key, key)).limit(1))[0];
  if (!row) return fallback;
  try {
    const v = JSON.parse(row.value) as unknown;
    if (typeof fallback === 'number') return (typeof v === 'number' && Number.isFinite(v) ? v : fallback) as T;
    if (typeof fallback === 'string') return (typeof v === 'string' && v ? v : fallback) as T;
    return (v ?? fallback) as T;
  } catch {
    return fallback;
  }
}

export async function setSetting(db: DbLike, key: SettingKey, value: unknown): Promise<void> {
  const json = JSON.stringify(value);
  const now = new Date().toISOString();
  await db.insert(catalogueSettings).values({ key, value: json, updatedAt: now }).onConflictDoUpdate({ target: catalogueSettings.key, set: { value: json, updatedAt: now } });
}

export async function clearSetting(db: DbLike, key: SettingKey): Promise<void> {
  await db.delete(catalogueSettings).where(eq(catalogueSettings.key, key));
}

export interface ChargesSettings {
  serviceCode: string;
  dueDays: number;
  reminderDays: number;
  taxonomyCode: string;
}

export async function chargesSettings(db: DbLike): Promise<ChargesSettings> {
  return {
    serviceCode: (await getSetting(db, 'charges_service_code', CHARGE_SETTINGS.charges_service_code as string)).toUpperCase(),
    dueDays: await getSetting(db, 'charges_due_days', CHARGE_SETTINGS.charges_due_days as number),
    reminderDays: await getSetting(db, 'charges_reminder_days', CHARGE_SETTINGS.charges_reminder_days as number),
    taxonomyCode: await getSetting(db, 'charges_taxonomy_code', CHARGE_SETTINGS.charges_taxonomy_code as string),
  };
}

/** The last problem met while issuing charges (shown to the SAEL admin), or null. */
export interface ChargesError {
  at: string;
  message: string;
  adesioneId: number | null;
  /** A configuration problem (no Province, no payment service): it stops every charge. */
  config?: boolean;
}

export async function chargesError(db: DbLike): Promise<ChargesError | null> {
  return getSetting<ChargesError | null>(db, 'charges_error', null);
}

/** A charge with what the pages and the API show next to it. */
export interface ChargeListItem extends ChargeRow {
  enteName: string;
  serviceCode: string;
  serviceName: string;
  adesioneStatus: string;
}

const listColumns = {
  charge: catalogueCharges,
  enteName: enti.name,
  serviceCode: catalogueServices.code,
  serviceName: catalogueServices.name,
  adesioneStatus: adesioni.status,
};

function flatten(r: { charge: ChargeRow; enteName: string; serviceCode: string; serviceName: string; adesioneStatus: string }): ChargeListItem {
  return { ...r.charge, enteName: r.enteName, serviceCode: r.serviceCode, serviceName: r.serviceName, adesioneStatus: r.adesioneStatus };
}

export type ChargeStatusFilter = 'issued' | 'overdue' | 'paid' | 'cancelled';

export interface ChargeFilter {
  enteId?: number;
  status?: ChargeStatusFilter;
  /** Year of the due date. */
  year?: number;
  adesioneId?: number;
  /** Today (ISO): what "overdue" means. */
  today: string;
  limit?: number;
  offset?: number;
}

function conditions(f: ChargeFilter): SQL | undefined {
  const c: (SQL | undefined)[] = [];
  if (f.enteId !== undefined) c.push(eq(catalogueCharges.enteId, f.enteId));
  if (f.adesioneId !== undefined) c.push(eq(catalogueCharges.adesioneId, f.adesioneId));
  if (f.status === 'overdue') c.push(and(eq(catalogueCharges.status, 'issued'), lt(catalogueCharges.dueDate, f.today)));
  else if (f.status) c.push(eq(catalogueCharges.status, f.status));
  if (f.year !== undefined) c.push(like(catalogueCharges.dueDate, `${String(f.year).padStart(4, '0')}-%`));
  return and(...c);
}

/** Charges matching the filter, newest due date first, with the total count. */
export async function listCharges(db: DbLike, f: ChargeFilter): Promise<{ items: ChargeListItem[]; total: number }> {
  const where = conditions(f);
  const rows = await db
      .select(listColumns)
      .from(catalogueCharges)
      .innerJoin(enti, eq(enti.id, catalogueCharges.enteId))
      .innerJoin(adesioni, eq(adesioni.id, catalogueCharges.adesioneId))
      .innerJoin(catalogueServices, eq(catalogueServices.id, adesioni.serviceId))
      .where(where)
      .orderBy(desc(catalogueCharges.dueDate), desc(catalogueCharges.id))
      .limit(f.limit ?? 500)
      .offset(f.offset ?? 0);
  const total = (await db.select({ n: sql<number>`count(*)` }).from(catalogueCharges).where(where).limit(1))[0]?.n ?? 0;
  return { items: rows.map(flatten), total };
}

/** One charge of one ente (undefined when it does not exist or is another ente's). */
export async function getChargeOfEnte(db: DbLike, enteId: number, chargeId: number): Promise<ChargeListItem | undefined> {
  const r = (await db
      .select(listColumns)
      .from(catalogueCharges)
      .innerJoin(enti, eq(enti.id, catalogueCharges.enteId))
      .innerJoin(adesioni, eq(adesioni.id, catalogueCharges.adesioneId))
      .innerJoin(catalogueServices, eq(catalogueServices.id, adesioni.serviceId))
      .where(and(eq(catalogueCharges.id, chargeId), eq(catalogueCharges.enteId, enteId))).limit(1))[0];
  return r ? flatten(r) : undefined;
}

export async function chargesOfAdesione(db: DbLike, adesioneId: number): Promise<ChargeRow[]> {
  return await db.select().from(catalogueCharges).where(eq(catalogueCharges.adesioneId, adesioneId)).orderBy(asc(catalogueCharges.periodKey));
}

/** Enti that have charges, for the admin's filter. */
export async function entiWithCharges(db: DbLike): Promise<{ id: number; name: string }[]> {
  return await db
      .selectDistinct({ id: enti.id, name: enti.name })
      .from(catalogueCharges)
      .innerJoin(enti, eq(enti.id, catalogueCharges.enteId))
      .orderBy(asc(enti.name));
}

/** Years of the charges' due dates, newest first. */
export async function chargeYears(db: DbLike): Promise<number[]> {
  return (await db
      .selectDistinct({ y: sql<string>`substr(${catalogueCharges.dueDate}, 1, 4)` })
      .from(catalogueCharges)
      .orderBy(desc(sql`substr(${catalogueCharges.dueDate}, 1, 4)`)))
    .map((r) => Number(r.y));
}

/**
 * Brings issued charges (of one ente, or all) in line with their Province positions: 'paid' when
 * the option was paid by a receipt (paid_at = the option's payment time, i.e. the receipt's
 * paymentDateTime), 'cancelled' when the Province cancelled the position in its back office (a
 * cancelled notice is not owed and is never reminded). Returns the ids turned paid.
 */
export async function syncPaidCharges(db: DbLike, enteId?: number): Promise<number[]> {
  const rows = await db
      .select({ id: catalogueCharges.id, optionStatus: paymentOptions.status, paidAt: paymentOptions.paidAt, positionStatus: positions.status })
      .from(catalogueCharges)
      .innerJoin(positions, eq(positions.id, catalogueCharges.positionId))
      .innerJoin(paymentOptions, eq(paymentOptions.positionId, catalogueCharges.positionId))
      .where(
        and(
          eq(catalogueCharges.status, 'issued'),
          or(eq(paymentOptions.status, 'paid'), eq(positions.status, 'cancelled')),
          enteId !== undefined ? eq(catalogueCharges.enteId, enteId) : undefined,
        ),
      );
  if (!rows.length) return [];
  const now = new Date().toISOString();
  const paid: number[] = [];
  for (const r of rows) {
    const isPaid = r.optionStatus === 'paid';
    await db.update(catalogueCharges)
            .set(isPaid ? { status: 'paid', paidAt: r.paidAt ?? now, updatedAt: now } : { status: 'cancelled', updatedAt: now })
            .where(and(eq(catalogueCharges.id, r.id), eq(catalogueCharges.status, 'issued')));
    if (isPaid) paid.push(r.id);
  }
  return paid;
}

/** Issued charges past their due date (the reminder candidates), oldest due first. */
export async function overdueCharges(db: DbLike, today: string): Promise<ChargeListItem[]> {
  return (await listCharges(db, { status: 'overdue', today, limit: 100_000 })).items.sort((a, b) => a.dueDate.localeCompare(b.dueDate) || a.id - b.id);
}

/** Records a reminder, only if the charge is still issued and was not reminded since `notSince`. */
export async function markReminded(db: DbLike, chargeId: number, at: string, notSince: string): Promise<boolean> {
  const res = await db
      .update(catalogueCharges)
      .set({ reminderCount: sql`${catalogueCharges.reminderCount} + 1`, lastReminderAt: at, updatedAt: at })
      .where(
        and(
          eq(catalogueCharges.id, chargeId),
          eq(catalogueCharges.status, 'issued'),
          or(isNull(catalogueCharges.lastReminderAt), lte(catalogueCharges.lastReminderAt, notSince)),
        ),
      );
  return affectedRows(res) === 1;
}

/** Where the reminders of an ente go: its ente_admin users with an email, its PEC and email. */
export async function reminderRecipients(db: DbLike, enteId: number): Promise<string[]> {
  const ente = (await db.select({ pec: enti.pec, email: enti.email }).from(enti).where(eq(enti.id, enteId)).limit(1))[0];
  const admins = await db
      .select({ email: users.email })
      .from(roleGrants)
      .innerJoin(users, eq(users.id, roleGrants.userId))
      .where(and(eq(roleGrants.role, 'ente_admin'), eq(roleGrants.enteId, enteId), ne(users.email, '')));
  const all = [ente?.pec, ente?.email, ...admins.map((a) => a.email)].filter((e): e is string => typeof e === 'string' && e.includes('@'));
  return [...new Set(all.map((e) => e.trim().toLowerCase()))];
}

/** Adesioni that may owe charges (see charges-schedule.ts), with a period reaching `fromDate` or later. */
export async function chargeableAdesioni(db: DbLike, fromDate: string): Promise<number[]> {
  return (await db
      .select({ id: adesioni.id })
      .from(adesioni)
      .innerJoin(catalogueServices, eq(catalogueServices.id, adesioni.serviceId))
      .where(
        and(
          inArray(adesioni.status, CHARGEABLE_STATUSES),
          ne(catalogueServices.billing, 'free'),
          or(isNull(adesioni.endDate), gte(adesioni.endDate, fromDate)),
        ),
      )
      .orderBy(asc(adesioni.id)))
    .map((r) => r.id);
}

/**
 * Statuses in which an adesione owes its charges: active and what follows activation. A withdrawn
 * adesione keeps the obligations before its withdrawal date (slices starting later are not issued).
 */
export const CHARGEABLE_STATUSES = ['active', 'suspended', 'expiring', 'renewed', 'expired', 'withdrawn'] as const;
