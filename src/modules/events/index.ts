/**
 * Territory events and public news (issue #17; seed items 18 and 10): ente operators and the new
 * `redazione` role publish events and news, the SAEL admin keeps categories and zones and features
 * events on the province's home, citizens browse `/eventi`, "Il mio Comune" and "I miei eventi"
 * without logging in, subscribe to feeds and to Web Push / e-mail alerts. Decorates `app.events`
 * (its context) and `app.eventsTick` (the scheduled pass: alerts of newly published events).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { scheduledPass } from '../../plugins/scheduled-pass.js';
import type { EventsCtx } from './context.js';
import { seedEventCategories } from './categories.js';
import { runEventAlerts } from './alerts.js';
import { seedEventsDemo } from './demo-seed.js';
import backofficeRoutes from './backoffice-routes.js';
import categoriesRoutes from './categories-routes.js';
import publicRoutes from './public-routes.js';
import feedsRoutes from './feeds-routes.js';
import alertsRoutes from './alerts-routes.js';
import newsRoutes from './news-routes.js';
import zonesRoutes from './zones-routes.js';

/** How often the alerts pass runs in the server (a publication also kicks it). */
const TICK_MS = 60_000;

export interface EventsModuleOptions {
  backgroundWorkers?: boolean;
  now?: () => Date;
  /** Seed the demo zones, events and news (demo mode with demo content). */
  seedDemo?: boolean;
}

async function eventsModule(app: FastifyInstance, opts: EventsModuleOptions) {
  const now = opts.now ?? (() => new Date());
  await seedEventCategories(app.db);
  const background = opts.backgroundWorkers !== false;
  const ctx: EventsCtx = {
    db: app.db,
    config: app.config,
    now,
    kickAlerts: () => {
      if (background) setImmediate(() => void tick());
    },
  };
  app.decorate('events', ctx);
  const tick = scheduledPass(app, {
    name: 'events',
    everyMs: TICK_MS,
    backgroundWorkers: background,
    now,
    pass: async (at) => {
      await runEventAlerts(ctx, at);
      // The alerts just queued go out now, not at the dispatcher's next minute.
      if (app.hasDecorator('notifications')) app.notifications.kick();
    },
  });
  app.decorate('eventsTick', tick);
  // After the pass exists: anything the seed kicks finds it.
  if (opts.seedDemo) await seedEventsDemo(ctx);

  await app.register(async (scope) => {
    await scope.register(backofficeRoutes);
    await scope.register(categoriesRoutes);
    await scope.register(publicRoutes);
    await scope.register(feedsRoutes);
    await scope.register(alertsRoutes);
    await scope.register(newsRoutes);
    await scope.register(zonesRoutes);
  });
}

export default fp(eventsModule, { name: 'events' });

declare module 'fastify' {
  interface FastifyInstance {
    events: EventsCtx;
    eventsTick: (now?: Date) => Promise<void>;
  }
}
