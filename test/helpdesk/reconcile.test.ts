/**
 * Three-way reconciliation with the node simulator's flows and the simulated treasury: full match,
 * a credit parked until its flow arrives, rows without receipt, amount mismatch, duplicate receipt
 * and duplicate rows, flow revisions, camt.053, idempotent re-imports, bad input.
 */
import t from 'tap';
import { buildFlows } from '../../src/simulators/pagopa/fdr.js';
import { simulatedCredits, treasuryCamt053, treasuryCsv } from '../../src/simulators/pagopa/treasury.js';
import { importStatement, ingestFlowXml, manualMatch, manualUnmatch, processPendingFlows, ReconError, retryParked } from '../../src/modules/helpdesk/reconcile.js';
import { demoEnte } from '../positions/fixtures.js';
import { sqlAll, sqlGet } from '../../src/db/raw.js';
import { countRows, flowXml, listeningApp, OTHER_PSP, paidTari, recon } from './helpers.js';

const SYS = { actor: 'test', allowedEnti: 'all' as const };

/** Runs fn (sync or async), expecting a ReconError that satisfies the predicate. */
async function reconError(fn: () => unknown, ok: (e: ReconError) => boolean): Promise<boolean> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof ReconError) return ok(e);
    throw e;
  }
  return false;
}

t.test('simulator end to end: parked credit, full match, idempotent re-imports', async (t) => {
  const app = await listeningApp(t);
  const r = recon(app);
  const cb = await demoEnte(app, 'Campobasso');
  const prov = await demoEnte(app, 'Provincia di Campobasso');
  const p1 = await paidTari(app);
  const p2 = await paidTari(app, 'Campobasso', OTHER_PSP, 1); // duplicate sendRT: stored once
  t.equal(await countRows(app, 'receipts WHERE iuv = ? AND ente_id = ?', p2.options[0]!.iuv, cb.ente.id), 1, 'duplicate receipt stored once');

  const flows = await buildFlows(app.db, cb.ente.fiscalCode);
  t.equal(flows.length, 2, 'one flow per PSP');
  const csv = Buffer.from(treasuryCsv(await simulatedCredits(app.db, cb.ente.fiscalCode), cb.ibans[0]!.iban));

  // The treasury statement arrives before the flows: both credits parked.
  const first = await importStatement(r, { enteId: cb.ente.id, bytes: csv, fileName: 'giornale.csv', actor: 'test' });
  t.match(first, { status: 'imported', movements: 2, newMovements: 2, matched: 0, parked: 2 });
  t.equal(await countRows(app, "treasury_movements WHERE state = 'parked' AND error_code = 'IDF_NON_TROVATO'"), 2);

  // First flow arrives by upload → its credit is matched automatically.
  const a = await ingestFlowXml(r, { xml: flows[0]!.xml, source: 'upload', ...SYS });
  t.match(a, { status: 'imported', result: { state: 'accepted', rows: 1, matched: 1, anomalies: 0, revision: 1 } });
  t.equal(await countRows(app, "treasury_movements WHERE state = 'matched' AND match_kind = 'flow'"), 1, 'parked credit matched when its flow arrived');

  // Second flow stored by the node client (directly in fdr_flows), then picked up.
  const b = await ingestFlowXml(r, { xml: flows[1]!.xml, source: 'nodoChiedi', ...SYS });
  t.equal(b.status, 'imported');
  t.same(await processPendingFlows(r), [], 'nothing left to process');
  t.equal(await countRows(app, "treasury_movements WHERE state = 'matched'"), 2, 'full match');
  t.equal(await countRows(app, "fdr_entry_matches WHERE state = 'matched'"), 2);
  t.equal(await countRows(app, "fdr_flow_recon WHERE credit_movement_id IS NOT NULL AND state = 'accepted'"), 2);
  t.equal(await countRows(app, "anomalies WHERE status = 'open' AND type LIKE 'fdr_%'"), 0);
  t.equal(await countRows(app, "anomalies WHERE status = 'resolved' AND type LIKE 'credit_%'"), 0, 'no anomaly was needed (parked < 2 working days)');

  // Re-imports change nothing.
  t.match(await ingestFlowXml(r, { xml: flows[0]!.xml, source: 'upload', ...SYS }), { status: 'unchanged' });
  t.match(await importStatement(r, { enteId: cb.ente.id, bytes: csv, fileName: 'giornale.csv', actor: 'test' }), { status: 'unchanged' });
  const reordered = Buffer.from(csv.toString().split('\r\n').filter(Boolean).reverse().sort((x, y) => (x.startsWith('data_') ? -1 : y.startsWith('data_') ? 1 : 0)).join('\r\n'));
  t.match(await importStatement(r, { enteId: cb.ente.id, bytes: reordered, fileName: 'altro.csv', actor: 'test' }), { status: 'imported', newMovements: 0, alreadyKnown: 2 }, 'same movements in another file: nothing new');
  const changed = Buffer.from(csv.toString().replace(/;C;(\d+),(\d\d);/, (_m, i: string, d: string) => `;C;${Number(i) + 1},${d};`));
  const before = await countRows(app, 'treasury_movements');
  t.ok(await reconError(() => importStatement(r, { enteId: cb.ente.id, bytes: changed, fileName: 'x.csv', actor: 'test' }), (e) => e.status === 409 && /già stato importato con dati diversi/.test(e.problems[0]!.message)));
  t.equal(await countRows(app, 'treasury_movements'), before, 'nothing half-imported');

  // A modified flow with the same id and date-time is refused.
  await t.rejects(async () => await ingestFlowXml(r, { xml: flows[0]!.xml.replace('PSP simulato S.p.A.', 'PSP modificato'), source: 'upload', ...SYS }), /contenuto diverso/);

  // The province's TEFA flow by camt.053.
  const pflows = await buildFlows(app.db, prov.ente.fiscalCode);
  for (const f of pflows) await ingestFlowXml(r, { xml: f.xml, source: 'upload', ...SYS });
  const camt = treasuryCamt053(await simulatedCredits(app.db, prov.ente.fiscalCode), prov.ibans[0]!.iban);
  t.match(await importStatement(r, { enteId: prov.ente.id, bytes: Buffer.from(camt), fileName: 'estratto.xml', actor: 'test' }), { status: 'imported', matched: pflows.length });
  t.equal(await countRows(app, "fdr_entry_matches WHERE ente_id = ? AND state = 'matched'", prov.ente.id), 2, 'TEFA rows matched to the province copies of the receipts');

  // Manual unmatch / match with a note.
  const mv = (await sqlGet<{ id: number; flowRowId: number }>(app.db, `SELECT id, flow_row_id AS "flowRowId" FROM treasury_movements WHERE ente_id = ? AND state = 'matched' ORDER BY id LIMIT 1`, cb.ente.id))!;
  await t.rejects(async () => await manualUnmatch(r, { movementRowId: mv.id, note: ' ', ...SYS }), /nota è obbligatoria/);
  await manualUnmatch(r, { movementRowId: mv.id, note: 'Accredito da verificare col tesoriere', ...SYS });
  await retryParked(r);
  t.equal(await countRows(app, "treasury_movements WHERE id = ? AND state = 'error' AND error_code = 'SCOLLEGATO_MANUALMENTE'", mv.id), 1, 'not re-matched automatically');
  await manualMatch(r, { movementRowId: mv.id, flowRowId: mv.flowRowId, note: 'Verificato col tesoriere', ...SYS });
  t.equal(await countRows(app, "treasury_movements WHERE id = ? AND state = 'matched' AND match_kind = 'manual_flow'", mv.id), 1);
  t.ok(await countRows(app, "audit_log WHERE entity = 'treasury_movement' AND action IN ('movement.match','movement.unmatch')") >= 2, 'audited');
  void p1;
});

t.test('flow rows: no receipt, amount mismatch, duplicate row, other ente, revisions', async (t) => {
  const app = await listeningApp(t);
  const r = recon(app);
  const cb = await demoEnte(app, 'Campobasso');
  const tm = await demoEnte(app, 'Termoli');
  const p = await paidTari(app);
  const q = await paidTari(app);
  const tp = await paidTari(app, 'Termoli');
  const cf = cb.ente.fiscalCode;
  const row = (x: typeof p, amountCents = 28500) => ({ iuv: x.options[0]!.iuv, iur: x.receiptId, index: 1, amountCents });

  // Revision 1: one good row, one with a wrong amount, one without receipt, one duplicate, one of Termoli's payments.
  const rev1 = flowXml({
    flowId: '2026-03-16SIMPSP01-0000000077',
    flowDateTime: '2026-03-16T10:00:00',
    cf,
    rows: [row(p), row(q, 28000), { iuv: '01000000000999999', iur: 'IUR-SCONOSCIUTO', amountCents: 1000 }, row(p), { iuv: tp.options[0]!.iuv, iur: tp.receiptId, index: 1, amountCents: 28500 }],
  });
  const res1 = await ingestFlowXml(r, { xml: rev1, source: 'upload', ...SYS });
  t.match(res1, { status: 'imported', result: { state: 'accepted', matched: 1, rows: 5 } });
  const types = async () => (await sqlAll<{ type: string }>(app.db, "SELECT type FROM anomalies WHERE status = 'open' AND type LIKE 'fdr_%' ORDER BY type")).map((x) => x.type);
  t.same(await types(), ['fdr_row_amount_mismatch', 'fdr_row_duplicate', 'fdr_row_other_ente', 'fdr_row_without_receipt']);
  t.match(await sqlGet(app.db, "SELECT code, amount_cents AS a FROM anomalies WHERE type = 'fdr_row_amount_mismatch'"), { code: '007104', a: 28000 });

  // Re-processing is idempotent (no new anomalies).
  await processPendingFlows(r);
  t.equal(await countRows(app, "anomalies WHERE type LIKE 'fdr_%'"), 4);

  // A credit for revision 1 (total of its rows) matches; then revision 2 corrects the flow.
  const total1 = 28500 + 28000 + 1000 + 28500 + 28500;
  const csv = (amount: number) => Buffer.from(`data_contabile;id_movimento;importo;causale\n17/03/2026;TRN-R1;${(amount / 100).toFixed(2).replace('.', ',')};/PUR/LGPE-RIVERSAMENTO/URI/2026-03-16SIMPSP01-0000000077\n`);
  t.match(await importStatement(r, { enteId: cb.ente.id, bytes: csv(total1), fileName: 'r1.csv', actor: 'test' }), { matched: 1 });

  const rev2 = flowXml({ flowId: '2026-03-16SIMPSP01-0000000077', flowDateTime: '2026-03-16T18:00:00', cf, rows: [row(p), row(q)] });
  const res2 = await ingestFlowXml(r, { xml: rev2, source: 'upload', ...SYS });
  t.match(res2, { status: 'imported', result: { revision: 2, state: 'accepted', matched: 2, anomalies: 0 } });
  t.equal(await countRows(app, "fdr_flow_recon WHERE flow_id = ? AND state = 'superseded' AND revision = 1", '2026-03-16SIMPSP01-0000000077'), 1, 'revision 1 superseded');
  t.same(await types(), [], 'anomalies of the old revision retired');
  t.equal(await countRows(app, "anomalies WHERE type LIKE 'fdr_%' AND status = 'resolved' AND resolution_note LIKE 'Sostituito dalla revisione 2%'"), 4);
  t.equal(await countRows(app, "treasury_movements WHERE movement_id = 'TRN-R1' AND state = 'error' AND error_code = 'IMPORTO_ERRATO'"), 1, 'the credit no longer equals the current revision');
  t.equal(await countRows(app, "anomalies WHERE type = 'credit_amount_mismatch' AND status = 'open'"), 1);

  // An old revision arriving late never replaces the newer one.
  const rev0 = flowXml({ flowId: '2026-03-16SIMPSP01-0000000077', flowDateTime: '2026-03-16T08:00:00', cf, rows: [row(p)] });
  t.match(await ingestFlowXml(r, { xml: rev0, source: 'upload', ...SYS }), { result: { state: 'superseded', revision: 1 } });
  t.equal(await countRows(app, "fdr_flow_recon WHERE flow_id = ? AND state = 'accepted' AND revision = 3", '2026-03-16SIMPSP01-0000000077'), 1, 'revisions renumbered by dataOraFlusso, the newest stays current');

  // The same payment in a second flow: already reported.
  await ingestFlowXml(r, { xml: flowXml({ flowId: '2026-03-17SIMPSP01-0000000078', cf, rows: [row(p)] }), source: 'upload', ...SYS });
  t.equal(await countRows(app, "anomalies WHERE type = 'fdr_row_already_reported' AND status = 'open'"), 1);

  // Header checks: wrong count and sum → anomalous flow, its credit refused with FR_ANOMALA.
  await ingestFlowXml(r, { xml: flowXml({ flowId: '2026-03-18SIMPSP01-0000000079', cf, rows: [{ iuv: '01000000000888888', iur: 'X1', amountCents: 500 }], total: 900, count: 2 }), source: 'upload', ...SYS });
  t.equal(await countRows(app, "fdr_flow_recon WHERE flow_id = '2026-03-18SIMPSP01-0000000079' AND state = 'anomalous' AND count_ok = 0 AND sum_ok = 0"), 1);
  await importStatement(r, { enteId: cb.ente.id, bytes: Buffer.from('data_contabile;id_movimento;importo;causale\n19/03/2026;TRN-AN;9,00;/PUR/LGPE-RIVERSAMENTO/URI/2026-03-18SIMPSP01-0000000079\n'), fileName: 'an.csv', actor: 'test' });
  t.equal(await countRows(app, "treasury_movements WHERE movement_id = 'TRN-AN' AND error_code = 'FR_ANOMALA'"), 1);

  // A flow for another ente than the one filed under is refused for operators of another ente.
  t.ok(await reconError(async () => await ingestFlowXml(r, { xml: flowXml({ flowId: '2026-03-18SIMPSP01-0000000080', cf: tm.ente.fiscalCode, rows: [row(tp)] }), source: 'upload', actor: 'x', allowedEnti: [cb.ente.id] }), (e) => e.status === 403));

  // Esito 4/8 accepted (not in the official XSD copy), 3 = revocation.
  const standIn = flowXml({ flowId: '2026-03-19SIMPSP01-0000000081', cf: tm.ente.fiscalCode, rows: [{ ...row(tp), esito: '4' }] });
  t.match(await ingestFlowXml(r, { xml: standIn, source: 'upload', ...SYS }), { result: { state: 'accepted', matched: 1 } });
});

t.test('bad input: XSD errors and unparseable statements import nothing', async (t) => {
  const app = await listeningApp(t);
  const r = recon(app);
  const cb = await demoEnte(app, 'Campobasso');
  const bad = flowXml({ flowId: '2026-03-16SIMPSP01-0000000001', cf: cb.ente.fiscalCode, rows: [{ iuv: '1', iur: '1', amountCents: 100 }] }).replace('<pay_i:versioneOggetto>1.0<', '<pay_i:versioneOggetto>9.9<');
  t.ok(await reconError(async () => await ingestFlowXml(r, { xml: bad, source: 'upload', ...SYS }), (e) => e.problems.length > 0 && /versioneOggetto/.test(e.problems[0]!.message)));
  await t.rejects(async () => await ingestFlowXml(r, { xml: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', source: 'upload', ...SYS }), ReconError);
  t.equal(await countRows(app, 'fdr_flows'), 0);
  const csv = Buffer.from('data_contabile;id_movimento;importo;causale\n16/03/2026;A;1,00;ok\n16/13/2026;B;1,00;bad date\n');
  t.ok(await reconError(() => importStatement(r, { enteId: cb.ente.id, bytes: csv, fileName: 'x.csv', actor: 'test' }), (e) => e.problems.length === 1 && e.problems[0]!.line === 3 && e.problems[0]!.field === 'data_contabile'));
  t.equal(await countRows(app, 'treasury_movements'), 0);
  t.equal(await countRows(app, 'treasury_imports'), 0);

  // Parked for more than 2 working days → anomaly; single credits by IUV.
  const p = await paidTari(app);
  const old = Buffer.from(`data_contabile;id_movimento;importo;causale\n02/03/2026;OLD1;10,00;/PUR/LGPE-RIVERSAMENTO/URI/2026-02-27SIMPSP01-0000000009\n03/03/2026;RFB1;285,00;/RFB/${p.options[0]!.iuv}/285.00/TXT/TARI\n04/03/2026;NP;50,00;STIPENDIO\n`);
  t.match(await importStatement(r, { enteId: cb.ente.id, bytes: old, fileName: 'old.csv', actor: 'test', now: new Date('2026-03-10T10:00:00Z') }), { matched: 1, parked: 1 });
  t.equal(await countRows(app, "anomalies WHERE type = 'credit_flow_not_found' AND status = 'open'"), 1);
  t.equal(await countRows(app, "treasury_movements WHERE movement_id = 'RFB1' AND state = 'matched' AND match_kind = 'receipt'"), 1, 'single credit matched to its receipt');
  t.equal(await countRows(app, "treasury_movements WHERE movement_id = 'NP' AND state = 'not_pagopa'"), 1);
});
