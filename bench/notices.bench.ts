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
import { renderNoticePdf, type NoticeData } from '../src/modules/positions/notice-pdf.js';
import { NoticeRenderPool } from '../src/modules/positions/notice-pool.js';
import { fiscalCodeFor } from '../test/positions/csv-fixtures.js';
import { report, timeIt } from './lib.js';

const N = Number(process.env.BENCH_NOTICES ?? 1000);
const require = createRequire(import.meta.url);
const FONT = path.join(path.dirname(require.resolve('bootstrap-italia/package.json')), 'dist/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-regular.ttf');

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
    seedDemoData(h.db);
    const ente = listEnti(h.db, { q: 'Campobasso', kind: 'comune' })[0]!;
    const due = new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10);
    const notices: NoticeData[] = [];
    for (let i = 0; i < N; i++) {
      const prep = preparePositionWrite(h.db, ente, {
        serviceCode: 'TARI',
        iupd: `N-${i}`,
        debtor: { type: 'F', fiscalCode: fiscalCodeFor(i), fullName: `Cittadino ${i}`, streetName: 'Via Roma', civicNumber: '1', postalCode: '86100', city: 'Campobasso', province: 'CB' },
        description: 'TARI 2026 – tassa sui rifiuti',
        paymentOptions: [{ amountCents: 30000 + i, dueDate: due, transfers: [{ amountCents: 30000 + i, remittanceInformation: 'TARI 2026', taxonomyCode: '9/0101108TS/' }] }],
      });
      if (!prep.ok) throw new Error(JSON.stringify(prep.errors));
      createPosition(h.db, ente, prep.service, prep.write, { publish: true }, { actor: 'bench' });
      notices.push(noticeDataFor(h.db, ente, getPositionByIupd(h.db, ente.id, `N-${i}`)!));
    }
    await renderNoticePdf(notices[0]!); // warm up fonts and code
    await staticPage();

    const base = await timeIt(async () => {
      for (let i = 0; i < N; i++) await staticPage();
    });
    const single = await timeIt(async () => {
      for (const n of notices) await renderNoticePdf(n);
    });
    const perSec = (ms: number) => (N * 1000) / ms;
    report({ name: `notices ${N} PDFs, one thread`, ours: perSec(single.ms), baseline: perSec(base.ms), unit: 'pages/s', better: 'higher', goal: { atLeast: 0.5 } });

    const pool = new NoticeRenderPool(2);
    await Promise.all([pool.render(notices[0]!), pool.render(notices[1]!)]); // start the workers
    const pooled = await timeIt(async () => {
      const inFlight = new Set<Promise<unknown>>();
      for (const n of notices) {
        const p: Promise<unknown> = pool.render(n).then(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= 4) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    });
    await pool.close();
    report({ name: `notices ${N} PDFs, pool of 2 workers vs our one thread`, ours: perSec(pooled.ms), baseline: perSec(single.ms), unit: 'pages/s', better: 'higher', goal: { atLeast: 1.6 }, extra: `${os.availableParallelism()} cores` });
  } finally {
    h.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
