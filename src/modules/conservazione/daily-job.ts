/**
 * The daily conservazione job (issue #16 items 2, 4, 11). OWNER: helper C.
 */
import type { ConservazioneCtx } from './context.js';

export interface DailyJobResult {
  day: string;
  enti: { enteId: number; sips: number; rejected: number; aips: number; status: 'done' | 'failed' | 'skipped'; message?: string }[];
}

/** Preserves `day`'s receipts and flows of every ente with the conservazione service active, then builds the PdA. Idempotent per (day, ente). */
export async function runDailyJob(ctx: ConservazioneCtx, opts: { day: string; actor?: string }): Promise<DailyJobResult> {
  void ctx;
  return { day: opts.day, enti: [] };
}
