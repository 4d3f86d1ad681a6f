/**
 * The listino in the database: ente classes, price lists, prices, per-ente overrides, and
 * `resolvePriceFor`, which loads what the pure resolver (pricing.ts) needs and returns a plain
 * PriceSnapshot (values, not references: whoever stores it keeps it unchanged by later edits).
 * Every write is audited in its transaction.
 */
import { and, asc, desc, eq, isNull } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import { catalogueServices, enteClasses, entePrices, priceLists, prices, type PriceMode } from './schema.js';
import { classifyPopulation, resolvePrice, type Band, type ResolvedPrice } from './pricing.js';

export type EnteClass = typeof enteClasses.$inferSelect;
export type PriceList = typeof priceLists.$inferSelect;
export type Price = typeof prices.$inferSelect;
export type EntePrice = typeof entePrices.$inferSelect;

/** What an adesione keeps of the price it was approved at (plain JSON-able values). */
export interface PriceSnapshot extends ResolvedPrice {
  resolvedOn: string;
}

interface Actor {
  actor: string;
  requestId?: string | null;
}

const audit = async (tx: DbLike, a: Actor, action: string, entity: string, entityId: number, before?: unknown, after?: unknown, enteId?: number | null) =>
  await recordAudit(tx, { actor: a.actor, requestId: a.requestId ?? null, action, entity, entityId, before, after, enteId: enteId ?? null });

// ------------------------------------------------------------------------------------ classes

export async function listEnteClasses(db: DbLike): Promise<EnteClass[]> {
  return await db.select().from(enteClasses).orderBy(asc(enteClasses.minPopulation), asc(enteClasses.id));
}

/** The class of an ente by its population (null: unknown population or no band holds it). */
export async function enteClassOf(db: DbLike, enteId: number): Promise<EnteClass | null> {
  const ente = (await db.select({ population: enti.population }).from(enti).where(eq(enti.id, enteId)).limit(1))[0];
  if (!ente) return null;
  return classifyPopulation(await listEnteClasses(db), ente.population);
}

export interface ClassInput {
  /** Existing row to update; absent = new class. */
  id?: number;
  code: string;
  label: string;
  minPopulation: number;
  maxPopulation: number | null;
}

export class ClassInUseError extends Error {}

/**
 * Replaces the set of classes (already validated with validateClassBands): updates the rows with
 * an id, inserts the new ones, deletes the ones left out (refused while a price refers to them).
 */
export async function saveEnteClasses(db: Db, input: ClassInput[], a: Actor): Promise<void> {
  await db.transaction(async (tx) => {
        const before = await tx.select().from(enteClasses).orderBy(asc(enteClasses.minPopulation));
        const keep = new Set(input.filter((c) => c.id).map((c) => c.id!));
        for (const old of before) {
          if (keep.has(old.id)) continue;
          const used = (await tx.select({ id: prices.id }).from(prices).where(eq(prices.enteClassId, old.id)).limit(1))[0];
          if (used) throw new ClassInUseError(`La classe ${old.code} ha prezzi nei listini: toglili prima di eliminarla.`);
          await tx.delete(enteClasses).where(eq(enteClasses.id, old.id));
        }
        // Codes are unique: park the kept rows' codes first so that swapping two codes does not collide.
        for (const c of input) if (c.id) await tx.update(enteClasses).set({ code: `__${c.id}` }).where(eq(enteClasses.id, c.id));
        for (const [i, c] of input.entries()) {
          const values = { code: c.code, label: c.label, minPopulation: c.minPopulation, maxPopulation: c.maxPopulation, sortOrder: (i + 1) * 10 };
          if (c.id) await tx.update(enteClasses).set(values).where(eq(enteClasses.id, c.id));
          else await tx.insert(enteClasses).values(values);
        }
        const after = await tx.select().from(enteClasses).orderBy(asc(enteClasses.minPopulation));
        const strip = (rows: EnteClass[]) => rows.map(({ id, code, label, minPopulation, maxPopulation }) => ({ id, code, label, minPopulation, maxPopulation }));
        await audit(tx, a, 'ente_classes.update', 'ente_classes', 0, strip(before), strip(after));
      });
}

// ------------------------------------------------------------------------------------ lists

export async function listPriceLists(db: DbLike): Promise<PriceList[]> {
  return await db.select().from(priceLists).orderBy(desc(priceLists.validFrom), desc(priceLists.id));
}

export async function getPriceList(db: DbLike, id: number): Promise<PriceList | null> {
  return (await db.select().from(priceLists).where(eq(priceLists.id, id)).limit(1))[0] ?? null;
}

export interface PriceListInput {
  name: string;
  validFrom: string;
  validTo: string | null;
  isDemo: boolean;
  notes: string | null;
}

export async function createPriceList(db: Db, input: PriceListInput, a: Actor): Promise<PriceList> {
  return await db.transaction(async (tx) => {
      const row = (await tx.insert(priceLists).values(input).returning())[0]!;
      await audit(tx, a, 'price_list.create', 'price_list', row.id, undefined, row);
      return row;
    });
}

export async function updatePriceList(db: Db, id: number, input: PriceListInput, a: Actor): Promise<PriceList | null> {
  return await db.transaction(async (tx) => {
      const before = (await tx.select().from(priceLists).where(eq(priceLists.id, id)).limit(1))[0];
      if (!before) return null;
      const row = (await tx.update(priceLists).set({ ...input, updatedAt: new Date().toISOString() }).where(eq(priceLists.id, id)).returning())[0]!;
      await audit(tx, a, 'price_list.update', 'price_list', id, before, row);
      return row;
    });
}

export async function pricesOfList(db: DbLike, priceListId: number): Promise<Price[]> {
  return await db.select().from(prices).where(eq(prices.priceListId, priceListId));
}

export interface PriceInput {
  mode: PriceMode;
  amountCents: number | null;
  bands: Band[] | null;
}

/** Sets (insert or replace) or clears (input null) the price of a service for a class (or the default). */
export async function setPrice(db: Db, priceListId: number, serviceId: number, enteClassId: number | null, input: PriceInput | null, a: Actor): Promise<void> {
  await db.transaction(async (tx) => {
        const where = and(eq(prices.priceListId, priceListId), eq(prices.serviceId, serviceId), enteClassId === null ? isNull(prices.enteClassId) : eq(prices.enteClassId, enteClassId));
        const before = (await tx.select().from(prices).where(where).limit(1))[0];
        if (!input) {
          if (!before) return;
          await tx.delete(prices).where(eq(prices.id, before.id));
          await audit(tx, a, 'price.delete', 'price_list', priceListId, before, undefined);
          return;
        }
        const values = { mode: input.mode, amountCents: input.amountCents, bands: input.bands ? JSON.stringify(input.bands) : null };
        if (before && before.mode === values.mode && before.amountCents === values.amountCents && before.bands === values.bands) return;
        const after = before
          ? (await tx.update(prices).set(values).where(eq(prices.id, before.id)).returning())[0]!
          : (await tx.insert(prices).values({ priceListId, serviceId, enteClassId, ...values }).returning())[0]!;
        await audit(tx, a, before ? 'price.update' : 'price.create', 'price_list', priceListId, before, after);
      });
}

// ------------------------------------------------------------------------------------ overrides

export interface OverrideRow extends EntePrice {
  enteName: string;
  serviceCode: string;
  serviceName: string;
}

export async function listOverrides(db: DbLike): Promise<OverrideRow[]> {
  return await db
      .select({
        id: entePrices.id,
        enteId: entePrices.enteId,
        serviceId: entePrices.serviceId,
        mode: entePrices.mode,
        amountCents: entePrices.amountCents,
        bands: entePrices.bands,
        validFrom: entePrices.validFrom,
        validTo: entePrices.validTo,
        note: entePrices.note,
        createdAt: entePrices.createdAt,
        enteName: enti.name,
        serviceCode: catalogueServices.code,
        serviceName: catalogueServices.name,
      })
      .from(entePrices)
      .innerJoin(enti, eq(enti.id, entePrices.enteId))
      .innerJoin(catalogueServices, eq(catalogueServices.id, entePrices.serviceId))
      .orderBy(asc(enti.name), asc(catalogueServices.sortOrder), desc(entePrices.validFrom));
}

export interface OverrideInput extends PriceInput {
  enteId: number;
  serviceId: number;
  validFrom: string;
  validTo: string | null;
  note: string | null;
}

export async function createOverride(db: Db, input: OverrideInput, a: Actor): Promise<EntePrice> {
  return await db.transaction(async (tx) => {
      const row = (await tx
            .insert(entePrices)
            .values({ ...input, bands: input.bands ? JSON.stringify(input.bands) : null })
            .returning())[0]!;
      await audit(tx, a, 'ente_price.create', 'ente_price', row.id, undefined, row, input.enteId);
      return row;
    });
}

export async function deleteOverride(db: Db, id: number, a: Actor): Promise<boolean> {
  return await db.transaction(async (tx) => {
      const before = (await tx.select().from(entePrices).where(eq(entePrices.id, id)).limit(1))[0];
      if (!before) return false;
      await tx.delete(entePrices).where(eq(entePrices.id, id));
      await audit(tx, a, 'ente_price.delete', 'ente_price', id, before, undefined, before.enteId);
      return true;
    });
}

// ------------------------------------------------------------------------------------ resolution

export interface ResolveRequest {
  enteId: number;
  serviceId: number;
  /** ISO date `YYYY-MM-DD`. */
  on: string;
  /** Units (caselle, kit, …); 1 for services not counted in units. */
  quantity: number;
}

/**
 * The price of a service for an ente on a date (order: ente override → class price → default
 * price; see pricing.ts). Null when the service is free, unknown, or no price applies.
 */
export async function resolvePriceFor(db: DbLike, req: ResolveRequest): Promise<PriceSnapshot | null> {
  const service = (await db.select({ billing: catalogueServices.billing }).from(catalogueServices).where(eq(catalogueServices.id, req.serviceId)).limit(1))[0];
  if (!service || service.billing === 'free') return null;
  const enteClass = await enteClassOf(db, req.enteId);
  const overrides = await db.select().from(entePrices).where(and(eq(entePrices.enteId, req.enteId), eq(entePrices.serviceId, req.serviceId)));
  const lists = await db.select().from(priceLists);
  const servicePrices = await db.select().from(prices).where(eq(prices.serviceId, req.serviceId));
  const resolved = resolvePrice({ on: req.on, quantity: req.quantity, enteClass, overrides, lists, prices: servicePrices });
  return resolved ? { ...resolved, resolvedOn: req.on } : null;
}
