/** The helpdesk dashboard's SVG chart of amounts per day (src/modules/helpdesk/chart.ts). */
import t from 'tap';
import { DOMParser } from '@xmldom/xmldom';
import { axisLabel, axisTop, barChartSvg, type DayPoint } from '../../src/modules/helpdesk/chart.js';

const labelsOf = (svg: string) => [...svg.matchAll(/<text [^>]*text-anchor="end"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

t.test('axisTop: the smallest 1-2-5 step of at least 1 € that holds the maximum; quarters are whole cents', async (t) => {
  const cases: [number, number][] = [[0, 100], [1, 100], [100, 100], [101, 200], [250, 500], [501, 1000], [12_345, 20_000], [50_000, 50_000], [987_654_321, 1_000_000_000]];
  for (const [max, top] of cases) {
    t.equal(axisTop(max), top, `max ${max} cents → top ${top}`);
    t.ok(Number.isInteger(top / 4), 'its quarters are whole cents');
  }
});

t.test('the y-axis labels are five distinct amounts from 0 € to the top', async (t) => {
  const day = (d: number, cents: number): DayPoint => ({ day: `2026-11-${String(d).padStart(2, '0')}`, cents, count: cents ? 1 : 0 });
  const series = (maxCents: number) => [day(1, 0), day(2, Math.floor(maxCents / 3)), day(3, maxCents)];
  // As formatEuro: a no-break space before the sign, thousands grouped from four digits.
  const eur = (s: string) => s.split('|').map((x) => x.replace(' €', '\u00a0€'));
  t.same(labelsOf(barChartSvg(series(0), { title: 'x' })), eur('0 €|0,25 €|0,50 €|0,75 €|1 €'), 'nothing collected: 0 to 1 €');
  t.same(labelsOf(barChartSvg(series(430), { title: 'x' })), eur('0 €|1,25 €|2,50 €|3,75 €|5 €'));
  t.same(labelsOf(barChartSvg(series(1_234_567), { title: 'x' })), eur('0 €|5.000 €|10.000 €|15.000 €|20.000 €'));
  for (const max of [1, 99, 777, 20_001, 3_333_333]) {
    const labels = labelsOf(barChartSvg(series(max), { title: 'x' }));
    t.equal(new Set(labels).size, 5, `max ${max}: ${labels.join(', ')}`);
  }
  t.equal(axisLabel(12_300), '123\u00a0€');
  t.equal(axisLabel(125), '1,25\u00a0€');
});

t.test('well-formed SVG with escaped text; the tallest bar reaches the top line; exact amounts in the bars’ titles', async (t) => {
  const svg = barChartSvg([{ day: '2026-11-30', cents: 12_345, count: 2 }], { title: 'Incassi <di> "prova" & altro' });
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const root = doc.documentElement!;
  t.equal(root.getElementsByTagName('title')[0]!.textContent, 'Incassi <di> "prova" & altro', 'the title, escaped in the markup, reads back as given');
  const rect = root.getElementsByTagName('rect')[0]!;
  t.match(rect.getElementsByTagName('title')[0]!.textContent, '123,45');
  const lines = [...svg.matchAll(/<line [^>]*y1="([\d.]+)"[^>]*stroke="#d9dadb"/g)].map((m) => Number(m[1]));
  t.ok(Number(rect.getAttribute('y')) > Math.min(...lines), 'a bar below the top (20 000 cents holds 12 345)');
});
