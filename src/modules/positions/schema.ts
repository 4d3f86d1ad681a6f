/**
 * Payment positions (posizioni debitorie), their payment options (one IUV / notice number each)
 * and the transfers of each option; the per-ente IUV sequence.
 */
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { createdAt, updatedAt } from '../../db/columns.js';
import { enti, paymentServices } from '../enti/schema.js';

export const POSITION_STATUSES = ['draft', 'published', 'partially_paid', 'paid', 'expired', 'cancelled'] as const;
export type PositionStatus = (typeof POSITION_STATUSES)[number];

export const positions = sqliteTable(
  'positions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    serviceId: integer('service_id').notNull().references(() => paymentServices.id, { onDelete: 'restrict' }),
    /** External id, unique per ente (given by the caller or generated). */
    iupd: text('iupd').notNull(),
    debtorType: text('debtor_type', { enum: ['F', 'G'] }).notNull(),
    debtorFiscalCode: text('debtor_fiscal_code').notNull(),
    debtorName: text('debtor_name').notNull(),
    debtorStreet: text('debtor_street'),
    debtorCivic: text('debtor_civic'),
    debtorPostalCode: text('debtor_postal_code'),
    debtorCity: text('debtor_city'),
    debtorProvince: text('debtor_province'),
    debtorCountry: text('debtor_country'),
    debtorEmail: text('debtor_email'),
    description: text('description').notNull(),
    validityDate: text('validity_date'),
    /** When true the position expires (no longer payable) once every unpaid option is past due. */
    switchToExpired: integer('switch_to_expired', { mode: 'boolean' }).notNull().default(false),
    status: text('status', { enum: POSITION_STATUSES }).notNull(),
    /** SHA-256 of the normalised input: same iupd + same hash = idempotent replay. */
    payloadHash: text('payload_hash').notNull(),
    /** Incremented at every change (optimistic concurrency for edits). */
    version: integer('version').notNull().default(1),
    publishedAt: text('published_at'),
    cancelledAt: text('cancelled_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('positions_iupd').on(t.enteId, t.iupd),
    index('positions_debtor').on(t.debtorFiscalCode),
    index('positions_ente_status').on(t.enteId, t.status),
    // The operators' list, newest first: (ente_id, rowid) order without sorting the ente's positions.
    index('positions_ente').on(t.enteId),
  ],
);

export const OPTION_STATUSES = ['unpaid', 'paid', 'cancelled'] as const;
export type OptionStatus = (typeof OPTION_STATUSES)[number];

export const paymentOptions = sqliteTable(
  'payment_options',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    positionId: integer('position_id').notNull().references(() => positions.id, { onDelete: 'cascade' }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    /** Order inside the position (0-based). */
    position: integer('ordinal').notNull(),
    kind: text('kind', { enum: ['single', 'installment'] }).notNull(),
    plan: text('plan'),
    installmentNumber: integer('installment_number'),
    installmentCount: integer('installment_count'),
    description: text('description'),
    amountCents: integer('amount_cents').notNull(),
    dueDate: text('due_date').notNull(),
    retentionDate: text('retention_date'),
    iuv: text('iuv').notNull(),
    noticeNumber: text('notice_number').notNull(),
    status: text('status', { enum: OPTION_STATUSES }).notNull().default('unpaid'),
    paidAt: text('paid_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('payment_options_iuv').on(t.enteId, t.iuv),
    uniqueIndex('payment_options_notice').on(t.enteId, t.noticeNumber),
    index('payment_options_position').on(t.positionId),
    index('payment_options_due').on(t.enteId, t.dueDate),
  ],
);

export const transfers = sqliteTable(
  'transfers',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    optionId: integer('option_id').notNull().references(() => paymentOptions.id, { onDelete: 'cascade' }),
    idTransfer: integer('id_transfer').notNull(),
    fiscalCodePA: text('fiscal_code_pa').notNull(),
    amountCents: integer('amount_cents').notNull(),
    iban: text('iban'),
    postalIban: text('postal_iban'),
    stampHashDocument: text('stamp_hash_document'),
    stampType: text('stamp_type'),
    stampProvincialResidence: text('stamp_provincial_residence'),
    remittanceInformation: text('remittance_information').notNull(),
    taxonomyCode: text('taxonomy_code').notNull(),
    /** JSON array of {key, value}. */
    metadata: text('metadata').notNull().default('[]'),
  },
  (t) => [uniqueIndex('transfers_option_id').on(t.optionId, t.idTransfer)],
);

/** Next 13-digit IUV base per ente; only ever incremented, so IUVs are never reused. */
export const iuvSequences = sqliteTable('iuv_sequences', {
  enteId: integer('ente_id').primaryKey().references(() => enti.id, { onDelete: 'restrict' }),
  nextValue: integer('next_value').notNull(),
});
