/**
 * The enti module: the admin pages for enti, IBANs, payment services and operators (under
 * `/admin`) and the public route of the uploaded stemmi (`/stemmi/:file`). The demo seed of enti
 * and users is exported for app.ts, which runs it on opening a demo database.
 * Registered once in app.ts; encapsulated (it decorates nothing outside).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import entiRoutes, { stemmiRoutes } from './routes.js';

export { seedDemoData } from './demo-seed.js';

async function entiModule(app: FastifyInstance) {
  await app.register(entiRoutes, { prefix: '/admin' });
  await app.register(stemmiRoutes);
}

export default fp(entiModule, { name: 'enti', encapsulate: true });
