/** Background jobs with progress (CSV imports, bulk notice printing), stored so any process can run them and pages survive reloads. */
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { createdAt, updatedAt } from '../../db/columns.js';
import { enti } from '../../modules/enti/schema.js';

export const JOB_STATUSES = ['queued', 'running', 'done', 'failed'] as const;

export const jobs = sqliteTable(
  'jobs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').references(() => enti.id, { onDelete: 'restrict' }),
    kind: text('kind').notNull(),
    status: text('status', { enum: JOB_STATUSES }).notNull().default('queued'),
    /** Who asked: 'user:<id>' or 'apikey:<id>'. */
    requestedBy: text('requested_by').notNull(),
    /** JSON parameters of the job. */
    input: text('input').notNull().default('{}'),
    total: integer('total').notNull().default(0),
    done: integer('done').notNull().default(0),
    /** JSON result (report, counts, file name). */
    result: text('result'),
    error: text('error'),
    /** Process that holds the job and when it last reported (a stale heartbeat frees the job). */
    lockedBy: text('locked_by'),
    heartbeatAt: integer('heartbeat_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('jobs_status').on(t.status), index('jobs_ente').on(t.enteId)],
);
