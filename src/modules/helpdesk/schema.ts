/**
 * Helpdesk tables: reconciliation state of reporting flows (side tables of `fdr_flows` /
 * `fdr_entries`, which the pagoPA FdR client fills), treasury statements and their movements,
 * anomaly notes, the log of node calls (for the payment timeline), tickets with messages and
 * attachments, and the e-mail outbox.
 *
 * Migration note: the helpdesk migration also creates `receipts_iuv_receipt` on receipts(iuv,
 * receipt_id) by hand (the FdR row lookup key); it is not declared in drizzle.
 */
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { bool, createdAt, updatedAt } from '../../db/columns.js';
import { enti } from '../enti/schema.js';
import { anomalies, fdrEntries, fdrFlows, receipts } from '../pagopa/schema.js';
import { users } from '../users/schema.js';

export const FLOW_STATES = ['accepted', 'anomalous', 'superseded'] as const;
export type FlowState = (typeof FLOW_STATES)[number];

/** Reconciliation state of one stored flow (one row per fdr_flows row, once processed). */
export const fdrFlowRecon = sqliteTable(
  'fdr_flow_recon',
  {
    flowRowId: integer('flow_row_id').primaryKey().references(() => fdrFlows.id, { onDelete: 'cascade' }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    flowId: text('flow_id').notNull(),
    pspId: text('psp_id').notNull(),
    /** 1 for the first version of (ente, flow id, PSP) by dataOraFlusso, then 2, 3… */
    revision: integer('revision').notNull(),
    state: text('state', { enum: FLOW_STATES }).notNull(),
    supersededBy: integer('superseded_by'),
    /** Header checks: declared vs computed count and sum. */
    countOk: bool('count_ok').notNull(),
    sumOk: bool('sum_ok').notNull(),
    computedCount: integer('computed_count').notNull(),
    computedSumCents: integer('computed_sum_cents').notNull(),
    matchedRows: integer('matched_rows').notNull().default(0),
    anomalyRows: integer('anomaly_rows').notNull().default(0),
    /** SHA-256 of the XML (uploads: same key + other content = error). */
    sha256: text('sha256').notNull(),
    /** The treasury movement that credited this flow (cumulative SCT). */
    creditMovementId: integer('credit_movement_id'),
    processedAt: text('processed_at').notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
  },
  (t) => [index('fdr_flow_recon_key').on(t.enteId, t.flowId, t.pspId, t.revision), index('fdr_flow_recon_state').on(t.enteId, t.state)],
);

export const ENTRY_STATES = ['matched', 'revoked', 'amount_mismatch', 'no_receipt', 'multiple', 'duplicate', 'already_reported', 'other_ente', 'unknown_outcome', 'superseded'] as const;
export type EntryState = (typeof ENTRY_STATES)[number];

/** Outcome of matching one FdR row to a receipt transfer. */
export const fdrEntryMatches = sqliteTable(
  'fdr_entry_matches',
  {
    entryId: integer('entry_id').primaryKey().references(() => fdrEntries.id, { onDelete: 'cascade' }),
    flowRowId: integer('flow_row_id').notNull().references(() => fdrFlows.id, { onDelete: 'cascade' }),
    enteId: integer('ente_id').notNull(),
    state: text('state', { enum: ENTRY_STATES }).notNull(),
    receiptRowId: integer('receipt_row_id'),
    receiptTransferId: integer('receipt_transfer_id'),
  },
  (t) => [index('fdr_entry_matches_flow').on(t.flowRowId, t.state), index('fdr_entry_matches_receipt').on(t.receiptRowId), index('fdr_entry_matches_transfer').on(t.receiptTransferId)],
);

export const treasuryImports = sqliteTable(
  'treasury_imports',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    format: text('format', { enum: ['csv', 'camt053', 'opi'] }).notNull(),
    fileName: text('file_name').notNull(),
    sha256: text('sha256').notNull(),
    movements: integer('movements').notNull(),
    newMovements: integer('new_movements').notNull(),
    /** OPI Giornale di Cassa: schema version (1.4, 1.6.1, 1.7.1, 1.8), identificativo_flusso_BT, pages joined. */
    opiVersion: text('opi_version'),
    opiFlowId: text('opi_flow_id'),
    pages: integer('pages'),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('treasury_imports_file').on(t.enteId, t.sha256)],
);

/**
 * Pages of an OPI Giornale di Cassa that arrived one file at a time (`pagina` of `pagine_totali`):
 * kept until every page of the journal is here, then joined into one treasury import.
 */
export const treasuryOpiPages = sqliteTable(
  'treasury_opi_pages',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    /** identificativo_flusso_BT of the journal. */
    flowId: text('flow_id').notNull(),
    opiVersion: text('opi_version').notNull(),
    page: integer('page').notNull(),
    totalPages: integer('total_pages').notNull(),
    fileName: text('file_name').notNull(),
    sha256: text('sha256').notNull(),
    xml: text('xml').notNull(),
    /** The import the joined journal became (null while pages are missing). */
    importId: integer('import_id').references(() => treasuryImports.id, { onDelete: 'restrict' }),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('treasury_opi_pages_key').on(t.enteId, t.flowId, t.page)],
);

export const MOVEMENT_STATES = ['matched', 'parked', 'error', 'not_pagopa', 'debit'] as const;
export type MovementState = (typeof MOVEMENT_STATES)[number];

/** One line of a treasury statement (giornale di cassa / estratto conto). */
export const treasuryMovements = sqliteTable(
  'treasury_movements',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    importId: integer('import_id').notNull().references(() => treasuryImports.id, { onDelete: 'restrict' }),
    /** Bank reference of the movement (TRN / AcctSvcrRef): the idempotency key with the ente. */
    movementId: text('movement_id').notNull(),
    direction: text('direction', { enum: ['CRDT', 'DBIT'] }).notNull(),
    amountCents: integer('amount_cents').notNull(),
    bookingDate: text('booking_date').notNull(),
    valueDate: text('value_date'),
    causale: text('causale').notNull(),
    account: text('account'),
    /** SHA-256 of the normalised data: same key + other data = error. */
    payloadHash: text('payload_hash').notNull(),
    /** What the causale says: flow (cumulative), iuv (single), none. */
    refKind: text('ref_kind', { enum: ['flow', 'integration', 'iuv', 'none'] }).notNull(),
    refValue: text('ref_value'),
    state: text('state', { enum: MOVEMENT_STATES }).notNull(),
    /** GovPay-style outcome code when not matched (IDF_NON_TROVATO, IMPORTO_ERRATO…). */
    errorCode: text('error_code'),
    matchKind: text('match_kind', { enum: ['flow', 'receipt', 'manual_flow', 'manual_receipt'] }),
    flowRowId: integer('flow_row_id').references(() => fdrFlows.id, { onDelete: 'set null' }),
    receiptRowId: integer('receipt_row_id').references(() => receipts.id, { onDelete: 'set null' }),
    note: text('note'),
    attempts: integer('attempts').notNull().default(0),
    lastAttemptAt: text('last_attempt_at'),
    matchedAt: text('matched_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('treasury_movements_key').on(t.enteId, t.movementId),
    index('treasury_movements_state').on(t.enteId, t.state),
    index('treasury_movements_flow').on(t.flowRowId),
    index('treasury_movements_receipt').on(t.receiptRowId),
  ],
);

export const anomalyNotes = sqliteTable(
  'anomaly_notes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    anomalyId: integer('anomaly_id').notNull().references(() => anomalies.id, { onDelete: 'cascade' }),
    author: text('author').notNull(),
    text: text('text').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('anomaly_notes_anomaly').on(t.anomalyId)],
);

/** Calls of the node to the station (verify / getPayment / sendRT) for the payment timeline. */
export const nodeCalls = sqliteTable(
  'node_calls',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    fiscalCode: text('fiscal_code').notNull(),
    noticeNumber: text('notice_number').notNull(),
    operation: text('operation').notNull(),
    outcome: text('outcome').notNull(),
    faultCode: text('fault_code'),
    at: createdAt(),
  },
  (t) => [index('node_calls_notice').on(t.fiscalCode, t.noticeNumber)],
);

export const TICKET_STATUSES = ['new', 'assigned', 'in_progress', 'waiting_ente', 'resolved', 'closed', 'reopened'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export const tickets = sqliteTable(
  'tickets',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    requesterId: integer('requester_id').notNull().references(() => users.id, { onDelete: 'restrict' }),
    assigneeId: integer('assignee_id').references(() => users.id, { onDelete: 'set null' }),
    subject: text('subject').notNull(),
    category: text('category').notNull(),
    type: text('type').notNull(),
    priority: text('priority').notNull(),
    status: text('status', { enum: TICKET_STATUSES }).notNull().default('new'),
    /** Typed link: payment (receipt row or option), flow (fdr_flows row), anomaly, movement. */
    linkKind: text('link_kind', { enum: ['payment', 'flow', 'anomaly', 'movement'] }),
    linkId: integer('link_id'),
    /** How to reach the citizen who reported the problem (free text, optional; migration 0011). */
    citizenContact: text('citizen_contact'),
    /** The catalogue service a request was opened under (category 'catalogo'; migration 0012). */
    serviceId: integer('service_id'),
    ttoTargetMinutes: integer('tto_target_minutes').notNull(),
    ttrTargetMinutes: integer('ttr_target_minutes').notNull(),
    /** Business minutes consumed by the TTR clock up to `clockFrom` (or in total when paused/stopped). */
    slaUsedMinutes: integer('sla_used_minutes').notNull().default(0),
    /** When the TTR clock (re)started; null while paused (waiting for the ente) or stopped. */
    clockFrom: text('clock_from'),
    ownedAt: text('owned_at'),
    resolvedAt: text('resolved_at'),
    closedAt: text('closed_at'),
    ttoBreached: bool('tto_breached').notNull().default(false),
    ttrBreached: bool('ttr_breached').notNull().default(false),
    reopenCount: integer('reopen_count').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('tickets_ente_status').on(t.enteId, t.status), index('tickets_status').on(t.status), index('tickets_link').on(t.linkKind, t.linkId)],
);

export const ticketMessages = sqliteTable(
  'ticket_messages',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    ticketId: integer('ticket_id').notNull().references(() => tickets.id, { onDelete: 'cascade' }),
    authorId: integer('author_id').references(() => users.id, { onDelete: 'set null' }),
    authorKind: text('author_kind', { enum: ['staff', 'ente', 'system'] }).notNull(),
    /** internal = note visible only to the helpdesk staff. */
    visibility: text('visibility', { enum: ['public', 'internal'] }).notNull(),
    body: text('body').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('ticket_messages_ticket').on(t.ticketId)],
);

export const ticketAttachments = sqliteTable(
  'ticket_attachments',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    ticketId: integer('ticket_id').notNull().references(() => tickets.id, { onDelete: 'cascade' }),
    messageId: integer('message_id').references(() => ticketMessages.id, { onDelete: 'cascade' }),
    fileName: text('file_name').notNull(),
    contentType: text('content_type').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    sha256: text('sha256').notNull(),
    /** Path under DATA_DIR. */
    storagePath: text('storage_path').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('ticket_attachments_ticket').on(t.ticketId)],
);

export const mailOutbox = sqliteTable(
  'mail_outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    to: text('to_address').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    /** queued → sent | failed (SMTP); mailbox = kept in the local demo mailbox. */
    status: text('status', { enum: ['queued', 'sent', 'failed', 'mailbox'] }).notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    ticketId: integer('ticket_id').references(() => tickets.id, { onDelete: 'set null' }),
    /** The one-click unsubscribe URL of a mail sent to a list (RFC 8058: List-Unsubscribe and List-Unsubscribe-Post headers). */
    listUnsubscribe: text('list_unsubscribe'),
    sentAt: text('sent_at'),
    createdAt: createdAt(),
  },
  (t) => [index('mail_outbox_status').on(t.status)],
);
