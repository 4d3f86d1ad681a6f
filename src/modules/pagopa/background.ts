/**
 * Background work of the pagoPA module, started only when the app runs its background workers
 * (`buildApp(config, { backgroundWorkers })` not false; tests call the passes themselves):
 * - the scheduled FdR download (`PAGOPA_FDR_INTERVAL_MINUTES`, 0 = never; fdr-scheduler.ts);
 * - the central archive sender (aca_outbox → paCreatePosition; positions/aca-outbox.ts).
 * Like the job runner (src/plugins/jobs/index.ts) they start on `onReady` and are stopped on close,
 * waiting for the pass in progress. Both hold leases in `pagopa_schedules`, so any number of
 * processes can run them.
 */
import type { FastifyInstance } from 'fastify';
import { AcaSender } from '../positions/aca-outbox.js';
import { FdrScheduler } from './fdr-scheduler.js';

export interface PagopaBackgroundOptions {
  start: boolean;
}

export default async function pagopaBackground(app: FastifyInstance, opts: PagopaBackgroundOptions) {
  if (!opts.start) return;
  const fdr = new FdrScheduler(app.db, app.config.pagopa, app.log, { intervalMinutes: app.config.pagopa.fdrIntervalMinutes });
  const aca = new AcaSender(app.db, app.config.pagopa, app.log);
  app.addHook('onReady', async () => {
    fdr.start();
    aca.start();
  });
  app.addHook('onClose', async () => {
    await Promise.all([fdr.stop(), aca.stop()]);
  });
}
