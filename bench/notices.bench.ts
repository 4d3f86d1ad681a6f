/**
 * Notice PDFs: N notices through the real path (position → notice data → renderNoticePdf with QR
 * and fonts) on one thread vs a baseline drawing a comparable static page with pdfkit alone, in
 * the same run. Goals: ours ≥ 0.5 of the baseline's pages/s on one core; with the worker pool on
 * two cores ≥ 1.6× our own single-thread figure.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import { openDatabase } from '../src/db/client.js';
import { seedDemoData } from '../src/modules/enti/demo-seed.js';
import { listEnti } from '../src/modules/enti/repository.js';
import { createPosition, getPositionByIupd } from '../src/modules/positions/repository.js';
import { preparePositionWrite } from '../src/modules/positions/service.js';
import { noticeDataFor } from '../src/modules/positions/notice-data.js';
import { renderNoticePdf, type NoticeData } from '../src/modules/notices/notice-pdf.js';
import { NoticeRenderPool } from '../src/modules/notices/notice-pool.js';
import { fiscalCodeFor } from '../test/positions/csv-fixtures.js';
import { report, timeIt } from './lib.js';

const N = Number(process.env.BENCH_NOTICES ?? 1000);
const require = createRequire(import.meta.url);
const FONT = path.join(path.dirname(require.resolve('bootstrap-italia/package.json')), 'dist/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-regular.ttf');

/**
 * CPU the rest of the machine used while `fn` ran, in cores (Linux /proc; undefined elsewhere):
 * printed next to each figure, since another busy process on 2 cores spoils the pool figure.
 */
async function othersLoad<T>(fn: () => Promise<T>): Promise<{ value: T; others?: number }> {
  const busy = (): number | undefined => {
    try {
      const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      return f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!; // all but idle and iowait, in ticks
    } catch {
      return undefined;
    }
  };
  const mine = (): number | undefined => {
    try {
      const st = fs.readFileSync('/proc/self/stat', 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      return Number(f[11]) + Number(f[12]); // utime + stime of every thread, in ticks
    } catch {
      return undefined;
    }
  };
  const [b0, m0, t0] = [busy(), mine(), performance.now()];
  const value = await fn();
  const [b1, m1, t1] = [busy(), mine(), performance.now()];
  if (b0 === undefined || b1 === undefined || m0 === undefined || m1 === undefined) return { value };
  const TICK_MS = 10; // USER_HZ is 100 on Linux
  return { value, others: Math.max(0, ((b1 - b0 - (m1 - m0)) * TICK_MS) / (t1 - t0)) };
}

function staticPage(): Promise<Buffer> {
  return new Promise((resolve) => {
    const doc = new PDFDocument({ size: 'A4', margin: 28 });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.font(FONT).fontSize(18).text('AVVISO DI PAGAMENTO');
    doc.fontSize(11).text('Comune di Campobasso – TARI 2026 – Mario Rossi – RSSMRA85T10A562S');
    doc.rect(28, 200, 539, 120).stroke();
    doc.fontSize(24).text('300,00 €', 40, 220);
    doc.fontSize(10).text('Codice avviso 3012 0000 0000 0001 44', 40, 260);
    doc.end();
  });
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-bench-notices-'));
  const h = openDatabase(path.join(tmp, 'db.sqlite'));
  try {
    await seedDemoData(h.db);
    const ente = (await listEnti(h.db, { q: 'Campobasso', kind: 'comune' }))[0]!;
    const due = new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10);
    const notices: NoticeData[] = [];
    for (let i = 0; i < N; i++) {
      const prep = await preparePositionWrite(h.db, ente, {
              serviceCode: 'TARI',
              iupd: `N-${i}`,
              debtor: { type: 'F', fiscalCode: fiscalCodeFor(i), fullName: `Cittadino ${i}`, streetName: 'Via Roma', civicNumber: '1', postalCode: '86100', city: 'Campobasso', province: 'CB' },
              description: 'TARI 2026 – tassa sui rifiuti',
              paymentOptions: [{ amountCents: 30000 + i, dueDate: due, transfers: [{ amountCents: 30000 + i, remittanceInformation: 'TARI 2026', taxonomyCode: '9/0101108TS/' }] }],
            });
      if (!prep.ok) throw new Error(JSON.stringify(prep.errors));
      await createPosition(h.db, ente, prep.service, prep.write, { publish: true }, { actor: 'bench' });
      notices.push(await noticeDataFor(h.db, ente, (await getPositionByIupd(h.db, ente.id, `N-${i}`))!));
    }
    const samplePdf = await renderNoticePdf(notices[0]!); // warm up fonts and code
    const basePdf = await staticPage();

    const { value: base, others: othersBase } = await othersLoad(() =>
      timeIt(async () => {
        for (let i = 0; i < N; i++) await staticPage();
      }),
    );
    const { value: single, others: othersSingle } = await othersLoad(() =>
      timeIt(async () => {
        for (const n of notices) await renderNoticePdf(n);
      }),
    );
    const perSec = (ms: number) => (N * 1000) / ms;
    report({ name: `notices ${N} PDFs, one thread`, ours: perSec(single.ms), baseline: perSec(base.ms), unit: 'pages/s', better: 'higher', goal: { atLeast: 0.5 } });
    const postal = notices[0]!.postalAccount ? 'with' : 'without';
    console.log(`  detail: our notice ${(samplePdf.length / 1024).toFixed(1)} kB (${postal} Bollettino Postale PA), baseline page ${(basePdf.length / 1024).toFixed(1)} kB`);
    const busy = (others?: number) => (others === undefined ? 'unknown' : `${others.toFixed(2)} cores`);
    console.log(`  detail: other processes used ${busy(othersBase)} during the baseline, ${busy(othersSingle)} during ours`);

    const poolStart = performance.now();
    const pool = new NoticeRenderPool(2);
    await Promise.all([pool.render(notices[0]!), pool.render(notices[1]!)]); // start the workers
    console.log(`  detail: pool of 2 started and warm in ${(performance.now() - poolStart).toFixed(0)} ms (not timed)`);
    const { value: pooled, others: othersPool } = await othersLoad(() =>
      timeIt(async () => {
        const inFlight = new Set<Promise<unknown>>();
        for (const n of notices) {
          const p: Promise<unknown> = pool.render(n).then(() => inFlight.delete(p));
          inFlight.add(p);
          if (inFlight.size >= 4) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
      }),
    );
    await pool.close();
    report({ name: `notices ${N} PDFs, pool of 2 workers vs our one thread`, ours: perSec(pooled.ms), baseline: perSec(single.ms), unit: 'pages/s', better: 'higher', goal: { atLeast: 1.6 }, extra: `${os.availableParallelism()} cores` });
    console.log(`  detail: other processes used ${busy(othersPool)} during the pool run`);
  } finally {
    h.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
