/**
 * The pagoPA module: the SOAP station for the node, receipts (PDF for debtor, operator and
 * helpdesk; REST for comune software), the Checkout outcome page, and the scheduled download of
 * reporting flows. Registered once in app.ts.
 *
 * A fastify-plugin (not encapsulated) because it decorates the app with the station's resources,
 * which the helpdesk module and the tests use too:
 * - `nodeCallLog`: the node's calls to the station, written by the station (batched in a worker
 *   thread), read by the helpdesk timeline (helpdesk/node-call-log.ts);
 * - `stationPool`: worker threads answering the node's read-only calls under load (station-pool.ts;
 *   none on an in-memory database).
 * On close the pool stops first (its answers still go to the log), then the log flushes; the
 * database, opened by app.ts before every plugin, closes after both.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createNodeCallLog } from '../helpdesk/node-call-log.js';
import pagopaBackground from './background.js';
import checkoutRoutes from './checkout-routes.js';
import receiptRoutes from './receipt-routes.js';
import receiptsApi from './receipts-api.js';
import { StationReadPool } from './station-pool.js';
import stationRoutes from './station-routes.js';

export interface PagopaModuleOptions {
  /** Start the FdR scheduler and the central archive sender (buildApp's backgroundWorkers). */
  backgroundWorkers?: boolean;
}

async function pagopaModule(app: FastifyInstance, opts: PagopaModuleOptions = {}) {
  const nodeCallLog = createNodeCallLog(app.sqlite, (err) => app.log.warn({ err: err.message }, 'node calls not logged'));
  app.decorate('nodeCallLog', nodeCallLog);
  const stationPool = new StationReadPool({
    size: app.sqlite.memory ? 0 : app.config.pagopa.stationWorkers,
    file: app.sqlite.name,
    settings: app.config.pagopa,
    onError: (err) => app.log.warn({ err: err.message }, 'pagoPA station worker'),
  });
  app.decorate('stationPool', stationPool);
  app.addHook('onClose', async () => {
    await stationPool.close();
    await nodeCallLog.close();
  });

  await app.register(stationRoutes);
  await app.register(checkoutRoutes);
  await app.register(receiptRoutes);
  await app.register(receiptsApi, { prefix: '/api/v1' });
  await app.register(pagopaBackground, { start: opts.backgroundWorkers === true });
}

export default fp(pagopaModule, { name: 'pagopa' });
