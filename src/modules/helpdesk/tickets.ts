/**
 * Tickets: workflow with enforced transitions, SLA clocks on business time (sla-calendar.ts)
 * paused while waiting for the ente, breach flags, public replies and internal notes,
 * attachments with SHA-256, e-mail notifications through the outbox. Every write is audited.
 *
 * Workflow: new → assigned → in_progress ⇄ waiting_ente → resolved → closed; resolved → reopened
 * (then assigned / in_progress / …). Staff do every transition; the ente's operators may close or
 * reopen a resolved ticket, and their reply to a ticket waiting for them resumes it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Db, DbLike } from '../../db/client.js';
import { sqlAll, sqlGet, sqlRun } from '../../db/raw.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enqueueMail } from './mail.js';
import { addBusinessMinutes, businessMinutesBetween, type BusinessCalendar } from './sla-calendar.js';
import type { TicketStatus } from './schema.js';

export const TICKET_CATEGORIES = {
  pagopa: { label: 'Pagamenti pagoPA', tto: 120, ttr: 840 },
  riconciliazione: { label: 'Rendicontazione e riconciliazione', tto: 240, ttr: 1260 },
  backoffice: { label: 'Back office posizioni debitorie', tto: 240, ttr: 1260 },
  spid: { label: 'Accesso SPID/CIE', tto: 120, ttr: 840 },
  conservazione: { label: 'Conservazione digitale', tto: 480, ttr: 2100 },
  /** Requests opened under a catalogue service: the service's own SLA replaces these defaults. */
  catalogo: { label: 'Servizi del catalogo SAEL', tto: 480, ttr: 2100 },
  altro: { label: 'Altro', tto: 480, ttr: 2100 },
} as const;
export type TicketCategory = keyof typeof TICKET_CATEGORIES;

export const TICKET_TYPES = {
  incidente: 'Incidente',
  richiesta: 'Richiesta',
  segnalazione_pagamento: 'Segnalazione su un pagamento',
  conservazione: 'Conservazione',
  /** From the infopoint's public "ascolto degli utenti" form (catalogue/infopoint-routes.ts). */
  suggerimento: 'Suggerimento (ascolto degli utenti)',
} as const;
export const TICKET_PRIORITIES = { bassa: 'Bassa', media: 'Media', alta: 'Alta', critica: 'Critica' } as const;
export const STATUS_LABELS: Record<TicketStatus, string> = {
  new: 'Nuovo',
  assigned: 'Assegnato',
  in_progress: 'In lavorazione',
  waiting_ente: 'In attesa dell’ente',
  resolved: 'Risolto',
  closed: 'Chiuso',
  reopened: 'Riaperto',
};

export type TicketAction = 'assign' | 'start' | 'wait' | 'resume' | 'resolve' | 'close' | 'reopen';
export const ACTION_LABELS: Record<TicketAction, string> = {
  assign: 'Assegna',
  start: 'Prendi in carico',
  wait: 'Metti in attesa dell’ente',
  resume: 'Riprendi la lavorazione',
  resolve: 'Risolvi',
  close: 'Chiudi',
  reopen: 'Riapri',
};

/** What the ticket's change log shows for each audited action. */
export const HISTORY_LABELS: Record<string, string> = {
  'ticket.create': 'Ticket aperto',
  'ticket.assign': 'Assegnato',
  'ticket.start': 'Preso in carico',
  'ticket.wait': 'In attesa dell’ente',
  'ticket.resume': 'Lavorazione ripresa',
  'ticket.resolve': 'Risolto',
  'ticket.close': 'Chiuso',
  'ticket.reopen': 'Riaperto',
  'ticket.reply': 'Risposta',
  'ticket.note': 'Nota interna',
  'ticket.sla_breach': 'SLA superato',
  'ticket.autoclose': 'Chiuso automaticamente',
};

const TRANSITIONS: Record<TicketStatus, Partial<Record<TicketAction, TicketStatus>>> = {
  new: { assign: 'assigned', start: 'in_progress', wait: 'waiting_ente', resolve: 'resolved' },
  assigned: { assign: 'assigned', start: 'in_progress', wait: 'waiting_ente', resolve: 'resolved' },
  in_progress: { assign: 'in_progress', wait: 'waiting_ente', resolve: 'resolved' },
  waiting_ente: { resume: 'in_progress', resolve: 'resolved' },
  resolved: { close: 'closed', reopen: 'reopened' },
  reopened: { assign: 'assigned', start: 'in_progress', wait: 'waiting_ente', resolve: 'resolved' },
  closed: {},
};
const ENTE_ACTIONS: TicketAction[] = ['close', 'reopen'];

export function allowedActions(status: TicketStatus, isStaff: boolean): TicketAction[] {
  return (Object.keys(TRANSITIONS[status]) as TicketAction[]).filter((a) => isStaff || ENTE_ACTIONS.includes(a));
}

export class TicketError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'TicketError';
  }
}

export interface TicketRow {
  id: number;
  ente_id: number;
  requester_id: number;
  assignee_id: number | null;
  subject: string;
  category: string;
  type: string;
  priority: string;
  status: TicketStatus;
  link_kind: string | null;
  link_id: number | null;
  citizen_contact: string | null;
  tto_target_minutes: number;
  ttr_target_minutes: number;
  sla_used_minutes: number;
  clock_from: string | null;
  owned_at: string | null;
  resolved_at: string | null;
  closed_at: string | null;
  tto_breached: number;
  ttr_breached: number;
  reopen_count: number;
  created_at: string;
  updated_at: string;
}

export interface SlaView {
  ttoElapsed: number;
  ttrElapsed: number;
  ttoTarget: number;
  ttrTarget: number;
  ttoDue: string | null;
  ttrDue: string | null;
  paused: boolean;
  ttoBreached: boolean;
  ttrBreached: boolean;
  /** Share of the TTR target used, 0–100+. */
  ttrPercent: number;
}

/** SLA state of a ticket at `now` (pure). */
export function slaOf(t: TicketRow, cal: BusinessCalendar, now: Date): SlaView {
  const created = new Date(t.created_at);
  const ttoElapsed = businessMinutesBetween(created, t.owned_at ? new Date(t.owned_at) : now, cal);
  const running = t.clock_from ? businessMinutesBetween(new Date(t.clock_from), now, cal) : 0;
  const ttrElapsed = t.sla_used_minutes + running;
  return {
    ttoElapsed,
    ttrElapsed,
    ttoTarget: t.tto_target_minutes,
    ttrTarget: t.ttr_target_minutes,
    ttoDue: t.owned_at ? null : addBusinessMinutes(created, t.tto_target_minutes, cal).toISOString(),
    ttrDue: t.clock_from ? addBusinessMinutes(new Date(t.clock_from), Math.max(0, t.ttr_target_minutes - t.sla_used_minutes), cal).toISOString() : null,
    paused: t.status === 'waiting_ente',
    ttoBreached: t.tto_breached === 1 || ttoElapsed > t.tto_target_minutes,
    ttrBreached: t.ttr_breached === 1 || ttrElapsed > t.ttr_target_minutes,
    ttrPercent: Math.round((ttrElapsed / t.ttr_target_minutes) * 100),
  };
}

export interface Actor {
  userId: number;
  isStaff: boolean;
  requestId?: string;
}

export interface TicketsCtx {
  db: Db;
  cal: BusinessCalendar;
  dataDir: string;
  /**
   * The helpdesk team's addresses (new tickets, the ente's replies, SLA breaches); a function when
   * they are read from the database at the time of the mail (routes.ts: the staff's addresses).
   */
  notifyAddresses: string[] | (() => Promise<string[]>);
  publicUrl: string;
  /** Mail goes to the local mailbox (demo / no SMTP). */
  mailbox: boolean;
}

export async function getTicket(db: DbLike, id: number): Promise<TicketRow | undefined> {
  return await sqlGet<TicketRow>(db, 'SELECT * FROM tickets WHERE id = ?', id);
}

export interface AttachmentIn {
  fileName: string;
  contentType: string;
  data: Buffer;
}

export const ATTACHMENT_EXTENSIONS = ['.pdf', '.png', '.jpg', '.jpeg', '.txt', '.csv', '.xml', '.zip', '.p7m', '.eml'];

/** Stores the bytes under DATA_DIR/helpdesk/attachments/<sha256> (content-addressed) and returns the row values. */
function storeAttachment(dataDir: string, a: AttachmentIn) {
  const ext = path.extname(a.fileName).toLowerCase();
  if (!ATTACHMENT_EXTENSIONS.includes(ext)) throw new TicketError(`Tipo di allegato non ammesso (${ext || 'senza estensione'}): ${ATTACHMENT_EXTENSIONS.join(', ')}`);
  const sha256 = crypto.createHash('sha256').update(a.data).digest('hex');
  const rel = path.join('helpdesk', 'attachments', sha256.slice(0, 2), sha256);
  const full = path.join(dataDir, rel);
  if (!fs.existsSync(full)) {
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(`${full}.tmp`, a.data);
    fs.renameSync(`${full}.tmp`, full);
  }
  return { fileName: a.fileName.replace(/[\\/\r\n"]/g, '_').slice(0, 150), contentType: a.contentType.slice(0, 100) || 'application/octet-stream', sizeBytes: a.data.length, sha256, storagePath: rel };
}

async function userEmail(db: DbLike, userId: number | null): Promise<string | null> {
  if (!userId) return null;
  return (await sqlGet<{ email: string | null }>(db, 'SELECT email FROM users WHERE id = ?', userId))?.email ?? null;
}

async function team(ctx: TicketsCtx): Promise<string[]> {
  return typeof ctx.notifyAddresses === 'function' ? await ctx.notifyAddresses() : ctx.notifyAddresses;
}

async function notify(ctx: TicketsCtx, t: TicketRow, to: (string | null)[], subject: string, body: string) {
  const link = `${ctx.publicUrl}/helpdesk/ticket/${t.id}`;
  for (const addr of new Set(to.filter((x): x is string => !!x))) {
    await enqueueMail(ctx.db, { to: addr, subject: `[Ticket #${t.id}] ${subject}`, body: `${body}\n\nApri il ticket: ${link}\n`, ticketId: t.id, mailbox: ctx.mailbox });
  }
}

export interface NewTicket {
  enteId: number;
  subject: string;
  category: TicketCategory;
  type: keyof typeof TICKET_TYPES;
  priority: keyof typeof TICKET_PRIORITIES;
  body: string;
  linkKind?: 'payment' | 'flow' | 'anomaly' | 'movement' | null;
  linkId?: number | null;
  /** How to reach the citizen who reported the problem, when there is one. */
  citizenContact?: string | null;
  attachment?: AttachmentIn | null;
  /** The catalogue service of a request (category 'catalogo'). */
  serviceId?: number | null;
  /** SLA targets in business minutes replacing the category's (a catalogue service's profile). */
  sla?: { tto: number; ttr: number } | null;
}

export async function createTicket(ctx: TicketsCtx, input: NewTicket, actor: Actor, now = new Date()): Promise<number> {
  const cat = TICKET_CATEGORIES[input.category];
  if (!cat) throw new TicketError('Categoria sconosciuta');
  const stored = input.attachment ? storeAttachment(ctx.dataDir, input.attachment) : null;
  const stamp = now.toISOString();
  return await ctx.db.transaction(async () => {
    const t = (await sqlGet<TicketRow>(
      ctx.db,
      `INSERT INTO tickets (ente_id, requester_id, subject, category, type, priority, status, link_kind, link_id, citizen_contact, service_id, tto_target_minutes, ttr_target_minutes, clock_from, created_at, updated_at)
       VALUES (?,?,?,?,?,?,'new',?,?,?,?,?,?,?,?,?) RETURNING *`,
      input.enteId, actor.userId, input.subject, input.category, input.type, input.priority, input.linkKind ?? null, input.linkId ?? null, input.citizenContact || null, input.serviceId ?? null, input.sla?.tto ?? cat.tto, input.sla?.ttr ?? cat.ttr, stamp, stamp, stamp,
    ))!;
    const id = t.id;
    const msg = await insertMessage(ctx.db, id, actor.userId, actor.isStaff ? 'staff' : 'ente', 'public', input.body, stamp);
    if (stored) await insertAttachment(ctx.db, id, msg, stored);
    await recordAudit(ctx.db, { actor: `user:${actor.userId}`, action: 'ticket.create', entity: 'ticket', entityId: id, enteId: input.enteId, after: { subject: input.subject, category: input.category, priority: input.priority, link: input.linkKind ? `${input.linkKind}:${input.linkId}` : null, attachment: stored?.sha256 ?? null }, requestId: actor.requestId });
    await notify(ctx, t, await team(ctx), `Nuovo ticket: ${input.subject}`, `È stato aperto un nuovo ticket (${cat.label}, priorità ${input.priority}).`);
    return id;
  }, { behavior: 'immediate' });
}

/** Adds a message to a ticket; returns its id. */
async function insertMessage(db: DbLike, ticketId: number, authorId: number | null, kind: 'staff' | 'ente' | 'system', visibility: 'public' | 'internal', body: string, stamp: string): Promise<number> {
  const row = await sqlGet<{ id: number }>(
    db,
    'INSERT INTO ticket_messages (ticket_id, author_id, author_kind, visibility, body, created_at) VALUES (?,?,?,?,?,?) RETURNING id',
    ticketId, authorId, kind, visibility, body, stamp,
  );
  return row!.id;
}

async function insertAttachment(db: DbLike, ticketId: number, messageId: number, a: ReturnType<typeof storeAttachment>) {
  await sqlRun(
    db,
    'INSERT INTO ticket_attachments (ticket_id, message_id, file_name, content_type, size_bytes, sha256, storage_path) VALUES (?,?,?,?,?,?,?)',
    ticketId, messageId, a.fileName, a.contentType, a.sizeBytes, a.sha256, a.storagePath,
  );
}

/** Applies a workflow action. `assigneeId` for assign (default: the actor). */
export async function transition(ctx: TicketsCtx, ticketId: number, action: TicketAction, actor: Actor, opts: { assigneeId?: number; note?: string } = {}, now = new Date()): Promise<TicketStatus> {
  return await ctx.db.transaction(async () => {
    const t = await getTicket(ctx.db, ticketId);
    if (!t) throw new TicketError('Ticket inesistente', 404);
    if (!allowedActions(t.status, actor.isStaff).includes(action)) throw new TicketError(`Azione «${ACTION_LABELS[action] ?? action}» non consentita nello stato «${STATUS_LABELS[t.status]}»`, 409);
    const to = TRANSITIONS[t.status][action]!;
    const stamp = now.toISOString();
    let used = t.sla_used_minutes;
    let clockFrom = t.clock_from;
    const stopClock = () => {
      if (clockFrom) used += businessMinutesBetween(new Date(clockFrom), now, ctx.cal);
      clockFrom = null;
    };
    if (to === 'waiting_ente' || to === 'resolved') stopClock();
    if ((t.status === 'waiting_ente' || t.status === 'resolved') && (to === 'in_progress' || to === 'reopened')) clockFrom = stamp;
    const owned = t.owned_at ?? (actor.isStaff && (action === 'assign' || action === 'start' || action === 'resolve' || action === 'wait') ? stamp : null);
    const assignee = action === 'assign' ? opts.assigneeId ?? actor.userId : action === 'start' && !t.assignee_id ? actor.userId : t.assignee_id;
    const ttoBreached = t.tto_breached === 1 || (owned !== null && businessMinutesBetween(new Date(t.created_at), new Date(owned), ctx.cal) > t.tto_target_minutes);
    const ttrBreached = t.ttr_breached === 1 || (to === 'resolved' && used > t.ttr_target_minutes);
    await sqlRun(
        ctx.db,
        `UPDATE tickets SET status = ?, assignee_id = ?, sla_used_minutes = ?, clock_from = ?, owned_at = ?, resolved_at = ?, closed_at = ?, tto_breached = ?, ttr_breached = ?,
           reopen_count = reopen_count + ?, updated_at = ? WHERE id = ?`,
        to,
        assignee,
        used,
        clockFrom,
        owned,
        to === 'resolved' ? stamp : to === 'reopened' ? null : t.resolved_at,
        to === 'closed' ? stamp : null,
        ttoBreached ? 1 : 0,
        ttrBreached ? 1 : 0,
        action === 'reopen' ? 1 : 0,
        stamp,
        t.id,
      );
    const note = opts.note?.trim();
    await insertMessage(ctx.db, t.id, actor.userId, 'system', 'public', `Stato: ${STATUS_LABELS[t.status]} → ${STATUS_LABELS[to]}${note ? ` – ${note}` : ''}`, stamp);
    await recordAudit(ctx.db, { actor: `user:${actor.userId}`, action: `ticket.${action}`, entity: 'ticket', entityId: t.id, enteId: t.ente_id, before: { status: t.status, assigneeId: t.assignee_id }, after: { status: to, assigneeId: assignee, note: note ?? null }, requestId: actor.requestId });
    const updated = (await getTicket(ctx.db, t.id))!;
    if (actor.isStaff) await notify(ctx, updated, [await userEmail(ctx.db, t.requester_id)], `Stato aggiornato: ${STATUS_LABELS[to]}`, `Il ticket «${t.subject}» è ora «${STATUS_LABELS[to]}».${note ? `\n\n${note}` : ''}`);
    else await notify(ctx, updated, [await userEmail(ctx.db, t.assignee_id), ...(await team(ctx))], `Stato aggiornato dall’ente: ${STATUS_LABELS[to]}`, `Il ticket «${t.subject}» è ora «${STATUS_LABELS[to]}».`);
    return to;
  }, { behavior: 'immediate' });
}

/** A reply (public) or an internal note (staff only), optionally with one attachment. */
export async function reply(ctx: TicketsCtx, ticketId: number, actor: Actor, input: { body: string; internal: boolean; attachment?: AttachmentIn | null }, now = new Date()): Promise<number> {
  const t0 = await getTicket(ctx.db, ticketId);
  if (!t0) throw new TicketError('Ticket inesistente', 404);
  if (t0.status === 'closed') throw new TicketError('Il ticket è chiuso: aprine uno nuovo', 409);
  if (input.internal && !actor.isStaff) throw new TicketError('Solo l’helpdesk può scrivere note interne', 403);
  const stored = input.attachment ? storeAttachment(ctx.dataDir, input.attachment) : null;
  const id = await ctx.db.transaction(async () => {
    const stamp = now.toISOString();
    const msg = await insertMessage(ctx.db, ticketId, actor.userId, actor.isStaff ? 'staff' : 'ente', input.internal ? 'internal' : 'public', input.body, stamp);
    if (stored) await insertAttachment(ctx.db, ticketId, msg, stored);
    // The first public staff reply also counts as taking the ticket in charge (TTO).
    if (actor.isStaff && !input.internal && !t0.owned_at) {
      const breached = businessMinutesBetween(new Date(t0.created_at), now, ctx.cal) > t0.tto_target_minutes;
      await sqlRun(ctx.db, 'UPDATE tickets SET owned_at = ?, tto_breached = CASE WHEN ? = 1 THEN 1 ELSE tto_breached END, updated_at = ? WHERE id = ?', stamp, breached ? 1 : 0, stamp, ticketId);
    } else await sqlRun(ctx.db, 'UPDATE tickets SET updated_at = ? WHERE id = ?', stamp, ticketId);
    await recordAudit(ctx.db, { actor: `user:${actor.userId}`, action: input.internal ? 'ticket.note' : 'ticket.reply', entity: 'ticket', entityId: ticketId, enteId: t0.ente_id, after: { messageId: msg, attachment: stored?.sha256 ?? null }, requestId: actor.requestId });
    if (!input.internal) {
      if (actor.isStaff) await notify(ctx, t0, [await userEmail(ctx.db, t0.requester_id)], 'Nuova risposta dell’helpdesk', `L’helpdesk ha risposto al ticket «${t0.subject}».`);
      else await notify(ctx, t0, [await userEmail(ctx.db, t0.assignee_id), ...(t0.assignee_id ? [] : await team(ctx))], 'Nuova risposta dell’ente', `L’ente ha risposto al ticket «${t0.subject}».`);
    }
    return msg;
  }, { behavior: 'immediate' });
  // The ente answering a ticket that waits for it resumes the work (and the SLA clock).
  if (!actor.isStaff && t0.status === 'waiting_ente') await transition(ctx, ticketId, 'resume', { ...actor, isStaff: true }, { note: 'risposta dell’ente' }, now);
  return id;
}

/** Sets breach flags that became true and notifies once per flag; returns the tickets flagged. */
export async function checkSlaBreaches(ctx: TicketsCtx, now = new Date()): Promise<number[]> {
  const open = await sqlAll<TicketRow>(ctx.db, "SELECT * FROM tickets WHERE status NOT IN ('resolved','closed') AND (tto_breached = 0 OR ttr_breached = 0)");
  const flagged: number[] = [];
  for (const t of open) {
    const s = slaOf(t, ctx.cal, now);
    const tto = t.tto_breached === 0 && !t.owned_at && s.ttoElapsed > t.tto_target_minutes;
    const ttr = t.ttr_breached === 0 && s.ttrElapsed > t.ttr_target_minutes;
    if (!tto && !ttr) continue;
    await ctx.db.transaction(async () => {
      await sqlRun(ctx.db, 'UPDATE tickets SET tto_breached = CASE WHEN ? = 1 THEN 1 ELSE tto_breached END, ttr_breached = CASE WHEN ? = 1 THEN 1 ELSE ttr_breached END WHERE id = ?', tto ? 1 : 0, ttr ? 1 : 0, t.id);
      await recordAudit(ctx.db, { actor: 'system', action: 'ticket.sla_breach', entity: 'ticket', entityId: t.id, enteId: t.ente_id, after: { tto, ttr } });
      await notify(ctx, t, [await userEmail(ctx.db, t.assignee_id), ...(await team(ctx))], `SLA superato (${[tto ? 'presa in carico' : '', ttr ? 'risoluzione' : ''].filter(Boolean).join(', ')})`, `Il ticket «${t.subject}» ha superato i tempi di servizio.`);
    }, { behavior: 'immediate' });
    flagged.push(t.id);
  }
  return flagged;
}

/** Closes tickets resolved more than `days` calendar days ago. */
export async function autoClose(ctx: TicketsCtx, days: number, now = new Date()): Promise<number> {
  if (days <= 0) return 0;
  const limit = new Date(now.getTime() - days * 86_400_000).toISOString();
  const rows = await sqlAll<{ id: number }>(ctx.db, "SELECT id FROM tickets WHERE status = 'resolved' AND resolved_at < ?", limit);
  for (const r of rows) {
    await ctx.db.transaction(async () => {
      const stamp = now.toISOString();
      const t = (await getTicket(ctx.db, r.id))!;
      await sqlRun(ctx.db, "UPDATE tickets SET status = 'closed', closed_at = ?, updated_at = ? WHERE id = ?", stamp, stamp, r.id);
      await insertMessage(ctx.db, r.id, null, 'system', 'public', `Chiuso automaticamente dopo ${days} giorni dalla risoluzione`, stamp);
      await recordAudit(ctx.db, { actor: 'system', action: 'ticket.autoclose', entity: 'ticket', entityId: r.id, enteId: t.ente_id, before: { status: 'resolved' }, after: { status: 'closed' } });
    }, { behavior: 'immediate' });
  }
  return rows.length;
}
