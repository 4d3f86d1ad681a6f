/**
 * Public news (seed item 10): each ente (the province's rows are the SAEL's) writes news items in
 * its back office, publishes and unpublishes them; the public sees the published ones on the
 * province's home, the comune pages ("Il mio Comune"), `/notizie` and the RSS feed.
 *
 * Every change is one transaction with its audit row; an edit names the version it was made on
 * (optimistic concurrency: a stale form gets `NewsConflictError`, nothing is overwritten).
 */
import { and, count, desc, eq, type SQL } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import { publicNews } from './schema.js';

export type NewsRow = typeof publicNews.$inferSelect;
export type NewsStatus = NewsRow['status'];

/** A published news item as the public pages show it, with its ente. */
export interface PublishedNews {
  id: number;
  enteId: number;
  enteName: string;
  enteIpaCode: string;
  enteKind: 'provincia' | 'comune';
  title: string;
  summary: string;
  body: string;
  /** ISO UTC instant of the (last) publication. */
  publishedAt: string;
  updatedAt: string;
  isDemo: boolean;
}

export interface ListNewsOptions {
  /** Only this ente's news; omitted: every ente's. */
  enteId?: number;
  limit: number;
  offset?: number;
}

const publishedColumns = {
  id: publicNews.id,
  enteId: publicNews.enteId,
  enteName: enti.name,
  enteIpaCode: enti.ipaCode,
  enteKind: enti.kind,
  title: publicNews.title,
  summary: publicNews.summary,
  body: publicNews.body,
  publishedAt: publicNews.publishedAt,
  updatedAt: publicNews.updatedAt,
  isDemo: publicNews.isDemo,
};

function publishedWhere(enteId?: number): SQL | undefined {
  return enteId === undefined
    ? eq(publicNews.status, 'published')
    : and(eq(publicNews.enteId, enteId), eq(publicNews.status, 'published'));
}

type PublishedSelect = Omit<PublishedNews, 'publishedAt'> & { publishedAt: string | null };
const toPublished = (r: PublishedSelect): PublishedNews => ({ ...r, publishedAt: r.publishedAt ?? r.updatedAt });

/** Published news, newest first (by publication instant, then id). */
export async function listPublishedNews(db: DbLike, opts: ListNewsOptions): Promise<PublishedNews[]> {
  const rows = await db
      .select(publishedColumns)
      .from(publicNews)
      .innerJoin(enti, eq(enti.id, publicNews.enteId))
      .where(publishedWhere(opts.enteId))
      .orderBy(desc(publicNews.publishedAt), desc(publicNews.id))
      .limit(Math.max(0, Math.floor(opts.limit)))
      .offset(Math.max(0, Math.floor(opts.offset ?? 0)));
  return rows.map(toPublished);
}

/** How many published news items there are (for paging). */
export async function countPublishedNews(db: DbLike, opts: { enteId?: number } = {}): Promise<number> {
  return (await db.select({ n: count() }).from(publicNews).where(publishedWhere(opts.enteId)).limit(1))[0]?.n ?? 0;
}

/** One published news item; null when it does not exist or is not published. */
export async function getPublishedNews(db: DbLike, id: number): Promise<PublishedNews | null> {
  const row = (await db
      .select(publishedColumns)
      .from(publicNews)
      .innerJoin(enti, eq(enti.id, publicNews.enteId))
      .where(and(eq(publicNews.id, id), eq(publicNews.status, 'published'))).limit(1))[0];
  return row ? toPublished(row) : null;
}

// ---------------------------------------------------------------- back office

/** Every news item of an ente (any status), most recently changed first. */
export async function listEnteNews(db: DbLike, enteId: number, opts: { limit: number; offset?: number }): Promise<NewsRow[]> {
  return await db
      .select()
      .from(publicNews)
      .where(eq(publicNews.enteId, enteId))
      .orderBy(desc(publicNews.updatedAt), desc(publicNews.id))
      .limit(opts.limit)
      .offset(opts.offset ?? 0);
}

export async function countEnteNews(db: DbLike, enteId: number): Promise<number> {
  return (await db.select({ n: count() }).from(publicNews).where(eq(publicNews.enteId, enteId)).limit(1))[0]?.n ?? 0;
}

/** A news item of that ente (any status); null for another ente's id (no IDOR). */
export async function getEnteNews(db: DbLike, enteId: number, id: number): Promise<NewsRow | null> {
  return (await db.select().from(publicNews).where(and(eq(publicNews.id, id), eq(publicNews.enteId, enteId))).limit(1))[0] ?? null;
}

export interface NewsInput {
  title: string;
  summary: string;
  body: string;
}

export interface NewsActor {
  userId: number | null;
  /** Audit actor (`user:<id>`). */
  actor: string;
  requestId?: string | null;
}

/** The edit was made on an older version than the stored one (someone else saved meanwhile). */
export class NewsConflictError extends Error {
  constructor() {
    super('La notizia è stata modificata da un altro utente nel frattempo: ricarica la pagina e riprova.');
    this.name = 'NewsConflictError';
  }
}

/** Creates a draft (or, with `publish`, a published item) of the ente. */
export async function createNews(
  db: DbLike,
  enteId: number,
  input: NewsInput,
  actor: NewsActor,
  opts: { now: Date; publish?: boolean; isDemo?: boolean },
): Promise<NewsRow> {
  const at = opts.now.toISOString();
  return await db.transaction(async (tx) => {
      const row = (await tx
            .insert(publicNews)
            .values({
              enteId,
              status: opts.publish ? 'published' : 'draft',
              title: input.title,
              summary: input.summary,
              body: input.body,
              publishedAt: opts.publish ? at : null,
              isDemo: opts.isDemo ?? false,
              createdBy: actor.userId,
              updatedBy: actor.userId,
              createdAt: at,
              updatedAt: at,
            })
            .returning())[0]!;
      await recordAudit(tx, { actor: actor.actor, action: 'news.create', entity: 'public_news', entityId: row.id, enteId, after: row, requestId: actor.requestId });
      return row;
    });
}

/** Saves the text of an ente's item made on `version`; null if it is not that ente's. */
export async function updateNews(
  db: DbLike,
  enteId: number,
  id: number,
  version: number,
  input: NewsInput,
  actor: NewsActor,
  now: Date,
): Promise<NewsRow | null> {
  return await db.transaction(async (tx) => {
      const before = (await tx.select().from(publicNews).where(and(eq(publicNews.id, id), eq(publicNews.enteId, enteId))).limit(1))[0];
      if (!before) return null;
      if (before.version !== version) throw new NewsConflictError();
      const after = (await tx
            .update(publicNews)
            .set({ ...input, version: before.version + 1, updatedBy: actor.userId, updatedAt: now.toISOString() })
            .where(and(eq(publicNews.id, id), eq(publicNews.version, version)))
            .returning())[0]!;
      if (!after) throw new NewsConflictError();
      await recordAudit(tx, { actor: actor.actor, action: 'news.update', entity: 'public_news', entityId: id, enteId, before, after, requestId: actor.requestId });
      return after;
    });
}

/**
 * Publishes (`published`) or withdraws (`unpublished`) an item made on `version`; a publication
 * sets `publishedAt` to now (a republished item moves to the top). Null if it is not that ente's.
 */
export async function setNewsStatus(
  db: DbLike,
  enteId: number,
  id: number,
  version: number,
  status: 'published' | 'unpublished',
  actor: NewsActor,
  now: Date,
): Promise<NewsRow | null> {
  return await db.transaction(async (tx) => {
      const before = (await tx.select().from(publicNews).where(and(eq(publicNews.id, id), eq(publicNews.enteId, enteId))).limit(1))[0];
      if (!before) return null;
      if (before.version !== version) throw new NewsConflictError();
      const at = now.toISOString();
      const after = (await tx
            .update(publicNews)
            .set({
              status,
              publishedAt: status === 'published' ? at : before.publishedAt,
              version: before.version + 1,
              updatedBy: actor.userId,
              updatedAt: at,
            })
            .where(and(eq(publicNews.id, id), eq(publicNews.version, version)))
            .returning())[0]!;
      if (!after) throw new NewsConflictError();
      await recordAudit(tx, {
              actor: actor.actor,
              action: status === 'published' ? 'news.publish' : 'news.unpublish',
              entity: 'public_news',
              entityId: id,
              enteId,
              before: { status: before.status },
              after: { status: after.status, publishedAt: after.publishedAt },
              requestId: actor.requestId,
            });
      return after;
    });
}

/** Deletes an item of the ente that was never published (a draft); false otherwise. */
export async function deleteDraftNews(db: DbLike, enteId: number, id: number, version: number, actor: NewsActor): Promise<boolean> {
  return await db.transaction(async (tx) => {
      const before = (await tx.select().from(publicNews).where(and(eq(publicNews.id, id), eq(publicNews.enteId, enteId))).limit(1))[0];
      if (!before || before.status !== 'draft') return false;
      if (before.version !== version) throw new NewsConflictError();
      await tx.delete(publicNews).where(eq(publicNews.id, id));
      await recordAudit(tx, { actor: actor.actor, action: 'news.delete', entity: 'public_news', entityId: id, enteId, before, requestId: actor.requestId });
      return true;
    });
}
