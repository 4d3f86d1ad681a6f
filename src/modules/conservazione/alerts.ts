/**
 * Alerts of the conservazione for the responsabile: each is a cons_alerts row, an event in the log
 * and a helpdesk ticket (category 'conservazione', opened by the system user), in one transaction.
 */
import { createTicket } from '../helpdesk/tickets.js';
import { provinceEnteId } from '../catalogue/infopoint-repository.js';
import type { ConservazioneCtx } from './context.js';
import { appendEventSync } from './events.js';
import { consAlerts, type AlertKind } from './schema.js';

export interface NewAlert {
  kind: AlertKind;
  /** The ente concerned; null = the Province's own (fixity of a blob, the chain). */
  enteId: number | null;
  subject: string;
  /** Italian, shown on the alert and in the ticket. */
  message: string;
  priority?: 'media' | 'alta' | 'critica';
}

export async function raiseAlert(ctx: ConservazioneCtx, alert: NewAlert): Promise<{ alertId: number; ticketId: number | null }> {
  const ticketEnte = alert.enteId ?? (await provinceEnteId(ctx.db));
  const at = ctx.now();
  const userId = await ctx.systemUserId();
  const tickets = ctx.tickets();
  // One IMMEDIATE transaction: better-sqlite3 turns createTicket's own transaction into a savepoint
  // of this one, so a ticket never exists without its alert row and event, nor the other way round.
  const { alertId, ticketId } = await ctx.db.transaction(
    async () => {
      const ticketId =
        ticketEnte === null
          ? null
          : await createTicket(
                            tickets,
                            {
                              enteId: ticketEnte,
                              subject: `Conservazione: ${alert.message.slice(0, 150)}`,
                              category: 'conservazione',
                              type: 'conservazione',
                              priority: alert.priority ?? 'alta',
                              body: `${alert.message}\n\nOggetto: ${alert.subject}\nSegnalazione automatica del sistema di conservazione (${at.toISOString()}).`,
                            },
                            { userId, isStaff: true },
                            at,
                          );
      const row = (await ctx.db
              .insert(consAlerts)
              .values({ kind: alert.kind, enteId: alert.enteId, subject: alert.subject, message: alert.message, ticketId, createdAt: at.toISOString() })
              .returning({ id: consAlerts.id }))[0]!;
      await appendEventSync(ctx.db, { kind: 'audit', enteId: alert.enteId, actor: 'system', subject: alert.subject, details: { alert: alert.kind, alertId: row.id, ticketId, message: alert.message } }, at);
      return { alertId: row.id, ticketId };
    },
    { behavior: 'immediate' },
  );
  return { alertId, ticketId };
}
