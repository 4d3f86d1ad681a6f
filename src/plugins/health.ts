/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: database reachable, migrations applied). */
import type { FastifyInstance } from 'fastify';
import { appliedMigrations } from '../db/client.js';

const statusSchema = {
  type: 'object',
  properties: { status: { type: 'string' }, detail: { type: 'string' } },
  required: ['status'],
} as const;

export default async function healthRoutes(app: FastifyInstance) {
  app.get('/healthz', { schema: { response: { 200: statusSchema } }, logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { schema: { response: { 200: statusSchema, 503: statusSchema } }, logLevel: 'warn' },
    async (_request, reply) => {
      try {
        const applied = appliedMigrations(app.sqlite);
        if (applied < app.expectedMigrations) {
          return reply.code(503).send({ status: 'not-ready', detail: `migrazioni applicate ${applied}/${app.expectedMigrations}` });
        }
        return { status: 'ready' };
      } catch (err) {
        return reply.code(503).send({ status: 'not-ready', detail: 'database non raggiungibile' });
      }
    },
  );
}
