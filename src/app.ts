/**
 * buildApp(config): the whole server as a Fastify instance, used by server.ts and by the tests.
 * It opens (and migrates) the database, seeds demo data in demo mode, and registers the
 * cross-cutting plugins before the modules.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from './config.js';
import { openDatabase } from './db/client.js';
import { ensureGeneratedSecret } from './dev-secrets.js';
import errorsPlugin from './plugins/errors.js';
import securityPlugin from './plugins/security.js';
import sessionsPlugin from './plugins/sessions/index.js';
import authPlugin from './plugins/auth.js';
import csrfPlugin from './plugins/csrf.js';
import viewsPlugin from './plugins/views.js';
import healthRoutes from './plugins/health.js';
import jobsPlugin from './plugins/jobs/index.js';
import multipart from '@fastify/multipart';
import { registerImportJob } from './modules/positions/import-job.js';
import { registerBulkPrintJob } from './modules/positions/bulk-print-job.js';
import backofficePrints from './modules/backoffice/prints.js';
import entiModule, { stemmiRoutes } from './modules/enti/routes.js';
import portalModule from './modules/portal/routes.js';
import positionsApi from './modules/positions/api.js';
import spidRoutes from './modules/spid/routes.js';
import { loadSpRuntime } from './modules/spid/sp-config.js';
import testIdpRoutes, { TEST_IDP_PREFIX, ensureTestIdp, testIdpEntry } from './simulators/spid-idp/routes.js';
import backofficeModule from './modules/backoffice/routes.js';
import backofficeImports from './modules/backoffice/imports.js';
import pagopaModule from './modules/pagopa/index.js';
import helpdeskModule from './modules/helpdesk/routes.js';
import pagopaSimulator, { PAGOPA_SIM_PREFIX } from './simulators/pagopa/index.js';
import { seedDemoData } from './modules/enti/demo-seed.js';
import { seedDemoPositions } from './modules/positions/demo-positions.js';
import { createNodeCallLog } from './modules/helpdesk/node-call-log.js';
import { StationReadPool } from './modules/pagopa/station-pool.js';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BOOTSTRAP_ITALIA_DIST = path.join(path.dirname(require.resolve('bootstrap-italia/package.json')), 'dist');

export interface BuildOptions {
  /** pino options, or false to silence logs (tests). */
  logger?: FastifyServerOptions['logger'];
  /** Start the background job runner and schedulers (default true; tests run jobs explicitly). */
  backgroundWorkers?: boolean;
  /** Seed the demo positions on a demo database without positions (default: like backgroundWorkers, so tests start empty). */
  demoPositions?: boolean;
}

export function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    // Never log credentials, cookies or query strings (they may hold fiscal codes).
    redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
    serializers: {
      req: (req: { method: string; url: string; id: string }) => ({
        id: req.id,
        method: req.method,
        path: req.url.split('?', 1)[0],
      }),
    },
  };
}

/** Origins the pay buttons may end up at: the Checkout API host and pagoPA's Checkout front end. */
function checkoutOrigins(config: Config): string[] {
  const origins = new Set<string>();
  const api = new URL(config.pagopa.checkoutUrl).origin;
  if (api !== new URL(config.publicUrl).origin) origins.add(api);
  if (config.isProduction) origins.add('https://checkout.pagopa.it');
  return [...origins];
}

export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const handle = openDatabase(config.databaseFile);
  const app = Fastify({
    logger: opts.logger ?? loggerOptions(config),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId: () => crypto.randomUUID(),
    ajv: { customOptions: { allErrors: true, removeAdditional: false } },
  });
  app.decorate('config', config);
  app.decorate('db', handle.db);
  app.decorate('sqlite', handle.sqlite);
  app.decorate('expectedMigrations', handle.expectedMigrations);
  // The node's calls to the station, for the helpdesk timeline: written by the station, read by the helpdesk.
  const nodeCallLog = createNodeCallLog(handle.sqlite, (err) => app.log.warn({ err: err.message }, 'node calls not logged'));
  app.decorate('nodeCallLog', nodeCallLog);
  // The node's read-only calls, answered in worker threads under load (pagopa/station-pool.ts).
  const stationPool = new StationReadPool({
    size: handle.sqlite.memory ? 0 : config.pagopa.stationWorkers,
    file: handle.sqlite.name,
    settings: config.pagopa,
    onError: (err) => app.log.warn({ err: err.message }, 'pagoPA station worker'),
  });
  app.decorate('stationPool', stationPool);
  app.addHook('onClose', async () => {
    await stationPool.close();
    await nodeCallLog.close();
    handle.close();
  });

  if (!config.isProduction && config.seedDemo) seedDemoData(handle.db, app.log);
  if (!config.isProduction && config.seedDemo && (opts.demoPositions ?? opts.backgroundWorkers !== false)) seedDemoPositions(handle.db, config.pagopa, app.log);

  const sessionSecret = config.sessionSecret ?? ensureGeneratedSecret(config.dataDir, 'session-secret');

  await app.register(errorsPlugin);
  await app.register(formbody, { bodyLimit: config.bodyLimitBytes });
  // Forms that end in a redirect to pagoPA Checkout (the cart 'Paga' button) need its origin in
  // form-action: browsers apply the directive to the redirects that follow a form submission.
  await app.register(securityPlugin, { formActionOrigins: checkoutOrigins(config) });
  await app.register(sessionsPlugin, { secret: sessionSecret });
  await app.register(authPlugin);
  await app.register(csrfPlugin);
  await app.register(viewsPlugin);
  await app.register(jobsPlugin, { start: opts.backgroundWorkers !== false });
  registerImportJob(app.jobs, app.db, config.dataDir);
  registerBulkPrintJob(app.jobs, app.db, config.dataDir, config.noticeWorkers);
  await app.register(multipart, { limits: { fileSize: config.importMaxBytes, files: 1, fields: 10 } });

  await app.register(fastifyStatic, { root: BOOTSTRAP_ITALIA_DIST, prefix: '/bi/', maxAge: '7d', immutable: true });
  await app.register(fastifyStatic, { root: path.join(ROOT, 'public'), prefix: '/static/', decorateReply: false, maxAge: '1h' });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'sael-pay API',
        version: '1.0.0',
        description:
          'API per i gestionali dei Comuni aderenti: posizioni debitorie pagoPA. Autenticazione con la chiave API dell’ente (Authorization: Bearer …).',
      },
      servers: [{ url: config.publicUrl }],
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Chiave API dell’ente (npm run cli -- apikey:create)' } } },
    },
    hideUntagged: true,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: false });

  await app.register(healthRoutes);
  // SPID/CIE login; the test IdP exists only outside production (there its paths answer 404).
  const testIdp = config.isProduction ? null : await ensureTestIdp(config);
  const sp = await loadSpRuntime(config, { log: app.log, testIdps: testIdp ? [testIdpEntry(testIdp)] : [] });
  await app.register(spidRoutes, { sp, backgroundWorkers: opts.backgroundWorkers !== false });
  if (testIdp) await app.register(testIdpRoutes, { prefix: TEST_IDP_PREFIX, idp: testIdp, sp });
  await app.register(portalModule);
  await app.register(entiModule, { prefix: '/admin' });
  await app.register(stemmiRoutes);
  await app.register(positionsApi, { prefix: '/api/v1' });
  await app.register(backofficeModule);
  await app.register(backofficeImports);
  await app.register(backofficePrints);
  await app.register(pagopaModule, { backgroundWorkers: opts.backgroundWorkers !== false });
  await app.register(helpdeskModule);
  if (!config.isProduction) await app.register(pagopaSimulator, { prefix: PAGOPA_SIM_PREFIX });
  return app;
}
