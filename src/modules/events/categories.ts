/**
 * Macro-categories of events, kept by the SAEL admin (`/admin/eventi/categorie`). The eight of the
 * issue are seeded at every start (missing ones only: a renamed or deactivated one stays as the
 * admin left it). A category in use is deactivated, never deleted (its events keep it; new events
 * cannot choose it).
 */
import { asc, count, eq } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { HttpError } from '../../plugins/errors.js';
import { eventCategories, events } from './schema.js';

export type EventCategory = typeof eventCategories.$inferSelect;

/** The seeded macro-categories (slug, name, description), in their display order. */
export const SEED_CATEGORIES: readonly { slug: string; name: string; description: string }[] = [
  { slug: 'mostre', name: 'Mostre', description: 'Mostre d’arte, fotografiche e documentarie, esposizioni.' },
  { slug: 'spettacoli-concerti', name: 'Spettacoli e concerti', description: 'Teatro, musica, danza, cinema all’aperto.' },
  { slug: 'sagre-enogastronomia', name: 'Sagre ed enogastronomia', description: 'Sagre, feste del vino e dei prodotti tipici, degustazioni.' },
  { slug: 'sport', name: 'Sport', description: 'Gare, tornei, camminate e manifestazioni sportive.' },
  { slug: 'cultura-tradizioni', name: 'Cultura e tradizioni', description: 'Feste patronali, rievocazioni, riti e tradizioni popolari.' },
  { slug: 'natura-escursioni', name: 'Natura ed escursioni', description: 'Escursioni, visite guidate, trekking e attività all’aperto.' },
  { slug: 'incontri-convegni', name: 'Incontri e convegni', description: 'Conferenze, presentazioni di libri, assemblee pubbliche.' },
  { slug: 'per-bambini', name: 'Per bambini', description: 'Laboratori, letture, giochi e spettacoli per i più piccoli.' },
];

/** Inserts the seeded categories that are missing (by slug). Idempotent. */
export async function seedEventCategories(db: Db): Promise<void> {
  await db.insert(eventCategories)
        .values(SEED_CATEGORIES.map((c, i) => ({ ...c, sortOrder: (i + 1) * 10 })))
        .onConflictDoNothing({ target: eventCategories.slug });
}

/** The categories in display order (only the active ones with `activeOnly`). */
export async function listCategories(db: DbLike, opts: { activeOnly?: boolean } = {}): Promise<EventCategory[]> {
  return await db
      .select()
      .from(eventCategories)
      .where(opts.activeOnly ? eq(eventCategories.active, true) : undefined)
      .orderBy(asc(eventCategories.sortOrder), asc(eventCategories.name));
}

export async function getCategory(db: DbLike, id: number): Promise<EventCategory | undefined> {
  return (await db.select().from(eventCategories).where(eq(eventCategories.id, id)).limit(1))[0];
}

/** Categories with how many events use each (for the admin page). */
export async function listCategoriesWithUse(db: DbLike): Promise<(EventCategory & { eventCount: number })[]> {
  const uses = new Map(
    (await db
            .select({ categoryId: events.categoryId, n: count() })
            .from(events)
            .groupBy(events.categoryId))
      .map((r) => [r.categoryId, r.n]),
  );
  return (await listCategories(db)).map((c) => ({ ...c, eventCount: uses.get(c.id) ?? 0 }));
}

export interface CategoryInput {
  slug: string;
  name: string;
  description: string | null;
  sortOrder: number;
  active: boolean;
}

/** An URL/feed key from a name: lower case ASCII letters, digits and dashes. */
export function slugify(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
}

/** Checks a category's fields; a map field → Italian message (empty when fine). */
export function validateCategoryInput(fields: { name?: string; slug?: string; description?: string; sortOrder?: string }): { input?: Omit<CategoryInput, 'active'>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const name = (fields.name ?? '').trim();
  if (!name) errors.name = 'Indica il nome della categoria.';
  else if (name.length > 80) errors.name = 'Il nome può avere al massimo 80 caratteri.';
  const slug = (fields.slug ?? '').trim() || slugify(name);
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(slug) || slug.length > 60) errors.slug = 'Il codice può avere solo lettere minuscole, cifre e trattini (es. «sagre-enogastronomia»).';
  const description = (fields.description ?? '').trim();
  if (description.length > 300) errors.description = 'La descrizione può avere al massimo 300 caratteri.';
  const order = (fields.sortOrder ?? '').trim();
  if (order !== '' && !/^\d{1,4}$/.test(order)) errors.sortOrder = 'L’ordine è un numero intero da 0 a 9999.';
  if (Object.keys(errors).length > 0) return { errors };
  return { input: { slug, name, description: description || null, sortOrder: order === '' ? 0 : Number(order) }, errors };
}

export interface CategoryActor {
  actor: string;
  requestId?: string | null;
}

/** The slug's unique index refused the row: SQLite's message, or PostgreSQL's 23505 on the constraint (under drizzle's wrapper). */
function slugTaken(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const x = e as { code?: string; message?: string; constraint?: string };
    if (/UNIQUE constraint failed: event_categories\.slug/.test(x.message ?? '')) return true;
    if (x.code === '23505' && x.constraint === 'event_categories_slug_unique') return true;
  }
  return false;
}

/** Creates a category (active). Throws HttpError 409 when the slug is taken. */
export async function createCategory(db: Db, input: Omit<CategoryInput, 'active'>, by: CategoryActor): Promise<EventCategory> {
  try {
    return await db.transaction(async (tx) => {
          const row = (await tx.insert(eventCategories).values({ ...input, active: true }).returning())[0]!;
          await recordAudit(tx, { actor: by.actor, action: 'event_category.create', entity: 'event_category', entityId: row.id, after: row, requestId: by.requestId });
          return row;
        });
  } catch (err) {
    if (slugTaken(err)) throw new HttpError(409, `Il codice «${input.slug}» è già usato da un’altra categoria.`);
    throw err;
  }
}

/** Updates a category's name, code, description, order and active flag. */
export async function updateCategory(db: Db, id: number, input: CategoryInput, by: CategoryActor): Promise<EventCategory> {
  try {
    return await db.transaction(async (tx) => {
          const before = (await tx.select().from(eventCategories).where(eq(eventCategories.id, id)).limit(1))[0];
          if (!before) throw new HttpError(404, 'Categoria non trovata.');
          const after = (await tx
                  .update(eventCategories)
                  .set({ ...input, updatedAt: new Date().toISOString() })
                  .where(eq(eventCategories.id, id))
                  .returning())[0]!;
          await recordAudit(tx, { actor: by.actor, action: 'event_category.update', entity: 'event_category', entityId: id, before, after, requestId: by.requestId });
          return after;
        });
  } catch (err) {
    if (slugTaken(err)) throw new HttpError(409, `Il codice «${input.slug}» è già usato da un’altra categoria.`);
    throw err;
  }
}

/** Deletes a category no event uses; one in use must be deactivated instead (409). */
export async function deleteCategory(db: Db, id: number, by: CategoryActor): Promise<void> {
  await db.transaction(async (tx) => {
        const before = (await tx.select().from(eventCategories).where(eq(eventCategories.id, id)).limit(1))[0];
        if (!before) throw new HttpError(404, 'Categoria non trovata.');
        const used = (await tx.select({ n: count() }).from(events).where(eq(events.categoryId, id)).limit(1))[0]?.n ?? 0;
        if (used > 0) throw new HttpError(409, `La categoria «${before.name}» è usata da ${used} ${used === 1 ? 'evento' : 'eventi'}: disattivala invece di eliminarla.`);
        await tx.delete(eventCategories).where(eq(eventCategories.id, id));
        await recordAudit(tx, { actor: by.actor, action: 'event_category.delete', entity: 'event_category', entityId: id, before, requestId: by.requestId });
      });
}
