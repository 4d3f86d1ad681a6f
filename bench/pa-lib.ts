/** Shared by the pagoPA benchmarks: a temp data dir with N published positions inserted fast (raw prepared statements, one transaction). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { seedDemoData } from '../src/modules/enti/demo-seed.js';
import { listEnti, type Ente } from '../src/modules/enti/repository.js';
import { buildIuv, noticeNumberFromIuv } from '../src/modules/positions/numbers.js';
import { newReceiptId, sendRtRequest } from '../src/simulators/pagopa/node-messages.js';

export interface BenchData {
  dir: string;
  config: Config;
  ente: Ente;
  iban: string;
  /** Notice number of position i (0-based). */
  notice(i: number): string;
  iuv(i: number): string;
  amountCents: number;
  debtorFiscalCode: string;
  dueDate: string;
  generateMs: number;
}

const DEBTOR = 'RSSMRA85T10A562S';

/** Creates `n` published single-payment positions of Campobasso (TARI) in a fresh temp data dir. */
export async function generatePositions(n: number, prefix = 'sael-bench-pa-'): Promise<BenchData> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000000', PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const h = openDatabase(config.databaseFile);
  await seedDemoData(h.db);
  const ente = (await listEnti(h.db, { q: 'Campobasso', kind: 'comune' }))[0]!;
  const service = h.sqlite.prepare("SELECT id FROM payment_services WHERE ente_id = ? AND code = 'TARI'").get(ente.id) as { id: number };
  const iban = (h.sqlite.prepare("SELECT iban FROM ente_ibans WHERE ente_id = ? AND kind = 'bank' LIMIT 1").get(ente.id) as { iban: string }).iban;
  const dueDate = new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 10);
  const amountCents = 12050;
  const now = new Date().toISOString();
  const start = process.hrtime.bigint();
  h.sqlite.pragma('synchronous = OFF');
  const insPos = h.sqlite.prepare(
    `INSERT INTO positions (ente_id, service_id, iupd, debtor_type, debtor_fiscal_code, debtor_name, description, status, payload_hash, published_at, created_at, updated_at)
     VALUES (?, ?, ?, 'F', ?, 'Mario Rossi', 'TARI 2026', 'published', 'bench', ?, ?, ?)`,
  );
  const insOpt = h.sqlite.prepare(
    `INSERT INTO payment_options (position_id, ente_id, ordinal, kind, description, amount_cents, due_date, iuv, notice_number, status, created_at)
     VALUES (?, ?, 0, 'single', 'TARI 2026 in unica soluzione', ?, ?, ?, ?, 'unpaid', ?)`,
  );
  const insTr = h.sqlite.prepare(
    "INSERT INTO transfers (option_id, id_transfer, fiscal_code_pa, amount_cents, iban, remittance_information, taxonomy_code) VALUES (?, 1, ?, ?, ?, 'TARI 2026', '9/0101108TS/')",
  );
  // The helpdesk's log of node calls as after one verify of every notice: its notice index is as
  // big as the positions', so the calls logged during a benchmark land on random index pages.
  const logCalls = process.env.BENCH_NODE_CALLS !== '0';
  const insCall = h.sqlite.prepare("INSERT INTO node_calls (fiscal_code, notice_number, operation, outcome, created_at) VALUES (?, ?, 'paVerifyPaymentNotice', 'OK', ?)");
  const batch = 100_000;
  for (let from = 0; from < n; from += batch) {
    h.sqlite.transaction(() => {
      for (let i = from; i < Math.min(n, from + batch); i++) {
        const iuv = buildIuv(ente.segregationCode, i + 1);
        const notice = noticeNumberFromIuv(iuv);
        const p = insPos.run(ente.id, service.id, `BENCH-${i}`, DEBTOR, now, now, now).lastInsertRowid;
        const o = insOpt.run(p, ente.id, amountCents, dueDate, iuv, notice, now).lastInsertRowid;
        insTr.run(o, ente.fiscalCode, amountCents, iban);
        if (logCalls) insCall.run(ente.fiscalCode, notice, now);
      }
    })();
  }
  h.sqlite.prepare('INSERT OR REPLACE INTO iuv_sequences (ente_id, next_value) VALUES (?, ?)').run(ente.id, n + 1);
  h.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const generateMs = Number(process.hrtime.bigint() - start) / 1e6;
  h.close();
  return {
    dir,
    config,
    ente,
    iban,
    notice: (i) => noticeNumberFromIuv(buildIuv(ente.segregationCode, i + 1)),
    iuv: (i) => buildIuv(ente.segregationCode, i + 1),
    amountCents,
    debtorFiscalCode: DEBTOR,
    dueDate,
    generateMs,
  };
}

/** The paSendRTV2 request of position i (a fresh receipt id), as the node sends it. */
export function sendRtBody(data: BenchData, i: number): string {
  const id = { idPA: data.ente.fiscalCode, idBrokerPA: data.config.pagopa.brokerId, idStation: data.config.pagopa.stationId };
  const debtorXml = `<uniqueIdentifier><entityUniqueIdentifierType>F</entityUniqueIdentifierType><entityUniqueIdentifierValue>${data.debtorFiscalCode}</entityUniqueIdentifierValue></uniqueIdentifier><fullName>Mario Rossi</fullName>`;
  return sendRtRequest(id, {
    v2: true,
    receiptId: newReceiptId(),
    noticeNumber: data.notice(i),
    fiscalCode: data.ente.fiscalCode,
    data: {
      creditorReferenceId: data.iuv(i),
      paymentAmountCents: data.amountCents,
      dueDate: data.dueDate,
      description: 'TARI 2026 in unica soluzione',
      companyName: data.ente.name,
      debtorXml,
      debtorFiscalCode: data.debtorFiscalCode,
      transfers: [{ idTransfer: 1, amountCents: data.amountCents, fiscalCodePA: data.ente.fiscalCode, iban: data.iban, remittanceInformation: 'TARI 2026', transferCategory: '9/0101108TS/', metadata: [] }],
    },
  });
}
