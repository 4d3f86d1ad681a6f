/**
 * State of the built-in pagoPA node + Checkout simulator (demo and tests only; the tables stay
 * empty in production): carts received on POST /carts, and payments it completed (the receipts
 * it issued, from which it builds reporting flows).
 */
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { createdAt } from '../../db/columns.js';

export const simCarts = sqliteTable('sim_carts', {
  id: text('id').primaryKey(),
  /** The CartRequest JSON as received. */
  body: text('body').notNull(),
  status: text('status', { enum: ['open', 'done'] }).notNull().default('open'),
  outcome: text('outcome'),
  createdAt: createdAt(),
});

export const simPayments = sqliteTable(
  'sim_payments',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** Fiscal code of the ente owning the notice. */
    fiscalCode: text('fiscal_code').notNull(),
    noticeNumber: text('notice_number').notNull(),
    iuv: text('iuv').notNull(),
    receiptId: text('receipt_id').notNull(),
    pspId: text('psp_id').notNull(),
    amountCents: integer('amount_cents').notNull(),
    /** JSON [{idTransfer, fiscalCodePA, amountCents, iban|null}] as issued in the receipt. */
    transfers: text('transfers').notNull(),
    paidAt: text('paid_at').notNull(),
    /** Outcome of the last paSendRT to the primary ente: OK, KO:<code> or error. */
    sendOutcome: text('send_outcome'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('sim_payments_receipt').on(t.receiptId), index('sim_payments_cf').on(t.fiscalCode)],
);
