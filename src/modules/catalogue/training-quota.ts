/**
 * The free-seat quota of a training session (seed: 2 participants per member ente free of
 * charge), as pure decisions over counts the repository reads inside its write transaction.
 * The database is the last word: a confirmed enrolment holds one of its ente's slots
 * 1..free_per_ente and the unique index `training_enrollments_slot` (session, ente, slot) refuses
 * a second holder of the same slot, so even two writers that decided on the same slot cannot both
 * confirm.
 */

export type EnrolmentDecision =
  | { status: 'confirmed'; slot: number }
  | { status: 'waitlisted'; reason: 'ente_quota' | 'session_full' };

/** The lowest slot in 1..freePerEnte not in `taken`, or null when all are held. */
export function freeSlot(taken: readonly number[], freePerEnte: number): number | null {
  const held = new Set(taken);
  for (let s = 1; s <= freePerEnte; s++) if (!held.has(s)) return s;
  return null;
}

/** Confirm in a free slot when the ente has one and the room has a seat left; otherwise waitlist. */
export function decideEnrolment(input: { takenSlots: readonly number[]; freePerEnte: number; confirmedInSession: number; seats: number }): EnrolmentDecision {
  const slot = freeSlot(input.takenSlots, input.freePerEnte);
  if (slot === null) return { status: 'waitlisted', reason: 'ente_quota' };
  if (input.confirmedInSession >= input.seats) return { status: 'waitlisted', reason: 'session_full' };
  return { status: 'confirmed', slot };
}

/** Seats still free in the room (never negative). */
export function seatsLeft(seats: number, confirmed: number): number {
  return Math.max(0, seats - confirmed);
}

/** The Italian message shown (and mailed) for an enrolment's outcome. */
export function enrolmentMessage(d: EnrolmentDecision, participant: string, freePerEnte: number): string {
  if (d.status === 'confirmed') return `Iscrizione confermata: ${participant} partecipa alla sessione (posto gratuito ${d.slot} di ${freePerEnte} del tuo ente).`;
  if (d.reason === 'ente_quota') {
    const n = freePerEnte === 1 ? 'ha già 1 partecipante confermato' : `ha già ${freePerEnte} partecipanti confermati`;
    return `Il tuo ente ${n}: ${participant} è in lista d’attesa. Se un posto del tuo ente si libera, l’iscrizione viene confermata in automatico.`;
  }
  return `La sessione è al completo: ${participant} è in lista d’attesa. Se un posto si libera, l’iscrizione viene confermata in automatico.`;
}

/** Attestato number: `SAEL-F/<year of the session>/<enrolment id, 6 digits>` (unique: one per enrolment). */
export function certificateNumber(sessionStartsAt: string, enrollmentId: number): string {
  return `SAEL-F/${sessionStartsAt.slice(0, 4)}/${String(enrollmentId).padStart(6, '0')}`;
}

/** Italian labels of the enrolment statuses. */
export const ENROLLMENT_LABELS: Record<string, string> = {
  confirmed: 'Confermata',
  waitlisted: 'In lista d’attesa',
  cancelled: 'Annullata',
  attended: 'Presente',
  no_show: 'Assente',
};

/**
 * A `datetime-local` value (YYYY-MM-DDTHH:MM) read as Italian time → ISO UTC instant, or null
 * when it is not a valid date-time. Summer/winter time is resolved with the offset at that instant.
 */
export function italianLocalToUtc(local: string, offsetAt: (ms: number) => number): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local);
  if (!m) return null;
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  const asUtc = Date.UTC(y, mo - 1, d, h, mi);
  const check = new Date(asUtc);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59) return null;
  // Two passes: the offset at the guessed instant, then at the corrected one (DST edges).
  let t = asUtc - offsetAt(asUtc) * 60_000;
  t = asUtc - offsetAt(t) * 60_000;
  return new Date(t).toISOString();
}

/** ISO UTC instant → `datetime-local` value in Italian time (for edit forms). */
export function utcToItalianLocal(iso: string, offsetAt: (ms: number) => number): string {
  const ms = Date.parse(iso);
  return new Date(ms + offsetAt(ms) * 60_000).toISOString().slice(0, 16);
}
