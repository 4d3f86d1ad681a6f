/** Outbox of calls to pagoPA's central archive (paCreatePosition), sent by a background worker with retries. */
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { createdAt } from '../../db/columns.js';
import { enti } from '../enti/schema.js';

export const acaOutbox = sqliteTable(
  'aca_outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    iuv: text('iuv').notNull(),
    /** JSON body of paCreatePosition (amount 0 closes the position). */
    payload: text('payload').notNull(),
    status: text('status', { enum: ['pending', 'sent', 'failed'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    lastError: text('last_error'),
    sentAt: text('sent_at'),
    createdAt: createdAt(),
  },
  (t) => [index('aca_outbox_due').on(t.status, t.nextAttemptAt)],
);
