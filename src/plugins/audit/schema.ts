/** Who changed what, when: one row per write in every module, with before/after JSON. */
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { createdAt } from '../../db/columns.js';

export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** 'user:<id>', 'apikey:<id>', 'system', 'cli', 'pagopa-node'. */
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    entity: text('entity').notNull(),
    entityId: text('entity_id').notNull(),
    enteId: integer('ente_id'),
    before: text('before'),
    after: text('after'),
    requestId: text('request_id'),
    at: createdAt(),
  },
  (t) => [index('audit_entity').on(t.entity, t.entityId), index('audit_ente').on(t.enteId)],
);
