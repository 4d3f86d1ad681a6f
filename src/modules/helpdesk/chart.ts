/**
 * The helpdesk dashboard's chart of amounts collected per day, drawn on the server as SVG
 * (accessible: role img with a title and a description; the page has the same data as a table).
 * Pure: numbers in, markup out.
 */
import Handlebars from 'handlebars';
import { formatEuro } from '../../domain/money.js';

export interface DayPoint {
  day: string;
  cents: number;
  count: number;
}

const esc = (s: string) => Handlebars.escapeExpression(s);

/**
 * The axis top: the smallest 1, 2 or 5 × 10^k cents (at least 1 €) that holds `maxCents`. Its
 * quarters are whole cents, so the five labels are exact and distinct (a top of 1 € used to be
 * labelled "0 €, 0 €, 1 €, 1 €, 1 €").
 */
export function axisTop(maxCents: number): number {
  let top = 100;
  for (;;) {
    for (const m of [1, 2, 5]) if (top * m >= maxCents) return top * m;
    top *= 10;
  }
}

/** As formatEuro (src/domain/money.ts), grouped from four digits, without the cents. */
const WHOLE_EURO = new Intl.NumberFormat('it-IT', { style: 'currency', currency: 'EUR', maximumFractionDigits: 0, useGrouping: 'always' } as unknown as Intl.NumberFormatOptions);

/** An axis label: whole euros when the value is ("20.000 €"), else with its cents ("1,25 €"). */
export function axisLabel(cents: number): string {
  return cents % 100 === 0 ? WHOLE_EURO.format(cents / 100) : formatEuro(cents);
}

export function barChartSvg(series: DayPoint[], opts: { width?: number; height?: number; title: string }): string {
  const W = opts.width ?? 760;
  const H = opts.height ?? 240;
  const pad = { l: 64, r: 12, t: 16, b: 36 };
  const max = axisTop(Math.max(0, ...series.map((p) => p.cents)));
  const step = (W - pad.l - pad.r) / Math.max(1, series.length);
  const bw = Math.max(2, step * 0.7);
  const y = (c: number) => H - pad.b - ((H - pad.t - pad.b) * c) / max;
  const ticks = [0, 1, 2, 3, 4].map((q) => (max * q) / 4);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="chart-title chart-desc" class="hd-chart">`);
  parts.push(`<title id="chart-title">${esc(opts.title)}</title><desc id="chart-desc">Importi incassati per giorno; i valori sono nella tabella che segue.</desc>`);
  for (const t of ticks) {
    parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#d9dadb" stroke-width="1"/>`);
    parts.push(`<text x="${pad.l - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#5d7083">${esc(axisLabel(t))}</text>`);
  }
  series.forEach((p, i) => {
    const x = pad.l + i * step + (step - bw) / 2;
    const top = y(p.cents);
    if (p.cents > 0) parts.push(`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${bw.toFixed(1)}" height="${(H - pad.b - top).toFixed(1)}" fill="#0066cc"><title>${esc(`${p.day}: ${formatEuro(p.cents)} (${p.count})`)}</title></rect>`);
    if (i % Math.ceil(series.length / 10) === 0) parts.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${H - pad.b + 16}" text-anchor="middle" font-size="11" fill="#5d7083">${esc(`${p.day.slice(8, 10)}/${p.day.slice(5, 7)}`)}</text>`);
  });
  parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" stroke="#5d7083" stroke-width="1"/>`);
  parts.push('</svg>');
  return parts.join('');
}
