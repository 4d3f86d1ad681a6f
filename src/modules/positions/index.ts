/**
 * The positions module: the REST API for the comuni's software (`/api/v1`: positions, notices
 * in PDF, CSV imports) and the work it hands to the job runner (src/plugins/jobs): the CSV import
 * and the bulk printing of notices. The jobs run when the runner starts (onReady, with the
 * background workers) or when a test runs them; the runner stops them on close.
 * Registered once in app.ts, after the jobs plugin; encapsulated (it decorates nothing outside).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import positionsApi from './api.js';
import { registerBulkPrintJob } from './bulk-print-job.js';
import { registerImportJob } from './import-job.js';

export { seedDemoPositions } from './demo-positions.js';

async function positionsModule(app: FastifyInstance) {
  registerImportJob(app.jobs, app.db, app.config.dataDir);
  registerBulkPrintJob(app.jobs, app.db, app.config.dataDir, app.config.noticeWorkers);
  await app.register(positionsApi, { prefix: '/api/v1' });
}

export default fp(positionsModule, { name: 'positions', dependencies: ['jobs'], encapsulate: true });
