import path from 'node:path';
import { sqlAll } from '../../src/db/raw.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { openDatabase } from '../../src/db/client.js';
import { seedDemoData } from '../../src/modules/enti/demo-seed.js';
import { getServiceByCode, listEnti } from '../../src/modules/enti/repository.js';
import { cancelPosition, createPosition, expirePositions, getPositionByIupd } from '../../src/modules/positions/repository.js';
import { isValidIuv } from '../../src/modules/positions/numbers.js';
import { preparePositionWrite } from '../../src/modules/positions/service.js';
import { nodeArgs, tempDir } from '../helpers.js';
import { inDays } from './fixtures.js';

async function setup(t: { teardown(fn: () => unknown): void }) {
  const file = path.join(tempDir(t), 'db.sqlite');
  const h = openDatabase(file);
  await seedDemoData(h.db);
  const ente = (await listEnti(h.db, { q: 'Riccia' }))[0]!;
  const prepared = await preparePositionWrite(h.db, ente, {
      serviceCode: 'MENSA',
      debtor: { type: 'F', fiscalCode: 'RSSMRA85T10A562S', fullName: 'Mario Rossi' },
      description: 'Mensa scolastica novembre',
      paymentOptions: [{ amountCents: 4500, dueDate: inDays(20), transfers: [{ amountCents: 4500, remittanceInformation: 'Mensa', taxonomyCode: '9/0201133IM/' }] }],
    });
  if (!prepared.ok) throw new Error(JSON.stringify(prepared.errors));
  return { file, h, ente, write: prepared.write, service: prepared.service };
}

t.test('IUVs are unique under concurrent creation from several processes, and across restarts', async (t) => {
  const { file, h, ente, write } = await setup(t);
  h.close();
  // Three separate processes, like three app instances on one database file.
  const worker = fileURLToPath(new URL('./iuv-worker.ts', import.meta.url));
  const runWorker = (tag: string) =>
    new Promise<void>((resolve, reject) => {
      const args = [...nodeArgs(worker), JSON.stringify({ file, enteId: ente.id, count: 60, tag, value: write.value })];
      execFile(process.execPath, args, (err, _stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve()));
    });
  await Promise.all([runWorker('A'), runWorker('B'), runWorker('C')]);
  const again = openDatabase(file); // a restart: new connection, same file
  t.teardown(() => again.close());
  const service = (await getServiceByCode(again.db, ente.id, 'MENSA'))!;
  await createPosition(again.db, ente, service, { value: { ...write.value, iupd: 'AFTER-RESTART' }, switchToExpired: false }, { publish: true }, { actor: 'test' });
  const iuvs = ((await sqlAll(again.db, 'SELECT iuv FROM payment_options WHERE ente_id = ? ORDER BY id', ente.id)) as { iuv: string }[]).map((r) => r.iuv);
  t.equal(iuvs.length, 181);
  t.equal(new Set(iuvs).size, 181, 'no IUV twice');
  t.ok(iuvs.every(isValidIuv), 'all with valid check digits');
  const bases = iuvs.map((i) => Number(i.slice(2, 15))).sort((a, b) => a - b);
  t.same(bases, Array.from({ length: 181 }, (_, i) => i + 1), 'a gap-free sequence');
});

t.test('IUVs of cancelled positions are never reused', async (t) => {
  const { h, ente, write, service } = await setup(t);
  t.teardown(() => h.close());
  const first = await createPosition(h.db, ente, service, { value: { ...write.value, iupd: 'P1' }, switchToExpired: false }, { publish: true }, { actor: 'test' });
  await cancelPosition(h.db, ente.id, 'P1', { actor: 'test' });
  const second = await createPosition(h.db, ente, service, { value: { ...write.value, iupd: 'P2' }, switchToExpired: false }, { publish: true }, { actor: 'test' });
  t.not(second.position.options[0]!.iuv, first.position.options[0]!.iuv);
  t.equal((await getPositionByIupd(h.db, ente.id, 'P1'))!.options[0]!.status, 'cancelled', 'history kept');
});

t.test('expiry only for positions that switch to expired', async (t) => {
  const { h, ente, write, service } = await setup(t);
  t.teardown(() => h.close());
  await createPosition(h.db, ente, service, { value: { ...write.value, iupd: 'E1' }, switchToExpired: true }, { publish: true }, { actor: 'test' });
  await createPosition(h.db, ente, service, { value: { ...write.value, iupd: 'E2' }, switchToExpired: false }, { publish: true }, { actor: 'test' });
  t.equal(await expirePositions(h.db, inDays(0), { actor: 'test' }), 0, 'not yet due');
  t.equal(await expirePositions(h.db, inDays(60), { actor: 'test' }), 1);
  t.equal((await getPositionByIupd(h.db, ente.id, 'E1'))!.status, 'expired');
  t.equal((await getPositionByIupd(h.db, ente.id, 'E2'))!.status, 'published', 'still payable after the due date');
});
