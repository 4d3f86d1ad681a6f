/**
 * The station's read path on cached prepared statements: paVerifyPaymentNotice / paGetPayment are
 * the node's hot path (EC SLA 98% ≤ 2 s; bench/pa-verify.bench.ts, a million positions), and the
 * receipt path reads the same position. Raw better-sqlite3 statements whose column aliases are
 * the drizzle property names (taken from the table definitions, so the rows have exactly the
 * shape drizzle would give: PositionRow, OptionRow, TransferRow, Ente), booleans converted; the
 * option and its position come in one statement, an ente and its postal IBAN in another. Same
 * results as positions/repository.ts findByNoticeNumber and the drizzle queries of payment-xml.ts.
 */
import { getTableColumns, type Table } from 'drizzle-orm';
import { statement, type DbLike } from '../../db/client.js';
import { enti } from '../enti/schema.js';
import type { Ente } from '../enti/repository.js';
import type { OptionDetail, OptionRow, PositionDetail, PositionRow, TransferRow } from '../positions/repository.js';
import { paymentOptions, positions, transfers } from '../positions/schema.js';

interface Projection {
  /** `alias."column" AS "property"`, … */
  sql: string;
  /** Properties stored as 0/1 that drizzle reads as booleans. */
  booleans: string[];
}

function projection(table: Table, alias: string, prefix = ''): Projection {
  const cols = Object.entries(getTableColumns(table));
  for (const [, c] of cols) {
    if (!['SQLiteInteger', 'SQLiteText', 'SQLiteBoolean'].includes(c.columnType)) throw new Error(`station-queries: unsupported column type ${c.columnType}`);
  }
  return {
    sql: cols.map(([prop, c]) => `${alias}."${c.name}" AS "${prefix}${prop}"`).join(', '),
    booleans: cols.filter(([, c]) => c.columnType === 'SQLiteBoolean').map(([prop]) => `${prefix}${prop}`),
  };
}

function fixBooleans<T>(row: Record<string, unknown>, booleans: string[]): T {
  for (const b of booleans) row[b] = row[b] === 1 || row[b] === true;
  return row as T;
}

const ENTE = projection(enti, 'e');
const POSITION = projection(positions, 'p', 'p_');
const OPTION = projection(paymentOptions, 'o');
const TRANSFER = projection(transfers, 't');

const SQL = {
  servedEnte: `SELECT ${ENTE.sql} FROM enti e WHERE e.fiscal_code = ? AND e.member = 1`,
  positionByNotice: `SELECT ${POSITION.sql}, s.name AS p_serviceName FROM payment_options o JOIN positions p ON p.id = o.position_id
                      JOIN payment_services s ON s.id = p.service_id WHERE o.ente_id = ? AND o.notice_number = ?`,
  options: `SELECT ${OPTION.sql} FROM payment_options o WHERE o.position_id = ? ORDER BY o.ordinal`,
  transfers: `SELECT ${TRANSFER.sql} FROM transfers t JOIN payment_options o ON o.id = t.option_id WHERE o.position_id = ? ORDER BY t.option_id, t.id_transfer`,
  beneficiary: `SELECT e.id, e.name, e.fiscal_code AS cf,
                  (SELECT i.iban FROM ente_ibans i WHERE i.ente_id = e.id AND i.kind = 'postal' AND i.active = 1 LIMIT 1) AS postalIban
                FROM enti e WHERE e.fiscal_code = ?`,
  serviceName: 'SELECT name FROM payment_services WHERE id = ?',
};

export interface StationQueries {
  db: DbLike;
}

/** The station's queries on this handle or transaction (the statements are cached per connection). */
export function stationQueries(db: DbLike): StationQueries {
  return { db };
}

export function servedEnteFast(q: StationQueries, fiscalCode: string): Ente | undefined {
  const row = statement(q.db, SQL.servedEnte).get(fiscalCode) as Record<string, unknown> | undefined;
  return row ? fixBooleans<Ente>(row, ENTE.booleans) : undefined;
}

/** An ente by fiscal code (member or not) with its active postal IBAN, for transfers and companyName. */
export function beneficiaryByFiscalCode(q: StationQueries, fiscalCode: string): { id: number; name: string; cf: string; postalIban: string | null } | undefined {
  return statement(q.db, SQL.beneficiary).get(fiscalCode) as { id: number; name: string; cf: string; postalIban: string | null } | undefined;
}

export function serviceNameById(q: StationQueries, serviceId: number): string | undefined {
  return (statement(q.db, SQL.serviceName).get(serviceId) as { name: string } | undefined)?.name;
}

/** The option with this notice number at this ente, with its whole position (as findByNoticeNumber) and the service name. */
export function findForStation(q: StationQueries, enteId: number, noticeNumber: string): { position: PositionDetail & { serviceName?: string }; option: OptionDetail } | undefined {
  const hit = statement(q.db, SQL.positionByNotice).get(enteId, noticeNumber) as Record<string, unknown> | undefined;
  if (!hit) return undefined;
  const row: Record<string, unknown> = {};
  for (const key in hit) row[key.slice(2)] = hit[key];
  const positionRow = fixBooleans<PositionRow & { serviceName: string }>(row, POSITION.booleans.map((b) => b.slice(2)));
  const byOption = new Map<number, OptionDetail['transfers']>();
  for (const t of statement(q.db, SQL.transfers).all(positionRow.id) as TransferRow[]) {
    const list = byOption.get(t.optionId) ?? [];
    list.push({ ...t, metadata: JSON.parse(t.metadata) as { key: string; value: string }[] });
    byOption.set(t.optionId, list);
  }
  const options: OptionDetail[] = (statement(q.db, SQL.options).all(positionRow.id) as OptionRow[]).map((o) => ({ ...o, transfers: byOption.get(o.id) ?? [] }));
  const position = { ...positionRow, options };
  return { position, option: options.find((o) => o.noticeNumber === noticeNumber)! };
}
