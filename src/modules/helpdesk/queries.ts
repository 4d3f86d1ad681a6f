/**
 * Read side of the helpdesk: transaction search, payment timeline, flows, movements, anomalies,
 * ageing report and dashboard figures. Every query takes the caller's scope (`'all'` for the
 * helpdesk staff, else the list of enti the operator may see) and filters by it.
 */
import type { DbLike } from '../../db/client.js';
import { sqlAll, sqlGet } from '../../db/raw.js';
import type { DayPoint } from './chart.js';
import { anomalyLabel } from './matching.js';
import { isWorkingDay, localDate } from './sla-calendar.js';

export type Scope = number[] | 'all';

/** SQL fragment + params restricting `column` to the scope. */
export function scopeSql(column: string, scope: Scope): { sql: string; params: number[] } {
  if (scope === 'all') return { sql: '1 = 1', params: [] };
  if (scope.length === 0) return { sql: '0 = 1', params: [] };
  return { sql: `${column} IN (${scope.map(() => '?').join(',')})`, params: scope };
}

export function inScope(scope: Scope, enteId: number | null | undefined): boolean {
  return scope === 'all' || (enteId != null && scope.includes(enteId));
}

// ------------------------------------------------------------------------------- transactions

export const TX_STATES = {
  unpaid: 'Da pagare',
  paid: 'Pagato',
  reported: 'Rendicontato',
  reconciled: 'Riconciliato',
  cancelled: 'Annullato',
} as const;
export type TxState = keyof typeof TX_STATES;

export interface TxFilter {
  q?: string;
  iuv?: string;
  debtor?: string;
  enteId?: number;
  service?: string;
  taxonomy?: string;
  minCents?: number;
  maxCents?: number;
  from?: string;
  to?: string;
  state?: TxState;
}

/** State of an option: reconciled when its receipt is in a credited flow or credited directly. */
const STATE_SQL = `CASE
  WHEN o.status = 'cancelled' AND r.id IS NULL THEN 'cancelled'
  WHEN r.id IS NULL THEN 'unpaid'
  WHEN EXISTS (SELECT 1 FROM treasury_movements tm WHERE tm.receipt_row_id = r.id AND tm.state = 'matched')
    OR EXISTS (SELECT 1 FROM fdr_entry_matches em JOIN fdr_flow_recon x ON x.flow_row_id = em.flow_row_id
               WHERE em.receipt_row_id = r.id AND em.state IN ('matched','revoked') AND x.state = 'accepted' AND x.credit_movement_id IS NOT NULL) THEN 'reconciled'
  WHEN EXISTS (SELECT 1 FROM fdr_entry_matches em WHERE em.receipt_row_id = r.id AND em.state IN ('matched','revoked','amount_mismatch')) THEN 'reported'
  ELSE 'paid' END`;

const TX_FROM = `FROM payment_options o
  JOIN positions p ON p.id = o.position_id
  JOIN enti e ON e.id = o.ente_id
  JOIN payment_services s ON s.id = p.service_id
  LEFT JOIN receipts r ON r.option_id = o.id AND r.ente_id = o.ente_id AND r.outcome = 'OK'`;

export interface TxRow {
  optionId: number;
  enteId: number;
  enteName: string;
  noticeNumber: string;
  iuv: string;
  description: string;
  debtorName: string;
  debtorFiscalCode: string;
  serviceName: string;
  taxonomy: string;
  amountCents: number;
  dueDate: string;
  receiptRowId: number | null;
  receiptId: string | null;
  paidAt: string | null;
  pspName: string | null;
  state: TxState;
  stateLabel: string;
}

function txWhere(f: TxFilter, scope: Scope, forCount = false): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  // Several enti: the page's `+o.ente_id` filters on the way down the activity index instead of
  // reading every option of those enti by payment_options_ente_activity and sorting them.
  const sc = scopeSql(!forCount && scope !== 'all' && scope.length > 1 ? '+o.ente_id' : 'o.ente_id', scope);
  where.push(sc.sql);
  params.push(...sc.params);
  if (f.q) {
    const q = f.q.replace(/\s/g, '');
    where.push('(o.notice_number = ? OR o.iuv = ? OR r.receipt_id = ? OR r.iuv = ?)');
    params.push(q, q, q, q);
  }
  if (f.iuv) {
    where.push("o.iuv LIKE ? ESCAPE '\\'");
    params.push(`%${f.iuv.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (f.debtor) {
    const d = f.debtor.trim();
    // lower() on both sides: LIKE ignores case on SQLite, not on PostgreSQL.
    where.push("(p.debtor_fiscal_code = ? OR lower(p.debtor_name) LIKE lower(?) ESCAPE '\\')");
    params.push(d.toUpperCase(), `%${d.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (f.enteId) {
    where.push('o.ente_id = ?');
    params.push(f.enteId);
  }
  if (f.service) {
    where.push('s.code = ?');
    params.push(f.service.toUpperCase());
  }
  if (f.taxonomy) {
    where.push('s.taxonomy_code = ?');
    params.push(f.taxonomy);
  }
  if (f.minCents !== undefined) {
    where.push('o.amount_cents >= ?');
    params.push(f.minCents);
  }
  if (f.maxCents !== undefined) {
    where.push('o.amount_cents <= ?');
    params.push(f.maxCents);
  }
  // Date range: payment date when paid, else the due date.
  if (f.from) {
    where.push('coalesce(substr(r.payment_date_time, 1, 10), substr(r.created_at, 1, 10), o.due_date) >= ?');
    params.push(f.from);
  }
  if (f.to) {
    where.push('coalesce(substr(r.payment_date_time, 1, 10), substr(r.created_at, 1, 10), o.due_date) <= ?');
    params.push(f.to);
  }
  if (f.state) {
    where.push(`(${STATE_SQL}) = ?`);
    params.push(f.state);
  }
  return { sql: where.join(' AND '), params };
}

/**
 * Latest activity of an option, the order of the search (newest first): when it was paid, else
 * when it was created. Served by the indexes payment_options_activity and
 * payment_options_ente_activity (migration 0009), so a page reads its 25 rows and stops.
 */
const TX_SORT = 'coalesce(o.paid_at, o.created_at)';

/** Where a page starts (keyset paging): the sort key and id of the row next to it. */
export interface PageCursor {
  key: string;
  id: number;
}
export type TxCursor = PageCursor;

export interface TxPage {
  /** Rows matching the filters (all pages). */
  total: number;
  rows: (TxRow & { sortAt: string })[];
  /** Cursor of the next page (older rows), null on the last one. */
  next: TxCursor | null;
  /** Cursor of the previous page (newer rows), null on the first one. */
  prev: TxCursor | null;
}

/** A page cursor in a link: `<sort key>~<id>` (the key is an ISO date or timestamp). */
export const CURSOR_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}[0-9T:.Z+-]{0,25}~[0-9]{1,15}$';

export function formatCursor(c: PageCursor): string {
  return `${c.key}~${c.id}`;
}

/** The cursor of a link (already checked against CURSOR_PATTERN by the route's schema), or undefined. */
export function parseCursor(s: string | undefined): PageCursor | undefined {
  const m = s ? /^(.+)~(\d+)$/.exec(s) : null;
  return m ? { key: m[1]!, id: Number(m[2]) } : undefined;
}

/** Joins the count needs for these filters (positions, services, receipts only when filtered on). */
function txCountFrom(f: TxFilter): string {
  const needsPosition = Boolean(f.debtor || f.service || f.taxonomy);
  const needsService = Boolean(f.service || f.taxonomy);
  const needsReceipt = Boolean(f.q || f.from || f.to || f.state);
  return [
    'FROM payment_options o',
    needsPosition ? 'JOIN positions p ON p.id = o.position_id' : '',
    needsService ? 'JOIN payment_services s ON s.id = p.service_id' : '',
    needsReceipt ? "LEFT JOIN receipts r ON r.option_id = o.id AND r.ente_id = o.ente_id AND r.outcome = 'OK'" : '',
  ].join(' ');
}

/** The SQL of one page of the search (exported for the plan test): `limit` rows from `cursor`. */
export function txPageQuery(f: TxFilter, scope: Scope, o: { cursor?: PageCursor; backwards?: boolean; limit: number }): { sql: string; params: unknown[] } {
  const w = txWhere(f, scope);
  // `sort <= ?` is the range the index serves; the OR breaks ties on the option id.
  const keyset = o.cursor ? (o.backwards ? `AND ${TX_SORT} >= ? AND (${TX_SORT} > ? OR o.id > ?)` : `AND ${TX_SORT} <= ? AND (${TX_SORT} < ? OR o.id < ?)`) : '';
  const dir = o.backwards ? 'ASC' : 'DESC';
  return {
    sql: `SELECT o.id AS "optionId", o.ente_id AS "enteId", e.name AS "enteName", o.notice_number AS "noticeNumber", o.iuv, coalesce(o.description, p.description) AS description,
         p.debtor_name AS "debtorName", p.debtor_fiscal_code AS "debtorFiscalCode", s.name AS "serviceName", s.taxonomy_code AS taxonomy, o.amount_cents AS "amountCents",
         o.due_date AS "dueDate", r.id AS "receiptRowId", r.receipt_id AS "receiptId", coalesce(r.payment_date_time, r.created_at) AS "paidAt", r.psp_company_name AS "pspName",
         ${STATE_SQL} AS state, ${TX_SORT} AS "sortAt"
       ${TX_FROM} WHERE ${w.sql} ${keyset} ORDER BY ${TX_SORT} ${dir}, o.id ${dir} LIMIT ?`,
    params: [...w.params, ...(o.cursor ? [o.cursor.key, o.cursor.key, o.cursor.id] : []), o.limit],
  };
}

/**
 * One page of the transaction search, newest activity first, by keyset: `after` gives the page
 * of older rows that follows a page, `before` the page of newer rows that precedes it, neither
 * the first page. Every page costs the same (no OFFSET). `pageSize` up to 50 000 (CSV export).
 */
export async function searchTransactions(
  db: DbLike,
  f: TxFilter,
  scope: Scope,
  opts: { after?: TxCursor; before?: TxCursor; pageSize?: number } = {},
): Promise<TxPage> {
  const pageSize = opts.pageSize ?? 25;
  const c = txWhere(f, scope, true);
  const total = ((await sqlGet(db, `SELECT count(*) AS n ${txCountFrom(f)} WHERE ${c.sql}`, ...c.params)) as { n: number }).n;
  const backwards = !opts.after && Boolean(opts.before);
  const q = txPageQuery(f, scope, { cursor: opts.after ?? opts.before, backwards, limit: pageSize + 1 });
  const rows = (await sqlAll(db, q.sql, ...q.params)) as (TxRow & { sortAt: string })[];
  const cursor = opts.after ?? opts.before;
  const more = rows.length > pageSize;
  // Back at the newest rows: that is the first page, whole (rows added since may have shifted it).
  if (backwards && !more) return await searchTransactions(db, f, scope, { pageSize });
  if (more) rows.pop();
  if (backwards) rows.reverse();
  for (const r of rows) r.stateLabel = TX_STATES[r.state];
  const key = (r: (TxRow & { sortAt: string }) | undefined): TxCursor | null => (r ? { key: r.sortAt, id: r.optionId } : null);
  const first = key(rows[0]);
  const last = key(rows[rows.length - 1]);
  return backwards ? { total, rows, prev: first, next: last } : { total, rows, prev: cursor ? (first ?? cursor) : null, next: more ? last : null };
}

// ------------------------------------------------------------------------------- timeline

export interface TimelineEvent {
  at: string;
  what: string;
  source: string;
  detail?: string;
  ok: boolean;
  link?: string;
}

export interface PaymentDetail {
  tx: TxRow;
  events: TimelineEvent[];
  receipts: { id: number; receiptId: string; amountCents: number; psp: string; processing: string }[];
  anomalies: { id: number; type: string; label: string; status: string }[];
}

/** Anomalies that name the payment: by IUV or notice number, or by one of the IUV's receipts. */
const TIMELINE_ANOMALIES_SQL = {
  sqlite: `SELECT id, type, status FROM anomalies WHERE ente_id = ? AND (json_extract(refs, '$.iuv') = ? OR json_extract(refs, '$.noticeNumber') = ?
    OR json_extract(refs, '$.receiptRowId') IN (SELECT id FROM receipts WHERE ente_id = ? AND iuv = ?)) ORDER BY id`,
  postgres: `SELECT id, type, status FROM anomalies WHERE ente_id = ? AND ((refs::json ->> 'iuv') = ? OR (refs::json ->> 'noticeNumber') = ?
    OR (refs::json ->> 'receiptRowId') IN (SELECT id::text FROM receipts WHERE ente_id = ? AND iuv = ?)) ORDER BY id`,
};

export async function paymentTimeline(db: DbLike, optionId: number, scope: Scope): Promise<PaymentDetail | null> {
  const w = scopeSql('o.ente_id', scope);
  const tx = (await sqlGet(db, `SELECT o.id AS "optionId", o.ente_id AS "enteId", e.name AS "enteName", e.fiscal_code AS "enteCf", o.notice_number AS "noticeNumber", o.iuv, coalesce(o.description, p.description) AS description,
         p.debtor_name AS "debtorName", p.debtor_fiscal_code AS "debtorFiscalCode", s.name AS "serviceName", s.taxonomy_code AS taxonomy, o.amount_cents AS "amountCents",
         o.due_date AS "dueDate", r.id AS "receiptRowId", r.receipt_id AS "receiptId", coalesce(r.payment_date_time, r.created_at) AS "paidAt", r.psp_company_name AS "pspName",
         ${STATE_SQL} AS state, p.id AS "positionId", p.created_at AS "positionCreated", p.published_at AS "publishedAt"
       ${TX_FROM} WHERE o.id = ? AND ${w.sql} LIMIT 1`, optionId, ...w.params)) as (TxRow & { enteCf: string; positionId: number; positionCreated: string; publishedAt: string | null }) | undefined;
  if (!tx) return null;
  tx.stateLabel = TX_STATES[tx.state];
  const events: TimelineEvent[] = [];
  events.push({ at: tx.positionCreated, what: 'Posizione debitoria creata', source: 'Back office / API', ok: true });
  if (tx.publishedAt) events.push({ at: tx.publishedAt, what: 'Posizione pubblicata (avviso pagabile)', source: 'Back office / API', ok: true });
  const audits = (await sqlAll(db, "SELECT created_at AS at, action, actor FROM audit_log WHERE entity = 'position' AND entity_id = ? AND (action LIKE '%print%' OR action LIKE '%notice%') ORDER BY id", String(tx.positionId))) as { at: string; action: string; actor: string }[];
  for (const a of audits) events.push({ at: a.at, what: 'Avviso stampato', source: a.actor.startsWith('user:') ? 'Back office' : a.actor, ok: true });
  const prints = (await sqlAll(db, "SELECT created_at AS at FROM jobs WHERE kind LIKE '%print%' AND ente_id = ? AND input LIKE ? ORDER BY id", tx.enteId, `%${tx.noticeNumber}%`)) as { at: string }[];
  for (const p of prints) events.push({ at: p.at, what: 'Avviso incluso in una stampa massiva', source: 'Back office', ok: true });
  const calls = (await sqlAll(db, 'SELECT created_at AS at, operation, outcome, fault_code AS fault FROM node_calls WHERE fiscal_code = ? AND notice_number = ? ORDER BY id', tx.enteCf, tx.noticeNumber)) as { at: string; operation: string; outcome: string; fault: string | null }[];
  for (const c of calls) events.push({ at: c.at, what: `Nodo pagoPA: ${c.operation}`, source: 'Nodo dei pagamenti', detail: c.outcome === 'OK' ? 'esito OK' : `esito KO ${c.fault ?? ''}`, ok: c.outcome === 'OK' });
  const receipts = (await sqlAll(db, `SELECT r.id, r.receipt_id AS "receiptId", r.payment_amount_cents AS "amountCents", r.psp_company_name AS psp, r.processing, r.created_at AS at, r.primitive
       FROM receipts r WHERE r.ente_id = ? AND r.iuv = ? ORDER BY r.id`, tx.enteId, tx.iuv)) as { id: number; receiptId: string; amountCents: number; psp: string; processing: string; at: string; primitive: string }[];
  for (const r of receipts) {
    events.push({ at: r.at, what: `Ricevuta ${r.receiptId} (${r.primitive})`, source: `PSP ${r.psp}`, detail: r.processing === 'flagged' ? 'ricevuta segnalata come anomala' : undefined, ok: r.processing !== 'flagged', link: `/helpdesk/ricevute/${r.id}.pdf` });
    const rows = (await sqlAll(db, `SELECT em.state, f.id AS "flowRowId", f.flow_id AS "flowId", f.created_at AS at, x.revision, x.credit_movement_id AS credit
         FROM fdr_entry_matches em JOIN fdr_flows f ON f.id = em.flow_row_id JOIN fdr_flow_recon x ON x.flow_row_id = f.id
         WHERE em.receipt_row_id = ? ORDER BY f.id`, r.id)) as { state: string; flowRowId: number; flowId: string; at: string; revision: number; credit: number | null }[];
    for (const row of rows) {
      events.push({ at: row.at, what: `Riga nel flusso di rendicontazione ${row.flowId} (rev. ${row.revision})`, source: 'Flusso di rendicontazione', detail: row.state, ok: row.state === 'matched' || row.state === 'revoked', link: `/helpdesk/flussi/${row.flowRowId}` });
      if (row.credit && row.state !== 'superseded') {
        const m = (await sqlGet(db, 'SELECT movement_id AS "movementId", booking_date AS d, matched_at AS at FROM treasury_movements WHERE id = ?', row.credit)) as { movementId: string; d: string; at: string | null };
        events.push({ at: `${m.d}T12:00:00Z`, what: `Accredito del tesoriere ${m.movementId}`, source: 'Tesoreria', ok: true, link: '/helpdesk/tesoreria' });
        if (m.at) events.push({ at: m.at, what: 'Riconciliato', source: 'Riconciliazione', ok: true });
      }
    }
    const direct = (await sqlAll(db, `SELECT movement_id AS "movementId", booking_date AS d, matched_at AS at FROM treasury_movements WHERE receipt_row_id = ? AND state = 'matched'`, r.id)) as {
      movementId: string;
      d: string;
      at: string | null;
    }[];
    for (const m of direct) {
      events.push({ at: `${m.d}T12:00:00Z`, what: `Accredito singolo del tesoriere ${m.movementId}`, source: 'Tesoreria', ok: true, link: '/helpdesk/tesoreria' });
      if (m.at) events.push({ at: m.at, what: 'Riconciliato', source: 'Riconciliazione', ok: true });
    }
  }
  events.sort((a, b) => a.at.localeCompare(b.at));
  const anomalies = (
    (await sqlAll(db, TIMELINE_ANOMALIES_SQL, tx.enteId, tx.iuv, tx.noticeNumber, tx.enteId, tx.iuv)) as { id: number; type: string; status: string }[]
  ).map((a) => ({ ...a, label: anomalyLabel(a.type) }));
  return { tx, events, receipts, anomalies };
}

// ------------------------------------------------------------------------------- anomalies

export const ANOMALY_STATUSES = { open: 'Aperta', in_progress: 'In lavorazione', resolved: 'Risolta', dismissed: 'Archiviata', closed: 'Risolta' } as const;

export interface AnomalyFilter {
  type?: string;
  status?: string;
  enteId?: number;
  olderThanDays?: number;
}

export interface AnomalyRow {
  id: number;
  type: string;
  label: string;
  code: string | null;
  enteId: number | null;
  enteName: string | null;
  amountCents: number | null;
  detail: string | null;
  status: string;
  statusLabel: string;
  assignee: string | null;
  createdAt: string;
  ageDays: number;
  refs: Record<string, unknown>;
}

export async function listAnomalies(db: DbLike, f: AnomalyFilter, scope: Scope, limit = 200): Promise<AnomalyRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const sc = scopeSql('a.ente_id', scope);
  where.push(sc.sql);
  params.push(...sc.params);
  if (f.type) {
    where.push('a.type = ?');
    params.push(f.type);
  }
  if (f.status === 'active') where.push("a.status IN ('open','in_progress')");
  else if (f.status) {
    where.push('a.status = ?');
    params.push(f.status);
  }
  if (f.enteId) {
    where.push('a.ente_id = ?');
    params.push(f.enteId);
  }
  if (f.olderThanDays) {
    where.push('a.created_at <= ?');
    params.push(new Date(Date.now() - f.olderThanDays * 86_400_000).toISOString());
  }
  const rows = (await sqlAll(db, `SELECT a.id, a.type, a.code, a.ente_id AS "enteId", e.name AS "enteName", a.amount_cents AS "amountCents", a.detail, a.status, a.created_at AS "createdAt", a.refs,
         trim(coalesce(u.name,'') || ' ' || coalesce(u.family_name,'')) AS assignee
       FROM anomalies a LEFT JOIN enti e ON e.id = a.ente_id LEFT JOIN users u ON u.id = a.assignee_id
       WHERE ${where.join(' AND ')} ORDER BY a.id DESC LIMIT ?`, ...params, limit)) as (Omit<AnomalyRow, 'refs' | 'label' | 'statusLabel' | 'ageDays'> & { refs: string })[];
  const now = Date.now();
  return rows.map((r) => ({
    ...r,
    assignee: r.assignee || null,
    refs: JSON.parse(r.refs) as Record<string, unknown>,
    label: anomalyLabel(r.type),
    statusLabel: ANOMALY_STATUSES[r.status as keyof typeof ANOMALY_STATUSES] ?? r.status,
    ageDays: Math.floor((now - new Date(r.createdAt).getTime()) / 86_400_000),
  }));
}

export async function anomalyCounts(db: DbLike, scope: Scope): Promise<{ type: string; label: string; open: number; total: number }[]> {
  const sc = scopeSql('ente_id', scope);
  return (
    (await sqlAll(db, `SELECT type, sum(CASE WHEN status IN ('open','in_progress') THEN 1 ELSE 0 END) AS open, count(*) AS total FROM anomalies WHERE ${sc.sql} GROUP BY type ORDER BY open DESC, type`, ...sc.params)) as { type: string; open: number; total: number }[]
  ).map((r) => ({ ...r, label: anomalyLabel(r.type) }));
}

export interface AgeingRow {
  receiptRowId: number;
  enteName: string;
  iuv: string;
  receiptId: string;
  amountCents: number;
  paidOn: string;
  workingDays: number;
  reported: boolean;
}

/** Day a receipt was paid (local date of the PSP's payment time, else of its arrival). */
const PAID_ON = 'substr(coalesce(r.payment_date_time, r.created_at), 1, 10)';

export type AgeingCursor = PageCursor;

/**
 * Paid receipts paid on or before `cutoff` whose money has not reached the treasury yet (oldest
 * first), within the scope, one page of `limit` rows by keyset (`cursor`: the row next to the
 * page, `backwards` for the page before it). Ordered by the partial index receipts_ok_paid_on
 * (migration 0009): a page reads receipts from the cursor on and stops when it has `:limit` rows,
 * instead of evaluating every receipt ever stored. Receipts already credited are skipped on the
 * way (two index probes each), so a page costs more where nearly everything is credited.
 */
export function ageingQuery(scope: Scope, opts: { cutoff: string; cursor?: AgeingCursor; backwards?: boolean; limit: number }): { sql: string; params: unknown[] } {
  // `+r.ente_id`: the scope filters rows on the way down the day index; as a plain column SQLite
  // would read all the ente's receipts by receipts_ente_received and sort them.
  const sc = scopeSql('+r.ente_id', scope);
  const dir = opts.backwards ? 'DESC' : 'ASC';
  const keyset = !opts.cursor ? '' : opts.backwards ? `AND ${PAID_ON} <= ? AND (${PAID_ON} < ? OR r.id < ?)` : `AND ${PAID_ON} >= ? AND (${PAID_ON} > ? OR r.id > ?)`;
  const sql = `SELECT r.id AS "receiptRowId", e.name AS "enteName", r.iuv, r.receipt_id AS "receiptId",
     coalesce((SELECT sum(t.amount_cents) FROM receipt_transfers t WHERE t.receipt_row_id = r.id AND t.fiscal_code_pa = e.fiscal_code), 0) AS "amountCents",
     ${PAID_ON} AS "paidOn",
     CASE WHEN EXISTS (SELECT 1 FROM fdr_entry_matches em WHERE em.receipt_row_id = r.id AND em.state IN ('matched','revoked','amount_mismatch')) THEN 1 ELSE 0 END AS reported
   FROM receipts r JOIN enti e ON e.id = r.ente_id
   WHERE ${sc.sql} AND r.outcome = 'OK' AND ${PAID_ON} <= ? ${keyset}
     AND EXISTS (SELECT 1 FROM receipt_transfers t WHERE t.receipt_row_id = r.id AND t.fiscal_code_pa = e.fiscal_code AND t.amount_cents > 0)
     AND NOT EXISTS (SELECT 1 FROM treasury_movements tm WHERE tm.receipt_row_id = r.id AND tm.state = 'matched')
     AND NOT EXISTS (SELECT 1 FROM fdr_entry_matches em JOIN fdr_flow_recon x ON x.flow_row_id = em.flow_row_id
                     WHERE em.receipt_row_id = r.id AND em.state IN ('matched','revoked') AND x.credit_movement_id IS NOT NULL)
   ORDER BY ${PAID_ON} ${dir}, r.id ${dir} LIMIT ?`;
  return { sql, params: [...sc.params, opts.cutoff, ...(opts.cursor ? [opts.cursor.key, opts.cursor.key, opts.cursor.id] : []), opts.limit] };
}

/**
 * The latest day a payment may have been made to be at least `days` working days old today:
 * working days are counted back from today (workingDaysBetween(day, today) >= days for every day
 * up to it, and it grows as the day gets older).
 */
export function ageingCutoff(today: string, days: number, extraHolidays: string[]): string {
  const d = new Date(`${today}T12:00:00Z`);
  for (let n = 0, guard = 0; n < days && guard < 3700; guard++) {
    if (isWorkingDay(d.toISOString().slice(0, 10), { extraHolidays })) n++;
    d.setUTCDate(d.getUTCDate() - 1);
  }
  return d.toISOString().slice(0, 10);
}

/**
 * workingDaysBetween(day, today) for each of `days`, in one walk back from today to the oldest
 * (a calendar check per day, not per row: a page of a year-old backlog took 4 ms a row).
 */
export function workingDaysSince(days: string[], today: string, extraHolidays: string[]): Map<string, number> {
  const out = new Map<string, number>();
  const oldest = days.reduce((m, d) => (d < m ? d : m), today);
  const d = new Date(`${today}T12:00:00Z`);
  let n = 0;
  for (let guard = 0; guard < 3700; guard++) {
    const day = d.toISOString().slice(0, 10);
    out.set(day, n);
    if (day <= oldest) break;
    if (isWorkingDay(day, { extraHolidays })) n++;
    d.setUTCDate(d.getUTCDate() - 1);
  }
  for (const day of days) if (day > today) out.set(day, 0);
  return out;
}

export interface AgeingPage {
  rows: AgeingRow[];
  /** Latest payment day in the report. */
  cutoff: string;
  next: AgeingCursor | null;
  prev: AgeingCursor | null;
}

/**
 * Money collected (receipts OK) for the ente and not credited by the treasury after N working
 * days, oldest first, one page at a time (`after` a page's last row, or `before` its first).
 */
export async function ageingReport(
  db: DbLike,
  scope: Scope,
  days: number,
  extraHolidays: string[],
  now = new Date(),
  opts: { after?: AgeingCursor; before?: AgeingCursor; pageSize?: number } = {},
): Promise<AgeingPage> {
  const pageSize = opts.pageSize ?? 100;
  const today = localDate(now);
  const cutoff = ageingCutoff(today, days, extraHolidays);
  const backwards = !opts.after && Boolean(opts.before);
  const cursor = opts.after ?? opts.before;
  const q = ageingQuery(scope, { cutoff, cursor, backwards, limit: pageSize + 1 });
  const raw = (await sqlAll(db, q.sql, ...q.params)) as (Omit<AgeingRow, 'workingDays' | 'reported'> & { reported: number })[];
  const more = raw.length > pageSize;
  if (backwards && !more) return await ageingReport(db, scope, days, extraHolidays, now, { pageSize });
  if (more) raw.pop();
  if (backwards) raw.reverse();
  const age = workingDaysSince(raw.map((r) => r.paidOn), today, extraHolidays);
  const rows = raw.map((r) => ({ ...r, reported: r.reported === 1, workingDays: age.get(r.paidOn) ?? 0 }));
  const key = (r: AgeingRow | undefined): AgeingCursor | null => (r ? { key: r.paidOn, id: r.receiptRowId } : null);
  const first = key(rows[0]);
  const last = key(rows[rows.length - 1]);
  return backwards
    ? { rows, cutoff, prev: first, next: last }
    : { rows, cutoff, prev: cursor ? (first ?? cursor) : null, next: more ? last : null };
}

// ------------------------------------------------------------------------------- flows and treasury

/** How a flow arrived, and its reconciliation state, in Italian. */
export const FLOW_SOURCE_LABELS: Record<string, string> = { nodoChiedi: 'nodoChiedi* (SOAP)', fdrRest: 'API FdR 3 (REST)', upload: 'caricato' };
export const FLOW_STATE_LABELS: Record<string, string> = { accepted: 'Accettato', anomalous: 'Anomalo', superseded: 'Sostituito', pending: 'Da elaborare' };
const withLabels = <T extends Record<string, unknown>>(r: T) => ({ ...r, sourceLabel: FLOW_SOURCE_LABELS[String(r.source)] ?? r.source, stateLabel: FLOW_STATE_LABELS[String(r.state)] ?? r.state });

export async function listFlows(db: DbLike, scope: Scope, limit = 200) {
  const sc = scopeSql('f.ente_id', scope);
  return (await sqlAll(db, `SELECT f.id, f.flow_id AS "flowId", f.flow_date_time AS "flowDateTime", f.psp_id AS "pspId", coalesce(f.psp_name, f.psp_id) AS "pspName", e.name AS "enteName",
         f.total_payments AS "totalPayments", f.total_amount_cents AS "totalAmountCents", f.source, f.settlement_date AS "settlementDate",
         coalesce(x.revision, f.revision) AS revision, CASE WHEN f.superseded_at IS NOT NULL THEN 'superseded' ELSE coalesce(x.state, 'pending') END AS state, x.matched_rows AS matched, x.anomaly_rows AS "anomalyRows", x.credit_movement_id AS credit
       FROM fdr_flows f JOIN enti e ON e.id = f.ente_id LEFT JOIN fdr_flow_recon x ON x.flow_row_id = f.id
       WHERE ${sc.sql} ORDER BY f.id DESC LIMIT ?`, ...sc.params, limit))
    .map((r) => withLabels(r as Record<string, unknown>));
}

export async function flowDetail(db: DbLike, id: number, scope: Scope) {
  const sc = scopeSql('f.ente_id', scope);
  const flow = (await sqlGet(db, `SELECT f.id, f.ente_id AS "enteId", e.name AS "enteName", f.flow_id AS "flowId", f.flow_date_time AS "flowDateTime", f.psp_id AS "pspId", f.psp_name AS "pspName",
         f.settlement_id AS "settlementId", f.settlement_date AS "settlementDate", f.bic, f.receiver_fiscal_code AS receiver, f.total_payments AS "totalPayments",
         f.total_amount_cents AS "totalAmountCents", f.source, f.created_at AS "downloadedAt", coalesce(x.revision, f.revision) AS revision,
         CASE WHEN f.superseded_at IS NOT NULL THEN 'superseded' ELSE coalesce(x.state,'pending') END AS state, x.superseded_by AS "supersededBy", f.superseded_at AS "supersededAt",
         x.count_ok AS "countOk", x.sum_ok AS "sumOk", x.computed_count AS "computedCount", x.computed_sum_cents AS "computedSumCents", x.credit_movement_id AS credit
       FROM fdr_flows f JOIN enti e ON e.id = f.ente_id LEFT JOIN fdr_flow_recon x ON x.flow_row_id = f.id WHERE f.id = ? AND ${sc.sql}`, id, ...sc.params)) as Record<string, unknown> | undefined;
  if (!flow) return null;
  Object.assign(flow, withLabels(flow));
  const rows = (await sqlAll(db, `SELECT en.ordinal, en.iuv, en.iur, en.transfer_index AS idx, abs(en.amount_cents) AS "amountCents", en.outcome_code AS outcome, coalesce(m.state, '') AS state,
         m.receipt_row_id AS "receiptRowId", r.option_id AS "optionId"
       FROM fdr_entries en LEFT JOIN fdr_entry_matches m ON m.entry_id = en.id LEFT JOIN receipts r ON r.id = m.receipt_row_id
       WHERE en.flow_row_id = ? ORDER BY en.ordinal LIMIT 2000`, id)) as Record<string, unknown>[];
  const movement = flow.credit ? (await sqlGet(db, 'SELECT id, movement_id AS "movementId", amount_cents AS "amountCents", booking_date AS "bookingDate" FROM treasury_movements WHERE id = ?', flow.credit)) : null;
  // Every revision of the flow, oldest first; the live one (not superseded) is the one that counts.
  const revisions = (
    (await sqlAll(db, `SELECT f.id, f.flow_date_time AS "flowDateTime", coalesce(x.revision, f.revision) AS revision, f.source, f.superseded_at AS "supersededAt",
           CASE WHEN f.superseded_at IS NOT NULL THEN 'superseded' ELSE coalesce(x.state, 'pending') END AS state
         FROM fdr_flows f LEFT JOIN fdr_flow_recon x ON x.flow_row_id = f.id WHERE f.ente_id = ? AND f.flow_id = ? ORDER BY f.revision, f.flow_date_time, f.id`, flow.enteId, flow.flowId)) as { id: number; state: string; source: string; supersededAt: string | null }[]
  ).map((r) => ({ ...withLabels(r), live: r.state !== 'superseded', current: r.id === flow.id }));
  const live = revisions.find((r) => r.live) ?? null;
  return { flow, rows, movement, revisions, live };
}

export const MOVEMENT_STATES = { matched: 'Abbinato', parked: 'In sospeso', error: 'Errore', not_pagopa: 'Non pagoPA', debit: 'Addebito' } as const;

export async function listMovements(db: DbLike, scope: Scope, state?: string, limit = 300) {
  const sc = scopeSql('m.ente_id', scope);
  const rows = (await sqlAll(db, `SELECT m.id, m.ente_id AS "enteId", e.name AS "enteName", m.movement_id AS "movementId", m.direction, m.amount_cents AS "amountCents", m.booking_date AS "bookingDate",
         m.causale, m.state, m.error_code AS "errorCode", m.match_kind AS "matchKind", m.flow_row_id AS "flowRowId", m.receipt_row_id AS "receiptRowId", m.note, m.ref_value AS "refValue",
         f.flow_id AS "flowId"
       FROM treasury_movements m JOIN enti e ON e.id = m.ente_id LEFT JOIN fdr_flows f ON f.id = m.flow_row_id
       WHERE ${sc.sql} ${state ? 'AND m.state = ?' : ''} ORDER BY m.id DESC LIMIT ?`, ...sc.params, ...(state ? [state] : []), limit)) as Record<string, unknown>[];
  return rows.map((r) => ({ ...r, stateLabel: MOVEMENT_STATES[r.state as keyof typeof MOVEMENT_STATES] ?? r.state }));
}

// ------------------------------------------------------------------------------- dashboard

export async function dashboard(db: DbLike, scope: Scope, days = 30, now = new Date()) {
  const sc = scopeSql('r.ente_id', scope);
  const since = new Date(now.getTime() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  const perDay = (await sqlAll(db, `SELECT substr(coalesce(r.payment_date_time, r.created_at), 1, 10) AS day, count(*) AS count, sum(r.payment_amount_cents) AS cents
       FROM receipts r WHERE ${sc.sql} AND r.outcome = 'OK' AND r.processing <> 'secondary' AND substr(coalesce(r.payment_date_time, r.created_at), 1, 10) >= ? GROUP BY day ORDER BY day`, ...sc.params, since)) as DayPoint[];
  const series: DayPoint[] = [];
  for (let i = 0; i < days; i++) {
    const d = new Date(new Date(`${since}T12:00:00Z`).getTime() + i * 86_400_000).toISOString().slice(0, 10);
    series.push(perDay.find((p) => p.day === d) ?? { day: d, count: 0, cents: 0 });
  }
  const perEnte = (await sqlAll(db, `SELECT e.name AS "enteName", count(*) AS count, sum(r.payment_amount_cents) AS cents FROM receipts r JOIN enti e ON e.id = r.ente_id
       WHERE ${sc.sql} AND r.outcome = 'OK' AND r.processing <> 'secondary' AND substr(coalesce(r.payment_date_time, r.created_at), 1, 10) >= ? GROUP BY e.id ORDER BY cents DESC LIMIT 12`, ...sc.params, since)) as { enteName: string; count: number; cents: number }[];
  const tsc = scopeSql('ente_id', scope);
  const tickets = (await sqlAll(db, `SELECT status, count(*) AS n, sum(CASE WHEN tto_breached = 1 OR ttr_breached = 1 THEN 1 ELSE 0 END) AS breached FROM tickets WHERE ${tsc.sql} GROUP BY status`, ...tsc.params)) as { status: string; n: number; breached: number }[];
  const rec = (await sqlGet(db, `SELECT count(*) AS total, sum(CASE WHEN EXISTS (SELECT 1 FROM treasury_movements tm WHERE tm.receipt_row_id = r.id AND tm.state = 'matched')
          OR EXISTS (SELECT 1 FROM fdr_entry_matches em JOIN fdr_flow_recon x ON x.flow_row_id = em.flow_row_id
                     WHERE em.receipt_row_id = r.id AND em.state IN ('matched','revoked') AND x.credit_movement_id IS NOT NULL) THEN 1 ELSE 0 END) AS reconciled
       FROM receipts r WHERE ${sc.sql} AND r.outcome = 'OK'`, ...sc.params)) as { total: number; reconciled: number | null };
  const msc = scopeSql('ente_id', scope);
  const movements = (await sqlAll(db, `SELECT state, count(*) AS n FROM treasury_movements WHERE ${msc.sql} GROUP BY state`, ...msc.params)) as { state: string; n: number }[];
  return {
    series,
    perEnte,
    anomalies: await anomalyCounts(db, scope),
    tickets,
    reconciliation: { total: rec.total, reconciled: rec.reconciled ?? 0, percent: rec.total ? Math.round(((rec.reconciled ?? 0) / rec.total) * 1000) / 10 : 0 },
    movements,
  };
}

