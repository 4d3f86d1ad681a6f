/** Decorates the app with the job runner; it polls for work once the server is ready (unless disabled) and stops on close. */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { JobRunner } from './runner.js';

declare module 'fastify' {
  interface FastifyInstance {
    jobs: JobRunner;
  }
}

export default fp(
  async function jobsPlugin(app: FastifyInstance, opts: { start: boolean }) {
    const runner = new JobRunner(app.db, app.log, { staleMs: app.config.jobStaleMs });
    app.decorate('jobs', runner);
    if (opts.start) app.addHook('onReady', async () => runner.start());
    app.addHook('onClose', async () => runner.stop());
  },
  { name: 'jobs' },
);
