import t from 'tap';
import { sqlGet } from '../../src/db/raw.js';
import { buildApp } from '../../src/app.js';
import { runCli } from '../../src/cli-commands.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { tempDir } from '../helpers.js';

function io(env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { env, out: (l: string) => void out.push(l), err: (l: string) => void err.push(l) }, out, err };
}

t.test('CLI sim:pay and fdr:download on a demo data dir', async (t) => {
  const dir = tempDir(t);
  const env = { DATA_DIR: dir, LOG_LEVEL: 'silent' };
  const app = await buildApp(loadConfig(env), { logger: false, backgroundWorkers: false, demoPositions: true });
  const target = (await sqlGet(app.db, 
      `SELECT o.notice_number, e.fiscal_code, o.amount_cents FROM payment_options o JOIN positions p ON p.id = o.position_id JOIN enti e ON e.id = p.ente_id
       WHERE p.status = 'published' AND o.status = 'unpaid' AND o.kind = 'single' ORDER BY o.id LIMIT 1`,
    )) as { notice_number: string; fiscal_code: string; amount_cents: number };
  await app.close();

  const bad = io(env);
  t.equal(await runCli(['sim:pay', '--notice', '123'], bad.io), 2);
  t.match(bad.err.join('\n'), /sim:pay richiede/);

  const pay = io(env);
  t.equal(await runCli(['sim:pay', '--notice', target.notice_number, '--cf', target.fiscal_code, '--v2'], pay.io), 0, pay.err.join('\n'));
  t.match(pay.out[0], /^pagamento eseguito \(paGetPaymentV2\/paSendRTV2\)/);
  const h = openDatabase(loadConfig(env).databaseFile);
  t.teardown(() => h.close());
  const r = (await sqlGet(h.db, "SELECT r.processing, r.primitive FROM receipts r WHERE r.notice_number = ? AND r.id_pa = ?", target.notice_number, target.fiscal_code));
  t.match(r, { processing: 'applied', primitive: 'paSendRTV2' }, 'receipt stored through the station');

  const again = io(env);
  t.equal(await runCli(['sim:pay', '--notice', target.notice_number, '--cf', target.fiscal_code], again.io), 1);
  t.match(again.err.join('\n'), /PAA_PAGAMENTO_DUPLICATO/);

  const fdr = io(env);
  t.equal(await runCli(['fdr:download', '--ente', target.fiscal_code], fdr.io), 0, fdr.err.join('\n'));
  t.match(fdr.out[0], new RegExp(`^${target.fiscal_code}\\t.*: elencati [1-9]\\d*, nuovi [1-9]`));
  t.ok(((await sqlGet(h.db, 'SELECT count(*) n FROM fdr_flows')) as { n: number }).n >= 1);
  const rerun = io(env);
  t.equal(await runCli(['fdr:download', '--ente', target.fiscal_code], rerun.io), 0);
  t.match(rerun.out[0], /nuovi 0, già presenti [1-9]/);

  const unknown = io(env);
  t.equal(await runCli(['fdr:download', '--ente', '00000000000'], unknown.io), 1);
  t.match(unknown.err[0], /nessun ente aderente/);
});
