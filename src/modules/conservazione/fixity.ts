/**
 * Fixity audit (issue #16 item 6). OWNER: helper A.
 */
import type { ConservazioneCtx } from './context.js';

export interface FixityPassResult {
  runId: number | null;
  checked: number;
  ok: number;
  mismatches: number;
  missing: number;
  done: boolean;
}

/** Re-hashes up to `maxBlobs` due blobs (resumable), records each outcome, raises alerts and tickets on a mismatch. */
export async function runFixityAudit(ctx: ConservazioneCtx, opts: { maxBlobs?: number } = {}): Promise<FixityPassResult> {
  void ctx;
  void opts;
  return { runId: null, checked: 0, ok: 0, mismatches: 0, missing: 0, done: true };
}
