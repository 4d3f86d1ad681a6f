/**
 * Liveness (`/healthz`: the process answers) and readiness (`/readyz`: database reachable,
 * migrations applied); also `/favicon.ico`, which browsers ask for on every site.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const statusSchema = {
  type: 'object',
  properties: { status: { type: 'string' }, detail: { type: 'string' } },
  required: ['status'],
} as const;

const FAVICON = fileURLToPath(new URL('../../public/favicon.ico', import.meta.url));

export default async function healthRoutes(app: FastifyInstance) {
  const favicon = fs.readFileSync(FAVICON);
  app.get('/favicon.ico', { logLevel: 'warn', config: { session: false, csrf: false } }, async (_request, reply) =>
    reply.type('image/x-icon').header('cache-control', 'public, max-age=86400').send(favicon),
  );

  app.get('/healthz', { schema: { response: { 200: statusSchema } }, logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { schema: { response: { 200: statusSchema, 503: statusSchema } }, logLevel: 'warn' },
    async (request, reply) => {
      try {
        await app.database.ping();
        const applied = await app.database.appliedMigrations();
        if (applied < app.expectedMigrations) {
          return reply.code(503).send({ status: 'not-ready', detail: `migrazioni applicate ${applied}/${app.expectedMigrations}` });
        }
        return { status: 'ready', detail: app.database.dialect };
      } catch (err) {
        request.log.warn({ err }, 'readyz: database non raggiungibile');
        return reply.code(503).send({ status: 'not-ready', detail: `database ${app.database.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'} non raggiungibile` });
      }
    },
  );
}
