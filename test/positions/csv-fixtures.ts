/** CSV files for import tests and benchmarks: N positions of Campobasso, optionally with known bad rows. */
import { personalCheckChar } from '../../src/domain/fiscal-code.js';

export const IMPORT_HEADER = ['iupd', 'tipo_debitore', 'cf_debitore', 'nominativo_debitore', 'descrizione', 'rata', 'importo', 'scadenza', 'trasf1_importo', 'trasf1_causale', 'trasf1_tassonomia'];

/** A valid personal fiscal code that differs by `i`. */
export function fiscalCodeFor(i: number): string {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const a = letters[i % 26]!;
  const b = letters[Math.floor(i / 26) % 26]!;
  const c = letters[Math.floor(i / 676) % 26]!;
  const first15 = `RSS${a}${b}${c}80A01B519`;
  return first15 + personalCheckChar(first15);
}

export function dueIn(days: number): string {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${String(d.getUTCDate()).padStart(2, '0')}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${d.getUTCFullYear()}`;
}

/** One single-payment position per row; rows listed in `bad` get a known error. */
export function positionsCsv(n: number, opts: { prefix?: string; bad?: Record<number, 'sum' | 'cf' | 'date'> } = {}): string {
  const prefix = opts.prefix ?? 'IMP';
  const lines = [IMPORT_HEADER.join(';')];
  const due = dueIn(40);
  for (let i = 0; i < n; i++) {
    const kind = opts.bad?.[i];
    const cf = kind === 'cf' ? 'RSSMRA80A01B519X' : fiscalCodeFor(i);
    const transfer = kind === 'sum' ? '10,00' : '25,50';
    const scadenza = kind === 'date' ? '31/02/2027' : due;
    lines.push([`${prefix}-${i}`, 'F', cf, `Cittadino ${i}`, 'Mensa scolastica', '', '25,50', scadenza, transfer, 'Mensa', '9/0201133IM/'].join(';'));
  }
  return lines.join('\r\n') + '\r\n';
}
