/**
 * Citizen notifications (issue #17), one module for payments and events: App IO messages (each
 * ente's IO service), e-mail (double opt-in) and Web Push. Rows of `notifications` are queued by
 * the payment triggers (position published, reminder before a due date, receipt) and by the events
 * alerts; the dispatcher sends them with retries and records delivery. Decorates
 * `app.notifications` (its context) and `app.notificationsTick` (triggers, then dispatch).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { scheduledPass } from '../../plugins/scheduled-pass.js';
import type { NotificationsCtx } from './context.js';
import { runDispatch } from './dispatch.js';
import { runPaymentTriggers } from './payment-triggers.js';
import { registerPushChannel } from './push.js';
import routes from './routes.js';

/** How often the pass runs in the server (queuing also kicks it). */
const TICK_MS = 60_000;

export interface NotificationsModuleOptions {
  backgroundWorkers?: boolean;
  now?: () => Date;
}

async function notificationsModule(app: FastifyInstance, opts: NotificationsModuleOptions) {
  const now = opts.now ?? (() => new Date());
  const background = opts.backgroundWorkers !== false;
  const ctx: NotificationsCtx = {
    db: app.db,
    config: app.config,
    now,
    channels: new Map(),
    kick: () => {
      if (background) setImmediate(() => void tick());
    },
  };
  await registerPushChannel(ctx);
  app.decorate('notifications', ctx);
  const tick = scheduledPass(app, {
    name: 'notifications',
    everyMs: TICK_MS,
    backgroundWorkers: background,
    now,
    pass: async (at) => {
      try {
        await runPaymentTriggers(ctx, at);
      } catch (e) {
        app.log.error({ err: (e as Error).message }, 'notifications payment triggers failed');
      }
      await runDispatch(ctx, at);
    },
  });
  app.decorate('notificationsTick', tick);
  await app.register(routes);
}

export default fp(notificationsModule, { name: 'notifications' });

declare module 'fastify' {
  interface FastifyInstance {
    notifications: NotificationsCtx;
    notificationsTick: (now?: Date) => Promise<void>;
  }
}
