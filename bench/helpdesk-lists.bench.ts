/**
 * Helpdesk lists at scale (#14 §6): 300 000 payment options, 200 000 receipts of which 95 %
 * credited (bench/helpdesk-data.ts, no ANALYZE). Measured, median of 7 runs each:
 * - the transaction search's default view (count + first page of 25, newest activity first), a
 *   page further on (by its cursor) and one ente's view, each against a plain indexed read of the
 *   same rows: the page's options by primary key with the same joins (position, ente, service,
 *   receipt) plus count(*) of the options in scope;
 * - the ageing report's first page (100 rows, oldest first, 5 working days), against a plain read
 *   of the receipts the page walks past in the same index, from the oldest to the page's last row
 *   (with 95 % credited, ~20 receipts for each row shown): what any walk in payment-day order
 *   reads, before checking which receipts the treasury has credited.
 * What the ratio measures is the paging itself: finding the page's rows in order, and the
 * search's state of each row or the ageing report's skipping of credited receipts.
 * Goal: each under 100 ms (the figure) and within 5× of its plain read.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/db/client.js';
import { ageingReport, searchTransactions } from '../src/modules/helpdesk/queries.js';
import { seedHelpdeskData } from './helpdesk-data.js';
import { report } from './lib.js';

const OPTIONS = Number(process.env.BENCH_OPTIONS ?? 300_000);
const RECEIPTS = Math.round((OPTIONS * 2) / 3);
const RUNS = 7;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-bench-helpdesk-'));
const handle = openDatabase(path.join(dir, 'bench.sqlite'));
const { sqlite, db } = handle;
try {
  const t0 = performance.now();
  const data = await seedHelpdeskData(db, { options: OPTIONS, receipts: RECEIPTS, credited: 0.95 });
  console.log(`generated ${OPTIONS} options, ${RECEIPTS} receipts (${data.uncredited} not credited) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // Awaited: the queries' functions are async (their later statements run after an await).
  const median = async (fn: () => unknown): Promise<number> => {
    await fn();
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const s = performance.now();
      await fn();
      ms.push(performance.now() - s);
    }
    return ms.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
  };

  /** The same options, by primary key, with the same joins, and the count of the scope. */
  const plainOptions = (ids: number[], enteId?: number) => () => {
    sqlite.prepare(`SELECT count(*) AS n FROM payment_options${enteId ? ' WHERE ente_id = ?' : ''}`).get(...(enteId ? [enteId] : []));
    return sqlite
      .prepare(
        `SELECT o.*, p.debtor_name, p.debtor_fiscal_code, e.name, s.name, r.receipt_id, r.psp_company_name FROM payment_options o
         JOIN positions p ON p.id = o.position_id JOIN enti e ON e.id = o.ente_id JOIN payment_services s ON s.id = p.service_id
         LEFT JOIN receipts r ON r.option_id = o.id AND r.outcome = 'OK' WHERE o.id IN (${ids.map(() => '?').join(',')})`,
      )
      .all(...ids);
  };
  /** The receipts OK from the oldest payment day to the page's last row, in the ageing index's order. */
  const PAID_ON = 'substr(coalesce(payment_date_time, created_at), 1, 10)';
  const walkedPast = (p: { rows: { paidOn: string; receiptRowId: number }[] }, enteId?: number) => {
    const last = p.rows[p.rows.length - 1]!;
    const sql = `SELECT id, ente_id, iuv, receipt_id FROM receipts WHERE outcome = 'OK' AND ${PAID_ON} <= ? AND (${PAID_ON} < ? OR id <= ?)
      ORDER BY ${PAID_ON}, id`;
    return () => sqlite.prepare(sql).all(last.paidOn, last.paidOn, last.receiptRowId).filter((r) => !enteId || (r as { ente_id: number }).ente_id === enteId);
  };

  const ente = data.enti[2]!;
  const first = await searchTransactions(db, {}, 'all');
  let cursor = first.next!;
  for (let i = 0; i < 200; i++) cursor = (await searchTransactions(db, {}, 'all', { after: cursor })).next!;
  const later = await searchTransactions(db, {}, 'all', { after: cursor });
  const oneEnte = await searchTransactions(db, {}, [ente]);
  const ageing = await ageingReport(db, 'all', 5, []);
  const ageingEnte = await ageingReport(db, [ente], 5, []);
  const optionIds = (p: { rows: { optionId: number }[] }) => p.rows.map((r) => r.optionId);
  const figures: [string, number, number][] = [
    ['helpdesk search, default view (count + first page)', await median(async () => await searchTransactions(db, {}, 'all')), await median(plainOptions(optionIds(first)))],
    ['helpdesk search, page 202 by cursor', await median(async () => await searchTransactions(db, {}, 'all', { after: cursor })), await median(plainOptions(optionIds(later)))],
    ['helpdesk search, one ente', await median(async () => await searchTransactions(db, {}, [ente])), await median(plainOptions(optionIds(oneEnte), ente))],
    ['helpdesk ageing report, first page of 100', await median(async () => await ageingReport(db, 'all', 5, [])), await median(walkedPast(ageing))],
    ['helpdesk ageing report, one ente', await median(async () => await ageingReport(db, [ente], 5, [])), await median(walkedPast(ageingEnte, ente))],
  ];
  console.log(`ageing: the first page walks past ${walkedPast(ageing)().length} receipts for its ${ageing.rows.length} rows`);
  for (const [name, ours, baseline] of figures) {
    report({ name: `${name} (${OPTIONS / 1000}k options)`, ours, baseline, unit: 'ms', better: 'lower', goal: { atMost: 5 }, extra: `absolute ${ours.toFixed(1)} ms (goal < 100 ms: ${ours < 100 ? 'PASS' : 'MISS'})` });
  }
} finally {
  handle.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
