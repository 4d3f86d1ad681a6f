/**
 * CSV bulk import of positions as a background job. The uploaded file is stored first, then read
 * twice as a stream: pass 1 validates every row (report of every bad row), pass 2 creates the
 * positions in batched transactions (a crash never leaves half a position). Rows without iupd get
 * one derived from the file hash and row number, so rerunning the same file creates nothing twice.
 * Modes: `valid` imports the valid positions, `all` imports nothing unless every row is valid.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { HttpError } from '../../plugins/errors.js';
import { jobs } from '../../plugins/jobs/schema.js';
import type { JobContext, JobRow, JobRunner } from '../../plugins/jobs/runner.js';
import { getEnte, listIbans, listServices, type PaymentService } from '../enti/repository.js';
import { errorReportToCsv, parsePositionsCsv, type CsvPosition, type CsvRowError } from './csv-layout.js';
import { createPositionsInTx, type BulkPosition } from './repository.js';
import { registeredIbanChecker, todayInItaly } from './service.js';

export const IMPORT_JOB = 'positions-csv-import';
export const IMPORT_MODES = ['valid', 'all'] as const;
export type ImportMode = (typeof IMPORT_MODES)[number];

/**
 * Positions created per transaction. Fewer, bigger transactions mean fewer commits (each commit
 * appends the pages it touched to the WAL), but a batch also stays alive in memory until it is
 * written: past a few hundred positions it outlives the young-generation collections, gets
 * promoted and the heap grows (2 000: ~100 MB more peak RSS on a 400 000-row file, and slower).
 */
export const IMPORT_BATCH_SIZE = 500;
/** Errors shown on the page / in the JSON status; the downloadable report has them all. */
const ERRORS_IN_RESULT = 50;

export interface ImportInput {
  file: string;
  sha256: string;
  originalName: string;
  mode: ImportMode;
  serviceCode: string | null;
  maxRows: number;
}

export interface ImportResult {
  outcome: 'refused' | 'rejected' | 'imported';
  phase: 'done';
  rowCount: number;
  validRows: number;
  created: number;
  unchanged: number;
  /** Errors found (a row may have several). */
  errorCount: number;
  /** Distinct rows of the file with at least one error (absent in results stored before it existed). */
  errorRows?: number;
  /** Data rows whose position was not imported: their own errors, or an error on another row of the same position. */
  rowsNotImported?: number;
  errors: CsvRowError[];
  /** File (under DATA_DIR) with the full error report as CSV, when there are errors. */
  reportFile: string | null;
  message: string;
}

/** Streams an upload into DATA_DIR/uploads and returns its path and SHA-256. */
export async function storeUpload(dataDir: string, source: Readable, maxBytes: number): Promise<{ file: string; sha256: string; bytes: number }> {
  const dir = path.join(dataDir, 'uploads');
  fs.mkdirSync(dir, { recursive: true });
  const name = `${Date.now()}-${crypto.randomBytes(6).toString('hex')}.csv`;
  const full = path.join(dir, name);
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  try {
    await pipeline(
      source,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          bytes += chunk.length;
          if (bytes > maxBytes) throw new UploadTooLargeError();
          hash.update(chunk);
          yield chunk;
        }
      },
      fs.createWriteStream(full, { mode: 0o600 }),
    );
  } catch (err) {
    fs.rmSync(full, { force: true });
    throw err;
  }
  return { file: path.relative(dataDir, full), sha256: hash.digest('hex'), bytes };
}

export class UploadTooLargeError extends Error {
  constructor() {
    super('Il file supera la dimensione massima consentita.');
  }
}

function derivedIupd(sha256: string, p: CsvPosition): string {
  return `CSV-${sha256.slice(0, 12)}-${p.sourceRows[0]}`;
}

export function registerImportJob(runner: JobRunner, db: Db, dataDir: string): void {
  runner.register(IMPORT_JOB, async (ctx: JobContext) => runImport(db, dataDir, ctx));
}

/** The import itself (exported for the restart test; `batchSize` only for tests). */
export async function runImport(db: Db, dataDir: string, ctx: JobContext, opts: { batchSize?: number } = {}): Promise<Record<string, unknown>> {
  const batchSize = opts.batchSize ?? IMPORT_BATCH_SIZE;
  const input = ctx.input as unknown as ImportInput;
  const ente = (await getEnte(db, ctx.job.enteId!))!;
  const services = new Map((await listServices(db, ente.id, { activeOnly: true })).map((s) => [s.code, s]));
  const activeIbans = new Map((await listIbans(db, ente.id)).filter((i) => i.active).map((i) => [i.id, i.iban]));
  const defaultIbans = new Map([...services.values()].map((s) => [s.code, s.defaultIbanId ? (activeIbans.get(s.defaultIbanId) ?? null) : null]));
  const filePath = path.join(dataDir, input.file);
  const options = {
    enteFiscalCode: ente.fiscalCode,
    today: todayInItaly(),
    isRegisteredIban: await registeredIbanChecker(db),
    isKnownService: (code: string) => services.has(code),
    defaultIban: (code: string | null) => defaultIbans.get(code ?? input.serviceCode ?? '') ?? null,
    maxRows: input.maxRows,
  };
  const serviceOf = (p: CsvPosition): PaymentService | undefined => services.get(p.serviceCode ?? input.serviceCode ?? '');
  let importedRows = 0;
  const finish = (r: Omit<ImportResult, 'phase' | 'errorCount' | 'errorRows' | 'rowsNotImported' | 'errors' | 'reportFile'>, errors: CsvRowError[]): Record<string, unknown> => {
    let reportFile: string | null = null;
    if (errors.length > 0) {
      reportFile = `${input.file.replace(/\.csv$/, '')}-errori.csv`;
      fs.writeFileSync(path.join(dataDir, reportFile), errorReportToCsv(errors), { mode: 0o600 });
    }
    const result: ImportResult = {
      ...r,
      phase: 'done',
      errorCount: errors.length,
      errorRows: countErrorRows(errors),
      rowsNotImported: Math.max(0, r.rowCount - importedRows),
      errors: errors.slice(0, ERRORS_IN_RESULT),
      reportFile,
    };
    return result as unknown as Record<string, unknown>;
  };

  // "All or nothing" validates the whole file first; "valid rows" validates and creates in one
  // streaming pass (a header, encoding or empty-file problem still stops it before any row).
  const estimatedRows = await countDataLines(filePath);
  let validRows = 0;
  const errors: CsvRowError[] = [];
  const noServiceError = (p: CsvPosition): CsvRowError => ({
    row: p.sourceRows[0]!,
    ...(p.iupd ? { iupd: p.iupd } : {}),
    field: 'servizio',
    message: 'Indica il servizio di pagamento (colonna servizio o scelta per tutto il file).',
  });
  let rowCount = 0;
  if (input.mode === 'all') {
    let rowsSeen = 0;
    const pass1 = await parsePositionsCsv(fs.createReadStream(filePath), {
      ...options,
      onPosition: (p) => {
        rowsSeen += p.sourceRows.length;
        if (!serviceOf(p)) errors.push(noServiceError(p));
        else validRows += p.sourceRows.length;
        ctx.progress(rowsSeen, 0);
      },
    });
    errors.push(...pass1.errors);
    errors.sort((a, b) => a.row - b.row);
    rowCount = pass1.rowCount;
    if (!pass1.complete || pass1.rowCount === 0) {
      if (pass1.complete) errors.push({ row: 2, field: '', message: 'Il file non contiene righe di dati.' });
      return finish({ outcome: 'refused', rowCount, validRows: 0, created: 0, unchanged: 0, message: 'File rifiutato prima dell’importazione: correggi il file e caricalo di nuovo.' }, errors);
    }
    if (errors.length > 0) {
      return finish({ outcome: 'rejected', rowCount, validRows, created: 0, unchanged: 0, message: 'Nessuna posizione importata: con «tutto o niente» il file deve essere senza errori.' }, errors);
    }
  }

  // Pass 2: create in batches.
  let created = 0;
  let unchanged = 0;
  let done = 0;
  const total = input.mode === 'all' ? validRows : estimatedRows;
  ctx.progress(0, total, true);
  const by = { actor: ctx.job.requestedBy, requestId: `job:${ctx.job.id}` };
  let batch: CsvPosition[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const current = batch;
    batch = [];
    const items: BulkPosition[] = [];
    for (const p of current) {
      items.push({
        service: serviceOf(p)!,
        write: {
          value: { iupd: p.iupd ?? derivedIupd(input.sha256, p), debtor: p.debtor, description: p.description, validityDate: p.validityDate, paymentOptions: p.paymentOptions },
          switchToExpired: false,
        },
      });
    }
    const outcomes = await db.transaction(async (tx) => await createPositionsInTx(tx, ente, items, { publish: true }, by), { behavior: 'immediate' });
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i];
      if (outcome === 'created' || outcome === 'unchanged') importedRows += current[i]!.sourceRows.length;
      if (outcome === 'created') created++;
      else if (outcome === 'unchanged') unchanged++;
      else errors.push({ row: current[i]!.sourceRows[0]!, iupd: items[i]!.write.value.iupd!, field: 'iupd', message: 'Esiste già una posizione con questo iupd e dati diversi: riga non importata.' });
    }
  };
  /** Returns a promise (to be awaited) only when a batch was written: then requests get a turn. */
  const onPosition = async (p: CsvPosition): Promise<void> => {
    done += p.sourceRows.length;
    if (!serviceOf(p)) {
      if (input.mode === 'valid') errors.push(noServiceError(p));
      return undefined;
    }
    if (input.mode === 'valid') validRows += p.sourceRows.length;
    batch.push(p);
    if (batch.length < batchSize) return undefined;
    await flush();
    ctx.progress(done, Math.max(total, done));
    return new Promise((resolve) => setImmediate(resolve)); // let requests through between batches
  };
  const pass = await parsePositionsCsv(fs.createReadStream(filePath), { ...options, onPosition });
  await flush();
  if (input.mode === 'valid') {
    errors.push(...pass.errors);
    rowCount = pass.rowCount;
    if (pass.rowCount === 0 || (!pass.complete && created + unchanged === 0)) {
      if (pass.complete) errors.push({ row: 2, field: '', message: 'Il file non contiene righe di dati.' });
      errors.sort((a, b) => a.row - b.row);
      return finish({ outcome: 'refused', rowCount, validRows: 0, created: 0, unchanged: 0, message: 'File rifiutato prima dell’importazione: correggi il file e caricalo di nuovo.' }, errors);
    }
  }
  ctx.progress(rowCount, rowCount, true);
  errors.sort((a, b) => a.row - b.row);
  const notImported = Math.max(0, rowCount - importedRows);
  const message = !pass.complete
    ? `Importazione interrotta: il file è leggibile solo fino alla riga ${Math.max(...pass.errors.map((e) => e.row))}; le posizioni valide precedenti sono state importate.`
    : errors.length > 0
      ? `Importate le posizioni valide; ${rowsLabel(notImported)} non ${notImported === 1 ? 'importata' : 'importate'} (errori in ${rowsLabel(countErrorRows(errors))}).`
      : 'Importazione completata.';
  return finish({ outcome: 'imported', rowCount, validRows, created, unchanged, message }, errors);
}

/** Distinct file rows named by the errors (several errors on one row count once). */
export function countErrorRows(errors: readonly CsvRowError[]): number {
  return new Set(errors.map((e) => e.row)).size;
}

const rowsLabel = (n: number): string => (n === 1 ? '1 riga' : `${n} righe`);

/** Lines after the header (an estimate of the data rows for the progress bar; quoted line breaks count extra). */
async function countDataLines(file: string): Promise<number> {
  let lines = 0;
  let last = 10;
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
  }
  if (last !== 10) lines++;
  return Math.max(0, lines - 1);
}

/** What pages and the API show of an import job. */
export function importStatus(job: JobRow) {
  const input = JSON.parse(job.input) as ImportInput;
  const result = job.result ? (JSON.parse(job.result) as ImportResult) : null;
  const percent = job.status === 'done' ? 100 : job.total > 0 ? Math.min(99, Math.floor((job.done * 100) / job.total)) : 0;
  return {
    id: job.id,
    status: job.status,
    phase: job.status === 'queued' ? 'in coda' : job.status === 'running' ? (job.total > 0 ? 'importazione' : 'validazione') : job.status === 'failed' ? 'non riuscita' : 'completata',
    done: job.done,
    total: job.total,
    percent,
    fileName: input.originalName,
    mode: input.mode,
    serviceCode: input.serviceCode,
    createdAt: job.createdAt,
    result,
    /** The result counts rows with errors and rows not imported (results stored before they existed do not). */
    rowCounts: result?.errorRows !== undefined,
    error: job.error,
  };
}

export async function loadImportJob(app: FastifyInstance, enteId: number, jobId: number): Promise<JobRow> {
  const job = (await app.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.id, jobId), eq(jobs.enteId, enteId), eq(jobs.kind, IMPORT_JOB))).limit(1))[0];
  if (!job) throw new HttpError(404, 'Importazione non trovata per questo ente.');
  return job;
}

