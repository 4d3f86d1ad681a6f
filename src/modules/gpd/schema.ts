/**
 * IUVs brought by the ente's own software through the GPD-compatible API. A row is kept for ever
 * (also when the draft that carried it is deleted): such an IUV was issued and is never accepted
 * again, and the platform's own counter (iuv_sequences) skips its 13-digit sequence.
 */
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { createdAt } from '../../db/columns.js';
import { enti } from '../enti/schema.js';

export const externalIuvs = sqliteTable(
  'external_iuvs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    iuv: text('iuv').notNull(),
    /** The IUV's 13-digit base (digits 3–15), the number the ente's counter would have issued it with. */
    sequence: integer('sequence').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('external_iuvs_iuv').on(t.enteId, t.iuv), index('external_iuvs_sequence').on(t.enteId, t.sequence)],
);
