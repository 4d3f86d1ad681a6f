/**
 * The adesione's state machine (spec helpdesk-catalogue §B.4), pure: which action leads from
 * which state to which, and who may take it. No database, no clock.
 *
 *   draft ──submit──▶ submitted ──review──▶ under_review ──approve──▶ approved ──activate──▶ active
 *   changes_requested ──submit──▶ submitted          ├─reject──▶ rejected (reason)
 *                                                    └─request_changes──▶ changes_requested (note)
 *   submitted ──auto_approve──▶ approved            (system: free services without approval)
 *   active ──suspend──▶ suspended ──resume──▶ active
 *   active ──mark_expiring──▶ expiring (T-60) ──renew──▶ renewed | ──expire──▶ expired
 *   active | expiring | suspended ──withdraw──▶ withdrawn (recesso, effective date)
 *
 * Actors: the referente (ente_admin of the adesione's ente), the SAEL office (sael_admin), the
 * system (scheduled task). The SAEL office may also record a recesso on the ente's behalf.
 */
import type { AdesioneStatus } from './schema.js';
import { addDays } from '../../domain/iso-date.js';

export type AdesioneAction =
  | 'submit'
  | 'review'
  | 'approve'
  | 'auto_approve'
  | 'reject'
  | 'request_changes'
  | 'activate'
  | 'suspend'
  | 'resume'
  | 'mark_expiring'
  | 'renew'
  | 'expire'
  | 'withdraw';

export type AdesioneActorKind = 'referente' | 'sael' | 'system';

interface Rule {
  from: readonly AdesioneStatus[];
  to: AdesioneStatus;
  by: readonly AdesioneActorKind[];
  /** The note is required (reason of a rejection, what to change). */
  noteRequired?: string;
}

export const ADESIONE_RULES: Readonly<Record<AdesioneAction, Rule>> = {
  submit: { from: ['draft', 'changes_requested'], to: 'submitted', by: ['referente'] },
  review: { from: ['submitted'], to: 'under_review', by: ['sael'] },
  approve: { from: ['under_review'], to: 'approved', by: ['sael'] },
  auto_approve: { from: ['submitted'], to: 'approved', by: ['system'] },
  reject: { from: ['under_review'], to: 'rejected', by: ['sael'], noteRequired: 'Indica il motivo del rifiuto.' },
  request_changes: { from: ['under_review'], to: 'changes_requested', by: ['sael'], noteRequired: 'Indica che cosa l’ente deve modificare.' },
  activate: { from: ['approved'], to: 'active', by: ['sael', 'system'] },
  suspend: { from: ['active'], to: 'suspended', by: ['sael'] },
  resume: { from: ['suspended'], to: 'active', by: ['sael'] },
  mark_expiring: { from: ['active'], to: 'expiring', by: ['system'] },
  renew: { from: ['active', 'expiring'], to: 'renewed', by: ['system'] },
  expire: { from: ['active', 'expiring', 'suspended'], to: 'expired', by: ['system'] },
  withdraw: { from: ['active', 'expiring', 'suspended'], to: 'withdrawn', by: ['referente', 'sael'] },
};

export const ADESIONE_ACTIONS = Object.keys(ADESIONE_RULES) as AdesioneAction[];

export const ADESIONE_STATUS_LABELS: Readonly<Record<AdesioneStatus, string>> = {
  draft: 'Bozza',
  submitted: 'Inviata',
  under_review: 'In esame',
  changes_requested: 'Modifiche richieste',
  approved: 'Approvata',
  rejected: 'Respinta',
  active: 'Attiva',
  suspended: 'Sospesa',
  expiring: 'In scadenza',
  renewed: 'Rinnovata',
  expired: 'Scaduta',
  withdrawn: 'Cessata per recesso',
};

/** Bootstrap Italia badge class per state (contrast AA on white). */
export const ADESIONE_STATUS_BADGES: Readonly<Record<AdesioneStatus, string>> = {
  draft: 'bg-secondary',
  submitted: 'bg-primary',
  under_review: 'bg-primary',
  changes_requested: 'bg-warning text-dark',
  approved: 'bg-success',
  rejected: 'bg-danger',
  active: 'bg-success',
  suspended: 'bg-warning text-dark',
  expiring: 'bg-warning text-dark',
  renewed: 'bg-secondary',
  expired: 'bg-secondary',
  withdrawn: 'bg-dark',
};

export const ADESIONE_ACTION_LABELS: Readonly<Record<AdesioneAction, string>> = {
  submit: 'Invia la richiesta',
  review: 'Prendi in esame',
  approve: 'Approva',
  auto_approve: 'Approvata automaticamente (servizio gratuito)',
  reject: 'Respingi',
  request_changes: 'Chiedi modifiche',
  activate: 'Attiva',
  suspend: 'Sospendi',
  resume: 'Riattiva',
  mark_expiring: 'In scadenza',
  renew: 'Rinnovata',
  expire: 'Scaduta',
  withdraw: 'Registra il recesso',
};

/** What the timeline says of an event, by action (plus 'create' and 'renewal_of'). */
export const ADESIONE_EVENT_LABELS: Readonly<Record<string, string>> = {
  create: 'Bozza creata',
  update: 'Modulo modificato',
  submit: 'Richiesta inviata',
  review: 'Presa in esame dall’ufficio SAEL',
  approve: 'Approvata',
  auto_approve: 'Approvata automaticamente (servizio gratuito)',
  reject: 'Respinta',
  request_changes: 'Modifiche richieste',
  activate: 'Attivata',
  suspend: 'Sospesa',
  resume: 'Riattivata',
  mark_expiring: 'In scadenza: avviso a 60 giorni',
  warn_t30: 'Avviso di scadenza a 30 giorni',
  renew: 'Rinnovata per un nuovo periodo',
  renewal_of: 'Creata come rinnovo',
  expire: 'Scaduta',
  withdraw: 'Recesso registrato',
};

export type TransitionCheck =
  | { ok: true; to: AdesioneStatus }
  | { ok: false; status: 403 | 409 | 400; message: string };

/** Whether `actor` may take `action` on an adesione in state `from` (with `note`). */
export function checkTransition(from: AdesioneStatus, action: AdesioneAction, actor: AdesioneActorKind, note?: string | null): TransitionCheck {
  const rule = ADESIONE_RULES[action];
  if (!rule.by.includes(actor)) {
    return {
      ok: false,
      status: 403,
      message:
        actor === 'referente'
          ? 'Questa operazione spetta all’ufficio SAEL della Provincia.'
          : actor === 'sael'
            ? 'Questa operazione spetta al referente dell’ente.'
            : 'Operazione non consentita alla procedura automatica.',
    };
  }
  if (!rule.from.includes(from)) {
    return {
      ok: false,
      status: 409,
      message: `Operazione «${ADESIONE_ACTION_LABELS[action]}» non consentita: l’adesione è nello stato «${ADESIONE_STATUS_LABELS[from]}».`,
    };
  }
  if (rule.noteRequired && !(note ?? '').trim()) return { ok: false, status: 400, message: rule.noteRequired };
  return { ok: true, to: rule.to };
}

/** The actions `actor` can take now (for the buttons of a page). */
export function availableActions(from: AdesioneStatus, actor: AdesioneActorKind): AdesioneAction[] {
  return ADESIONE_ACTIONS.filter((a) => ADESIONE_RULES[a].from.includes(from) && ADESIONE_RULES[a].by.includes(actor));
}

/** States in which the adesione still occupies its (ente, service): a second request is refused. */
export const OPEN_STATUSES: readonly AdesioneStatus[] = ['draft', 'submitted', 'under_review', 'changes_requested', 'approved', 'active', 'suspended', 'expiring'];

/** States the referente may edit the modulo in. */
export const EDITABLE_STATUSES: readonly AdesioneStatus[] = ['draft', 'changes_requested'];

// ---------------------------------------------------------------- dates (ISO YYYY-MM-DD, pure)

export { addDays };

/** The last day of a period of `months` starting on `start` (start + months − 1 day; end of a shorter month). */
export function periodEnd(start: string, months: number): string {
  const [y, m, d] = start.split('-').map(Number) as [number, number, number];
  const total = m - 1 + months;
  const year = y + Math.floor(total / 12);
  const month = total % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  // The same day `months` later, minus one; when that month is shorter, its last day.
  if (d > lastDay) return new Date(Date.UTC(year, month, lastDay)).toISOString().slice(0, 10);
  return addDays(new Date(Date.UTC(year, month, d)).toISOString().slice(0, 10), -1);
}

/** Days from `a` to `b` (b − a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}
