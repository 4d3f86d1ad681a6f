/**
 * Migration 0010 on a database created before it: demo databases get the demo address and
 * telephone of the six member comuni and of the province (only rows flagged is_demo with none
 * yet), and from then on every IBAN insert, update and delete moves the catalogue counter the
 * public pages' cached lists are keyed on.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { MIGRATIONS_FOLDER, openDatabase } from '../src/db/client.js';
import { seedDemoData } from '../src/modules/enti/demo-seed.js';
import { catalogueVersion } from '../src/modules/portal/catalogue-cache.js';
import { tempDir } from './helpers.js';

t.test('0010 on a demo database seeded before it', async (t) => {
  const dir = tempDir(t);
  // The migrations as they were before 0010.
  const before = path.join(dir, 'migrations');
  fs.cpSync(MIGRATIONS_FOLDER, before, { recursive: true });
  const journalFile = path.join(before, 'meta', '_journal.json');
  const journal = JSON.parse(fs.readFileSync(journalFile, 'utf8')) as { entries: { idx: number; tag: string }[] };
  journal.entries = journal.entries.filter((e) => e.tag < '0010');
  fs.writeFileSync(journalFile, JSON.stringify(journal));
  fs.rmSync(path.join(before, '0010_portal_members_contacts.sql'));

  const file = path.join(dir, 'old.db');
  const old = openDatabase(file, before);
  // Today's seed also writes columns that later migrations added: they exist only while it runs,
  // so that 0010 and the migrations after it find the tables as they were.
  const later = [['payment_services', 'psp_service_id', 'text']] as const;
  for (const [table, column, type] of later) old.sqlite.exec(`ALTER TABLE ${table} ADD ${column} ${type}`);
  await seedDemoData(old.db);
  for (const [table, column] of later) old.sqlite.exec(`ALTER TABLE ${table} DROP COLUMN ${column}`);
  // As the seed left them then: no telephone anywhere, no address for the comuni.
  old.sqlite.prepare("UPDATE enti SET phone = NULL, address = CASE WHEN kind = 'provincia' THEN address ELSE NULL END").run();
  // A real ente, and a demo one whose address an admin already typed: neither is touched.
  old.sqlite.prepare("UPDATE enti SET is_demo = 0 WHERE istat_code = '070078'").run();
  old.sqlite.prepare("UPDATE enti SET address = 'Corso Nazionale 1, 86035 Larino' WHERE istat_code = '070031'").run();
  const ibanBefore = await catalogueVersion(old.db);
  old.sqlite.prepare('UPDATE ente_ibans SET active = 0 WHERE id = 1').run();
  t.equal(await catalogueVersion(old.db), ibanBefore, 'before 0010 an IBAN change did not move the counter');
  old.close();

  const h = openDatabase(file);
  t.teardown(() => h.close());
  const ente = (istat: string) => h.sqlite.prepare('SELECT address, phone FROM enti WHERE istat_code = ?').get(istat) as { address: string | null; phone: string | null };
  t.same(ente('070006'), { address: 'Piazza del Municipio 1, 86100 Campobasso', phone: '0874 000 001' });
  t.same(ente('070081'), { address: 'Piazza del Municipio 1, 86029 Trivento', phone: '0874 000 006' });
  t.same(ente('070078'), { address: null, phone: null }, 'not a demo ente: untouched');
  t.same(ente('070031'), { address: 'Corso Nazionale 1, 86035 Larino', phone: null }, 'an address already there is kept');
  t.same(ente('070001'), { address: null, phone: null }, 'non-member comuni get nothing');
  t.equal((h.sqlite.prepare("SELECT phone FROM enti WHERE kind = 'provincia'").get() as { phone: string }).phone, '0874 000 000');

  for (const sql of [
    "INSERT INTO ente_ibans (ente_id, iban, kind, label) VALUES (1, 'IT60X0542811101000000123456', 'bank', 'Prova')",
    "UPDATE ente_ibans SET active = 1 WHERE id = 1",
    "DELETE FROM ente_ibans WHERE label = 'Prova'",
  ]) {
    const v = await catalogueVersion(h.db);
    h.sqlite.prepare(sql).run();
    t.equal(await catalogueVersion(h.db), v + 1, sql.split(' ')[0]!);
  }
});
