/**
 * Conservazione digitale a norma (issue #16): PdV ingest with checks and esito, rapporti di
 * versamento, PdA with a signed and time-stamped SInCRO index, write-once storage, fixity audits,
 * the tamper-evident event log, PdD, scarto and the manuale. Registered once in app.ts after the
 * helpdesk (whose `ticketsContext` it uses); decorates `app.conservazione` (its context) and
 * `app.conservazioneTick` (the scheduled pass: daily job, a slice of the fixity audit, the daily
 * anchor of the event log).
 */
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { scheduledPass } from '../../plugins/scheduled-pass.js';
import { ensureConservazioneSystemUser, type ConservazioneCtx } from './context.js';
import { createBlobStore } from './store-factory.js';
import type { Sealer } from './sealing.js';
import { runDailyJob } from './daily-job.js';
import { runFixityAudit } from './fixity.js';
import { anchorChainHead } from './anchor.js';
import { seedConservazioneProfiles } from './profiles.js';
import { seedConservazioneDemo as seedMembersDemo } from './demo-seed.js';
import { romeDay, previousDay, romeHour } from './dates.js';
import ingestRoutes from './ingest-routes.js';
import enteRoutes from './ente-routes.js';
import profilesRoutes from './profiles-routes.js';
import auditRoutes from './audit-routes.js';
import scartoRoutes from './scarto-routes.js';
import manualeRoutes from './manuale-routes.js';

/** How often the scheduled pass runs in the server. */
const TICK_MS = 10 * 60_000;
/** Blobs re-hashed per pass (the audit resumes where it stopped). */
const FIXITY_SLICE = 2000;

export interface ConservazioneModuleOptions {
  backgroundWorkers?: boolean;
  now?: () => Date;
}

async function conservazioneModule(app: FastifyInstance, opts: ConservazioneModuleOptions) {
  const now = opts.now ?? (() => new Date());
  await seedConservazioneProfiles(app.db);
  let systemUser: number | null = null;
  let sealer: Promise<Sealer | null> | null = null;
  // Read once at start: a missing or unreadable file stops the start (startupProblems names it first).
  const anchorsFile = app.config.conservazione.trustAnchorsFile;
  const trustAnchors: readonly string[] = anchorsFile ? [fs.readFileSync(anchorsFile, 'utf8')] : [];
  const ctx: ConservazioneCtx = {
    db: app.db,
    config: app.config,
    now,
    store: await createBlobStore(app.config),
    tickets: () => app.ticketsContext(),
    systemUserId: async () => (systemUser ??= await ensureConservazioneSystemUser(app.db)),
    // sealer.ts (with PKI.js under it) is imported at the first seal or verification, not at start.
    sealer: () =>
      (sealer ??= import('./sealer.js').then(({ createSealer }) => createSealer(app.config, now)).catch((e: unknown) => {
        sealer = null; // retry on the next call
        throw e;
      })),
    trustAnchors: () => trustAnchors,
  };
  app.decorate('conservazione', ctx);

  // Each step on its own: a failing fixity slice must not cost the day its anchor.
  const step = async (name: string, run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (e) {
      app.log.error({ err: (e as Error).message, step: name }, 'conservazione scheduled step failed');
    }
  };
  const tick = scheduledPass(app, {
    name: 'conservazione',
    everyMs: TICK_MS,
    backgroundWorkers: opts.backgroundWorkers !== false,
    now,
    pass: async (at) => {
      // After the configured hour, yesterday's receipts and flows go into conservazione (once per day and ente).
      if (romeHour(at) >= app.config.conservazione.dailyHour) await step('daily-job', () => runDailyJob(ctx, { day: previousDay(romeDay(at)) }));
      await step('fixity', () => runFixityAudit(ctx, { maxBlobs: FIXITY_SLICE }));
      await step('anchor', () => anchorChainHead(ctx));
    },
  });
  app.decorate('conservazioneTick', tick);

  await app.register(async (scope) => {
    await scope.register(ingestRoutes);
    await scope.register(enteRoutes);
    await scope.register(profilesRoutes);
    await scope.register(auditRoutes);
    await scope.register(scartoRoutes);
    await scope.register(manualeRoutes);
  });
}

export default fp(conservazioneModule, { name: 'conservazione', dependencies: ['helpdesk'], decorators: { fastify: ['ticketsContext'] } });

declare module 'fastify' {
  interface FastifyInstance {
    conservazione: ConservazioneCtx;
    conservazioneTick: (now?: Date) => Promise<void>;
  }
}

/** Demo mode: the member comuni get the conservazione service (demo-seed.ts), as of the Italian day of `at`. */
export async function seedConservazioneDemoAt(db: FastifyInstance['db'], at: Date): Promise<number[]> {
  return seedMembersDemo(db, romeDay(at));
}
