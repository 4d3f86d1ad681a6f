/**
 * What the GPD face asks of the positions that /api/v1 does not: its list (GPD's filters, order
 * and 0-based pages), the massive IBAN change of the transfers still to be paid, and the payment
 * service a position belongs to (GPD has none: its transfer category picks it).
 */
import { and, asc, count, desc, eq, gt, gte, inArray, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { preparedQuery, type Db } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import type { Actor } from '../users/repository.js';
import { paymentServices } from '../enti/schema.js';
import type { Ente, PaymentService } from '../enti/repository.js';
import { enqueueAcaSync } from '../positions/aca-outbox.js';
import { loadDetails, type PositionDetail } from '../positions/repository.js';
import { paymentOptions, positions, transfers, type PositionStatus } from '../positions/schema.js';
import { STATUS_FILTER, type GpdStatus } from './mapping.js';

/** The ente's active payment service with this taxonomy code (the oldest when several share it). */
export async function serviceForCategory(db: Db, enteId: number, category: string): Promise<PaymentService | undefined> {
  // A cached prepared query on SQLite (every create asks); built per call on PostgreSQL (db/client.ts).
  return await preparedQuery(db, 'gpd:service-for-category', (d) =>
    d
      .select()
      .from(paymentServices)
      .where(and(eq(paymentServices.enteId, sql.placeholder('enteId')), eq(paymentServices.taxonomyCode, sql.placeholder('category')), eq(paymentServices.active, true)))
      .orderBy(asc(paymentServices.id))
      .limit(1)
      .prepare(),
  ).get({ enteId, category });
}

export interface GpdListFilter {
  enteId: number;
  /** Italian date of today (PUBLISHED vs VALID). */
  today: string;
  status?: GpdStatus;
  dueFrom?: string;
  dueTo?: string;
  /** Payment dates (ISO dates, inclusive). */
  paidFrom?: string;
  paidTo?: string;
  orderBy: 'INSERTED_DATE' | 'IUPD' | 'STATUS' | 'COMPANY_NAME';
  ordering: 'ASC' | 'DESC';
  /** 0-based. */
  page: number;
  limit: number;
}

/** The day after an ISO date (an inclusive upper bound on timestamps). */
function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** One page of the ente's positions by GPD's filters, with the total count. */
export async function listGpdPositions(db: Db, f: GpdListFilter): Promise<{ items: PositionDetail[]; total: number }> {
  const conditions: (SQL | undefined)[] = [eq(positions.enteId, f.enteId)];
  if (f.status) {
    const status: PositionStatus | null = STATUS_FILTER[f.status];
    if (status === null) return { items: [], total: 0 };
    conditions.push(eq(positions.status, status));
    if (f.status === 'PUBLISHED') conditions.push(gt(positions.validityDate, f.today));
    if (f.status === 'VALID') conditions.push(or(isNull(positions.validityDate), lte(positions.validityDate, f.today)));
  }
  const optionConds: SQL[] = [];
  if (f.dueFrom) optionConds.push(gte(paymentOptions.dueDate, f.dueFrom));
  if (f.dueTo) optionConds.push(lte(paymentOptions.dueDate, f.dueTo));
  if (f.paidFrom) optionConds.push(gte(paymentOptions.paidAt, f.paidFrom));
  if (f.paidTo) optionConds.push(lt(paymentOptions.paidAt, nextDay(f.paidTo)));
  if (optionConds.length) {
    conditions.push(
      sql`${positions.id} IN (SELECT ${paymentOptions.positionId} FROM ${paymentOptions} WHERE ${and(eq(paymentOptions.enteId, f.enteId), ...optionConds)})`,
    );
  }
  const where = and(...conditions);
  const total = (await db.select({ n: count() }).from(positions).where(where).limit(1))[0]!.n;
  const dir = f.ordering === 'ASC' ? asc : desc;
  // Every position of an ente carries the ente's name: COMPANY_NAME orders by insertion.
  const key = f.orderBy === 'IUPD' ? positions.iupd : f.orderBy === 'STATUS' ? positions.status : positions.id;
  const rows = await db
      .select()
      .from(positions)
      .where(where)
      .orderBy(dir(key), dir(positions.id))
      .limit(f.limit)
      .offset(f.page * f.limit);
  return { items: await loadDetails(db, rows), total };
}

/** Position states whose unpaid options may still change (as updatePosition allows). */
const UPDATABLE: PositionStatus[] = ['draft', 'published', 'partially_paid'];

/**
 * Moves up to `limit` transfers to the ente itself from `oldIban` to `newIban`, on the unpaid
 * options of positions that may still change; each position touched gets a new version, an audit
 * row and, when published, a new ACA sync. Returns how many transfers changed.
 */
export async function replaceTransferIban(db: Db, ente: Ente, oldIban: string, newIban: string, limit: number, by: Actor): Promise<number> {
  return await db.transaction(
      async (tx) => {
        const rows = await tx
                .select({ id: transfers.id, positionId: paymentOptions.positionId })
                .from(transfers)
                .innerJoin(paymentOptions, eq(paymentOptions.id, transfers.optionId))
                .innerJoin(positions, eq(positions.id, paymentOptions.positionId))
                .where(
                  and(
                    eq(paymentOptions.enteId, ente.id),
                    eq(paymentOptions.status, 'unpaid'),
                    inArray(positions.status, UPDATABLE),
                    eq(transfers.fiscalCodePA, ente.fiscalCode),
                    eq(transfers.iban, oldIban),
                  ),
                )
                .orderBy(asc(transfers.id))
                .limit(limit);
        if (rows.length === 0) return 0;
        const now = new Date().toISOString();
        for (let i = 0; i < rows.length; i += 500) {
          await tx.update(transfers).set({ iban: newIban }).where(inArray(transfers.id, rows.slice(i, i + 500).map((r) => r.id)));
        }
        const positionIds = [...new Set(rows.map((r) => r.positionId))];
        for (let i = 0; i < positionIds.length; i += 500) {
          const ids = positionIds.slice(i, i + 500);
          await tx.update(positions).set({ version: sql`${positions.version} + 1`, updatedAt: now }).where(inArray(positions.id, ids));
          for (const p of await loadDetails(tx, await tx.select().from(positions).where(inArray(positions.id, ids)))) {
            await recordAudit(tx, { ...by, action: 'transfers-iban', entity: 'position', entityId: p.id, enteId: ente.id, after: { oldIban, newIban, version: p.version } });
            await enqueueAcaSync(tx, p);
          }
        }
        return rows.length;
      },
      { behavior: 'immediate' },
    );
}
