/**
 * What every part of the catalogue module works with: the database, the settings, the clock
 * (injected: tests and the scheduled tasks pass their own), the helpdesk's ticket context (requests
 * and suggestions become tickets) and the mail outbox (local mailbox without SMTP).
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';
import type { Db } from '../../db/client.js';
import { enqueueMail } from '../helpdesk/mail.js';
import type { TicketsCtx } from '../helpdesk/tickets.js';

export interface CatalogueCtx {
  db: Db;
  config: Config;
  /** The clock: `new Date()` in the server, a fixed or moving clock in tests. */
  now: () => Date;
  /** The helpdesk's ticket context (category 'catalogo' for requests under a service). */
  tickets: () => TicketsCtx;
  /** Queues one mail in the outbox (sent by the helpdesk's tick, or kept in the local mailbox). */
  mail: (m: { to: string; subject: string; body: string }) => Promise<void>;
}

export function catalogueContext(app: FastifyInstance, now: () => Date = () => new Date()): CatalogueCtx {
  const mailbox = !app.config.helpdesk.smtpUrl;
  return {
    db: app.db,
    config: app.config,
    now,
    tickets: () => app.ticketsContext(),
    mail: async (m) => await enqueueMail(app.db, { ...m, mailbox }),
  };
}
