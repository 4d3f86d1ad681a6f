import t from 'tap';
import { sqlGet, sqlRun } from '../../src/db/raw.js';
import { buildTestApp } from '../helpers.js';
import { demoEnte } from '../positions/fixtures.js';
import { createNodeForPaClient, NodeForPaError, withRetry } from '../../src/modules/pagopa/fdr-client.js';
import { downloadFlowsNow, FdrScheduler, leaseName } from '../../src/modules/pagopa/fdr-scheduler.js';
import { claimLease } from '../../src/modules/pagopa/leases.js';
import { parseFlussoRiversamento } from '../../src/modules/pagopa/fdr-store.js';
import { buildFlows, fdrSimFaults } from '../../src/simulators/pagopa/fdr.js';
import { DEMO_PSP } from '../../src/simulators/pagopa/node-messages.js';
import { payNotice } from '../../src/simulators/pagopa/node.js';
import { countRows, createTari, failInserts, freePort, stopFailingInserts } from './helpers.js';

const silent = { info: () => {}, warn: () => {}, error: () => {} };
const fast = { retries: 3, baseDelayMs: 5, timeoutMs: 2000 };

/** The error a promise rejects with (fails the test when it resolves). */
async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

t.test('nodoChiedi* client + store + scheduler against the simulated node', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildTestApp(t, { PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '60' });
  await app.listen({ port, host: '127.0.0.1' });
  t.teardown(() => {
    fdrSimFaults.failNextDownloads = 0;
    fdrSimFaults.invalidFlowIds.clear();
    fdrSimFaults.delayMs = 0;
  });
  const cb = (await demoEnte(app, 'Campobasso')).ente;
  const province = (await demoEnte(app, 'Provincia di Campobasso')).ente;

  // Two payments through the simulated node with two PSPs → two flows for Campobasso, two for the province (TEFA).
  const p1 = await createTari(app);
  const p2 = await createTari(app);
  t.ok((await payNotice(app, { fiscalCode: p1.fiscalCode, noticeNumber: p1.options[0]!.noticeNumber })).ok);
  t.ok((await payNotice(app, { fiscalCode: p2.fiscalCode, noticeNumber: p2.options[1]!.noticeNumber, psp: { ...DEMO_PSP, idPSP: 'SIMPSP02', idChannel: 'SIMPSP02_01' } })).ok);
  const simFlows = await buildFlows(app.db, cb.fiscalCode);
  t.equal(simFlows.length, 2);

  await t.test('the soap client (official WSDL) lists and downloads flows', async (t) => {
    const client = await createNodeForPaClient(app.config.pagopa, fast);
    const listed = await client.listFlows(cb.fiscalCode);
    t.same(listed.map((f) => f.flowId).sort(), simFlows.map((f) => f.flowId).sort());
    t.equal(listed[0]!.flowDateTime, simFlows.find((f) => f.flowId === listed[0]!.flowId)!.flowDateTime, 'date-time kept as listed text');
    const xml = await client.getFlow(cb.fiscalCode, listed[0]!.flowId);
    const parsed = parseFlussoRiversamento(xml);
    t.ok(parsed.ok);
    if (parsed.ok) t.equal(parsed.flow.receiverFiscalCode, cb.fiscalCode);
    t.match(await failure(client.getFlow(cb.fiscalCode, 'SCONOSCIUTO-1')), { faultCode: 'PPT_ID_FLUSSO_SCONOSCIUTO', retryable: false });
    const wrong = await createNodeForPaClient({ ...app.config.pagopa, stationPassword: 'Sbagliata123' }, fast);
    t.match(await failure(wrong.listFlows(cb.fiscalCode)), { faultCode: 'PPT_AUTENTICAZIONE', retryable: false });
    const badKey = await createNodeForPaClient({ ...app.config.pagopa, subscriptionKey: 'x' }, fast);
    t.match(await failure(badKey.listFlows(cb.fiscalCode)), { message: /HTTP 401/, retryable: false });
  });

  await t.test('timeouts and unreachable node are retryable errors', async (t) => {
    fdrSimFaults.delayMs = 300;
    const slow = await createNodeForPaClient(app.config.pagopa, { retries: 1, baseDelayMs: 1, timeoutMs: 100 });
    t.match(await failure(slow.listFlows(cb.fiscalCode)), { message: /timeout/, retryable: true });
    fdrSimFaults.delayMs = 0;
    const down = await createNodeForPaClient({ ...app.config.pagopa, nodeUrl: 'http://127.0.0.1:1/nodo' }, { retries: 2, baseDelayMs: 1, timeoutMs: 500 });
    let attempts = 0;
    const dc = await createNodeForPaClient({ ...app.config.pagopa, nodeUrl: 'http://127.0.0.1:1/nodo' }, { retries: 2, baseDelayMs: 1, timeoutMs: 500, onRetry: () => attempts++ });
    t.match(await failure(down.listFlows(cb.fiscalCode)), { retryable: true });
    await t.rejects(dc.listFlows(cb.fiscalCode));
    t.equal(attempts, 2, 'two retries after the first attempt');
  });

  await t.test('withRetry: exponential backoff, stops on final errors', async (t) => {
    const delays: number[] = [];
    let calls = 0;
    const r = await withRetry(
      async () => {
        if (++calls < 4) throw new NodeForPaError('HTTP 503', true);
        return 'ok';
      },
      { retries: 5, baseDelayMs: 100, sleep: async (ms) => void delays.push(ms) },
    );
    t.equal(r, 'ok');
    t.equal(calls, 4);
    delays.forEach((d, i) => t.ok(d >= 0 && d <= 100 * 2 ** i, `delay ${i} within the exponential cap`));
    calls = 0;
    await t.rejects(withRetry(async () => { calls++; throw new NodeForPaError('PPT_AUTENTICAZIONE', false); }, { retries: 5, sleep: async () => {} }));
    t.equal(calls, 1, 'no retry on a final fault');
  });

  await t.test('download stores each flow once; a 503 is retried; a rerun stores nothing', async (t) => {
    fdrSimFaults.failNextDownloads = 1;
    const [r] = await downloadFlowsNow(app.db, app.config.pagopa, silent, { enteFiscalCode: cb.fiscalCode, client: fast });
    t.match(r, { ran: true, listed: 2, stored: 2, invalid: 0, failed: 0 });
    t.equal((await countRows(app, 'fdr_flows WHERE ente_id = ?', cb.id)), 2);
    const entries = (await countRows(app, 'fdr_entries e JOIN fdr_flows f ON f.id = e.flow_row_id WHERE f.ente_id = ?', cb.id));
    t.equal(entries, 2, 'one row per transfer credited to Campobasso');
    const row = (await sqlGet(app.db, 'SELECT * FROM fdr_entries e JOIN fdr_flows f ON f.id = e.flow_row_id WHERE f.ente_id = ? AND e.iuv = ?', cb.id, p1.options[0]!.iuv)) as Record<string, unknown>;
    t.match(row, { amount_cents: 28500, outcome_code: '0', transfer_index: 1, psp_id: 'SIMPSP01', source: 'nodoChiedi' });
    t.match(String(row.raw_xml), /FlussoRiversamento/);
    const [again] = await downloadFlowsNow(app.db, app.config.pagopa, silent, { enteFiscalCode: cb.fiscalCode, client: fast });
    t.match(again, { listed: 2, stored: 0, alreadyStored: 2 });
    t.equal((await countRows(app, 'fdr_flows')), 2);
    const sched = (await sqlGet(app.db, 'SELECT * FROM pagopa_schedules WHERE name = ?', leaseName(cb.id))) as Record<string, unknown>;
    t.match(sched, { locked_by: null, locked_until: 0, failures: 0, last_error: null });
  });

  await t.test('an XSD-invalid flow is not stored, is logged and raises one anomaly', async (t) => {
    const flows = await buildFlows(app.db, province.fiscalCode);
    fdrSimFaults.invalidFlowIds.add(flows[0]!.flowId);
    const warnings: unknown[] = [];
    const log = { ...silent, warn: (o: unknown) => void warnings.push(o) };
    const s = new FdrScheduler(app.db, app.config.pagopa, log, { intervalMinutes: 60, client: fast });
    const [r] = await s.runNow(province.fiscalCode);
    t.match(r, { listed: 2, stored: 1, invalid: 1 });
    t.equal((await countRows(app, 'fdr_flows WHERE flow_id = ? AND ente_id = ?', flows[0]!.flowId, province.id)), 0);
    t.equal((await countRows(app, "anomalies WHERE type = 'fdr_invalid_flow' AND ente_id = ?", province.id)), 1);
    t.ok(JSON.stringify(warnings).includes(flows[0]!.flowId), 'logged with the flow id');
    t.notOk(JSON.stringify(warnings).includes('RSSMRA'), 'no personal data in the log');
    await s.runNow(province.fiscalCode);
    t.equal((await countRows(app, "anomalies WHERE type = 'fdr_invalid_flow' AND ente_id = ?", province.id)), 1, 'no duplicate anomaly on rerun');
    fdrSimFaults.invalidFlowIds.clear();
    const [fixed] = await s.runNow(province.fiscalCode);
    t.match(fixed, { stored: 1, alreadyStored: 1 });
  });

  await t.test('a failure while storing a flow stores nothing of it; the rerun stores it whole, once', async (t) => {
    const p3 = await createTari(app, {}, 'Termoli');
    t.ok((await payNotice(app, { fiscalCode: p3.fiscalCode, noticeNumber: p3.options[0]!.noticeNumber })).ok);
    const termoli = (await demoEnte(app, 'Termoli')).ente;
    // Crash in the middle of the flow's transaction (after the flow row, at its first entry).
    await failInserts(app, 'fdr_entries', 'fdr_crash', 'simulated crash');
    const [r] = await downloadFlowsNow(app.db, app.config.pagopa, silent, { enteFiscalCode: termoli.fiscalCode, client: fast });
    t.match(r!.error ?? '', /simulated crash/);
    t.equal((await countRows(app, 'fdr_flows WHERE ente_id = ?', termoli.id)), 0, 'no half flow');
    const sched = (await sqlGet(app.db, 'SELECT * FROM pagopa_schedules WHERE name = ?', leaseName(termoli.id))) as Record<string, unknown>;
    t.match(sched, { locked_by: null, failures: 1 });
    t.ok(Number(sched.next_run_at) > Date.now(), 'backoff before the next scheduled try');
    await stopFailingInserts(app, 'fdr_entries', 'fdr_crash');
    const [again] = await downloadFlowsNow(app.db, app.config.pagopa, silent, { enteFiscalCode: termoli.fiscalCode, client: fast });
    t.match(again, { stored: 1 });
    t.equal((await countRows(app, 'fdr_flows WHERE ente_id = ?', termoli.id)), 1);
    t.equal((await countRows(app, 'fdr_entries e JOIN fdr_flows f ON f.id = e.flow_row_id WHERE f.ente_id = ?', termoli.id)), 1);
  });

  await t.test('lease: two processes never download the same ente at once', async (t) => {
    const name = leaseName(cb.id);
    t.ok(await claimLease(app.db, name, 'proc-A', 60_000));
    t.notOk(await claimLease(app.db, name, 'proc-B', 60_000), 'held by A');
    const s = new FdrScheduler(app.db, app.config.pagopa, silent, { intervalMinutes: 60, client: fast });
    const results = await s.runNow(cb.fiscalCode);
    t.match(results[0], { ran: false }, 'the other process skips the ente');
    t.ok(await claimLease(app.db, name, 'proc-B', 60_000, { now: Date.now() + 61_000 }), 'an expired lease (dead process) can be taken over');
    (await sqlRun(app.db, 'UPDATE pagopa_schedules SET locked_by = NULL, locked_until = 0 WHERE name = ?', name));

    // Two schedulers racing on the same due enti: each ente runs exactly once.
    (await sqlRun(app.db, 'UPDATE pagopa_schedules SET next_run_at = 0'));
    let calls = 0;
    const client = await createNodeForPaClient(app.config.pagopa, fast);
    const counting = { listFlows: async (cf: string) => (calls++, client.listFlows(cf)), getFlow: client.getFlow };
    const a = new FdrScheduler(app.db, app.config.pagopa, silent, { intervalMinutes: 60, clientFactory: async () => counting });
    const b = new FdrScheduler(app.db, app.config.pagopa, silent, { intervalMinutes: 60, clientFactory: async () => counting });
    const [ra, rb] = await Promise.all([a.tick(), b.tick()]);
    const members = (await countRows(app, 'enti WHERE member = 1'));
    t.equal(ra.filter((r) => r.ran).length + rb.filter((r) => r.ran).length, members, 'every member ente once');
    t.equal(calls, members);
    const again = await a.tick();
    t.equal(again.filter((r) => r.ran).length, 0, 'not due again before the interval');
  });

  await t.test('start/stop: the scheduler runs in the background and stops cleanly', async (t) => {
    (await sqlRun(app.db, 'UPDATE pagopa_schedules SET next_run_at = 0'));
    let ticks = 0;
    const client = await createNodeForPaClient(app.config.pagopa, fast);
    const s = new FdrScheduler(app.db, app.config.pagopa, silent, {
      intervalMinutes: 1,
      firstTickMs: 1,
      tickMs: 20,
      clientFactory: async () => ({ listFlows: async (cf) => (ticks++, client.listFlows(cf)), getFlow: client.getFlow }),
    });
    s.start();
    await new Promise((r) => setTimeout(r, 400));
    await s.stop();
    t.ok(ticks >= 1);
    const after = ticks;
    await new Promise((r) => setTimeout(r, 100));
    t.equal(ticks, after, 'nothing after stop');
    t.equal((await countRows(app, 'pagopa_schedules WHERE locked_by IS NOT NULL')), 0, 'no lease left behind');
  });
});
