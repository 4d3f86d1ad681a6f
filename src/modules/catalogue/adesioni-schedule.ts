/** Placeholder: the adesioni's scheduled pass (T-60/T-30 warnings, renewals, expiries). */
import type { CatalogueCtx } from './context.js';

export async function runAdesioniSchedule(_ctx: CatalogueCtx, _now: Date): Promise<void> {}
