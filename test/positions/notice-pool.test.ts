/**
 * The worker pool that renders notice PDFs for bulk printing: same bytes as rendering in-process,
 * errors carried back with their field, batches spread over the workers, warm-up before work.
 */
import t from 'tap';
import { NoticeDataError, renderNoticePdf, type NoticeData } from '../../src/modules/notices/notice-pdf.js';
import { NoticeRenderPool } from '../../src/modules/notices/notice-pool.js';

function nav(sequence: number): string {
  const prefix = `301${String(sequence).padStart(13, '0')}`;
  return prefix + (BigInt(prefix) % 93n).toString().padStart(2, '0');
}

function notice(i: number): NoticeData {
  return {
    creditor: { name: 'Comune di Campobasso', fiscalCode: '00071560700', info: 'www.comune.campobasso.it' },
    debtor: { fullName: `Cittadino ${i}`, fiscalCode: 'RSSMRA80A01B519X', address: 'Via Roma', buildingNumber: String(i), postalCode: '86100', city: 'Campobasso', province: 'CB' },
    subject: 'TARI 2026 – tassa sui rifiuti',
    singlePayment: { noticeNumber: nav(2026000000000 + i), amountCents: 30000 + i, dueDate: '2026-12-31' },
    postalAccount: i % 2 ? { accountNumber: '1234567', holderName: 'Comune di Campobasso', authorization: 'AUT. DB/… da richiedere a Poste Italiane' } : undefined,
  };
}

const AT = '2026-01-15T10:00:00Z';

t.test('worker pool: warm workers, same PDFs as in-process, errors with their field', async (t) => {
  const pool = new NoticeRenderPool(2, { warmup: 2 });
  t.teardown(() => pool.close());
  t.equal(pool.size, 2);
  await pool.ready();

  const notices = Array.from({ length: 13 }, (_, i) => notice(i));
  const pdfs = await Promise.all(notices.map((n) => pool.render(n, AT)));
  for (const [i, pdf] of pdfs.entries()) {
    t.ok(Buffer.isBuffer(pdf), `notice ${i}: a Buffer`);
    t.ok(pdf.equals(await renderNoticePdf(notices[i]!, { generatedAt: AT })), `notice ${i}: same bytes as rendered in-process`);
  }

  const bad = pool.render({ ...notice(1), subject: '' }, AT);
  await t.rejects(bad, { name: 'NoticeDataError', field: 'subject' });
  t.ok((await bad.catch((e: unknown) => e)) instanceof NoticeDataError, 'a NoticeDataError again on this side');
  t.ok((await pool.render(notice(20), AT)).equals(await renderNoticePdf(notice(20), { generatedAt: AT })), 'the worker goes on after an error');

  await pool.close();
  await t.rejects(pool.render(notice(1), AT), /closed/);
});

t.test('a pool of size 0 renders in-process', async (t) => {
  const pool = new NoticeRenderPool(0);
  await pool.ready();
  t.equal(pool.size, 0);
  t.ok((await pool.render(notice(3), AT)).equals(await renderNoticePdf(notice(3), { generatedAt: AT })));
  await pool.close();
});

t.test('render calls made before the workers are warm wait for them', async (t) => {
  const pool = new NoticeRenderPool(1, { warmup: 3 });
  t.teardown(() => pool.close());
  const pdf = await pool.render(notice(5), AT);
  t.ok(pdf.equals(await renderNoticePdf(notice(5), { generatedAt: AT })));
});
