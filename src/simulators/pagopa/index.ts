/**
 * Built-in pagoPA node + Checkout simulator (demo and tests). Registered only outside
 * production (app.ts); in production its paths do not exist (404) and this plugin refuses to load.
 *
 * Under /simulators/pagopa:
 * - POST /checkout/ec/v2/carts            Checkout EC API v2 → 302 to the simulated Checkout page
 * - GET|POST /checkout/carrello/:id        the page where the tester pays or cancels the cart
 * - GET|POST /psp                          "Sportello PSP": pay any notice as a PSP would
 * - POST /nodo/node-for-pa                 nodeForPa SOAP: nodoChiedi* with generated reporting flows
 * - GET /fdr-org/service/v1/organizations/… FdR 3 organizations REST API over the same flows (fdr.ts)
 * - POST /fdr-org/sim/revisions            publish a new revision of a flow (demo and tests)
 * - POST /aca/paCreatePosition             central archive: 200
 */
import type { FastifyInstance } from 'fastify';
import checkoutSimulator from './checkout.js';
import nodeForPaSimulator from './fdr.js';
import pspSimulator from './psp.js';

export const PAGOPA_SIM_PREFIX = '/simulators/pagopa';

export default async function pagopaSimulator(app: FastifyInstance) {
  if (app.config.isProduction) throw new Error('the pagoPA simulator is not available in production');
  await app.register(checkoutSimulator);
  await app.register(pspSimulator);
  await app.register(nodeForPaSimulator);
}
