/**
 * What a ticket is linked to, in words an operator recognises: the notice number and the
 * position's description of a payment, the flow identifier, the anomaly's kind, the bank
 * reference of a treasury movement (instead of "payment n. 68"), with the page that shows it.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { anomalies, fdrFlows } from '../pagopa/schema.js';
import { paymentOptions, positions } from '../positions/schema.js';
import { formatNoticeNumber } from '../positions/numbers.js';
import { anomalyLabel } from './matching.js';
import { treasuryMovements } from './schema.js';

export type TicketLinkKind = 'payment' | 'flow' | 'anomaly' | 'movement';

export interface TicketLink {
  kind: TicketLinkKind;
  id: number;
  enteId: number;
  label: string;
  url: string;
}

const DATE_IT = new Intl.DateTimeFormat('it-IT', { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'Europe/Rome' });

/** The linked object, or null when it does not exist (or has no ente). */
export async function describeTicketLink(db: Db, kind: TicketLinkKind, id: number): Promise<TicketLink | null> {
  switch (kind) {
    case 'payment': {
      const row = (await db
              .select({ enteId: paymentOptions.enteId, noticeNumber: paymentOptions.noticeNumber, description: positions.description })
              .from(paymentOptions)
              .innerJoin(positions, eq(positions.id, paymentOptions.positionId))
              .where(eq(paymentOptions.id, id)).limit(1))[0];
      return row ? { kind, id, enteId: row.enteId, label: `Avviso ${formatNoticeNumber(row.noticeNumber)} – ${row.description}`, url: `/helpdesk/pagamenti/${id}` } : null;
    }
    case 'flow': {
      const row = (await db.select({ enteId: fdrFlows.enteId, flowId: fdrFlows.flowId }).from(fdrFlows).where(eq(fdrFlows.id, id)).limit(1))[0];
      return row ? { kind, id, enteId: row.enteId, label: `Flusso di rendicontazione ${row.flowId}`, url: `/helpdesk/flussi/${id}` } : null;
    }
    case 'anomaly': {
      const row = (await db.select({ enteId: anomalies.enteId, type: anomalies.type }).from(anomalies).where(eq(anomalies.id, id)).limit(1))[0];
      return row && row.enteId !== null ? { kind, id, enteId: row.enteId, label: `Anomalia n. ${id}: ${anomalyLabel(row.type)}`, url: `/helpdesk/anomalie/${id}` } : null;
    }
    case 'movement': {
      const row = (await db
              .select({ enteId: treasuryMovements.enteId, movementId: treasuryMovements.movementId, bookingDate: treasuryMovements.bookingDate })
              .from(treasuryMovements)
              .where(eq(treasuryMovements.id, id)).limit(1))[0];
      return row ? { kind, id, enteId: row.enteId, label: `Movimento di tesoreria ${row.movementId} del ${DATE_IT.format(new Date(row.bookingDate))}`, url: '/helpdesk/tesoreria' } : null;
    }
  }
}
