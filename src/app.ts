/**
 * buildApp(config): the whole server as a Fastify instance, used by server.ts and by the tests.
 * It opens (and migrates) the database, seeds demo data in demo mode, and registers the
 * cross-cutting plugins before the modules.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from './config.js';
import { openAppDatabase } from './db/open.js';
import { ensureGeneratedSecret } from './dev-secrets.js';
import errorsPlugin, { frameworkErrorHandler } from './plugins/errors.js';
import securityPlugin from './plugins/security.js';
import sessionsPlugin from './plugins/sessions/index.js';
import authPlugin from './plugins/auth.js';
import csrfPlugin from './plugins/csrf.js';
import viewsPlugin from './plugins/views.js';
import healthRoutes from './plugins/health.js';
import jobsPlugin from './plugins/jobs/index.js';
import multipart from '@fastify/multipart';
import spidModule from './modules/spid/index.js';
import portalModule from './modules/portal/index.js';
import entiModule, { seedDemoData } from './modules/enti/index.js';
import positionsModule, { seedDemoPositions } from './modules/positions/index.js';
import backofficeModule from './modules/backoffice/index.js';
import pagopaModule from './modules/pagopa/index.js';
import helpdeskModule from './modules/helpdesk/index.js';
import catalogueModule, { seedCatalogue, seedCatalogueDemo } from './modules/catalogue/index.js';
import pagopaSimulator, { PAGOPA_SIM_PREFIX } from './simulators/pagopa/index.js';
import { tsaSimulatorRoutes } from './simulators/tsa/routes.js';
import { lazyValidatorFactory } from './plugins/lazy-validators.js';
import { STATIC_ROOTS } from './plugins/page-modules.js';
import conservazioneModule, { seedConservazioneDemoAt } from './modules/conservazione/index.js';
import eventsModule from './modules/events/index.js';
import notificationsModule from './modules/notifications/index.js';
import ioSimulator from './simulators/io/index.js';


export interface BuildOptions {
  /** pino options, or false to silence logs (tests). */
  logger?: FastifyServerOptions['logger'];
  /** Start the background job runner and schedulers (default true; tests run jobs explicitly). */
  backgroundWorkers?: boolean;
  /** Seed the demo positions on a demo database without positions (default: like backgroundWorkers, so tests start empty). */
  demoPositions?: boolean;
  /** Seed the catalogue's demo adesioni, convenzioni, charges and training (default: like demoPositions). */
  demoCatalogue?: boolean;
  /** The clock of the modules that take one (the catalogue); default `new Date()`. */
  now?: () => Date;
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
  const handle = await openAppDatabase(config);
  const app = Fastify({
    logger: opts.logger ?? loggerOptions(config),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId: () => crypto.randomUUID(),
    ajv: { customOptions: { allErrors: true, removeAdditional: false } },
    // Without background workers (tests, CLI, benchmarks) a route's schema is compiled on its first
    // request; the server compiles them all at start (lazy-validators.ts).
    ...(opts.backgroundWorkers === false ? { schemaController: { compilersFactory: { buildValidator: lazyValidatorFactory() } } } : {}),
    // A URL Fastify cannot decode (`/comuni/%ff`) gets our error answer and security headers.
    frameworkErrors: frameworkErrorHandler,
    // A first start generates keys (SPID SP certificate, test IdP, conservazione signer): on a
    // small, busy machine one plugin can take more than avvio's default 10 s.
    pluginTimeout: 60_000,
  });
  app.decorate('config', config);
  app.decorate('db', handle.db);
  app.decorate('sqlite', handle.sqlite);
  app.decorate('database', handle);
  app.decorate('expectedMigrations', handle.expectedMigrations);
  // Added before every plugin, so it runs last: onClose hooks run in reverse order of addition,
  // and the modules' work (jobs, the station's pool and node-call log, schedulers) stops first.
  app.addHook('onClose', async () => handle.close());

  if (!config.isProduction && config.seedDemo) await seedDemoData(handle.db, app.log);
  if (!config.isProduction && config.seedDemo && (opts.demoPositions ?? opts.backgroundWorkers !== false)) await seedDemoPositions(handle.db, config.pagopa, app.log);
  // The catalogue's services and ente classes are the province's real offer: seeded in every mode.
  // The demo listino (flagged demo) only outside production: there paid services have no price
  // until the SAEL admin enters the real listino.
  await seedCatalogue(handle.db, { demoPriceList: !config.isProduction });
  // Demo content of the catalogue, conservazione and events (not the enti and users, seeded above).
  const demoContent = !config.isProduction && config.seedDemo && (opts.demoCatalogue ?? opts.demoPositions ?? opts.backgroundWorkers !== false);
  if (demoContent) {
    await seedCatalogueDemo(handle.db, opts.now?.() ?? new Date());
    // The member comuni have the conservazione service active, so a newcomer's payments are preserved.
    await seedConservazioneDemoAt(handle.db, opts.now?.() ?? new Date());
  }

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
  await app.register(multipart, { limits: { fileSize: config.importMaxBytes, files: 1, fields: 10 } });

  // br/gzip for pages and assets: before @fastify/static and every route, whose onSend it sets.
  await app.register(import('./plugins/compression.js'));
  await app.register(fastifyStatic, { root: STATIC_ROOTS['/bi/'], prefix: '/bi/', maxAge: '7d', immutable: true });
  await app.register(fastifyStatic, { root: STATIC_ROOTS['/static/'], prefix: '/static/', decorateReply: false, maxAge: '1h' });

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
  // The API documentation only where API_DOCS allows it (default: not in production); elsewhere its
  // paths are simply not routes (404).
  if (config.apiDocs) await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: false });

  await app.register(healthRoutes);
  // The modules, each from its index.ts with its own routes, jobs and background tasks. Order
  // matters: spid decorates app.spid (portal), positions registers its jobs on app.jobs
  // (backoffice queues them), pagopa decorates app.nodeCallLog and app.stationPool (helpdesk).
  const backgroundWorkers = opts.backgroundWorkers !== false;
  await app.register(spidModule, { backgroundWorkers });
  await app.register(portalModule);
  await app.register(entiModule);
  await app.register(positionsModule);
  await app.register(import('./modules/gpd/index.js'), { prefix: '/gpd' });
  await app.register(backofficeModule);
  await app.register(pagopaModule, { backgroundWorkers });
  await app.register(helpdeskModule);
  await app.register(catalogueModule, { backgroundWorkers, now: opts.now });
  await app.register(conservazioneModule, { backgroundWorkers, now: opts.now });
  await app.register(eventsModule, { backgroundWorkers, now: opts.now, seedDemo: demoContent });
  await app.register(notificationsModule, { backgroundWorkers, now: opts.now });
  if (!config.isProduction) await app.register(ioSimulator, { prefix: '/simulators/io' });
  if (!config.isProduction) await app.register(pagopaSimulator, { prefix: PAGOPA_SIM_PREFIX });
  // RFC 3161 time-stamping authority for demo and tests (conservazione); keys made at the first request.
  if (!config.isProduction) await app.register(tsaSimulatorRoutes, { keysDir: path.join(config.dataDir, 'tsa-simulator'), clock: opts.now });
  return app;
}
