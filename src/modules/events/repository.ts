/**
 * Events of an ente: reading for the back office and the SAEL admin, and every change (create,
 * edit, publish, unpublish, cancel, delete a draft, feature on the province's home). Each change
 * checks the version the editor saw (optimistic concurrency: 409 when someone saved in between),
 * rewrites the event's occurrences and writes the audit row in the same transaction. The first
 * publication sets `firstPublishedAt` (never reset) and kicks the alerts pass after the commit.
 *
 * Status rules: draft → published; published → unpublished | cancelled; unpublished → published;
 * cancelled → unpublished (to hide it). A cancelled event cannot be edited. Only a draft never
 * published can be deleted. Occurrences are `listed` while the event is published or cancelled
 * (a cancelled event stays visible as "annullato").
 */
import { and, count, desc, eq, gte, isNotNull, min, or, sql, type SQL } from 'drizzle-orm';
import type { DbLike, DbTx } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { auditLog } from '../../plugins/audit/schema.js';
import { HttpError } from '../../plugins/errors.js';
import { enti } from '../enti/schema.js';
import type { EventsCtx } from './context.js';
import { discardEventImage, type StoredImage } from './images.js';
import { computeOccurrences } from './occurrences.js';
import { bumpPublicEventsVersion } from './public-cache.js';
import { eventCategories, eventOccurrences, events, type EventStatus } from './schema.js';
import type { EventInput } from './validation.js';

export type EventRow = typeof events.$inferSelect;
export type EventListRow = EventRow & { enteName: string; categoryName: string };

/** Who makes a change: the audit actor (`user:<id>` | `system`), the user id, the request id. */
export interface EventsActor {
  actor: string;
  userId: number | null;
  requestId?: string | null;
}

export const EVENT_STATUS_LABELS: Readonly<Record<EventStatus, string>> = {
  draft: 'Bozza',
  published: 'Pubblicato',
  unpublished: 'Ritirato',
  cancelled: 'Annullato',
};

export const EVENT_STATUS_BADGES: Readonly<Record<EventStatus, string>> = {
  draft: 'bg-secondary',
  published: 'bg-success',
  unpublished: 'bg-dark',
  cancelled: 'bg-danger',
};

export type EventAction = 'publish' | 'unpublish' | 'cancel';
export const EVENT_ACTION_LABELS: Readonly<Record<EventAction, string>> = {
  publish: 'Pubblica',
  unpublish: 'Ritira dalla pubblicazione',
  cancel: 'Annulla l’evento',
};

/** What the event becomes after `action`, or an HttpError 409 with the reason. Pure. */
export function nextStatus(from: EventStatus, action: EventAction): EventStatus {
  const allowed: Record<EventAction, EventStatus[]> = {
    publish: ['draft', 'unpublished'],
    unpublish: ['published', 'cancelled'],
    cancel: ['published'],
  };
  if (!allowed[action].includes(from)) {
    const why: Record<EventAction, string> = {
      publish: 'si pubblica una bozza o un evento ritirato',
      unpublish: 'si ritira un evento pubblicato o annullato',
      cancel: 'si annulla un evento pubblicato',
    };
    throw new HttpError(409, `L’evento è «${EVENT_STATUS_LABELS[from]}»: ${why[action]}.`);
  }
  return action === 'publish' ? 'published' : action === 'unpublish' ? 'unpublished' : 'cancelled';
}

/** Whether the occurrences of an event in this status are shown to the public. */
export function isListed(status: EventStatus): boolean {
  return status === 'published' || status === 'cancelled';
}

/** An edit made on an older version than the stored one. */
export class EventConflictError extends HttpError {
  constructor() {
    super(409, 'L’evento è stato modificato da un’altra persona dopo che hai aperto la pagina: ricaricala per vedere la versione attuale e ripeti la modifica.');
  }
}

// ---------------------------------------------------------------- occurrences

/**
 * Replaces the event's rows of `event_occurrences` with the ones its dates give (listed when it
 * is published or cancelled). Call it inside the transaction that changes the event's dates,
 * status, category or ente.
 */
export async function rewriteOccurrences(tx: DbLike, event: Pick<EventRow, 'id' | 'enteId' | 'categoryId' | 'status' | 'startsAt' | 'endsAt' | 'allDay' | 'recurrence' | 'recurrenceUntil'>): Promise<number> {
  await tx.delete(eventOccurrences).where(eq(eventOccurrences.eventId, event.id));
  const listed = isListed(event.status);
  const rows = computeOccurrences(event).map((o) => ({ eventId: event.id, enteId: event.enteId, categoryId: event.categoryId, listed, ...o }));
  if (rows.length > 0) await tx.insert(eventOccurrences).values(rows);
  await bumpPublicEventsVersion(tx);
  return rows.length;
}

// ---------------------------------------------------------------- reading

const listColumns = { e: events, enteName: enti.name, categoryName: eventCategories.name };
type Joined = { e: EventRow; enteName: string; categoryName: string };
const flatten = (r: Joined): EventListRow => ({ ...r.e, enteName: r.enteName, categoryName: r.categoryName });

/** An event by id (any ente), with its ente and category names. */
export async function getEvent(db: DbLike, id: number): Promise<EventListRow | undefined> {
  const r = (await db.select(listColumns).from(events).innerJoin(enti, eq(enti.id, events.enteId)).innerJoin(eventCategories, eq(eventCategories.id, events.categoryId)).where(eq(events.id, id)).limit(1))[0];
  return r ? flatten(r) : undefined;
}

/** An event of this ente (undefined for another ente's event: the pages answer 404). */
export async function getEnteEvent(db: DbLike, enteId: number, id: number): Promise<EventListRow | undefined> {
  const e = await getEvent(db, id);
  return e && e.enteId === enteId ? e : undefined;
}

export interface EventListFilter {
  enteId?: number;
  status?: EventStatus;
  categoryId?: number;
  /** Words in the title or place. */
  q?: string;
  featured?: boolean;
  page?: number;
  pageSize?: number;
}

/** Events, newest first by start, with paging; `total` is the count of the whole filter. */
export async function listEvents(db: DbLike, f: EventListFilter): Promise<{ rows: EventListRow[]; total: number }> {
  const where: SQL[] = [];
  if (f.enteId) where.push(eq(events.enteId, f.enteId));
  if (f.status) where.push(eq(events.status, f.status));
  if (f.categoryId) where.push(eq(events.categoryId, f.categoryId));
  if (f.featured !== undefined) where.push(eq(events.featured, f.featured));
  const q = f.q?.trim();
  if (q) {
    const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(or(sql`lower(${events.title}) LIKE lower(CAST(${pattern} AS TEXT)) ESCAPE '\\'`, sql`lower(${events.placeName}) LIKE lower(CAST(${pattern} AS TEXT)) ESCAPE '\\'`)!);
  }
  const cond = where.length ? and(...where) : undefined;
  const pageSize = f.pageSize ?? 25;
  const page = Math.max(1, f.page ?? 1);
  const total = (await db.select({ n: count() }).from(events).where(cond).limit(1))[0]?.n ?? 0;
  const rows = (await db
      .select(listColumns)
      .from(events)
      .innerJoin(enti, eq(enti.id, events.enteId))
      .innerJoin(eventCategories, eq(eventCategories.id, events.categoryId))
      .where(cond)
      .orderBy(desc(events.startsAt), desc(events.id))
      .limit(pageSize)
      .offset((page - 1) * pageSize))
    .map(flatten);
  return { rows, total };
}

/** Every picture key an event names (for the sweep of orphan picture folders). */
export async function referencedImageKeys(db: DbLike): Promise<Set<string>> {
  return new Set(
    (await db
            .select({ key: events.imageKey })
            .from(events)
            .where(isNotNull(events.imageKey)))
      .map((r) => r.key!),
  );
}

/** The audit rows of an event, newest first (its history on the back office page). */
export async function eventHistory(db: DbLike, id: number, limit = 50) {
  return await db
      .select({ at: auditLog.at, actor: auditLog.actor, action: auditLog.action })
      .from(auditLog)
      .where(and(eq(auditLog.entity, 'event'), eq(auditLog.entityId, String(id))))
      .orderBy(desc(auditLog.id))
      .limit(limit);
}

// ---------------------------------------------------------------- writing

function columnsOf(input: EventInput) {
  return { ...input, links: JSON.stringify(input.links) };
}

async function assertCategory(tx: DbLike, categoryId: number, current?: number): Promise<void> {
  const c = (await tx.select({ active: eventCategories.active }).from(eventCategories).where(eq(eventCategories.id, categoryId)).limit(1))[0];
  if (!c || (!c.active && categoryId !== current)) throw new HttpError(400, 'La categoria scelta non esiste o non è più attiva.');
}

/** The fields that changed between two versions of an event (for the audit). */
function diff(before: EventRow, after: EventRow): { before: Record<string, unknown>; after: Record<string, unknown> } {
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  for (const k of Object.keys(after) as (keyof EventRow)[]) {
    if (k === 'updatedAt' || k === 'version') continue;
    if (before[k] !== after[k]) {
      b[k] = before[k];
      a[k] = after[k];
    }
  }
  return { before: b, after: a };
}

/** Runs a change; a picture stored for it is removed if the change fails, a replaced one after it succeeds. */
async function withImages<T>(ctx: EventsCtx, added: StoredImage | null | undefined, change: () => Promise<{ result: T; dropped: string | null }>): Promise<T> {
  let out: { result: T; dropped: string | null };
  try {
    out = await change();
  } catch (err) {
    if (added) discardEventImage(ctx.config.events.imagesDir, added.imageKey);
    throw err;
  }
  if (out.dropped && out.dropped !== added?.imageKey) discardEventImage(ctx.config.events.imagesDir, out.dropped);
  return out.result;
}

export interface CreateOptions {
  image?: StoredImage | null;
  /** Publish at once ("Salva e pubblica"). */
  publish?: boolean;
  isDemo?: boolean;
}

/** Creates an event of the ente (a draft, or published with `publish`). */
export async function createEvent(ctx: EventsCtx, enteId: number, input: EventInput, opts: CreateOptions, by: EventsActor): Promise<EventRow> {
  const nowIso = ctx.now().toISOString();
  let firstPublication = false;
  const row = await withImages(ctx, opts.image, async () => ({
    dropped: null,
    result: await ctx.db.transaction(async (tx) => {
          await assertCategory(tx, input.categoryId);
          const status: EventStatus = opts.publish ? 'published' : 'draft';
          const row = (await tx
                  .insert(events)
                  .values({
                    ...columnsOf(input),
                    enteId,
                    status,
                    imageKey: opts.image?.imageKey ?? null,
                    imageWidth: opts.image?.width ?? null,
                    imageHeight: opts.image?.height ?? null,
                    imageAlt: opts.image ? input.imageAlt : null,
                    firstPublishedAt: opts.publish ? nowIso : null,
                    publishedAt: opts.publish ? nowIso : null,
                    isDemo: opts.isDemo ?? false,
                    createdBy: by.userId,
                    updatedBy: by.userId,
                    createdAt: nowIso,
                    updatedAt: nowIso,
                  })
                  .returning())[0]!;
          await rewriteOccurrences(tx, row);
          await recordAudit(tx, { actor: by.actor, action: opts.publish ? 'event.create_publish' : 'event.create', entity: 'event', entityId: row.id, enteId, after: row, requestId: by.requestId });
          firstPublication = Boolean(opts.publish);
          return row;
        }),
  }));
  if (firstPublication) ctx.kickAlerts();
  return row;
}

/** What happens to the picture on an edit. */
export type ImageChange = { kind: 'keep' } | { kind: 'remove' } | { kind: 'set'; image: StoredImage };

/** Loads the event for a change: 404 for another ente's, 409 for a stale version. */
async function loadForChange(tx: DbTx, enteId: number, id: number, version: number): Promise<EventRow> {
  const e = (await tx.select().from(events).where(eq(events.id, id)).limit(1))[0];
  if (!e || e.enteId !== enteId) throw new HttpError(404, 'Evento non trovato per questo ente.');
  if (e.version !== version) throw new EventConflictError();
  return e;
}

/** Saves an edit made on `version`; optionally publishes it in the same step. */
export async function updateEvent(
  ctx: EventsCtx,
  enteId: number,
  id: number,
  version: number,
  input: EventInput,
  image: ImageChange,
  by: EventsActor,
  opts: { publish?: boolean } = {},
): Promise<EventRow> {
  const nowIso = ctx.now().toISOString();
  let firstPublication = false;
  const added = image.kind === 'set' ? image.image : null;
  const row = await withImages(ctx, added, async () => {
    let dropped: string | null = null;
    const result = await ctx.db.transaction(async (tx) => {
          const before = await loadForChange(tx, enteId, id, version);
          if (before.status === 'cancelled') throw new HttpError(409, 'L’evento è annullato: non si modifica più.');
          await assertCategory(tx, input.categoryId, before.categoryId);
          const status: EventStatus = opts.publish && before.status !== 'published' ? nextStatus(before.status, 'publish') : before.status;
          const imageCols =
            image.kind === 'set'
              ? { imageKey: image.image.imageKey, imageWidth: image.image.width, imageHeight: image.image.height, imageAlt: input.imageAlt }
              : image.kind === 'remove' || !before.imageKey
                ? { imageKey: null, imageWidth: null, imageHeight: null, imageAlt: null }
                : { imageAlt: input.imageAlt };
          if (image.kind !== 'keep' && before.imageKey) dropped = before.imageKey;
          const publishing = status === 'published' && before.status !== 'published';
          firstPublication = publishing && !before.firstPublishedAt;
          const after = (await tx
                  .update(events)
                  .set({
                    ...columnsOf(input),
                    ...imageCols,
                    status,
                    ...(publishing ? { publishedAt: nowIso, firstPublishedAt: before.firstPublishedAt ?? nowIso } : {}),
                    version: before.version + 1,
                    updatedBy: by.userId,
                    updatedAt: nowIso,
                  })
                  .where(and(eq(events.id, id), eq(events.version, version)))
                  .returning())[0]!;
          if (!after) throw new EventConflictError();
          await rewriteOccurrences(tx, after);
          const changes = diff(before, after);
          await recordAudit(tx, { actor: by.actor, action: publishing ? 'event.update_publish' : 'event.update', entity: 'event', entityId: id, enteId, ...changes, requestId: by.requestId });
          return after;
        });
    return { result, dropped };
  });
  if (firstPublication) ctx.kickAlerts();
  return row;
}

/** Publishes, unpublishes or cancels (with its reason) an event seen at `version`. */
export async function changeEventStatus(
  ctx: EventsCtx,
  enteId: number,
  id: number,
  version: number,
  action: EventAction,
  by: EventsActor,
  opts: { reason?: string | null } = {},
): Promise<EventRow> {
  const nowIso = ctx.now().toISOString();
  let firstPublication = false;
  const row = await ctx.db.transaction(async (tx) => {
      const before = await loadForChange(tx, enteId, id, version);
      const status = nextStatus(before.status, action);
      const reason = opts.reason?.trim() ?? '';
      if (action === 'cancel' && reason.length < 5) throw new HttpError(400, 'Indica il motivo dell’annullamento (almeno 5 caratteri): lo vedranno i cittadini.');
      if (action === 'publish') await assertCategory(tx, before.categoryId, before.categoryId);
      firstPublication = action === 'publish' && !before.firstPublishedAt;
      const after = (await tx
            .update(events)
            .set({
              status,
              ...(action === 'publish' ? { publishedAt: nowIso, firstPublishedAt: before.firstPublishedAt ?? nowIso } : {}),
              ...(action === 'cancel' ? { cancelReason: reason.slice(0, 500) } : {}),
              // A withdrawn event leaves the province's home.
              ...(action === 'unpublish' ? { featured: false } : {}),
              version: before.version + 1,
              updatedBy: by.userId,
              updatedAt: nowIso,
            })
            .where(and(eq(events.id, id), eq(events.version, version)))
            .returning())[0]!;
      if (!after) throw new EventConflictError();
      await rewriteOccurrences(tx, after);
      await recordAudit(tx, {
              actor: by.actor,
              action: `event.${action}`,
              entity: 'event',
              entityId: id,
              enteId,
              before: { status: before.status },
              after: { status, ...(action === 'cancel' ? { cancelReason: after.cancelReason } : {}) },
              requestId: by.requestId,
            });
      return after;
    });
  if (firstPublication) ctx.kickAlerts();
  return row;
}

/** Deletes a draft that was never published (its picture too). */
export async function deleteDraftEvent(ctx: EventsCtx, enteId: number, id: number, version: number, by: EventsActor): Promise<void> {
  await withImages(ctx, null, async () => {
    let dropped: string | null = null;
    await ctx.db.transaction(async (tx) => {
            const before = await loadForChange(tx, enteId, id, version);
            if (before.status !== 'draft' || before.firstPublishedAt) throw new HttpError(409, 'Si elimina solo una bozza mai pubblicata: ritira l’evento dalla pubblicazione invece.');
            await tx.delete(events).where(eq(events.id, id));
            await recordAudit(tx, { actor: by.actor, action: 'event.delete', entity: 'event', entityId: id, enteId, before, requestId: by.requestId });
            dropped = before.imageKey;
          });
    return { result: undefined, dropped };
  });
}

/** The SAEL admin features (or not) an event on the province's home; only a published event can be featured. */
export async function setEventFeatured(ctx: EventsCtx, id: number, featured: boolean, by: EventsActor): Promise<EventRow> {
  return await ctx.db.transaction(async (tx) => {
      const before = (await tx.select().from(events).where(eq(events.id, id)).limit(1))[0];
      if (!before) throw new HttpError(404, 'Evento non trovato.');
      if (featured && before.status !== 'published') throw new HttpError(409, `L’evento è «${EVENT_STATUS_LABELS[before.status]}»: si mette in evidenza solo un evento pubblicato.`);
      if (before.featured === featured) return before;
      const after = (await tx.update(events).set({ featured, updatedAt: ctx.now().toISOString() }).where(eq(events.id, id)).returning())[0]!;
      await recordAudit(tx, { actor: by.actor, action: featured ? 'event.feature' : 'event.unfeature', entity: 'event', entityId: id, enteId: before.enteId, before: { featured: before.featured }, after: { featured }, requestId: by.requestId });
      return after;
    });
}

/** Featured published events not over at `now` (for the province's home), the soonest first. */
export async function listFeaturedEvents(db: DbLike, now: Date, opts: { limit?: number } = {}): Promise<(EventListRow & { nextStartsAt: string })[]> {
  const nextStartsAt = min(eventOccurrences.startsAt);
  const rows = await db
      .select({ ...listColumns, nextStartsAt })
      .from(events)
      .innerJoin(enti, eq(enti.id, events.enteId))
      .innerJoin(eventCategories, eq(eventCategories.id, events.categoryId))
      .innerJoin(eventOccurrences, eq(eventOccurrences.eventId, events.id))
      .where(and(eq(events.featured, true), eq(events.status, 'published'), gte(eventOccurrences.endsAt, now.toISOString())))
      // The ente's and category's keys too: PostgreSQL takes their names through them (one each per event).
      .groupBy(events.id, enti.id, eventCategories.id)
      .orderBy(nextStartsAt, events.id)
      .limit(opts.limit ?? 6);
  return rows.map((r) => ({ ...flatten(r), nextStartsAt: r.nextStartsAt ?? r.e.startsAt }));
}
