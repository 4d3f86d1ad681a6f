/**
 * Reading adesioni: one adesione with its service and ente, an ente's list, the SAEL office's
 * filtered and paged list, the timeline of events, and who is mailed about an adesione. Every
 * read that an ente user reaches takes the ente id (IDOR: another ente's adesione is "not found").
 */
import { and, asc, count, desc, eq, inArray, isNotNull, ne, type SQL } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import type { Config } from '../../config.js';
import { enti } from '../enti/schema.js';
import { roleGrants, users } from '../users/schema.js';
import { OPEN_STATUSES } from './adesione-states.js';
import { adesioneEvents, adesioni, catalogueServices, type AdesioneStatus, type BillingKind } from './schema.js';

export type Adesione = typeof adesioni.$inferSelect;
export type AdesioneEvent = typeof adesioneEvents.$inferSelect;

export interface AdesioneView extends Adesione {
  serviceCode: string;
  serviceName: string;
  billing: BillingKind;
  unitLabel: string | null;
  periodMonths: number;
  requiresApproval: boolean;
  requiresConvenzione: boolean;
  enteName: string;
  enteFiscalCode: string;
}

/** The modulo's fields kept in `request_data` (JSON). */
export interface AdesioneRequestData {
  referenteName: string;
  referenteRole: string;
  email: string;
  phone: string;
  notes: string;
}

export function parseRequestData(json: string): AdesioneRequestData {
  let v: Partial<AdesioneRequestData> = {};
  try {
    v = JSON.parse(json) as Partial<AdesioneRequestData>;
  } catch {
    v = {};
  }
  const s = (x: unknown) => (typeof x === 'string' ? x : '');
  return { referenteName: s(v.referenteName), referenteRole: s(v.referenteRole), email: s(v.email), phone: s(v.phone), notes: s(v.notes) };
}

const viewColumns = {
  a: adesioni,
  serviceCode: catalogueServices.code,
  serviceName: catalogueServices.name,
  billing: catalogueServices.billing,
  unitLabel: catalogueServices.unitLabel,
  periodMonths: catalogueServices.periodMonths,
  requiresApproval: catalogueServices.requiresApproval,
  requiresConvenzione: catalogueServices.requiresConvenzione,
  enteName: enti.name,
  enteFiscalCode: enti.fiscalCode,
};

type ViewRow = { a: Adesione } & Omit<AdesioneView, keyof Adesione>;
const flat = ({ a, ...rest }: ViewRow): AdesioneView => ({ ...a, ...rest });

function viewQuery(db: DbLike) {
  return db.select(viewColumns).from(adesioni).innerJoin(catalogueServices, eq(catalogueServices.id, adesioni.serviceId)).innerJoin(enti, eq(enti.id, adesioni.enteId));
}

/** Synchronous read (inside a transaction). */
export async function adesioneViewSync(db: DbLike, id: number): Promise<AdesioneView | undefined> {
  const row = (await viewQuery(db).where(eq(adesioni.id, id)).limit(1))[0];
  return row ? flat(row) : undefined;
}

export async function getAdesione(db: DbLike, id: number): Promise<AdesioneView | undefined> {
  return await adesioneViewSync(db, id);
}

/** The adesione only if it belongs to `enteId` (otherwise undefined: the page answers 404). */
export async function getAdesioneOfEnte(db: DbLike, enteId: number, id: number): Promise<AdesioneView | undefined> {
  const row = (await viewQuery(db).where(and(eq(adesioni.id, id), eq(adesioni.enteId, enteId))).limit(1))[0];
  return row ? flat(row) : undefined;
}

export async function listAdesioniOfEnte(db: DbLike, enteId: number): Promise<AdesioneView[]> {
  return (await viewQuery(db).where(eq(adesioni.enteId, enteId)).orderBy(asc(catalogueServices.sortOrder), desc(adesioni.id))).map(flat);
}

/** The ente's open adesione (not ended) to a service, if any. */
export async function openAdesioneFor(db: DbLike, enteId: number, serviceId: number): Promise<Adesione | undefined> {
  return await openAdesioneSync(db, enteId, serviceId);
}

export async function openAdesioneSync(db: DbLike, enteId: number, serviceId: number, exceptId?: number): Promise<Adesione | undefined> {
  const where = [eq(adesioni.enteId, enteId), eq(adesioni.serviceId, serviceId), inArray(adesioni.status, [...OPEN_STATUSES])];
  if (exceptId) where.push(ne(adesioni.id, exceptId));
  return (await db.select().from(adesioni).where(and(...where)).orderBy(desc(adesioni.id)).limit(1))[0];
}

export interface AdesioniFilter {
  status?: AdesioneStatus;
  serviceId?: number;
  enteId?: number;
}

export async function listAdesioni(db: DbLike, filter: AdesioniFilter, page: number, pageSize: number): Promise<{ rows: AdesioneView[]; total: number }> {
  const where: SQL[] = [];
  if (filter.status) where.push(eq(adesioni.status, filter.status));
  if (filter.serviceId) where.push(eq(adesioni.serviceId, filter.serviceId));
  if (filter.enteId) where.push(eq(adesioni.enteId, filter.enteId));
  const cond = where.length ? and(...where) : undefined;
  const total = (await db.select({ n: count() }).from(adesioni).where(cond).limit(1))[0]?.n ?? 0;
  const rows = (await viewQuery(db)
      .where(cond)
      .orderBy(desc(adesioni.updatedAt), desc(adesioni.id))
      .limit(pageSize)
      .offset((page - 1) * pageSize))
    .map(flat);
  return { rows, total };
}

export interface TimelineEntry extends AdesioneEvent {
  actorName: string | null;
}

export async function listAdesioneEvents(db: DbLike, adesioneId: number): Promise<TimelineEntry[]> {
  return (await db
      .select({ e: adesioneEvents, name: users.name, familyName: users.familyName })
      .from(adesioneEvents)
      .leftJoin(users, eq(users.id, adesioneEvents.actorUserId))
      .where(eq(adesioneEvents.adesioneId, adesioneId))
      .orderBy(asc(adesioneEvents.id)))
    .map((r) => ({ ...r.e, actorName: [r.name, r.familyName].filter(Boolean).join(' ') || null }));
}

/** The ente's referenti (ente_admin users with an e-mail). */
export async function enteAdminEmails(db: DbLike, enteId: number): Promise<string[]> {
  return (await db
      .selectDistinct({ email: users.email })
      .from(users)
      .innerJoin(roleGrants, eq(roleGrants.userId, users.id))
      .where(and(eq(roleGrants.role, 'ente_admin'), eq(roleGrants.enteId, enteId), isNotNull(users.email))))
    .flatMap((r) => (r.email ? [r.email] : []));
}

/** The SAEL office: sael_admin users with an e-mail, plus HELPDESK_NOTIFY_EMAIL. */
export async function saelEmails(db: DbLike, config: Config): Promise<string[]> {
  const admins = (await db
      .selectDistinct({ email: users.email })
      .from(users)
      .innerJoin(roleGrants, eq(roleGrants.userId, users.id))
      .where(and(eq(roleGrants.role, 'sael_admin'), isNotNull(users.email))))
    .flatMap((r) => (r.email ? [r.email] : []));
  return [...new Set([...admins, ...config.helpdesk.notifyEmails])];
}
