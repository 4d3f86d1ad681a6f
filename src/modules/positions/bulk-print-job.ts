/**
 * Bulk printing as a background job: every printable notice of the positions matching a filter,
 * rendered by the worker pool, written into one ZIP of PDFs named `<debtorCF>_<notice>.pdf`.
 *
 * The main thread only reads the database and writes the ZIP; the workers render. The positions
 * are read once, page by page, into their notice data (small), which also gives the total for the
 * progress bar; the ente's own data (postal account) is read once for the whole job. PDFs are
 * already compressed, so the ZIP stores them (no deflate on the main thread), streamed to disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import yazl from 'yazl';
import type { Db } from '../../db/client.js';
import type { JobContext, JobRunner } from '../../plugins/jobs/runner.js';
import { getEnte } from '../enti/repository.js';
import { isPrintable, noticeDataBuilder } from './notice-data.js';
import type { NoticeData } from '../notices/notice-pdf.js';
import { DEFAULT_WARMUP, NoticeRenderPool } from '../notices/notice-pool.js';
import { positionsNewestFirst, type PositionDetail, type PositionFilter } from './repository.js';

export const BULK_PRINT_JOB = 'notices-bulk-print';

export type BulkPrintFilter = Omit<PositionFilter, 'enteIds' | 'page' | 'pageSize' | 'beforeId'>;

export interface BulkPrintResult {
  notices: number;
  file: string | null;
  message: string;
}

const PAGE = 200;

/** Positions of the ente matching the filter that have something to print. */
function* printablePositions(db: Db, enteId: number, filter: BulkPrintFilter): Generator<PositionDetail> {
  for (const p of positionsNewestFirst(db, { ...filter, enteIds: [enteId] }, PAGE)) if (p.options.some((o) => isPrintable(p, o))) yield p;
}

export function countPrintable(db: Db, enteId: number, filter: BulkPrintFilter): number {
  let n = 0;
  for (const _ of printablePositions(db, enteId, filter)) n++;
  return n;
}

/** Below this many notices a job does not wait for the workers to warm up first. */
const WARMUP_FROM = 200;

export function registerBulkPrintJob(runner: JobRunner, db: Db, dataDir: string, poolSize: number): void {
  runner.register(BULK_PRINT_JOB, async (ctx: JobContext) => {
    const enteId = ctx.job.enteId!;
    const ente = getEnte(db, enteId)!;
    const filter = (ctx.input.filter ?? {}) as BulkPrintFilter;
    const build = noticeDataBuilder(db, ente, { dataDir });
    const items: { data: NoticeData; name: string }[] = [];
    for (const position of printablePositions(db, enteId, filter)) {
      const data = build(position);
      const nav = data.singlePayment?.noticeNumber ?? data.installments![0]!.noticeNumber;
      items.push({ data, name: `${position.debtorFiscalCode}_${nav}.pdf` });
    }
    const total = items.length;
    ctx.progress(0, total, true);
    if (total === 0) return { notices: 0, file: null, message: 'Nessun avviso da stampare con questi filtri.' } satisfies BulkPrintResult;

    const dir = path.join(dataDir, 'exports');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join('exports', `avvisi-${ente.fiscalCode}-${ctx.job.id}.zip`);
    const zip = new yazl.ZipFile();
    const out = fs.createWriteStream(path.join(dataDir, file), { mode: 0o600 });
    const written = new Promise<void>((resolve, reject) => {
      out.on('close', resolve);
      out.on('error', reject);
    });
    zip.outputStream.pipe(out);

    const pool = new NoticeRenderPool(poolSize, { warmup: total >= WARMUP_FROM ? DEFAULT_WARMUP : 0 });
    const maxInFlight = Math.max(4, pool.size * 8);
    const inFlight = new Set<Promise<void>>();
    let done = 0;
    try {
      // Taken off the list one by one, so the notice data can go once its PDF is in the ZIP.
      items.reverse();
      for (let item = items.pop(); item; item = items.pop()) {
        const { data, name } = item;
        const task = pool.render(data).then((pdf) => {
          zip.addBuffer(pdf, name, { compress: false });
          done++;
          ctx.progress(done, total);
        });
        inFlight.add(task);
        task.then(() => inFlight.delete(task), () => inFlight.delete(task));
        if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    } catch (err) {
      await pool.close();
      zip.end();
      await written.catch(() => {});
      fs.rmSync(path.join(dataDir, file), { force: true });
      throw err;
    } finally {
      await pool.close();
    }
    zip.end();
    await written;
    ctx.progress(done, total, true);
    return { notices: done, file, message: `Pronti ${done} avvisi.` } satisfies BulkPrintResult;
  });
}
