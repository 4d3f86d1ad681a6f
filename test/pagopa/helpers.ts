/** Helpers for the pagoPA tests: positions through the real API, SOAP calls to the station, XSD checks. */
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sqlAll, sqlGet, sqlRun } from '../../src/db/raw.js';
import { paForNodeSoapSchema } from '../../src/modules/pagopa/spec-files.js';
import { readAnswer, type Identity, type StationAnswer } from '../../src/simulators/pagopa/node-messages.js';
import { apiKeyFor, tariBody } from '../positions/fixtures.js';

export interface CreatedOption {
  iuv: string;
  noticeNumber: string;
  amountCents: number;
  kind: string;
  status: string;
}

export interface Created {
  enteId: number;
  fiscalCode: string;
  iupd: string;
  key: string;
  options: CreatedOption[];
}

let seq = 0;

/** A published TARI (single option + 3 installments, TARI/TEFA split) of Campobasso, through the API. */
export async function createTari(app: FastifyInstance, overrides: Record<string, unknown> = {}, comune = 'Campobasso'): Promise<Created> {
  const { ente, body } = await tariBody(app, comune, { iupd: `TARI-T-${++seq}-${Date.now()}`, ...overrides });
  const key = await apiKeyFor(app, ente.id);
  const res = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: { authorization: `Bearer ${key}` }, payload: body });
  if (res.statusCode !== 201) throw new Error(`create failed ${res.statusCode} ${res.body}`);
  const p = res.json() as { iupd: string; paymentOptions: CreatedOption[] };
  return { enteId: ente.id, fiscalCode: ente.fiscalCode, iupd: p.iupd, key, options: p.paymentOptions };
}

export function identity(app: FastifyInstance, idPA: string): Identity {
  return { idPA, idBrokerPA: app.config.pagopa.brokerId, idStation: app.config.pagopa.stationId };
}

export interface SoapCall {
  status: number;
  body: string;
  answer: StationAnswer;
  /** Validity of our answer against envelope.xsd + paForNode.xsd. */
  xsd: { valid: boolean; errors: string[] };
}

export async function callStation(app: FastifyInstance, xml: string, soapAction?: string, headers: Record<string, string> = {}): Promise<SoapCall> {
  const res = await app.inject({
    method: 'POST',
    url: '/pagopa/paForNode',
    headers: { 'content-type': 'text/xml; charset=utf-8', ...(soapAction ? { soapaction: `"${soapAction}"` } : {}), ...headers },
    payload: xml,
  });
  return { status: res.statusCode, body: res.body, answer: readAnswer(res.body), xsd: paForNodeSoapSchema().validate(res.body) };
}

/** SQLite only (tests of other modules still use it): see {@link countRows}. */
export function count(app: FastifyInstance, sql: string, ...params: unknown[]): number {
  return (app.sqlite.prepare(`SELECT count(*) AS n FROM ${sql}`).get(...params) as { n: number }).n;
}

/** A snapshot of every row the station could touch (to prove read-only operations write nothing). */
export function snapshot(app: FastifyInstance): string {
  const tables = ['positions', 'payment_options', 'transfers', 'receipts', 'receipt_transfers', 'anomalies', 'audit_log', 'checkout_carts'];
  return JSON.stringify(tables.map((t) => app.sqlite.prepare(`SELECT * FROM ${t} ORDER BY 1`).all()));
}

/** {@link count} on both databases. */
export async function countRows(app: FastifyInstance, sql: string, ...params: unknown[]): Promise<number> {
  return (await sqlGet<{ n: number }>(app.db, `SELECT count(*) AS n FROM ${sql}`, ...params))!.n;
}

/** {@link snapshot} on both databases. */
export async function snapshotRows(app: FastifyInstance): Promise<string> {
  const tables = ['positions', 'payment_options', 'transfers', 'receipts', 'receipt_transfers', 'anomalies', 'audit_log', 'checkout_carts'];
  const rows: unknown[] = [];
  for (const t of tables) rows.push(await sqlAll(app.db, `SELECT * FROM ${t} ORDER BY 1`));
  return JSON.stringify(rows);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Makes every INSERT into `table` fail with `message` (a trigger), until {@link stopFailingInserts}. */
export async function failInserts(app: FastifyInstance, table: string, name: string, message: string): Promise<void> {
  if (app.database.dialect === 'sqlite') {
    await sqlRun(app.db, `CREATE TEMP TRIGGER ${name} BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, '${message}'); END`);
    return;
  }
  await sqlRun(app.db, `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${message}'; END $$`);
  await sqlRun(app.db, `CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`);
}

export async function stopFailingInserts(app: FastifyInstance, table: string, name: string): Promise<void> {
  if (app.database.dialect === 'sqlite') {
    await sqlRun(app.db, `DROP TRIGGER ${name}`);
    return;
  }
  await sqlRun(app.db, `DROP TRIGGER ${name} ON ${table}`);
  await sqlRun(app.db, `DROP FUNCTION ${name}()`);
}
