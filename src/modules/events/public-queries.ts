/**
 * What the public event pages and feeds read (no login): the list of listed occurrences with its
 * filters and paging, one event, its next dates, similar events, saved events, the comune's
 * upcoming events, and the choices of the filters. Reads only `event_occurrences` (+ the event,
 * its ente and category) for lists: an occurrence is `listed` when its event is published or
 * cancelled (then shown as "annullato").
 *
 * Order and indexes: lists are by start instant. A date window is expressed on the columns of the
 * list indexes (`end_day >= from` and `starts_at < <start of the day after to>`, which is
 * `start_day <= to`), so SQLite reads only index entries, never the table, until the page's rows.
 * Paging reads one row more than the page to know whether a next page exists (no count of the
 * whole set).
 */
import { and, asc, eq, gte, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { addDays } from '../../domain/iso-date.js';
import { italianOffsetMinutes } from '../../domain/italian-time.js';
import { italianLocalToUtc } from '../catalogue/training-quota.js';
import { enti } from '../enti/schema.js';
import { eventCategories, eventOccurrences, events, zones } from './schema.js';

/** The UTC instant at which a Rome day begins. */
export function romeDayStart(day: string): string {
  return italianLocalToUtc(`${day}T00:00`, italianOffsetMinutes) ?? `${day}T00:00:00.000Z`;
}

export interface ListFilters {
  /** Only these comuni (one comune, or the comuni of a zone); null = every ente. */
  enteIds: number[] | null;
  categoryId: number | null;
  /** First Rome day shown (occurrences still going on that day included). */
  fromDay: string;
  /** Last Rome day an occurrence may start on (inclusive); null = no end. */
  toDay: string | null;
}

/** One line of a list: an occurrence with what its card shows. */
export interface OccurrenceCard {
  occurrenceId: number;
  eventId: number;
  title: string;
  summary: string;
  status: 'published' | 'cancelled';
  startsAt: string;
  endsAt: string;
  startDay: string;
  endDay: string;
  allDay: boolean;
  placeName: string;
  imageKey: string | null;
  imageAlt: string | null;
  imageWidth: number | null;
  imageHeight: number | null;
  free: boolean;
  priceCents: number | null;
  priceNote: string | null;
  enteId: number;
  enteName: string;
  enteIpaCode: string;
  categoryId: number;
  categoryName: string;
  categorySlug: string;
}

const cardColumns = {
  occurrenceId: eventOccurrences.id,
  eventId: eventOccurrences.eventId,
  title: events.title,
  summary: events.summary,
  status: events.status,
  startsAt: eventOccurrences.startsAt,
  endsAt: eventOccurrences.endsAt,
  startDay: eventOccurrences.startDay,
  endDay: eventOccurrences.endDay,
  allDay: events.allDay,
  placeName: events.placeName,
  imageKey: events.imageKey,
  imageAlt: events.imageAlt,
  imageWidth: events.imageWidth,
  imageHeight: events.imageHeight,
  free: events.free,
  priceCents: events.priceCents,
  priceNote: events.priceNote,
  enteId: eventOccurrences.enteId,
  enteName: enti.name,
  enteIpaCode: enti.ipaCode,
  categoryId: eventOccurrences.categoryId,
  categoryName: eventCategories.name,
  categorySlug: eventCategories.slug,
};

function cardsQuery(db: DbLike, where: SQL | undefined) {
  return db
    .select(cardColumns)
    .from(eventOccurrences)
    .innerJoin(events, eq(events.id, eventOccurrences.eventId))
    .innerJoin(enti, eq(enti.id, eventOccurrences.enteId))
    .innerJoin(eventCategories, eq(eventCategories.id, eventOccurrences.categoryId))
    .where(where)
    .orderBy(asc(eventOccurrences.startsAt), asc(eventOccurrences.id));
}

const asCards = (rows: Array<Omit<OccurrenceCard, 'status'> & { status: string }>): OccurrenceCard[] =>
  rows.map((r) => ({ ...r, status: r.status === 'cancelled' ? 'cancelled' : 'published' }));

/** The conditions of a list on the occurrence's own columns (those of the list indexes). */
export function occurrenceWhere(f: ListFilters): SQL | undefined {
  return and(
    eq(eventOccurrences.listed, true),
    gte(eventOccurrences.endDay, f.fromDay),
    f.toDay ? lt(eventOccurrences.startsAt, romeDayStart(addDays(f.toDay, 1))) : undefined,
    f.enteIds ? (f.enteIds.length === 1 ? eq(eventOccurrences.enteId, f.enteIds[0]!) : inArray(eventOccurrences.enteId, f.enteIds)) : undefined,
    f.categoryId !== null ? eq(eventOccurrences.categoryId, f.categoryId) : undefined,
  );
}

/** A page of the list (1-based) and whether another page follows. */
export async function listOccurrences(db: DbLike, f: ListFilters, page: number, pageSize: number): Promise<{ items: OccurrenceCard[]; hasNext: boolean }> {
  if (f.enteIds && f.enteIds.length === 0) return { items: [], hasNext: false };
  // The page's occurrence ids first, from the occurrences alone (index entries, a small sort);
  // only those rows are then joined to their event, ente and category.
  const pageIds = db
    .select({ id: eventOccurrences.id })
    .from(eventOccurrences)
    .where(occurrenceWhere(f))
    .orderBy(asc(eventOccurrences.startsAt), asc(eventOccurrences.id))
    .limit(pageSize + 1)
    .offset((page - 1) * pageSize);
  const rows = asCards(await cardsQuery(db, inArray(eventOccurrences.id, pageIds)));
  return { items: rows.slice(0, pageSize), hasNext: rows.length > pageSize };
}

export type PublicEvent = typeof events.$inferSelect & {
  enteName: string;
  enteIpaCode: string;
  enteKind: 'provincia' | 'comune';
  enteZone: string | null;
  categoryName: string;
  categorySlug: string;
};

/** A published or cancelled event (what the public may see), with its ente and category; null otherwise. */
export async function getPublicEvent(db: DbLike, id: number): Promise<PublicEvent | null> {
  const row = (await db
      .select({
        event: events,
        enteName: enti.name,
        enteIpaCode: enti.ipaCode,
        enteKind: enti.kind,
        enteZone: enti.zone,
        categoryName: eventCategories.name,
        categorySlug: eventCategories.slug,
      })
      .from(events)
      .innerJoin(enti, eq(enti.id, events.enteId))
      .innerJoin(eventCategories, eq(eventCategories.id, events.categoryId))
      .where(and(eq(events.id, id), inArray(events.status, ['published', 'cancelled']))).limit(1))[0];
  if (!row) return null;
  const { event, ...rest } = row;
  return { ...event, ...rest };
}

export interface OccurrenceDates {
  startsAt: string;
  endsAt: string;
  startDay: string;
  endDay: string;
}

/** Every occurrence of an event, in order (at most 104, see occurrences.ts). */
export async function eventOccurrenceDates(db: DbLike, eventId: number): Promise<OccurrenceDates[]> {
  return await db
      .select({ startsAt: eventOccurrences.startsAt, endsAt: eventOccurrences.endsAt, startDay: eventOccurrences.startDay, endDay: eventOccurrences.endDay })
      .from(eventOccurrences)
      .where(eq(eventOccurrences.eventId, eventId))
      .orderBy(asc(eventOccurrences.startsAt));
}

/**
 * Upcoming listed occurrences of events of these categories or these comuni (either), one per
 * event (its next date), other than `excludeEventIds`: "events like the ones you chose".
 */
export async function similarEvents(
  db: DbLike,
  opts: { categoryIds: number[]; enteIds: number[]; excludeEventIds: number[]; today: string; limit: number },
): Promise<OccurrenceCard[]> {
  if (opts.categoryIds.length === 0 && opts.enteIds.length === 0) return [];
  const like = or(
    opts.categoryIds.length ? inArray(eventOccurrences.categoryId, opts.categoryIds) : undefined,
    opts.enteIds.length ? inArray(eventOccurrences.enteId, opts.enteIds) : undefined,
  );
  // Candidate ids from the occurrences alone (index entries; a weekly event has an occurrence every
  // week, so a few pages' worth), then only those rows joined; cancelled events are not suggested.
  const ids = db
    .select({ id: eventOccurrences.id })
    .from(eventOccurrences)
    .where(
      and(
        eq(eventOccurrences.listed, true),
        gte(eventOccurrences.endDay, opts.today),
        like,
        opts.excludeEventIds.length ? sql`${eventOccurrences.eventId} NOT IN ${opts.excludeEventIds}` : undefined,
      ),
    )
    .orderBy(asc(eventOccurrences.startsAt), asc(eventOccurrences.id))
    .limit(opts.limit * 8);
  const rows = asCards(await cardsQuery(db, and(inArray(eventOccurrences.id, ids), eq(events.status, 'published'))));
  const seen = new Set<number>();
  const out: OccurrenceCard[] = [];
  for (const r of rows) {
    if (seen.has(r.eventId)) continue;
    seen.add(r.eventId);
    out.push(r);
    if (out.length === opts.limit) break;
  }
  return out;
}

/** Similar to one event: the same category, then the same comune, upcoming, other events. */
export async function similarTo(db: DbLike, e: { id: number; categoryId: number; enteId: number }, today: string, limit: number): Promise<OccurrenceCard[]> {
  const sameCategory = await similarEvents(db, { categoryIds: [e.categoryId], enteIds: [], excludeEventIds: [e.id], today, limit });
  if (sameCategory.length >= limit) return sameCategory;
  const more = await similarEvents(db, { categoryIds: [], enteIds: [e.enteId], excludeEventIds: [e.id, ...sameCategory.map((c) => c.eventId)], today, limit: limit - sameCategory.length });
  return [...sameCategory, ...more];
}

/**
 * Saved events (ids in the order given, newest save first), each with its next occurrence from
 * `today` or, when all are past, its last one; events no longer public are left out.
 */
export async function savedEventCards(db: DbLike, eventIds: number[], today: string): Promise<Array<OccurrenceCard & { past: boolean }>> {
  if (eventIds.length === 0) return [];
  const rows = asCards(await cardsQuery(db, and(inArray(eventOccurrences.eventId, eventIds), eq(eventOccurrences.listed, true))));
  const byEvent = new Map<number, OccurrenceCard & { past: boolean }>();
  for (const r of rows) {
    const past = r.endDay < today;
    const have = byEvent.get(r.eventId);
    // Rows are in start order: the first not past is the next; otherwise the last past one.
    if (!have || (have.past && (!past || r.startsAt > have.startsAt))) byEvent.set(r.eventId, { ...r, past });
  }
  return eventIds.map((id) => byEvent.get(id)).filter((c): c is OccurrenceCard & { past: boolean } => c !== undefined);
}

/** Upcoming occurrences of one comune's events (its page, Il mio Comune). */
export async function upcomingForEnte(db: DbLike, enteId: number, today: string, limit: number): Promise<OccurrenceCard[]> {
  return (await listOccurrences(db, { enteIds: [enteId], categoryId: null, fromDay: today, toDay: null }, 1, limit)).items;
}

export interface FilterChoices {
  comuni: Array<{ id: number; name: string; ipaCode: string; zone: string | null; logoPath: string | null; slogan: string | null }>;
  zones: Array<{ slug: string; name: string }>;
  categories: Array<{ id: number; slug: string; name: string }>;
}

/** The comuni (bare names, alphabetical), zones and active categories the filters offer. */
export async function filterChoices(db: DbLike): Promise<FilterChoices> {
  const comuni = (await db
      .select({ id: enti.id, name: enti.name, ipaCode: enti.ipaCode, zone: enti.zone, logoPath: enti.logoPath, slogan: enti.slogan })
      .from(enti)
      .where(eq(enti.kind, 'comune')))
    .map((c) => ({ ...c, name: c.name.replace(/^Comune di /, '') }))
    .sort((a, b) => a.name.localeCompare(b.name, 'it'));
  const zoneRows = await db.select({ slug: zones.slug, name: zones.name }).from(zones).orderBy(asc(zones.sortOrder), asc(zones.name));
  const categories = await db
      .select({ id: eventCategories.id, slug: eventCategories.slug, name: eventCategories.name })
      .from(eventCategories)
      .where(eq(eventCategories.active, true))
      .orderBy(asc(eventCategories.sortOrder), asc(eventCategories.name));
  return { comuni, zones: zoneRows, categories };
}

/** A comune (kind comune) by id, for Il mio Comune; null otherwise. */
export async function comuneById(db: DbLike, id: number) {
  return (await db.select().from(enti).where(and(eq(enti.id, id), eq(enti.kind, 'comune'))).limit(1))[0] ?? null;
}

/** The enti (any kind) of a zone, by the zone's name as `enti.zone` holds it. */
export function enteIdsOfZone(choices: FilterChoices, zoneName: string): number[] {
  return choices.comuni.filter((c) => c.zone === zoneName).map((c) => c.id);
}

// ------------------------------------------------------------------ open data and feeds

/** One event as the open data and the feeds publish it (public fields only). */
export interface OpenDataEvent {
  id: number;
  title: string;
  summary: string;
  body: string;
  status: 'published' | 'cancelled';
  cancelReason: string | null;
  startsAt: string;
  endsAt: string;
  allDay: boolean;
  recurrence: 'none' | 'weekly';
  recurrenceUntil: string | null;
  placeName: string;
  address: string | null;
  latitude: number | null;
  longitude: number | null;
  free: boolean;
  priceCents: number | null;
  priceNote: string | null;
  organiser: string | null;
  contactEmail: string | null;
  contactPhone: string | null;
  links: string;
  imageKey: string | null;
  imageAlt: string | null;
  imageWidth: number | null;
  imageHeight: number | null;
  publishedAt: string | null;
  updatedAt: string;
  enteId: number;
  enteName: string;
  enteIpaCode: string;
  enteIstatCode: string | null;
  enteZone: string | null;
  categorySlug: string;
  categoryName: string;
}

const openDataColumns = {
  id: events.id,
  title: events.title,
  summary: events.summary,
  body: events.body,
  status: events.status,
  cancelReason: events.cancelReason,
  startsAt: events.startsAt,
  endsAt: events.endsAt,
  allDay: events.allDay,
  recurrence: events.recurrence,
  recurrenceUntil: events.recurrenceUntil,
  placeName: events.placeName,
  address: events.address,
  latitude: events.latitude,
  longitude: events.longitude,
  free: events.free,
  priceCents: events.priceCents,
  priceNote: events.priceNote,
  organiser: events.organiser,
  contactEmail: events.contactEmail,
  contactPhone: events.contactPhone,
  links: events.links,
  imageKey: events.imageKey,
  imageAlt: events.imageAlt,
  imageWidth: events.imageWidth,
  imageHeight: events.imageHeight,
  publishedAt: events.publishedAt,
  updatedAt: events.updatedAt,
  enteId: events.enteId,
  enteName: enti.name,
  enteIpaCode: enti.ipaCode,
  enteIstatCode: enti.istatCode,
  enteZone: enti.zone,
  categorySlug: eventCategories.slug,
  categoryName: eventCategories.name,
};

/**
 * Every public event (published or cancelled) by id, in slices of `batch` (keyset on the id, so
 * 100 000 events are never all in memory): the open data files are streamed from this.
 */
export async function* publicEventsBatches(db: DbLike, batch = 1000): AsyncGenerator<OpenDataEvent[]> {
  let after = 0;
  for (;;) {
    const rows = await db
          .select(openDataColumns)
          .from(events)
          .innerJoin(enti, eq(enti.id, events.enteId))
          .innerJoin(eventCategories, eq(eventCategories.id, events.categoryId))
          .where(and(sql`${events.id} > ${after}`, inArray(events.status, ['published', 'cancelled'])))
          .orderBy(asc(events.id))
          .limit(batch) as OpenDataEvent[];
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]!.id;
    if (rows.length < batch) return;
  }
}

/** Occurrences for a feed: listed, of an ente or a category (or all), from `fromDay`, at most `limit`. */
export async function feedOccurrences(db: DbLike, f: { enteId?: number; categoryId?: number; fromDay: string; limit: number }): Promise<OccurrenceCard[]> {
  const where = occurrenceWhere({ enteIds: f.enteId !== undefined ? [f.enteId] : null, categoryId: f.categoryId ?? null, fromDay: f.fromDay, toDay: null });
  return asCards(await cardsQuery(db, where).limit(f.limit));
}

/** Published events newest first by first publication (RSS/Atom "what's new"), of an ente or category. */
export async function latestPublished(db: DbLike, f: { enteId?: number; categoryId?: number; limit: number }) {
  return await db
      .select({ ...openDataColumns, firstPublishedAt: events.firstPublishedAt })
      .from(events)
      .innerJoin(enti, eq(enti.id, events.enteId))
      .innerJoin(eventCategories, eq(eventCategories.id, events.categoryId))
      .where(
        and(
          inArray(events.status, ['published', 'cancelled']),
          f.enteId !== undefined ? eq(events.enteId, f.enteId) : undefined,
          f.categoryId !== undefined ? eq(events.categoryId, f.categoryId) : undefined,
        ),
      )
      .orderBy(sql`coalesce(${events.firstPublishedAt}, ${events.publishedAt}, ${events.createdAt}) DESC`, sql`${events.id} DESC`)
      .limit(f.limit);
}

/**
 * The events of a calendar feed with their occurrences from `fromDay` (at most `limit`
 * occurrences in all, earliest first), grouped per event in order of first occurrence.
 */
export async function calendarEvents(db: DbLike, f: { enteId?: number; categoryId?: number; fromDay: string; limit: number }) {
  const where = occurrenceWhere({ enteIds: f.enteId !== undefined ? [f.enteId] : null, categoryId: f.categoryId ?? null, fromDay: f.fromDay, toDay: null });
  const rows = await db
      .select({
        occ: { startsAt: eventOccurrences.startsAt, endsAt: eventOccurrences.endsAt, startDay: eventOccurrences.startDay, endDay: eventOccurrences.endDay },
        id: events.id,
        version: events.version,
        title: events.title,
        summary: events.summary,
        status: events.status,
        cancelReason: events.cancelReason,
        allDay: events.allDay,
        recurrence: events.recurrence,
        placeName: events.placeName,
        address: events.address,
        latitude: events.latitude,
        longitude: events.longitude,
        enteName: enti.name,
        categoryName: eventCategories.name,
      })
      .from(eventOccurrences)
      .innerJoin(events, eq(events.id, eventOccurrences.eventId))
      .innerJoin(enti, eq(enti.id, eventOccurrences.enteId))
      .innerJoin(eventCategories, eq(eventCategories.id, eventOccurrences.categoryId))
      .where(where)
      .orderBy(asc(eventOccurrences.startsAt), asc(eventOccurrences.id))
      .limit(f.limit);
  const byEvent = new Map<number, Omit<(typeof rows)[number], 'occ' | 'recurrence' | 'status'> & { recurring: boolean; status: 'published' | 'cancelled'; occurrences: OccurrenceDates[] }>();
  for (const { occ, recurrence, status, ...e } of rows) {
    let item = byEvent.get(e.id);
    if (!item) byEvent.set(e.id, (item = { ...e, recurring: recurrence === 'weekly', status: status === 'cancelled' ? 'cancelled' : 'published', occurrences: [] }));
    item.occurrences.push(occ);
  }
  return [...byEvent.values()];
}
