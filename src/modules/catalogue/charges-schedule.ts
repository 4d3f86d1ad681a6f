/** Placeholder: the charges' scheduled pass (annual slices, paid by receipts, overdue reminders). */
import type { CatalogueCtx } from './context.js';

export async function runChargesSchedule(_ctx: CatalogueCtx, _now: Date): Promise<void> {}
