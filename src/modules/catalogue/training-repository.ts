/**
 * Training sessions and enrolments (seed: base service and item 19). Every write is one
 * IMMEDIATE transaction (the writer lock is taken before anything is read, so the counts it reads
 * cannot change under it, whichever connection, thread or process writes), audited, with the
 * participant's mail queued in the same transaction. The per-ente quota is also held by the
 * database itself: the unique index `training_enrollments_slot` (session, ente, slot) — see
 * training-quota.ts.
 */
import { and, asc, count, desc, eq, gte, inArray, isNotNull, lt, ne, sql } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import { trainingEnrollments, trainingSessions, type EnrollmentStatus } from './schema.js';
import { certificateNumber, decideEnrolment, enrolmentMessage, seatsLeft, type EnrolmentDecision } from './training-quota.js';

export type TrainingSession = typeof trainingSessions.$inferSelect;
export type TrainingEnrollment = typeof trainingEnrollments.$inferSelect;

/** A drizzle handle that can open transactions (the app's db, or a worker thread's own connection). */
type TxDb = Db;

export interface AuditBy {
  actor: string;
  requestId?: string | null;
}

/** Queues one mail (in the caller's transaction: same connection). */
export type MailFn = (m: { to: string; subject: string; body: string }) => void | Promise<void>;

/** A refused operation, with its HTTP status and an Italian message for the page. */
export class TrainingError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TrainingError';
  }
}

export interface SessionInput {
  title: string;
  topic: string;
  description: string;
  startsAt: string;
  endsAt: string;
  place: string | null;
  onlineUrl: string | null;
  speakers: string;
  seats: number;
  freePerEnte: number;
  serviceId?: number | null;
}

export interface SessionListing extends TrainingSession {
  confirmed: number;
  waitlisted: number;
  seatsLeft: number;
}

const HOLDS_SEAT: EnrollmentStatus[] = ['confirmed', 'attended', 'no_show'];

/**
 * Whether `err` (or its cause: drizzle wraps the driver's error) is a unique-index violation on
 * `column` (`table.column`): SQLite names it in the message, PostgreSQL (23505) in the detail
 * ("Key (session_id, ente_id, slot)=…").
 */
function uniqueIndexHit(err: unknown, column: string): boolean {
  const bare = column.slice(column.lastIndexOf('.') + 1);
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const x = e as { code?: string; message?: string; detail?: string };
    if (x.code === 'SQLITE_CONSTRAINT_UNIQUE' && x.message?.includes(column)) return true;
    if (x.code === '23505' && new RegExp(`^Key \\([^)]*\\b${bare}\\b`).test(x.detail ?? '')) return true;
  }
  return false;
}

export async function createSession(db: TxDb, input: SessionInput, by: AuditBy & { userId: number | null }): Promise<TrainingSession> {
  return await db.transaction(
      async (tx) => {
        const row = (await tx
                .insert(trainingSessions)
                .values({ ...input, serviceId: input.serviceId ?? null, createdBy: by.userId })
                .returning())[0]!;
        await recordAudit(tx, { actor: by.actor, requestId: by.requestId, action: 'training.session.create', entity: 'training_session', entityId: row.id, after: row });
        return row;
      },
      { behavior: 'immediate' },
    );
}

export async function getSession(db: DbLike, id: number): Promise<TrainingSession | undefined> {
  return (await db.select().from(trainingSessions).where(eq(trainingSessions.id, id)).limit(1))[0];
}

/** Confirmed (seat-holding) and waitlisted counts of a session. */
async function sessionCounts(db: DbLike, sessionId: number): Promise<{ confirmed: number; waitlisted: number }> {
  const rows = await db
      .select({ status: trainingEnrollments.status, n: count() })
      .from(trainingEnrollments)
      .where(eq(trainingEnrollments.sessionId, sessionId))
      .groupBy(trainingEnrollments.status);
  const by = Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
  return { confirmed: HOLDS_SEAT.reduce((s, k) => s + (by[k] ?? 0), 0), waitlisted: by.waitlisted ?? 0 };
}

export async function getSessionListing(db: DbLike, id: number): Promise<SessionListing | undefined> {
  const s = await getSession(db, id);
  if (!s) return undefined;
  const c = await sessionCounts(db, id);
  return { ...s, ...c, seatsLeft: seatsLeft(s.seats, c.confirmed) };
}

/**
 * Sessions with their counts: upcoming (not yet ended) first, soonest first; then past ones,
 * most recent first. `includeCancelled` for the admin list.
 */
export async function listSessions(db: DbLike, now: Date, opts: { includeCancelled?: boolean; limitPast?: number } = {}): Promise<{ upcoming: SessionListing[]; past: SessionListing[] }> {
  const nowIso = now.toISOString();
  const visible = opts.includeCancelled ? undefined : ne(trainingSessions.status, 'cancelled');
  const counts = db
    .select({
      sessionId: trainingEnrollments.sessionId,
      confirmed: sql<number>`sum(case when ${inArray(trainingEnrollments.status, HOLDS_SEAT)} then 1 else 0 end)`.as('confirmed'),
      waitlisted: sql<number>`sum(case when ${trainingEnrollments.status} = 'waitlisted' then 1 else 0 end)`.as('waitlisted'),
    })
    .from(trainingEnrollments)
    .groupBy(trainingEnrollments.sessionId)
    .as('c');
  const base = () =>
    db
      .select({ s: trainingSessions, confirmed: counts.confirmed, waitlisted: counts.waitlisted })
      .from(trainingSessions)
      .leftJoin(counts, eq(counts.sessionId, trainingSessions.id));
  const shape = (r: { s: TrainingSession; confirmed: number | null; waitlisted: number | null }): SessionListing => ({
    ...r.s,
    confirmed: r.confirmed ?? 0,
    waitlisted: r.waitlisted ?? 0,
    seatsLeft: seatsLeft(r.s.seats, r.confirmed ?? 0),
  });
  const upcoming = (await base().where(and(gte(trainingSessions.endsAt, nowIso), visible)).orderBy(asc(trainingSessions.startsAt), asc(trainingSessions.id))).map(shape);
  const past = (await base()
      .where(and(lt(trainingSessions.endsAt, nowIso), visible))
      .orderBy(desc(trainingSessions.startsAt), desc(trainingSessions.id))
      .limit(opts.limitPast ?? 50))
    .map(shape);
  return { upcoming, past };
}

export async function updateSession(db: TxDb, id: number, input: SessionInput, by: AuditBy): Promise<TrainingSession> {
  return await db.transaction(
      async (tx) => {
        const before = (await tx.select().from(trainingSessions).where(eq(trainingSessions.id, id)).limit(1))[0];
        if (!before) throw new TrainingError(404, 'Sessione di formazione non trovata.');
        if (before.status === 'cancelled') throw new TrainingError(409, 'La sessione è annullata: non si può più modificare.');
        const c = (await tx
                .select({ n: count() })
                .from(trainingEnrollments)
                .where(and(eq(trainingEnrollments.sessionId, id), inArray(trainingEnrollments.status, HOLDS_SEAT))).limit(1))[0]!.n;
        if (input.seats < c) throw new TrainingError(409, `I posti non possono scendere sotto i ${c} partecipanti già confermati.`);
        const maxSlot = (await tx
                .select({ m: sql<number | null>`max(${trainingEnrollments.slot})` })
                .from(trainingEnrollments)
                .where(and(eq(trainingEnrollments.sessionId, id), isNotNull(trainingEnrollments.slot))).limit(1))[0]!.m;
        if (maxSlot !== null && input.freePerEnte < maxSlot)
          throw new TrainingError(409, `Un ente ha già ${maxSlot} partecipanti confermati: i posti gratuiti per ente non possono scendere sotto ${maxSlot}.`);
        const after = (await tx
                .update(trainingSessions)
                .set({ ...input, serviceId: input.serviceId ?? before.serviceId, updatedAt: new Date().toISOString() })
                .where(eq(trainingSessions.id, id))
                .returning())[0]!;
        await recordAudit(tx, { actor: by.actor, requestId: by.requestId, action: 'training.session.update', entity: 'training_session', entityId: id, before, after });
        return after;
      },
      { behavior: 'immediate' },
    );
}

/** Cancels a scheduled session and tells every participant still enrolled. */
export async function cancelSession(db: TxDb, id: number, by: AuditBy, mail: MailFn, publicUrl: string): Promise<TrainingSession> {
  return await db.transaction(
      async (tx) => {
        const before = (await tx.select().from(trainingSessions).where(eq(trainingSessions.id, id)).limit(1))[0];
        if (!before) throw new TrainingError(404, 'Sessione di formazione non trovata.');
        if (before.status !== 'scheduled') throw new TrainingError(409, 'La sessione non è in programma: non si può annullare.');
        const after = (await tx
                .update(trainingSessions)
                .set({ status: 'cancelled', updatedAt: new Date().toISOString() })
                .where(eq(trainingSessions.id, id))
                .returning())[0]!;
        const people = await tx
                .select()
                .from(trainingEnrollments)
                .where(and(eq(trainingEnrollments.sessionId, id), inArray(trainingEnrollments.status, ['confirmed', 'waitlisted'])));
        for (const p of people)
          await mail({
            to: p.participantEmail,
            subject: `Sessione annullata: ${before.title}`,
            body: `Gentile ${p.participantName},\n\nla sessione di formazione SAEL "${before.title}" è stata annullata.\nCi scusiamo per il disagio: le nuove date sono su ${publicUrl}/formazione.\n\nS.A.E.L. – Provincia di Campobasso`,
          });
        await recordAudit(tx, { actor: by.actor, requestId: by.requestId, action: 'training.session.cancel', entity: 'training_session', entityId: id, before: { status: before.status }, after: { status: 'cancelled', notified: people.length } });
        return after;
      },
      { behavior: 'immediate' },
    );
}

export interface EnrolInput {
  sessionId: number;
  enteId: number;
  name: string;
  email: string;
  role: string | null;
  enrolledBy: number | null;
}

export interface EnrolResult {
  enrollment: TrainingEnrollment;
  decision: EnrolmentDecision;
  message: string;
}

function participantMail(s: TrainingSession, e: TrainingEnrollment, kind: 'confirmed' | 'waitlisted' | 'promoted', message: string, publicUrl: string) {
  const subject = {
    confirmed: `Iscrizione confermata: ${s.title}`,
    waitlisted: `In lista d’attesa: ${s.title}`,
    promoted: `Posto confermato dalla lista d’attesa: ${s.title}`,
  }[kind];
  const where = [s.place, s.onlineUrl].filter(Boolean).join(' – ');
  const lines = [
    `Gentile ${e.participantName},`,
    '',
    message,
    '',
    `Sessione: ${s.title}`,
    `Quando: ${italianRange(s.startsAt, s.endsAt)}`,
    where ? `Dove: ${where}` : '',
    '',
    `Dettagli: ${publicUrl}/formazione/${s.id}`,
    kind === 'waitlisted' ? '' : `Invito per il calendario: ${publicUrl}/formazione/${s.id}/invito.ics`,
    '',
    'S.A.E.L. – Provincia di Campobasso',
  ];
  return { to: e.participantEmail, subject, body: lines.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n') };
}

const DAY_IT = new Intl.DateTimeFormat('it-IT', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/Rome' });
const TIME_IT = new Intl.DateTimeFormat('it-IT', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Rome' });

/** "martedì 15 dicembre 2026, 09:30–13:00" in Italian time (two days when it spans them). */
export function italianRange(startsAt: string, endsAt: string): string {
  const a = new Date(startsAt);
  const b = new Date(endsAt);
  const da = DAY_IT.format(a);
  const db = DAY_IT.format(b);
  return da === db ? `${da}, ${TIME_IT.format(a)}–${TIME_IT.format(b)}` : `${da}, ${TIME_IT.format(a)} – ${db}, ${TIME_IT.format(b)}`;
}

/**
 * Enrols a colleague of a member ente. Confirmed in the lowest free slot of the ente while the
 * room has a seat, waitlisted otherwise; the same address twice in a session is refused (409).
 */
export async function enrol(db: TxDb, input: EnrolInput, opts: { now: Date; mail: MailFn; publicUrl: string; by: AuditBy }): Promise<EnrolResult> {
  const email = input.email.trim().toLowerCase();
  return await db.transaction(
      async (tx) => {
        const s = (await tx.select().from(trainingSessions).where(eq(trainingSessions.id, input.sessionId)).limit(1))[0];
        if (!s) throw new TrainingError(404, 'Sessione di formazione non trovata.');
        if (s.status !== 'scheduled') throw new TrainingError(409, 'La sessione è annullata o già svolta: le iscrizioni sono chiuse.');
        if (s.startsAt <= opts.now.toISOString()) throw new TrainingError(409, 'La sessione è già iniziata: le iscrizioni sono chiuse.');
        const ente = (await tx.select({ id: enti.id, member: enti.member, name: enti.name }).from(enti).where(eq(enti.id, input.enteId)).limit(1))[0];
        if (!ente) throw new TrainingError(404, 'Ente non trovato.');
        if (!ente.member) throw new TrainingError(403, 'La formazione gratuita è riservata agli enti aderenti al SAEL: questo ente non risulta aderente.');
        const dup = (await tx
                .select({ id: trainingEnrollments.id, enteId: trainingEnrollments.enteId })
                .from(trainingEnrollments)
                .where(and(eq(trainingEnrollments.sessionId, s.id), eq(trainingEnrollments.participantEmail, email), ne(trainingEnrollments.status, 'cancelled'))).limit(1))[0];
        if (dup) throw new TrainingError(409, `L’indirizzo ${email} è già iscritto a questa sessione: ogni partecipante si iscrive una volta sola.`);

        const takenSlots = (await tx
                .select({ slot: trainingEnrollments.slot })
                .from(trainingEnrollments)
                .where(and(eq(trainingEnrollments.sessionId, s.id), eq(trainingEnrollments.enteId, ente.id), isNotNull(trainingEnrollments.slot))))
          .map((r) => r.slot!);
        const confirmedInSession = (await tx
                .select({ n: count() })
                .from(trainingEnrollments)
                .where(and(eq(trainingEnrollments.sessionId, s.id), inArray(trainingEnrollments.status, HOLDS_SEAT))).limit(1))[0]!.n;
        let decision = decideEnrolment({ takenSlots, freePerEnte: s.freePerEnte, confirmedInSession, seats: s.seats });
        const values = {
          sessionId: s.id,
          enteId: ente.id,
          participantName: input.name.trim(),
          participantEmail: email,
          participantRole: input.role?.trim() || null,
          enrolledBy: input.enrolledBy,
        };
        let row: TrainingEnrollment;
        try {
          // In a savepoint: PostgreSQL refuses every later statement of a transaction whose
          // statement failed, unless that statement's savepoint is rolled back.
          const first = decision;
          row = await tx.transaction(async (sp) =>
            first.status === 'confirmed'
              ? (await sp.insert(trainingEnrollments).values({ ...values, status: 'confirmed', slot: first.slot }).returning())[0]!
              : (await sp.insert(trainingEnrollments).values({ ...values, status: 'waitlisted', slot: null }).returning())[0]!,
          );
        } catch (err) {
          // The slot index refused it: another writer holds that slot. Waitlist instead.
          if (uniqueIndexHit(err, 'training_enrollments.slot')) {
            decision = { status: 'waitlisted', reason: 'ente_quota' };
            row = (await tx.insert(trainingEnrollments).values({ ...values, status: 'waitlisted', slot: null }).returning())[0]!;
          } else if (uniqueIndexHit(err, 'participant_email')) {
            throw new TrainingError(409, `L’indirizzo ${email} è già iscritto a questa sessione: ogni partecipante si iscrive una volta sola.`);
          } else throw err;
        }
        const message = enrolmentMessage(decision, row.participantName, s.freePerEnte);
        await opts.mail(participantMail(s, row, decision.status, message, opts.publicUrl));
        await recordAudit(tx, {
                    actor: opts.by.actor,
                    requestId: opts.by.requestId,
                    action: `training.enrol.${decision.status}`,
                    entity: 'training_enrollment',
                    entityId: row.id,
                    enteId: ente.id,
                    after: { sessionId: s.id, status: row.status, slot: row.slot, email },
                  });
        return { enrollment: row, decision, message };
      },
      { behavior: 'immediate' },
    );
}

export async function getEnrollment(db: DbLike, id: number): Promise<TrainingEnrollment | undefined> {
  return (await db.select().from(trainingEnrollments).where(eq(trainingEnrollments.id, id)).limit(1))[0];
}

/**
 * Cancels an enrolment (confirmed or waitlisted; `enteId` restricts it to that ente's ones: 404
 * otherwise). A freed confirmed seat goes, in the same transaction, to the oldest waitlisted of
 * the same ente, or, when that ente has none, to the oldest waitlisted of any ente that still has
 * a free slot (it was waiting for the full room). Returns the promoted enrolment, if any.
 */
export async function cancelEnrollment(
  db: TxDb,
  id: number,
  opts: { enteId?: number; now: Date; mail: MailFn; publicUrl: string; by: AuditBy },
): Promise<{ cancelled: TrainingEnrollment; promoted: TrainingEnrollment | null }> {
  return await db.transaction(
      async (tx) => {
        const e = (await tx.select().from(trainingEnrollments).where(eq(trainingEnrollments.id, id)).limit(1))[0];
        if (!e || (opts.enteId !== undefined && e.enteId !== opts.enteId)) throw new TrainingError(404, 'Iscrizione non trovata.');
        if (e.status !== 'confirmed' && e.status !== 'waitlisted') throw new TrainingError(409, 'Questa iscrizione è già annullata o la presenza è già registrata: non si può annullare.');
        const s = (await tx.select().from(trainingSessions).where(eq(trainingSessions.id, e.sessionId)).limit(1))[0]!;
        const nowIso = opts.now.toISOString();
        const cancelled = (await tx
                .update(trainingEnrollments)
                .set({ status: 'cancelled', slot: null, cancelledAt: nowIso, updatedAt: nowIso })
                .where(eq(trainingEnrollments.id, id))
                .returning())[0]!;
        await recordAudit(tx, { actor: opts.by.actor, requestId: opts.by.requestId, action: 'training.enrol.cancel', entity: 'training_enrollment', entityId: id, enteId: e.enteId, before: { status: e.status, slot: e.slot }, after: { status: 'cancelled' } });
        let promoted: TrainingEnrollment | null = null;
        if (e.status === 'confirmed' && s.status === 'scheduled' && s.startsAt > nowIso) {
          const waiting = async (where: ReturnType<typeof and>) =>
            await tx.select().from(trainingEnrollments).where(where).orderBy(asc(trainingEnrollments.id));
          const sameEnte = await waiting(and(eq(trainingEnrollments.sessionId, s.id), eq(trainingEnrollments.enteId, e.enteId), eq(trainingEnrollments.status, 'waitlisted')));
          const candidates = sameEnte.length > 0 ? sameEnte : await waiting(and(eq(trainingEnrollments.sessionId, s.id), eq(trainingEnrollments.status, 'waitlisted')));
          const confirmedInSession = (await tx
                    .select({ n: count() })
                    .from(trainingEnrollments)
                    .where(and(eq(trainingEnrollments.sessionId, s.id), inArray(trainingEnrollments.status, HOLDS_SEAT))).limit(1))[0]!.n;
          for (const w of candidates) {
            const takenSlots = (await tx
                        .select({ slot: trainingEnrollments.slot })
                        .from(trainingEnrollments)
                        .where(and(eq(trainingEnrollments.sessionId, s.id), eq(trainingEnrollments.enteId, w.enteId), isNotNull(trainingEnrollments.slot))))
              .map((r) => r.slot!);
            const d = decideEnrolment({ takenSlots, freePerEnte: s.freePerEnte, confirmedInSession, seats: s.seats });
            if (d.status !== 'confirmed') continue;
            promoted = (await tx
                        .update(trainingEnrollments)
                        .set({ status: 'confirmed', slot: d.slot, updatedAt: nowIso })
                        .where(and(eq(trainingEnrollments.id, w.id), eq(trainingEnrollments.status, 'waitlisted')))
                        .returning())[0]!!;
            await opts.mail(participantMail(s, promoted, 'promoted', `Si è liberato un posto: ${promoted.participantName} passa dalla lista d’attesa ai partecipanti confermati.`, opts.publicUrl));
            await recordAudit(tx, { actor: opts.by.actor, requestId: opts.by.requestId, action: 'training.enrol.promote', entity: 'training_enrollment', entityId: w.id, enteId: w.enteId, before: { status: 'waitlisted' }, after: { status: 'confirmed', slot: d.slot } });
            break;
          }
        }
        return { cancelled, promoted };
      },
      { behavior: 'immediate' },
    );
}

export interface EnrollmentRow extends TrainingEnrollment {
  enteName: string;
}

/** A session's enrolments with the ente's name (register), confirmed first, then by ente and time. */
export async function listSessionEnrollments(db: DbLike, sessionId: number): Promise<EnrollmentRow[]> {
  return (await db
      .select({ e: trainingEnrollments, enteName: enti.name })
      .from(trainingEnrollments)
      .innerJoin(enti, eq(enti.id, trainingEnrollments.enteId))
      .where(eq(trainingEnrollments.sessionId, sessionId))
      .orderBy(sql`case ${trainingEnrollments.status} when 'cancelled' then 2 when 'waitlisted' then 1 else 0 end`, asc(enti.name), asc(trainingEnrollments.id)))
    .map((r) => ({ ...r.e, enteName: r.enteName }));
}

export interface EnteEnrollmentRow extends TrainingEnrollment {
  session: Pick<TrainingSession, 'id' | 'title' | 'startsAt' | 'endsAt' | 'status' | 'place' | 'onlineUrl'>;
}

/** One ente's enrolments (only that ente's rows), newest sessions first. */
export async function listEnteEnrollments(db: DbLike, enteId: number): Promise<EnteEnrollmentRow[]> {
  return (await db
      .select({
        e: trainingEnrollments,
        session: { id: trainingSessions.id, title: trainingSessions.title, startsAt: trainingSessions.startsAt, endsAt: trainingSessions.endsAt, status: trainingSessions.status, place: trainingSessions.place, onlineUrl: trainingSessions.onlineUrl },
      })
      .from(trainingEnrollments)
      .innerJoin(trainingSessions, eq(trainingSessions.id, trainingEnrollments.sessionId))
      .where(eq(trainingEnrollments.enteId, enteId))
      .orderBy(desc(trainingSessions.startsAt), asc(trainingEnrollments.id))
      .limit(500))
    .map((r) => ({ ...r.e, session: r.session }));
}

/**
 * Registers attendance (SAEL admin, from the session's start on): attended gets its certificate
 * number; no_show keeps none. Only confirmed (or already marked) enrolments can be marked.
 */
export async function markAttendance(db: TxDb, id: number, status: 'attended' | 'no_show', opts: { now: Date; by: AuditBy }): Promise<TrainingEnrollment> {
  return await db.transaction(
      async (tx) => {
        const e = (await tx.select().from(trainingEnrollments).where(eq(trainingEnrollments.id, id)).limit(1))[0];
        if (!e) throw new TrainingError(404, 'Iscrizione non trovata.');
        const s = (await tx.select().from(trainingSessions).where(eq(trainingSessions.id, e.sessionId)).limit(1))[0]!;
        if (s.status === 'cancelled') throw new TrainingError(409, 'La sessione è annullata: non c’è un registro presenze.');
        if (s.startsAt > opts.now.toISOString()) throw new TrainingError(409, 'Le presenze si registrano dall’inizio della sessione.');
        if (!HOLDS_SEAT.includes(e.status)) throw new TrainingError(409, 'Solo i partecipanti confermati entrano nel registro presenze.');
        const after = (await tx
                .update(trainingEnrollments)
                .set({ status, certificateNumber: status === 'attended' ? (e.certificateNumber ?? certificateNumber(s.startsAt, e.id)) : null, updatedAt: opts.now.toISOString() })
                .where(eq(trainingEnrollments.id, id))
                .returning())[0]!;
        if (s.status === 'scheduled' && s.endsAt <= opts.now.toISOString())
          await tx.update(trainingSessions).set({ status: 'held', updatedAt: opts.now.toISOString() }).where(eq(trainingSessions.id, s.id));
        await recordAudit(tx, { actor: opts.by.actor, requestId: opts.by.requestId, action: `training.attendance.${status}`, entity: 'training_enrollment', entityId: id, enteId: e.enteId, before: { status: e.status }, after: { status, certificateNumber: after.certificateNumber } });
        return after;
      },
      { behavior: 'immediate' },
    );
}
