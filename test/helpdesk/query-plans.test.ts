/**
 * The reconciliation and ageing queries reach an ente's share of a receipt through
 * receipt_transfers_key (receipt → its transfers), as SQLite plans them on a database without
 * statistics (nobody runs ANALYZE in production). Through an index on the beneficiary's fiscal
 * code instead, every receipt would scan all the transfers of its ente: with 200 000 receipts the
 * "incassato e non accreditato" page did not answer in 5 minutes.
 */
import t from 'tap';
import { ageingSql, scopeSql } from '../../src/modules/helpdesk/queries.js';
import { MATCH_SQL, RECEIPT_CANDIDATES_SQL } from '../../src/modules/helpdesk/reconcile.js';
import { buildTestApp } from '../helpers.js';

t.test('every lookup of a receipt’s transfers goes through receipt_transfers_key', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  t.equal((app.sqlite.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name LIKE 'sqlite_stat%'").get() as { n: number }).n, 0, 'no statistics: the plans of a fresh database');
  const plan = (sql: string, params: unknown[] | Record<string, unknown>) =>
    (app.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail);
  const cases: [string, string[]][] = [
    ['flow rows against receipts (MATCH_SQL)', plan(MATCH_SQL, { ente: 1, cf: '00071560700', flow: 1 })],
    ['receipts of a credit with an IUV (RECEIPT_CANDIDATES_SQL)', plan(RECEIPT_CANDIDATES_SQL, { ente: 1, iuv: '01000000000000001', mid: 1 })],
    ['ageing report, every ente', plan(ageingSql(scopeSql('r.ente_id', 'all').sql), [])],
    ['ageing report, one ente', plan(ageingSql(scopeSql('r.ente_id', [1]).sql), [1])],
  ];
  for (const [name, details] of cases) {
    const transfers = details.filter((d) => / t\b/.test(d) && /receipt_transfers|SCAN t\b/.test(d));
    t.ok(transfers.length > 0, `${name}: reads receipt_transfers`);
    for (const d of transfers) t.match(d, /SEARCH t USING INDEX receipt_transfers_key \(receipt_row_id=\?/, `${name}: ${d}`);
  }
});
