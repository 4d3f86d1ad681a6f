/**
 * debtor_versions: a counter per debtor fiscal code, bumped by SQLite triggers (migration 0005) on
 * every write to that debtor's positions, payment options and receipts — whatever writes them
 * (back office, API, CSV import, the station, the CLI in another process). The personal area keeps
 * the citizen's classified positions in memory and reuses them while the counter (and the one of
 * enti / services, fiscal code '*') has not moved. Triggers, not application code, so that no
 * write path can forget to invalidate.
 */
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const debtorVersions = sqliteTable(
  'debtor_versions',
  {
    fiscalCode: text('fiscal_code').primaryKey(),
    version: integer('version').notNull().default(0),
  },
  () => [],
);
