/** The listino's pure arithmetic: classes by population, validity windows, modes, resolution order. */
import t from 'tap';
import {
  classifyPopulation,
  computeTotal,
  isValidOn,
  resolvePrice,
  validateBands,
  validateClassBands,
  type ListLike,
  type PriceLike,
} from '../../src/modules/catalogue/pricing.js';
import { SEED_CLASSES } from '../../src/modules/catalogue/services-seed.js';

const classes = SEED_CLASSES.map((c, i) => ({ ...c, id: i + 1 }));

t.test('classify an ente by population: band edges inclusive, unknown population → no class', async (t) => {
  t.equal(classifyPopulation(classes, 0)?.code, 'A');
  t.equal(classifyPopulation(classes, 1000)?.code, 'A');
  t.equal(classifyPopulation(classes, 1001)?.code, 'B');
  t.equal(classifyPopulation(classes, 5000)?.code, 'C');
  t.equal(classifyPopulation(classes, 15001)?.code, 'E');
  t.equal(classifyPopulation(classes, 48747)?.code, 'E');
  t.equal(classifyPopulation(classes, null), null);
  t.equal(classifyPopulation(classes, -3), null);
});

t.test('class bands: the seeded set is valid; overlaps, gaps, open band not last are named', async (t) => {
  t.same(validateClassBands(SEED_CLASSES), []);
  const overlap = validateClassBands([
    { code: 'A', minPopulation: 0, maxPopulation: 1000 },
    { code: 'B', minPopulation: 900, maxPopulation: null },
  ]);
  t.match(overlap.join(' '), /A e B si sovrappongono/);
  const gap = validateClassBands([
    { code: 'A', minPopulation: 0, maxPopulation: 1000 },
    { code: 'B', minPopulation: 2000, maxPopulation: null },
  ]);
  t.match(gap.join(' '), /mancano le popolazioni da 1\.001 a 1\.999/);
  t.match(validateClassBands([{ code: 'A', minPopulation: 5, maxPopulation: null }]).join(' '), /partire da 0/);
  t.match(validateClassBands([{ code: 'A', minPopulation: 0, maxPopulation: 10 }]).join(' '), /senza massimo/);
  t.match(validateClassBands([{ code: 'A', minPopulation: 0, maxPopulation: null }, { code: 'B', minPopulation: 10, maxPopulation: null }]).join(' '), /non è l’ultima fascia/);
});

t.test('validity windows: from and to inclusive, null to open-ended', async (t) => {
  const w = { validFrom: '2026-01-01', validTo: '2026-12-31' };
  t.notOk(isValidOn(w, '2025-12-31'));
  t.ok(isValidOn(w, '2026-01-01'));
  t.ok(isValidOn(w, '2026-12-31'));
  t.notOk(isValidOn(w, '2027-01-01'));
  t.ok(isValidOn({ validFrom: '2020-01-01', validTo: null }, '2099-06-30'));
});

t.test('modes: fixed ignores quantity, per_unit multiplies, bands take the band of the whole quantity', async (t) => {
  t.same(computeTotal({ mode: 'fixed', amountCents: 50000, bands: null }, 3), { amountCents: 50000, totalCents: 50000 });
  t.same(computeTotal({ mode: 'per_unit', amountCents: 3500, bands: null }, 7), { amountCents: 3500, totalCents: 24500 });
  const bands = [
    { from: 1, to: 10, amountCents: 15000 },
    { from: 11, to: 30, amountCents: 35000 },
    { from: 31, to: null, amountCents: 60000 },
  ];
  t.same(computeTotal({ mode: 'bands', amountCents: null, bands }, 10), { amountCents: 15000, totalCents: 15000 });
  // Whole-quantity, not tiered: 12 mailboxes cost the 11–30 band's amount, not 150 € + 2 × something.
  t.same(computeTotal({ mode: 'bands', amountCents: null, bands }, 12), { amountCents: 35000, totalCents: 35000 });
  t.same(computeTotal({ mode: 'bands', amountCents: null, bands }, 500), { amountCents: 60000, totalCents: 60000 });
  t.equal(computeTotal({ mode: 'bands', amountCents: null, bands: bands.slice(0, 2) }, 31), null, 'outside every band: no price');
  t.equal(computeTotal({ mode: 'per_unit', amountCents: 100, bands: null }, 0), null, 'quantity must be ≥ 1');
  t.equal(computeTotal({ mode: 'fixed', amountCents: null, bands: null }, 1), null);
});

t.test('bands validation: contiguous from 1, only the last open', async (t) => {
  t.same(validateBands([{ from: 1, to: 10, amountCents: 1 }, { from: 11, to: null, amountCents: 2 }]), []);
  t.match(validateBands([{ from: 2, to: 10, amountCents: 1 }]).join(' '), /partire da 1/);
  t.match(validateBands([{ from: 1, to: 10, amountCents: 1 }, { from: 12, to: null, amountCents: 2 }]).join(' '), /deve partire da 11/);
  t.match(validateBands([{ from: 1, to: null, amountCents: 1 }, { from: 2, to: null, amountCents: 2 }]).join(' '), /solo l’ultimo/);
  t.match(validateBands([{ from: 1, to: 5, amountCents: -1 }]).join(' '), /non negativo/);
});

t.test('resolution order: override > class > default; lists by validity, real before demo', async (t) => {
  const demo: ListLike = { id: 1, name: 'Demo', validFrom: '2020-01-01', validTo: null, isDemo: true };
  const y2026: ListLike = { id: 2, name: 'Listino 2026', validFrom: '2026-01-01', validTo: '2026-12-31', isDemo: false };
  const classB = { id: 2, code: 'B' };
  const p = (priceListId: number, enteClassId: number | null, amountCents: number): PriceLike => ({ priceListId, enteClassId, mode: 'fixed', amountCents, bands: null });
  const prices = [p(1, null, 100), p(1, 2, 200), p(2, null, 300), p(2, 2, 400)];
  const base = { quantity: 1, enteClass: classB, overrides: [], lists: [demo, y2026], prices };

  const inDemo = resolvePrice({ ...base, on: '2025-06-01' });
  t.match(inDemo, { source: 'class', priceListId: 1, isDemo: true, enteClassCode: 'B', totalCents: 200 });
  const in2026 = resolvePrice({ ...base, on: '2026-06-01' });
  t.match(in2026, { source: 'class', priceListId: 2, priceListName: 'Listino 2026', isDemo: false, totalCents: 400 }, 'the real list wins over the demo one');
  t.match(resolvePrice({ ...base, on: '2027-01-01' }), { priceListId: 1, totalCents: 200 }, 'after the 2026 list ends, the demo one applies again');

  const otherClass = resolvePrice({ ...base, enteClass: { id: 5, code: 'E' }, on: '2026-06-01' });
  t.match(otherClass, { source: 'default', priceListId: 2, enteClassCode: 'E', totalCents: 300 });
  t.match(resolvePrice({ ...base, enteClass: null, on: '2026-06-01' }), { source: 'default', enteClassCode: null, totalCents: 300 });

  const overrides = [
    { id: 1, mode: 'fixed' as const, amountCents: 50, bands: null, validFrom: '2026-03-01', validTo: '2026-03-31' },
    { id: 2, mode: 'per_unit' as const, amountCents: 70, bands: null, validFrom: '2026-03-15', validTo: null },
  ];
  t.match(resolvePrice({ ...base, overrides, on: '2026-02-28' }), { source: 'class', totalCents: 400 }, 'override not yet valid');
  t.match(resolvePrice({ ...base, overrides, on: '2026-03-10' }), { source: 'ente_override', priceListId: null, isDemo: false, totalCents: 50 });
  t.match(resolvePrice({ ...base, overrides, quantity: 3, on: '2026-03-20' }), { source: 'ente_override', mode: 'per_unit', totalCents: 210 }, 'the latest-starting valid override wins');

  t.equal(resolvePrice({ ...base, lists: [y2026], on: '2025-06-01' }), null, 'no list valid on the date');
  t.match(resolvePrice({ ...base, prices: [p(1, null, 100)], on: '2026-06-01' }), { priceListId: 1, source: 'default' }, 'a list without the service is skipped');
});
