/**
 * The station's read path on cached prepared statements: paVerifyPaymentNotice / paGetPayment are
 * the node's hot path (EC SLA 98% ≤ 2 s; bench/pa-verify.bench.ts, a million positions), and the
 * receipt path reads the same position. Raw better-sqlite3 rows (value arrays) turned into objects
 * with the drizzle property names taken from the table definitions, so they have exactly the shape
 * drizzle would give (PositionRow, OptionRow, TransferRow, Ente), booleans converted. A position
 * with its options and transfers comes in one statement, an ente and its postal IBAN in another.
 * Same results as positions/repository.ts findByNoticeNumber and the drizzle queries of
 * payment-xml.ts. On PostgreSQL the same statements (json_agg for SQLite's json_group_array), rows
 * as value arrays too (node-postgres `rowMode: 'array'`).
 */
import { getTableColumns, type Table } from 'drizzle-orm';
import { statement, type DbLike } from '../../db/client.js';
import { postgresRuntime } from '../../db/postgres.js';
import { pgQueryConfig, sqlGet, type SqlText } from '../../db/raw.js';
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

/** The position with this notice number, its options and their transfers as JSON arrays (`array` of a row, `agg` of arrays). */
function positionByNotice(array: string, agg: (rows: string, order: string) => string): string {
  return `SELECT ${POSITION.columns}, s.name,
      (SELECT ${agg(`${array}(${OPTION.columns})`, 'o2.ordinal')} FROM payment_options o2 WHERE o2.position_id = p.id),
      (SELECT ${agg(`${array}(${TRANSFER.columns})`, 't.option_id, t.id_transfer')}
         FROM transfers t JOIN payment_options o3 ON o3.id = t.option_id WHERE o3.position_id = p.id)
    FROM payment_options o JOIN positions p ON p.id = o.position_id JOIN payment_services s ON s.id = p.service_id
    WHERE o.ente_id = ? AND o.notice_number = ?`;
}

const SQL = {
  servedEnte: `SELECT ${ENTE.columns} FROM enti e WHERE e.fiscal_code = ? AND e.member = 1`,
  // The whole position in one statement (each statement is a read lock and a trip into SQLite):
  // its options and their transfers come as JSON arrays built by the database.
  positionByNotice: {
    sqlite: positionByNotice('json_array', (rows, order) => `json_group_array(${rows} ORDER BY ${order})`),
    // json_agg of no rows is NULL where json_group_array gives '[]'.
    postgres: positionByNotice('json_build_array', (rows, order) => `coalesce(json_agg(${rows} ORDER BY ${order})::text, '[]')`),
  } satisfies SqlText,
  beneficiary: `SELECT e.id, e.name, e.fiscal_code AS cf,
                  (SELECT i.iban FROM ente_ibans i WHERE i.ente_id = e.id AND i.kind = 'postal' AND i.active = 1 LIMIT 1) AS "postalIban"
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

/** The first row as an array of values (SQLite: the cached statement in raw mode). */
async function valuesOf(db: DbLike, text: SqlText, ...params: unknown[]): Promise<unknown[] | undefined> {
  const pg = postgresRuntime(db);
  if (!pg) return statement(db, typeof text === 'string' ? text : text.sqlite).raw(true).get(...params) as unknown[] | undefined;
  const r = await pg.queryable().query(pgQueryConfig(text, params, 'array'));
  return r.rows[0] as unknown[] | undefined;
}

export async function servedEnteFast(q: StationQueries, fiscalCode: string): Promise<Ente | undefined> {
  const values = await valuesOf(q.db, SQL.servedEnte, fiscalCode);
  return values ? toObject<Ente>(values, ENTE) : undefined;
}

/** An ente by fiscal code (member or not) with its active postal IBAN, for transfers and companyName. */
export async function beneficiaryByFiscalCode(q: StationQueries, fiscalCode: string): Promise<{ id: number; name: string; cf: string; postalIban: string | null } | undefined> {
  return await sqlGet<{ id: number; name: string; cf: string; postalIban: string | null }>(q.db, SQL.beneficiary, fiscalCode);
}

export async function serviceNameById(q: StationQueries, serviceId: number): Promise<string | undefined> {
  return (await sqlGet<{ name: string }>(q.db, SQL.serviceName, serviceId))?.name;
}

/** The option with this notice number at this ente, with its whole position (as findByNoticeNumber) and the service name. */
export async function findForStation(q: StationQueries, enteId: number, noticeNumber: string): Promise<{ position: PositionDetail & { serviceName?: string }; option: OptionDetail } | undefined> {
  const values = await valuesOf(q.db, SQL.positionByNotice, enteId, noticeNumber);
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
