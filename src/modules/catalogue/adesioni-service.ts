/**
 * Writing adesioni: the referente's modulo (draft, submit), every transition of the state machine
 * (adesione-states.ts) with its role check, optimistic version check, event row, audit entry and
 * mails in ONE transaction, the approval's rules (a paid service needs a convenzione in force over
 * the whole period; the price is snapshotted) and the renewal (a new row for the new period with a
 * new snapshot). Charges are issued (charges.ts) after the transaction that activates or renews.
 */
import { and, eq } from 'drizzle-orm';
import type { DbTx } from '../../db/client.js';
import { formatEuro } from '../../domain/money.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { HttpError } from '../../plugins/errors.js';
import { todayInItaly } from '../positions/service.js';
import {
  ADESIONE_EVENT_LABELS,
  ADESIONE_STATUS_LABELS,
  addDays,
  checkTransition,
  EDITABLE_STATUSES,
  periodEnd,
  type AdesioneAction,
  type AdesioneActorKind,
} from './adesione-states.js';
import { adesioneViewSync, enteAdminEmails, openAdesioneSync, saelEmails, type Adesione, type AdesioneRequestData, type AdesioneView } from './adesioni-repository.js';
import { issueChargesForAdesione } from './charges.js';
import type { CatalogueCtx } from './context.js';
import { coveringConvenzioneSync, itDate, type CatalogueActor } from './convenzioni-repository.js';
import { resolvePriceFor, type PriceSnapshot } from './price-repository.js';
import { adesioneEvents, adesioni, catalogueServices, type AdesioneStatus } from './schema.js';

export interface AdesioneActor extends CatalogueActor {
  kind: AdesioneActorKind;
}

export const SYSTEM_ACTOR: AdesioneActor = { kind: 'system', actor: 'system', userId: null };

export const STALE_MESSAGE = 'L’adesione è stata modificata nel frattempo: ricarica la pagina e riprova.';

type Service = typeof catalogueServices.$inferSelect;

/** Whether the service needs a convenzione in force (paid services always do). */
export function needsConvenzione(s: Pick<Service, 'billing' | 'requiresConvenzione'>): boolean {
  return s.billing !== 'free' || s.requiresConvenzione;
}

// ---------------------------------------------------------------- mails

function portalUrl(ctx: CatalogueCtx, p: string): string {
  return `${ctx.config.publicUrl.replace(/\/$/, '')}${p}`;
}

/** Queues the mails about an event (same transaction). The ente's referenti always; the SAEL office when the ente or the system acted. */
async function mailAbout(ctx: CatalogueCtx, tx: DbTx, a: AdesioneView, action: string, to: AdesioneStatus, note: string | null, by: AdesioneActor, extra = ''): Promise<void> {
  const what = ADESIONE_EVENT_LABELS[action] ?? action;
  const subject = `[SAEL] Adesione n. ${a.id} – ${a.serviceName}: ${what}`;
  const lines = [
    `Adesione n. ${a.id} del ${a.enteName} al servizio «${a.serviceName}» (${a.serviceCode}).`,
    `Evento: ${what}. Stato attuale: ${ADESIONE_STATUS_LABELS[to]}.`,
    ...(a.startDate ? [`Periodo: dal ${itDate(a.startDate)}${a.endDate ? ` al ${itDate(a.endDate)}` : ''}.`] : []),
    ...(note ? [`Nota: ${note}`] : []),
    ...(extra ? [extra] : []),
  ];
  const ente = await enteAdminEmails(tx, a.enteId);
  for (const email of ente) await ctx.mail({ to: email, subject, body: [...lines, '', `Dettaglio: ${portalUrl(ctx, `/backoffice/enti/${a.enteId}/adesioni/${a.id}`)}`].join('\n') });
  if (by.kind !== 'sael') {
    const sael = (await saelEmails(tx, ctx.config)).filter((e) => !ente.includes(e));
    for (const email of sael) await ctx.mail({ to: email, subject, body: [...lines, '', `Da esaminare: ${portalUrl(ctx, `/admin/catalogo/adesioni/${a.id}`)}`].join('\n') });
  }
}

async function addEvent(tx: DbTx, a: Pick<Adesione, 'id' | 'enteId'>, action: string, from: AdesioneStatus | null, to: AdesioneStatus, note: string | null, by: AdesioneActor, at: Date): Promise<void> {
  await tx.insert(adesioneEvents)
        .values({ adesioneId: a.id, enteId: a.enteId, action, fromStatus: from, toStatus: to, note, actorUserId: by.userId, actorKind: by.kind === 'system' ? 'system' : 'user', at: at.toISOString() });
}

/** Updates the row only if nobody changed it since `version` was read; 409 otherwise. */
async function guardedUpdate(tx: DbTx, id: number, version: number, patch: Partial<Adesione>): Promise<Adesione> {
  const row = (await tx
      .update(adesioni)
      .set({ ...patch, version: version + 1, updatedAt: new Date().toISOString() })
      .where(and(eq(adesioni.id, id), eq(adesioni.version, version)))
      .returning())[0]!;
  if (!row) throw new HttpError(409, STALE_MESSAGE);
  return row;
}

// ---------------------------------------------------------------- the modulo (referente)

export interface ModuloInput {
  enteId: number;
  serviceId: number;
  quantity: number;
  startDate: string;
  autoRenew: boolean;
  data: AdesioneRequestData;
  /** Editing an existing draft / changes-requested adesione: its id and the version the form was read at. */
  adesioneId?: number;
  version?: number;
}

/**
 * Saves the referente's modulo (new draft, or edit of the draft / the adesione sent back with
 * changes requested) and, with `submit`, sends it. Free services without approval are approved
 * and (from their start date) activated at once. Returns the adesione id.
 */
export async function saveModulo(ctx: CatalogueCtx, input: ModuloInput, by: AdesioneActor, submit: boolean): Promise<number> {
  if (by.kind !== 'referente') throw new HttpError(403, 'Solo il referente dell’ente può compilare e inviare la richiesta di adesione.');
  const now = ctx.now();
  const today = todayInItaly(now);
  const id = await ctx.db.transaction(async (tx) => {
      const service = (await tx.select().from(catalogueServices).where(eq(catalogueServices.id, input.serviceId)).limit(1))[0];
      if (!service || !service.active) throw new HttpError(404, 'Servizio non trovato o non più offerto.');
      const fields = {
        quantity: input.quantity,
        startDate: input.startDate,
        autoRenew: input.autoRenew,
        requestData: JSON.stringify(input.data),
      };
      let row: Adesione;
      if (input.adesioneId) {
        const current = (await tx.select().from(adesioni).where(and(eq(adesioni.id, input.adesioneId), eq(adesioni.enteId, input.enteId))).limit(1))[0];
        if (!current || current.serviceId !== input.serviceId) throw new HttpError(404, 'Adesione non trovata.');
        if (!EDITABLE_STATUSES.includes(current.status)) throw new HttpError(409, `L’adesione è nello stato «${ADESIONE_STATUS_LABELS[current.status]}»: il modulo non si può più modificare.`);
        if (input.version !== undefined && input.version !== current.version) throw new HttpError(409, STALE_MESSAGE);
        row = await guardedUpdate(tx, current.id, current.version, fields);
        await addEvent(tx, row, 'update', current.status, current.status, null, by, now);
        await recordAudit(tx, { actor: by.actor, action: 'adesione.update', entity: 'adesione', entityId: row.id, enteId: row.enteId, before: { requestData: current.requestData, quantity: current.quantity, startDate: current.startDate }, after: fields, requestId: by.requestId });
      } else {
        const open = await openAdesioneSync(tx, input.enteId, input.serviceId);
        if (open) throw new HttpError(409, `L’ente ha già un’adesione a questo servizio (n. ${open.id}, stato «${ADESIONE_STATUS_LABELS[open.status]}»).`);
        row = (await tx.insert(adesioni).values({ enteId: input.enteId, serviceId: input.serviceId, status: 'draft', submittedBy: by.userId, ...fields }).returning())[0]!;
        await addEvent(tx, row, 'create', null, 'draft', null, by, now);
        await recordAudit(tx, { actor: by.actor, action: 'adesione.create', entity: 'adesione', entityId: row.id, enteId: row.enteId, after: row, requestId: by.requestId });
      }
      if (!submit) return row.id;
      const check = checkTransition(row.status, 'submit', 'referente');
      if (!check.ok) throw new HttpError(check.status, check.message);
      const protocol = row.protocolNumber ?? `SAEL-ADE-${today.slice(0, 4)}-${String(row.id).padStart(6, '0')}`;
      const sent = await guardedUpdate(tx, row.id, row.version, { status: 'submitted', protocolNumber: protocol, submittedBy: by.userId });
      await addEvent(tx, sent, 'submit', row.status, 'submitted', `Protocollo ${protocol}`, by, now);
      await recordAudit(tx, { actor: by.actor, action: 'adesione.submit', entity: 'adesione', entityId: row.id, enteId: row.enteId, before: { status: row.status }, after: { status: 'submitted', protocolNumber: protocol }, requestId: by.requestId });
      const view = (await adesioneViewSync(tx, row.id))!;
      await mailAbout(ctx, tx, view, 'submit', 'submitted', null, by, `Protocollo: ${protocol}.`);
      if (service.billing === 'free' && !service.requiresApproval) {
        await approveInTx(ctx, tx, view, SYSTEM_ACTOR, 'auto_approve', null, now, null);
      }
      return row.id;
    });
  await activateIfDue(ctx, id, now);
  return id;
}

// ---------------------------------------------------------------- transitions

export interface TransitionOptions {
  /** The version the form was read at (stale form → 409). */
  version?: number;
  note?: string | null;
  /** Recesso: the date it takes effect (default today). */
  effectiveDate?: string;
}

/**
 * Applies `action` to adesione `id`. Role (403), state (409), stale version (409) and the
 * approval's rules are checked in the transaction that writes the change, its event, its audit
 * entry and its mails. Returns the new state.
 */
export async function transitionAdesione(ctx: CatalogueCtx, id: number, action: AdesioneAction, by: AdesioneActor, opts: TransitionOptions = {}): Promise<AdesioneStatus> {
  if (action === 'renew') throw new HttpError(409, 'Il rinnovo è eseguito dalla procedura automatica alla scadenza.');
  const now = ctx.now();
  const today = todayInItaly(now);
  const note = opts.note?.trim() ? opts.note.trim().slice(0, 2000) : null;
  // The price is resolved before the transaction (an async read); the transaction checks the
  // version, so a change in between makes the approval fail with 409 rather than use a stale price.
  let price: PriceSnapshot | null = null;
  if (action === 'approve') {
    const a = await adesioneViewSync(ctx.db, id);
    if (a && a.billing !== 'free') {
      const period = approvalPeriod(a, today);
      price = await resolvePriceFor(ctx.db, { enteId: a.enteId, serviceId: a.serviceId, on: period.start, quantity: a.quantity });
    }
  }
  const to = await ctx.db.transaction(async (tx) => {
      const a = await adesioneViewSync(tx, id);
      if (!a) throw new HttpError(404, 'Adesione non trovata.');
      if (opts.version !== undefined && opts.version !== a.version) throw new HttpError(409, STALE_MESSAGE);
      const check = checkTransition(a.status, action, by.kind, note);
      if (!check.ok) throw new HttpError(check.status, check.message);
      if (action === 'approve') return await approveInTx(ctx, tx, a, by, 'approve', note, now, price);
      const patch: Partial<Adesione> = { status: check.to };
      if (action === 'reject' || action === 'request_changes') patch.decisionNote = note;
      if (action === 'activate' && a.startDate && a.startDate > today) {
        throw new HttpError(409, `L’adesione decorre dal ${itDate(a.startDate)}: sarà attivata automaticamente in quella data.`);
      }
      let eventNote = note;
      if (action === 'withdraw') {
        const eff = opts.effectiveDate ?? today;
        if (!/^\d{4}-\d{2}-\d{2}$/.test(eff)) throw new HttpError(400, 'Indica la data da cui il recesso ha effetto.');
        if (a.startDate && eff < a.startDate) throw new HttpError(400, `La data del recesso non può precedere l’inizio dell’adesione (${itDate(a.startDate)}).`);
        if (a.endDate && eff > addDays(a.endDate, 1)) throw new HttpError(400, `L’adesione scade il ${itDate(a.endDate)}: il recesso deve avere effetto entro quella data.`);
        patch.withdrawalDate = eff;
        eventNote = [`Recesso con effetto dal ${itDate(eff)}; gli obblighi e gli addebiti maturati prima restano dovuti.`, note].filter(Boolean).join(' ');
      }
      await guardedUpdate(tx, a.id, a.version, patch);
      await addEvent(tx, a, action, a.status, check.to, eventNote, by, now);
      await recordAudit(tx, { actor: by.actor, action: `adesione.${action}`, entity: 'adesione', entityId: a.id, enteId: a.enteId, before: { status: a.status }, after: { status: check.to, ...(patch.withdrawalDate ? { withdrawalDate: patch.withdrawalDate } : {}), ...(note ? { note } : {}) }, requestId: by.requestId });
      await mailAbout(ctx, tx, { ...a, ...patch } as AdesioneView, action, check.to, eventNote, by);
      return check.to;
    });
  if (to === 'active' && action === 'activate') await issueChargesForAdesione(ctx, id, now);
  if (to === 'approved') await activateIfDue(ctx, id, now);
  return to;
}

/** The period an approval sets: from the wanted start (not before today) for the service's months. */
export function approvalPeriod(a: Pick<Adesione, 'startDate'> & { periodMonths: number }, today: string): { start: string; end: string } {
  const start = a.startDate && a.startDate > today ? a.startDate : today;
  return { start, end: periodEnd(start, a.periodMonths) };
}

/** The approval in the caller's transaction: period, convenzione, price snapshot. */
async function approveInTx(ctx: CatalogueCtx, tx: DbTx, a: AdesioneView, by: AdesioneActor, action: 'approve' | 'auto_approve', note: string | null, now: Date, price: PriceSnapshot | null): Promise<AdesioneStatus> {
  const today = todayInItaly(now);
  const period = approvalPeriod(a, today);
  let convenzioneId: number | null = null;
  if (needsConvenzione(a)) {
    const c = await coveringConvenzioneSync(tx, a.enteId, period.start, period.end);
    if (!c) {
      throw new HttpError(
        409,
        `Impossibile approvare: il servizio richiede una convenzione in vigore per tutto il periodo dell’adesione (dal ${itDate(period.start)} al ${itDate(period.end)}), e il ${a.enteName} non ne ha. Registra e metti in vigore la convenzione, poi approva.`,
      );
    }
    convenzioneId = c.id;
  }
  if (a.billing !== 'free' && !price) {
    throw new HttpError(409, `Impossibile approvare: nessun prezzo di listino si applica al servizio «${a.serviceName}» per questo ente alla data del ${itDate(period.start)}. Aggiorna il listino, poi approva.`);
  }
  const patch: Partial<Adesione> = {
    status: 'approved',
    startDate: period.start,
    endDate: period.end,
    convenzioneId,
    priceSnapshot: price ? JSON.stringify(price) : null,
    amountCents: price ? price.totalCents : 0,
    decisionNote: note,
  };
  await guardedUpdate(tx, a.id, a.version, patch);
  const priceNote = price ? `Prezzo fissato: ${formatEuro(price.totalCents)} (${price.priceListName ?? 'prezzo riservato all’ente'}).` : null;
  await addEvent(tx, a, action, a.status, 'approved', [note, priceNote].filter(Boolean).join(' ') || null, by, now);
  await recordAudit(tx, { actor: by.actor, action: `adesione.${action}`, entity: 'adesione', entityId: a.id, enteId: a.enteId, before: { status: a.status }, after: { status: 'approved', startDate: period.start, endDate: period.end, convenzioneId, amountCents: patch.amountCents }, requestId: by.requestId });
  await mailAbout(ctx, tx, { ...a, ...patch } as AdesioneView, action, 'approved', note, by, priceNote ?? '');
  return 'approved';
}

/** Activates an approved adesione whose start date has come (system), then issues its charges. */
export async function activateIfDue(ctx: CatalogueCtx, id: number, now: Date): Promise<boolean> {
  const today = todayInItaly(now);
  const done = await ctx.db.transaction(async (tx) => {
      const a = await adesioneViewSync(tx, id);
      if (!a || a.status !== 'approved' || !a.startDate || a.startDate > today) return false;
      await guardedUpdate(tx, a.id, a.version, { status: 'active' });
      await addEvent(tx, a, 'activate', 'approved', 'active', null, SYSTEM_ACTOR, now);
      await recordAudit(tx, { actor: 'system', action: 'adesione.activate', entity: 'adesione', entityId: a.id, enteId: a.enteId, before: { status: 'approved' }, after: { status: 'active' } });
      await mailAbout(ctx, tx, a, 'activate', 'active', null, SYSTEM_ACTOR);
      return true;
    });
  if (done) await issueChargesForAdesione(ctx, id, now);
  return done;
}

// ---------------------------------------------------------------- renewal and expiry (scheduled)

/**
 * At the end of the period: renews (a new row for the next period, the price re-snapshotted, the
 * charges issued) when the adesione renews automatically, a paid service still has a convenzione
 * in force over the new period and a price applies; otherwise expires it. Returns the new row's id
 * (renewed) or null (expired, or nothing to do).
 */
export async function renewOrExpire(ctx: CatalogueCtx, id: number, now: Date): Promise<number | null> {
  const first = await adesioneViewSync(ctx.db, id);
  if (!first || !first.endDate || !['active', 'expiring', 'suspended'].includes(first.status)) return null;
  const start = addDays(first.endDate, 1);
  const end = periodEnd(start, first.periodMonths);
  let price: PriceSnapshot | null = null;
  if (first.autoRenew && first.status !== 'suspended' && first.billing !== 'free') {
    price = await resolvePriceFor(ctx.db, { enteId: first.enteId, serviceId: first.serviceId, on: start, quantity: first.quantity });
  }
  const newId = await ctx.db.transaction(async (tx) => {
      const a = await adesioneViewSync(tx, id);
      if (!a || a.version !== first.version) return null; // changed meanwhile: the next pass decides
      const convenzione = needsConvenzione(a) ? await coveringConvenzioneSync(tx, a.enteId, start, end) : null;
      let reason: string | null = null;
      if (!a.autoRenew) reason = 'Rinnovo automatico non richiesto.';
      else if (a.status === 'suspended') reason = 'Adesione sospesa alla scadenza.';
      else if (needsConvenzione(a) && !convenzione) reason = `Nessuna convenzione in vigore per il nuovo periodo (dal ${itDate(start)} al ${itDate(end)}).`;
      else if (a.billing !== 'free' && !price) reason = `Nessun prezzo di listino applicabile al nuovo periodo (dal ${itDate(start)}).`;
      if (reason) {
        await guardedUpdate(tx, a.id, a.version, { status: 'expired' });
        await addEvent(tx, a, 'expire', a.status, 'expired', reason, SYSTEM_ACTOR, now);
        await recordAudit(tx, { actor: 'system', action: 'adesione.expire', entity: 'adesione', entityId: a.id, enteId: a.enteId, before: { status: a.status }, after: { status: 'expired', reason } });
        await mailAbout(ctx, tx, a, 'expire', 'expired', reason, SYSTEM_ACTOR);
        return null;
      }
      await guardedUpdate(tx, a.id, a.version, { status: 'renewed' });
      const next = (await tx
            .insert(adesioni)
            .values({
              enteId: a.enteId,
              serviceId: a.serviceId,
              convenzioneId: convenzione?.id ?? null,
              status: 'active',
              quantity: a.quantity,
              requestData: a.requestData,
              protocolNumber: a.protocolNumber,
              startDate: start,
              endDate: end,
              autoRenew: a.autoRenew,
              priceSnapshot: price ? JSON.stringify(price) : null,
              amountCents: price ? price.totalCents : 0,
              renewsId: a.id,
              submittedBy: a.submittedBy,
            })
            .returning())[0]!;
      const priceNote = price ? `Prezzo fissato per il nuovo periodo: ${formatEuro(price.totalCents)} (${price.priceListName ?? 'prezzo riservato all’ente'}).` : null;
      await addEvent(tx, a, 'renew', a.status, 'renewed', `Nuovo periodo dal ${itDate(start)} al ${itDate(end)}: adesione n. ${next.id}.`, SYSTEM_ACTOR, now);
      await addEvent(tx, next, 'renewal_of', null, 'active', [`Rinnovo dell’adesione n. ${a.id}.`, priceNote].filter(Boolean).join(' '), SYSTEM_ACTOR, now);
      await recordAudit(tx, { actor: 'system', action: 'adesione.renew', entity: 'adesione', entityId: a.id, enteId: a.enteId, before: { status: a.status }, after: { status: 'renewed', renewedBy: next.id } });
      await recordAudit(tx, { actor: 'system', action: 'adesione.create_renewal', entity: 'adesione', entityId: next.id, enteId: next.enteId, after: { renewsId: a.id, startDate: start, endDate: end, amountCents: next.amountCents } });
      await mailAbout(ctx, tx, { ...a, id: next.id, startDate: start, endDate: end }, 'renew', 'active', null, SYSTEM_ACTOR, [`Rinnova l’adesione n. ${a.id}.`, priceNote].filter(Boolean).join(' '));
      return next.id;
    });
  if (newId) await issueChargesForAdesione(ctx, newId, now);
  return newId;
}
