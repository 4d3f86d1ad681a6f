/**
 * Bulk printing as a background job: every printable notice of the positions matching a filter,
 * rendered by the worker pool, written into one ZIP of PDFs named `<debtorCF>_<notice>.pdf`.
 *
 * The main thread only reads the database and writes the ZIP; the workers render. The positions
 * are read once, page by page, into their notice data (small), which also gives the total for the
 * progress bar; the ente's own data (postal account) is read once for the whole job. PDFs are
 * already compressed, so the ZIP stores them (no deflate on the main thread), streamed to disk.
 * yazl is loaded by the first job that writes a ZIP (lazy-packages.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../../db/client.js';
import { loadYazl } from '../../lazy-packages.js';
import type { JobContext, JobRunner } from '../../plugins/jobs/runner.js';
import { getEnte } from '../enti/repository.js';
import { isPrintable, noticeDataBuilder } from './notice-data.js';
import type { NoticeData } from '../notices/notice-pdf.js';
import { DEFAULT_WARMUP, NoticeRenderPool } from '../notices/notice-pool.js';
import { positionsNewestFirst, type PositionDetail, type PositionFilter } from './repository.js';

export const BULK_PRINT_JOB = 'notices-bulk-print';

export type BulkPrintFilter = Omit<PositionFilter, 'enteIds' | 'page' | 'pageSize' | 'beforeId'>;

/** Why a position of the filter has no notice in the ZIP. */
export type SkipReason = 'paid' | 'cancelled' | 'draft' | 'nothing_to_pay';

/** Italian explanation of each reason, for the page and the message. */
export const SKIP_REASONS: Record<SkipReason, { one: string; many: string; why: string }> = {
  paid: { one: 'pagata', many: 'pagate', why: 'già pagata: non c’è più nulla da pagare, il cittadino ha la ricevuta' },
  cancelled: { one: 'annullata', many: 'annullate', why: 'annullata: non è più pagabile' },
  draft: { one: 'in bozza', many: 'in bozza', why: 'in bozza: va pubblicata prima di stampare l’avviso' },
  nothing_to_pay: { one: 'senza opzioni da pagare', many: 'senza opzioni da pagare', why: 'tutte le sue opzioni sono pagate o annullate' },
};

/** Skipped positions listed by name in the result (the counts cover them all). */
export const SKIPPED_LISTED = 20;

export interface BulkPrintResult {
  notices: number;
  file: string | null;
  message: string;
  /** Positions of the filter left out, by reason (absent in results stored before it existed). */
  skipped?: Partial<Record<SkipReason, number>>;
  /** The first {@link SKIPPED_LISTED} of them. */
  skippedList?: { id: number; iupd: string; debtorName: string; reason: SkipReason }[];
  /** Options already paid of printed positions (installments paid: the notice shows the others). */
  paidOptionsLeftOut?: number;
}

const PAGE = 200;

/** Why a position has nothing to print, or null when it has. */
export function skipReason(p: PositionDetail): SkipReason | null {
  if (p.options.some((o) => isPrintable(p, o))) return null;
  if (p.status === 'paid' || p.status === 'cancelled' || p.status === 'draft') return p.status;
  return 'nothing_to_pay';
}

/** "Non stampate 3 posizioni: 2 pagate, 1 annullata." (empty when none). */
export function skippedSentence(skipped: Partial<Record<SkipReason, number>>): string {
  const parts = (Object.keys(SKIP_REASONS) as SkipReason[]).filter((r) => skipped[r]).map((r) => `${skipped[r]} ${skipped[r] === 1 ? SKIP_REASONS[r].one : SKIP_REASONS[r].many}`);
  const total = Object.values(skipped).reduce((s, n) => s + (n ?? 0), 0);
  if (total === 0) return '';
  return `${total === 1 ? 'Non stampata 1 posizione' : `Non stampate ${total} posizioni`}: ${parts.join(', ')}.`;
}

/** Below this many notices a job does not wait for the workers to warm up first. */
const WARMUP_FROM = 200;

export function registerBulkPrintJob(runner: JobRunner, db: Db, dataDir: string, poolSize: number): void {
  runner.register(BULK_PRINT_JOB, async (ctx: JobContext) => {
    const enteId = ctx.job.enteId!;
    const ente = (await getEnte(db, enteId))!;
    const filter = (ctx.input.filter ?? {}) as BulkPrintFilter;
    const build = await noticeDataBuilder(db, ente, { dataDir });
    const items: { data: NoticeData; name: string }[] = [];
    const skipped: Partial<Record<SkipReason, number>> = {};
    const skippedList: NonNullable<BulkPrintResult['skippedList']> = [];
    let paidOptionsLeftOut = 0;
    for await (const position of positionsNewestFirst(db, { ...filter, enteIds: [enteId] }, PAGE)) {
      const reason = skipReason(position);
      if (reason) {
        skipped[reason] = (skipped[reason] ?? 0) + 1;
        if (skippedList.length < SKIPPED_LISTED) skippedList.push({ id: position.id, iupd: position.iupd, debtorName: position.debtorName, reason });
        continue;
      }
      paidOptionsLeftOut += position.options.filter((o) => o.status === 'paid').length;
      const data = build(position);
      const nav = data.singlePayment?.noticeNumber ?? data.installments![0]!.noticeNumber;
      items.push({ data, name: `${position.debtorFiscalCode}_${nav}.pdf` });
    }
    const total = items.length;
    ctx.progress(0, total, true);
    const report = { skipped, skippedList, paidOptionsLeftOut };
    const skippedText = skippedSentence(skipped);
    if (total === 0) {
      return { notices: 0, file: null, message: `Nessun avviso da stampare con questi filtri.${skippedText ? ` ${skippedText}` : ''}`, ...report } satisfies BulkPrintResult;
    }

    const dir = path.join(dataDir, 'exports');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join('exports', `avvisi-${ente.fiscalCode}-${ctx.job.id}.zip`);
    const yazl = await loadYazl();
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
    return { notices: done, file, message: `${done === 1 ? 'Pronto 1 avviso' : `Pronti ${done} avvisi`}.${skippedText ? ` ${skippedText}` : ''}`, ...report } satisfies BulkPrintResult;
  });
}
