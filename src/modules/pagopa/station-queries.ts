/**
 * The station's read path with drizzle prepared statements (built once per database handle):
 * paVerifyPaymentNotice / paGetPayment are the hot path of the node (EC SLA 98% ≤ 2 s; benchmark
 * bench/pa-verify.bench.ts), and building + preparing the SQL on every call cost more than the
 * lookup itself. Same results as positions/repository.ts findByNoticeNumber and payment-xml.ts.
 */
import { and, asc, eq, getTableColumns, sql } from 'drizzle-orm';
import { rawClient, type Db, type DbLike } from '../../db/client.js';
import { enteIbans, enti, paymentServices } from '../enti/schema.js';
import type { Ente } from '../enti/repository.js';
import type { OptionDetail, PositionDetail } from '../positions/repository.js';
import { paymentOptions, positions, transfers } from '../positions/schema.js';

function build(db: Db) {
  const ph = (n: string) => sql.placeholder(n);
  return {
    servedEnte: db.select().from(enti).where(and(eq(enti.fiscalCode, ph('cf')), eq(enti.member, true))).prepare(),
    optionByNotice: db.select({ positionId: paymentOptions.positionId }).from(paymentOptions).where(and(eq(paymentOptions.enteId, ph('enteId')), eq(paymentOptions.noticeNumber, ph('notice')))).prepare(),
    position: db.select().from(positions).where(eq(positions.id, ph('id'))).prepare(),
    options: db.select().from(paymentOptions).where(eq(paymentOptions.positionId, ph('id'))).orderBy(asc(paymentOptions.position)).prepare(),
    transfers: db
      .select(getTableColumns(transfers))
      .from(transfers)
      .innerJoin(paymentOptions, eq(paymentOptions.id, transfers.optionId))
      .where(eq(paymentOptions.positionId, ph('id')))
      .orderBy(asc(transfers.optionId), asc(transfers.idTransfer))
      .prepare(),
    enteByCf: db.select({ id: enti.id, name: enti.name, cf: enti.fiscalCode }).from(enti).where(eq(enti.fiscalCode, ph('cf'))).prepare(),
    postalIban: db.select({ iban: enteIbans.iban }).from(enteIbans).where(and(eq(enteIbans.enteId, ph('id')), eq(enteIbans.kind, 'postal'), eq(enteIbans.active, true))).prepare(),
    serviceName: db.select({ name: paymentServices.name }).from(paymentServices).where(eq(paymentServices.id, ph('id'))).prepare(),
  };
}

type Queries = ReturnType<typeof build>;
/** Per SQLite connection: the prepared statements also work inside a transaction of that connection. */
const cache = new WeakMap<object, Queries>();

/**
 * Prepared queries for this handle or transaction. A transaction finds the queries of its
 * connection once the database handle has built them (undefined before: callers fall back).
 */
export function stationQueries(db: DbLike): Queries | undefined {
  const client = rawClient(db);
  let q = cache.get(client);
  if (!q && '$client' in (db as object)) cache.set(client, (q = build(db as Db)));
  return q;
}

export function servedEnteFast(q: Queries, fiscalCode: string): Ente | undefined {
  return q.servedEnte.get({ cf: fiscalCode });
}

/** The option with this notice number at this ente, with its whole position (as findByNoticeNumber). */
export function findForStation(q: Queries, enteId: number, noticeNumber: string): { position: PositionDetail; option: OptionDetail } | undefined {
  const hit = q.optionByNotice.get({ enteId, notice: noticeNumber });
  if (!hit) return undefined;
  const row = q.position.get({ id: hit.positionId });
  if (!row) return undefined;
  const byOption = new Map<number, OptionDetail['transfers']>();
  for (const t of q.transfers.all({ id: row.id })) {
    const list = byOption.get(t.optionId) ?? [];
    list.push({ ...t, metadata: JSON.parse(t.metadata) as { key: string; value: string }[] });
    byOption.set(t.optionId, list);
  }
  const options: OptionDetail[] = q.options.all({ id: row.id }).map((o) => ({ ...o, transfers: byOption.get(o.id) ?? [] }));
  const position: PositionDetail = { ...row, options };
  return { position, option: options.find((o) => o.noticeNumber === noticeNumber)! };
}
