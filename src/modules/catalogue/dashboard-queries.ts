/**
 * The figures of the SAEL dashboard (/admin/catalogo), aggregated in SQL with drizzle's query
 * builder: the adesioni matrix (comune × service, the latest adesione of each pair), revenue per
 * year (charges issued and paid), overdue charges (issued and past due), adesioni ending in the
 * next 60 days and the fill rate of the training sessions.
 *
 * Ten years of a full catalogue (84 comuni × 22 services, 16 600 adesioni, 16 500 charges) take
 * 45–200 ms to aggregate on the shared 2-core machine (bench/catalogue-dashboard.bench.ts), far
 * more than the page's goal allows per request (p99 < 100 ms), so the result is kept
 * per connection and recomputed only when it may have changed: a new Italian day (overdue and
 * expiring depend on it), a write by this connection to one of the tables it reads (counted by
 * TEMP triggers: connection-local, not part of the schema, one `UPDATE` of a one-row TEMP table
 * per write) or a commit by any other connection (`PRAGMA data_version`). On PostgreSQL the
 * figures are computed for every request (see dashboardData).
 */
import type Database from 'better-sqlite3';
import { and, asc, count, desc, eq, gte, inArray, lt, lte, max, ne, sql, sum } from 'drizzle-orm';
import { rawClient, readSnapshot, type DbLike } from '../../db/client.js';
import { dialectOf } from '../../db/raw.js';
import { enti } from '../enti/schema.js';
import { addDays, daysBetween } from './adesione-states.js';
import { adesioni, catalogueCharges, catalogueServices, trainingEnrollments, trainingSessions, type AdesioneStatus } from './schema.js';

/** Days ahead in which an ending adesione is listed as expiring. */
export const EXPIRING_WITHIN_DAYS = 60;
/** Enti listed in the overdue table (the CSV export has them all). */
export const OVERDUE_TOP = 10;

export interface MatrixService {
  id: number;
  code: string;
  name: string;
  /** Adesioni in force (active, expiring, suspended) of this service. */
  inForce: number;
}

export interface MatrixRow {
  enteId: number;
  enteName: string;
  member: boolean;
  /** One per service, in the order of `services`: the status of the latest adesione, null = none. */
  cells: (AdesioneStatus | null)[];
  inForce: number;
}

export interface RevenueYear {
  year: number;
  issuedCount: number;
  issuedCents: number;
  paidCount: number;
  paidCents: number;
}

export interface OverdueEnte {
  enteId: number;
  enteName: string;
  count: number;
  cents: number;
}

export interface ExpiringAdesione {
  id: number;
  enteId: number;
  enteName: string;
  serviceCode: string;
  serviceName: string;
  status: AdesioneStatus;
  endDate: string;
  autoRenew: boolean;
  daysLeft: number;
}

export interface TrainingFill {
  id: number;
  title: string;
  startsAt: string;
  status: string;
  seats: number;
  /** Seats taken: confirmed (and, after the day, attended or absent). */
  taken: number;
  waitlisted: number;
  /** taken / seats in percent, one decimal. */
  fillPercent: number;
}

export interface DashboardData {
  today: string;
  services: MatrixService[];
  matrix: MatrixRow[];
  /** Count of the matrix's cells by status (latest adesione of each pair). */
  statusCounts: Partial<Record<AdesioneStatus, number>>;
  inForceTotal: number;
  comuniWithAdesioni: number;
  revenue: RevenueYear[];
  overdue: { count: number; cents: number; enti: OverdueEnte[] };
  expiring: ExpiringAdesione[];
  training: TrainingFill[];
}

/** Statuses of an adesione that is in force (the service is delivered or only suspended). */
export const IN_FORCE: readonly AdesioneStatus[] = ['active', 'expiring', 'suspended'];
/** Enrolment statuses that hold a seat. */
const SEAT_TAKEN = ['confirmed', 'attended', 'no_show'] as const;


/** Comuni × services: the status of the latest (highest id) non-draft adesione of each pair. */
async function readMatrix(db: DbLike): Promise<{ services: MatrixService[]; matrix: MatrixRow[] }> {
  const services = await db
      .select({ id: catalogueServices.id, code: catalogueServices.code, name: catalogueServices.name })
      .from(catalogueServices)
      .orderBy(asc(catalogueServices.sortOrder), asc(catalogueServices.id));
  const comuni = await db.select({ id: enti.id, name: enti.name, member: enti.member }).from(enti).where(eq(enti.kind, 'comune')).orderBy(asc(enti.name));
  // SQLite's bare-column rule: with max(id), `status` comes from the row holding the maximum.
  // PostgreSQL has no such rule: the rows whose id is the maximum of their pair.
  const latest =
    dialectOf(db) === 'postgres'
      ? await db
          .select({ enteId: adesioni.enteId, serviceId: adesioni.serviceId, status: adesioni.status, id: adesioni.id })
          .from(adesioni)
          .where(inArray(adesioni.id, db.select({ id: max(adesioni.id) }).from(adesioni).where(ne(adesioni.status, 'draft')).groupBy(adesioni.enteId, adesioni.serviceId)))
      : await db
          .select({ enteId: adesioni.enteId, serviceId: adesioni.serviceId, status: adesioni.status, id: max(adesioni.id) })
          .from(adesioni)
          .where(ne(adesioni.status, 'draft'))
          .groupBy(adesioni.enteId, adesioni.serviceId);
  const col = new Map(services.map((s, i) => [s.id, i]));
  const row = new Map<number, MatrixRow>(comuni.map((c) => [c.id, { enteId: c.id, enteName: c.name, member: c.member, cells: services.map(() => null), inForce: 0 }]));
  const inForce = services.map(() => 0);
  for (const l of latest) {
    const r = row.get(l.enteId);
    const i = col.get(l.serviceId);
    if (!r || i === undefined) continue;
    r.cells[i] = l.status;
    if (IN_FORCE.includes(l.status)) {
      r.inForce++;
      inForce[i]!++;
    }
  }
  return { services: services.map((s, i) => ({ ...s, inForce: inForce[i]! })), matrix: [...row.values()] };
}

/** Charges issued per year (of issue, not cancelled) and paid per year (of payment), in cents. */
async function readRevenue(db: DbLike): Promise<RevenueYear[]> {
  // One pass over the charges, grouped by (year of issue, year of payment, status): a few dozen
  // groups, folded here into issued and paid per year (two GROUP BYs took twice the time).
  // Italian year: at the turn of the year Italy is always UTC+1 (no summer time), so one hour added
  // to the UTC instant gives the Italian calendar year exactly.
  const pg = dialectOf(db) === 'postgres';
  const issuedYear = pg
    ? sql<string>`to_char((${catalogueCharges.createdAt}::timestamptz + interval '1 hour') at time zone 'UTC', 'YYYY')`
    : sql<string>`strftime('%Y', ${catalogueCharges.createdAt}, '+1 hour')`;
  const paidYear = pg
    ? sql<string | null>`to_char((${catalogueCharges.paidAt}::timestamptz + interval '1 hour') at time zone 'UTC', 'YYYY')`
    : sql<string | null>`strftime('%Y', ${catalogueCharges.paidAt}, '+1 hour')`;
  const groups = await db
      .select({ issuedYear, paidYear, status: catalogueCharges.status, n: count(), cents: sum(catalogueCharges.amountCents).mapWith(Number) })
      .from(catalogueCharges)
      .groupBy(issuedYear, paidYear, catalogueCharges.status);
  const years = new Map<number, RevenueYear>();
  const at = (y: string) => {
    const year = Number(y);
    let r = years.get(year);
    if (!r) years.set(year, (r = { year, issuedCount: 0, issuedCents: 0, paidCount: 0, paidCents: 0 }));
    return r;
  };
  for (const g of groups) {
    if (g.status === 'cancelled') continue;
    const i = at(g.issuedYear);
    i.issuedCount += g.n;
    i.issuedCents += g.cents;
    if (g.status === 'paid' && g.paidYear) {
      const p = at(g.paidYear);
      p.paidCount += g.n;
      p.paidCents += g.cents;
    }
  }
  return [...years.values()].sort((a, b) => a.year - b.year);
}

/** Charges issued and past due on `today` (YYYY-MM-DD): totals and the enti owing most (all when `top` is null). */
async function readOverdue(db: DbLike, today: string, top: number | null): Promise<DashboardData['overdue']> {
  const overdue = and(eq(catalogueCharges.status, 'issued'), lt(catalogueCharges.dueDate, today));
  const total = (await db.select({ n: count(), cents: sum(catalogueCharges.amountCents).mapWith(Number) }).from(catalogueCharges).where(overdue).limit(1))[0];
  const cents = sum(catalogueCharges.amountCents).mapWith(Number);
  const q = db
    .select({ enteId: catalogueCharges.enteId, enteName: enti.name, count: count(), cents })
    .from(catalogueCharges)
    .innerJoin(enti, eq(enti.id, catalogueCharges.enteId))
    .where(overdue)
    // PostgreSQL wants the ente's name grouped too (one per ente).
    .groupBy(catalogueCharges.enteId, ...(dialectOf(db) === 'postgres' ? [enti.name] : []))
    .orderBy(desc(cents), asc(enti.name));
  const rows = top === null ? await q : await q.limit(top);
  return { count: total?.n ?? 0, cents: total?.cents ?? 0, enti: rows };
}

/** Adesioni in force whose period ends between `today` and `today` + 60 days, soonest first. */
async function readExpiring(db: DbLike, today: string, withinDays: number): Promise<ExpiringAdesione[]> {
  const rows = await db
      .select({
        id: adesioni.id,
        enteId: adesioni.enteId,
        enteName: enti.name,
        serviceCode: catalogueServices.code,
        serviceName: catalogueServices.name,
        status: adesioni.status,
        endDate: adesioni.endDate,
        autoRenew: adesioni.autoRenew,
      })
      .from(adesioni)
      .innerJoin(enti, eq(enti.id, adesioni.enteId))
      .innerJoin(catalogueServices, eq(catalogueServices.id, adesioni.serviceId))
      .where(and(inArray(adesioni.status, ['active', 'expiring']), gte(adesioni.endDate, today), lte(adesioni.endDate, addDays(today, withinDays))))
      .orderBy(asc(adesioni.endDate), asc(enti.name), asc(catalogueServices.sortOrder));
  return rows.map((r) => ({ ...r, endDate: r.endDate!, daysLeft: daysBetween(today, r.endDate!) }));
}

/** Fill rate of the sessions not cancelled that start from a year before `today` on, by start. */
async function readTraining(db: DbLike, today: string): Promise<TrainingFill[]> {
  const taken = sql<number>`coalesce(sum(CASE WHEN ${inArray(trainingEnrollments.status, [...SEAT_TAKEN])} THEN 1 ELSE 0 END), 0)`.mapWith(Number);
  const waitlisted = sql<number>`coalesce(sum(CASE WHEN ${eq(trainingEnrollments.status, 'waitlisted')} THEN 1 ELSE 0 END), 0)`.mapWith(Number);
  const rows = await db
      .select({ id: trainingSessions.id, title: trainingSessions.title, startsAt: trainingSessions.startsAt, status: trainingSessions.status, seats: trainingSessions.seats, taken, waitlisted })
      .from(trainingSessions)
      .leftJoin(trainingEnrollments, eq(trainingEnrollments.sessionId, trainingSessions.id))
      .where(and(ne(trainingSessions.status, 'cancelled'), gte(trainingSessions.startsAt, addDays(today, -365))))
      .groupBy(trainingSessions.id)
      .orderBy(asc(trainingSessions.startsAt));
  return rows.map((r) => ({ ...r, fillPercent: r.seats > 0 ? Math.round((r.taken / r.seats) * 1000) / 10 : 0 }));
}

export async function adesioniMatrix(db: DbLike): Promise<{ services: MatrixService[]; matrix: MatrixRow[] }> {
  return await readSnapshot(db, async () => await readMatrix(db));
}
export async function revenuePerYear(db: DbLike): Promise<RevenueYear[]> {
  return await readRevenue(db);
}
export async function overdueCharges(db: DbLike, today: string, top: number | null = OVERDUE_TOP): Promise<DashboardData['overdue']> {
  return await readSnapshot(db, async () => await readOverdue(db, today, top));
}
export async function expiringAdesioni(db: DbLike, today: string, withinDays = EXPIRING_WITHIN_DAYS): Promise<ExpiringAdesione[]> {
  return await readExpiring(db, today, withinDays);
}
export async function trainingFill(db: DbLike, today: string): Promise<TrainingFill[]> {
  return await readTraining(db, today);
}

/** Every figure of the dashboard, read in one snapshot (no cache: see {@link dashboardData}). */
export async function computeDashboard(db: DbLike, today: string): Promise<DashboardData> {
  return await readSnapshot(db, async () => {
      const m = await readMatrix(db);
      const statusCounts: DashboardData['statusCounts'] = {};
      for (const r of m.matrix) for (const c of r.cells) if (c) statusCounts[c] = (statusCounts[c] ?? 0) + 1;
      return {
        today,
        ...m,
        statusCounts,
        inForceTotal: m.services.reduce((n, s) => n + s.inForce, 0),
        comuniWithAdesioni: m.matrix.filter((r) => r.inForce > 0).length,
        revenue: await readRevenue(db),
        overdue: await readOverdue(db, today, OVERDUE_TOP),
        expiring: await readExpiring(db, today, EXPIRING_WITHIN_DAYS),
        training: await readTraining(db, today),
      };
    });
}

// ---------------------------------------------------------------- cache

/** Tables whose writes change the dashboard. */
const WATCHED = ['adesioni', 'catalogue_charges', 'catalogue_services', 'enti', 'training_sessions', 'training_enrollments'] as const;
const GENERATION_TABLE = 'sael_dashboard_generation';

interface CacheState {
  generation: Database.Statement;
  key: string;
  data: Promise<DashboardData> | null;
}
const caches = new WeakMap<Database.Database, CacheState>();

/** Installs (once per connection) the TEMP table and triggers that count writes to the watched tables. */
async function cacheState(client: Database.Database): Promise<CacheState> {
  let state = caches.get(client);
  if (state) return state;
  client.exec(`CREATE TEMP TABLE IF NOT EXISTS ${GENERATION_TABLE} (n INTEGER NOT NULL)`);
  client.exec(`INSERT INTO temp.${GENERATION_TABLE} (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM temp.${GENERATION_TABLE})`);
  for (const table of WATCHED) {
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      client.exec(`CREATE TEMP TRIGGER IF NOT EXISTS sael_dashboard_${table}_${op.toLowerCase()} AFTER ${op} ON main.${table} BEGIN UPDATE ${GENERATION_TABLE} SET n = n + 1; END`);
    }
  }
  state = { generation: client.prepare(`SELECT n, (SELECT data_version FROM pragma_data_version) AS v FROM temp.${GENERATION_TABLE}`), key: '', data: null };
  caches.set(client, state);
  return state;
}

/**
 * The dashboard's figures for `today`, from the connection's cache when nothing they read has
 * changed since they were computed (see the module comment).
 */
export async function dashboardData(db: DbLike, today: string): Promise<DashboardData> {
  // PostgreSQL: several processes write, and no counter moves with every write to the watched
  // tables (updates change no count nor id; a trigger-kept counter would need a migration), so the
  // figures are computed for each request (correct across processes; see docs/architecture.md).
  if (dialectOf(db) === 'postgres') return computeDashboard(db, today);
  const state = await cacheState(rawClient(db));
  const g = state.generation.get() as { n: number; v: number };
  const key = `${today}|${g.n}|${g.v}`;
  if (state.key !== key || !state.data) {
    state.key = key;
    state.data = computeDashboard(db, today);
    state.data.catch(() => {
      if (state.key === key) state.data = null;
    });
  }
  return state.data;
}
