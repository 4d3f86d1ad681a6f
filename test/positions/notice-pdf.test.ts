/**
 * pagoPA payment notice PDF (template v3): pure payload builders, validation, and rendered PDFs
 * checked through their text layer. The text is read twice when poppler-utils is installed:
 * with `pdftotext` and with a small built-in extractor (inflate content streams with node:zlib,
 * decode glyphs through the fonts' ToUnicode maps), so the checks also run without poppler.
 * Rendered files go to test-output/notices/ (gitignored), with a PNG of page 1 when `pdftoppm`
 * is available, for a human look at the layout.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { encodePng } from './png.js';
import {
  NoticeDataError,
  formatDueDate,
  formatNoticeCode,
  installmentsPerBand,
  noticeQrModules,
  noticeQrPayload,
  noticeQrSvg,
  posteDataMatrixModules,
  posteDataMatrixPayload,
  posteDataMatrixSvg,
  renderNoticePdf,
  renderNoticesPdf,
  validateNoticeData,
  type NoticeData,
  type NoticeInstallment,
} from '../../src/modules/notices/notice-pdf.js';

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/** NAV with aux digit 3 and valid check digits (pagopa.md §6), independent of numbers.ts. */
function nav(segregation: string, sequence: number): string {
  const prefix = `3${segregation}${String(sequence).padStart(13, '0')}`;
  return prefix + (BigInt(prefix) % 93n).toString().padStart(2, '0');
}

const GENERATED_AT = '2025-11-20T09:00:00Z';
const OUT_DIR = join(process.cwd(), 'test-output', 'notices');
const NAV_SINGLE = nav('01', 2025000000042); // 301202500000004228 (the spec's worked example)

const base: Omit<NoticeData, 'singlePayment'> = {
  creditor: {
    name: 'Comune di Campobasso',
    fiscalCode: '00071560700',
    sector: 'Servizio Tributi',
    info: 'Per informazioni www.comune.campobasso.it · tel. 0874 405111',
    cbillCode: 'a1b2c',
    logoPath: join(process.cwd(), 'public', 'img', 'stemma.svg'),
    onlineChannel: 'website',
  },
  debtor: {
    fullName: 'Mario Rossi',
    fiscalCode: 'rssmra80a01b519x',
    address: 'Via Roma',
    buildingNumber: '12',
    postalCode: '86100',
    city: 'Campobasso',
    province: 'CB',
  },
  subject: 'Tassa sui rifiuti (TARI) 2025',
};

const single: NoticeData = {
  ...base,
  singlePayment: { noticeNumber: NAV_SINGLE, amountCents: 123456, dueDate: '2025-12-31' },
};

function installments(count: number, amountCents = 41152): NoticeInstallment[] {
  return Array.from({ length: count }, (_, i) => ({
    installmentNumber: i + 1,
    noticeNumber: nav('01', 2025000000100 + i),
    amountCents,
    dueDate: `2026-${String(i + 1).padStart(2, '0')}-28`,
  }));
}

const plan3: NoticeData = { ...base, installments: installments(3) };

const postal: NoticeData = {
  ...single,
  postalAccount: {
    accountNumber: '1234567',
    holderName: 'Comune di Campobasso - Servizio Tesoreria',
    authorization: 'AUT. DB/SSIC/E 12345 DEL 01/01/2025',
  },
};

// ---------------------------------------------------------------------------------------------
// PDF inspection helpers
// ---------------------------------------------------------------------------------------------

function hasTool(name: string): boolean {
  try {
    execFileSync('which', [name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const HAS_PDFTOTEXT = hasTool('pdftotext');
const HAS_PDFTOPPM = hasTool('pdftoppm');
const HAS_DMTXREAD = hasTool('dmtxread');

interface PdfObject {
  dict: string;
  stream?: Buffer;
}

/** Every `N 0 obj … endobj` of an uncrypted PDF, with its stream inflated when Flate-encoded. */
function pdfObjects(pdf: Buffer): Map<number, PdfObject> {
  const text = pdf.toString('latin1');
  const objects = new Map<number, PdfObject>();
  const re = /(\d+) 0 obj\s*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const start = m.index + m[0].length;
    const end = text.indexOf('endobj', start);
    const body = text.slice(start, end);
    const streamAt = body.indexOf('stream');
    if (streamAt === -1) {
      objects.set(Number(m[1]), { dict: body });
      continue;
    }
    const dict = body.slice(0, streamAt);
    const dataStart = start + streamAt + (body.startsWith('stream\r\n', streamAt) ? 8 : 7);
    const dataEnd = text.lastIndexOf('endstream', end);
    let stream = pdf.subarray(dataStart, dataEnd);
    if (/\/FlateDecode/.test(dict)) stream = inflateSync(stream);
    objects.set(Number(m[1]), { dict, stream });
    re.lastIndex = end;
  }
  return objects;
}

/** UTF-16BE hex (as in ToUnicode maps) to a string. */
function utf16Hex(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  let s = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode(bytes.readUInt16BE(i));
  return s;
}

/** CID → text map of a ToUnicode CMap (bfchar and bfrange, both forms of bfrange). */
function parseToUnicode(cmap: string): Map<number, string> {
  const map = new Map<number, string>();
  for (const block of cmap.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
    for (const [, src, dst] of (block[1] ?? '').matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>/g)) {
      map.set(parseInt(src ?? '0', 16), utf16Hex(dst ?? ''));
    }
  }
  for (const block of cmap.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    const body = block[1] ?? '';
    for (const [, lo, hi, rest] of body.matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(\[[^\]]*\]|<[0-9a-fA-F]+>)/g)) {
      const from = parseInt(lo ?? '0', 16);
      const to = parseInt(hi ?? '0', 16);
      if (rest?.startsWith('[')) {
        [...rest.matchAll(/<([0-9a-fA-F]+)>/g)].forEach((d, i) => map.set(from + i, utf16Hex(d[1] ?? '')));
      } else {
        const first = parseInt(rest?.slice(1, -1) ?? '0', 16);
        for (let c = from; c <= to; c++) map.set(c, String.fromCharCode(first + c - from));
      }
    }
  }
  return map;
}

/**
 * Text of every page, in content-stream order, without poppler: font resource name → Type0 font
 * → ToUnicode map; hex strings of Tj/TJ decoded as 2-byte CIDs; one line per text object.
 */
function extractTextWithZlib(pdf: Buffer): string[] {
  const objects = pdfObjects(pdf);
  const fontMaps = new Map<string, Map<number, string>>();
  for (const { dict } of objects.values()) {
    const fonts = /\/Font\s*<<([^>]*)>>/.exec(dict);
    if (!fonts) continue;
    for (const [, name, ref] of (fonts[1] ?? '').matchAll(/\/(\w+)\s+(\d+) 0 R/g)) {
      const font = objects.get(Number(ref));
      const toUnicode = font && /\/ToUnicode (\d+) 0 R/.exec(font.dict);
      const cmap = toUnicode && objects.get(Number(toUnicode[1]))?.stream;
      if (name && cmap) fontMaps.set(name, parseToUnicode(cmap.toString('latin1')));
    }
  }
  const pagesRoot = [...objects.values()].find((o) => /\/Type \/Pages/.test(o.dict));
  const kids = [...(/\/Kids \[([^\]]*)\]/.exec(pagesRoot?.dict ?? '')?.[1] ?? '').matchAll(/(\d+) 0 R/g)].map((k) => Number(k[1]));
  return kids.map((pageNum) => {
    const page = objects.get(pageNum);
    const contents = /\/Contents (\d+) 0 R/.exec(page?.dict ?? '');
    const content = objects.get(Number(contents?.[1]))?.stream?.toString('latin1') ?? '';
    const lines: string[] = [];
    let font: Map<number, string> | undefined;
    for (const bt of content.split(/\bBT\b/).slice(1)) {
      const body = bt.split(/\bET\b/)[0] ?? '';
      let line = '';
      for (const tok of body.matchAll(/\/(\w+)\s+[\d.]+\s+Tf|\[([^\]]*)\]\s*TJ|<([0-9a-fA-F]*)>\s*Tj/g)) {
        if (tok[1]) {
          font = fontMaps.get(tok[1]);
          continue;
        }
        const hexes = tok[2] !== undefined ? [...tok[2].matchAll(/<([0-9a-fA-F]*)>/g)].map((h) => h[1] ?? '') : [tok[3] ?? ''];
        for (const hex of hexes) {
          for (let i = 0; i + 4 <= hex.length; i += 4) line += font?.get(parseInt(hex.slice(i, i + 4), 16)) ?? '\uFFFD';
        }
      }
      lines.push(line);
    }
    return lines.join('\n');
  });
}

function pdftotext(file: string): string {
  return execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
}

/** Collapses every kind of white space (the euro amount has a no-break space) to one space. */
function norm(text: string): string {
  return text.replace(/[\s\u00a0\u202f]+/g, ' ');
}

function pageCount(pdf: Buffer): number {
  const m = /\/Type \/Pages[^>]*\/Count (\d+)/.exec(pdf.toString('latin1'));
  return Number(m?.[1] ?? NaN);
}

/** Saves the PDF (and a 60 dpi PNG of page 1 when pdftoppm exists); returns the PDF path. */
function save(name: string, pdf: Buffer): string {
  mkdirSync(OUT_DIR, { recursive: true });
  const file = join(OUT_DIR, `${name}.pdf`);
  writeFileSync(file, pdf);
  if (HAS_PDFTOPPM) execFileSync('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', '-singlefile', file, join(OUT_DIR, name)]);
  return file;
}

/** The text layer of a rendered PDF through every available extractor, each normalised. */
function textLayers(pdf: Buffer, file: string): Array<{ via: string; text: string }> {
  const layers = [{ via: 'zlib', text: norm(extractTextWithZlib(pdf).join('\n')) }];
  if (HAS_PDFTOTEXT) layers.push({ via: 'pdftotext', text: norm(pdftotext(file)) });
  return layers;
}

/** A literal string of the info dictionary (pdfkit writes them as indirect objects), unescaped. */
function infoString(pdf: Buffer, key: string): string {
  const raw = pdf.toString('latin1');
  const ref = new RegExp(`/${key} (\\d+) 0 R`).exec(raw);
  const obj = ref && pdfObjects(pdf).get(Number(ref[1]));
  const literal = /^\(([\s\S]*)\)\s*$/.exec(obj?.dict.trim() ?? '');
  return (literal?.[1] ?? '').replace(/\\([()\\])/g, '$1');
}

function assertValidPdf(tt: Test, pdf: Buffer): void {
  tt.equal(pdf.subarray(0, 8).toString('latin1'), '%PDF-1.7', 'PDF header');
  const tail = pdf.subarray(-64).toString('latin1');
  tt.match(tail, /startxref\s+\d+\s+%%EOF\s*$/, 'trailer ends with startxref and %%EOF');
  const raw = pdf.toString('latin1');
  tt.match(raw, /\/StructTreeRoot/, 'tagged: structure tree');
  tt.match(raw, /\/MarkInfo/, 'tagged: MarkInfo');
  tt.match(raw, /\/Lang \(it-IT\)/, 'document language it-IT');
  tt.match(raw, /\/DisplayDocTitle true/, 'viewer shows the title');
  tt.match(infoString(pdf, 'Title'), /^Avvis[io] di pagamento/, 'Title in the info dictionary');
  tt.match(raw, /\/FontFile2/, 'fonts embedded');
  tt.match(raw, /TitilliumWeb-Bold/, 'Titillium Web used');
}

function assertContains(tt: Test, layers: Array<{ via: string; text: string }>, expected: string[]): void {
  for (const { via, text } of layers) {
    for (const s of expected) tt.ok(text.includes(s), `${via}: text contains ${JSON.stringify(s)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Pure functions
// ---------------------------------------------------------------------------------------------

t.test('QR payload', async (t) => {
  t.equal(noticeQrPayload('301202500000004228', '01234567890', 12050), 'PAGOPA|002|301202500000004228|01234567890|12050');
  t.equal(noticeQrPayload(NAV_SINGLE, '00071560700', 123456), 'PAGOPA|002|301202500000004228|00071560700|123456');
  t.equal(noticeQrPayload(NAV_SINGLE, '00071560700', 5), 'PAGOPA|002|301202500000004228|00071560700|05', 'at least 2 digits');
  t.equal(noticeQrPayload(NAV_SINGLE, '00071560700', 9_999_999_999), 'PAGOPA|002|301202500000004228|00071560700|9999999999');
  const svg = await noticeQrSvg(noticeQrPayload(NAV_SINGLE, '00071560700', 9_999_999_999));
  t.match(svg, /^<svg viewBox="0 0 132 132"/, 'version 4: 33×33 modules of 4 units, even for the longest payload');
  t.match(svg, /<path d="M/, 'vector paths');
  t.notMatch(svg, /<image/, 'no raster image');
});

t.test('Poste DataMatrix payload', async (t) => {
  const payload = posteDataMatrixPayload({
    noticeNumber: '301202500000004228',
    postalAccount: '1234567',
    amountCents: 12050,
    enteFiscalCode: '01234567890',
    debtorFiscalCode: 'rssmra80a01b519x',
    debtorName: 'Mario Rossi',
    subject: 'TARI 2025',
  });
  const expected =
    'codfase=NBPA;' +
    '18301202500000004228' + '12000001234567' + '100000012050' + '3896' +
    '1P1' + '01234567890' +
    'RSSMRA80A01B519X' +
    'Mario Rossi                             ' +
    'TARI 2025' + ' '.repeat(101) +
    '            ' + 'A';
  t.equal(payload, expected);
  t.equal(payload.length, 256);
  // Oracle: the offsets the IO app decoder reads (ui-conventions.md §6).
  t.equal(payload.slice(15, 33), '301202500000004228', 'NAV at [15,33)');
  t.equal(payload.slice(49, 59), '0000012050', 'amount at [49,59)');
  t.equal(payload.slice(66, 77), '01234567890', 'CF ente at [66,77)');
  t.equal(payload.slice(59, 66), '38961P1', 'document type 896 then 1P1 (not 3896P1)');

  const long = posteDataMatrixPayload({
    noticeNumber: NAV_SINGLE,
    postalAccount: '001234567890',
    amountCents: 1,
    enteFiscalCode: '00071560700',
    debtorFiscalCode: '00071560700',
    debtorName: 'Società Agricola Sant’Elia a Pianisi di Niccolò Fràncesco e Figli',
    subject: 'x'.repeat(90),
  });
  t.equal(long.length, 256, 'always 256 characters');
  t.equal(long.slice(77, 93), '00071560700     ', 'an 11-digit debtor code is padded to 16');
  t.equal(long.slice(93, 133), "Societa Agricola Sant'Elia a Pianisi di ", 'name transliterated to ASCII and cut to 40');
  t.match(long, /^[\x20-\x7e]+$/, 'printable ASCII only');
  t.match(await posteDataMatrixSvg(long), /^<svg viewBox="0 0 \d+ \d+"/, 'DataMatrix renders as SVG');
});

t.test('formats', async (t) => {
  t.equal(formatNoticeCode('301202500000004228'), '3012 0250 0000 0042 28');
  t.equal(formatNoticeCode('301202500000004228').length, 22);
  t.equal(formatDueDate('2025-12-31'), '31/12/2025');
  t.throws(() => formatDueDate('2025-02-30'), NoticeDataError);
  t.same([2, 3, 4, 5, 6, 7, 9, 10, 12].map(installmentsPerBand), [2, 3, 2, 3, 3, 3, 3, 2, 3]);
});

t.test('invalid input throws a clear error', async (t) => {
  t.throws(() => noticeQrPayload('30120250000000422', '00071560700', 100), { name: 'NoticeDataError', message: /18 digits/ });
  t.throws(() => noticeQrPayload('30120250000000422X', '00071560700', 100), { message: /18 digits/ });
  t.throws(() => noticeQrPayload(NAV_SINGLE, '0007156070', 100), { message: /fiscal code must be 11 digits/ });
  t.throws(() => noticeQrPayload(NAV_SINGLE, '00071560700', 0), { message: /integer cents between 1/ });
  t.throws(() => noticeQrPayload(NAV_SINGLE, '00071560700', -100), { message: /integer cents between 1/ });
  t.throws(() => noticeQrPayload(NAV_SINGLE, '00071560700', 12.5), { message: /integer cents/ });
  t.throws(() => noticeQrPayload(NAV_SINGLE, '00071560700', 10_000_000_000), { message: /9999999999/ });
  t.throws(() => posteDataMatrixPayload({ ...dmInput(), postalAccount: '1234567890123' }), { message: /postal account/ });

  const cases: Array<[string, NoticeData, string, RegExp]> = [
    ['NAV of 17 digits', { ...single, singlePayment: { ...single.singlePayment!, noticeNumber: '30120250000000422' } }, 'singlePayment.noticeNumber', /18 digits/],
    ['amount 0', { ...single, singlePayment: { ...single.singlePayment!, amountCents: 0 } }, 'singlePayment.amountCents', /between 1/],
    ['negative amount', { ...single, singlePayment: { ...single.singlePayment!, amountCents: -5 } }, 'singlePayment.amountCents', /between 1/],
    ['CF ente of 10 digits', { ...single, creditor: { ...single.creditor, fiscalCode: '0007156070' } }, 'creditor.fiscalCode', /11 digits/],
    ['CF ente with a letter', { ...single, creditor: { ...single.creditor, fiscalCode: '0007156070A' } }, 'creditor.fiscalCode', /11 digits/],
    ['bad due date', { ...single, singlePayment: { ...single.singlePayment!, dueDate: '31/12/2025' } }, 'singlePayment.dueDate', /YYYY-MM-DD/],
    ['no payment at all', { ...base }, 'singlePayment', /rata unica/],
    ['subject too long', { ...single, subject: 'x'.repeat(91) }, 'subject', /at most 90/],
    ['debtor name too long', { ...single, debtor: { ...single.debtor, fullName: 'x'.repeat(71) } }, 'debtor.fullName', /at most 70/],
    ['installment NAV', { ...plan3, installments: [{ ...installments(1)[0]!, noticeNumber: '1234' }] }, 'installments[0].noticeNumber', /18 digits/],
    ['duplicate installment', { ...plan3, installments: [...installments(2), { ...installments(3)[2]!, installmentNumber: 1 }] }, 'installments[2].installmentNumber', /twice/],
    ['postal account', { ...postal, postalAccount: { ...postal.postalAccount!, accountNumber: 'CC123' } }, 'postalAccount.accountNumber', /digits/],
    ['CBILL', { ...single, creditor: { ...single.creditor, cbillCode: 'AB-12' } }, 'creditor.cbillCode', /5 letters/],
  ];
  for (const [label, notice, field, message] of cases) {
    t.throws(() => validateNoticeData(notice), { name: 'NoticeDataError', field, message }, label);
    await t.rejects(renderNoticePdf(notice), { name: 'NoticeDataError', field }, `${label} (render)`);
  }
  await t.rejects(renderNoticesPdf([single, cases[0]![1]]), { name: 'NoticeDataError', field: 'notices[1].singlePayment.noticeNumber' }, 'bulk error names the notice');
  await t.rejects(renderNoticesPdf([]), { name: 'NoticeDataError', field: 'notices' });
  await t.rejects(renderNoticePdf({ ...single, creditor: { ...single.creditor, logoPath: '/nonexistent/logo.png' } }), { name: 'NoticeDataError', field: 'creditor.logoPath' });
});

function dmInput() {
  return {
    noticeNumber: NAV_SINGLE,
    postalAccount: '1234567',
    amountCents: 100,
    enteFiscalCode: '00071560700',
    debtorFiscalCode: 'RSSMRA80A01B519X',
    debtorName: 'Mario Rossi',
    subject: 'TARI',
  };
}

// ---------------------------------------------------------------------------------------------
// Rendered PDFs
// ---------------------------------------------------------------------------------------------

t.test('text extraction tools', async (t) => {
  t.comment(HAS_PDFTOTEXT ? 'pdftotext found: text checked with poppler and zlib' : 'pdftotext missing (apt-get install poppler-utils): zlib extractor only');
  t.pass();
});

t.test('single payment (rata unica)', async (t) => {
  const pdf = await renderNoticePdf(single, { generatedAt: GENERATED_AT });
  const file = save('single', pdf);
  assertValidPdf(t, pdf);
  t.equal(pageCount(pdf), 1, 'one page');
  assertContains(t, textLayers(pdf, file), [
    'AVVISO DI PAGAMENTO',
    'Tassa sui rifiuti (TARI) 2025',
    'ENTE CREDITORE',
    'DESTINATARIO AVVISO',
    'Comune di Campobasso',
    'Servizio Tributi',
    '00071560700',
    'RSSMRA80A01B519X',
    'Via Roma, 12',
    '86100 Campobasso (CB)',
    'QUANTO E QUANDO PAGARE?',
    '1.234,56 €',
    'entro il 31/12/2025',
    'DOVE PAGARE?',
    'PAGA CON L’APP IO',
    'sul sito di Comune di Campobasso',
    'PAGA SUL TERRITORIO',
    'DATI PER IL PAGAMENTO',
    'RATA UNICA',
    'Codice Avviso',
    '3012 0250 0000 0042 28',
    'Codice CBILL',
    'A1B2C',
    'Codice Fiscale Ente Creditore',
    'Pagina 1 di 1',
  ]);
  const raw = pdf.toString('latin1');
  t.notMatch(raw, /\/Subtype \/Image/, 'QR code and SVG logo are vector, no images');
  t.match(raw, /\/Figure/, 'codes and logo are Figure elements');
  t.match(raw, /\/Alt \(/, 'with alternative text');

  const again = await renderNoticePdf(single, { generatedAt: GENERATED_AT });
  t.ok(again.equals(pdf), 'same input and generatedAt → identical bytes');
  const later = await renderNoticePdf(single, { generatedAt: '2025-11-21T09:00:00Z' });
  t.notOk(later.equals(pdf), 'another generatedAt changes the CreationDate');
});

t.test('installment plan (3 rate)', async (t) => {
  const pdf = await renderNoticePdf(plan3, { generatedAt: GENERATED_AT });
  const file = save('installments-3', pdf);
  assertValidPdf(t, pdf);
  t.equal(pageCount(pdf), 1, 'three installments fit in one band on page 1');
  const layers = textLayers(pdf, file);
  assertContains(t, layers, [
    'AVVISO DI PAGAMENTO',
    'Comune di Campobasso',
    '1.234,56 €', // total of the plan in "Quanto e quando pagare?"
    'Puoi pagare in 3 rate',
    'RATA 1',
    'RATA 2',
    'RATA 3',
    '411,52 €',
    'entro il 28/01/2026',
    'entro il 28/03/2026',
    formatNoticeCode(installments(3)[0]!.noticeNumber),
    formatNoticeCode(installments(3)[2]!.noticeNumber),
    '00071560700',
  ]);
  for (const { via, text } of layers) t.notOk(text.includes('RATA UNICA'), `${via}: no rata unica`);

  // Installments given out of order are printed by number.
  const shuffled = await renderNoticePdf({ ...plan3, installments: [...installments(3)].reverse() }, { generatedAt: GENERATED_AT });
  t.ok(shuffled.equals(pdf), 'installment order in the input does not matter');

  // Seven installments: bands of 3, the rest on a second page that repeats the header.
  const plan7 = await renderNoticePdf({ ...single, installments: installments(7, 17636) }, { generatedAt: GENERATED_AT });
  const file7 = save('installments-7', plan7);
  const pages = pageCount(plan7);
  t.ok(pages >= 2, `seven installments and a rata unica need more pages (${pages})`);
  const perPage = extractTextWithZlib(plan7);
  t.equal(perPage.length, pages);
  perPage.forEach((text, i) => {
    t.ok(norm(text).includes('AVVISO DI PAGAMENTO'), `header repeated on page ${i + 1}`);
    t.ok(norm(text).includes(`Pagina ${i + 1} di ${pages}`), `page number on page ${i + 1}`);
  });
  assertContains(t, textLayers(plan7, file7), ['Puoi pagare per intero o in 7 rate', 'RATA 7', 'RATA UNICA']);
});

t.test('with Bollettino Postale PA', async (t) => {
  const pdf = await renderNoticePdf(postal, { generatedAt: GENERATED_AT });
  const file = save('postal', pdf);
  assertValidPdf(t, pdf);
  t.equal(pageCount(pdf), 1, 'rata unica and its bollettino on one page');
  assertContains(t, textLayers(pdf, file), [
    'AVVISO DI PAGAMENTO',
    'BOLLETTINO POSTALE PA',
    'Rata unica entro il 31/12/2025',
    'sul C/C n.',
    '000001234567',
    'intestato a',
    'Comune di Campobasso - Servizio Tesoreria',
    'AUT. DB/SSIC/E 12345 DEL',
    'P1',
    '3012 0250 0000 0042 28',
    '1.234,56 €',
    '00071560700',
  ]);
  t.notMatch(pdf.toString('latin1'), /\/Subtype \/Image/, 'DataMatrix is vector');

  const plan = await renderNoticePdf({ ...postal, installments: installments(3) }, { generatedAt: GENERATED_AT });
  const planFile = save('postal-installments-3', plan);
  const pages = pageCount(plan);
  t.equal(pages, 2, 'rata unica + bollettino on page 1; the band of 3 rate and their 3 bollettini on page 2');
  const text = norm(pdftotextOrZlib(plan, planFile));
  for (const n of [1, 2, 3]) t.ok(text.includes(`Rata ${n} entro il`), `bollettino for installment ${n}`);
  t.equal(text.split('BOLLETTINO POSTALE PA').length - 1, 4, 'four bollettini: rata unica and three installments');
});

function pdftotextOrZlib(pdf: Buffer, file: string): string {
  return HAS_PDFTOTEXT ? pdftotext(file) : extractTextWithZlib(pdf).join('\n');
}

t.test('several notices in one PDF (bulk printing)', async (t) => {
  const other: NoticeData = {
    ...single,
    creditor: { ...single.creditor, logoPath: undefined },
    debtor: { fullName: 'Lucia Bianchi', fiscalCode: 'BNCLCU85M41B519K' },
    singlePayment: { noticeNumber: nav('01', 2025000000043), amountCents: 9900, dueDate: '2026-01-31' },
  };
  const pdf = await renderNoticesPdf([single, other], { generatedAt: GENERATED_AT });
  const file = save('bulk', pdf);
  assertValidPdf(t, pdf);
  t.equal(pageCount(pdf), 2, 'one page per notice');
  const pages = extractTextWithZlib(pdf).map(norm);
  t.ok(pages[0]?.includes('Mario Rossi') && !pages[0].includes('Lucia Bianchi'), 'page 1 is the first notice');
  t.ok(pages[1]?.includes('Lucia Bianchi') && pages[1].includes('99,00 €'), 'page 2 is the second notice');
  t.ok(pages[1]?.includes('Pagina 1 di 1'), 'page numbers restart for each notice');
  assertContains(t, textLayers(pdf, file), ['Avvis', '3012 0250 0000 0042 28', formatNoticeCode(nav('01', 2025000000043))]);
  t.equal(infoString(pdf, 'Title'), 'Avvisi di pagamento (2)');
});

// ---------------------------------------------------------------------------------------------
// Codes drawn from their modules, caches shared between documents
// ---------------------------------------------------------------------------------------------

t.test('code matrices: QR version 4 and the Poste DataMatrix, the right way up', async (t) => {
  const qr = await noticeQrModules(noticeQrPayload(NAV_SINGLE, '00071560700', 123456));
  t.equal(qr.size, 33, 'QR version 4');
  const at = (m: { size: number; modules: Uint8Array }, r: number, c: number) => m.modules[r * m.size + c];
  const ring = (r0: number, c0: number) =>
    [0, 1, 2, 3, 4, 5, 6].every((i) => at(qr, r0, c0 + i) === 1 && at(qr, r0 + 6, c0 + i) === 1 && at(qr, r0 + i, c0) === 1 && at(qr, r0 + i, c0 + 6) === 1);
  for (const [r0, c0] of [[0, 0], [0, 26], [26, 0]] as const) t.ok(ring(r0, c0), `finder pattern at ${r0},${c0}`);
  t.notOk(ring(26, 26), 'no finder pattern bottom right');

  const dm = await posteDataMatrixModules(posteDataMatrixPayload(dmInput()));
  t.equal(dm.modules.length, dm.size * dm.size);
  t.ok(dm.size >= 44 && dm.size <= 64, `square ECC 200 symbol for 256 characters (${dm.size}×${dm.size})`);
  const last = dm.size - 1;
  t.ok(Array.from({ length: dm.size }, (_, i) => at(dm, i, 0) === 1 && at(dm, last, i) === 1).every(Boolean), 'solid L finder: left column and bottom row');
  t.ok(Array.from({ length: dm.size }, (_, i) => at(dm, 0, i) === (i % 2 === 0 ? 1 : 0)).every(Boolean), 'clock track on the top row');
  t.ok(Array.from({ length: dm.size }, (_, i) => at(dm, i, last) === (i % 2 === 0 ? 0 : 1)).every(Boolean), 'clock track on the right column');

  // Same symbol as bwip-js's own SVG renderer: both have the same size, and the matrix rebuilt
  // from the SVG outline (sampling the centre of every module) is the same.
  const svg = await posteDataMatrixSvg(posteDataMatrixPayload(dmInput()));
  const box = Number(/viewBox="0 0 (\d+) \d+"/.exec(svg)?.[1]);
  t.equal(box % dm.size, 0, 'whole modules in the SVG');
  t.same(svgModules(svg, dm.size), Array.from(dm.modules), 'bwip-js SVG and raw modules agree');
});

/** Samples an outline SVG path (M/L/Z absolute commands, even-odd) at the centre of each module. */
function svgModules(svg: string, size: number): number[] {
  const box = Number(/viewBox="0 0 (\d+) \d+"/.exec(svg)?.[1]);
  const unit = box / size;
  const polys: Array<Array<[number, number]>> = [];
  for (const [, d] of svg.matchAll(/ d="([^"]+)"/g)) {
    let poly: Array<[number, number]> = [];
    for (const [, cmd, x, y] of (d ?? '').matchAll(/([MLZ])\s*(?:(-?[\d.]+)\s+(-?[\d.]+))?/g)) {
      if (cmd === 'M') {
        if (poly.length) polys.push(poly);
        poly = [[Number(x), Number(y)]];
      } else if (cmd === 'L') poly.push([Number(x), Number(y)]);
      else if (cmd === 'Z') {
        polys.push(poly);
        poly = [];
      }
    }
    if (poly.length) polys.push(poly);
  }
  const inside = (px: number, py: number) => {
    let n = 0;
    for (const poly of polys) {
      for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
        const [xi, yi] = poly[i]!;
        const [xj, yj] = poly[j]!;
        if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) n++;
      }
    }
    return n % 2;
  };
  const out: number[] = [];
  for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) out.push(inside((c + 0.5) * unit, (r + 0.5) * unit));
  return out;
}

t.test('the Poste DataMatrix in the PDF decodes to its payload', { skip: HAS_PDFTOPPM && HAS_DMTXREAD ? false : 'needs pdftoppm and dmtxread (apt-get install poppler-utils dmtx-utils)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'notice-dm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pdf = await renderNoticePdf(postal, { generatedAt: GENERATED_AT });
  writeFileSync(join(dir, 'n.pdf'), pdf);
  execFileSync('pdftoppm', ['-r', '300', '-png', '-f', '1', '-l', '1', '-singlefile', join(dir, 'n.pdf'), join(dir, 'p')]);
  const decoded = execFileSync('dmtxread', ['-n', '-N', '1', join(dir, 'p.png')], { encoding: 'latin1', timeout: 60_000 }).replace(/\n$/, '');
  const expected = posteDataMatrixPayload({
    noticeNumber: NAV_SINGLE,
    postalAccount: postal.postalAccount!.accountNumber,
    amountCents: postal.singlePayment!.amountCents,
    enteFiscalCode: postal.creditor.fiscalCode,
    debtorFiscalCode: postal.debtor.fiscalCode,
    debtorName: postal.debtor.fullName,
    subject: postal.subject,
  });
  t.equal(decoded, expected);
});

/** The decoded FontFile2 streams (TrueType subsets) of a PDF, in object order. */
function fontPrograms(pdf: Buffer): Buffer[] {
  const objects = pdfObjects(pdf);
  const refs = [...objects.values()].flatMap((o) => [...o.dict.matchAll(/\/FontFile2 (\d+) 0 R/g)].map((m) => Number(m[1])));
  return refs.map((n) => objects.get(n)!.stream!);
}

t.test('documents share caches without sharing state', async (t) => {
  const first = await renderNoticePdf(single, { generatedAt: GENERATED_AT });
  await renderNoticePdf(postal, { generatedAt: GENERATED_AT });
  await renderNoticePdf({ ...single, installments: installments(7, 17636) }, { generatedAt: GENERATED_AT });
  const again = await renderNoticePdf(single, { generatedAt: GENERATED_AT });
  t.ok(again.equals(first), 'a notice renders to the same bytes whatever was rendered before');

  // Names that use only common letters give the same embedded font subsets (encoded once).
  const other = await renderNoticePdf({ ...single, debtor: { ...single.debtor, fullName: 'Zeno Quaglia' } }, { generatedAt: GENERATED_AT });
  const a = fontPrograms(first);
  const b = fontPrograms(other);
  t.equal(a.length, 3, 'three fonts embedded');
  t.ok(a.every((p, i) => p.equals(b[i]!)), 'same font subsets');

  // A letter outside the common set is still embedded and extractable.
  const rare = await renderNoticePdf({ ...single, debtor: { ...single.debtor, fullName: 'Łukasz Ørsted Ñúñez' } }, { generatedAt: GENERATED_AT });
  const file = save('rare-letters', rare);
  assertContains(t, textLayers(rare, file), ['Łukasz Ørsted Ñúñez']);
  t.notOk(fontPrograms(rare).every((p, i) => p.equals(a[i]!)), 'a larger subset for the rare letters');
});

/** A PNG (8-bit RGB or RGBA) of a red disc, for logo tests. */
function pngDisc(size: number, alpha: boolean): Buffer {
  const bpp = alpha ? 4 : 3;
  const raw = Buffer.alloc((size * bpp + 1) * size, 0xff);
  for (let y = 0; y < size; y++) {
    raw[y * (size * bpp + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const o = y * (size * bpp + 1) + 1 + x * bpp;
      const inside = (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 2.2) ** 2;
      if (inside) raw.set([200, 30, 40], o);
      if (alpha) raw[o + 3] = inside ? 255 : 0;
    }
  }
  return encodePng(size, size, raw, alpha);
}

t.test('raster logos (PNG stemma) are embedded once per document', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'notice-logo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rgba = join(dir, 'stemma.png');
  writeFileSync(rgba, pngDisc(300, true));
  const rgb = join(dir, 'stemma-rgb.png');
  writeFileSync(rgb, pngDisc(200, false));
  const twoPages: NoticeData = { ...single, creditor: { ...single.creditor, logoPath: rgba }, installments: installments(7, 17636) };

  const pdf = await renderNoticePdf(twoPages, { generatedAt: GENERATED_AT });
  const file = save('png-logo', pdf);
  t.ok(pageCount(pdf) >= 2, 'the logo is in the header of two pages');
  const raw = pdf.toString('latin1');
  t.equal(raw.match(/\/Subtype \/Image/g)?.length, 2, 'one image and its alpha mask (SMask), shared by the pages');
  t.match(raw, /\/SMask \d+ 0 R/);
  t.equal(raw.match(/\/Logo1 \d+ 0 R/g)?.length, pageCount(pdf), 'every page uses the one image');
  t.ok((await renderNoticePdf(twoPages, { generatedAt: GENERATED_AT })).equals(pdf), 'same bytes the second time (logo from the cache)');
  assertContains(t, textLayers(pdf, file), ['AVVISO DI PAGAMENTO', 'RATA 7']);

  const bulk = await renderNoticesPdf(
    [twoPages, { ...single, creditor: { ...single.creditor, logoPath: rgb } }, { ...single, creditor: { ...single.creditor, logoPath: rgba } }],
    { generatedAt: GENERATED_AT },
  );
  t.equal(bulk.toString('latin1').match(/\/Subtype \/Image/g)?.length, 3, 'two logos in one bulk PDF: each written once');

  if (HAS_PDFTOPPM) {
    // The logo is drawn: the top right corner of page 1 is not blank.
    execFileSync('pdftoppm', ['-r', '30', '-png', '-f', '1', '-l', '1', '-x', '200', '-y', '0', '-W', '48', '-H', '60', '-singlefile', file, join(dir, 'corner')]);
    t.ok(readPng(join(dir, 'corner.png')).some((v) => v < 200), 'red pixels where the logo is');
  }

  const broken = join(dir, 'broken.png');
  writeFileSync(broken, Buffer.from('not a png'));
  await t.rejects(renderNoticePdf({ ...single, creditor: { ...single.creditor, logoPath: broken } }), { name: 'NoticeDataError', field: 'creditor.logoPath' });
});

/** Raw samples of a PNG written by pdftoppm (8-bit RGB, filter bytes dropped, good enough here). */
function readPng(file: string): number[] {
  const data = readFileSync(file);
  const idat: Buffer[] = [];
  for (let at = 8; at < data.length; ) {
    const len = data.readUInt32BE(at);
    if (data.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(data.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  return Array.from(inflateSync(Buffer.concat(idat)));
}
