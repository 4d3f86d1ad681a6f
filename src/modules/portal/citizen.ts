/**
 * What a logged-in citizen may see: the positions whose debtor fiscal code is theirs, across every
 * ente, and their receipts. Every query here is filtered by that fiscal code; a position, option or
 * receipt of someone else is simply not found (the routes answer 404, never 403, so nothing leaks).
 */
import { and, desc, eq, inArray, ne, sql } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { sqlAll } from '../../db/raw.js';
import { formatEuro } from '../../domain/money.js';
import { auditLog } from '../../plugins/audit/schema.js';
import { checkPayable } from '../pagopa/payment-state.js';
import { checkoutCarts, receipts } from '../pagopa/schema.js';
import { formatNoticeNumber } from '../positions/numbers.js';
import type { OptionDetail, PositionDetail, PositionRow } from '../positions/repository.js';
import { paymentOptions, positions } from '../positions/schema.js';
import { todayInItaly } from '../positions/service.js';
import { installmentLabel } from './lookup.js';

export type OptionGroup = 'toPay' | 'paid' | 'expired' | 'cancelled' | 'hidden';

export interface CitizenOption {
  id: number;
  noticeNumber: string;
  /** Display fields, filled by {@link present} only for what a page shows. */
  noticeNumberDisplay?: string;
  label: string;
  description: string | null;
  amountCents: number;
  amount?: string;
  dueDate: string;
  overdue: boolean;
  payable: boolean;
  notYetValid: boolean;
  printable: boolean;
  paidAt: string | null;
  receiptId: number | null;
  group: OptionGroup;
}

export interface CitizenPosition {
  id: number;
  enteId: number;
  enteName: string;
  serviceName: string;
  description: string;
  status: string;
  statusLabel: string;
  options: CitizenOption[];
}

export const CITIZEN_STATUS_LABELS: Record<string, string> = {
  published: 'Da pagare',
  partially_paid: 'Pagata in parte',
  paid: 'Pagata',
  expired: 'Scaduta',
  cancelled: 'Annullata',
};

/** The columns of positions and options the citizen pages need (one narrow joined read). */
interface Row {
  pId: number;
  enteId: number;
  enteName: string;
  serviceName: string;
  pDescription: string;
  pStatus: PositionRow['status'];
  validityDate: string | null;
  switchToExpired: number;
  oId: number;
  kind: 'single' | 'installment';
  installmentNumber: number | null;
  installmentCount: number | null;
  oDescription: string | null;
  amountCents: number;
  dueDate: string;
  noticeNumber: string;
  oStatus: 'unpaid' | 'paid' | 'cancelled';
  paidAt: string | null;
  receiptId: number | null;
}

const CITIZEN_ROWS = `
  SELECT p.id AS "pId", p.ente_id AS "enteId", e.name AS "enteName", s.name AS "serviceName", p.description AS "pDescription",
         p.status AS "pStatus", p.validity_date AS "validityDate", p.switch_to_expired AS "switchToExpired",
         o.id AS "oId", o.kind, o.installment_number AS "installmentNumber", o.installment_count AS "installmentCount",
         o.description AS "oDescription", o.amount_cents AS "amountCents", o.due_date AS "dueDate", o.notice_number AS "noticeNumber",
         o.status AS "oStatus", o.paid_at AS "paidAt",
         (SELECT max(r.id) FROM receipts r WHERE r.option_id = o.id AND r.outcome = 'OK' AND r.id_pa = r.fiscal_code
            AND r.debtor_fiscal_code = p.debtor_fiscal_code) AS "receiptId"
    FROM positions p
    JOIN enti e ON e.id = p.ente_id
    JOIN payment_services s ON s.id = p.service_id
    JOIN payment_options o ON o.position_id = p.id
   WHERE p.debtor_fiscal_code = ? AND p.status <> 'draft'`;

const CITIZEN_ROWS_OF_POSITION = `${CITIZEN_ROWS} AND p.id = ? ORDER BY p.id DESC, o.ordinal`;
const CITIZEN_ROWS_ALL = `${CITIZEN_ROWS} ORDER BY p.id DESC, o.ordinal`;

function classify(r: Row, today: string): { group: OptionGroup; payable: boolean; notYetValid: boolean } {
  if (r.oStatus === 'paid') return { group: 'paid', payable: false, notYetValid: false };
  if (r.pStatus === 'cancelled') return { group: 'cancelled', payable: false, notYetValid: false };
  if (r.oStatus === 'cancelled') return { group: 'hidden', payable: false, notYetValid: false };
  // The same rule as paVerifyPaymentNotice (checkPayable reads only these fields).
  const position = { status: r.pStatus, validityDate: r.validityDate, switchToExpired: r.switchToExpired === 1 } as PositionDetail;
  const option = { status: r.oStatus, dueDate: r.dueDate } as OptionDetail;
  const verdict = checkPayable({ position, option }, today);
  if (!verdict) return { group: 'toPay', payable: true, notYetValid: false };
  switch (verdict.code) {
    case 'PAA_PAGAMENTO_SCADUTO':
      return { group: 'expired', payable: false, notYetValid: false };
    case 'PAA_PAGAMENTO_ANNULLATO':
      return { group: 'cancelled', payable: false, notYetValid: false };
    case 'PAA_PAGAMENTO_SCONOSCIUTO':
      return { group: 'toPay', payable: false, notYetValid: true };
    default:
      return { group: 'hidden', payable: false, notYetValid: false };
  }
}

/**
 * The citizen's positions (published or later; drafts are the ente's business) with their options,
 * each classified, newest position first: one prepared statement.
 */
export async function citizenPositions(db: DbLike, fiscalCode: string, opts: { positionId?: number; now?: Date } = {}): Promise<CitizenPosition[]> {
  const today = todayInItaly(opts.now);
  const cf = fiscalCode.toUpperCase();
  const rows =
    opts.positionId !== undefined
      ? await sqlAll<Row>(db, CITIZEN_ROWS_OF_POSITION, cf, opts.positionId)
      : await sqlAll<Row>(db, CITIZEN_ROWS_ALL, cf);
  const out: CitizenPosition[] = [];
  let current: CitizenPosition | undefined;
  for (const r of rows) {
    if (!current || current.id !== r.pId) {
      current = {
        id: r.pId,
        enteId: r.enteId,
        enteName: r.enteName,
        serviceName: r.serviceName,
        description: r.pDescription,
        status: r.pStatus,
        statusLabel: CITIZEN_STATUS_LABELS[r.pStatus] ?? r.pStatus,
        options: [],
      };
      out.push(current);
    }
    const c = classify(r, today);
    current.options.push({
      id: r.oId,
      noticeNumber: r.noticeNumber,
      label: installmentLabel(r) ?? 'Unica soluzione',
      description: r.oDescription,
      amountCents: r.amountCents,
      dueDate: r.dueDate,
      overdue: c.payable && r.dueDate < today,
      payable: c.payable,
      notYetValid: c.notYetValid,
      printable: r.oStatus === 'unpaid' && (r.pStatus === 'published' || r.pStatus === 'partially_paid' || r.pStatus === 'expired'),
      paidAt: r.paidAt,
      receiptId: r.receiptId,
      group: c.group,
    });
  }
  return out;
}

/** Adds the display fields (amount, grouped notice number) to the options of these positions. */
export function present(list: CitizenPosition[]): CitizenPosition[] {
  for (const p of list) {
    for (const o of p.options) {
      o.amount ??= formatEuro(o.amountCents);
      o.noticeNumberDisplay ??= formatNoticeNumber(o.noticeNumber);
    }
  }
  return list;
}

/** Positions with something to pay per page of the personal area (the rest on the next pages). */
export const TO_PAY_PAGE_SIZE = 10;
/** The most recent paid / expired / cancelled shown (all the receipts are in the history page). */
export const SHORT_LIST = 5;

export interface GroupedPositions {
  /** One page of positions with something to pay, nearest due date first. */
  toPay: CitizenPosition[];
  toPayPositions: number;
  /** 1-based numbers of the first and last position of the page, among toPayPositions. */
  firstShown: number;
  lastShown: number;
  toPayCount: number;
  toPayTotal: string;
  page: number;
  pages: number;
  /** The most recent paid options (all of them are in the history). */
  paid: CitizenPosition[];
  paidCount: number;
  expired: CitizenPosition[];
  expiredCount: number;
  cancelled: CitizenPosition[];
  cancelledCount: number;
}

/**
 * Splits the positions into the sections of the personal area (a position may appear in two:
 * installments paid and to pay). Only what is shown gets formatted.
 */
export function groupPositions(list: CitizenPosition[], page = 1): GroupedPositions {
  const pick = (group: OptionGroup) => {
    const out: CitizenPosition[] = [];
    for (const p of list) {
      const options = p.options.filter((o) => o.group === group);
      if (options.length) out.push({ ...p, options });
    }
    return out;
  };
  const toPayAll = pick('toPay');
  // The single payment and a plan are alternatives: the total is the single payment when there is one.
  let total = 0;
  let count = 0;
  const firstDue = new Map<number, string>();
  for (const p of toPayAll) {
    const payable = p.options.filter((o) => o.payable);
    count += payable.length;
    const single = payable.find((o) => o.label === 'Unica soluzione');
    total += single ? single.amountCents : payable.reduce((s, o) => s + o.amountCents, 0);
    firstDue.set(p.id, p.options.reduce((m, o) => (o.dueDate < m ? o.dueDate : m), '9999-12-31'));
  }
  toPayAll.sort((a, b) => (firstDue.get(a.id)! < firstDue.get(b.id)! ? -1 : firstDue.get(a.id)! > firstDue.get(b.id)! ? 1 : b.id - a.id));
  const pages = Math.max(1, Math.ceil(toPayAll.length / TO_PAY_PAGE_SIZE));
  const current = Math.min(Math.max(1, page), pages);
  const paidAll = pick('paid');
  const lastPaid = (p: CitizenPosition) => p.options.reduce((m, o) => ((o.paidAt ?? '') > m ? (o.paidAt ?? '') : m), '');
  paidAll.sort((a, b) => (lastPaid(a) < lastPaid(b) ? 1 : lastPaid(a) > lastPaid(b) ? -1 : 0));
  const expired = pick('expired');
  const cancelled = pick('cancelled');
  return {
    toPay: present(toPayAll.slice((current - 1) * TO_PAY_PAGE_SIZE, current * TO_PAY_PAGE_SIZE)),
    toPayPositions: toPayAll.length,
    firstShown: Math.min(toPayAll.length, (current - 1) * TO_PAY_PAGE_SIZE + 1),
    lastShown: Math.min(toPayAll.length, current * TO_PAY_PAGE_SIZE),
    toPayCount: count,
    toPayTotal: formatEuro(total),
    page: current,
    pages,
    paid: present(paidAll.slice(0, SHORT_LIST)),
    paidCount: paidAll.length,
    expired: present(expired.slice(0, SHORT_LIST)),
    expiredCount: expired.length,
    cancelled: present(cancelled.slice(0, SHORT_LIST)),
    cancelledCount: cancelled.length,
  };
}

/** One option of the citizen's own positions (for the cart and the notice PDF), or undefined. */
export async function citizenOption(db: DbLike, fiscalCode: string, optionId: number): Promise<{ enteId: number; noticeNumber: string; positionId: number } | undefined> {
  return (await db
      .select({ enteId: paymentOptions.enteId, noticeNumber: paymentOptions.noticeNumber, positionId: paymentOptions.positionId })
      .from(paymentOptions)
      .innerJoin(positions, eq(positions.id, paymentOptions.positionId))
      .where(and(eq(paymentOptions.id, optionId), eq(positions.debtorFiscalCode, fiscalCode.toUpperCase()), ne(positions.status, 'draft'))).limit(1))[0];
}

export interface HistoryReceipt {
  id: number;
  companyName: string;
  description: string;
  noticeNumberDisplay: string;
  amount: string;
  paymentDateTime: string | null;
  receivedAt: string;
  psp: string;
}

/** Receipts of the citizen as debtor (owner copies), newest first. */
export async function citizenReceipts(db: DbLike, fiscalCode: string, limit = 200): Promise<HistoryReceipt[]> {
  return (await db
      .select()
      .from(receipts)
      .where(and(eq(receipts.debtorFiscalCode, fiscalCode.toUpperCase()), eq(receipts.outcome, 'OK'), sql`${receipts.idPA} = ${receipts.fiscalCode}`))
      .orderBy(desc(receipts.id))
      .limit(limit))
    .map((r) => ({
      id: r.id,
      companyName: r.companyName,
      description: r.description,
      noticeNumberDisplay: /^[0-9]{18}$/.test(r.noticeNumber) ? formatNoticeNumber(r.noticeNumber) : r.noticeNumber,
      amount: formatEuro(r.paymentAmountCents),
      paymentDateTime: r.paymentDateTime ?? r.receivedAt,
      receivedAt: r.receivedAt,
      psp: r.pspCompanyName,
    }));
}

export const CART_STATUS_LABELS: Record<string, string> = {
  created: 'Non avviato',
  redirected: 'Avviato su pagoPA',
  failed: 'Non riuscito',
  paid: 'Pagato',
};

/** Payments (Checkout carts) the user started, from the audit log of the cart creation. */
export async function citizenCarts(db: DbLike, userId: number, limit = 50): Promise<{ id: string; status: string; statusLabel: string; total: string; createdAt: string }[]> {
  const ids = (await db
      .select({ id: auditLog.entityId })
      .from(auditLog)
      .where(and(eq(auditLog.entity, 'checkout_cart'), eq(auditLog.action, 'create'), eq(auditLog.actor, `user:${userId}`)))
      .orderBy(desc(auditLog.id))
      .limit(limit))
    .map((r) => r.id);
  if (ids.length === 0) return [];
  return (await db
      .select()
      .from(checkoutCarts)
      .where(inArray(checkoutCarts.id, ids))
      .orderBy(desc(checkoutCarts.createdAt)))
    .map((c) => ({ id: c.id, status: c.status, statusLabel: CART_STATUS_LABELS[c.status] ?? c.status, total: formatEuro(c.totalCents), createdAt: c.createdAt }));
}
