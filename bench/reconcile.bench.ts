/**
 * Reconciliation benchmark: 100 000 reporting-flow rows (10 flows) against 1 000 000 receipts,
 * matched by the helpdesk engine (processFlow: revisions, header checks, per-row rules, match
 * rows and anomalies written), compared with a baseline single SQL join that pairs the same rows
 * in the same run. Goal: ours ≤ 3 × baseline. Data is generated with raw prepared statements in
 * one transaction into a temporary database file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/db/client.js';
import { processFlow } from '../src/modules/helpdesk/reconcile.js';
import { report } from './lib.js';

const RECEIPTS = Number(process.env.BENCH_RECEIPTS ?? 1_000_000);
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const FLOWS = 10;
const CF = '80000000000';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-bench-recon-'));
const handle = openDatabase(path.join(dir, 'bench.sqlite'));
const { sqlite, db } = handle;
try {
  const t0 = performance.now();
  const enteId = Number(
    sqlite.prepare("INSERT INTO enti (kind, name, fiscal_code, ipa_code, segregation_code) VALUES ('comune','Comune di Prova',?, 'c_bench', '01')").run(CF).lastInsertRowid,
  );
  const iuv = (i: number) => `01${String(i).padStart(15, '0')}`;
  sqlite.transaction(() => {
    const rc = sqlite.prepare(
      `INSERT INTO receipts (id, ente_id, id_pa, fiscal_code, iuv, receipt_id, notice_number, primitive, outcome, payment_amount_cents, description, company_name,
         debtor_type, debtor_fiscal_code, debtor_name, debtor, id_psp, psp_company_name, id_channel, channel_description, processing, raw_xml)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'paSendRTV2', 'OK', ?, 'TARI', 'Comune di Prova', 'F', 'RSSMRA85T10A562S', 'Mario Rossi', '{}', 'PSP1', 'PSP', 'PSP1_01', 'app', 'applied', '<x/>')`,
    );
    const tr = sqlite.prepare(
      "INSERT INTO receipt_transfers (receipt_row_id, id_transfer, amount_cents, fiscal_code_pa, remittance_information, transfer_category) VALUES (?, 1, ?, ?, 'TARI', '9/0101108TS/')",
    );
    for (let i = 1; i <= RECEIPTS; i++) {
      const amount = 1000 + (i % 9000);
      rc.run(i, enteId, CF, CF, iuv(i), `IUR${i}`, `3${iuv(i)}`, amount);
      tr.run(i, amount, CF);
    }
    const fl = sqlite.prepare(
      `INSERT INTO fdr_flows (ente_id, flow_id, flow_date_time, psp_id, settlement_id, settlement_date, receiver_fiscal_code, total_payments, total_amount_cents, raw_xml, source)
       VALUES (?, ?, ?, 'PSP1', ?, '2026-03-16', ?, ?, ?, ?, 'nodoChiedi')`,
    );
    const en = sqlite.prepare('INSERT INTO fdr_entries (flow_row_id, ordinal, iuv, iur, transfer_index, amount_cents, outcome_code, outcome_date) VALUES (?, ?, ?, ?, 1, ?, ?, ?)');
    const per = ROWS / FLOWS;
    const stride = Math.floor(RECEIPTS / ROWS);
    for (let f = 0; f < FLOWS; f++) {
      const rows: [string, string, number][] = [];
      for (let k = 0; k < per; k++) {
        const i = (f * per + k) * stride + 1;
        // 1 % of rows without a receipt, 0.5 % with a different amount.
        const missing = k % 100 === 7;
        rows.push([missing ? iuv(RECEIPTS + i) : iuv(i), `IUR${i}`, 1000 + (i % 9000) + (k % 200 === 3 ? 1 : 0)]);
      }
      const total = rows.reduce((s, r) => s + r[2], 0);
      const id = Number(fl.run(enteId, `2026-03-16PSP1-${f}`, '2026-03-16T10:00:00', `TRN${f}`, CF, per, total, `<flow n="${f}"/>`).lastInsertRowid);
      rows.forEach((r, k) => en.run(id, k + 1, r[0], r[1], r[2], '0', '2026-03-16'));
    }
  })();
  // No ANALYZE: production databases have no statistics, and the plans must be right without them.
  console.log(`generated ${RECEIPTS} receipts and ${ROWS} flow rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const baselineSql = `SELECT e.id, t.id AS transferId, t.amount_cents FROM fdr_entries e
    JOIN receipts r ON r.iuv = e.iuv AND r.receipt_id = e.iur AND r.ente_id = ?
    JOIN receipt_transfers t ON t.receipt_row_id = r.id AND t.id_transfer = e.transfer_index AND t.fiscal_code_pa = ?`;
  const runBaseline = () => {
    const s = performance.now();
    const n = sqlite.prepare(baselineSql).all(enteId, CF).length;
    return { ms: performance.now() - s, n };
  };
  runBaseline(); // warm the page cache for both
  const base = runBaseline();

  if (process.env.BENCH_PLAN) {
    const { MATCH_SQL } = await import('../src/modules/helpdesk/reconcile.js');
    console.log((sqlite.prepare(`EXPLAIN QUERY PLAN ${MATCH_SQL}`).all(enteId, CF, 1) as { detail: string }[]).map((x) => x.detail).join('\n'));
    console.log((sqlite.prepare(`EXPLAIN QUERY PLAN ${baselineSql}`).all(enteId, CF) as { detail: string }[]).map((x) => x.detail).join('\n'));
    const s0 = performance.now();
    for (let f = 1; f <= FLOWS; f++) sqlite.prepare(MATCH_SQL).all(enteId, CF, f);
    console.log('match sql only', performance.now() - s0);
  }
  const flowIds = (sqlite.prepare('SELECT id FROM fdr_flows ORDER BY id').all() as { id: number }[]).map((x) => x.id);
  const s = performance.now();
  let matched = 0;
  let anomalies = 0;
  for (const id of flowIds) {
    const r = await processFlow({ db }, id, 'bench');
    matched += r.matched;
    anomalies += r.anomalies;
  }
  const ours = performance.now() - s;
  const base2 = runBaseline();
  const baseline = Math.min(base.ms, base2.ms);
  if (matched !== base.n - Math.round(ROWS * 0.005)) console.log(`note: matched ${matched}, baseline pairs ${base.n}`);
  report({
    name: `reconcile ${ROWS} flow rows vs ${RECEIPTS} receipts`,
    ours,
    baseline,
    unit: 'ms',
    better: 'lower',
    goal: { atMost: 3 },
    extra: `${matched} matched, ${anomalies} anomalies, baseline pairs ${base.n}`,
  });
} finally {
  handle.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
