/**
 * What a citizen chose on the public event pages: "Il mio Comune", the saved events ("I miei
 * eventi") and the followed categories and comuni. Anonymous visitors keep them in first-party
 * technical cookies (a year, HttpOnly, SameSite=Lax, Secure in production; no consent needed:
 * they only remember the visitor's own choices); a signed-in citizen keeps them in the database
 * (`citizen_event_preferences`, `event_saves`), and what the cookies held is moved there the first
 * time they come signed in.
 *
 * Cookie values are dot-separated ids (`12.45.78`): only digits and dots, so nothing to escape.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { citizenEventPreferences, eventSaves, events } from './schema.js';

export const MY_COMUNE_COOKIE = 'mio_comune';
export const SAVED_COOKIE = 'eventi_salvati';
export const CATEGORIES_COOKIE = 'eventi_categorie';
export const COMUNI_COOKIE = 'eventi_comuni';
/** Most saved events kept in the cookie (a cookie holds ~4 KB; 100 ids of 6 digits fit). */
export const MAX_SAVED = 100;
/** Most followed categories / comuni. */
export const MAX_FOLLOWED = 84;
const YEAR_SECONDS = 365 * 24 * 3600;

/** Ids from a cookie value (`1.2.3`), positive, distinct, at most `max`, in the order written. */
export function parseIds(value: string | undefined, max: number): number[] {
  if (!value || !/^[0-9.]{1,1200}$/.test(value)) return [];
  const out: number[] = [];
  for (const part of value.split('.')) {
    const n = Number(part);
    if (part !== '' && Number.isSafeInteger(n) && n > 0 && !out.includes(n)) out.push(n);
    if (out.length === max) break;
  }
  return out;
}

export const formatIds = (ids: number[]) => ids.join('.');

export interface Choices {
  myComuneId: number | null;
  /** Newest first. */
  savedIds: number[];
  categoryIds: number[];
  comuneIds: number[];
}

/** The anonymous visitor's choices, from the cookies. */
export function choicesFromCookies(request: FastifyRequest): Choices {
  const c = request.cookies;
  return {
    myComuneId: parseIds(c[MY_COMUNE_COOKIE], 1)[0] ?? null,
    savedIds: parseIds(c[SAVED_COOKIE], MAX_SAVED),
    categoryIds: parseIds(c[CATEGORIES_COOKIE], MAX_FOLLOWED),
    comuneIds: parseIds(c[COMUNI_COOKIE], MAX_FOLLOWED),
  };
}

export function setChoiceCookie(reply: FastifyReply, name: string, ids: number[], secure: boolean): void {
  if (ids.length === 0) {
    reply.clearCookie(name, { path: '/' });
    return;
  }
  reply.setCookie(name, formatIds(ids), { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: YEAR_SECONDS });
}

const jsonIds = (s: string): number[] => {
  try {
    const v = JSON.parse(s) as unknown;
    return Array.isArray(v) ? v.filter((n): n is number => Number.isSafeInteger(n) && (n as number) > 0) : [];
  } catch {
    return [];
  }
};

/** A signed-in citizen's choices from the database. */
export async function choicesOfUser(db: DbLike, userId: number): Promise<Choices> {
  const prefs = (await db.select().from(citizenEventPreferences).where(eq(citizenEventPreferences.userId, userId)).limit(1))[0];
  const saved = await db
      .select({ eventId: eventSaves.eventId })
      .from(eventSaves)
      .where(eq(eventSaves.userId, userId))
      .orderBy(desc(eventSaves.createdAt), desc(eventSaves.eventId))
      .limit(MAX_SAVED);
  return {
    myComuneId: prefs?.enteId ?? null,
    savedIds: saved.map((s) => s.eventId),
    categoryIds: prefs ? jsonIds(prefs.followedCategories) : [],
    comuneIds: prefs ? jsonIds(prefs.followedEnti) : [],
  };
}

/** Writes a signed-in citizen's preferences (only the fields given). */
export async function savePreferences(db: DbLike, userId: number, change: { myComuneId?: number | null; categoryIds?: number[]; comuneIds?: number[] }, nowIso: string): Promise<void> {
  const set: Partial<typeof citizenEventPreferences.$inferInsert> = { updatedAt: nowIso };
  if (change.myComuneId !== undefined) set.enteId = change.myComuneId;
  if (change.categoryIds !== undefined) set.followedCategories = JSON.stringify(change.categoryIds);
  if (change.comuneIds !== undefined) set.followedEnti = JSON.stringify(change.comuneIds);
  await db.insert(citizenEventPreferences)
        .values({ userId, enteId: null, ...set })
        .onConflictDoUpdate({ target: citizenEventPreferences.userId, set });
}

/** Saves events for a signed-in citizen (existing saves kept; ids that are not events ignored). */
export async function saveEvents(db: DbLike, userId: number, eventIds: number[], nowIso: string): Promise<void> {
  if (eventIds.length === 0) return;
  const existing = await db.select({ id: events.id }).from(events).where(inArray(events.id, eventIds));
  if (existing.length === 0) return;
  await db.insert(eventSaves)
        .values(existing.map((e) => ({ userId, eventId: e.id, createdAt: nowIso })))
        .onConflictDoNothing();
}

export async function unsaveEvent(db: DbLike, userId: number, eventId: number): Promise<void> {
  await db.delete(eventSaves).where(and(eq(eventSaves.userId, userId), eq(eventSaves.eventId, eventId)));
}

/** The citizen's choices (database when signed in, cookies otherwise). */
export async function choicesOf(db: DbLike, request: FastifyRequest): Promise<Choices> {
  return request.user ? choicesOfUser(db, request.user.id) : choicesFromCookies(request);
}
