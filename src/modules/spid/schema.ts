/** SAML state kept in the database (several app processes may serve one login). */
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { createdAt } from '../../db/columns.js';

/** One row per AuthnRequest sent: checked and consumed once by the ACS (InResponseTo). */
export const samlRequests = sqliteTable(
  'saml_requests',
  {
    /** The AuthnRequest ID. */
    id: text('id').primaryKey(),
    /** Opaque RelayState sent with the request. */
    relayState: text('relay_state').notNull().unique(),
    /** SHA-256 of a random value kept in the browser's session: binds the response to that browser. */
    browserBinding: text('browser_binding').notNull(),
    federation: text('federation', { enum: ['spid', 'cie'] }).notNull(),
    idpEntityId: text('idp_entity_id').notNull(),
    level: integer('level').notNull(),
    issueInstant: text('issue_instant').notNull(),
    acsUrl: text('acs_url').notNull(),
    /** Local path to go to after login. */
    target: text('target').notNull(),
    expiresAt: integer('expires_at').notNull(),
    consumedAt: integer('consumed_at'),
    createdAt: createdAt(),
  },
  (t) => [index('saml_requests_expires').on(t.expiresAt)],
);

/** Assertion IDs already accepted, until their NotOnOrAfter: a replayed Response is refused. */
export const samlReplay = sqliteTable(
  'saml_replay',
  {
    assertionId: text('assertion_id').primaryKey(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('saml_replay_expires').on(t.expiresAt)],
);
