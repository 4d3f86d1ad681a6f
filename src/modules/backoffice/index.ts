/**
 * The back office of the comuni's operators: positions (list, form, detail, notice PDF, CSV
 * export), CSV imports and bulk printing of notices (pages over the positions module's jobs).
 * Registered once in app.ts, after the positions module (whose jobs its pages queue);
 * encapsulated (it decorates nothing outside).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import backofficeImports from './imports.js';
import backofficePrints from './prints.js';
import backofficeRoutes from './routes.js';

async function backofficeModule(app: FastifyInstance) {
  await app.register(backofficeRoutes);
  await app.register(backofficeImports);
  await app.register(backofficePrints);
}

export default fp(backofficeModule, { name: 'backoffice', dependencies: ['positions'], encapsulate: true });
