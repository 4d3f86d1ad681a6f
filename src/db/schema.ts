/** Every module's tables, gathered for drizzle (queries with relations) and drizzle-kit (migrations). */
export * from '../modules/enti/schema.js';
export * from '../modules/users/schema.js';
export * from '../plugins/sessions/schema.js';
export * from '../plugins/audit/schema.js';
export * from '../modules/positions/schema.js';
export * from '../modules/positions/outbox-schema.js';
export * from '../modules/spid/schema.js';
export * from '../plugins/jobs/schema.js';
export * from '../modules/pagopa/schema.js';
export * from '../simulators/pagopa/schema.js';
export * from '../modules/helpdesk/schema.js';
export * from '../modules/portal/schema.js';
export * from '../modules/catalogue/schema.js';
export * from '../modules/conservazione/schema.js';
export * from '../modules/events/schema.js';
export * from '../modules/notifications/schema.js';
export * from '../simulators/io/schema.js';
