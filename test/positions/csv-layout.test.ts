import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import iconv from 'iconv-lite';
import { parse as parseSync } from 'csv-parse/sync';
import { numericFiscalCodeFromBase, personalCheckChar } from '../../src/domain/fiscal-code.js';
import { ibanCheckDigits } from '../../src/domain/iban.js';
import {
  CSV_HEADERS,
  CSV_REQUIRED_HEADERS,
  CSV_COLUMN_DOCS,
  CSV_MAX_TRANSFERS,
  CSV_TEMPLATE_EXAMPLE_ROWS,
  CsvTextDecoder,
  csvTemplate,
  csvTemplateWithExamples,
  detectDelimiter,
  errorReportToCsv,
  parsePositionsCsv,
  scanUtf8,
  type CsvImportResult,
  type CsvRowError,
} from '../../src/modules/positions/csv-layout.js';

// Demo data of valid format (not real codes).
const COMUNE = numericFiscalCodeFromBase('8000000001');
const PROVINCIA = numericFiscalCodeFromBase('8000000002');
const COMPANY = numericFiscalCodeFromBase('0123456789');
const NICOLO_CF = 'DVRNCL80A01B519' + personalCheckChar('DVRNCL80A01B519');
const iban = (bban: string) => `IT${ibanCheckDigits('IT', bban)}${bban}`;
const IBAN_COMUNE = iban('X0542811101000000123456');
const IBAN_PROVINCIA = iban('X0306903206100000046001');
const IBAN_POSTALE = iban('X0760103200001234567890');
const ctx = { enteFiscalCode: COMUNE };

const HEADER = [
  'iupd',
  'tipo_debitore',
  'cf_debitore',
  'nominativo_debitore',
  'indirizzo',
  'cap',
  'localita',
  'provincia',
  'descrizione',
  'rata',
  'importo',
  'scadenza',
  'trasf1_importo',
  'trasf1_iban',
  'trasf1_causale',
  'trasf1_tassonomia',
  'trasf2_cf_ente',
  'trasf2_importo',
  'trasf2_iban',
  'trasf2_causale',
  'trasf2_tassonomia',
  'trasf2_metadati',
];

type Row = Record<string, string>;

const nicolo: Row = {
  iupd: 'TARI-2025-0001',
  tipo_debitore: 'F',
  cf_debitore: NICOLO_CF,
  nominativo_debitore: "Nicolò D'Aversa",
  indirizzo: 'Via Università 12',
  cap: '86100',
  localita: 'Campobasso',
  provincia: 'CB',
  descrizione: 'TARI 2025 - utenza domestica',
};

function tariRow(rata: string, scadenza: string, comune: string, tefa: string, total: string): Row {
  return {
    ...nicolo,
    rata,
    importo: total,
    scadenza,
    trasf1_importo: comune,
    trasf1_iban: IBAN_COMUNE,
    trasf1_causale: `TARI 2025 ${rata ? `rata ${rata}` : 'unica soluzione'}`,
    trasf1_tassonomia: '9/0201102IM/',
    trasf2_cf_ente: PROVINCIA,
    trasf2_importo: tefa,
    trasf2_iban: IBAN_PROVINCIA,
    trasf2_causale: `TEFA 2025 ${rata ? `rata ${rata}` : 'unica soluzione'}`,
    trasf2_tassonomia: '9/0201109IM/',
    trasf2_metadati: 'TARI-TEFA-2=B519|2025|TEFA',
  };
}

const companyRow: Row = {
  iupd: 'COSAP-2025-7',
  tipo_debitore: 'G',
  cf_debitore: COMPANY,
  nominativo_debitore: 'Pasticceria Sàntoro & Figli S.n.c.',
  descrizione: 'Canone occupazione suolo pubblico 2025',
  importo: '1.234,56',
  scadenza: '2025-09-30',
  trasf1_importo: '1234.56',
  trasf1_iban: IBAN_COMUNE,
  trasf1_causale: 'COSAP 2025',
  trasf1_tassonomia: '9/0101101TS/',
};

/** Nicolò: single payment + 2 installments with TARI/TEFA split; a company: one single payment. */
const GOOD_ROWS: Row[] = [
  tariRow('', '16/06/2025', '200,00', '10,00', '210,00'),
  tariRow('1', '16/06/2025', '100,00', '5,00', '105,00'),
  tariRow('2', '2025-12-16', '100,00', '5,00', '105,00'),
  companyRow,
];

function quote(value: string, delimiter: string): string {
  return /["\r\n]/.test(value) || value.includes(delimiter) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvText(rows: Row[], options: { delimiter?: string; header?: string[]; eol?: string } = {}): string {
  const d = options.delimiter ?? ';';
  const header = options.header ?? HEADER;
  const eol = options.eol ?? '\r\n';
  return [header.join(d), ...rows.map((r) => header.map((h) => quote(r[h] ?? '', d)).join(d))].join(eol) + eol;
}

function chunked(buf: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
  return Readable.from(chunks);
}

async function* asyncChunks(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

function errorSummary(r: CsvImportResult): string[] {
  return r.errors.map((e) => `${e.row}:${e.field}`);
}

function checkGoodResult(t: Test, r: CsvImportResult) {
  t.same(r.errors, [], 'no errors');
  t.equal(r.complete, true);
  t.equal(r.rowCount, 4);
  t.equal(r.positions.length, 2);
  const [tari, cosap] = r.positions;
  t.equal(tari!.iupd, 'TARI-2025-0001');
  t.equal(tari!.debtor.fullName, "Nicolò D'Aversa", 'accented name decoded');
  t.equal(tari!.debtor.streetName, 'Via Università 12');
  t.equal(tari!.debtor.fiscalCode, NICOLO_CF);
  t.same(tari!.sourceRows, [2, 3, 4]);
  t.same(
    tari!.paymentOptions.map((o) => [o.kind, o.installmentNumber, o.installmentCount, o.amountCents, o.dueDate]),
    [
      ['single', null, null, 21000, '2025-06-16'],
      ['installment', 1, 2, 10500, '2025-06-16'],
      ['installment', 2, 2, 10500, '2025-12-16'],
    ],
  );
  for (const o of tari!.paymentOptions) {
    t.same(o.transfers.map((tr) => [tr.idTransfer, tr.fiscalCodePA, tr.iban]), [
      [1, COMUNE, IBAN_COMUNE],
      [2, PROVINCIA, IBAN_PROVINCIA],
    ]);
    t.equal(o.transfers[0]!.amountCents + o.transfers[1]!.amountCents, o.amountCents);
    t.same(o.transfers[1]!.metadata, [{ key: 'TARI-TEFA-2', value: 'B519|2025|TEFA' }]);
  }
  t.equal(tari!.paymentOptions[2]!.transfers[1]!.remittanceInformation, 'TEFA 2025 rata 2');
  t.equal(cosap!.debtor.type, 'G');
  t.equal(cosap!.debtor.fullName, 'Pasticceria Sàntoro & Figli S.n.c.');
  t.equal(cosap!.paymentOptions[0]!.amountCents, 123456);
  t.same(cosap!.sourceRows, [5]);
}

t.test('UTF-8 without BOM, ";" separator', async (t) => {
  const buf = Buffer.from(csvText(GOOD_ROWS), 'utf8');
  const r = await parsePositionsCsv(Readable.from([buf]), ctx);
  checkGoodResult(t, r);
  t.equal(r.encoding, 'utf-8');
  t.equal(r.delimiter, ';');
});

t.test('UTF-8 with BOM, "," separator (decimal commas quoted), LF line ends', async (t) => {
  const text = csvText(GOOD_ROWS, { delimiter: ',', eol: '\n' });
  t.match(text, /"210,00"/, 'the fixture really quotes comma decimals');
  const buf = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
  const r = await parsePositionsCsv(asyncChunks(buf), ctx);
  checkGoodResult(t, r);
  t.equal(r.encoding, 'utf-8');
  t.equal(r.delimiter, ',');
});

t.test('Windows-1252 (Excel "CSV delimitato"), ";" separator', async (t) => {
  const buf = iconv.encode(csvText(GOOD_ROWS), 'windows1252');
  t.equal(buf.includes(Buffer.from('Nicolò', 'utf8')), false, 'the fixture is not UTF-8');
  t.equal(buf.includes(Buffer.from([0x4e, 0x69, 0x63, 0x6f, 0x6c, 0xf2])), true, 'ò is the single byte 0xF2');
  const r = await parsePositionsCsv(Readable.from([buf]), ctx);
  checkGoodResult(t, r);
  t.equal(r.encoding, 'windows-1252');
});

t.test('the result does not depend on how the bytes are chunked', async (t) => {
  const files: [string, Buffer][] = [
    ['utf-8+bom', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csvText(GOOD_ROWS), 'utf8')])],
    ['utf-8', Buffer.from(csvText(GOOD_ROWS, { delimiter: ',' }), 'utf8')],
    ['windows-1252', iconv.encode(csvText(GOOD_ROWS), 'windows1252')],
  ];
  for (const [name, buf] of files) {
    const whole = await parsePositionsCsv(Readable.from([buf]), ctx);
    t.equal(whole.positions.length, 2, `${name}: sanity`);
    for (const size of [1, 2, 3, 5, 64, 4096]) {
      const r = await parsePositionsCsv(chunked(buf, size), ctx);
      t.same(r, whole, `${name}, chunks of ${size} bytes`);
    }
  }
});

t.test('Windows-1252 detected even when the first accented letter comes late in the file', async (t) => {
  const filler: Row[] = [];
  for (let k = 0; k < 600; k++) {
    filler.push({ ...companyRow, iupd: `COSAP-${k}`, nominativo_debitore: `Ditta numero ${k}`, descrizione: 'Canone occupazione suolo pubblico 2025 '.padEnd(120, 'x') });
  }
  const text = csvText([...filler, ...GOOD_ROWS]);
  t.ok(text.indexOf('ò') > 65536, 'first non-ASCII character after 64 KiB');
  const r = await parsePositionsCsv(chunked(iconv.encode(text, 'windows1252'), 1000), ctx);
  t.same(r.errors, []);
  t.equal(r.encoding, 'windows-1252');
  t.equal(r.rowCount, 604);
  t.equal(r.positions.length, 602);
  t.equal(r.positions.find((p) => p.iupd === 'TARI-2025-0001')!.debtor.fullName, "Nicolò D'Aversa");
});

t.test('bad rows are all reported with their row numbers, good positions are kept', async (t) => {
  const rows: Row[] = [
    /* 2 */ { ...companyRow, iupd: 'OK-1' },
    /* 3 */ { ...companyRow, iupd: 'BAD-CF', cf_debitore: '01234567890' },
    /* 4 */ {}, // blank row: counts as a row, not reported
    /* 5 */ { ...companyRow, iupd: 'BAD-2', importo: '12,345', trasf1_iban: 'IT00X123' },
    /* 6 */ { ...tariRow('1', '16/06/2025', '100,00', '5,00', '105,00'), iupd: 'TARI-X' },
    /* 7 */ { ...tariRow('2', '16/12/2025', '100,00', '5,00', '105,00'), iupd: 'TARI-X', nominativo_debitore: 'Nicolo DAversa' },
    /* 8 */ { ...companyRow, iupd: 'OK-2', descrizione: 'Canone\nsu due righe' }, // one row in the file, two lines
    /* 9 */ { ...tariRow('1', '16/06/2025', '100,00', '5,00', '105,00'), iupd: 'TARI-Y' },
    /* 10 */ { ...tariRow('2', '16/05/2025', '100,00', '5,00', '105,01'), iupd: 'TARI-Y', trasf2_tassonomia: '9/020110900IM/' },
    /* 11 */ { ...tariRow('1', '16/06/2025', '100,00', '5,00', '105,00'), iupd: 'TARI-Z' }, // plan with one installment
    /* 12 */ { ...companyRow, iupd: '', cf_debitore: '' }, // no iupd: a position of its own
    /* 13 */ { ...companyRow, iupd: '', scadenza: '31/02/2025' },
    /* 14 */ { ...companyRow, iupd: 'OK-3', trasf1_importo: '', trasf1_iban: '', trasf1_causale: '', trasf1_tassonomia: '', trasf2_importo: '1.234,56', trasf2_iban: IBAN_COMUNE, trasf2_causale: 'x', trasf2_tassonomia: '9/0101101TS/' },
  ];
  const text = csvText(rows);
  const r = await parsePositionsCsv(Readable.from([Buffer.from(text, 'utf8')]), ctx);
  t.equal(r.complete, true);
  t.equal(r.rowCount, 12, 'blank row not counted');
  t.same(
    r.positions.map((p) => [p.iupd, p.sourceRows]),
    [
      ['OK-1', [2]],
      ['OK-2', [8]],
    ],
  );
  t.same(errorSummary(r), [
    '3:cf_debitore',
    '5:importo',
    '5:trasf1_iban',
    '7:nominativo_debitore',
    '10:scadenza',
    '10:trasferimenti',
    '10:trasf2_tassonomia',
    '11:rata',
    '12:cf_debitore',
    '13:scadenza',
    '14:trasferimenti',
  ]);
  const byRow = (row: number, field: string) => r.errors.find((e) => e.row === row && e.field === field)!;
  t.equal(byRow(3, 'cf_debitore').iupd, 'BAD-CF');
  t.equal(byRow(12, 'cf_debitore').iupd, undefined, 'no iupd on the row');
  t.match(byRow(7, 'nominativo_debitore').message, /riga 6/);
  t.match(byRow(10, 'trasferimenti').message, /105,01/);
  t.match(byRow(10, 'scadenza').message, /rata 2/);
  t.match(byRow(14, 'trasferimenti').message, /manca il trasferimento 1/);
  for (const e of r.errors) t.ok(e.message.length > 10 && !/undefined/.test(e.message), `message of ${e.row}:${e.field}`);
});

t.test('a row with more values than the header is reported with a hint about quoting', async (t) => {
  // Comma separator and an unquoted decimal comma: the amount splits into two cells.
  const header = ['iupd', 'tipo_debitore', 'cf_debitore', 'nominativo_debitore', 'descrizione', 'importo', 'scadenza', 'trasf1_importo', 'trasf1_iban', 'trasf1_causale', 'trasf1_tassonomia'];
  const good = [companyRow.iupd, 'G', COMPANY, 'Ditta', 'Canone', '"12,50"', '2025-09-30', '12.50', IBAN_COMUNE, 'Canone', '9/0101101TS/'];
  const bad = ['X-2', 'G', COMPANY, 'Ditta', 'Canone', '12,50', '2025-09-30', '12.50', IBAN_COMUNE, 'Canone', '9/0101101TS/'];
  const text = [header.join(','), good.join(','), bad.join(',')].join('\n');
  const r = await parsePositionsCsv(Readable.from([Buffer.from(text)]), ctx);
  t.equal(r.positions.length, 1);
  t.equal(r.positions[0]!.paymentOptions[0]!.amountCents, 1250);
  const layout = r.errors.find((e) => e.row === 3 && e.field === '');
  t.ok(layout, 'layout error on row 3');
  t.match(layout!.message, /virgolette/);
  t.equal(layout!.iupd, 'X-2');
});

t.test('header problems stop the import at row 1', async (t) => {
  const cases: [string[], string[]][] = [
    [[...HEADER, 'trasf6_importo'], ['1:trasf6_importo']],
    [[...HEADER, 'IMPORTO'], ['1:importo']],
    [HEADER.filter((h) => h !== 'scadenza' && h !== 'trasf1_tassonomia'), ['1:scadenza', '1:trasf1_tassonomia']],
    [[...HEADER, 'note'], ['1:note']],
  ];
  for (const [header, expected] of cases) {
    const r = await parsePositionsCsv(Readable.from([Buffer.from(csvText(GOOD_ROWS, { header }))]), ctx);
    t.equal(r.complete, false);
    t.same(r.positions, []);
    t.same(errorSummary(r).sort(), expected.sort(), expected.join(' '));
  }
  const hinted = await parsePositionsCsv(Readable.from([Buffer.from(csvText([], { header: [...HEADER, 'trasf6_importo'] }))]), ctx);
  t.match(hinted.errors[0]!.message, /trasf5/);

  // Header names are case-insensitive, in any order, and may use spaces.
  const shuffled = [...HEADER].reverse().map((h) => h.toUpperCase().replace('_', ' '));
  const text = csvText(GOOD_ROWS).split('\r\n');
  const reordered = [shuffled.join(';'), ...text.slice(1).filter((l) => l !== '').map((l) => l.split(';').reverse().join(';'))].join('\r\n');
  const r = await parsePositionsCsv(Readable.from([Buffer.from(reordered)]), ctx);
  t.same(r.errors, []);
  t.equal(r.positions.length, 2);
});

t.test('empty files, header-only files, unknown separators, UTF-16', async (t) => {
  let r = await parsePositionsCsv(Readable.from([Buffer.alloc(0)]), ctx);
  t.equal(r.complete, false);
  t.same(errorSummary(r), ['1:']);
  t.match(r.errors[0]!.message, /vuoto/);

  r = await parsePositionsCsv(Readable.from([Buffer.from(csvTemplate())]), ctx);
  t.same(r.errors, []);
  t.equal(r.complete, true);
  t.equal(r.rowCount, 0);
  t.same(r.positions, []);

  r = await parsePositionsCsv(Readable.from([Buffer.from(csvTemplate(',').trim())]), ctx);
  t.equal(r.complete, true, 'header without final newline');
  t.equal(r.delimiter, ',');

  r = await parsePositionsCsv(Readable.from([Buffer.from('iupd\timporto\tscadenza\n1\t2\t3\n')]), ctx);
  t.equal(r.complete, false);
  t.match(r.errors[0]!.message, /punto e virgola/);

  r = await parsePositionsCsv(Readable.from([iconv.encode(csvText(GOOD_ROWS), 'utf16le', { addBOM: true })]), ctx);
  t.equal(r.complete, false);
  t.match(r.errors[0]!.message, /UTF-16/);
});

t.test('CSV syntax errors stop the import with a row number', async (t) => {
  const text = csvText([companyRow]) + 'X-9;G;"' + COMPANY + ';Ditta;Canone\r\n';
  const r = await parsePositionsCsv(Readable.from([Buffer.from(text)]), ctx);
  t.equal(r.complete, false);
  t.same(r.positions, []);
  t.equal(r.errors.length, 1);
  t.equal(r.errors[0]!.row, 3);
  t.match(r.errors[0]!.message, /virgolette/i);
});

t.test('maximum number of rows', async (t) => {
  const rows = [1, 2, 3].map((k) => ({ ...companyRow, iupd: `R-${k}` }));
  const text = Buffer.from(csvText(rows));
  let r = await parsePositionsCsv(Readable.from([text]), { ...ctx, maxRows: 3 });
  t.equal(r.complete, true);
  t.equal(r.positions.length, 3);
  r = await parsePositionsCsv(Readable.from([text]), { ...ctx, maxRows: 2 });
  t.equal(r.complete, false);
  t.same(r.positions, []);
  t.same(errorSummary(r), ['4:']);
  t.match(r.errors[0]!.message, /massimo di 2 righe/);
  t.equal(r.rowCount, 2);
});

t.test('reading stops early when the row limit is hit, and input errors reject', async (t) => {
  const rows = Array.from({ length: 5000 }, (_, k) => ({ ...companyRow, iupd: `R-${k}` }));
  const buf = Buffer.from(csvText(rows));
  let served = 0;
  const source = new Readable({
    read() {
      if (served >= buf.length) return this.push(null);
      this.push(buf.subarray(served, served + 1024));
      served += 1024;
    },
  });
  const r = await parsePositionsCsv(source, { ...ctx, maxRows: 10 });
  t.equal(r.complete, false);
  await new Promise((resolve) => setImmediate(resolve));
  t.ok(served < buf.length / 2, `only the beginning of the file was read (${served} of ${buf.length} bytes)`);
  t.ok(source.destroyed, 'the input stream is closed');

  const failing = new Readable({
    read() {
      if (this.readableLength === 0 && !(this as any).sent) {
        (this as any).sent = true;
        this.push(Buffer.from(csvText([companyRow])));
      } else this.destroy(new Error('connessione interrotta'));
    },
  });
  await t.rejects(parsePositionsCsv(failing, ctx), /connessione interrotta/);
});

t.test('broken bytes in a UTF-8 file are reported on the cell', async (t) => {
  const good = Buffer.from(csvText([{ ...companyRow, iupd: 'A-1' }]), 'utf8'); // contains "à" as UTF-8
  const bad = Buffer.from(csvText([{ ...companyRow, iupd: 'A-2', nominativo_debitore: 'Nicol#' }]).split('\r\n')[1] + '\r\n', 'utf8');
  bad[bad.indexOf('#'.charCodeAt(0))] = 0xf2; // a lone Windows-1252 "ò"
  const r = await parsePositionsCsv(Readable.from([good, bad]), ctx);
  t.equal(r.encoding, 'utf-8');
  t.same(r.positions.map((p) => p.iupd), ['A-1']);
  t.same(errorSummary(r), ['3:nominativo_debitore']);
  t.match(r.errors[0]!.message, /codifica/);
});

t.test('optional columns: postal IBAN, plan key, option description, dates, defaults', async (t) => {
  const header = ['iupd', 'tipo_debitore', 'cf_debitore', 'nominativo_debitore', 'descrizione', 'data_validita', 'rata', 'piano', 'descrizione_opzione', 'importo', 'scadenza', 'data_conservazione', 'trasf1_cf_ente', 'trasf1_importo', 'trasf1_iban', 'trasf1_iban_postale', 'trasf1_causale', 'trasf1_tassonomia'];
  const base: Row = { iupd: 'P-1', tipo_debitore: 'f', cf_debitore: NICOLO_CF.toLowerCase(), nominativo_debitore: 'Nicolò', descrizione: 'Refezione', data_validita: '01/09/2025', trasf1_iban_postale: IBAN_POSTALE, trasf1_causale: 'Refezione', trasf1_tassonomia: '9/0101108SP/' };
  const rows: Row[] = [
    { ...base, rata: '0', importo: '90', scadenza: '30/09/2025', data_conservazione: '31/12/2025', trasf1_importo: '90', trasf1_cf_ente: COMUNE },
    { ...base, rata: '1', piano: 'TRIM', descrizione_opzione: 'Rata 1 di 3', importo: '30', scadenza: '30/09/2025', trasf1_importo: '30' },
    { ...base, rata: '2', piano: 'TRIM', descrizione_opzione: 'Rata 2 di 3', importo: '30', scadenza: '2025-10-31', trasf1_importo: '30' },
    { ...base, rata: '3', piano: 'TRIM', descrizione_opzione: 'Rata 3 di 3', importo: '30', scadenza: '30/11/2025', trasf1_importo: '30,00' },
  ];
  const r = await parsePositionsCsv(Readable.from([Buffer.from(csvText(rows, { header }))]), ctx);
  t.same(r.errors, []);
  const p = r.positions[0]!;
  t.equal(p.validityDate, '2025-09-01');
  t.equal(p.debtor.fiscalCode, NICOLO_CF);
  t.same(p.paymentOptions.map((o) => [o.kind, o.plan, o.installmentNumber, o.description, o.dueDate, o.retentionDate]), [
    ['single', null, null, null, '2025-09-30', '2025-12-31'],
    ['installment', 'TRIM', 1, 'Rata 1 di 3', '2025-09-30', null],
    ['installment', 'TRIM', 2, 'Rata 2 di 3', '2025-10-31', null],
    ['installment', 'TRIM', 3, 'Rata 3 di 3', '2025-11-30', null],
  ]);
  t.same(p.paymentOptions.map((o) => [o.transfers[0]!.fiscalCodePA, o.transfers[0]!.iban, o.transfers[0]!.postalIban]), Array(4).fill([COMUNE, null, IBAN_POSTALE]));

  // the "piano" column without "rata" is an error on that column
  const r2 = await parsePositionsCsv(Readable.from([Buffer.from(csvText([{ ...rows[0]!, piano: 'TRIM' }], { header }))]), ctx);
  t.same(errorSummary(r2), ['2:piano']);
  // metadata cell without "=" is reported on the metadata column
  const r3 = await parsePositionsCsv(Readable.from([Buffer.from(csvText([{ ...tariRow('', '16/06/2025', '200,00', '10,00', '210,00'), trasf2_metadati: 'solo-chiave' }]))]), ctx);
  t.same(errorSummary(r3), ['2:trasf2_metadati']);
});

t.test('error report export', async (t) => {
  const errors: CsvRowError[] = [
    { row: 3, iupd: 'BAD-CF', field: 'cf_debitore', message: 'Codice fiscale non valido; controlla "il" valore.' },
    { row: 5, field: '', message: 'Riga\ncon a capo' },
    { row: 7, iupd: '=HYPERLINK("http://x")', field: 'importo', message: '-1 non è valido' },
  ];
  const text = errorReportToCsv(errors);
  t.ok(text.startsWith('\uFEFF'), 'UTF-8 BOM for Excel');
  t.match(text, /\r\n/, 'CRLF line ends');
  const parsed = parseSync(text.slice(1), { delimiter: ';' }) as string[][];
  t.same(parsed, [
    ['riga', 'iupd', 'colonna', 'errore'],
    ['3', 'BAD-CF', 'cf_debitore', 'Codice fiscale non valido; controlla "il" valore.'],
    ['5', '', '', 'Riga\ncon a capo'],
    ['7', `'=HYPERLINK("http://x")`, 'importo', "'-1 non è valido"],
  ]);
  const commas = errorReportToCsv(errors.slice(0, 1), { delimiter: ',', bom: false });
  t.same(parseSync(commas, { delimiter: ',' }), [
    ['riga', 'iupd', 'colonna', 'errore'],
    ['3', 'BAD-CF', 'cf_debitore', 'Codice fiscale non valido; controlla "il" valore.'],
  ]);
  t.equal(errorReportToCsv([], { bom: false }).trim(), 'riga;iupd;colonna;errore');

  // round trip with a real import
  const r = await parsePositionsCsv(Readable.from([Buffer.from(csvText([{ ...companyRow, cf_debitore: 'X' }]))]), ctx);
  const report = parseSync(errorReportToCsv(r.errors).slice(1), { delimiter: ';', from_line: 2 }) as string[][];
  t.same(report.map((l) => l.slice(0, 3)), [['2', 'COSAP-2025-7', 'cf_debitore']]);
});

t.test('layout constants and helpers', async (t) => {
  t.equal(CSV_HEADERS.length, new Set(CSV_HEADERS).size, 'no duplicate column names');
  t.equal(CSV_HEADERS.length, 14 + 6 + 5 * 7);
  for (const h of CSV_REQUIRED_HEADERS) t.ok(CSV_HEADERS.includes(h), h);
  t.ok(CSV_HEADERS.includes('trasf5_tassonomia'));
  t.notOk(CSV_HEADERS.includes('trasf6_importo'));
  t.equal(csvTemplate(), CSV_HEADERS.join(';') + '\r\n');

  t.equal(detectDelimiter('a;b;c'), ';');
  t.equal(detectDelimiter('a,b,c'), ',');
  t.equal(detectDelimiter('"a,b";c'), ';', 'commas inside quotes do not count');
  t.equal(detectDelimiter('abc'), null);

  t.same(scanUtf8(Buffer.from('abc')), { kind: 'ascii', tail: 0 });
  t.same(scanUtf8(Buffer.from('abcò', 'utf8')), { kind: 'utf8', tail: 0 });
  t.same(scanUtf8(Buffer.from('abcò', 'utf8').subarray(0, 4)), { kind: 'ascii', tail: 1 }, 'incomplete sequence at the end');
  t.same(scanUtf8(Buffer.from('€', 'utf8').subarray(0, 2)), { kind: 'ascii', tail: 2 });
  t.same(scanUtf8(iconv.encode('abcò d', 'windows1252')), { kind: 'invalid', tail: 0 });
  t.same(scanUtf8(Buffer.from([0xc0, 0x80])), { kind: 'invalid', tail: 0 }, 'overlong encoding');
  t.same(scanUtf8(Buffer.from([0xed, 0xa0, 0x80])), { kind: 'invalid', tail: 0 }, 'surrogate');

  const d = new CsvTextDecoder();
  const bytes = Buffer.from('\uFEFFNicolò €', 'utf8');
  const out = [...bytes].map((b) => d.write(Buffer.from([b]))).join('') + d.end();
  t.equal(out, 'Nicolò €', 'byte by byte, BOM stripped');
  t.equal(d.encoding, 'utf-8');
  const w = new CsvTextDecoder();
  t.equal(w.write(iconv.encode('Nicolò €', 'windows1252')) + w.end(), 'Nicolò €');
  t.equal(w.encoding, 'windows-1252');
  const tail = new CsvTextDecoder();
  t.equal(tail.write(Buffer.from([0x41, 0xc3])) + tail.end(), 'AÃ', 'truncated sequence at EOF falls back to Windows-1252');
  t.equal(tail.encoding, 'windows-1252');
});

t.test('the published layout documents every column, and only those', async (t) => {
  const transferDocs = CSV_COLUMN_DOCS.filter((c) => c.name.startsWith('trasfN_'));
  const documented = [
    ...CSV_COLUMN_DOCS.filter((c) => !c.name.startsWith('trasfN_')).map((c) => c.name),
    ...Array.from({ length: CSV_MAX_TRANSFERS }, (_, k) => transferDocs.map((c) => c.name.replace('trasfN_', `trasf${k + 1}_`))).flat(),
  ];
  t.same(documented, [...CSV_HEADERS], 'same columns, same order as the template');
  for (const c of CSV_COLUMN_DOCS) {
    const required = CSV_REQUIRED_HEADERS.includes(c.name) || CSV_REQUIRED_HEADERS.includes(c.name.replace('trasfN_', 'trasf1_'));
    t.equal(/^sì/.test(c.required), required, `${c.name}: «${c.required}»`);
    t.ok(c.description.length > 10, `${c.name} described`);
  }
});

t.test('the template with example rows imports cleanly, with and without the province share', async (t) => {
  const today = new Date(Date.now() + 400 * 86_400_000).toISOString().slice(0, 10); // any day: dates follow it
  for (const [label, tctx, transfers] of [
    ['TARI with TEFA', { service: { code: 'TARI', name: 'TARI – Tassa sui rifiuti', taxonomyCode: '9/0101108TS/' }, iban: IBAN_COMUNE, province: { fiscalCode: PROVINCIA, iban: IBAN_PROVINCIA } }, 2],
    ['another service, no province', { service: { code: 'MENSA', name: 'Mensa scolastica', taxonomyCode: '9/0201133IM/' }, iban: IBAN_COMUNE, province: { fiscalCode: PROVINCIA, iban: IBAN_PROVINCIA } }, 1],
    ['no account: the service default applies', { service: null, iban: null, province: null }, 1],
  ] as const) {
    const csv = csvTemplateWithExamples({ today, city: 'Campobasso', ...tctx });
    t.ok(csv.startsWith('\uFEFF' + CSV_HEADERS.join(';') + '\r\n'), `${label}: BOM and the full header`);
    const r = await parsePositionsCsv(Readable.from([Buffer.from(csv)]), {
      ...ctx,
      today,
      isKnownService: () => true,
      defaultIban: () => IBAN_COMUNE,
    });
    t.same(r.errors, [], `${label}: no errors`);
    t.equal(r.rowCount, CSV_TEMPLATE_EXAMPLE_ROWS, label);
    t.equal(r.positions.length, 2, `${label}: a citizen's position (single payment or 2 installments) and a firm's`);
    const [person, firm] = r.positions;
    t.same(person!.paymentOptions.map((o) => [o.kind, o.amountCents, o.transfers.length]), [['single', 21000, transfers], ['installment', 10500, transfers], ['installment', 10500, transfers]], label);
    t.match(firm, { iupd: /^ESEMPIO-/, debtor: { type: 'G' } });
    t.ok(person!.paymentOptions.every((o) => o.dueDate > today), 'due dates after today');
  }
});

t.test('rows of one position must be consecutive; streaming mode hands positions over one by one', async (t) => {
  const interleaved = [GOOD_ROWS[0]!, GOOD_ROWS[1]!, companyRow, GOOD_ROWS[2]!];
  const r = await parsePositionsCsv(Readable.from([Buffer.from(csvText(interleaved), 'utf8')]), ctx);
  t.equal(r.complete, true);
  t.ok(r.errors.some((e) => e.row === 5 && e.field === 'iupd' && e.iupd === 'TARI-2025-0001' && /consecutive/.test(e.message)), 'the separated row is reported');
  const streamed: string[] = [];
  const s = await parsePositionsCsv(Readable.from([Buffer.from(csvText(GOOD_ROWS), 'utf8')]), {
    ...ctx,
    onPosition: async (p) => {
      await new Promise((resolve) => setImmediate(resolve));
      streamed.push(`${p.iupd}:${p.sourceRows.join(',')}`);
    },
  });
  t.same(s.errors, []);
  t.same(s.positions, [], 'nothing accumulated in streaming mode');
  t.same(streamed, ['TARI-2025-0001:2,3,4', 'COSAP-2025-7:5']);
});
