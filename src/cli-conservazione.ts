/**
 * Conservazione commands of the admin CLI (registered in cli-commands.ts):
 *
 * - `conservazione:run [--date AAAA-MM-GG]`: runs the daily job now for that day (default
 *   yesterday, Italian time): the receipts and reporting flows of every ente with the conservazione
 *   service active go into PdV, then into signed, time-stamped PdA. Idempotent per day and ente.
 * - `conservazione:verify`: re-hashes every stored file, recomputes the event-log chain, checks its
 *   daily anchors and every PdA's signature and time stamp; prints a report and exits 1 on any finding.
 *
 * Both build the app in-process on the same DATA_DIR (background workers off) to get the
 * conservazione context (store, sealer, clock) exactly as the server has it.
 */
import { buildApp } from './app.js';
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import { previousDay, romeDay } from './modules/conservazione/dates.js';
import { runDailyJob } from './modules/conservazione/daily-job.js';
import { formatVerifyReport, verifyConservazione } from './modules/conservazione/verify.js';

interface Io {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
}

type Values = Record<string, string | boolean | undefined>;

async function withApp<T>(config: Config, fn: (app: Awaited<ReturnType<typeof buildApp>>) => Promise<T>): Promise<T> {
  const app = await buildApp(config, { logger: false, backgroundWorkers: false, demoPositions: false, demoCatalogue: false });
  await app.ready();
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

export const CONSERVAZIONE_COMMANDS = {
  'conservazione:run': {
    options: { date: { type: 'string' } },
    async run(_db: Db, values: Values, io: Io, config: Config): Promise<number> {
      const date = typeof values.date === 'string' ? values.date : undefined;
      if (date !== undefined && (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date)) {
        io.err(`--date non valida (${date}): serve una data AAAA-MM-GG`);
        return 2;
      }
      return withApp(config, async (app) => {
        const day = date ?? previousDay(romeDay(app.conservazione.now()));
        const result = await runDailyJob(app.conservazione, { day, actor: 'cli' });
        if (!result.enti.length) io.out(`${day}: nessun ente con il servizio di conservazione attivo`);
        let failed = 0;
        for (const e of result.enti) {
          if (e.status === 'failed') failed++;
          io.out(`${day}\tente ${e.enteId}: ${e.status}, PdV accettati ${e.sips}, rifiutati ${e.rejected}, PdA ${e.aips}${e.message ? ` — ${e.message}` : ''}`);
        }
        return failed ? 1 : 0;
      });
    },
  },
  'conservazione:verify': {
    options: {},
    async run(_db: Db, _values: Values, io: Io, config: Config): Promise<number> {
      return withApp(config, async (app) => {
        const report = await verifyConservazione(app.conservazione);
        for (const line of formatVerifyReport(report)) (report.findings.length ? io.err : io.out)(line);
        if (!report.findings.length) io.out('verifica superata: nessuna anomalia');
        return report.findings.length ? 1 : 0;
      });
    },
  },
};
