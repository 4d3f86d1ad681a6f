import t from 'tap';
import path from 'node:path';
import { openDatabase } from '../src/db/client.js';
import { demoUserFiscalCodes, seedDemoData } from '../src/modules/enti/demo-seed.js';
import { listEnti, listIbans, listServices } from '../src/modules/enti/repository.js';
import { isValidNumericFiscalCode, isValidPersonalFiscalCode } from '../src/domain/fiscal-code.js';
import { isValidIban } from '../src/domain/iban.js';
import { tempDir } from './helpers.js';

t.test('demo seed', async (t) => {
  const h = openDatabase(path.join(tempDir(t), 'db.sqlite'));
  t.teardown(() => h.close());
  t.equal(await seedDemoData(h.db), true);
  t.equal(await seedDemoData(h.db), false, 'idempotent: a seeded database is left alone');
  const all = await listEnti(h.db);
  t.equal(all.length, 85, 'the province and its 84 comuni');
  t.equal(all.filter((e) => e.kind === 'provincia').length, 1);
  t.ok(all.every((e) => e.isDemo), 'every seeded ente is marked as demo data');
  t.ok(all.every((e) => isValidNumericFiscalCode(e.fiscalCode)), 'fiscal codes of valid format');
  t.equal(new Set(all.map((e) => e.fiscalCode)).size, 85);
  const campobasso = all.find((e) => e.istatCode === '070006')!;
  t.match(campobasso, { name: 'Comune di Campobasso', cadastralCode: 'B519', population: 48747, ipaCode: 'c_b519' });
  const members = all.filter((e) => e.kind === 'comune' && e.member);
  t.ok(members.length >= 6);
  let postal = false;
  for (const m of members) {
    const ibans = await listIbans(h.db, m.id);
    if (ibans.some((i) => i.kind === 'postal')) postal = true;
    t.ok(ibans.length >= 1 && ibans.every((i) => isValidIban(i.iban)), `${m.name} has valid IBANs`);
    const services = await listServices(h.db, m.id);
    t.same(services.map((s) => s.code).sort(), ['CUP', 'DIRITTI', 'MENSA', 'SANZIONI', 'TARI']);
  }
  t.ok(postal, 'some have a postal account');
  const demoUsers = demoUserFiscalCodes();
  t.same(new Set(demoUsers.map((u) => u.role)), new Set(['operator', 'ente_admin', 'redazione', 'helpdesk', 'sael_admin']));
  t.ok(demoUsers.every((u) => isValidPersonalFiscalCode(u.fiscalCode)));
  const grants = h.sqlite.prepare('SELECT count(*) AS n FROM role_grants').get() as { n: number };
  t.equal(grants.n, demoUsers.length);
});
