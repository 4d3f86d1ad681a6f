/**
 * pagoPA tables: receipts pushed by the node (paSendRT/paSendRTV2, raw XML kept) and their
 * transfers, helpdesk anomalies, Checkout carts, reporting flows (FdR) downloaded with nodoChiedi*,
 * and the lease rows of the in-process scheduler.
 */
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { bool, createdAt, updatedAt } from '../../db/columns.js';
import { enti } from '../enti/schema.js';
import { paymentOptions, positions } from '../positions/schema.js';

/**
 * One row per receipt received. The key is (idPA = the receiving ente, fiscalCode = the ente that
 * owns the notice, IUV, receiptId): a multi-beneficiary receipt is broadcast to every ente in its
 * transfers and each copy is stored once per receiving ente; a replay hits the unique index.
 */
export const receipts = sqliteTable(
  'receipts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** The ente we serve that received the receipt (its fiscal code = idPA). */
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    idPA: text('id_pa').notNull(),
    /** Fiscal code of the ente that owns the notice (receipt.fiscalCode). */
    fiscalCode: text('fiscal_code').notNull(),
    iuv: text('iuv').notNull(),
    receiptId: text('receipt_id').notNull(),
    noticeNumber: text('notice_number').notNull(),
    primitive: text('primitive', { enum: ['paSendRT', 'paSendRTV2'] }).notNull(),
    outcome: text('outcome', { enum: ['OK', 'KO'] }).notNull(),
    paymentAmountCents: integer('payment_amount_cents').notNull(),
    description: text('description').notNull(),
    companyName: text('company_name').notNull(),
    officeName: text('office_name'),
    debtorType: text('debtor_type').notNull(),
    debtorFiscalCode: text('debtor_fiscal_code').notNull(),
    debtorName: text('debtor_name').notNull(),
    /** JSON of the whole ctSubject of the debtor. */
    debtor: text('debtor').notNull(),
    payerFiscalCode: text('payer_fiscal_code'),
    /** JSON of the payer ctSubject, when given. */
    payer: text('payer'),
    idPSP: text('id_psp').notNull(),
    pspFiscalCode: text('psp_fiscal_code'),
    pspPartitaIva: text('psp_partita_iva'),
    pspCompanyName: text('psp_company_name').notNull(),
    idChannel: text('id_channel').notNull(),
    channelDescription: text('channel_description').notNull(),
    paymentMethod: text('payment_method'),
    paymentNote: text('payment_note'),
    feeCents: integer('fee_cents'),
    primaryCiIncurredFeeCents: integer('primary_ci_incurred_fee_cents'),
    idBundle: text('id_bundle'),
    idCiBundle: text('id_ci_bundle'),
    paymentDateTime: text('payment_date_time'),
    applicationDate: text('application_date'),
    transferDate: text('transfer_date'),
    /** JSON array of {key, value}. */
    metadata: text('metadata').notNull().default('[]'),
    standIn: bool('stand_in').notNull().default(false),
    /** The option and position it pays, when the notice is ours (owner = receiving ente). */
    positionId: integer('position_id').references(() => positions.id, { onDelete: 'restrict' }),
    optionId: integer('option_id').references(() => paymentOptions.id, { onDelete: 'restrict' }),
    /**
     * applied: it paid an open option; secondary: we are a secondary beneficiary (the notice is
     * another ente's); flagged: stored but something is wrong (see anomalies).
     */
    processing: text('processing', { enum: ['applied', 'secondary', 'flagged'] }).notNull(),
    /** The SOAP envelope as received, for conservazione. */
    rawXml: text('raw_xml').notNull(),
    requestId: text('request_id'),
    receivedAt: createdAt(),
  },
  (t) => [
    uniqueIndex('receipts_key').on(t.idPA, t.fiscalCode, t.iuv, t.receiptId),
    index('receipts_option').on(t.optionId),
    index('receipts_position').on(t.positionId),
    index('receipts_debtor').on(t.debtorFiscalCode),
    index('receipts_ente_received').on(t.enteId, t.receivedAt),
    index('receipts_payment_note').on(t.paymentNote),
  ],
);

export const receiptTransfers = sqliteTable(
  'receipt_transfers',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    receiptRowId: integer('receipt_row_id').notNull().references(() => receipts.id, { onDelete: 'cascade' }),
    idTransfer: integer('id_transfer').notNull(),
    amountCents: integer('amount_cents').notNull(),
    fiscalCodePA: text('fiscal_code_pa').notNull(),
    companyName: text('company_name'),
    iban: text('iban'),
    /** base64 of the signed marcaDaBollo XML (V2 digital stamp). */
    mbdAttachment: text('mbd_attachment'),
    remittanceInformation: text('remittance_information').notNull(),
    transferCategory: text('transfer_category').notNull(),
    metadata: text('metadata').notNull().default('[]'),
  },
  // No index on fiscal_code_pa alone: every query reaches transfers through their receipt, and
  // without statistics SQLite preferred that index (one value for all of an ente's transfers) to
  // receipt_transfers_key, scanning every transfer of the ente for each receipt (migration 0007).
  (t) => [uniqueIndex('receipt_transfers_key').on(t.receiptRowId, t.idTransfer)],
);

export const ANOMALY_TYPES = [
  'receipt_unknown_notice',
  'receipt_cancelled_position',
  'receipt_expired_position',
  'receipt_already_paid',
  /** A receipt for an option closed because another option of its position (single vs installments) was paid: refund. */
  'receipt_alternative_option',
  'receipt_amount_mismatch',
  'receipt_outcome_ko',
  'receipt_draft_position',
  /** A reporting flow from the node that fails FlussoRiversamento_1_0_4.xsd (not stored). */
  'fdr_invalid_flow',
  /** A listed reporting flow the node would not deliver (final fault). */
  'fdr_download_failed',
] as const;
export type AnomalyType = (typeof ANOMALY_TYPES)[number];

/** Things the helpdesk must look at (the helpdesk module grows this table). */
export const anomalies = sqliteTable(
  'anomalies',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    type: text('type').notNull(),
    enteId: integer('ente_id').references(() => enti.id, { onDelete: 'restrict' }),
    /** JSON of references: receipt row id, IUV, notice number, receiptId, position id… */
    refs: text('refs').notNull().default('{}'),
    amountCents: integer('amount_cents'),
    detail: text('detail'),
    /** open → in_progress → resolved | dismissed (helpdesk worklist); `closed` is the legacy name of resolved. */
    status: text('status', { enum: ['open', 'in_progress', 'resolved', 'dismissed', 'closed'] }).notNull().default('open'),
    createdAt: createdAt(),
    // Added by the helpdesk migration:
    /** Reference code (GovPay 0071xx / reconciliation outcome), when there is one. */
    code: text('code'),
    /** Makes raising the same anomaly twice a no-op (e.g. `fdr-row:<entry id>:<type>`). */
    dedupKey: text('dedup_key'),
    assigneeId: integer('assignee_id'),
    resolutionNote: text('resolution_note'),
    resolvedAt: text('resolved_at'),
    updatedAt: text('updated_at'),
  },
  (t) => [
    index('anomalies_status').on(t.status, t.type),
    index('anomalies_ente').on(t.enteId),
    uniqueIndex('anomalies_dedup').on(t.dedupKey).where(sql`${t.dedupKey} IS NOT NULL`),
  ],
);

export const CART_STATUSES = ['created', 'redirected', 'failed', 'paid'] as const;
export type CartStatus = (typeof CART_STATUSES)[number];

/** Carts sent to pagoPA Checkout (POST /carts). The browser's return proves nothing: paid = all receipts in. */
export const checkoutCarts = sqliteTable(
  'checkout_carts',
  {
    /** idCart sent to Checkout (copied by the node into paGetPayment.paymentNote). */
    id: text('id').primaryKey(),
    status: text('status', { enum: CART_STATUSES }).notNull().default('created'),
    email: text('email'),
    /** Where Checkout sends the browser back (the outcome page of this cart). */
    returnBase: text('return_base').notNull(),
    redirectUrl: text('redirect_url'),
    /** Last return URL the browser came back through: ok, cancel, error, waiting (information only). */
    returnOutcome: text('return_outcome'),
    error: text('error'),
    totalCents: integer('total_cents').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('checkout_carts_status').on(t.status)],
);

export const checkoutCartItems = sqliteTable(
  'checkout_cart_items',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    cartId: text('cart_id').notNull().references(() => checkoutCarts.id, { onDelete: 'cascade' }),
    ordinal: integer('ordinal').notNull(),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    optionId: integer('option_id').notNull().references(() => paymentOptions.id, { onDelete: 'restrict' }),
    noticeNumber: text('notice_number').notNull(),
    fiscalCode: text('fiscal_code').notNull(),
    amountCents: integer('amount_cents').notNull(),
    description: text('description').notNull(),
    companyName: text('company_name').notNull(),
  },
  (t) => [uniqueIndex('checkout_cart_items_key').on(t.cartId, t.ordinal), index('checkout_cart_items_option').on(t.optionId)],
);

/** Reporting flows (Flusso di Rendicontazione), one row per (ente, flow id, flow date-time). */
export const fdrFlows = sqliteTable(
  'fdr_flows',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    flowId: text('flow_id').notNull(),
    /** dataOraFlusso exactly as listed by the node (the dedup key with flowId). */
    flowDateTime: text('flow_date_time').notNull(),
    pspId: text('psp_id').notNull(),
    pspName: text('psp_name'),
    settlementId: text('settlement_id').notNull(),
    settlementDate: text('settlement_date').notNull(),
    bic: text('bic'),
    receiverFiscalCode: text('receiver_fiscal_code').notNull(),
    totalPayments: integer('total_payments').notNull(),
    totalAmountCents: integer('total_amount_cents').notNull(),
    rawXml: text('raw_xml').notNull(),
    source: text('source', { enum: ['nodoChiedi', 'upload', 'fdrRest'] }).notNull().default('nodoChiedi'),
    /** FdR 3 revision of the flow (REST API); 1 for flows from nodoChiedi* and uploads. */
    revision: integer('revision').notNull().default(1),
    /** Set when a newer revision of the same flow arrived: this one no longer counts. */
    supersededAt: text('superseded_at'),
    downloadedAt: createdAt(),
  },
  (t) => [uniqueIndex('fdr_flows_key').on(t.enteId, t.flowId, t.flowDateTime), index('fdr_flows_settlement').on(t.settlementId)],
);

export const fdrEntries = sqliteTable(
  'fdr_entries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    flowRowId: integer('flow_row_id').notNull().references(() => fdrFlows.id, { onDelete: 'cascade' }),
    ordinal: integer('ordinal').notNull(),
    iuv: text('iuv').notNull(),
    iur: text('iur').notNull(),
    transferIndex: integer('transfer_index'),
    /** Negative when revoked. */
    amountCents: integer('amount_cents').notNull(),
    outcomeCode: text('outcome_code').notNull(),
    outcomeDate: text('outcome_date').notNull(),
  },
  (t) => [uniqueIndex('fdr_entries_key').on(t.flowRowId, t.ordinal), index('fdr_entries_iuv').on(t.iuv), index('fdr_entries_iur').on(t.iur)],
);

/**
 * Leases of scheduled tasks (e.g. `fdr:<enteId>`): a process runs a task only after claiming its
 * row with an UPDATE that succeeds when the lease is free or expired, so two processes never run
 * the same download at once.
 */
export const pagopaSchedules = sqliteTable('pagopa_schedules', {
  name: text('name').primaryKey(),
  lockedBy: text('locked_by'),
  lockedUntil: integer('locked_until').notNull().default(0),
  nextRunAt: integer('next_run_at').notNull().default(0),
  lastRunAt: integer('last_run_at'),
  lastError: text('last_error'),
  failures: integer('failures').notNull().default(0),
  updatedAt: updatedAt(),
});
