/**
 * Geometry of the dashboard's bar charts, drawn as inline SVG by the page's template
 * (templates/catalogue/dashboard-page.hbs): no client chart library, no script. Pure functions:
 * numbers in, coordinates and already formatted labels out; the template escapes every label.
 * Each chart is `role="img"` with a <title> and <desc>, and its figures are also in a table.
 * The two series of the revenue chart differ by fill (solid / outlined), not by colour alone.
 */
import { formatEuro } from '../../domain/money.js';
import type { RevenueYear, TrainingFill } from './dashboard-queries.js';

export interface SvgRect {
  x: string;
  y: string;
  w: string;
  h: string;
  /** Tooltip (<title> of the bar). */
  tip: string;
  kind: string;
}

export interface SvgText {
  x: string;
  y: string;
  text: string;
  anchor: 'start' | 'middle' | 'end';
}

export interface SvgLine {
  x1: string;
  x2: string;
  y1: string;
  y2: string;
}

export interface BarChartModel {
  id: string;
  title: string;
  desc: string;
  width: number;
  height: number;
  grid: SvgLine[];
  axis: SvgLine;
  bars: SvgRect[];
  labels: SvgText[];
  legend: { x: string; y: string; kind: string; text: string; tx: string; ty: string }[];
  empty: boolean;
}

const f = (n: number) => n.toFixed(1);
const DAY = new Intl.DateTimeFormat('it-IT', { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'Europe/Rome' });

/** A "nice" upper bound for an axis (1, 2, 2.5 or 5 × 10^k) at least `v`. */
export function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Whole euro, Italian grouping, for axis labels ("12.500 €"). */
function euroShort(cents: number): string {
  return `${Math.round(cents / 100).toLocaleString('it-IT')}\u00a0€`;
}

/** Revenue per year: for each year a pair of bars, issued (outlined) and paid (solid). */
export function revenueChart(rows: RevenueYear[], opts: { width?: number; height?: number } = {}): BarChartModel {
  const W = opts.width ?? 760;
  const H = opts.height ?? 260;
  const pad = { l: 84, r: 12, t: 34, b: 30 };
  const top = niceMax(Math.max(0, ...rows.flatMap((r) => [r.issuedCents, r.paidCents])));
  const y = (c: number) => H - pad.b - ((H - pad.t - pad.b) * c) / top;
  const grid: SvgLine[] = [];
  const labels: SvgText[] = [];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const yy = f(y(top * t));
    grid.push({ x1: String(pad.l), x2: String(W - pad.r), y1: yy, y2: yy });
    labels.push({ x: String(pad.l - 6), y: f(y(top * t) + 4), text: euroShort(top * t), anchor: 'end' });
  }
  const step = (W - pad.l - pad.r) / Math.max(1, rows.length);
  const bw = Math.min(28, Math.max(3, (step * 0.8) / 2));
  const bars: SvgRect[] = [];
  rows.forEach((r, i) => {
    const x0 = pad.l + i * step + (step - 2 * bw) / 2;
    for (const [k, cents, n, word] of [
      ['issued', r.issuedCents, r.issuedCount, 'emessi'],
      ['paid', r.paidCents, r.paidCount, 'pagati'],
    ] as const) {
      const x = x0 + (k === 'paid' ? bw : 0);
      const yy = y(cents);
      bars.push({ x: f(x), y: f(yy), w: f(bw), h: f(Math.max(0, H - pad.b - yy)), tip: `${r.year}, ${word}: ${formatEuro(cents)} (${n})`, kind: k });
    }
    labels.push({ x: f(x0 + bw), y: String(H - pad.b + 18), text: String(r.year), anchor: 'middle' });
  });
  return {
    id: 'chart-revenue',
    title: 'Addebiti emessi e pagati per anno',
    desc: 'Grafico a barre: per ogni anno l’importo degli addebiti emessi (barra vuota) e di quelli pagati (barra piena); i valori sono nella tabella che segue.',
    width: W,
    height: H,
    grid,
    axis: { x1: String(pad.l), x2: String(W - pad.r), y1: String(H - pad.b), y2: String(H - pad.b) },
    bars,
    labels,
    legend: [
      { x: String(pad.l), y: '8', kind: 'issued', text: 'Emessi', tx: String(pad.l + 20), ty: '20' },
      { x: String(pad.l + 100), y: '8', kind: 'paid', text: 'Pagati', tx: String(pad.l + 120), ty: '20' },
    ],
    empty: rows.length === 0,
  };
}

/** Training fill rate: one horizontal bar per session (seats taken / seats), with its percentage. */
export function trainingChart(rows: TrainingFill[], opts: { width?: number } = {}): BarChartModel {
  const W = opts.width ?? 760;
  const rowH = 26;
  const pad = { l: 84, r: 64, t: 8, b: 24 };
  const H = pad.t + pad.b + Math.max(1, rows.length) * rowH;
  const x = (pct: number) => pad.l + ((W - pad.l - pad.r) * Math.min(100, pct)) / 100;
  const grid: SvgLine[] = [];
  const labels: SvgText[] = [];
  for (const p of [0, 25, 50, 75, 100]) {
    grid.push({ x1: f(x(p)), x2: f(x(p)), y1: String(pad.t), y2: String(H - pad.b) });
    labels.push({ x: f(x(p)), y: String(H - 6), text: `${p}\u00a0%`, anchor: p === 0 ? 'start' : p === 100 ? 'end' : 'middle' });
  }
  const bars: SvgRect[] = [];
  rows.forEach((r, i) => {
    const yy = pad.t + i * rowH + 4;
    bars.push({ x: String(pad.l), y: String(yy), w: f(x(r.fillPercent) - pad.l), h: String(rowH - 8), tip: `${r.title}: ${r.taken} su ${r.seats} posti`, kind: 'fill' });
    labels.push({ x: f(x(r.fillPercent) + 4), y: String(yy + rowH / 2), text: `${r.fillPercent.toLocaleString('it-IT')}\u00a0%`, anchor: 'start' });
    labels.push({ x: String(pad.l - 6), y: String(yy + rowH / 2), text: DAY.format(new Date(r.startsAt)), anchor: 'end' });
  });
  return {
    id: 'chart-training',
    title: 'Riempimento delle sessioni di formazione',
    desc: 'Grafico a barre orizzontali: per ogni sessione la percentuale dei posti occupati; titoli, posti e iscritti sono nella tabella che segue.',
    width: W,
    height: H,
    grid,
    axis: { x1: String(pad.l), x2: String(pad.l), y1: String(pad.t), y2: String(H - pad.b) },
    bars,
    labels,
    legend: [],
    empty: rows.length === 0,
  };
}
