/**
 * The figures of the SAEL overview page `/admin/conservazione`: how many PdV, PdA and files, the
 * daily job's latest runs, the latest fixity audit, the open alerts, the event log's length and its
 * latest anchor.
 */
import { count, desc, eq, isNull, sql, sum } from 'drizzle-orm';
import { enti } from '../enti/schema.js';
import type { ConservazioneCtx } from './context.js';
import { consAips, consAlerts, consAnchors, consAuditRuns, consBlobs, consDailyRuns, consEvents, consSips } from './schema.js';

export async function conservazioneOverview(ctx: ConservazioneCtx) {
  const byStatus = async <T extends string>(rows: Promise<{ status: T; n: number }[]>) => Object.fromEntries((await rows).map((r) => [r.status, r.n])) as Partial<Record<T, number>>;
  const sips = await byStatus(ctx.db.select({ status: consSips.status, n: count() }).from(consSips).groupBy(consSips.status));
  const aips = await byStatus(ctx.db.select({ status: consAips.status, n: count() }).from(consAips).groupBy(consAips.status));
  const blobs = (await (await ctx.db
      .select({ n: count(), bytes: sum(consBlobs.sizeBytes), discarded: sql<number>`count(${consBlobs.discardedAt})` })
      .from(consBlobs).limit(1))[0])!;
  const dailyRuns = await ctx.db
    .select({ run: consDailyRuns, enteName: enti.name })
    .from(consDailyRuns)
    .leftJoin(enti, eq(enti.id, consDailyRuns.enteId))
    .orderBy(desc(consDailyRuns.id))
    .limit(8);
  const lastAudit = (await (await ctx.db.select().from(consAuditRuns).orderBy(desc(consAuditRuns.id)).limit(1))[0]) ?? null;
  const openAlerts = await ctx.db.select().from(consAlerts).where(isNull(consAlerts.acknowledgedAt)).orderBy(desc(consAlerts.id)).limit(5);
  const openAlertCount = (await (await ctx.db.select({ n: count() }).from(consAlerts).where(isNull(consAlerts.acknowledgedAt)).limit(1))[0])!.n;
  const chain = (await (await ctx.db.select({ n: count(), last: sql<number | null>`max(${consEvents.seq})` }).from(consEvents).limit(1))[0])!;
  const lastAnchor = (await (await ctx.db.select().from(consAnchors).orderBy(desc(consAnchors.lastSeq)).limit(1))[0]) ?? null;
  const cfg = ctx.config.conservazione;
  return {
    sips: { accepted: sips.accepted ?? 0, rejected: sips.rejected ?? 0 },
    aips: { active: aips.active ?? 0, superseded: aips.superseded ?? 0, discarded: aips.discarded ?? 0 },
    blobs: { count: blobs.n - Number(blobs.discarded), bytes: Number(blobs.bytes ?? 0), discarded: Number(blobs.discarded) },
    dailyRuns: dailyRuns.map((r) => ({ ...r.run, enteName: r.enteName ?? `ente ${r.run.enteId}` })),
    lastAudit,
    openAlerts,
    openAlertCount,
    chain: { events: chain.n, lastSeq: chain.last ?? 0 },
    lastAnchor,
    sealing: cfg.signerCertFile && cfg.tsaUrl ? 'production' : cfg.demoKeys ? 'demo' : 'none',
    store: cfg.store,
    auditCycleDays: cfg.auditCycleDays,
    dailyHour: cfg.dailyHour,
  } as const;
}
