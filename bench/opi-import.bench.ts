/**
 * OPI Giornale di Cassa import: a one-page 1.8 journal of 10 000 incoming movements (9 000 single
 * pagoPA credits `/RFB/<IUV>/…` matching 9 000 receipts, 1 000 other credits) through the real path
 * (opi-import.ts importOpiPage: XSD validation, reading, page kept, duplicates check, insert,
 * reconciliation by causale with its audit rows) vs a baseline in the same run: a raw parse of the
 * same file (the same libxml2 parser, no validation) and the same movements inserted into
 * treasury_movements with one prepared statement in one transaction. Goal: ours ≤ 2× the baseline.
 * Each side runs on its own temporary database holding the same receipts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type DatabaseHandle } from '../src/db/client.js';
import { importOpiPage } from '../src/modules/helpdesk/opi-import.js';
import { writeOpiJournal, type OpiOutMovement } from '../src/modules/helpdesk/opi-writer.js';
import { parseXmlLite } from '../src/xml/lite-dom.js';
import { report } from './lib.js';

const MOVEMENTS = Number(process.env.BENCH_OPI_MOVEMENTS ?? 10_000);
const CF = '80000000000';
const iuv = (i: number) => `01${String(i).padStart(15, '0')}`;
const amountOf = (i: number) => 1000 + (i % 9000);

function setup(dir: string, name: string): { h: DatabaseHandle; enteId: number } {
  const h = openDatabase(path.join(dir, `${name}.sqlite`));
  const s = h.sqlite;
  const enteId = Number(s.prepare("INSERT INTO enti (kind, name, fiscal_code, ipa_code, segregation_code) VALUES ('comune','Comune di Prova',?, 'c_bench', '01')").run(CF).lastInsertRowid);
  s.transaction(() => {
    const rc = s.prepare(
      `INSERT INTO receipts (id, ente_id, id_pa, fiscal_code, iuv, receipt_id, notice_number, primitive, outcome, payment_amount_cents, description, company_name,
         debtor_type, debtor_fiscal_code, debtor_name, debtor, id_psp, psp_company_name, id_channel, channel_description, processing, raw_xml)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'paSendRTV2', 'OK', ?, 'TARI', 'Comune di Prova', 'F', 'RSSMRA85T10A562S', 'Mario Rossi', '{}', 'PSP1', 'PSP', 'PSP1_01', 'app', 'applied', '<x/>')`,
    );
    const tr = s.prepare("INSERT INTO receipt_transfers (receipt_row_id, id_transfer, amount_cents, fiscal_code_pa, remittance_information, transfer_category) VALUES (?, 1, ?, ?, 'TARI', '9/0101108TS/')");
    for (let i = 1; i <= MOVEMENTS; i++) {
      rc.run(i, enteId, CF, CF, iuv(i), `IUR${i}`, `3${iuv(i)}`, amountOf(i));
      tr.run(i, amountOf(i), CF);
    }
  })();
  return { h, enteId };
}

const movements: OpiOutMovement[] = [];
for (let i = 1; i <= MOVEMENTS; i++) {
  const pagopa = i % 10 !== 0;
  const a = amountOf(i);
  movements.push({
    tipoDocumento: 'SOSPESO ENTRATA',
    numeroDocumento: i,
    amountCents: a,
    date: '2026-03-17',
    causale: pagopa ? `/RFB/${iuv(i)}/${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}/TXT/TARI 2026` : `VERSAMENTO ${i}`,
    cliente: `VERSANTE ${i}`,
  });
}
const xml = writeOpiJournal({ version: '1.8', enteFiscalCode: CF, enteName: 'COMUNE DI PROVA', esercizio: 2026, date: '2026-03-17', code: 'BENCHOPI000001', movements })[0]!;
const bytes = Buffer.from(xml);

/** Baseline: the same file parsed (no validation), the same movements inserted raw. */
function baseline(h: DatabaseHandle, enteId: number): { ms: number; rows: number } {
  const t0 = performance.now();
  const doc = parseXmlLite(bytes, { maxBytes: 64 * 1024 * 1024 });
  type N = { nodeType: number; localName: string | null; firstChild: N | null; nextSibling: N | null; textContent: string };
  const kids = (n: N) => {
    const out: N[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) out.push(c);
    return out;
  };
  const field = (n: N, name: string) => kids(n).find((c) => c.localName === name)?.textContent.trim() ?? '';
  const rows: unknown[][] = [];
  for (const conto of kids(doc.documentElement as unknown as N)) {
    if (conto.localName !== 'informazioni_conto_evidenza') continue;
    for (const mv of kids(conto)) {
      if (mv.localName !== 'movimento_conto_evidenza') continue;
      const [i, d = '00'] = field(mv, 'importo').split('.');
      rows.push([`OPI-2026-SOS-${Number(field(mv, 'numero_documento'))}-0`, Number(i) * 100 + Number(d.padEnd(2, '0')), field(mv, 'data_movimento'), field(mv, 'data_valuta_ente'), field(mv, 'causale')]);
    }
  }
  doc.dispose();
  const s = h.sqlite;
  s.transaction(() => {
    const importId = Number(s.prepare("INSERT INTO treasury_imports (ente_id, format, file_name, sha256, movements, new_movements, created_by) VALUES (?, 'opi', 'base.xml', 'x', ?, ?, 'bench')").run(enteId, rows.length, rows.length).lastInsertRowid);
    const ins = s.prepare(
      `INSERT INTO treasury_movements (ente_id, import_id, movement_id, direction, amount_cents, booking_date, value_date, causale, account, payload_hash, ref_kind, state)
       VALUES (?, ?, ?, 'CRDT', ?, ?, ?, ?, NULL, '', 'none', 'parked')`,
    );
    for (const r of rows) ins.run(enteId, importId, ...r);
  })();
  return { ms: performance.now() - t0, rows: rows.length };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-bench-opi-'));
try {
  const base = setup(dir, 'base');
  const ours = setup(dir, 'ours');
  console.log(`journal of ${MOVEMENTS} movements: ${(bytes.length / 1048576).toFixed(1)} MB`);
  // Warm-up outside the clock: XSD compilation (once per process) and the parser.
  const warm = setup(dir, 'warm');
  await importOpiPage({ db: warm.h.db }, { enteId: warm.enteId, bytes: Buffer.from(writeOpiJournal({ version: '1.8', enteFiscalCode: CF, enteName: 'X', esercizio: 2026, date: '2026-03-17', code: 'WARMUP00001', movements: movements.slice(0, 50) })[0]!), fileName: 'warm.xml', actor: 'bench' });
  warm.h.close();
  const b1 = baseline(base.h, base.enteId);
  const t0 = performance.now();
  const res = await importOpiPage({ db: ours.h.db }, { enteId: ours.enteId, bytes, fileName: 'bench.xml', actor: 'bench' });
  const oursMs = performance.now() - t0;
  base.h.sqlite.exec('DELETE FROM treasury_movements; DELETE FROM treasury_imports;');
  const b2 = baseline(base.h, base.enteId);
  const baselineMs = Math.min(b1.ms, b2.ms);
  const r = res.result!;
  report({
    name: `OPI Giornale di Cassa import of ${MOVEMENTS} movements vs raw parse + insert`,
    ours: oursMs,
    baseline: baselineMs,
    unit: 'ms',
    better: 'lower',
    goal: { atMost: 2 },
    extra: `${r.newMovements} imported, ${r.matched} matched, ${r.parked} parked, ${r.errors} errors; baseline rows ${b1.rows}`,
  });
  base.h.close();
  ours.h.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
