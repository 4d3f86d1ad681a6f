/**
 * Demo mode only (issue #16 item 11): every member comune without an open adesione to the
 * catalogue service '17' (pagoPA e conservazione digitale a norma) gets an active one, so a
 * newcomer's payments are preserved by the next daily job. Free of charge (amount 0: the catalogue
 * issues no charge for it), flagged `"demo": true` in its modulo, with its timeline (created,
 * activated by the system) and an audit entry. Idempotent: a comune that has one is left alone.
 * Run it after the catalogue's own demo seed (which gives one comune an adesione to '17').
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { OPEN_STATUSES, addDays, periodEnd } from '../catalogue/adesione-states.js';
import { adesioneEvents, adesioni, catalogueServices, convenzioni } from '../catalogue/schema.js';
import { enti } from '../enti/schema.js';
import { CONSERVAZIONE_SERVICE_CODE } from './daily-job.js';

/** Gives the member comuni the conservazione service; returns the ids of the enti that got it. */
export async function seedConservazioneDemo(db: Db, today: string): Promise<number[]> {
  const service = (await db.select().from(catalogueServices).where(eq(catalogueServices.code, CONSERVAZIONE_SERVICE_CODE)).limit(1))[0];
  if (!service) return [];
  const members = await db
      .select({ id: enti.id, name: enti.name })
      .from(enti)
      .where(and(eq(enti.member, true), eq(enti.kind, 'comune')));
  const having = new Set(
    (await db
            .select({ enteId: adesioni.enteId })
            .from(adesioni)
            .where(and(eq(adesioni.serviceId, service.id), inArray(adesioni.status, [...OPEN_STATUSES]))))
      .map((r) => r.enteId),
  );
  const start = addDays(today, -30);
  const end = periodEnd(start, service.periodMonths);
  const at = `${start}T08:00:00.000Z`;
  const done: number[] = [];
  await db.transaction(async (tx) => {
        for (const m of members) {
          if (having.has(m.id)) continue;
          const convenzione = (await tx
                  .select({ id: convenzioni.id })
                  .from(convenzioni)
                  .where(and(eq(convenzioni.enteId, m.id), eq(convenzioni.status, 'in_force'))).limit(1))[0];
          const row = (await tx
                  .insert(adesioni)
                  .values({
                    enteId: m.id,
                    serviceId: service.id,
                    convenzioneId: convenzione?.id ?? null,
                    status: 'active',
                    quantity: 1,
                    requestData: JSON.stringify({ notes: 'Conservazione a norma delle ricevute pagoPA e dei flussi di rendicontazione (dimostrazione, senza addebito).', demo: true }),
                    startDate: start,
                    endDate: end,
                    amountCents: 0,
                    createdAt: at,
                    updatedAt: at,
                  })
                  .returning({ id: adesioni.id }))[0]!;
          await tx.insert(adesioneEvents).values({ adesioneId: row.id, enteId: m.id, action: 'create', fromStatus: null, toStatus: 'draft', note: 'Adesione dimostrativa al servizio di conservazione.', actorKind: 'system', at });
          await tx.insert(adesioneEvents)
                    .values({ adesioneId: row.id, enteId: m.id, action: 'activate', fromStatus: 'approved', toStatus: 'active', note: 'Attivata per la dimostrazione: le ricevute dell’ente vanno in conservazione ogni giorno.', actorKind: 'system', at });
          done.push(m.id);
        }
        if (done.length) await recordAudit(tx, { actor: 'system:demo-seed', action: 'seed', entity: 'conservazione', entityId: 'demo', after: { adesioni17: done } });
      });
  return done;
}
