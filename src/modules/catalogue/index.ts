/**
 * The SAEL catalogue (spec helpdesk-catalogue §B; seed items 1–20): services and listino,
 * convenzioni and adesioni, charges paid through pagoPA as positions of the Province, requests
 * (helpdesk tickets with the service's SLA), training with 2 free seats per ente, the referenti's
 * mailing list, the infopoint and the SAEL dashboard. Registered once in app.ts after the helpdesk
 * (whose `ticketsContext` it uses); decorates `app.catalogue` (its context) and
 * `app.catalogueTick` (the scheduled pass: renewals, expiries, charges, reminders).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { scheduledPass } from '../../plugins/scheduled-pass.js';
import { catalogueContext, type CatalogueCtx } from './context.js';
import { runAdesioniSchedule } from './adesioni-schedule.js';
import { runChargesSchedule } from './charges-schedule.js';
import servicesRoutes from './services-routes.js';
import listinoRoutes from './listino-routes.js';
import convenzioniRoutes from './convenzioni-routes.js';
import adesioniRoutes from './adesioni-routes.js';
import chargesRoutes from './charges-routes.js';
import requestsRoutes from './requests-routes.js';
import trainingRoutes from './training-routes.js';
import mailingRoutes from './mailing-routes.js';
import infopointRoutes from './infopoint-routes.js';
import dashboardRoutes from './dashboard-routes.js';
import catalogueApi from './catalogue-api.js';

/** How often the scheduled pass runs in the server. */
const TICK_MS = 10 * 60_000;

export interface CatalogueModuleOptions {
  backgroundWorkers?: boolean;
  now?: () => Date;
}

async function catalogueModule(app: FastifyInstance, opts: CatalogueModuleOptions) {
  const ctx = catalogueContext(app, opts.now);
  app.decorate('catalogue', ctx);

  // One pass at start-up (charges of the demo adesioni, renewals missed while stopped), then periodically.
  const tick = scheduledPass(app, {
    name: 'catalogue',
    everyMs: TICK_MS,
    backgroundWorkers: opts.backgroundWorkers !== false,
    now: ctx.now,
    pass: async (now) => {
      await runAdesioniSchedule(ctx, now);
      await runChargesSchedule(ctx, now);
    },
  });
  app.decorate('catalogueTick', tick);

  await app.register(async (scope) => {
    await scope.register(servicesRoutes);
    await scope.register(listinoRoutes);
    await scope.register(convenzioniRoutes);
    await scope.register(adesioniRoutes);
    await scope.register(chargesRoutes);
    await scope.register(requestsRoutes);
    await scope.register(trainingRoutes);
    await scope.register(mailingRoutes);
    await scope.register(infopointRoutes);
    await scope.register(dashboardRoutes);
    await scope.register(catalogueApi);
  });
}

export default fp(catalogueModule, { name: 'catalogue', dependencies: ['helpdesk'], decorators: { fastify: ['ticketsContext'] } });

declare module 'fastify' {
  interface FastifyInstance {
    catalogue: CatalogueCtx;
    catalogueTick: (now?: Date) => Promise<void>;
  }
}

export { seedCatalogue } from './services-seed.js';
export { seedCatalogueDemo } from './demo-seed.js';
