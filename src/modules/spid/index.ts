/**
 * The SPID/CIE login module: loads the SP runtime (keys, metadata, IdP registries; sp-config.ts),
 * registers the SAML routes (routes.ts, which decorates `app.spid` for the portal's login pages
 * and logout) and, outside production only, the SPID test IdP and its entry in the IdP list (in
 * production its paths answer 404). Background: the sweep of expired SAML requests (always) and,
 * with the background workers, the periodic download of the IdP registry; both stop on close.
 * Registered once in app.ts, after the sessions, auth, views and errors plugins; a
 * fastify-plugin, so `app.spid` is visible to the other modules.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import testIdpRoutes, { TEST_IDP_PREFIX, ensureTestIdp, testIdpEntry } from '../../simulators/spid-idp/routes.js';
import spidRoutes from './routes.js';
import { loadSpRuntime } from './sp-config.js';

export interface SpidModuleOptions {
  /** Run the IdP metadata refresh (buildApp's backgroundWorkers). */
  backgroundWorkers?: boolean;
}

async function spidModule(app: FastifyInstance, opts: SpidModuleOptions) {
  const config = app.config;
  const testIdp = config.isProduction ? null : await ensureTestIdp(config);
  const sp = await loadSpRuntime(config, { log: app.log, testIdps: testIdp ? [testIdpEntry(testIdp)] : [] });
  await app.register(spidRoutes, { sp, backgroundWorkers: opts.backgroundWorkers === true });
  if (testIdp) await app.register(testIdpRoutes, { prefix: TEST_IDP_PREFIX, idp: testIdp, sp });
}

export default fp(spidModule, { name: 'spid-module', dependencies: ['sessions', 'auth', 'views', 'errors'] });
