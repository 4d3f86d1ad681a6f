/** Placeholder (owned by the charges part): charges of an adesione as Province positions. */
import type { CatalogueCtx } from './context.js';

/**
 * Issues the charges due when an adesione becomes active (or is renewed): the one-off charge, or
 * the annual slice(s) of its period that are due by `now`. Idempotent (one charge per adesione,
 * kind and period key). Returns the ids of the charges created.
 */
export async function issueChargesForAdesione(_ctx: CatalogueCtx, _adesioneId: number, _now: Date): Promise<number[]> {
  return [];
}
