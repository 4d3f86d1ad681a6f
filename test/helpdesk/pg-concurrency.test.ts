/**
 * Reconciliation with several processes on one PostgreSQL database (#19): two apps on the same
 * database URL, each with its own pool. The same reporting flow uploaded to both at once is stored
 * and matched once (one imported, the other unchanged), and so is the same treasury statement.
 * On SQLite BEGIN IMMEDIATE serialises them; on PostgreSQL a transaction-scoped advisory lock
 * does. Skipped without TEST_DATABASE_URL.
 */
import t from 'tap';
import { ingestFlowXml, importStatement } from '../../src/modules/helpdesk/reconcile.js';
import { buildFlows } from '../../src/simulators/pagopa/fdr.js';
import { simulatedCredits, treasuryCsv } from '../../src/simulators/pagopa/treasury.js';
import { createTestDatabase, pgServerUrl } from '../db/pg-helpers.js';
import { demoEnte } from '../positions/fixtures.js';
import { countRows, listeningApp, OTHER_PSP, paidTari, recon } from './helpers.js';

const SYS = { actor: 'test', allowedEnti: 'all' as const };

t.test('two processes reconcile the same flow and statement at once: each stored and matched once', async (t) => {
  const server = pgServerUrl(t);
  if (!server) return;
  const url = await createTestDatabase(t, server);
  const a = await listeningApp(t, { DATABASE_URL: url });
  const b = await listeningApp(t, { DATABASE_URL: url });
  const cb = await demoEnte(a, 'Campobasso');
  await paidTari(a);
  await paidTari(b, 'Campobasso', OTHER_PSP);
  const flows = await buildFlows(a.db, cb.ente.fiscalCode);
  t.equal(flows.length, 2, 'one flow per PSP');

  for (const [i, flow] of flows.entries()) {
    const results = await Promise.all([a, b].map((app) => ingestFlowXml(recon(app), { xml: flow.xml, source: 'upload', ...SYS })));
    t.same(results.map((r) => r.status).sort(), ['imported', 'unchanged'], `flow ${i + 1}: imported by one process, unchanged for the other`);
  }
  t.equal(await countRows(a, 'fdr_flows'), 2, 'each flow stored once');
  t.equal(await countRows(a, 'fdr_entries'), 2);
  t.equal(await countRows(a, "fdr_entry_matches WHERE state = 'matched'"), 2, 'each row matched once');

  const csv = Buffer.from(treasuryCsv(await simulatedCredits(a.db, cb.ente.fiscalCode), cb.ibans[0]!.iban));
  const imports = await Promise.all([a, b].map((app) => importStatement(recon(app), { enteId: cb.ente.id, bytes: csv, fileName: 'giornale.csv', actor: 'test' })));
  t.same(imports.map((r) => r.status).sort(), ['imported', 'unchanged'], 'statement imported by one process, unchanged for the other');
  t.equal(await countRows(a, 'treasury_imports'), 1);
  t.equal(await countRows(a, "treasury_movements WHERE state = 'matched' AND match_kind = 'flow'"), 2, 'both credits matched to their flows, once');
  t.equal(await countRows(a, 'fdr_flow_recon WHERE credit_movement_id IS NOT NULL'), 2);
});
