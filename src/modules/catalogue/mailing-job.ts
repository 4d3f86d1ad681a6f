/**
 * Sending a mailing to the referenti as a background job (src/plugins/jobs), one recipient at a
 * time. For each pending recipient one transaction queues the mail in the outbox AND marks the
 * recipient sent (or skipped, when the address unsubscribed after the mailing was queued), so a
 * job that dies half-way and is run again (the runner takes back a job whose heartbeat stopped)
 * only sends to the recipients still pending: nobody gets the mail twice, nobody is left out.
 */
import { and, asc, count, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import type { JobContext, JobRunner } from '../../plugins/jobs/runner.js';
import { mailingRecipients, mailings, referentiSubscriptions } from './schema.js';
import { documentsByIds, unsubscribeKey, unsubscribeToken, type DocumentRef, type Mailing } from './mailing-repository.js';

export const MAILING_JOB = 'referenti-mailing';

export interface MailingDeps {
  db: Db;
  publicUrl: string;
  provinceName: string;
  /** Queues one mail (same connection as `db`: inside the recipient's transaction). */
  mail: (m: { to: string; subject: string; body: string }) => void | Promise<void>;
}

/** The text of one recipient's mail: the body, the linked documents, the unsubscribe link. */
export function mailingText(m: Pick<Mailing, 'body'>, docs: DocumentRef[], recipientName: string, o: { unsubscribeUrl: string; publicUrl: string; provinceName: string }): string {
  const parts = [`Gentile ${recipientName},`, '', m.body.trim()];
  if (docs.length) {
    parts.push('', 'Documenti:');
    // The infopoint serves the catalogue's documents at /infopoint/documenti/:id.
    for (const d of docs) parts.push(`- ${d.title}: ${o.publicUrl}/infopoint/documenti/${d.id}`);
  }
  parts.push(
    '',
    `S.A.E.L. – ${o.provinceName}`,
    '',
    '---',
    'Ricevi questa comunicazione come referente del tuo ente per i servizi SAEL.',
    `Per non ricevere più queste comunicazioni: ${o.unsubscribeUrl}`,
  );
  return parts.join('\n');
}

async function counts(db: Db, mailingId: number): Promise<{ done: number; sent: number; failed: number; total: number }> {
  const rows = await db
      .select({ status: mailingRecipients.status, n: count() })
      .from(mailingRecipients)
      .where(eq(mailingRecipients.mailingId, mailingId))
      .groupBy(mailingRecipients.status);
  const by = Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
  const total = rows.reduce((s, r) => s + r.n, 0);
  return { done: total - (by.pending ?? 0), sent: by.sent ?? 0, failed: by.failed ?? 0, total };
}

/**
 * Sends every pending recipient of a mailing. `progress(done, total)` after each one (the job's
 * heartbeat). Returns the final counts.
 */
export async function runMailing(deps: MailingDeps, mailingId: number, progress: (done: number, total: number) => void): Promise<{ sent: number; skipped: number; failed: number; total: number }> {
  const { db } = deps;
  const m = (await db.select().from(mailings).where(eq(mailings.id, mailingId)).limit(1))[0];
  if (!m) throw new Error(`mailing ${mailingId} not found`);
  await db.update(mailings).set({ status: 'sending', updatedAt: new Date().toISOString() }).where(eq(mailings.id, mailingId));
  const docs = await documentsByIds(db, JSON.parse(m.documentIds) as number[]);
  const key = await unsubscribeKey(db);
  const pending = await db
      .select({ id: mailingRecipients.id, email: mailingRecipients.email, subscriptionId: mailingRecipients.subscriptionId })
      .from(mailingRecipients)
      .where(and(eq(mailingRecipients.mailingId, mailingId), eq(mailingRecipients.status, 'pending')))
      .orderBy(asc(mailingRecipients.id));
  let c = await counts(db, mailingId);
  try {
    progress(c.done, c.total);
    for (const r of pending) {
      await db.transaction(
                async (tx) => {
                  // Another run may have handled it meanwhile: only a still-pending row is sent.
                  const still = (await tx.select({ status: mailingRecipients.status }).from(mailingRecipients).where(eq(mailingRecipients.id, r.id)).limit(1))[0];
                  if (still?.status !== 'pending') return;
                  const sub = (await tx.select().from(referentiSubscriptions).where(eq(referentiSubscriptions.id, r.subscriptionId)).limit(1))[0];
                  const nowIso = new Date().toISOString();
                  if (!sub || sub.unsubscribedAt) {
                    await tx.update(mailingRecipients).set({ status: 'skipped', error: 'Indirizzo disiscritto dalla lista' }).where(eq(mailingRecipients.id, r.id));
                    return;
                  }
                  try {
                    const url = `${deps.publicUrl}/referenti/disiscrizione?token=${unsubscribeToken(key, sub.id)}`;
                    await deps.mail({ to: r.email, subject: m.subject, body: mailingText(m, docs, sub.name, { unsubscribeUrl: url, publicUrl: deps.publicUrl, provinceName: deps.provinceName }) });
                    await tx.update(mailingRecipients).set({ status: 'sent', sentAt: nowIso, error: null }).where(eq(mailingRecipients.id, r.id));
                  } catch (err) {
                    await tx.update(mailingRecipients).set({ status: 'failed', error: String((err as Error).message).slice(0, 300) }).where(eq(mailingRecipients.id, r.id));
                  }
                  const now = await counts(tx as unknown as Db, mailingId);
                  await tx.update(mailings).set({ sent: now.sent, failed: now.failed, updatedAt: nowIso }).where(eq(mailings.id, mailingId));
                },
                { behavior: 'immediate' },
              );
      c = await counts(db, mailingId);
      progress(c.done, c.total);
    }
  } catch (err) {
    await db.update(mailings).set({ status: 'failed', updatedAt: new Date().toISOString() }).where(eq(mailings.id, mailingId));
    throw err;
  }
  c = await counts(db, mailingId);
  await db.update(mailings).set({ status: 'done', sent: c.sent, failed: c.failed, updatedAt: new Date().toISOString() }).where(eq(mailings.id, mailingId));
  const skipped = c.done - c.sent - c.failed;
  return { sent: c.sent, skipped, failed: c.failed, total: c.total };
}

export function registerMailingJob(runner: JobRunner, deps: MailingDeps): void {
  runner.register(MAILING_JOB, async (ctx: JobContext) => {
    const mailingId = Number(ctx.input.mailingId);
    const r = await runMailing(deps, mailingId, (done, total) => ctx.progress(done, total));
    ctx.progress(r.total, r.total, true);
    return { ...r, message: `Inviate ${r.sent} e-mail su ${r.total}${r.skipped ? `, ${r.skipped} indirizzi disiscritti saltati` : ''}${r.failed ? `, ${r.failed} non riuscite` : ''}.` };
  });
}
