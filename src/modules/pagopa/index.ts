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
import { createStationTlsServer, metricsGuard, stationGuard } from './station-auth.js';
import stationRoutes, { STATION_PATH } from './station-routes.js';

export interface PagopaModuleOptions {
  /** Start the FdR scheduler and the central archive sender (buildApp's backgroundWorkers). */
  backgroundWorkers?: boolean;
}

async function pagopaModule(app: FastifyInstance, opts: PagopaModuleOptions = {}) {
  const nodeCallLog = createNodeCallLog(app.db, (err) => app.log.warn({ err: err.message }, 'node calls not logged'));
  app.decorate('nodeCallLog', nodeCallLog);
  // The pool's workers open the SQLite file read-only: none on PostgreSQL or an in-memory database.
  const onSqliteFile = app.database.dialect === 'sqlite' && !app.sqlite.memory;
  const stationPool = new StationReadPool({
    size: onSqliteFile ? app.config.pagopa.stationWorkers : 0,
    file: onSqliteFile ? app.sqlite.name : '',
    settings: app.config.pagopa,
    onError: (err) => app.log.warn({ err: err.message }, 'pagoPA station worker'),
  });
  app.decorate('stationPool', stationPool);
  app.addHook('onClose', async () => {
    await stationPool.close();
    await nodeCallLog.close();
  });

  // Only the pagoPA node calls the station, only the monitoring reads /metrics (station-auth.ts).
  const guards: Record<string, ReturnType<typeof stationGuard>> = {
    [STATION_PATH]: stationGuard(app.config.pagopa.stationAuth),
    '/metrics': metricsGuard(app.config.metricsToken, app.config.isProduction),
  };
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      const guard = guards[route.url];
      if (!guard) return;
      const existing = route.onRequest ? (Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]) : [];
      route.onRequest = [guard, ...existing] as typeof route.onRequest;
    });
    await scope.register(stationRoutes);
  });
  // The station's own HTTPS listener with client certificates: server.ts starts it after the
  // portal's listener (listenStationTls); it closes with the app.
  const tls = app.config.pagopa.stationAuth.tls;
  const tlsServer = tls ? createStationTlsServer(app, tls, STATION_PATH) : null;
  app.decorate('stationTlsServer', tlsServer);
  app.decorate('listenStationTls', async (): Promise<number | null> => {
    if (!tlsServer || !tls) return null;
    await app.ready();
    if (!tlsServer.listening) {
      await new Promise<void>((resolve, reject) => {
        tlsServer.once('error', reject);
        tlsServer.listen({ host: app.config.host, port: tls.port }, () => {
          tlsServer.off('error', reject);
          resolve();
        });
      });
    }
    const port = (tlsServer.address() as { port: number }).port;
    app.log.info({ port }, 'pagoPA station HTTPS listener (client certificates) ready');
    return port;
  });
  if (tlsServer) {
    app.addHook('onClose', async () => {
      if (!tlsServer.listening) return;
      tlsServer.closeAllConnections();
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    });
  }
  await app.register(checkoutRoutes);
  await app.register(receiptRoutes);
  await app.register(receiptsApi, { prefix: '/api/v1' });
  await app.register(pagopaBackground, { start: opts.backgroundWorkers === true });
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The station's HTTPS listener (PAGOPA_STATION_TLS_PORT), or null. */
    stationTlsServer: import('node:https').Server | null;
    /** Starts the station's HTTPS listener when configured; its port, or null. */
    listenStationTls(): Promise<number | null>;
  }
}

export default fp(pagopaModule, { name: 'pagopa' });
