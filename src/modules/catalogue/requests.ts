/**
 * Requests under a catalogue service (seed items 4–20: hardware assistance, technical consulting,
 * albo pretorio, SUAP first-level support, …). An ente user whose ente has an ACTIVE adesione
 * (status active or expiring) to the service opens a request; it becomes a helpdesk ticket of
 * category 'catalogo' carrying the service id and the service's SLA (TTO/TTR business minutes),
 * and the unit it uses is written to service_usage in the same transaction (better-sqlite3 turns
 * createTicket's own transaction into a savepoint of ours), so a ticket never exists without its
 * usage row nor the other way round.
 *
 * Included units are counted per YEAR OF ADESIONE (start date + k years … the day before start +
 * k+1 years). Over the included units a request is still accepted — a comune whose PC is down
 * must not be turned away by a counter — but the user is warned before sending, the ticket gets a
 * public system message saying so, and the usage row is kept, so the extra units can be charged
 * per the listino (per-unit price) or discussed at renewal.
 */
import { and, asc, desc, eq, gte, inArray, isNotNull, lt, sum } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import { ticketMessages, tickets } from '../helpdesk/schema.js';
import { createTicket, slaOf, STATUS_LABELS, type AttachmentIn, type TicketRow, type TICKET_PRIORITIES } from '../helpdesk/tickets.js';
import type { CatalogueCtx } from './context.js';
import { adesioni, catalogueServices, serviceUsage } from './schema.js';
import { getServiceByCode, lines } from './services-repository.js';

/** Adesione states under which the ente may open requests. */
export const REQUEST_ADESIONE_STATUSES = ['active', 'expiring'] as const;

export type ServiceRow = typeof catalogueServices.$inferSelect;
export type AdesioneRow = typeof adesioni.$inferSelect;

/** The request kinds offered by a service (its `request_kinds`, one per line). */
export function requestKindsOf(service: Pick<ServiceRow, 'requestKinds'>): string[] {
  const kinds = lines(service.requestKinds);
  return kinds.length ? kinds : ['Richiesta generica'];
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function addYears(day: string, years: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  // 29 February + 1 year → 1 March (Date rolls over), the usual reading of "one year later".
  return isoDay(new Date(Date.UTC(y + years, m - 1, d)));
}

/**
 * The year of adesione containing `on` (pure): [from, to) where from = start + k years. Without a
 * start date (legacy rows) the calendar year.
 */
export function adesioneYear(startDate: string | null, on: string): { from: string; to: string } {
  if (!startDate) return { from: `${on.slice(0, 4)}-01-01`, to: `${Number(on.slice(0, 4)) + 1}-01-01` };
  let k = Number(on.slice(0, 4)) - Number(startDate.slice(0, 4));
  if (addYears(startDate, k) > on) k--;
  k = Math.max(0, k);
  return { from: addYears(startDate, k), to: addYears(startDate, k + 1) };
}

export interface UnitsView {
  used: number;
  /** Null when the service does not count units. */
  included: number | null;
  over: boolean;
  /** Would one more request go over the included units? */
  nextIsOver: boolean;
  from: string;
  /** Exclusive end of the year of adesione, and its last day. */
  to: string;
  last: string;
}

/** Units included per year: the adesione's quantity times the service's included units. */
export function includedUnits(service: Pick<ServiceRow, 'includedUnits'>, adesione: Pick<AdesioneRow, 'quantity'>): number | null {
  return service.includedUnits === null ? null : service.includedUnits * Math.max(1, adesione.quantity);
}

export function unitsView(used: number, included: number | null, year: { from: string; to: string }): UnitsView {
  return { used, included, over: included !== null && used > included, nextIsOver: included !== null && used + 1 > included, ...year, last: addDays(year.to, -1) };
}

/** The service a request may be opened under: an offered (active) one. */
export async function getActiveService(db: Db, code: string): Promise<ServiceRow | null> {
  const s = await getServiceByCode(db, code);
  return s?.active ? s : null;
}

/**
 * The ente's active adesione to the service (active or expiring), or null. Only this ente's rows:
 * another ente's adesione never counts.
 */
export async function activeAdesione(db: Db, enteId: number, serviceId: number): Promise<AdesioneRow | null> {
  return (
    (await (await db
            .select()
            .from(adesioni)
            .where(and(eq(adesioni.enteId, enteId), eq(adesioni.serviceId, serviceId), inArray(adesioni.status, [...REQUEST_ADESIONE_STATUSES])))
            .orderBy(desc(adesioni.startDate), desc(adesioni.id)).limit(1))[0]) ?? null
  );
}

async function usedUnitsSync(db: Db, adesioneId: number, year: { from: string; to: string }): Promise<number> {
  const row = (await db
      .select({ n: sum(serviceUsage.units) })
      .from(serviceUsage)
      .where(and(eq(serviceUsage.adesioneId, adesioneId), gte(serviceUsage.usedOn, year.from), lt(serviceUsage.usedOn, year.to))).limit(1))[0];
  return Number(row?.n ?? 0);
}

/** Units used under the adesione in its current year of adesione, against the included ones. */
export async function unitsFor(db: Db, service: ServiceRow, adesione: AdesioneRow, now: Date): Promise<UnitsView> {
  const year = adesioneYear(adesione.startDate, isoDay(now));
  return unitsView(await usedUnitsSync(db, adesione.id, year), includedUnits(service, adesione), year);
}

export interface NewRequest {
  enteId: number;
  service: ServiceRow;
  adesione: AdesioneRow;
  kind: string;
  subject: string;
  description: string;
  priority: keyof typeof TICKET_PRIORITIES;
  attachment?: AttachmentIn | null;
}

export interface OpenedRequest {
  ticketId: number;
  units: UnitsView;
}

/**
 * Opens the request: ticket (category 'catalogo', the service and its SLA) + usage row + over-quota
 * note, one IMMEDIATE transaction (the count is read under the write lock: two concurrent requests
 * cannot both see the last free unit). The adesione is re-checked inside it.
 */
export async function openRequest(ctx: CatalogueCtx, input: NewRequest, actor: { userId: number; requestId?: string }): Promise<OpenedRequest> {
  const now = ctx.now();
  const today = isoDay(now);
  const tctx = ctx.tickets();
  const db = ctx.db;
  return await ctx.db.transaction(
      async () => {
        const a = (await db.select().from(adesioni).where(eq(adesioni.id, input.adesione.id)).limit(1))[0];
        if (!a || a.enteId !== input.enteId || a.serviceId !== input.service.id || !(REQUEST_ADESIONE_STATUSES as readonly string[]).includes(a.status)) {
          throw new RequestError('L’adesione al servizio non è più attiva: la richiesta non è stata aperta.', 409);
        }
        const year = adesioneYear(a.startDate, today);
        const usedBefore = await usedUnitsSync(db, a.id, year);
        const units = unitsView(usedBefore + 1, includedUnits(input.service, a), year);
        const ticketId = await createTicket(
                  tctx,
                  {
                    enteId: input.enteId,
                    subject: `${input.kind}: ${input.subject}`.slice(0, 150),
                    category: 'catalogo',
                    type: 'richiesta',
                    priority: input.priority,
                    body: `Servizio: ${input.service.code}) ${input.service.name}\nTipo di richiesta: ${input.kind}\n\n${input.description}`,
                    serviceId: input.service.id,
                    sla: { tto: input.service.slaTtoMinutes, ttr: input.service.slaTtrMinutes },
                    attachment: input.attachment ?? null,
                  },
                  { userId: actor.userId, isStaff: false, requestId: actor.requestId },
                  now,
                );
        await db.insert(serviceUsage).values({ adesioneId: a.id, enteId: input.enteId, ticketId, requestKind: input.kind, units: 1, usedOn: today, createdBy: actor.userId });
        if (units.over) {
          await db.insert(ticketMessages)
                      .values({
                        ticketId,
                        authorKind: 'system',
                        visibility: 'public',
                        body: `Richiesta oltre le unità incluse nell’adesione: usate ${units.used} di ${units.included} nell’anno di adesione dal ${itDate(year.from)} al ${itDate(addDays(year.to, -1))}. L’intervento può essere addebitato a consumo secondo il listino in vigore.`,
                        createdAt: now.toISOString(),
                      });
        }
        await recordAudit(db, {
                    actor: `user:${actor.userId}`,
                    action: 'catalogue.request',
                    entity: 'adesione',
                    entityId: a.id,
                    enteId: input.enteId,
                    after: { ticketId, serviceCode: input.service.code, kind: input.kind, used: units.used, included: units.included, over: units.over },
                    requestId: actor.requestId,
                  });
        return { ticketId, units };
      },
      { behavior: 'immediate' },
    );
}

export class RequestError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return isoDay(d);
}

function itDate(day: string): string {
  return `${day.slice(8, 10)}/${day.slice(5, 7)}/${day.slice(0, 4)}`;
}

export interface EnteRequestRow {
  ticketId: number;
  subject: string;
  serviceCode: string;
  serviceName: string;
  requestKind: string | null;
  status: string;
  statusLabel: string;
  createdAt: string;
  ttoTarget: number;
  ttrTarget: number;
  ttrPercent: number;
  breached: boolean;
  paused: boolean;
  ttrDue: string | null;
}

/** The ente's catalogue requests (tickets with a service), newest first, with their SLA state. */
export async function listEnteRequests(ctx: CatalogueCtx, enteId: number, limit = 200): Promise<EnteRequestRow[]> {
  const rows = await await ctx.db
      .select({ t: tickets, serviceCode: catalogueServices.code, serviceName: catalogueServices.name, requestKind: serviceUsage.requestKind })
      .from(tickets)
      .innerJoin(catalogueServices, eq(catalogueServices.id, tickets.serviceId))
      .leftJoin(serviceUsage, eq(serviceUsage.ticketId, tickets.id))
      .where(and(eq(tickets.enteId, enteId), isNotNull(tickets.serviceId)))
      .orderBy(desc(tickets.id))
      .limit(limit);
  const cal = ctx.tickets().cal;
  const now = ctx.now();
  return rows.map((r) => {
    const t = r.t;
    const raw = {
      created_at: t.createdAt,
      owned_at: t.ownedAt,
      clock_from: t.clockFrom,
      sla_used_minutes: t.slaUsedMinutes,
      tto_target_minutes: t.ttoTargetMinutes,
      ttr_target_minutes: t.ttrTargetMinutes,
      tto_breached: t.ttoBreached ? 1 : 0,
      ttr_breached: t.ttrBreached ? 1 : 0,
      status: t.status,
    } as unknown as TicketRow;
    const sla = slaOf(raw, cal, now);
    return {
      ticketId: t.id,
      subject: t.subject,
      serviceCode: r.serviceCode,
      serviceName: r.serviceName,
      requestKind: r.requestKind,
      status: t.status,
      statusLabel: STATUS_LABELS[t.status],
      createdAt: t.createdAt,
      ttoTarget: t.ttoTargetMinutes,
      ttrTarget: t.ttrTargetMinutes,
      ttrPercent: sla.ttrPercent,
      breached: t.status !== 'closed' && t.status !== 'resolved' ? sla.ttoBreached || sla.ttrBreached : Boolean(t.ttoBreached || t.ttrBreached),
      paused: sla.paused,
      ttrDue: sla.ttrDue,
    };
  });
}

export interface UsageSummaryRow {
  adesioneId: number;
  serviceCode: string;
  serviceName: string;
  status: string;
  units: UnitsView;
}

/** Units used / included for each of the ente's active adesioni. */
export async function enteUsageSummary(ctx: CatalogueCtx, enteId: number): Promise<UsageSummaryRow[]> {
  const rows = await await ctx.db
      .select({ a: adesioni, s: catalogueServices })
      .from(adesioni)
      .innerJoin(catalogueServices, eq(catalogueServices.id, adesioni.serviceId))
      .where(and(eq(adesioni.enteId, enteId), inArray(adesioni.status, [...REQUEST_ADESIONE_STATUSES])))
      .orderBy(asc(catalogueServices.sortOrder), asc(catalogueServices.id));
  const out: UsageSummaryRow[] = [];
  for (const r of rows) out.push({ adesioneId: r.a.id, serviceCode: r.s.code, serviceName: r.s.name, status: r.a.status, units: await unitsFor(ctx.db, r.s, r.a, ctx.now()) });
  return out;
}

export async function enteName(db: Db, enteId: number): Promise<string | null> {
  return (await (await db.select({ name: enti.name }).from(enti).where(eq(enti.id, enteId)).limit(1))[0])?.name ?? null;
}

/** Minutes as "N ore lavorative" / "N minuti" for the SLA columns. */
export function minutesLabel(m: number): string {
  if (m % 60 === 0) return m === 60 ? '1 ora lavorativa' : `${m / 60} ore lavorative`;
  return `${m} minuti lavorativi`;
}
