/**
 * Listino arithmetic, pure (no I/O): ente classes by population, validity windows, price modes and
 * the resolution order of spec §B.5 rule 2.
 *
 * Resolution, for one service, one ente, one date and a quantity:
 * 1. a per-ente override (EntePrice) valid on the date (the latest `validFrom` wins, then the
 *    newest row);
 * 2. otherwise the price lists valid on the date, in order: non-demo lists before demo lists, then
 *    the latest `validFrom`, then the newest list. In the first list holding any price for the
 *    service: the price for the ente's class, else the list's default price (class null).
 *    A list without any price for the service is skipped (a new list may price only some services).
 *
 * Modes (the amount is always integer cents):
 * - fixed: `amountCents` per period (or once, for one-off services); the quantity does not change it;
 * - per_unit: `amountCents × quantity`;
 * - bands: quantity bands `[{from, to|null, amountCents}]`, **whole-quantity, flat amount** (ParER
 *   VALORE_SCAGLIONI): the band that contains the whole quantity gives the total, not a per-unit
 *   price and not a sum over tiers. E.g. 1–10 → 150 €, 11–30 → 350 €: 12 mailboxes cost 350 €.
 *   A quantity outside every band has no price (null).
 */

export type PriceModeName = 'fixed' | 'per_unit' | 'bands';

export interface Band {
  from: number;
  /** Inclusive; null = no upper bound. */
  to: number | null;
  amountCents: number;
}

export interface ClassBand {
  id: number;
  code: string;
  label?: string;
  minPopulation: number;
  /** Inclusive; null = no upper bound. */
  maxPopulation: number | null;
}

/** The class whose band holds the population; null when the population is unknown or uncovered. */
export function classifyPopulation<C extends ClassBand>(classes: readonly C[], population: number | null | undefined): C | null {
  if (population === null || population === undefined || !Number.isInteger(population) || population < 0) return null;
  return classes.find((c) => population >= c.minPopulation && (c.maxPopulation === null || population <= c.maxPopulation)) ?? null;
}

/** Italian thousands separator also on 4-digit numbers (Intl leaves "1000" ungrouped). */
const itNumber = { format: (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '.') };

/**
 * Checks a set of class bands: each band min ≤ max, the first starting at 0, each next band starting
 * right after the previous one ends (no overlap, no gap), only the last one open-ended.
 * Returns Italian messages, empty when the set is valid.
 */
export function validateClassBands(classes: readonly Pick<ClassBand, 'code' | 'minPopulation' | 'maxPopulation'>[]): string[] {
  const errors: string[] = [];
  if (classes.length === 0) return ['Serve almeno una classe.'];
  const codes = new Set<string>();
  for (const c of classes) {
    if (codes.has(c.code)) errors.push(`Il codice di classe ${c.code} è ripetuto.`);
    codes.add(c.code);
    if (c.maxPopulation !== null && c.maxPopulation < c.minPopulation)
      errors.push(`Classe ${c.code}: il massimo (${itNumber.format(c.maxPopulation)}) è minore del minimo (${itNumber.format(c.minPopulation)}).`);
  }
  const sorted = [...classes].sort((a, b) => a.minPopulation - b.minPopulation);
  if (sorted[0]!.minPopulation !== 0) errors.push(`La prima fascia deve partire da 0 abitanti (parte da ${itNumber.format(sorted[0]!.minPopulation)}).`);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (prev.maxPopulation === null) {
      errors.push(`La classe ${prev.code} non ha un massimo ma non è l’ultima fascia: si sovrappone alla classe ${cur.code}.`);
      continue;
    }
    if (cur.minPopulation <= prev.maxPopulation) errors.push(`Le classi ${prev.code} e ${cur.code} si sovrappongono.`);
    else if (cur.minPopulation > prev.maxPopulation + 1)
      errors.push(`Fra le classi ${prev.code} e ${cur.code} mancano le popolazioni da ${itNumber.format(prev.maxPopulation + 1)} a ${itNumber.format(cur.minPopulation - 1)}.`);
  }
  if (sorted[sorted.length - 1]!.maxPopulation !== null) errors.push('L’ultima fascia deve essere senza massimo (“oltre …”).');
  return errors;
}

/** Whether an ISO date is inside [validFrom, validTo] (validTo inclusive, null = open-ended). */
export function isValidOn(window: { validFrom: string; validTo: string | null }, on: string): boolean {
  return window.validFrom <= on && (window.validTo === null || on <= window.validTo);
}

/** Parses the JSON bands column; null when absent or malformed. */
export function parseBands(json: string | null | undefined): Band[] | null {
  if (!json) return null;
  try {
    const v = JSON.parse(json) as unknown;
    if (!Array.isArray(v)) return null;
    const out: Band[] = [];
    for (const b of v as Record<string, unknown>[]) {
      if (!b || typeof b.from !== 'number' || (b.to !== null && typeof b.to !== 'number') || typeof b.amountCents !== 'number') return null;
      out.push({ from: b.from, to: b.to as number | null, amountCents: b.amountCents });
    }
    return out;
  } catch {
    return null;
  }
}

/**
 * Checks quantity bands: integers, the first from 1, contiguous (each from = previous to + 1),
 * to ≥ from, only the last may be open-ended, amounts ≥ 0. Italian messages; empty when valid.
 */
export function validateBands(bands: readonly Band[]): string[] {
  const errors: string[] = [];
  if (bands.length === 0) return ['Indica almeno uno scaglione.'];
  bands.forEach((b, i) => {
    const n = i + 1;
    if (!Number.isInteger(b.from) || b.from < 1) errors.push(`Scaglione ${n}: la quantità iniziale deve essere un intero da 1 in su.`);
    if (b.to !== null && (!Number.isInteger(b.to) || b.to < b.from)) errors.push(`Scaglione ${n}: la quantità finale deve essere un intero non minore di quella iniziale.`);
    if (!Number.isInteger(b.amountCents) || b.amountCents < 0) errors.push(`Scaglione ${n}: l’importo deve essere un numero non negativo.`);
    if (i === 0 && b.from !== 1) errors.push('Il primo scaglione deve partire da 1.');
    if (i > 0) {
      const prev = bands[i - 1]!;
      if (prev.to === null) errors.push(`Scaglione ${i}: solo l’ultimo scaglione può essere senza limite.`);
      else if (b.from !== prev.to + 1) errors.push(`Scaglione ${n}: deve partire da ${prev.to + 1} (subito dopo lo scaglione precedente).`);
    }
  });
  return errors;
}

/** The band holding the whole quantity (whole-quantity bands). */
export function bandFor(bands: readonly Band[], quantity: number): Band | null {
  return bands.find((b) => quantity >= b.from && (b.to === null || quantity <= b.to)) ?? null;
}

export interface PriceTerms {
  mode: PriceModeName;
  amountCents: number | null;
  bands: Band[] | null;
}

/**
 * The total for a quantity, and the amount applied (the unit or band amount): null when the terms
 * cannot price that quantity (missing amount, malformed bands, quantity outside every band).
 */
export function computeTotal(terms: PriceTerms, quantity: number): { amountCents: number; totalCents: number } | null {
  if (!Number.isInteger(quantity) || quantity < 1) return null;
  switch (terms.mode) {
    case 'fixed':
      return terms.amountCents === null ? null : { amountCents: terms.amountCents, totalCents: terms.amountCents };
    case 'per_unit':
      return terms.amountCents === null ? null : { amountCents: terms.amountCents, totalCents: terms.amountCents * quantity };
    case 'bands': {
      const band = terms.bands ? bandFor(terms.bands, quantity) : null;
      return band ? { amountCents: band.amountCents, totalCents: band.amountCents } : null;
    }
  }
}

export interface ListLike {
  id: number;
  name: string;
  validFrom: string;
  validTo: string | null;
  isDemo: boolean;
}

export interface PriceLike {
  priceListId: number;
  enteClassId: number | null;
  mode: PriceModeName;
  amountCents: number | null;
  bands: string | null;
}

export interface OverrideLike {
  id: number;
  mode: PriceModeName;
  amountCents: number | null;
  bands: string | null;
  validFrom: string;
  validTo: string | null;
}

export interface ResolveInput {
  on: string;
  quantity: number;
  enteClass: Pick<ClassBand, 'id' | 'code'> | null;
  /** The ente's overrides for the service (any validity). */
  overrides: readonly OverrideLike[];
  /** Every price list (any validity). */
  lists: readonly ListLike[];
  /** Every price of the service, in any list. */
  prices: readonly PriceLike[];
}

export interface ResolvedPrice {
  source: 'ente_override' | 'class' | 'default';
  priceListId: number | null;
  priceListName: string | null;
  isDemo: boolean;
  enteClassCode: string | null;
  mode: PriceModeName;
  amountCents: number | null;
  bands: Band[] | null;
  quantity: number;
  totalCents: number;
}

/** Lists valid on the date, best first: non-demo, then latest validFrom, then newest. */
export function listsByPriority<L extends ListLike>(lists: readonly L[], on: string): L[] {
  return lists
    .filter((l) => isValidOn(l, on))
    .sort((a, b) => Number(a.isDemo) - Number(b.isDemo) || b.validFrom.localeCompare(a.validFrom) || b.id - a.id);
}

/** Applies the resolution order; null when no price applies or the quantity cannot be priced. */
export function resolvePrice(input: ResolveInput): ResolvedPrice | null {
  const { on, quantity, enteClass } = input;
  const enteClassCode = enteClass?.code ?? null;
  const finish = (
    terms: { mode: PriceModeName; amountCents: number | null; bands: string | null },
    source: ResolvedPrice['source'],
    list: ListLike | null,
  ): ResolvedPrice | null => {
    const bands = terms.mode === 'bands' ? parseBands(terms.bands) : null;
    const computed = computeTotal({ mode: terms.mode, amountCents: terms.amountCents, bands }, quantity);
    if (!computed) return null;
    return {
      source,
      priceListId: list?.id ?? null,
      priceListName: list?.name ?? null,
      isDemo: list?.isDemo ?? false,
      enteClassCode,
      mode: terms.mode,
      amountCents: terms.mode === 'bands' ? computed.amountCents : terms.amountCents,
      bands,
      quantity,
      totalCents: computed.totalCents,
    };
  };

  const override = input.overrides
    .filter((o) => isValidOn(o, on))
    .sort((a, b) => b.validFrom.localeCompare(a.validFrom) || b.id - a.id)[0];
  if (override) return finish(override, 'ente_override', null);

  for (const list of listsByPriority(input.lists, on)) {
    const inList = input.prices.filter((p) => p.priceListId === list.id);
    if (inList.length === 0) continue;
    const byClass = enteClass ? inList.find((p) => p.enteClassId === enteClass.id) : undefined;
    if (byClass) return finish(byClass, 'class', list);
    const byDefault = inList.find((p) => p.enteClassId === null);
    if (byDefault) return finish(byDefault, 'default', list);
    // The list prices the service only for other classes: no price for this ente in this list.
    return null;
  }
  return null;
}
