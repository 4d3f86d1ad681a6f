import t from 'tap';
import { sqlAll } from '../../src/db/raw.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { demoCitizenProfiles } from '../../src/modules/enti/demo-seed.js';
import { seedDemoPositions } from '../../src/modules/positions/demo-positions.js';
import { todayInItaly } from '../../src/modules/positions/service.js';
import { buildFlows } from '../../src/simulators/pagopa/fdr.js';
import { paForNodeSoapSchema } from '../../src/modules/pagopa/spec-files.js';
import { tempDir } from '../helpers.js';
import { countRows } from '../pagopa/helpers.js';

t.test('demo positions: seeded through the real paths on a demo database without positions', async (t) => {
  const dir = tempDir(t);
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' });
  const app = await buildApp(config, { logger: false, backgroundWorkers: false, demoPositions: true });
  t.teardown(() => app.close());
  const q = async <T>(sql: string, ...p: unknown[]) => (await sqlAll(app.db, sql, ...p)) as T[];

  const total = (await countRows(app, 'positions'));
  t.ok(total >= 45 && total <= 60, `about fifty positions (${total})`);
  const perEnte = (await q<{ name: string; n: number }>('SELECT e.name, count(*) n FROM positions p JOIN enti e ON e.id = p.ente_id GROUP BY e.id'));
  t.equal(perEnte.length, 6, 'across the six member comuni');

  for (const c of demoCitizenProfiles()) {
    const r = (await q<{ enti: number; n: number }>('SELECT count(DISTINCT ente_id) enti, count(*) n FROM positions WHERE debtor_fiscal_code = ?', c.fiscalCode))[0]!;
    t.ok(r.n >= 3, `${c.name} owes several positions`);
    const payable = (await q<{ enti: number }>(
      "SELECT count(DISTINCT p.ente_id) enti FROM positions p JOIN payment_options o ON o.position_id = p.id WHERE p.debtor_fiscal_code = ? AND p.status IN ('published','partially_paid') AND o.status = 'unpaid'",
      c.fiscalCode,
    ))[0]!;
    t.ok(payable.enti >= 2, `${c.name} can put notices of two comuni in one cart`);
  }

  const plans = (await q<{ id: number }>(
    `SELECT p.id FROM positions p WHERE (SELECT count(*) FROM payment_options o WHERE o.position_id = p.id AND o.kind = 'installment') = 3
       AND EXISTS (SELECT 1 FROM payment_options o JOIN transfers tr ON tr.option_id = o.id JOIN enti e ON e.fiscal_code = tr.fiscal_code_pa WHERE o.position_id = p.id AND e.kind = 'provincia')`,
  ));
  t.ok(plans.length >= 6, '3-installment plans with the TEFA share to the province');

  const byStatus = { paid: 0, partially_paid: 0, expired: 0, cancelled: 0 } as Record<string, number> & { paid: number; partially_paid: number; expired: number; cancelled: number };
  for (const r of (await q<{ status: string; n: number }>('SELECT status, count(*) n FROM positions GROUP BY status'))) byStatus[r.status] = r.n;
  t.ok(byStatus.paid >= 3, 'some paid');
  t.ok(byStatus.partially_paid >= 1, 'some partially paid (first installment)');
  t.ok(byStatus.expired >= 1, 'some expired');
  t.ok(byStatus.cancelled >= 1, 'some cancelled');

  // Every paid option has a receipt stored by the station (raw paSendRTV2, valid against the XSD).
  const paidOptions = (await q<{ id: number; notice_number: string }>("SELECT id, notice_number FROM payment_options WHERE status = 'paid'"));
  t.ok(paidOptions.length >= 5);
  for (const o of paidOptions) {
    const rows = (await q<{ raw_xml: string; processing: string; primitive: string }>('SELECT raw_xml, processing, primitive FROM receipts WHERE option_id = ? AND id_pa = fiscal_code', o.id));
    t.equal(rows.length, 1, `receipt for ${o.notice_number}`);
    t.match(rows[0], { processing: 'applied', primitive: 'paSendRTV2' });
    t.ok(paForNodeSoapSchema().validate(rows[0]!.raw_xml).valid);
  }
  t.ok((await countRows(app, "receipts WHERE processing = 'secondary'")) >= 1, 'the province received its TEFA copies');
  t.equal((await countRows(app, 'anomalies')), 0, 'no anomaly: the receipts matched');
  t.ok((await buildFlows(app.db, ((await q<{ fiscal_code: string }>("SELECT fiscal_code FROM enti WHERE kind = 'provincia'"))[0]!).fiscal_code)).length >= 1, 'the simulated node reports them in its flows');

  const today = todayInItaly();
  t.equal((await countRows(app, "payment_options o JOIN positions p ON p.id = o.position_id WHERE p.status = 'published' AND o.due_date >= ?", today)) > 20, true, 'due dates relative to today');
  t.equal((await countRows(app, "positions WHERE status = 'expired' AND switch_to_expired = 1")), byStatus.expired);
  t.ok((await countRows(app, "aca_outbox WHERE status = 'pending'")) >= total, 'queued for the central archive');

  t.equal(await seedDemoPositions(app.db, app.config.pagopa), 0, 'never twice: only on a database without positions');
  t.equal((await countRows(app, 'positions')), total);
});

t.test('tests and background-less apps start without demo positions unless asked', async (t) => {
  const dir = tempDir(t);
  const app = await buildApp(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }), { logger: false, backgroundWorkers: false });
  t.teardown(() => app.close());
  t.equal((await countRows(app, 'positions')), 0);
});
