/**
 * The reconciliation engine (receipts ↔ reporting flows ↔ treasury), in raw SQL for speed (one
 * cached prepared statement per step on SQLite, set-based lookups; db/raw.ts, the same texts on
 * PostgreSQL). Every public function runs in ONE immediate transaction (nested calls become
 * savepoints; on PostgreSQL a transaction-scoped advisory lock serializes reconciliations across
 * processes, as BEGIN IMMEDIATE does on SQLite) and writes audit rows.
 *
 * Flows: keyed by (ente, flow id, PSP) with revisions ordered by the FdR 3 revision number (1 for
 * nodoChiedi* and uploads), then dataOraFlusso; the newest revision supersedes the older ones
 * (`fdr_flows.superseded_at` set, their matches and open anomalies retired, a credit of theirs
 * re-evaluated against the new one): only the live revision's rows count. Header checks (count,
 * sum) make a flow `anomalous` (it cannot be credited, FR_ANOMALA). Rows are matched by (ente,
 * IUV, IUR, transfer index) through `classifyFlowRow` (matching.ts).
 *
 * Treasury: credits are matched by causale (causale.ts): cumulative → the current revision of the
 * flow (amount = flow total), single → the receipt; not found → `parked` and retried whenever a
 * flow is processed or a statement is imported (and by the periodic task). Parked for more than
 * PARK_WORKING_DAYS working days → an anomaly. Movements in `error` are retried too (a later
 * revision may fix them), except after a manual unmatch.
 */
import crypto from 'node:crypto';
import { statement, type DbLike } from '../../db/client.js';
import { dialectOf, lockForTransaction, sqlAll, sqlGet, sqlRun } from '../../db/raw.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { parseCausale, resolveFlowId } from './causale.js';
import { FlowXmlError, parseFlowXml, type FlowDoc } from '../pagopa/flusso-xml.js';
import { checkHeader, classifyFlowRow, decideFlowCredit, decideReceiptCredit, RECON_ANOMALIES, type CreditDecision, type ReconAnomalyType } from './matching.js';
import type { EntryState } from './schema.js';
import { localDate, workingDaysBetween } from './sla-calendar.js';
import { movementHash, parseStatement, type StatementMovement, type StatementProblem } from './statement.js';

export interface Recon {
  db: DbLike;
}

export const PARK_WORKING_DAYS = 2;
export const MANUAL_UNMATCH_CODE = 'SCOLLEGATO_MANUALMENTE';

const sha256 = (s: string | Uint8Array) => crypto.createHash('sha256').update(s).digest('hex');

export class ReconError extends Error {
  constructor(
    message: string,
    readonly problems: StatementProblem[] = [],
    readonly status = 400,
  ) {
    super(message);
    this.name = 'ReconError';
  }
}

// ------------------------------------------------------------------------------------ anomalies

export interface RaiseInput {
  type: ReconAnomalyType;
  enteId: number | null;
  refs: Record<string, unknown>;
  amountCents?: number | null;
  detail: string;
  dedupKey: string;
}

/** Inserts an anomaly unless one with the same dedup key exists; returns its id. */
export async function raiseAnomaly(db: DbLike, a: RaiseInput): Promise<number> {
  const ins = await sqlGet<{ id: number }>(
    db,
    `INSERT INTO anomalies (type, code, ente_id, refs, amount_cents, detail, status, dedup_key, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
    a.type,
    RECON_ANOMALIES[a.type].code,
    a.enteId,
    JSON.stringify(a.refs),
    a.amountCents ?? null,
    a.detail,
    a.dedupKey,
    new Date().toISOString(),
  );
  if (ins) return ins.id;
  return (await sqlGet<{ id: number }>(db, 'SELECT id FROM anomalies WHERE dedup_key = ?', a.dedupKey))!.id;
}

/** Anomalies whose refs name this flow row (its JSON `flowRowId`). */
const REFS_FLOW_ROW = { sqlite: "json_extract(refs, '$.flowRowId') = ?", postgres: "(refs::json ->> 'flowRowId') = CAST(? AS TEXT)" };

async function autoResolve(db: DbLike, where: string | { sqlite: string; postgres: string }, params: unknown[], note: string): Promise<number> {
  // Cached per text (a few distinct `where`s): called once per movement of a statement.
  const text = (w: string) =>
    `UPDATE anomalies SET status = 'resolved', resolution_note = ?, resolved_at = ?, updated_at = ? WHERE status IN ('open','in_progress') AND ${w}`;
  const stamp = new Date().toISOString();
  const sql = typeof where === 'string' ? text(where) : { sqlite: text(where.sqlite), postgres: text(where.postgres) };
  return (await sqlRun(db, sql, note, stamp, stamp, ...params)).changes;
}

/**
 * Serializes reconciliations: SQLite's BEGIN IMMEDIATE already holds the only write lock; on
 * PostgreSQL two processes would otherwise match the same flow or movement at once. Held until
 * the transaction ends.
 */
async function lockRecon(db: DbLike): Promise<void> {
  await lockForTransaction(db, 'sael-pay:reconcile');
}

// ------------------------------------------------------------------------------------ flows

interface FlowRowDb {
  id: number;
  ente_id: number;
  flow_id: string;
  flow_date_time: string;
  psp_id: string;
  total_payments: number;
  total_amount_cents: number;
  receiver_fiscal_code: string;
  raw_xml: string;
}

export interface FlowProcessResult {
  flowRowId: number;
  enteId: number;
  flowId: string;
  revision: number;
  state: 'accepted' | 'anomalous' | 'superseded';
  rows: number;
  matched: number;
  anomalies: number;
}

/** (Re)processes one stored flow. Call inside a transaction (the public wrappers do). */
async function processFlowInTx(r: Recon, flowRowId: number, actor: string): Promise<FlowProcessResult> {
  const db = r.db;
  const f = await sqlGet<FlowRowDb>(
    db,
    'SELECT id, ente_id, flow_id, flow_date_time, psp_id, total_payments, total_amount_cents, receiver_fiscal_code, raw_xml FROM fdr_flows WHERE id = ?',
    flowRowId,
  );
  if (!f) throw new ReconError('Flusso inesistente', [], 404);
  const ente = (await sqlGet<{ id: number; fiscal_code: string }>(db, 'SELECT id, fiscal_code FROM enti WHERE id = ?', f.ente_id))!;
  const siblings = await sqlAll<{ id: number; source: string; revision: number }>(
    db,
    'SELECT id, source, revision FROM fdr_flows WHERE ente_id = ? AND flow_id = ? AND psp_id = ? ORDER BY revision, flow_date_time, id',
    f.ente_id,
    f.flow_id,
    f.psp_id,
  );
  // Shown revision: FdR 3's number for REST flows, else the position by dataOraFlusso.
  const revisionOf = (i: number) => (siblings[i]!.source === 'fdrRest' ? siblings[i]!.revision : i + 1);
  const revision = revisionOf(siblings.findIndex((x) => x.id === f.id));
  const latest = siblings[siblings.length - 1]!.id;
  const stamp = new Date().toISOString();
  for (const x of siblings) if (x.id !== latest) await sqlRun(db, 'UPDATE fdr_flows SET superseded_at = ? WHERE id = ? AND superseded_at IS NULL', stamp, x.id);
  await sqlRun(db, 'UPDATE fdr_flows SET superseded_at = NULL WHERE id = ?', latest);
  const amounts = await sqlAll<{ amountCents: number }>(db, 'SELECT amount_cents AS "amountCents" FROM fdr_entries WHERE flow_row_id = ?', f.id);
  const header = checkHeader({ totalPayments: f.total_payments, totalAmountCents: f.total_amount_cents }, amounts);
  await sqlRun(db, 'DELETE FROM fdr_entry_matches WHERE flow_row_id = ?', f.id);

  const upsert = async (state: 'accepted' | 'anomalous' | 'superseded', supersededBy: number | null, matched: number, anomalyRows: number) =>
    await sqlRun(
      db,
      `INSERT INTO fdr_flow_recon (flow_row_id, ente_id, flow_id, psp_id, revision, state, superseded_by, count_ok, sum_ok, computed_count, computed_sum_cents, matched_rows, anomaly_rows, sha256, processed_at)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
       ON CONFLICT(flow_row_id) DO UPDATE SET revision = excluded.revision, state = excluded.state, superseded_by = excluded.superseded_by,
         count_ok = excluded.count_ok, sum_ok = excluded.sum_ok, computed_count = excluded.computed_count, computed_sum_cents = excluded.computed_sum_cents,
         matched_rows = excluded.matched_rows, anomaly_rows = excluded.anomaly_rows, sha256 = excluded.sha256, processed_at = excluded.processed_at`,
      f.id,
      f.ente_id,
      f.flow_id,
      f.psp_id,
      revision,
      state,
      supersededBy,
      header.countOk ? 1 : 0,
      header.sumOk ? 1 : 0,
      header.computedCount,
      header.computedSumCents,
      matched,
      anomalyRows,
      sha256(f.raw_xml),
      new Date().toISOString(),
    );

  const result = (state: FlowProcessResult['state'], matched: number, anomalies: number): FlowProcessResult => ({
    flowRowId: f.id,
    enteId: f.ente_id,
    flowId: f.flow_id,
    revision,
    state,
    rows: amounts.length,
    matched,
    anomalies,
  });

  // Revisions are numbered by dataOraFlusso: a late older version renumbers the others.
  for (const [i, x] of siblings.entries()) if (x.id !== f.id) await sqlRun(db, 'UPDATE fdr_flow_recon SET revision = ? WHERE flow_row_id = ?', revisionOf(i), x.id);
  if (latest !== f.id) {
    // An older revision arriving late: kept for the record, never matched.
    await upsert('superseded', latest, 0, 0);
    await recordAudit(r.db, { actor, action: 'flow.process', entity: 'fdr_flow', entityId: f.id, enteId: f.ente_id, after: { state: 'superseded', revision } });
    return result('superseded', 0, 0);
  }
  for (const older of siblings) {
    if (older.id === f.id) continue;
    const rec = await sqlGet<{ state: string }>(db, 'SELECT state FROM fdr_flow_recon WHERE flow_row_id = ?', older.id);
    if (rec?.state !== 'superseded') await supersede(r, older.id, f.id, revision);
  }

  let flowAnomalies = 0;
  const otherEnte = f.receiver_fiscal_code !== ente.fiscal_code;
  const flowRefs = { flowRowId: f.id, flowId: f.flow_id, pspId: f.psp_id, revision };
  if (otherEnte) {
    await raiseAnomaly(db, { type: 'fdr_flow_other_ente', enteId: f.ente_id, refs: flowRefs, amountCents: f.total_amount_cents, detail: `Il flusso è destinato all’ente ${f.receiver_fiscal_code}`, dedupKey: `flow:${f.id}:fdr_flow_other_ente` });
    flowAnomalies++;
  }
  if (!header.countOk) {
    await raiseAnomaly(db, { type: 'fdr_header_count', enteId: f.ente_id, refs: flowRefs, amountCents: null, detail: `Dichiarati ${f.total_payments} pagamenti, presenti ${header.computedCount}`, dedupKey: `flow:${f.id}:fdr_header_count` });
    flowAnomalies++;
  }
  if (!header.sumOk) {
    await raiseAnomaly(db, { type: 'fdr_header_sum', enteId: f.ente_id, refs: flowRefs, amountCents: f.total_amount_cents, detail: `Totale dichiarato ${f.total_amount_cents}, somma delle righe ${header.computedSumCents} (centesimi)`, dedupKey: `flow:${f.id}:fdr_header_sum` });
    flowAnomalies++;
  }
  const state = otherEnte || !header.countOk || !header.sumOk ? 'anomalous' : 'accepted';
  let matched = 0;
  let anomalyRows = 0;
  if (!otherEnte) {
    const m = await matchRows(r, f, ente.fiscal_code, flowRefs);
    matched = m.matched;
    anomalyRows = m.anomalies;
  }
  await upsert(state, null, matched, anomalyRows);
  await recordAudit(r.db, { actor, action: 'flow.process', entity: 'fdr_flow', entityId: f.id, enteId: f.ente_id, after: { state, revision, matched, anomalyRows, header } });
  return result(state, matched, anomalyRows + flowAnomalies);
}

/** Columns of MATCH_SQL, read in raw (array) mode on SQLite for speed. */
const enum C {
  entryId,
  iuv,
  iur,
  idx,
  amount,
  outcome,
  receiptRowId,
  transferId,
  transferAmount,
  elsewhere,
}
type JoinedRow = [number, string, string, number | null, number, string, number | null, number | null, number | null, number | null];

/** FdR rows of one flow with their candidate receipt transfers (index order of fdr_entries_key, no sort step). */
export const MATCH_SQL = `
  SELECT e.id AS entry_id, e.iuv, e.iur, e.transfer_index, e.amount_cents, e.outcome_code, r.id AS receipt_row_id, t.id AS transfer_id, t.amount_cents AS transfer_amount_cents,
         (SELECT 1 FROM fdr_entry_matches m WHERE m.receipt_transfer_id = t.id AND m.flow_row_id <> e.flow_row_id
            AND m.state IN ('matched','revoked','amount_mismatch') LIMIT 1) AS elsewhere
  FROM fdr_entries e
  LEFT JOIN receipts r ON r.iuv = e.iuv AND r.receipt_id = e.iur AND r.ente_id = ?
  LEFT JOIN receipt_transfers t ON t.receipt_row_id = r.id AND t.fiscal_code_pa = ? AND (e.transfer_index IS NULL OR t.id_transfer = e.transfer_index)
  WHERE e.flow_row_id = ?
  ORDER BY e.ordinal`;

/** MATCH_SQL's rows as arrays (columns in C order). */
async function matchCandidates(db: DbLike, enteId: number, cf: string, flowRowId: number): Promise<JoinedRow[]> {
  // SQLite: the cached statement in raw mode, no object per row (a flow may hold 100 000 rows).
  // MATCH_SQL is run nowhere else, so the cached statement stays in raw mode.
  if (dialectOf(db) === 'sqlite') return statement(db, MATCH_SQL).raw(true).all(enteId, cf, flowRowId) as JoinedRow[];
  // PostgreSQL: the columns have distinct names, in select-list order.
  return (await sqlAll(db, MATCH_SQL, enteId, cf, flowRowId)).map((o) => Object.values(o) as JoinedRow);
}

const BATCH = 100;
const LINKED: ReadonlySet<EntryState> = new Set(['matched', 'revoked', 'amount_mismatch', 'already_reported']);

async function matchRows(r: Recon, f: FlowRowDb, cf: string, flowRefs: Record<string, unknown>): Promise<{ matched: number; anomalies: number }> {
  const db = r.db;
  const insertSql = (n: number) => `INSERT INTO fdr_entry_matches (entry_id, flow_row_id, ente_id, state, receipt_row_id, receipt_transfer_id) VALUES ${Array(n).fill('(?,?,?,?,?,?)').join(',')}`;
  const insertBatchSql = insertSql(BATCH);
  const seen = new Set<string>();
  let pending: unknown[] = [];
  let matched = 0;
  let anomalies = 0;
  const rows = await matchCandidates(db, f.ente_id, cf, f.id);

  const handle = async (group: JoinedRow[]) => {
    const first = group[0]!;
    const key = `${first[C.iuv]}|${first[C.iur]}|${first[C.idx] ?? ''}`;
    const candidates = first[C.transferId] === null ? [] : group;
    const decision = classifyFlowRow({
      outcomeCode: first[C.outcome],
      amountCents: first[C.amount],
      candidates: candidates.map((c) => ({ transferAmountCents: c[C.transferAmount]! })),
      duplicateInFlow: seen.has(key),
      reportedElsewhere: candidates.length === 1 && candidates[0]![C.elsewhere] === 1,
      otherEnteReceipts:
        candidates.length === 0 ? (await sqlGet<{ n: number }>(db, 'SELECT count(*) AS n FROM receipts WHERE iuv = ? AND receipt_id = ? AND ente_id <> ?', first[C.iuv], first[C.iur], f.ente_id))!.n : 0,
    });
    seen.add(key);
    const one = candidates.length === 1 ? candidates[0]! : null;
    const linked = LINKED.has(decision.state) && one !== null;
    pending.push(first[C.entryId], f.id, f.ente_id, decision.state, linked ? one[C.receiptRowId] : null, linked ? one[C.transferId] : null);
    if (pending.length === BATCH * 6) {
      await sqlRun(db, insertBatchSql, ...pending);
      pending = [];
    }
    if (decision.state === 'matched' || decision.state === 'revoked') matched++;
    if (decision.anomaly) {
      anomalies++;
      const detail =
        decision.state === 'amount_mismatch'
          ? `Importo nel flusso ${Math.abs(first[C.amount])}, nella ricevuta ${one?.[C.transferAmount]} (centesimi)`
          : decision.state === 'no_receipt' && first[C.receiptRowId] !== null
            ? `La ricevuta esiste ma non ha un versamento${first[C.idx] ? ` con indice ${first[C.idx]}` : ''} a favore dell’ente`
            : `Esito ${first[C.outcome]}`;
      await raiseAnomaly(db, {
                type: decision.anomaly,
                enteId: f.ente_id,
                refs: { ...flowRefs, entryId: first[C.entryId], iuv: first[C.iuv], iur: first[C.iur], index: first[C.idx], receiptRowId: one?.[C.receiptRowId] ?? first[C.receiptRowId] ?? null },
                amountCents: Math.abs(first[C.amount]),
                detail,
                dedupKey: `fdr-row:${first[C.entryId]}:${decision.anomaly}`,
              });
    }
  };

  let start = 0;
  for (let i = 1; i <= rows.length; i++) {
    if (i === rows.length || rows[i]![C.entryId] !== rows[start]![C.entryId]) {
      await handle(i - start === 1 ? [rows[start]!] : rows.slice(start, i));
      start = i;
    }
  }
  if (pending.length) await sqlRun(db, insertSql(pending.length / 6), ...pending);
  return { matched, anomalies };
}

async function supersede(r: Recon, olderId: number, newerId: number, newRevision: number): Promise<void> {
  const db = r.db;
  await sqlRun(db, "UPDATE fdr_flow_recon SET state = 'superseded', superseded_by = ? WHERE flow_row_id = ?", newerId, olderId);
  await sqlRun(db, "UPDATE fdr_entry_matches SET state = 'superseded' WHERE flow_row_id = ?", olderId);
  await autoResolve(
    db,
    { sqlite: `${REFS_FLOW_ROW.sqlite} AND type LIKE 'fdr_%'`, postgres: `${REFS_FLOW_ROW.postgres} AND type LIKE 'fdr_%'` },
    [olderId],
    `Sostituito dalla revisione ${newRevision} del flusso`,
  );
  const credit = await sqlGet<{ id: number }>(db, "SELECT id FROM treasury_movements WHERE flow_row_id = ? AND state = 'matched'", olderId);
  if (credit) {
    // Re-evaluated against the new revision by the retry that follows.
    await sqlRun(db, "UPDATE treasury_movements SET state = 'parked', error_code = 'REVISIONE_FLUSSO', flow_row_id = NULL, match_kind = NULL, matched_at = NULL WHERE id = ?", credit.id);
    await sqlRun(db, 'UPDATE fdr_flow_recon SET credit_movement_id = NULL WHERE flow_row_id = ?', olderId);
  }
}

/** Processes one stored flow, then retries the parked credits of its ente. */
export async function processFlow(r: Recon, flowRowId: number, actor = 'system'): Promise<FlowProcessResult> {
  return await r.db.transaction(async () => {
    await lockRecon(r.db);
    const res = await processFlowInTx(r, flowRowId, actor);
    await retryMovementsInTx(r, res.enteId, actor);
    return res;
  }, { behavior: 'immediate' });
}

/** Flows stored by the nodoChiedi* client (or anyone) and not yet processed. */
export async function processPendingFlows(r: Recon, actor = 'system'): Promise<FlowProcessResult[]> {
  const pending = await sqlAll<{ id: number }>(
    r.db,
    'SELECT f.id FROM fdr_flows f LEFT JOIN fdr_flow_recon x ON x.flow_row_id = f.id WHERE x.flow_row_id IS NULL ORDER BY f.revision, f.flow_date_time, f.id',
  );
  const results: FlowProcessResult[] = [];
  for (const p of pending) results.push(await processFlow(r, p.id, actor));
  return results;
}

export type IngestOutcome = { status: 'imported'; result: FlowProcessResult } | { status: 'unchanged'; flowRowId: number };

/**
 * Stores and processes an uploaded (or simulator-provided) flow XML. `allowedEnti` limits the
 * receiving ente (operators: their own). Same (ente, flow id, dataOraFlusso) and same content →
 * unchanged; other content → error. One transaction: nothing half-imported.
 */
export async function ingestFlowXml(
  r: Recon,
  input: { xml: Buffer | string; source: 'upload' | 'nodoChiedi'; actor: string; allowedEnti: number[] | 'all'; requestId?: string },
): Promise<IngestOutcome> {
  let doc: FlowDoc;
  try {
    doc = parseFlowXml(typeof input.xml === 'string' ? input.xml : new Uint8Array(input.xml));
  } catch (e) {
    if (e instanceof FlowXmlError) throw new ReconError('Il flusso non è conforme allo schema FlussoRiversamento 1.0.4', e.problems.map((m) => ({ line: Number(/^(\d+):/.exec(m)?.[1] ?? 0), field: 'XSD', message: m })));
    throw new ReconError(`Il file non è un XML leggibile: ${(e as Error).message}`);
  }
  const xml = typeof input.xml === 'string' ? input.xml : input.xml.toString('utf8');
  const ente = await sqlGet<{ id: number; name: string }>(r.db, 'SELECT id, name FROM enti WHERE fiscal_code = ?', doc.receiverFiscalCode);
  if (!ente) throw new ReconError(`Il flusso è destinato all’ente ${doc.receiverFiscalCode}, che non è servito da questa piattaforma`);
  if (input.allowedEnti !== 'all' && !input.allowedEnti.includes(ente.id)) throw new ReconError('Il flusso è destinato a un ente che non puoi gestire', [], 403);
  return await r.db.transaction(async (): Promise<IngestOutcome> => {
    const db = r.db;
    await lockRecon(db);
    const existing = await sqlGet<{ id: number; raw_xml: string }>(db, 'SELECT id, raw_xml FROM fdr_flows WHERE ente_id = ? AND flow_id = ? AND flow_date_time = ?', ente.id, doc.flowId, doc.flowDateTime);
    if (existing) {
      if (sha256(existing.raw_xml) === sha256(xml)) return { status: 'unchanged', flowRowId: existing.id };
      throw new ReconError(`Il flusso ${doc.flowId} del ${doc.flowDateTime} è già stato acquisito con un contenuto diverso: per correggerlo serve una nuova revisione (dataOraFlusso successiva)`, [], 409);
    }
    const { id } = (await sqlGet<{ id: number }>(
      db,
      `INSERT INTO fdr_flows (ente_id, flow_id, flow_date_time, psp_id, psp_name, settlement_id, settlement_date, bic, receiver_fiscal_code, total_payments, total_amount_cents, raw_xml, source)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
      ente.id,
      doc.flowId,
      doc.flowDateTime,
      doc.pspId,
      doc.pspName,
      doc.settlementId,
      doc.settlementDate,
      doc.bic,
      doc.receiverFiscalCode,
      doc.totalPayments,
      doc.totalAmountCents,
      xml,
      input.source,
    ))!;
    // The rows in batches of BATCH (one statement each; one round trip each on PostgreSQL).
    const entrySql = (n: number) => `INSERT INTO fdr_entries (flow_row_id, ordinal, iuv, iur, transfer_index, amount_cents, outcome_code, outcome_date) VALUES ${Array(n).fill('(?,?,?,?,?,?,?,?)').join(',')}`;
    for (let i = 0; i < doc.rows.length; i += BATCH) {
      const chunk = doc.rows.slice(i, i + BATCH);
      const params = chunk.flatMap((row) => [id, row.ordinal, row.iuv, row.iur, row.transferIndex, row.outcomeCode === '3' ? -Math.abs(row.amountCents) : row.amountCents, row.outcomeCode, row.outcomeDate]);
      await sqlRun(db, entrySql(chunk.length), ...params);
    }
    await recordAudit(r.db, { actor: input.actor, action: 'flow.import', entity: 'fdr_flow', entityId: id, enteId: ente.id, after: { flowId: doc.flowId, flowDateTime: doc.flowDateTime, pspId: doc.pspId, rows: doc.rows.length, source: input.source }, requestId: input.requestId });
    const result = await processFlowInTx(r, id, input.actor);
    await retryMovementsInTx(r, ente.id, input.actor);
    return { status: 'imported', result };
  }, { behavior: 'immediate' });
}

// ------------------------------------------------------------------------------------ treasury

interface MovementDb {
  id: number;
  ente_id: number;
  movement_id: string;
  direction: 'CRDT' | 'DBIT';
  amount_cents: number;
  booking_date: string;
  causale: string;
  state: string;
  error_code: string | null;
  flow_row_id: number | null;
  receipt_row_id: number | null;
  attempts: number;
}

async function currentFlow(db: DbLike, enteId: number, parsedId: string) {
  const known = await sqlAll<{ id: string }>(
    db,
    "SELECT DISTINCT flow_id AS id FROM fdr_flow_recon WHERE ente_id = ? AND state <> 'superseded' AND substr(CAST(? AS TEXT), 1, length(flow_id)) = flow_id",
    enteId,
    parsedId,
  );
  const id = resolveFlowId(parsedId, known.map((k) => k.id));
  if (!id) return null;
  const flow = await sqlGet<{ flowRowId: number; state: 'accepted' | 'anomalous'; totalAmountCents: number; creditMovementId: number | null }>(
    db,
    `SELECT x.flow_row_id AS "flowRowId", x.state AS state, f.total_amount_cents AS "totalAmountCents", x.credit_movement_id AS "creditMovementId"
     FROM fdr_flow_recon x JOIN fdr_flows f ON f.id = x.flow_row_id
     WHERE x.ente_id = ? AND x.flow_id = ? AND x.state <> 'superseded' AND f.superseded_at IS NULL ORDER BY f.revision DESC, f.flow_date_time DESC LIMIT 1`,
    enteId,
    id,
  );
  return flow ?? null;
}

/** Receipts of an IUV with the ente's share and the credit that already covers them, if any. */
export const RECEIPT_CANDIDATES_SQL = `SELECT r.id AS "receiptRowId",
    coalesce((SELECT sum(t.amount_cents) FROM receipt_transfers t WHERE t.receipt_row_id = r.id AND t.fiscal_code_pa = e.fiscal_code), 0) AS "enteAmountCents",
    coalesce((SELECT tm.id FROM treasury_movements tm WHERE tm.receipt_row_id = r.id AND tm.state = 'matched' AND tm.id <> ? LIMIT 1),
             (SELECT x.credit_movement_id FROM fdr_entry_matches em JOIN fdr_flow_recon x ON x.flow_row_id = em.flow_row_id
               WHERE em.receipt_row_id = r.id AND em.state = 'matched' AND x.credit_movement_id IS NOT NULL LIMIT 1)) AS "creditMovementId"
  FROM receipts r JOIN enti e ON e.id = r.ente_id
  WHERE r.ente_id = ? AND r.iuv = ? AND r.outcome = 'OK'`;

/** Parameters of RECEIPT_CANDIDATES_SQL, in order. */
export const receiptCandidatesParams = (enteId: number, movementRowId: number, iuv: string) => [movementRowId, enteId, iuv];

async function receiptCandidates(db: DbLike, enteId: number, movementRowId: number, iuv: string) {
  return await sqlAll<{ receiptRowId: number; enteAmountCents: number; creditMovementId: number | null }>(db, RECEIPT_CANDIDATES_SQL, ...receiptCandidatesParams(enteId, movementRowId, iuv));
}

/** Tries to reconcile one movement (inside a transaction). */
async function reconcileMovementInTx(r: Recon, movementRowId: number, actor: string, now: Date): Promise<string> {
  const db = r.db;
  const m = (await sqlGet<MovementDb>(db, 'SELECT * FROM treasury_movements WHERE id = ?', movementRowId))!;
  const parsed = parseCausale(m.causale);
  const refKind = parsed.kind === 'iuv' ? 'iuv' : parsed.kind;
  const refValue = parsed.kind === 'flow' || parsed.kind === 'integration' ? parsed.flowId : parsed.kind === 'iuv' ? parsed.iuv : null;
  let decision: CreditDecision | { state: 'not_pagopa' | 'debit' };
  if (m.direction === 'DBIT') decision = { state: 'debit' };
  else if (parsed.kind === 'flow') decision = decideFlowCredit(m.amount_cents, m.id, await currentFlow(db, m.ente_id, parsed.flowId));
  else if (parsed.kind === 'integration') {
    // * A top-up (LGPE-INTEGRAZIONE) is linked to its flow without an amount check.
    const flow = await currentFlow(db, m.ente_id, parsed.flowId);
    decision = flow ? { state: 'matched', flowRowId: flow.flowRowId } : { state: 'parked', code: 'IDF_NON_TROVATO' };
  } else if (parsed.kind === 'iuv') decision = decideReceiptCredit(m.amount_cents, m.id, await receiptCandidates(db, m.ente_id, m.id, parsed.iuv));
  else decision = { state: 'not_pagopa' };

  const stamp = now.toISOString();
  const code = decision.state === 'error' || decision.state === 'parked' ? decision.code : decision.state === 'not_pagopa' ? 'CAUSALE_NON_VALIDA' : null;
  const flowRowId = decision.state === 'matched' ? decision.flowRowId ?? null : null;
  const receiptRowId = decision.state === 'matched' ? decision.receiptRowId ?? null : null;
  await sqlRun(
    db,
    `UPDATE treasury_movements SET ref_kind = ?, ref_value = ?, state = ?, error_code = ?, flow_row_id = ?, receipt_row_id = ?, match_kind = ?,
       matched_at = CASE WHEN CAST(? AS TEXT) = 'matched' THEN coalesce(matched_at, ?) ELSE NULL END, attempts = attempts + 1, last_attempt_at = ? WHERE id = ?`,
    refKind,
    refValue,
    decision.state,
    code,
    flowRowId,
    receiptRowId,
    decision.state === 'matched' ? (flowRowId ? 'flow' : 'receipt') : null,
    decision.state,
    stamp,
    stamp,
    m.id,
  );
  if (decision.state === 'matched' && flowRowId && parsed.kind === 'flow') await sqlRun(db, 'UPDATE fdr_flow_recon SET credit_movement_id = ? WHERE flow_row_id = ?', m.id, flowRowId);

  const refs = { movementRowId: m.id, movementId: m.movement_id, causaleRef: refValue, flowRowId: decision.state === 'error' && parsed.kind === 'flow' ? (await currentFlow(db, m.ente_id, parsed.flowId))?.flowRowId ?? null : flowRowId };
  let current: ReconAnomalyType | null = null;
  if (decision.state === 'error') current = decision.anomaly;
  else if (decision.state === 'parked' && workingDaysBetween(m.booking_date, localDate(now), { extraHolidays: [] }) > PARK_WORKING_DAYS) {
    current = decision.code === 'IDF_NON_TROVATO' ? 'credit_flow_not_found' : 'credit_payment_not_found';
  }
  if (current) {
    await raiseAnomaly(db, {
            type: current,
            enteId: m.ente_id,
            refs,
            amountCents: m.amount_cents,
            detail: `Movimento ${m.movement_id} del ${m.booking_date}: ${RECON_ANOMALIES[current].label}`,
            dedupKey: `mov:${m.id}:${current}`,
          });
  }
  // A movement reconciled for the first time has no earlier anomaly to retire (ids are never reused).
  if (m.attempts > 0) {
    await autoResolve(
            db,
            "dedup_key LIKE ? AND type <> ?",
            [`mov:${m.id}:%`, current ?? ''],
            decision.state === 'matched' ? 'Riconciliato automaticamente' : 'Superato da un nuovo esito della riconciliazione',
          );
  }
  if (decision.state !== m.state || code !== m.error_code) {
    await recordAudit(r.db, { actor, action: 'movement.reconcile', entity: 'treasury_movement', entityId: m.id, enteId: m.ente_id, before: { state: m.state, code: m.error_code }, after: { state: decision.state, code, flowRowId, receiptRowId } });
  }
  return decision.state;
}

async function retryMovementsInTx(r: Recon, enteId: number | null, actor: string, now = new Date()): Promise<number> {
  const rows = await sqlAll<{ id: number }>(
    r.db,
    `SELECT id FROM treasury_movements WHERE (state = 'parked' OR (state = 'error' AND coalesce(error_code,'') <> '${MANUAL_UNMATCH_CODE}'))
       ${enteId === null ? '' : 'AND ente_id = ?'} ORDER BY id`,
    ...(enteId === null ? [] : [enteId]),
  );
  let matched = 0;
  for (const row of rows) if (await reconcileMovementInTx(r, row.id, actor, now) === 'matched') matched++;
  return matched;
}

/** Retries parked (and errored) credits; returns how many became matched. */
export async function retryParked(r: Recon, enteId: number | null = null, actor = 'system', now = new Date()): Promise<number> {
  return await r.db.transaction(async () => {
    await lockRecon(r.db);
    return await retryMovementsInTx(r, enteId, actor, now);
  }, { behavior: 'immediate' });
}

export interface StatementImportResult {
  status: 'imported' | 'unchanged';
  importId: number;
  movements: number;
  newMovements: number;
  alreadyKnown: number;
  matched: number;
  parked: number;
  errors: number;
  skipped: { line: number; reason: string }[];
}

/**
 * Imports a treasury statement (CSV layout or camt.053) for one ente, in one transaction.
 * Idempotent per (ente, movement id): a known movement with the same data is skipped, with other
 * data the whole file is refused. Any unparseable row refuses the whole file.
 */
export async function importStatement(
  r: Recon,
  input: { enteId: number; bytes: Buffer; fileName: string; actor: string; requestId?: string; now?: Date },
): Promise<StatementImportResult> {
  const parsed = parseStatement(input.bytes);
  if (parsed.problems.length) throw new ReconError(`Il file contiene ${parsed.problems.length} errori: nessun movimento è stato importato`, parsed.problems);
  return await storeStatement(r, input, { format: parsed.format, movements: parsed.movements, skipped: parsed.skipped, fileHash: sha256(input.bytes) });
}

/** Movements read from a statement (CSV, camt.053, or a joined OPI Giornale di Cassa), ready to store. */
export interface StatementBatch {
  format: 'csv' | 'camt053' | 'opi';
  movements: StatementMovement[];
  skipped: { line: number; reason: string }[];
  /** Identity of the file (one import per ente and hash). */
  fileHash: string;
  opi?: { version: string; flowId: string; pages: number };
  /** Runs in the import's transaction once the import row exists (OPI: marks the pages joined). */
  onImported?: (importId: number) => Promise<void>;
}

/**
 * Stores the movements of one statement and reconciles the new ones, in one transaction (a
 * savepoint when called inside another): the shared path of every statement format.
 */
export async function storeStatement(
  r: Recon,
  input: { enteId: number; fileName: string; actor: string; requestId?: string; now?: Date },
  parsed: StatementBatch,
): Promise<StatementImportResult> {
  const now = input.now ?? new Date();
  const fileHash = parsed.fileHash;
  const db = r.db;
  const ente = await sqlGet(db, 'SELECT id FROM enti WHERE id = ?', input.enteId);
  if (!ente) throw new ReconError('Ente inesistente', [], 404);
  const ibans = new Set((await sqlAll<{ iban: string }>(db, 'SELECT iban FROM ente_ibans WHERE ente_id = ?', input.enteId)).map((x) => x.iban.replace(/\s/g, '').toUpperCase()));
  return await r.db.transaction(async (): Promise<StatementImportResult> => {
      await lockRecon(db);
      const prev = await sqlGet<{ id: number; movements: number }>(db, 'SELECT id, movements FROM treasury_imports WHERE ente_id = ? AND sha256 = ?', input.enteId, fileHash);
      if (prev) return { status: 'unchanged', importId: prev.id, movements: prev.movements, newMovements: 0, alreadyKnown: prev.movements, matched: 0, parked: 0, errors: 0, skipped: parsed.skipped };
      const problems: StatementProblem[] = [];
      const fresh: (typeof parsed.movements[number] & { hash: string })[] = [];
      let known = 0;
      for (const mv of parsed.movements) {
        if (mv.account && !ibans.has(mv.account)) {
          const other = await sqlGet<{ name: string }>(
            db,
            "SELECT e.name FROM ente_ibans i JOIN enti e ON e.id = i.ente_id WHERE replace(upper(i.iban),' ','') = ? AND i.ente_id <> ? LIMIT 1",
            mv.account,
            input.enteId,
          );
          if (other) problems.push({ line: mv.line, field: 'iban', message: `Il conto ${mv.account} appartiene a ${other.name}, non all’ente scelto` });
        }
        const hash = movementHash(mv);
        const ex = await sqlGet<{ id: number; payload_hash: string }>(db, 'SELECT id, payload_hash FROM treasury_movements WHERE ente_id = ? AND movement_id = ?', input.enteId, mv.movementId);
        if (ex) {
          if (ex.payload_hash === hash) known++;
          else problems.push({ line: mv.line, field: 'id_movimento', message: `Il movimento ${mv.movementId} è già stato importato con dati diversi` });
          continue;
        }
        fresh.push({ ...mv, hash });
      }
      if (problems.length) throw new ReconError(`Il file contiene ${problems.length} errori: nessun movimento è stato importato`, problems, 409);
      const importId = (await sqlGet<{ id: number }>(
        db,
        'INSERT INTO treasury_imports (ente_id, format, file_name, sha256, movements, new_movements, opi_version, opi_flow_id, pages, created_by) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id',
        input.enteId,
        parsed.format,
        input.fileName.slice(0, 200),
        fileHash,
        parsed.movements.length,
        fresh.length,
        parsed.opi?.version ?? null,
        parsed.opi?.flowId ?? null,
        parsed.opi?.pages ?? null,
        input.actor,
      ))!.id;
      await parsed.onImported?.(importId);
      const counts = { matched: 0, parked: 0, errors: 0 };
      for (const mv of fresh) {
        const { id } = (await sqlGet<{ id: number }>(
          db,
          `INSERT INTO treasury_movements (ente_id, import_id, movement_id, direction, amount_cents, booking_date, value_date, causale, account, payload_hash, ref_kind, state)
           VALUES (?,?,?,?,?,?,?,?,?,?,'none','parked') RETURNING id`,
          input.enteId,
          importId,
          mv.movementId,
          mv.direction,
          mv.amountCents,
          mv.bookingDate,
          mv.valueDate,
          mv.causale,
          mv.account,
          mv.hash,
        ))!;
        const state = await reconcileMovementInTx(r, id, input.actor, now);
        if (state === 'matched') counts.matched++;
        else if (state === 'parked') counts.parked++;
        else if (state === 'error') counts.errors++;
      }
      await recordAudit(r.db, { actor: input.actor, action: 'treasury.import', entity: 'treasury_import', entityId: importId, enteId: input.enteId, after: { fileName: input.fileName, sha256: fileHash, format: parsed.format, ...parsed.opi, movements: parsed.movements.length, new: fresh.length, ...counts, skipped: parsed.skipped.length, skippedReasons: parsed.skipped.slice(0, 200) }, requestId: input.requestId });
      return { status: 'imported', importId, movements: parsed.movements.length, newMovements: fresh.length, alreadyKnown: known, ...counts, skipped: parsed.skipped };
    }, { behavior: 'immediate' });
}

// ------------------------------------------------------------------------------------ manual work

async function loadMovement(db: DbLike, id: number, allowedEnti: number[] | 'all'): Promise<MovementDb> {
  const m = await sqlGet<MovementDb>(db, 'SELECT * FROM treasury_movements WHERE id = ?', id);
  if (!m || (allowedEnti !== 'all' && !allowedEnti.includes(m.ente_id))) throw new ReconError('Movimento inesistente', [], 404);
  return m;
}

/** Manual match of a credit to a flow or a receipt of the same ente (mandatory note; amounts not enforced). */
export async function manualMatch(
  r: Recon,
  input: { movementRowId: number; flowRowId?: number; receiptRowId?: number; note: string; actor: string; allowedEnti: number[] | 'all'; requestId?: string },
): Promise<void> {
  const note = input.note.trim();
  if (note.length < 3) throw new ReconError('La nota è obbligatoria per un abbinamento manuale');
  const db = r.db;
  await r.db.transaction(async () => {
    await lockRecon(db);
    const m = await loadMovement(db, input.movementRowId, input.allowedEnti);
    if (m.direction !== 'CRDT') throw new ReconError('Solo gli accrediti possono essere abbinati');
    if (m.state === 'matched') throw new ReconError('Il movimento è già abbinato: scollegalo prima', [], 409);
    let kind: 'manual_flow' | 'manual_receipt';
    if (input.flowRowId) {
      const x = await sqlGet<{ ente_id: number; state: string; credit_movement_id: number | null }>(db, 'SELECT ente_id, state, credit_movement_id FROM fdr_flow_recon WHERE flow_row_id = ?', input.flowRowId);
      if (!x || x.ente_id !== m.ente_id) throw new ReconError('Flusso inesistente per questo ente', [], 404);
      if (x.state === 'superseded') throw new ReconError('Questa revisione del flusso è stata sostituita: scegli la più recente');
      if (x.credit_movement_id !== null) throw new ReconError('Il flusso è già abbinato a un altro movimento', [], 409);
      await sqlRun(db, 'UPDATE fdr_flow_recon SET credit_movement_id = ? WHERE flow_row_id = ?', m.id, input.flowRowId);
      kind = 'manual_flow';
    } else if (input.receiptRowId) {
      const rc = await sqlGet<{ ente_id: number }>(db, 'SELECT ente_id FROM receipts WHERE id = ?', input.receiptRowId);
      if (!rc || rc.ente_id !== m.ente_id) throw new ReconError('Ricevuta inesistente per questo ente', [], 404);
      const taken = await sqlGet(db, "SELECT id FROM treasury_movements WHERE receipt_row_id = ? AND state = 'matched'", input.receiptRowId);
      if (taken) throw new ReconError('La ricevuta è già abbinata a un altro movimento', [], 409);
      kind = 'manual_receipt';
    } else throw new ReconError('Scegli un flusso o una ricevuta');
    const stamp = new Date().toISOString();
    await sqlRun(
      db,
      "UPDATE treasury_movements SET state = 'matched', error_code = NULL, match_kind = ?, flow_row_id = ?, receipt_row_id = ?, note = ?, matched_at = ? WHERE id = ?",
      kind,
      input.flowRowId ?? null,
      input.receiptRowId ?? null,
      note,
      stamp,
      m.id,
    );
    await autoResolve(db, 'dedup_key LIKE ?', [`mov:${m.id}:%`], `Abbinato manualmente: ${note}`);
    await recordAudit(r.db, { actor: input.actor, action: 'movement.match', entity: 'treasury_movement', entityId: m.id, enteId: m.ente_id, before: { state: m.state, code: m.error_code }, after: { state: 'matched', kind, flowRowId: input.flowRowId ?? null, receiptRowId: input.receiptRowId ?? null, note }, requestId: input.requestId });
  }, { behavior: 'immediate' });
}

/** Removes a match (automatic or manual), with a mandatory note; the movement is not retried automatically afterwards. */
export async function manualUnmatch(r: Recon, input: { movementRowId: number; note: string; actor: string; allowedEnti: number[] | 'all'; requestId?: string }): Promise<void> {
  const note = input.note.trim();
  if (note.length < 3) throw new ReconError('La nota è obbligatoria per scollegare un abbinamento');
  const db = r.db;
  await r.db.transaction(async () => {
    await lockRecon(db);
    const m = await loadMovement(db, input.movementRowId, input.allowedEnti);
    if (m.state !== 'matched') throw new ReconError('Il movimento non è abbinato', [], 409);
    if (m.flow_row_id) await sqlRun(db, 'UPDATE fdr_flow_recon SET credit_movement_id = NULL WHERE flow_row_id = ? AND credit_movement_id = ?', m.flow_row_id, m.id);
    await sqlRun(
      db,
      "UPDATE treasury_movements SET state = 'error', error_code = ?, match_kind = NULL, flow_row_id = NULL, receipt_row_id = NULL, matched_at = NULL, note = ? WHERE id = ?",
      MANUAL_UNMATCH_CODE,
      note,
      m.id,
    );
    await recordAudit(r.db, { actor: input.actor, action: 'movement.unmatch', entity: 'treasury_movement', entityId: m.id, enteId: m.ente_id, before: { state: m.state, flowRowId: m.flow_row_id, receiptRowId: m.receipt_row_id }, after: { state: 'error', note }, requestId: input.requestId });
  }, { behavior: 'immediate' });
}
