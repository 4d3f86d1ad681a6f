/**
 * CSV import of positions: 100 000 rows through the real import path (store file, validate pass,
 * batched creation with audit and archive-outbox rows) vs a baseline that inserts the same rows with
 * raw prepared statements in one transaction, in the same run: the rows our import wrote to
 * positions, payment_options, transfers, audit_log and aca_outbox, read back from its database.
 * Goal: ours ≤ 3× the baseline time. (Until stop 11 the baseline inserted positions, options and
 * transfers only; that figure is still printed, for information.)
 * Then peak RSS of a child process importing a 1 000 000-row file (streaming): goal < 300 MB,
 * reported against the RSS of the same process before the import.
 */
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/db/client.js';
import { seedDemoData } from '../src/modules/enti/demo-seed.js';
import { listEnti } from '../src/modules/enti/repository.js';
import { runImport, IMPORT_JOB } from '../src/modules/positions/import-job.js';
import { buildIuv, noticeNumberFromIuv } from '../src/modules/positions/numbers.js';
import { JobRunner } from '../src/plugins/jobs/runner.js';
import { fiscalCodeFor, positionsCsv } from '../test/positions/csv-fixtures.js';
import { report, timeIt } from './lib.js';

const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const BIG_ROWS = Number(process.env.BENCH_IMPORT_BIG_ROWS ?? 1_000_000);
const silent = { info: () => {}, error: () => {} };

/** Runs the real import of `file` for Campobasso's MENSA service in a fresh data dir; returns ms. */
export async function importFile(dataDir: string, csvPath: string): Promise<{ ms: number; created: number }> {
  const h = openDatabase(path.join(dataDir, 'db.sqlite'));
  await seedDemoData(h.db);
  const ente = (await listEnti(h.db, { q: 'Campobasso', kind: 'comune' }))[0]!;
  fs.mkdirSync(path.join(dataDir, 'uploads'), { recursive: true });
  const file = path.join('uploads', 'bench.csv');
  fs.copyFileSync(csvPath, path.join(dataDir, file));
  const runner = new JobRunner(h.db, silent);
  runner.register(IMPORT_JOB, async () => ({}));
  const id = await runner.enqueue({ kind: IMPORT_JOB, enteId: ente.id, requestedBy: 'bench', input: { file, sha256: 'bench', originalName: 'bench.csv', mode: 'valid', serviceCode: 'MENSA', maxRows: 5_000_000 } });
  const job = (await runner.claimNext())!;
  const { ms, value } = await timeIt(() => runImport(h.db, dataDir, { job: { ...job, id }, input: JSON.parse(job.input), progress: () => {} }));
  h.close();
  return { ms, created: (value as { created: number }).created };
}

/** The tables the import writes its rows to, in foreign-key order. */
const IMPORT_TABLES = ['positions', 'payment_options', 'transfers', 'audit_log', 'aca_outbox'] as const;

/**
 * The baseline of the goal: the rows the real import wrote, read back from its database before the
 * clock starts, inserted into a database seeded the same way with raw prepared statements in one
 * transaction (same ids, same values, same indexes and triggers). What it leaves out is ours: reading
 * and validating the CSV, building the rows, the batching and the job's progress.
 */
async function sameRowsBaseline(dataDir: string, oursDb: string): Promise<{ ms: number; rows: number }> {
  const h = openDatabase(path.join(dataDir, 'db.sqlite'));
  await seedDemoData(h.db);
  const source = new Database(oursDb, { readonly: true });
  const tables = IMPORT_TABLES.map((table) => {
    // Both databases were seeded the same way: the import's rows are those after the seed's last id.
    const after = (h.sqlite.prepare(`SELECT coalesce(max(id), 0) AS id FROM ${table}`).get() as { id: number }).id;
    const select = source.prepare(`SELECT * FROM ${table} WHERE id > ? ORDER BY id`).raw();
    const columns = select.columns().map((c) => c.name);
    return {
      insert: h.sqlite.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`),
      rows: select.all(after) as unknown[][],
    };
  });
  source.close();
  const { ms } = await timeIt(() =>
    h.sqlite.transaction(() => {
      for (const t of tables) for (const row of t.rows) t.insert.run(row);
    })(),
  );
  h.close();
  return { ms, rows: tables.reduce((n, t) => n + t.rows.length, 0) };
}

/** The narrower baseline of earlier runs (positions, options and transfers only), for information. */
async function baseline(dataDir: string, rows: number): Promise<number> {
  const h = openDatabase(path.join(dataDir, 'db.sqlite'));
  await seedDemoData(h.db);
  const ente = (await listEnti(h.db, { q: 'Campobasso', kind: 'comune' }))[0]!;
  const service = h.sqlite.prepare("SELECT id FROM payment_services WHERE ente_id = ? AND code = 'MENSA'").get(ente.id) as { id: number };
  const iban = (h.sqlite.prepare('SELECT iban FROM ente_ibans WHERE ente_id = ? LIMIT 1').get(ente.id) as { iban: string }).iban;
  const due = new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10);
  // The same values the CSV carries, prepared in memory before the clock starts.
  const values = Array.from({ length: rows }, (_, i) => {
    const iuv = buildIuv(ente.segregationCode, i + 1);
    return { iupd: `IMP-${i}`, cf: fiscalCodeFor(i), name: `Cittadino ${i}`, iuv, nav: noticeNumberFromIuv(iuv) };
  });
  const insPos = h.sqlite.prepare(
    "INSERT INTO positions (ente_id, service_id, iupd, debtor_type, debtor_fiscal_code, debtor_name, description, status, payload_hash) VALUES (?, ?, ?, 'F', ?, ?, 'Mensa scolastica', 'published', 'x')",
  );
  const insOpt = h.sqlite.prepare(
    "INSERT INTO payment_options (position_id, ente_id, ordinal, kind, amount_cents, due_date, iuv, notice_number) VALUES (?, ?, 0, 'single', 2550, ?, ?, ?)",
  );
  const insTr = h.sqlite.prepare(
    "INSERT INTO transfers (option_id, id_transfer, fiscal_code_pa, amount_cents, iban, remittance_information, taxonomy_code) VALUES (?, 1, ?, 2550, ?, 'Mensa', '9/0201133IM/')",
  );
  const { ms } = await timeIt(() =>
    h.sqlite.transaction(() => {
      for (const v of values) {
        const p = insPos.run(ente.id, service.id, v.iupd, v.cf, v.name).lastInsertRowid;
        const o = insOpt.run(p, ente.id, due, v.iuv, v.nav).lastInsertRowid;
        insTr.run(o, ente.fiscalCode, iban);
      }
    })(),
  );
  h.close();
  return ms;
}

async function main() {
  if (process.argv[2] === '--rss-child') {
    // Child: import the big file and print the peak RSS.
    const before = process.memoryUsage().rss;
    const r = await importFile(process.argv[3]!, process.argv[4]!);
    console.log(JSON.stringify({ beforeMb: before / 1048576, peakMb: process.resourceUsage().maxRSS / 1024, ms: r.ms, created: r.created }));
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-bench-import-'));
  try {
    const csv = path.join(tmp, 'positions.csv');
    fs.writeFileSync(csv, positionsCsv(ROWS));
    const oursDir = fs.mkdtempSync(path.join(tmp, 'ours-'));
    const ours = await importFile(oursDir, csv);
    if (ours.created !== ROWS) throw new Error(`imported ${ours.created} of ${ROWS}`);
    const same = await sameRowsBaseline(fs.mkdtempSync(path.join(tmp, 'base-')), path.join(oursDir, 'db.sqlite'));
    report({
      name: `import ${ROWS} rows (time)`,
      ours: ours.ms,
      baseline: same.ms,
      unit: 'ms',
      better: 'lower',
      goal: { atMost: 3 },
      extra: `${Math.round((ROWS / ours.ms) * 1000)} rows/s | baseline: the same ${same.rows} rows in one transaction`,
    });
    const narrow = await baseline(fs.mkdtempSync(path.join(tmp, 'narrow-')), ROWS);
    console.log(
      `BENCH import vs positions, options and transfers only (information, the baseline before stop 12): ${Math.round(ours.ms)} vs ${Math.round(narrow)} ms | ratio ${(ours.ms / narrow).toFixed(2)}`,
    );

    const big = path.join(tmp, 'big.csv');
    const out = fs.createWriteStream(big);
    const chunk = 50_000;
    for (let start = 0; start < BIG_ROWS; start += chunk) {
      const text = positionsCsv(Math.min(chunk, BIG_ROWS - start), { prefix: `BIG${start}` });
      out.write(start === 0 ? text : text.slice(text.indexOf('\n') + 1));
    }
    await new Promise((resolve) => out.end(resolve));
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--rss-child', fs.mkdtempSync(path.join(tmp, 'big-')), big], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (child.status !== 0) throw new Error(child.stderr);
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { beforeMb: number; peakMb: number; ms: number; created: number };
    report({ name: `import ${BIG_ROWS} rows (peak RSS)`, ours: r.peakMb, baseline: r.beforeMb, unit: 'MB', better: 'lower', goal: { atMost: 300 / r.beforeMb }, extra: `peak ${Math.round(r.peakMb)} MB (goal < 300 MB), ${r.created} created in ${Math.round(r.ms / 1000)} s` });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
