/**
 * Demo content of the catalogue (demo mode only, after seedCatalogue has seeded the services):
 * a convenzione in force for each of the six member comuni, adesioni in every state a newcomer
 * should see (submitted, under review, approved, active, expiring, suspended, rejected) with their
 * timelines, and a training session in three weeks with seats taken by two comuni (a third
 * colleague of one comune on the waiting list: the 2-per-ente quota).
 *
 * Every date is relative to `now`, so the demo never looks stale on a fresh database. Act
 * numbers, protocol numbers and people are demo values: convenzioni and sessions say so in their
 * notes/description, adesioni carry `"demo": true` in their modulo (request_data). Idempotent:
 * nothing is done when any convenzione exists.
 *
 * Charges: the active adesioni of paid services get their charges (Province positions) from the
 * catalogue's scheduled pass (charges-schedule: due annual slices of chargeable adesioni), which
 * needs the module's context (configuration, mail): this seed runs before the app has one, so the
 * activation event of those adesioni says so in its note.
 */
import { and, asc, count, eq, inArray } from 'drizzle-orm';
import type { Db, DbTx } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import { roleGrants } from '../users/schema.js';
import { localDate } from '../helpdesk/sla-calendar.js';
import { addDays, periodEnd, type AdesioneAction } from './adesione-states.js';
import { resolvePriceFor } from './price-repository.js';
import { adesioneEvents, adesioni, catalogueServices, convenzioni, trainingEnrollments, trainingSessions, type AdesioneStatus } from './schema.js';

const ACTOR = 'system:demo-seed';
const DEMO_NOTE = 'Dati dimostrativi: numeri e date degli atti sono valori di prova.';

/** Member comuni by ISTAT code (the enti demo seed's six members). */
const CAMPOBASSO = '070006';
const TERMOLI = '070078';
const BOJANO = '070003';
const LARINO = '070031';
const RICCIA = '070057';
const TRIVENTO = '070081';
const MEMBERS = [CAMPOBASSO, TERMOLI, BOJANO, LARINO, RICCIA, TRIVENTO];

type Step = [action: AdesioneAction, from: AdesioneStatus, to: AdesioneStatus, daysFromStart: number, note?: string];

interface DemoAdesione {
  istat: string;
  service: string;
  quantity?: number;
  /** Start of the period, days from today (the request is sent 30 days before it). */
  startIn: number;
  status: AdesioneStatus;
  autoRenew?: boolean;
  referente: [name: string, role: string];
  /** Transitions after the submission, in order. */
  steps: Step[];
  decisionNote?: string;
  notes: string;
}

const CHARGES_NOTE = 'Gli addebiti (avvisi pagoPA della Provincia) sono emessi dal passaggio pianificato del catalogo.';

/** The demo adesioni: one per state a newcomer should find, across the member comuni. */
const DEMO_ADESIONI: DemoAdesione[] = [
  {
    istat: TERMOLI,
    service: '3',
    startIn: -120,
    status: 'active',
    autoRenew: true,
    referente: ['Anna Esposito', 'Responsabile del servizio affari generali'],
    steps: [
      ['review', 'submitted', 'under_review', -25],
      ['approve', 'under_review', 'approved', -10],
      ['activate', 'approved', 'active', 0, CHARGES_NOTE],
    ],
    notes: 'Pubblicazione degli atti dell’ufficio segreteria e dell’ufficio tecnico.',
  },
  {
    istat: CAMPOBASSO,
    service: '17',
    startIn: -320,
    status: 'expiring',
    referente: ['Giuseppe Verdi', 'Responsabile del servizio tributi'],
    steps: [
      ['review', 'submitted', 'under_review', -20],
      ['approve', 'under_review', 'approved', -7],
      ['activate', 'approved', 'active', 0, CHARGES_NOTE],
      ['mark_expiring', 'active', 'expiring', 305, 'Avviso di scadenza a 60 giorni inviato al referente.'],
    ],
    notes: 'Conservazione delle ricevute pagoPA e dei flussi di rendicontazione.',
  },
  {
    istat: BOJANO,
    service: '8',
    startIn: -200,
    status: 'suspended',
    referente: ['Marco Di Nucci', 'Responsabile dell’ufficio tecnico'],
    steps: [
      ['review', 'submitted', 'under_review', -20],
      ['approve', 'under_review', 'approved', -5],
      ['activate', 'approved', 'active', 0, CHARGES_NOTE],
      ['suspend', 'active', 'suspended', 150, 'Sospesa per il mancato pagamento dell’addebito annuale (dato dimostrativo).'],
    ],
    notes: 'Assistenza per le postazioni degli uffici demografici.',
  },
  {
    istat: LARINO,
    service: '4A',
    startIn: 15,
    status: 'approved',
    referente: ['Carla Santoro', 'Segretaria comunale'],
    steps: [
      ['review', 'submitted', 'under_review', -20],
      ['approve', 'under_review', 'approved', -3],
    ],
    notes: 'Sito istituzionale con la sezione Amministrazione trasparente.',
  },
  {
    istat: RICCIA,
    service: '16',
    startIn: 25,
    status: 'under_review',
    referente: ['Paolo Mascia', 'Responsabile SUAP'],
    steps: [['review', 'submitted', 'under_review', -28]],
    notes: 'Primo livello di assistenza alle imprese per le pratiche SUAP.',
  },
  {
    istat: TRIVENTO,
    service: '1',
    quantity: 5,
    startIn: 29,
    status: 'submitted',
    referente: ['Lucia Fantini', 'Responsabile del protocollo'],
    steps: [],
    notes: 'Cinque caselle PEC per gli uffici.',
  },
  {
    istat: TERMOLI,
    service: '18',
    startIn: -12,
    status: 'rejected',
    referente: ['Anna Esposito', 'Responsabile del servizio affari generali'],
    steps: [
      ['review', 'submitted', 'under_review', -25],
      ['reject', 'under_review', 'rejected', -18, 'Il servizio richiede un referente per la comunicazione indicato con atto dell’ente (motivo dimostrativo).'],
    ],
    decisionNote: 'Il servizio richiede un referente per la comunicazione indicato con atto dell’ente (motivo dimostrativo).',
    notes: 'Gestione della pagina istituzionale sui social.',
  },
  {
    istat: CAMPOBASSO,
    service: '19',
    startIn: -60,
    status: 'active',
    referente: ['Giuseppe Verdi', 'Responsabile del servizio tributi'],
    steps: [
      ['auto_approve', 'submitted', 'approved', -30, 'Servizio di base gratuito: approvato senza istruttoria.'],
      ['activate', 'approved', 'active', 0],
    ],
    notes: 'Formazione e aggiornamento per gli uffici.',
  },
];

/** Seeds the demo catalogue content; returns whether it did (nothing when any convenzione exists). */
export async function seedCatalogueDemo(db: Db, now: Date): Promise<boolean> {
  const existing = (await db.select({ n: count() }).from(convenzioni).limit(1))[0];
  if (existing && existing.n > 0) return false;
  const members = await db.select({ id: enti.id, istat: enti.istatCode, name: enti.name }).from(enti).where(inArray(enti.istatCode, MEMBERS));
  if (!members.length) return false;
  const enteByIstat = new Map(members.map((m) => [m.istat!, m.id]));
  const services = new Map(
    (await db
            .select({ id: catalogueServices.id, code: catalogueServices.code, billing: catalogueServices.billing, periodMonths: catalogueServices.periodMonths })
            .from(catalogueServices))
      .map((s) => [s.code, s]),
  );
  const today = localDate(now);
  const at = (date: string, hour = 9) => `${date}T${String(hour - 1).padStart(2, '0')}:00:00.000Z`;
  // The demo referente of Termoli (its ente_admin user), for the adesioni Termoli sent.
  const termoliId = enteByIstat.get(TERMOLI);
  const termoliReferente = termoliId
    ? ((await db
              .select({ id: roleGrants.userId })
              .from(roleGrants)
              .where(and(eq(roleGrants.enteId, termoliId), eq(roleGrants.role, 'ente_admin')))
              .orderBy(asc(roleGrants.id)).limit(1))[0]?.id ?? null)
    : null;

  // The SAEL office's actions are the demo SAEL admin's (the first sael_admin grant), if any.
  const saelAdmin = (await db.select({ id: roleGrants.userId }).from(roleGrants).where(eq(roleGrants.role, 'sael_admin')).orderBy(asc(roleGrants.id)).limit(1))[0]?.id ?? null;

  // Prices first (async reads), then everything in one transaction.
  const planned: { d: DemoAdesione; enteId: number; service: { id: number; periodMonths: number }; start: string; end: string; submitted: string; snapshot: Awaited<ReturnType<typeof resolvePriceFor>> }[] = [];
  for (const d of DEMO_ADESIONI) {
    const enteId = enteByIstat.get(d.istat);
    const service = services.get(d.service);
    if (!enteId || !service) continue;
    const start = addDays(today, d.startIn);
    const submitted = addDays(start, -30);
    const approvedStep = d.steps.find((s) => s[2] === 'approved');
    const snapshot = approvedStep ? await resolvePriceFor(db, { enteId, serviceId: service.id, on: addDays(start, approvedStep[3]), quantity: d.quantity ?? 1 }) : null;
    planned.push({ d, enteId, service, start, end: periodEnd(start, service.periodMonths), submitted, snapshot });
  }

  await db.transaction(async (tx) => {
        const convenzioneOf = new Map<number, number>();
        for (const [i, istat] of MEMBERS.entries()) {
          const enteId = enteByIstat.get(istat);
          if (!enteId) continue;
          const start = addDays(today, -400 + i * 15);
          const row = (await tx
                  .insert(convenzioni)
                  .values({
                    enteId,
                    status: 'in_force',
                    actKind: 'delibera',
                    actNumber: `${12 + i * 7}/DEMO`,
                    actDate: addDays(start, -45),
                    startDate: start,
                    endDate: periodEnd(start, 60),
                    signedAt: at(addDays(start, -10), 11),
                    notes: `Convenzione per la gestione associata dei servizi SAEL (art. 30 TUEL), delibera di Consiglio comunale. ${DEMO_NOTE}`,
                    createdAt: at(addDays(start, -50)),
                    updatedAt: at(start),
                  })
                  .returning({ id: convenzioni.id }))[0]!;
          convenzioneOf.set(enteId, row.id);
        }

        for (const [i, p] of planned.entries()) {
          const { d, enteId, service, start, end, submitted, snapshot } = p;
          const protocol = `SAEL-ADE-DEMO-${String(i + 1).padStart(4, '0')}`;
          const approved = d.steps.some((s) => s[2] === 'approved');
          const lastAt = d.steps.length ? at(addDays(start, d.steps.at(-1)![3])) : at(submitted);
          const referente = d.istat === TERMOLI ? termoliReferente : null;
          const row = (await tx
                  .insert(adesioni)
                  .values({
                    enteId,
                    serviceId: service.id,
                    convenzioneId: convenzioneOf.get(enteId) ?? null,
                    status: d.status,
                    quantity: d.quantity ?? 1,
                    requestData: JSON.stringify({
                      referenteName: d.referente[0],
                      referenteRole: d.referente[1],
                      email: `referente.${d.istat}@example.invalid`,
                      phone: '0874 000 100',
                      notes: d.notes,
                      demo: true,
                    }),
                    protocolNumber: protocol,
                    startDate: start,
                    endDate: end,
                    autoRenew: d.autoRenew ?? false,
                    priceSnapshot: approved && snapshot ? JSON.stringify(snapshot) : null,
                    amountCents: approved ? (snapshot?.totalCents ?? 0) : null,
                    decisionNote: d.decisionNote ?? null,
                    warnedT60At: d.status === 'expiring' ? lastAt : null,
                    submittedBy: referente,
                    createdAt: at(addDays(submitted, -2)),
                    updatedAt: lastAt,
                  })
                  .returning({ id: adesioni.id }))[0]!;
          await addEvent(tx, row.id, enteId, 'create', null, 'draft', at(addDays(submitted, -2)), 'Modulo compilato dal referente.', referente);
          await addEvent(tx, row.id, enteId, 'submit', 'draft', 'submitted', at(submitted, 10), `Protocollo ${protocol}`, referente);
          for (const [action, from, to, days, note] of d.steps) {
            // Activation on the start date, automatic approval and the T-60 warning are the scheduled pass's.
            const system = action === 'auto_approve' || action === 'mark_expiring' || action === 'activate';
            await addEvent(tx, row.id, enteId, action, from, to, at(addDays(start, days), 11), note ?? null, system ? null : saelAdmin, system ? 'system' : 'user');
          }
        }

        // A training session in three weeks: two comuni take seats, a third colleague waits.
        const day = addDays(today, 21);
        const servizio19 = services.get('19');
        const session = (await tx
              .insert(trainingSessions)
              .values({
                serviceId: servizio19?.id ?? null,
                title: 'pagoPA per gli uffici comunali: posizioni debitorie, avvisi e riconciliazione',
                topic: 'pagoPA e incassi',
                description: 'Giornata di formazione del servizio di base SAEL (sessione dimostrativa): creare le posizioni, stampare gli avvisi, leggere le ricevute e i flussi di rendicontazione.',
                startsAt: at(day, 9),
                endsAt: at(day, 13),
                place: 'Sala del Consiglio provinciale, Via Roma 47, Campobasso',
                onlineUrl: null,
                speakers: 'Ufficio SAEL della Provincia',
                seats: 30,
                freePerEnte: 2,
                status: 'scheduled',
                createdAt: at(addDays(today, -10)),
                updatedAt: at(addDays(today, -10)),
              })
              .returning({ id: trainingSessions.id }))[0]!;
        const enrol = async (istat: string, slot: number | null, name: string, role: string, daysAgo: number) => {
          const enteId = enteByIstat.get(istat);
          if (!enteId) return;
          const email = `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@example.invalid`;
          await tx.insert(trainingEnrollments)
                    .values({
                      sessionId: session.id,
                      enteId,
                      slot,
                      status: slot === null ? 'waitlisted' : 'confirmed',
                      participantName: name,
                      participantEmail: email,
                      participantRole: role,
                      createdAt: at(addDays(today, -daysAgo)),
                      updatedAt: at(addDays(today, -daysAgo)),
                    });
        };
        await enrol(CAMPOBASSO, 1, 'Giuseppe Verdi', 'Servizio tributi', 8);
        await enrol(CAMPOBASSO, 2, 'Maria Colasurdo', 'Ragioneria', 8);
        await enrol(TERMOLI, 1, 'Anna Esposito', 'Affari generali', 6);
        await enrol(TERMOLI, 2, 'Francesco Colombo', 'Servizio tributi', 6);
        await enrol(TERMOLI, null, 'Rita Mancini', 'Polizia locale', 5);

        await recordAudit(tx, { actor: ACTOR, action: 'seed', entity: 'catalogue', entityId: 'demo', after: { convenzioni: convenzioneOf.size, adesioni: planned.length, trainingSessions: 1 } });
      });
  return true;
}

async function addEvent(tx: DbTx, adesioneId: number, enteId: number, action: string, from: AdesioneStatus | null, to: AdesioneStatus, at: string, note: string | null, userId: number | null, actorKind: 'user' | 'system' = 'user'): Promise<void> {
  await tx.insert(adesioneEvents).values({ adesioneId, enteId, action, fromStatus: from, toStatus: to, note, actorUserId: userId, actorKind, at });
}
