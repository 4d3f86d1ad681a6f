/** App IO simulator (demo and tests only): the citizens' IO profiles and the messages they received. */
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { bool, createdAt } from '../../db/columns.js';

/** A citizen on the simulated IO app; `senderAllowed` = they allow messages from services (no row: not on IO). */
export const simIoProfiles = sqliteTable('sim_io_profiles', {
  fiscalCode: text('fiscal_code').primaryKey(),
  senderAllowed: bool('sender_allowed').notNull().default(true),
  /** JSON array of service ids the citizen blocked. */
  blockedServices: text('blocked_services').notNull().default('[]'),
  createdAt: createdAt(),
});

/** A message accepted by the simulator (the request body as sent, validated against the OpenAPI). */
export const simIoMessages = sqliteTable(
  'sim_io_messages',
  {
    id: text('id').primaryKey(),
    fiscalCode: text('fiscal_code').notNull(),
    serviceId: text('service_id').notNull(),
    subject: text('subject').notNull(),
    markdown: text('markdown').notNull(),
    dueDate: text('due_date'),
    /** JSON PaymentData or null. */
    paymentData: text('payment_data'),
    body: text('body').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('sim_io_messages_fc').on(t.fiscalCode, t.createdAt)],
);
