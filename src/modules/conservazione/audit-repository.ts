/**
 * What the "Verifiche e allarmi" page of the responsabile della conservazione reads and changes:
 * the fixity runs with their counts, the failed outcomes, the alerts (open and recently taken in
 * charge) and the acknowledgement of an alert (audited and logged in the event chain).
 */
import { and, count, desc, eq, inArray, isNotNull, isNull, ne } from 'drizzle-orm';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import type { ConservazioneCtx } from './context.js';
import { appendEventSync } from './events.js';
import { countDueBlobs } from './fixity.js';
import { consAlerts, consAuditResults, consAuditRuns, consBlobs, type AlertKind } from './schema.js';

export const ALERT_LABELS: Record<AlertKind, string> = {
  fixity_mismatch: 'File alterato',
  fixity_missing: 'File mancante',
  chain_broken: 'Registro degli eventi non integro',
  timestamp_failed: 'Marca temporale non riuscita',
  signature_failed: 'Firma non riuscita',
  sip_rejected_3x: 'Versamento rifiutato tre volte',
  daily_job_failed: 'Conservazione giornaliera non riuscita',
};

const n = (count: number, one: string, many: string) => `${count.toLocaleString('it-IT')} ${count === 1 ? one : many}`;

const RUN_STATUS_LABELS = { running: 'In corso', done: 'Completata', interrupted: 'Interrotta' } as const;
const OUTCOME_LABELS = { ok: 'Integro', mismatch: 'Alterato', missing: 'Mancante' } as const;

export async function auditOverview(ctx: ConservazioneCtx) {
  const stored = (await ctx.db.select({ n: count() }).from(consBlobs).where(isNull(consBlobs.discardedAt)).limit(1))[0]!.n;
  const neverAudited = (await ctx.db
      .select({ n: count() })
      .from(consBlobs)
      .where(and(isNull(consBlobs.discardedAt), isNull(consBlobs.lastAuditAt))).limit(1))[0]!.n;
  const failing = (await ctx.db
      .select({ n: count() })
      .from(consBlobs)
      .where(and(isNull(consBlobs.discardedAt), isNotNull(consBlobs.lastAuditOutcome), ne(consBlobs.lastAuditOutcome, 'ok'))).limit(1))[0]!.n;
  return { stored, due: await countDueBlobs(ctx), neverAudited, failing, cycleDays: ctx.config.conservazione.auditCycleDays };
}

export async function listAuditRuns(ctx: ConservazioneCtx, limit = 20) {
  return (await ctx.db
      .select()
      .from(consAuditRuns)
      .orderBy(desc(consAuditRuns.id))
      .limit(limit))
    .map((r) => ({
      ...r,
      statusLabel: RUN_STATUS_LABELS[r.status],
      failed: r.mismatches + r.missing > 0,
      okLabel: n(r.ok, 'integro', 'integri'),
      failedLabel: [r.mismatches ? n(r.mismatches, 'alterato', 'alterati') : '', r.missing ? n(r.missing, 'mancante', 'mancanti') : ''].filter(Boolean).join(', '),
    }));
}

/** The latest failed outcomes (mismatch or missing), newest first. */
export async function listAuditFailures(ctx: ConservazioneCtx, limit = 50) {
  return (await ctx.db
      .select({ id: consAuditResults.id, runId: consAuditResults.runId, blobKey: consAuditResults.blobKey, outcome: consAuditResults.outcome, actualSha256: consAuditResults.actualSha256, checkedAt: consAuditResults.checkedAt })
      .from(consAuditResults)
      .where(inArray(consAuditResults.outcome, ['mismatch', 'missing']))
      .orderBy(desc(consAuditResults.id))
      .limit(limit))
    .map((r) => ({ ...r, outcomeLabel: OUTCOME_LABELS[r.outcome] }));
}

/** Open alerts (all of them) and the last ones taken in charge. */
export async function listAlerts(ctx: ConservazioneCtx, acknowledgedLimit = 10) {
  const cols = {
    id: consAlerts.id,
    kind: consAlerts.kind,
    enteId: consAlerts.enteId,
    enteName: enti.name,
    subject: consAlerts.subject,
    message: consAlerts.message,
    ticketId: consAlerts.ticketId,
    createdAt: consAlerts.createdAt,
    acknowledgedAt: consAlerts.acknowledgedAt,
    acknowledgedBy: consAlerts.acknowledgedBy,
  };
  const label = <T extends { kind: AlertKind }>(a: T) => ({ ...a, kindLabel: ALERT_LABELS[a.kind] });
  const open = (await ctx.db.select(cols).from(consAlerts).leftJoin(enti, eq(enti.id, consAlerts.enteId)).where(isNull(consAlerts.acknowledgedAt)).orderBy(desc(consAlerts.id))).map(label);
  const acknowledged = (await ctx.db
      .select(cols)
      .from(consAlerts)
      .leftJoin(enti, eq(enti.id, consAlerts.enteId))
      .where(isNotNull(consAlerts.acknowledgedAt))
      .orderBy(desc(consAlerts.acknowledgedAt))
      .limit(acknowledgedLimit))
    .map(label);
  return { open, acknowledged };
}

export class AlertError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The responsabile takes an alert in charge: the row records who and when, the audit log and the event chain say so. */
export async function acknowledgeAlert(ctx: ConservazioneCtx, alertId: number, by: { userId: number; requestId?: string }): Promise<void> {
  const at = ctx.now();
  await ctx.db.transaction(async (tx) => {
        const alert = (await tx.select().from(consAlerts).where(eq(consAlerts.id, alertId)).limit(1))[0];
        if (!alert) throw new AlertError(404, 'Allarme non trovato.');
        if (alert.acknowledgedAt) throw new AlertError(409, 'Questo allarme è già stato preso in carico.');
        const actor = `user:${by.userId}`;
        await tx.update(consAlerts).set({ acknowledgedAt: at.toISOString(), acknowledgedBy: actor }).where(eq(consAlerts.id, alertId));
        await recordAudit(tx, {
                actor,
                action: 'conservazione.alert.acknowledge',
                entity: 'cons_alert',
                entityId: alertId,
                enteId: alert.enteId,
                before: { acknowledgedAt: null },
                after: { acknowledgedAt: at.toISOString(), kind: alert.kind, subject: alert.subject },
                requestId: by.requestId,
              });
        await appendEventSync(tx, { kind: 'audit', enteId: alert.enteId, actor, subject: alert.subject, details: { acknowledged: alertId, alert: alert.kind } }, at);
      });
}
