/**
 * The charges' scheduled pass (run by app.catalogueTick after the adesioni's):
 * 1. issues what became due: annual slices of a new year, and any charge an earlier attempt could
 *    not issue (e.g. the Province's payment service was missing);
 * 2. turns 'paid' the issued charges whose Province option was paid by a receipt;
 * 3. mails a reminder for each overdue charge (issued and past its due date) to the ente's PEC and
 *    email and its ente_admin users, at most once every `charges_reminder_days` days (default 7);
 *    a paid or cancelled charge is never reminded (the paid sync runs first).
 */
import { formatEuro } from '../../domain/money.js';
import { formatNoticeNumber } from '../positions/numbers.js';
import { todayInItaly } from '../positions/service.js';
import { formatDateIt } from '../positions/validation.js';
import { reminderDue } from './charge-plan.js';
import { issueChargesForAdesione } from './charges.js';
import { chargeableAdesioni, chargesSettings, markReminded, overdueCharges, reminderRecipients, syncPaidCharges } from './charges-repository.js';
import type { CatalogueCtx } from './context.js';

export interface ChargesPassResult {
  issued: number;
  paid: number;
  reminded: number;
}

export async function runChargesSchedule(ctx: CatalogueCtx, now: Date): Promise<ChargesPassResult> {
  const today = todayInItaly(now);
  const result: ChargesPassResult = { issued: 0, paid: 0, reminded: 0 };

  // 1. Due slices (adesioni whose period reaches last year or later: older ones were settled).
  const fromDate = `${Number(today.slice(0, 4)) - 1}-01-01`;
  for (const id of await chargeableAdesioni(ctx.db, fromDate)) {
    result.issued += (await issueChargesForAdesione(ctx, id, now)).length;
  }

  // 2. Paid by receipts.
  result.paid = (await syncPaidCharges(ctx.db)).length;

  // 3. Reminders.
  const { reminderDays } = await chargesSettings(ctx.db);
  const notSince = new Date(now.getTime() - Math.max(1, reminderDays) * 86_400_000).toISOString();
  const recipients = new Map<number, string[]>();
  for (const c of await overdueCharges(ctx.db, today)) {
    if (!reminderDue(c, today, now, reminderDays)) continue;
    if (!(await markReminded(ctx.db, c.id, now.toISOString(), notSince))) continue;
    if (!recipients.has(c.enteId)) recipients.set(c.enteId, await reminderRecipients(ctx.db, c.enteId));
    for (const to of recipients.get(c.enteId)!) {
      await ctx.mail({
                to,
                subject: `Sollecito: addebito SAEL scaduto il ${formatDateIt(c.dueDate)}`,
                body: [
                  `Gentile ${c.enteName},`,
                  '',
                  `risulta ancora da pagare l’avviso pagoPA della Provincia «${c.description}»`,
                  `di ${formatEuro(c.amountCents)}, scaduto il ${formatDateIt(c.dueDate)} (codice avviso ${c.noticeNumber ? formatNoticeNumber(c.noticeNumber) : '—'}).`,
                  '',
                  `L’avviso in PDF e il collegamento per pagarlo sono in ${ctx.config.publicUrl}/backoffice/enti/${c.enteId}/addebiti`,
                  'Se l’avviso è già stato pagato, non tenga conto di questo messaggio: la ricevuta arriverà a breve.',
                  '',
                  'S.A.E.L. – Servizio Assistenza Enti Locali',
                ].join('\n'),
              });
    }
    result.reminded++;
  }
  return result;
}
