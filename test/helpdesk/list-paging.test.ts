/**
 * The transaction search and the ageing report page by keyset (#14 §6): walking the pages with
 * their next and previous cursors gives exactly the rows of a plain scan, in its order, for every
 * scope and a few filters; the pages' links walk the same way over HTTP.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { seedHelpdeskData } from '../../bench/helpdesk-data.js';
import { sqlAll, sqlRun } from '../../src/db/raw.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { ageingCutoff, ageingReport, searchTransactions, workingDaysSince, type Scope, type TxFilter } from '../../src/modules/helpdesk/queries.js';
import { localDate, workingDaysBetween } from '../../src/modules/helpdesk/sla-calendar.js';
import { buildTestApp, loginAs } from '../helpers.js';

const NOW = new Date();
const HOLIDAYS = ['04-23'];

async function seeded(t: { teardown(fn: () => unknown): void }): Promise<{ app: FastifyInstance; enti: number[] }> {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const data = await seedHelpdeskData(app.db, { options: 1200, receipts: 800, credited: 0.7, now: NOW });
  // Ties on the sort keys: options with the same activity instant, receipts paid the same day.
  await sqlRun(app.db, 'UPDATE payment_options SET created_at = (SELECT created_at FROM payment_options WHERE id = 600) WHERE id BETWEEN 590 AND 640 AND paid_at IS NULL');
  await sqlRun(app.db, "UPDATE receipts SET payment_date_time = '2026-01-15T10:00:00.000Z' WHERE id BETWEEN 100 AND 160");
  // On PostgreSQL, the statistics autovacuum gathers in production after a bulk load: without any,
  // the ageing query's plan scanned every matched treasury movement for each receipt (30–55 ms a
  // page, the file took 3 times its SQLite time). SQLite has none in production and needs none.
  if (app.database.dialect === 'postgres') await sqlRun(app.db, 'ANALYZE');
  return { app, enti: data.enti };
}

/** Every option of the scope, newest activity first: the order the pages must reproduce. */
async function plainTx(app: FastifyInstance, f: TxFilter, scope: Scope): Promise<number[]> {
  const rows = (await searchTransactions(app.db, f, scope, { pageSize: 1_000_000 })).rows;
  const all = await sqlAll<{ id: number; enteId: number; at: string }>(app.db, 'SELECT id, ente_id AS "enteId", coalesce(paid_at, created_at) AS at FROM payment_options');
  const wanted = new Set(rows.map((r) => r.optionId));
  return all
    .filter((r) => wanted.has(r.id) && (scope === 'all' || scope.includes(r.enteId)))
    .sort((a, b) => (a.at === b.at ? b.id - a.id : a.at < b.at ? 1 : -1))
    .map((r) => r.id);
}

t.test('transaction search: the pages walk the plain scan both ways', async (t) => {
  const { app, enti } = await seeded(t);
  const cases: [string, TxFilter, Scope][] = [
    ['every ente', {}, 'all'],
    ['one ente', {}, [enti[1]!]],
    ['two enti', {}, [enti[0]!, enti[3]!]],
    ['ente filter', { enteId: enti[2] }, 'all'],
    ['state paid', { state: 'paid' }, 'all'],
    ['amount range', { minCents: 1300, maxCents: 1900 }, [enti[0]!, enti[1]!, enti[4]!]],
  ];
  for (const [name, f, scope] of cases) {
    const expected = await plainTx(app, f, scope);
    t.ok(expected.length > 60, `${name}: ${expected.length} rows`);
    const pageSize = 25;
    const forward: number[] = [];
    let page = await searchTransactions(app.db, f, scope, { pageSize });
    t.equal(page.prev, null, `${name}: no previous page on the first`);
    t.equal(page.total, expected.length, `${name}: total`);
    const pages = [page];
    for (;;) {
      forward.push(...page.rows.map((r) => r.optionId));
      if (!page.next) break;
      page = await searchTransactions(app.db, f, scope, { after: page.next, pageSize });
      pages.push(page);
      if (!page.prev) t.fail(`${name}: a later page without a link back`);
    }
    t.same(forward, expected, `${name}: forward walk = plain scan`);
    t.ok(pages.slice(0, -1).every((p) => p.rows.length === pageSize), `${name}: full pages until the last`);
    const backward: number[][] = [page.rows.map((r) => r.optionId)];
    while (page.prev) {
      page = await searchTransactions(app.db, f, scope, { before: page.prev, pageSize });
      backward.unshift(page.rows.map((r) => r.optionId));
    }
    t.same(backward.flat(), expected, `${name}: backward walk = plain scan`);
    t.same(backward, pages.map((p) => p.rows.map((r) => r.optionId)), `${name}: the same pages both ways`);
  }
  // The debtor's name matches whatever its case (LIKE ignores case on SQLite, not on PostgreSQL).
  const byName = async (debtor: string) => (await searchTransactions(app.db, { debtor }, 'all', { pageSize: 1000 })).rows.map((r) => r.optionId);
  const named = await byName('Debitore 11');
  t.ok(named.length > 1, `debtor by name: ${named.length} rows`);
  t.same(await byName('debitore 11'), named, 'debtor name in lower case');
  t.same(await byName('DEBITORE 11'), named, 'debtor name in upper case');
});

t.test('ageing report: the pages walk the plain scan both ways', async (t) => {
  const { app, enti } = await seeded(t);
  const today = localDate(NOW);
  for (const days of [0, 5, 40]) {
    for (const scope of ['all', [enti[2]!], [enti[0]!, enti[4]!]] as Scope[]) {
      // The report as it was before paging: every receipt, filtered and sorted in JS.
      const all = await sqlAll<{ id: number; enteId: number; paidOn: string; amount: number | null; credited: number }>(
        app.db,
        `SELECT r.id, r.ente_id AS "enteId", substr(coalesce(r.payment_date_time, r.created_at), 1, 10) AS "paidOn",
           (SELECT sum(t.amount_cents) FROM receipt_transfers t JOIN enti e ON e.id = r.ente_id WHERE t.receipt_row_id = r.id AND t.fiscal_code_pa = e.fiscal_code) AS amount,
           CASE WHEN EXISTS (SELECT 1 FROM treasury_movements tm WHERE tm.receipt_row_id = r.id AND tm.state = 'matched')
             OR EXISTS (SELECT 1 FROM fdr_entry_matches em JOIN fdr_flow_recon x ON x.flow_row_id = em.flow_row_id
                        WHERE em.receipt_row_id = r.id AND em.state IN ('matched','revoked') AND x.credit_movement_id IS NOT NULL) THEN 1 ELSE 0 END AS credited
         FROM receipts r WHERE r.outcome = 'OK'`,
      );
      const expected = all
        .filter((r) => (scope === 'all' || scope.includes(r.enteId)) && !r.credited && (r.amount ?? 0) > 0 && workingDaysBetween(r.paidOn, today, { extraHolidays: HOLIDAYS }) >= days)
        .sort((a, b) => (a.paidOn === b.paidOn ? a.id - b.id : a.paidOn < b.paidOn ? -1 : 1));
      const name = `${days} days, scope ${JSON.stringify(scope)}`;
      t.ok(expected.length > 20, `${name}: ${expected.length} rows`);
      const pageSize = 7;
      let page = await ageingReport(app.db, scope, days, HOLIDAYS, NOW, { pageSize });
      t.equal(page.prev, null);
      const pages = [page];
      while (page.next) {
        page = await ageingReport(app.db, scope, days, HOLIDAYS, NOW, { after: page.next, pageSize });
        pages.push(page);
      }
      const rows = pages.flatMap((p) => p.rows);
      t.same(rows.map((r) => r.receiptRowId), expected.map((r) => r.id), `${name}: forward walk = plain scan`);
      t.ok(rows.every((r) => r.workingDays === workingDaysBetween(r.paidOn, today, { extraHolidays: HOLIDAYS })), `${name}: working days as counted one by one`);
      const back: number[] = [...page.rows.map((r) => r.receiptRowId)];
      while (page.prev) {
        page = await ageingReport(app.db, scope, days, HOLIDAYS, NOW, { before: page.prev, pageSize });
        back.unshift(...page.rows.map((r) => r.receiptRowId));
      }
      t.same(back, expected.map((r) => r.id), `${name}: backward walk = plain scan`);
    }
  }
});

t.test('cutoff and working days agree with workingDaysBetween on every day of two years', async (t) => {
  const days: string[] = [];
  for (let d = new Date('2025-01-01T12:00:00Z'); d < new Date('2027-01-01T12:00:00Z'); d.setUTCDate(d.getUTCDate() + 1)) days.push(d.toISOString().slice(0, 10));
  const today = '2026-12-28';
  const ages = workingDaysSince(days, today, HOLIDAYS);
  days.splice(days.indexOf(today) + 1);
  const wrong = days.filter((d) => ages.get(d) !== workingDaysBetween(d, today, { extraHolidays: HOLIDAYS }));
  t.same(wrong, [], 'workingDaysSince');
  for (const n of [0, 1, 5, 10, 30]) {
    const cutoff = ageingCutoff(today, n, HOLIDAYS);
    const bad = days.filter((d) => (d <= cutoff) !== (workingDaysBetween(d, today, { extraHolidays: HOLIDAYS }) >= n));
    t.same(bad, [], `cutoff for ${n} working days: ${cutoff}`);
  }
});

t.test('the pages link to each other over HTTP', async (t) => {
  const { app } = await seeded(t);
  const cookie = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'helpdesk')!.fiscalCode);
  const unescape = (s: string | undefined) => s?.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&');
  const get = (url: string) => app.inject({ url, headers: { accept: 'text/html', cookie } });
  const links = (body: string) => ({
    next: unescape(/href="([^"]+)" rel="next"/.exec(body)?.[1]),
    prev: unescape(/href="([^"]+)" rel="prev"/.exec(body)?.[1]),
  });
  for (const base of ['/helpdesk/pagamenti?ente=', '/helpdesk/anomalie/invecchiamento']) {
    const first = await get(base);
    t.equal(first.statusCode, 200, base);
    t.equal(links(first.body).prev, undefined, `${base}: no previous link on the first page`);
    const n = links(first.body).next;
    t.ok(n, `${base}: a next link`);
    const second = await get(n!);
    t.equal(second.statusCode, 200);
    t.not(second.body, first.body);
    const back = await get(links(second.body).prev!);
    const rowsOf = (body: string) => body.slice(body.indexOf('<tbody>'), body.indexOf('</tbody>'));
    t.equal(rowsOf(back.body), rowsOf(first.body), `${base}: previous of the second page = the first page`);
    for (const bad of ['x', '2026-01-01~', '2026-01-01~1;DROP', `2026-01-01~${'9'.repeat(20)}`]) {
      const res = await get(`${base.split('?')[0]}?after=${encodeURIComponent(bad)}`);
      t.equal(res.statusCode, 400, `${base}: after=${bad} refused`);
    }
  }
});

