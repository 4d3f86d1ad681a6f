/**
 * The station's read path on cached prepared statements: paVerifyPaymentNotice / paGetPayment are
 * the node's hot path (EC SLA 98% ≤ 2 s; bench/pa-verify.bench.ts, a million positions), and the
 * receipt path reads the same position. Raw better-sqlite3 rows (value arrays) turned into objects
 * with the drizzle property names taken from the table definitions, so they have exactly the shape
 * drizzle would give (PositionRow, OptionRow, TransferRow, Ente), booleans converted. A position
 * with its options and transfers comes in one statement, an ente and its postal IBAN in another.
 * Same results as positions/repository.ts findByNoticeNumber and the drizzle queries of
 * payment-xml.ts.
 */
import { getTableColumns, type Table } from 'drizzle-orm';
import { statement, type DbLike } from '../../db/client.js';
import { enti } from '../enti/schema.js';
import type { Ente } from '../enti/repository.js';
import type { OptionDetail, PositionDetail } from '../positions/repository.js';
import { paymentOptions, positions, transfers } from '../positions/schema.js';

type Transfer = OptionDetail['transfers'][number];

/** How a table's columns are selected (plain or as a JSON array) and turned back into a drizzle-shaped row. */
interface Shape {
  /** `alias."column", …` in property order. */
  columns: string;
  props: string[];
  /** Per property: stored as 0/1, read by drizzle as a boolean. */
  isBoolean: boolean[];
}

/** The columns of a table; only types that come back from SQLite (and through JSON) as drizzle gives them. */
function shapeOf(table: Table, alias: string): Shape {
  const cols = Object.entries(getTableColumns(table));
  for (const [, c] of cols) {
    if (!['SQLiteInteger', 'SQLiteText', 'SQLiteBoolean'].includes(c.columnType)) throw new Error(`station-queries: unsupported column type ${c.columnType}`);
  }
  return {
    columns: cols.map(([, c]) => `${alias}."${c.name}"`).join(', '),
    props: cols.map(([prop]) => prop),
    isBoolean: cols.map(([, c]) => c.columnType === 'SQLiteBoolean'),
  };
}

/** The row object of `values[from …]` (a raw statement row or a JSON array), with the drizzle property names. */
function toObject<T>(values: unknown[], shape: Shape, from = 0): T {
  const row: Record<string, unknown> = {};
  const { props, isBoolean } = shape;
  for (let i = 0; i < props.length; i++) {
    const v = values[from + i];
    row[props[i]!] = isBoolean[i] ? v === 1 : v;
  }
  return row as T;
}

const ENTE = shapeOf(enti, 'e');
const POSITION = shapeOf(positions, 'p');
const OPTION = shapeOf(paymentOptions, 'o2');
const TRANSFER = shapeOf(transfers, 't');

const SQL = {
  servedEnte: `SELECT ${ENTE.columns} FROM enti e WHERE e.fiscal_code = ? AND e.member = 1`,
  // The whole position in one statement (each statement is a read lock and a trip into SQLite):
  // its options and their transfers come as JSON arrays built by SQLite.
  positionByNotice: `SELECT ${POSITION.columns}, s.name,
      (SELECT json_group_array(json_array(${OPTION.columns}) ORDER BY o2.ordinal) FROM payment_options o2 WHERE o2.position_id = p.id),
      (SELECT json_group_array(json_array(${TRANSFER.columns}) ORDER BY t.option_id, t.id_transfer)
         FROM transfers t JOIN payment_options o3 ON o3.id = t.option_id WHERE o3.position_id = p.id)
    FROM payment_options o JOIN positions p ON p.id = o.position_id JOIN payment_services s ON s.id = p.service_id
    WHERE o.ente_id = ? AND o.notice_number = ?`,
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

export async function servedEnteFast(q: StationQueries, fiscalCode: string): Promise<Ente | undefined> {
  const values = statement(q.db, SQL.servedEnte).raw(true).get(fiscalCode) as unknown[] | undefined;
  return values ? toObject<Ente>(values, ENTE) : undefined;
}

/** An ente by fiscal code (member or not) with its active postal IBAN, for transfers and companyName. */
export async function beneficiaryByFiscalCode(q: StationQueries, fiscalCode: string): Promise<{ id: number; name: string; cf: string; postalIban: string | null } | undefined> {
  return statement(q.db, SQL.beneficiary).get(fiscalCode) as { id: number; name: string; cf: string; postalIban: string | null } | undefined;
}

export async function serviceNameById(q: StationQueries, serviceId: number): Promise<string | undefined> {
  return (statement(q.db, SQL.serviceName).get(serviceId) as { name: string } | undefined)?.name;
}

/** The option with this notice number at this ente, with its whole position (as findByNoticeNumber) and the service name. */
export async function findForStation(q: StationQueries, enteId: number, noticeNumber: string): Promise<{ position: PositionDetail & { serviceName?: string }; option: OptionDetail } | undefined> {
  const values = statement(q.db, SQL.positionByNotice).raw(true).get(enteId, noticeNumber) as unknown[] | undefined;
  if (!values) return undefined;
  const n = POSITION.props.length;
  const position = toObject<PositionDetail & { serviceName?: string }>(values, POSITION);
  position.serviceName = values[n] as string;
  const byOption = new Map<number, Transfer[]>();
  for (const array of JSON.parse(values[n + 2] as string) as unknown[][]) {
    const t = toObject<Transfer>(array, TRANSFER);
    t.metadata = JSON.parse(t.metadata as unknown as string) as Transfer['metadata'];
    const list = byOption.get(t.optionId);
    if (list) list.push(t);
    else byOption.set(t.optionId, [t]);
  }
  position.options = (JSON.parse(values[n + 1] as string) as unknown[][]).map((array) => {
    const o = toObject<OptionDetail>(array, OPTION);
    o.transfers = byOption.get(o.id) ?? [];
    return o;
  });
  return { position, option: position.options.find((o) => o.noticeNumber === noticeNumber)! };
}
