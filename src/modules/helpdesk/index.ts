/**
 * The province's helpdesk (reconciliation, node-call timeline, tickets, statements): see
 * routes.ts, which decorates `app.helpdeskTick` and runs the periodic task (started on onReady,
 * stopped on close). It reads the node's calls through `app.nodeCallLog`, decorated by the
 * pagoPA module: registered once in app.ts, after that module.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helpdeskRoutes from './routes.js';

async function helpdeskModule(app: FastifyInstance) {
  await app.register(helpdeskRoutes);
}

export default fp(helpdeskModule, { name: 'helpdesk', decorators: { fastify: ['nodeCallLog'] } });
