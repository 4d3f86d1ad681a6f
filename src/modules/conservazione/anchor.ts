/**
 * Daily time-stamped anchor of the event log's head (issue #16 item 7). Once per Italian day the
 * hash of the last cons_events row is time-stamped by the TSA (through the sealer):
 *
 *   token = RFC 3161 TimeStampToken over SHA-256( headHash as hex text )
 *
 * and kept as a write-once cons_anchors row, followed by an 'anchor' event. An anchor proves the
 * whole chain up to `lastSeq` existed at the token's time: rewriting the log (even recomputing
 * every hash) no longer matches an anchored head (verify.ts).
 *
 * No anchor is made when there is no sealer (production without CONSERVAZIONE_SIGNER_/TSA_
 * settings), when the log is empty, or when nothing but anchors happened since the last one (a
 * qualified TSA charges per stamp). A TSA failure raises one 'timestamp_failed' alert per day;
 * the scheduled pass retries at its next tick.
 */
import { createHash } from 'node:crypto';
import { and, desc, eq, gt, ne } from 'drizzle-orm';
import type { ConservazioneCtx } from './context.js';
import { raiseAlert } from './alerts.js';
import { romeDay } from './dates.js';
import { appendEventSync } from './events.js';
import { consAlerts, consAnchors, consEvents } from './schema.js';

/** The digest an anchor's token covers: SHA-256 of the head hash's hex text. */
export function anchorDigest(headHash: string): Buffer {
  return createHash('sha256').update(headHash, 'utf8').digest();
}

export type AnchorOutcome =
  | { day: string; created: true; anchorId: number; lastSeq: number; headHash: string }
  | { day: string; created: false; reason: 'already_anchored' | 'no_new_events' | 'timestamp_failed'; message?: string };

/** Time-stamps the chain head once per day (Europe/Rome day of `now`); null when there is no sealer or no event. */
export async function anchorChainHead(ctx: ConservazioneCtx): Promise<AnchorOutcome | null> {
  const at = ctx.now();
  const day = romeDay(at);
  if ((await ctx.db.select({ id: consAnchors.id }).from(consAnchors).where(eq(consAnchors.day, day)).limit(1))[0]) return { day, created: false, reason: 'already_anchored' };
  const head = (await ctx.db.select({ seq: consEvents.seq, hash: consEvents.hash }).from(consEvents).orderBy(desc(consEvents.seq)).limit(1))[0];
  if (!head) return null;
  const previous = (await ctx.db.select({ lastSeq: consAnchors.lastSeq }).from(consAnchors).orderBy(desc(consAnchors.lastSeq)).limit(1))[0];
  if (previous) {
    const news = (await ctx.db
          .select({ seq: consEvents.seq })
          .from(consEvents)
          .where(and(gt(consEvents.seq, previous.lastSeq), ne(consEvents.kind, 'anchor')))
          .limit(1))[0];
    if (!news) return { day, created: false, reason: 'no_new_events' };
  }
  const sealer = await ctx.sealer();
  if (!sealer) return null;

  let stamp: { token: Buffer; timestampedAt: Date };
  try {
    stamp = await sealer.timestamp(anchorDigest(head.hash));
  } catch (e) {
    const message = `Marca temporale dell’ancora giornaliera del registro eventi non ottenuta (${day}): ${(e as Error).message}`;
    const subject = `anchor:${day}`;
    const already = (await ctx.db
          .select({ id: consAlerts.id })
          .from(consAlerts)
          .where(and(eq(consAlerts.kind, 'timestamp_failed'), eq(consAlerts.subject, subject)))
          .limit(1))[0];
    if (!already) await raiseAlert(ctx, { kind: 'timestamp_failed', enteId: null, subject, message });
    return { day, created: false, reason: 'timestamp_failed', message };
  }

  const created = await ctx.db.transaction(async (tx) => {
      // Another pass may have anchored the day while we waited for the TSA.
      if ((await tx.select({ id: consAnchors.id }).from(consAnchors).where(eq(consAnchors.day, day)).limit(1))[0]) return null;
      const row = (await tx
            .insert(consAnchors)
            .values({
              day,
              lastSeq: head.seq,
              headHash: head.hash,
              token: stamp.token.toString('base64'),
              timestampedAt: stamp.timestampedAt.toISOString(),
              createdAt: at.toISOString(),
            })
            .returning({ id: consAnchors.id }))[0]!;
      await appendEventSync(
              tx,
              { kind: 'anchor', enteId: null, actor: 'system', subject: `anchor:${day}`, details: { anchorId: row.id, lastSeq: head.seq, headHash: head.hash, timestampedAt: stamp.timestampedAt.toISOString() } },
              at,
            );
      return row.id;
    });
  if (created === null) return { day, created: false, reason: 'already_anchored' };
  return { day, created: true, anchorId: created, lastSeq: head.seq, headHash: head.hash };
}
