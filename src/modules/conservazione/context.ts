/**
 * What every part of the conservazione module works with: the database, the settings, the clock
 * (injected: tests and the daily job pass their own), the write-once blob store, the helpdesk's
 * ticket context (alerts and repeated rejections open tickets) and the sealer (the conservator's
 * signature + the TSA) — null when production has no CONSERVAZIONE_SIGNER_* / _TSA_* settings.
 */
import { eq } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Db } from '../../db/client.js';
import type { TicketsCtx } from '../helpdesk/tickets.js';
import type { BlobStore } from './storage.js';
import type { Sealer } from './sealing.js';
import { users } from '../users/schema.js';

export interface ConservazioneCtx {
  db: Db;
  config: Config;
  /** The clock: `new Date()` in the server, a fixed or moving clock in tests. */
  now: () => Date;
  store: BlobStore;
  /** The helpdesk's ticket context (category 'conservazione'). */
  tickets: () => TicketsCtx;
  /** Id of the system user `SISTEMA-CONSERVAZIONE` that opens tickets for the platform. */
  systemUserId: () => Promise<number>;
  /** The conservator's signer + TSA; null when not configured (production without the settings). */
  sealer: () => Promise<Sealer | null>;
  /** PEM certificates of the CAs trusted for signatures on submitted documents (CONSERVAZIONE_TRUST_ANCHORS_FILE; empty without). */
  trustAnchors?: () => readonly string[];
}

/** Fiscal-code slot of the system user (not a valid fiscal code: nobody can sign in as it). */
export const CONSERVAZIONE_SYSTEM_FISCAL_CODE = 'SISTEMA-CONSERVAZIONE';

/** The system user that opens the conservazione's tickets, created once. */
export async function ensureConservazioneSystemUser(db: Db): Promise<number> {
  await db.insert(users).values({ fiscalCode: CONSERVAZIONE_SYSTEM_FISCAL_CODE, name: 'Conservazione', familyName: 'S.A.E.L. (sistema di conservazione)' }).onConflictDoNothing();
  return (await db.select({ id: users.id }).from(users).where(eq(users.fiscalCode, CONSERVAZIONE_SYSTEM_FISCAL_CODE)).limit(1))[0]!.id;
}
