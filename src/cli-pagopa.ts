/**
 * pagoPA commands of the admin CLI (registered in cli-commands.ts):
 *
 * - `fdr:download [--ente <CF>]`: downloads now the reporting flows of the member enti (or one)
 *   with nodoChiedi* (or the FdR 3 REST API, `PAGOPA_FDR_API=rest`), under the same leases as the scheduler (an ente being downloaded by the
 *   server is skipped and reported).
 * - `sim:pay --notice <n> --cf <ente CF> [--v2]` (demo only): pays a notice as a PSP would.
 *
 * In demo mode the simulated node lives inside the app, which may not be running when the CLI is
 * used. So these commands build the app in-process on the same DATA_DIR, listen on an ephemeral
 * loopback port and let the simulated node call the station over real HTTP/SOAP
 * (verify → getPayment(V2) → sendRT(V2), then the copies to the other served enti of the transfers)
 * — the same path as the "Sportello PSP" page. The receipt is committed to the shared SQLite file
 * (WAL: a running server sees it at once). For `fdr:download` this happens only when
 * PAGOPA_NODE_URL is not set; otherwise the configured node is called directly.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config, PagopaSettings } from './config.js';
import type { Db } from './db/client.js';
import { formatEuro } from './domain/money.js';
import { getEnteByFiscalCode } from './modules/enti/repository.js';
import { downloadFlowsNow } from './modules/pagopa/fdr-scheduler.js';
import { payNotice } from './simulators/pagopa/node.js';
import { PAGOPA_SIM_PREFIX } from './simulators/pagopa/index.js';

interface Io {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
}

type Values = Record<string, string | boolean | undefined>;

/** The app on an ephemeral loopback port, background workers off, no demo positions added. */
async function inProcessApp(config: Config): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildApp(config, { logger: false, backgroundWorkers: false, demoPositions: false });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: address };
}

const OUTCOME_LABELS: Record<string, string> = {
  verify: 'verifica (paVerifyPaymentNotice)',
  getPayment: 'attivazione (paGetPayment)',
  sendRT: 'invio ricevuta (paSendRT)',
};

export const PAGOPA_COMMANDS = {
  'fdr:download': {
    options: { ente: { type: 'string' } },
    async run(db: Db, values: Values, io: Io, config: Config): Promise<number> {
      const cf = typeof values.ente === 'string' ? values.ente.trim() : undefined;
      if (cf !== undefined) {
        const ente = await getEnteByFiscalCode(db, cf);
        if (!ente || !ente.member) {
          io.err(`ente: nessun ente aderente con codice fiscale ${cf}`);
          return 1;
        }
      }
      const log = {
        info: () => {},
        warn: (o: unknown, msg?: string) => io.err(`avviso: ${msg ?? ''} ${JSON.stringify(o)}`),
        error: (o: unknown, msg?: string) => io.err(`errore: ${msg ?? ''} ${JSON.stringify(o)}`),
      };
      let local: { app: FastifyInstance; base: string } | undefined;
      let settings: PagopaSettings = config.pagopa;
      // Demo without an explicit endpoint of the chosen path (PAGOPA_FDR_API): the in-process simulator.
      if (!config.isProduction && !io.env[config.pagopa.fdrApi === 'rest' ? 'PAGOPA_FDR_REST_URL' : 'PAGOPA_NODE_URL']) {
        local = await inProcessApp(config);
        const sim = `${local.base}${PAGOPA_SIM_PREFIX}`;
        settings = { ...config.pagopa, nodeUrl: `${sim}/nodo/node-for-pa`, fdrRestUrl: `${sim}/fdr-org/service/v1` };
      }
      try {
        const results = await downloadFlowsNow(local?.app.db ?? db, settings, log, { enteFiscalCode: cf, client: { retries: 3, baseDelayMs: 1000 } });
        let errors = 0;
        for (const r of results) {
          const name = (await getEnteByFiscalCode(db, r.enteFiscalCode))?.name ?? r.enteFiscalCode;
          if (!r.ran) {
            io.out(`${r.enteFiscalCode}\t${name}: scaricamento già in corso su un altro processo, saltato`);
            continue;
          }
          if (r.error) errors++;
          io.out(
            `${r.enteFiscalCode}\t${name}: elencati ${r.listed}, nuovi ${r.stored}, già presenti ${r.alreadyStored}, non validi ${r.invalid}, non scaricati ${r.failed}${r.error ? ` — ${r.error}` : ''}`,
          );
        }
        return errors ? 1 : 0;
      } finally {
        await local?.app.close();
      }
    },
  },
  'sim:pay': {
    options: { notice: { type: 'string' }, cf: { type: 'string' }, v2: { type: 'boolean' } },
    async run(_db: Db, values: Values, io: Io, config: Config): Promise<number> {
      const notice = typeof values.notice === 'string' ? values.notice.replace(/\s/g, '') : '';
      const cf = typeof values.cf === 'string' ? values.cf.trim() : '';
      if (!/^[0-9]{18}$/.test(notice) || !/^[0-9]{11}$/.test(cf)) {
        io.err('sim:pay richiede --notice <numero avviso di 18 cifre> e --cf <codice fiscale dell’ente, 11 cifre>');
        return 2;
      }
      if (config.isProduction) {
        io.err('sim:pay: il simulatore pagoPA non è disponibile in produzione');
        return 1;
      }
      const { app } = await inProcessApp(config);
      try {
        const r = await payNotice(app, { fiscalCode: cf, noticeNumber: notice, v2: values.v2 === true });
        if (!r.ok) {
          io.err(`pagamento non riuscito: ${OUTCOME_LABELS[r.step] ?? r.step} → ${r.faultCode ?? 'errore'}`);
          return 1;
        }
        io.out(`pagamento eseguito (${values.v2 === true ? 'paGetPaymentV2/paSendRTV2' : 'paGetPayment/paSendRT'}): ${formatEuro(r.amountCents ?? 0)}, ricevuta ${r.receiptId}`);
        for (const [idPA, outcome] of Object.entries(r.sendOutcomes)) io.out(`  ricevuta a ${idPA}: ${outcome}`);
        return 0;
      } finally {
        await app.close();
      }
    },
  },
} as const;
