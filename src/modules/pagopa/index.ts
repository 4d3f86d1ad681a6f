/**
 * The pagoPA module: the SOAP station for the node, receipts (PDF for debtor, operator and
 * helpdesk; REST for comune software), the Checkout outcome page, and the scheduled download of
 * reporting flows. Registered once in app.ts.
 */
import type { FastifyInstance } from 'fastify';
import pagopaBackground from './background.js';
import checkoutRoutes from './checkout-routes.js';
import receiptRoutes from './receipt-routes.js';
import receiptsApi from './receipts-api.js';
import stationRoutes from './station-routes.js';

export interface PagopaModuleOptions {
  /** Start the FdR scheduler and the central archive sender (buildApp's backgroundWorkers). */
  backgroundWorkers?: boolean;
}

export default async function pagopaModule(app: FastifyInstance, opts: PagopaModuleOptions = {}) {
  await app.register(stationRoutes);
  await app.register(checkoutRoutes);
  await app.register(receiptRoutes);
  await app.register(receiptsApi, { prefix: '/api/v1' });
  await app.register(pagopaBackground, { start: opts.backgroundWorkers === true });
}
