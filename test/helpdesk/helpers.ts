/** Helpers for the helpdesk tests: an app that listens (the simulated node calls the station over HTTP), paid notices, flow XML. */
import type { FastifyInstance } from 'fastify';
import { sqlGet } from '../../src/db/raw.js';
import { centsToDecimalString } from '../../src/domain/money.js';
import { el, xml } from '../../src/modules/pagopa/soap.js';
import { FLUSSO_NS } from '../../src/modules/pagopa/spec-files.js';
import type { Recon } from '../../src/modules/helpdesk/reconcile.js';
import { payNotice } from '../../src/simulators/pagopa/node.js';
import { DEMO_PSP, type Psp } from '../../src/simulators/pagopa/node-messages.js';
import { buildTestApp } from '../helpers.js';
import { createTari, freePort, type Created } from '../pagopa/helpers.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function listeningApp(t: Teardown, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildTestApp(t, { PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '0', ...env });
  await app.listen({ port, host: '127.0.0.1' });
  return app;
}

export const recon = (app: FastifyInstance): Recon => ({ db: app.db });

export const OTHER_PSP: Psp = { ...DEMO_PSP, idPSP: 'SIMPSP02', name: 'Altro PSP simulato', idChannel: 'SIMPSP02_01' };

/** Creates a TARI and pays its single option (TARI 285 € to the comune + TEFA 15 € to the province). */
export async function paidTari(app: FastifyInstance, comune = 'Campobasso', psp: Psp = DEMO_PSP, duplicates = 0): Promise<Created & { receiptId: string }> {
  const pos = await createTari(app, {}, comune);
  const res = await payNotice(app, { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[0]!.noticeNumber, psp, faults: { duplicates } });
  if (!res.ok) throw new Error(`payment failed: ${JSON.stringify(res)}`);
  return { ...pos, receiptId: res.receiptId! };
}

export interface XRow {
  iuv: string;
  iur: string;
  index?: number | null;
  amountCents: number;
  esito?: string;
}

/** A FlussoRiversamento 1.0.4 document (valid unless the caller breaks it). */
export function flowXml(o: { flowId: string; flowDateTime?: string; cf: string; psp?: string; rows: XRow[]; total?: number; count?: number; settlementId?: string }): string {
  const date = o.flowId.slice(0, 10);
  const total = o.total ?? o.rows.reduce((s, r) => s + Math.abs(r.amountCents), 0);
  return `<?xml version="1.0" encoding="UTF-8"?>${xml(
    el(
      'pay_i:FlussoRiversamento',
      [
        el('pay_i:versioneOggetto', '1.0'),
        el('pay_i:identificativoFlusso', o.flowId),
        el('pay_i:dataOraFlusso', o.flowDateTime ?? `${date}T10:00:00`),
        el('pay_i:identificativoUnivocoRegolamento', o.settlementId ?? `TRN-${o.flowId}`),
        el('pay_i:dataRegolamento', date),
        el('pay_i:istitutoMittente', [el('pay_i:identificativoUnivocoMittente', [el('pay_i:tipoIdentificativoUnivoco', 'B'), el('pay_i:codiceIdentificativoUnivoco', o.psp ?? 'SIMPSP01')])]),
        el('pay_i:istitutoRicevente', [el('pay_i:identificativoUnivocoRicevente', [el('pay_i:tipoIdentificativoUnivoco', 'G'), el('pay_i:codiceIdentificativoUnivoco', o.cf)])]),
        el('pay_i:numeroTotalePagamenti', o.count ?? o.rows.length),
        el('pay_i:importoTotalePagamenti', centsToDecimalString(total)),
        o.rows.map((r) =>
          el('pay_i:datiSingoliPagamenti', [
            el('pay_i:identificativoUnivocoVersamento', r.iuv),
            el('pay_i:identificativoUnivocoRiscossione', r.iur),
            r.index === null ? undefined : el('pay_i:indiceDatiSingoloPagamento', r.index ?? 1),
            el('pay_i:singoloImportoPagato', centsToDecimalString(Math.abs(r.amountCents))),
            el('pay_i:codiceEsitoSingoloPagamento', r.esito ?? '0'),
            el('pay_i:dataEsitoSingoloPagamento', date),
          ]),
        ),
      ],
      ` xmlns:pay_i="${FLUSSO_NS}"`,
    ),
  )}`;
}

/** SQLite only (synchronous): prefer {@link countRows}, which runs on both databases. */
export function count(app: FastifyInstance, sqlText: string, ...params: unknown[]): number {
  return (app.sqlite.prepare(`SELECT count(*) AS n FROM ${sqlText}`).get(...params) as { n: number }).n;
}

/** Rows of `FROM …` (a table and its WHERE, `?` placeholders), on SQLite or PostgreSQL. */
export async function countRows(app: FastifyInstance, sqlText: string, ...params: unknown[]): Promise<number> {
  return (await sqlGet<{ n: number }>(app.db, `SELECT count(*) AS n FROM ${sqlText}`, ...params))!.n;
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}
