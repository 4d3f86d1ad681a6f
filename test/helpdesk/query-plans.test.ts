/**
 * The reconciliation and ageing queries reach an ente's share of a receipt through
 * receipt_transfers_key (receipt → its transfers), as SQLite plans them on a database without
 * statistics (nobody runs ANALYZE in production). Through an index on the beneficiary's fiscal
 * code instead, every receipt would scan all the transfers of its ente: with 200 000 receipts the
 * "incassato e non accreditato" page did not answer in 5 minutes.
 */
import t from 'tap';
import { ageingQuery, txPageQuery } from '../../src/modules/helpdesk/queries.js';
import { MATCH_SQL, RECEIPT_CANDIDATES_SQL, receiptCandidatesParams } from '../../src/modules/helpdesk/reconcile.js';
import { sqlAll, sqlRun } from '../../src/db/raw.js';
import { SUITE_ON_POSTGRES } from '../db/pg-helpers.js';
import { buildTestApp, SQLITE_ONLY } from '../helpers.js';

t.test('every lookup of a receipt’s transfers goes through receipt_transfers_key', { skip: SQLITE_ONLY }, async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  t.equal((app.sqlite.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name LIKE 'sqlite_stat%'").get() as { n: number }).n, 0, 'no statistics: the plans of a fresh database');
  const plan = (sql: string, params: unknown[]) => (app.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail);
  const ageing = (scope: 'all' | number[], o: { cursor?: boolean; backwards?: boolean } = {}) => {
    const q = ageingQuery(scope, { cutoff: '2026-01-01', cursor: o.cursor ? { key: '2025-01-01', id: 1 } : undefined, backwards: o.backwards, limit: 101 });
    return plan(q.sql, q.params);
  };
  const cases: [string, string[]][] = [
    ['flow rows against receipts (MATCH_SQL)', plan(MATCH_SQL, [1, '00071560700', 1])],
    ['receipts of a credit with an IUV (RECEIPT_CANDIDATES_SQL)', plan(RECEIPT_CANDIDATES_SQL, receiptCandidatesParams(1, 1, '01000000000000001'))],
    ['ageing report, every ente', ageing('all')],
    ['ageing report, one ente', ageing([1], { cursor: true })],
  ];
  for (const [name, details] of cases) {
    const transfers = details.filter((d) => / t\b/.test(d) && /receipt_transfers|SCAN t\b/.test(d));
    t.ok(transfers.length > 0, `${name}: reads receipt_transfers`);
    for (const d of transfers) t.match(d, /SEARCH t (EXISTS )?USING INDEX receipt_transfers_key \(receipt_row_id=\?/, `${name}: ${d}`);
  }
});

/**
 * The helpdesk lists read their pages in index order and stop (migration 0009): no sort of every
 * option or receipt stored (the search's default view took ~500 ms at 300k options, the ageing
 * report 3 s), and the receipt of each option is found by receipts_option, not by an index of the
 * ente's receipts (a partial index on (ente_id, day) made each option scan its ente's receipts).
 */
t.test('transaction search and ageing report pages are served by an index, without a sort', { skip: SQLITE_ONLY }, async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const plan = (sql: string, params: unknown[]) => (app.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail);
  const ageing = (scope: 'all' | number[], o: { cursor?: boolean; backwards?: boolean } = {}) => {
    const q = ageingQuery(scope, { cutoff: '2026-01-01', cursor: o.cursor ? { key: '2025-01-01', id: 1 } : undefined, backwards: o.backwards, limit: 101 });
    return plan(q.sql, q.params);
  };
  const tx = (scope: 'all' | number[], cursor: boolean, backwards = false) => {
    const q = txPageQuery({}, scope, { cursor: cursor ? { key: '2026-01-01T00:00:00.000Z', id: 5 } : undefined, backwards, limit: 26 });
    return plan(q.sql, q.params);
  };
  const cases: [string, string[], RegExp][] = [
    ['search, every ente, first page', tx('all', false), /^SCAN o USING INDEX payment_options_activity$/],
    ['search, every ente, next page', tx('all', true), /^SEARCH o USING INDEX payment_options_activity \(<expr><\?\)$/],
    ['search, every ente, previous page', tx('all', true, true), /^SEARCH o USING INDEX payment_options_activity \(<expr>>\?\)$/],
    ['search, one ente', tx([1], false), /^SEARCH o USING INDEX payment_options_ente_activity \(ente_id=\?\)$/],
    ['search, one ente, next page', tx([1], true), /^SEARCH o USING INDEX payment_options_ente_activity \(ente_id=\? AND <expr><\?\)$/],
    ['search, two enti', tx([1, 2], false), /^SCAN o USING INDEX payment_options_activity$/],
    ['ageing, every ente', ageing('all'), /^SEARCH r USING INDEX receipts_ok_paid_on \(<expr><\?\)$/],
    ['ageing, two enti, next page', ageing([1, 2], { cursor: true }), /^SEARCH r USING INDEX receipts_ok_paid_on \(<expr>>\? AND <expr><\?\)$/],
    ['ageing, one ente, previous page', ageing([1], { cursor: true, backwards: true }), /^SEARCH r USING INDEX receipts_ok_paid_on \(<expr><\?\)$/],
  ];
  for (const [name, details, driver] of cases) {
    const outer = details.find((d) => /^(SCAN|SEARCH) (o|r) /.test(d));
    t.match(outer, driver, `${name}: ${outer}`);
    t.notOk(details.some((d) => d.includes('TEMP B-TREE')), `${name}: no sort`);
    const receipts = details.filter((d) => /^(SEARCH|SCAN) r /.test(d));
    if (name.startsWith('search')) t.same(receipts, ['SEARCH r USING INDEX receipts_option (option_id=?) LEFT-JOIN'], `${name}: each option's receipt by receipts_option`);
  }
});

/**
 * PostgreSQL plans by statistics, so on an empty database it rightly scans the tables; with
 * sequential scans priced out (enable_seqscan off) a plan that still reads a big table
 * sequentially has no index to use: an expression index that does not match the query's
 * expression, or a join on a column with no index.
 */
t.test('on PostgreSQL the same queries have an index for every big table they read', { skip: SUITE_ON_POSTGRES ? false : 'PostgreSQL only' }, async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const explain = async (sql: string, params: unknown[]) =>
    await app.db.transaction(async () => {
      await sqlRun(app.db, 'SET LOCAL enable_seqscan = off');
      return (await sqlAll<{ 'QUERY PLAN': string }>(app.db, `EXPLAIN ${sql}`, ...params)).map((r) => r['QUERY PLAN']).join('\n');
    });
  const tx = (scope: 'all' | number[], cursor: boolean) => txPageQuery({}, scope, { cursor: cursor ? { key: '2026-01-01T00:00:00.000Z', id: 5 } : undefined, limit: 26 });
  const ageing = (scope: 'all' | number[], cursor: boolean) => ageingQuery(scope, { cutoff: '2026-01-01', cursor: cursor ? { key: '2025-01-01', id: 1 } : undefined, limit: 101 });
  const cases: [string, { sql: string; params: unknown[] }, RegExp][] = [
    ['flow rows against receipts (MATCH_SQL)', { sql: MATCH_SQL, params: [1, '00071560700', 1] }, /receipt_transfers_key/],
    ['receipts of a credit with an IUV', { sql: RECEIPT_CANDIDATES_SQL, params: receiptCandidatesParams(1, 1, '01000000000000001') }, /receipt_transfers_key/],
    ['search, every ente, next page', tx('all', true), /payment_options_activity/],
    ['search, one ente', tx([1], false), /payment_options_(ente_)?activity/],
    ['ageing, every ente', ageing('all', false), /receipts_ok_paid_on/],
    ['ageing, two enti, next page', ageing([1, 2], true), /receipts_ok_paid_on/],
  ];
  for (const [name, q, index] of cases) {
    const plan = await explain(q.sql, q.params);
    t.notMatch(plan, /Seq Scan on (receipts|receipt_transfers|payment_options|fdr_entries|fdr_entry_matches|treasury_movements)\b/, `${name}: no sequential scan of a big table`);
    t.match(plan, index, `${name}: uses ${index.source}`);
  }
});
