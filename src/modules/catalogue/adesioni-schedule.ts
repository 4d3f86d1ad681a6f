/**
 * The adesioni's scheduled pass (clock injected, idempotent: every step is keyed on a state or a
 * "warned at" column, so running it twice changes nothing the second time):
 * 1. convenzioni by the calendar (in force from the start, expired after the end, recesso effective);
 * 2. approved adesioni whose start date has come → active (charges issued);
 * 3. T-60: active → expiring, with a mail (warned_t60_at);
 * 4. T-30: a second mail (warned_t30_at);
 * 5. past the end: renewed (new row, new price snapshot, charges) or expired.
 */
import { and, eq, inArray, isNull, lt, lte } from 'drizzle-orm';
import { recordAudit } from '../../plugins/audit/index.js';
import { todayInItaly } from '../positions/service.js';
import { addDays, ADESIONE_STATUS_LABELS } from './adesione-states.js';
import { adesioneViewSync, enteAdminEmails, saelEmails } from './adesioni-repository.js';
import { activateIfDue, renewOrExpire } from './adesioni-service.js';
import type { CatalogueCtx } from './context.js';
import { itDate, runConvenzioniSchedule } from './convenzioni-repository.js';
import { adesioneEvents, adesioni } from './schema.js';
import { affectedRows } from '../../db/client.js';

export interface AdesioniScheduleResult {
  convenzioni: number;
  activated: number;
  warnedT60: number;
  warnedT30: number;
  renewed: number;
  expired: number;
}

export async function runAdesioniSchedule(ctx: CatalogueCtx, now: Date): Promise<AdesioniScheduleResult> {
  const today = todayInItaly(now);
  const result: AdesioniScheduleResult = { convenzioni: 0, activated: 0, warnedT60: 0, warnedT30: 0, renewed: 0, expired: 0 };
  result.convenzioni = await runConvenzioniSchedule(ctx, today);

  const due = await ctx.db.select({ id: adesioni.id }).from(adesioni).where(and(eq(adesioni.status, 'approved'), lte(adesioni.startDate, today)));
  for (const { id } of due) if (await activateIfDue(ctx, id, now)) result.activated++;

  // T-60 and T-30: the end is at most 60 (30) days away and the warning was not sent yet.
  const t60 = await ctx.db
      .select({ id: adesioni.id })
      .from(adesioni)
      .where(and(eq(adesioni.status, 'active'), isNull(adesioni.warnedT60At), lte(adesioni.endDate, addDays(today, 60))));
  for (const { id } of t60) if (await warn(ctx, id, 60, now)) result.warnedT60++;
  const t30 = await ctx.db
      .select({ id: adesioni.id })
      .from(adesioni)
      .where(and(inArray(adesioni.status, ['active', 'expiring']), isNull(adesioni.warnedT30At), lte(adesioni.endDate, addDays(today, 30))));
  for (const { id } of t30) if (await warn(ctx, id, 30, now)) result.warnedT30++;

  const ended = await ctx.db.select({ id: adesioni.id }).from(adesioni).where(and(inArray(adesioni.status, ['active', 'expiring', 'suspended']), lt(adesioni.endDate, today)));
  for (const { id } of ended) {
    const renewedAs = await renewOrExpire(ctx, id, now);
    if (renewedAs) result.renewed++;
    else if ((await ctx.db.select({ s: adesioni.status }).from(adesioni).where(eq(adesioni.id, id)).limit(1))[0]?.s === 'expired') result.expired++;
  }
  return result;
}

/** One expiry warning (T-60 moves active → expiring); false when already sent or no longer due. */
async function warn(ctx: CatalogueCtx, id: number, days: 60 | 30, now: Date): Promise<boolean> {
  const today = todayInItaly(now);
  return await ctx.db.transaction(async (tx) => {
      const a = await adesioneViewSync(tx, id);
      if (!a || !a.endDate || a.endDate < today) return false;
      const column = days === 60 ? 'warnedT60At' : 'warnedT30At';
      if (a[column]) return false;
      const to = days === 60 && a.status === 'active' ? 'expiring' : a.status;
      const changed = affectedRows(await tx
            .update(adesioni)
            .set({ [column]: now.toISOString(), status: to, version: a.version + 1, updatedAt: new Date().toISOString() })
            .where(and(eq(adesioni.id, id), eq(adesioni.version, a.version), isNull(days === 60 ? adesioni.warnedT60At : adesioni.warnedT30At))));
      if (changed === 0) return false;
      const action = days === 60 ? 'mark_expiring' : 'warn_t30';
      const renewal = a.autoRenew
        ? 'È previsto il rinnovo automatico alla scadenza, se la convenzione resta in vigore per il nuovo periodo.'
        : 'Il rinnovo automatico non è previsto: per continuare a usare il servizio invia una nuova richiesta di adesione.';
      const note = `L’adesione scade il ${itDate(a.endDate)} (tra ${days === 60 ? 'circa 60' : 'circa 30'} giorni). ${renewal}`;
      await tx.insert(adesioneEvents)
              .values({ adesioneId: a.id, enteId: a.enteId, action, fromStatus: a.status, toStatus: to, note, actorUserId: null, actorKind: 'system', at: now.toISOString() });
      await recordAudit(tx, { actor: 'system', action: `adesione.${action}`, entity: 'adesione', entityId: a.id, enteId: a.enteId, before: { status: a.status }, after: { status: to, [column]: now.toISOString() } });
      const subject = `[SAEL] Adesione n. ${a.id} – ${a.serviceName}: scadenza il ${itDate(a.endDate)}`;
      const body = [
        `Adesione n. ${a.id} del ${a.enteName} al servizio «${a.serviceName}» (${a.serviceCode}).`,
        `Stato: ${ADESIONE_STATUS_LABELS[to]}.`,
        note,
        '',
        `Dettaglio: ${ctx.config.publicUrl.replace(/\/$/, '')}/backoffice/enti/${a.enteId}/adesioni/${a.id}`,
      ].join('\n');
      const ente = await enteAdminEmails(tx, a.enteId);
      for (const to of [...new Set([...ente, ...await saelEmails(tx, ctx.config)])]) await ctx.mail({ to, subject, body });
      return true;
    });
}
