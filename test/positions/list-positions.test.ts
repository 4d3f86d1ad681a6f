/**
 * The operators' list of positions (listPositions, pages) and the chunked walk of the CSV export and
 * bulk printing (listPositionsChunk) on 1 200 positions: the same positions, each once, newest
 * first; every filter gives what a plain scan of the data gives.
 */
import path from 'node:path';
import t from 'tap';
import { openDatabase } from '../../src/db/client.js';
import { seedDemoData } from '../../src/modules/enti/demo-seed.js';
import { listEnti } from '../../src/modules/enti/repository.js';
import { type BulkPosition, createPositionsInTx, listPositions, listPositionsChunk, type PositionDetail, type PositionFilter } from '../../src/modules/positions/repository.js';
import { preparePositionWrite } from '../../src/modules/positions/service.js';
import { tempDir } from '../helpers.js';
import { inDays } from './fixtures.js';

const DEBTORS = [
  { type: 'F', fiscalCode: 'RSSMRA85T10A562S', fullName: 'Mario Rossi' },
  { type: 'F', fiscalCode: 'FRRLCU88E52B519A', fullName: 'Lucia Ferrante' },
  { type: 'G', fiscalCode: '00071560700', fullName: 'Ditta Rossetti Srl' },
] as const;

t.test('list filters and the chunked walk', async (t) => {
  const h = openDatabase(path.join(tempDir(t), 'db.sqlite'));
  t.teardown(() => h.close());
  await seedDemoData(h.db);
  const ente = (await listEnti(h.db, { q: 'Campobasso', kind: 'comune' }))[0]!;
  const items: BulkPosition[] = [];
  for (let i = 0; i < 1200; i++) {
    const prepared = await preparePositionWrite(h.db, ente, {
          iupd: `LIST-${i}`,
          serviceCode: i % 2 ? 'MENSA' : 'TARI',
          debtor: DEBTORS[i % 3]!,
          description: `Posizione ${i}`,
          paymentOptions: [{ amountCents: 1000 + i, dueDate: inDays(10 + (i % 50)), transfers: [{ amountCents: 1000 + i, remittanceInformation: 'Prova', taxonomyCode: '9/0201133IM/' }] }],
        });
    if (!prepared.ok) throw new Error(JSON.stringify(prepared.errors));
    items.push({ service: prepared.service, write: prepared.write });
  }
  await h.db.transaction(async (tx) => await createPositionsInTx(tx, ente, items, { publish: true }, { actor: 'test' }), { behavior: 'immediate' });

  const all = await listPositions(h.db, { enteIds: [ente.id], page: 1, pageSize: 5000 });
  t.equal(all.total, 1200);
  const ids = all.items.map((p) => p.id);
  t.same(ids, [...ids].sort((a, b) => b - a), 'newest first');

  const walk = async (f: Omit<PositionFilter, 'page' | 'pageSize'>, limit: number) => {
    const out: PositionDetail[] = [];
    for (let beforeId: number | undefined; ; ) {
      const chunk = await listPositionsChunk(h.db, { ...f, beforeId }, limit);
      out.push(...chunk);
      if (chunk.length < limit) return out;
      beforeId = chunk[chunk.length - 1]!.id;
    }
  };
  t.same((await walk({ enteIds: [ente.id] }, 500)).map((p) => p.id), ids, 'chunks of 500: every position once, in order');
  t.same((await walk({ enteIds: [ente.id] }, 7)).map((p) => p.id), ids, 'chunks of 7');
  t.same((await walk({ enteIds: [ente.id] }, 1200)).map((p) => p.id), ids, 'a chunk as big as the list');

  const pages: number[] = [];
  for (let page = 1; page <= 49; page++) pages.push(...(await listPositions(h.db, { enteIds: [ente.id], page, pageSize: 25 })).items.map((p) => p.id));
  t.same(pages, ids, 'pages of 25 cover the list once');

  const check = async (name: string, f: Omit<PositionFilter, 'enteIds' | 'page' | 'pageSize'>, expected: (p: PositionDetail) => boolean) => {
    const want = all.items.filter(expected).map((p) => p.id);
    t.ok(want.length > 0 && want.length < 1200, `${name}: the data has matches and non-matches`);
    const got = await listPositions(h.db, { ...f, enteIds: [ente.id], page: 1, pageSize: 5000 });
    t.same(got.items.map((p) => p.id), want, `${name}: list`);
    t.equal(got.total, want.length, `${name}: total`);
    t.same((await walk({ ...f, enteIds: [ente.id] }, 100)).map((p) => p.id), want, `${name}: chunked walk`);
  };
  const target = all.items[321]!;
  const notice = target.options[0]!.noticeNumber;
  await check('whole notice number', { notice }, (p) => p.id === target.id);
  await check('whole notice number with spaces', { notice: notice.replace(/(\d{4})/g, '$1 ') }, (p) => p.id === target.id);
  await check('part of a notice number or IUV', { notice: notice.slice(-5, -1) }, (p) => p.options.some((o) => o.noticeNumber.includes(notice.slice(-5, -1)) || o.iuv.includes(notice.slice(-5, -1))));
  await check('debtor fiscal code', { debtor: 'frrlcu88e52b519a' }, (p) => p.debtorFiscalCode === 'FRRLCU88E52B519A');
  await check('partita IVA', { debtor: '00071560700' }, (p) => p.debtorFiscalCode === '00071560700');
  await check('part of the name', { debtor: 'ross' }, (p) => /ross/i.test(p.debtorName));
  const from = inDays(30);
  const to = inDays(40);
  await check('due date range', { dueFrom: from, dueTo: to }, (p) => p.options.some((o) => o.dueDate >= from && o.dueDate <= to));
  await check('due date range and debtor', { dueFrom: from, dueTo: to, debtor: 'RSSMRA85T10A562S' }, (p) => p.debtorFiscalCode === 'RSSMRA85T10A562S' && p.options.some((o) => o.dueDate >= from && o.dueDate <= to));
  const other = (await listEnti(h.db, { q: 'Termoli', kind: 'comune' }))[0]!;
  t.equal((await listPositions(h.db, { enteIds: [other.id], notice, page: 1, pageSize: 25 })).total, 0, 'another ente sees none of them');
  t.same(await listPositionsChunk(h.db, { enteIds: [other.id] }, 100), []);
});
