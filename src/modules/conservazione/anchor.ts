/**
 * Daily time-stamped anchor of the event log's head (issue #16 item 7). OWNER: helper D.
 */
import type { ConservazioneCtx } from './context.js';

/** Time-stamps the chain head once per day (Europe/Rome day of `now`); no-op when done or no sealer. */
export async function anchorChainHead(ctx: ConservazioneCtx): Promise<{ day: string; created: boolean } | null> {
  void ctx;
  return null;
}
