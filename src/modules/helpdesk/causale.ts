/**
 * Tolerant parser of the causale (AT-05 remittance information) of a treasury credit
 * (reconciliation.md §2, pagopa.md §9). Pure, no I/O.
 *
 * - cumulative: `/PUR/LGPE-RIVERSAMENTO/[TXT/<n>/]URI/<identificativoFlusso>`
 * - top-up:     `/PUR/LGPE-INTEGRAZIONE/URI/<identificativoFlusso>`
 * - single:     `/RFS/<RF creditor reference>/<importo>[/TXT/…]`, `/RFB/<IUV>[/<importo>][/TXT/…]`
 *
 * Real statements carry noise around the token (`RI1/PUR/…`, `:RI3:` tags, bank words) and
 * spaces inserted by line wrapping anywhere, even inside the flow id: whitespace is removed
 * before matching, never parsed by position. Because removing spaces may glue trailing words to
 * the flow id, the parser returns the longest plausible id; the matcher then accepts the longest
 * known flow id that is a prefix of it ({@link resolveFlowId}).
 */

export type ParsedCausale =
  | { kind: 'flow'; flowId: string }
  | { kind: 'integration'; flowId: string }
  | { kind: 'iuv'; iuv: string; form: 'RFB' | 'RFS'; amountCents: number | null }
  | { kind: 'none' };

/** GovPay: causale longer than 512 characters is not valid. */
export const MAX_CAUSALE_LENGTH = 512;

const FLOW_RE = /\/PUR\/LGPE-(RIVERSAMENTO|INTEGRAZIONE)\/(?:TXT\/[^/]*\/)?URI\/([A-Za-z0-9_-]{1,35})/i;
const SINGLE_RE = /\/(RFB|RFS)\/([A-Za-z0-9]{1,35})(?:\/(\d{1,12}(?:[.,]\d{1,2})?)(?![\d.,]))?/i;

function amount(s: string | undefined): number | null {
  if (!s) return null;
  const [i, d = ''] = s.replace(',', '.').split('.');
  const cents = Number(i) * 100 + Number(d.padEnd(2, '0'));
  return Number.isSafeInteger(cents) ? cents : null;
}

export function parseCausale(raw: string): ParsedCausale {
  if (!raw || raw.length > MAX_CAUSALE_LENGTH * 2) return { kind: 'none' };
  // Line-wrap spaces, tabs, newlines; also the `:RI3:`-style tags some banks insert.
  const s = raw.replace(/\s+/g, '').replace(/:RI\d:/gi, '');
  const f = FLOW_RE.exec(s);
  if (f) return { kind: f[1]!.toUpperCase() === 'INTEGRAZIONE' ? 'integration' : 'flow', flowId: f[2]! };
  const m = SINGLE_RE.exec(s);
  if (m) {
    const form = m[1]!.toUpperCase() as 'RFB' | 'RFS';
    const ref = m[2]!.toUpperCase();
    // RFS: ISO 11649 creditor reference RFkk + IUV; the IUV is what follows the check digits.
    const iuv = form === 'RFS' && /^RF\d{2}/.test(ref) ? ref.slice(4) : ref;
    if (iuv.length < 1) return { kind: 'none' };
    return { kind: 'iuv', iuv, form, amountCents: amount(m[3]) };
  }
  return { kind: 'none' };
}

/**
 * The flow a parsed id designates among the known ones: exact match, else the longest known id
 * that is a prefix of the parsed one (trailing noise glued by space removal). Null when none.
 */
export function resolveFlowId(parsed: string, known: Iterable<string>): string | null {
  let best: string | null = null;
  for (const k of known) {
    if (k === parsed) return k;
    if (parsed.startsWith(k) && (best === null || k.length > best.length)) best = k;
  }
  return best;
}
