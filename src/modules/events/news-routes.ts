/**
 * Public news (seed item 10) of the SAEL and of each ente.
 *
 * Public, no login:
 * - GET /notizie[?comune=<ipa>&pagina=N]   published news, newest first, 12 a page
 * - GET /notizie/:id                        one published item
 * - GET /notizie/feed.rss[?comune=<ipa>]    RSS 2.0 of the latest 30 (of one ente with `comune`)
 *
 * Back office (the ente's redazione, operators and ente admins; the SAEL admin for the province's
 * news, which are the SAEL's): `/backoffice/enti/:enteId/notizie` list, `/nuova`, `/:id` edit,
 * `/:id/pubblica`, `/:id/ritira`, `/:id/elimina` (drafts only). Every change audited; a stale
 * form (someone else saved meanwhile) is refused with 409 and nothing is overwritten.
 * `/admin/notizie` takes the SAEL admin to the province's list.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { eq } from 'drizzle-orm';
import { getEnte, listEnti } from '../enti/repository.js';
import { enti } from '../enti/schema.js';
import { enteIdParams, enteParams } from '../catalogue/ente-guard.js';
import {
  countEnteNews,
  countPublishedNews,
  createNews,
  deleteDraftNews,
  getEnteNews,
  getPublishedNews,
  listEnteNews,
  listPublishedNews,
  NewsConflictError,
  setNewsStatus,
  updateNews,
  type NewsInput,
  type NewsRow,
  type PublishedNews,
} from './news-repository.js';
import { newsCard, newsSourceName } from './news-view.js';
import { paragraphs } from './public-view.js';
import { rssFeed } from './syndication.js';

export const NEWS_PAGE_SIZE = 12;
const BO_PAGE_SIZE = 25;
const FEED_SIZE = 30;
const MAX_PAGE = 10_000;

const STATUS_LABELS: Record<NewsRow['status'], string> = { draft: 'Bozza', published: 'Pubblicata', unpublished: 'Ritirata' };

const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;
const listQuery = {
  type: 'object',
  properties: { comune: { type: 'string', pattern: '^[a-z0-9_]{2,20}$' }, pagina: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 1 } },
  additionalProperties: false,
} as const;
const feedQuery = { type: 'object', properties: { comune: { type: 'string', pattern: '^[a-z0-9_]{2,20}$' } }, additionalProperties: false } as const;
const boListQuery = { type: 'object', properties: { pagina: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 1 } }, additionalProperties: false } as const;
const newsBody = {
  type: 'object',
  properties: {
    _csrf: { type: 'string' },
    title: { type: 'string', maxLength: 500 },
    summary: { type: 'string', maxLength: 1000 },
    body: { type: 'string', maxLength: 40000 },
    version: { type: 'string', pattern: '^[0-9]{0,9}$' },
    publish: { type: 'string', maxLength: 10 },
  },
} as const;
type NewsForm = Partial<Record<'title' | 'summary' | 'body' | 'version' | 'publish', string>>;
const versionBody = { type: 'object', properties: { _csrf: { type: 'string' }, version: { type: 'string', pattern: '^[0-9]{1,9}$' } }, required: ['version'] } as const;

export const NEWS_LIMITS = { title: 150, summary: 300, body: 20000 } as const;
const trimmed = (s: string | undefined) => (s ?? '').trim();

/** The form's problems in Italian, by field; empty when it can be saved. */
export function checkNewsForm(b: NewsForm): Record<string, string> {
  const errors: Record<string, string> = {};
  const title = trimmed(b.title);
  const summary = trimmed(b.summary);
  const body = trimmed(b.body);
  if (title.length < 5) errors.title = 'Il titolo deve avere almeno 5 caratteri.';
  else if (title.length > NEWS_LIMITS.title) errors.title = `Il titolo può avere al massimo ${NEWS_LIMITS.title} caratteri (ne ha ${title.length}).`;
  if (summary.length < 10) errors.summary = 'Scrivi un sommario di una o due frasi (almeno 10 caratteri).';
  else if (summary.length > NEWS_LIMITS.summary) errors.summary = `Il sommario può avere al massimo ${NEWS_LIMITS.summary} caratteri (ne ha ${summary.length}).`;
  if (body.length > NEWS_LIMITS.body) errors.body = `Il testo può avere al massimo ${NEWS_LIMITS.body} caratteri (ne ha ${body.length}).`;
  return errors;
}

const newsInput = (b: NewsForm): NewsInput => ({ title: trimmed(b.title).replace(/\s+/g, ' '), summary: trimmed(b.summary).replace(/\s+/g, ' '), body: trimmed(b.body).replace(/\r\n/g, '\n') });

/** RSS 2.0 of published news (the permanent page as guid), with B's feed builder. */
export function newsRss(items: PublishedNews[], channel: { title: string; link: string; selfUrl: string; description: string; publicUrl: string; now: Date }): string {
  return rssFeed(
    { title: channel.title, description: channel.description, selfUrl: channel.selfUrl, pageUrl: channel.link, updated: items[0]?.publishedAt ?? channel.now.toISOString(), author: channel.title },
    items.map((n) => {
      const url = `${channel.publicUrl}/notizie/${n.id}`;
      return { id: url, url, title: n.title, summary: n.summary, published: n.publishedAt, updated: n.updatedAt, category: newsSourceName(n) };
    }),
  );
}

export default async function newsRoutes(app: FastifyInstance): Promise<void> {
  const now = () => app.events.now();
  const publicUrl = app.config.publicUrl.replace(/\/+$/, '');
  const province = async () => (await listEnti(app.db, { kind: 'provincia' }))[0] ?? null;
  const enteByIpa = async (ipa: string) => (await app.db.select().from(enti).where(eq(enti.ipaCode, ipa)).limit(1))[0] ?? null;

  // ---------------------------------------------------------------- public
  app.get<{ Querystring: { comune?: string; pagina: number } }>('/notizie', { schema: { querystring: listQuery } }, async (request, reply) => {
    const ente = request.query.comune ? await enteByIpa(request.query.comune) : null;
    if (request.query.comune && !ente) throw new HttpError(404, 'Ente non trovato: scegli un comune dall’elenco.');
    const enteId = ente?.id;
    const total = await countPublishedNews(app.db, { enteId });
    const pages = Math.max(1, Math.ceil(total / NEWS_PAGE_SIZE));
    const page = Math.min(request.query.pagina, pages);
    const items = (await listPublishedNews(app.db, { enteId, limit: NEWS_PAGE_SIZE, offset: (page - 1) * NEWS_PAGE_SIZE })).map(newsCard);
    const base = ente ? `/notizie?comune=${ente.ipaCode}&` : '/notizie?';
    return reply.page('events/news-list', {
      title: ente ? `Notizie – ${ente.name}` : 'Notizie',
      ente,
      items,
      total,
      page,
      pages,
      prev: page > 1 ? `${base}pagina=${page - 1}` : null,
      next: page < pages ? `${base}pagina=${page + 1}` : null,
      feedHref: ente ? `/notizie/feed.rss?comune=${ente.ipaCode}` : '/notizie/feed.rss',
      feedTitle: ente ? `Notizie – ${ente.name}` : `Notizie – ${app.config.provinceName}`,
      // RSS autodiscovery (the layout's <link rel="alternate">).
      headLinks: [{ rel: 'alternate', type: 'application/rss+xml', title: ente ? `Notizie – ${ente.name}` : `Notizie – ${app.config.provinceName}`, href: ente ? `/notizie/feed.rss?comune=${ente.ipaCode}` : '/notizie/feed.rss' }],
    });
  });

  app.get<{ Querystring: { comune?: string } }>('/notizie/feed.rss', { schema: { querystring: feedQuery } }, async (request, reply) => {
    const ente = request.query.comune ? await enteByIpa(request.query.comune) : null;
    if (request.query.comune && !ente) throw new HttpError(404, 'Ente non trovato.');
    const items = await listPublishedNews(app.db, { enteId: ente?.id, limit: FEED_SIZE });
    const qs = ente ? `?comune=${ente.ipaCode}` : '';
    const xml = newsRss(items, {
      title: ente ? `Notizie – ${ente.name}` : `Notizie – ${app.config.provinceName}`,
      link: `${publicUrl}/notizie${qs}`,
      selfUrl: `${publicUrl}/notizie/feed.rss${qs}`,
      description: ente ? `Le notizie pubblicate da ${ente.name}.` : `Le notizie del S.A.E.L. e dei comuni della ${app.config.provinceName}.`,
      publicUrl,
      now: now(),
    });
    return reply.type('application/rss+xml; charset=utf-8').header('cache-control', 'public, max-age=300').send(xml);
  });

  app.get<{ Params: { id: number } }>('/notizie/:id', { schema: { params: idParams } }, async (request, reply) => {
    const n = await getPublishedNews(app.db, request.params.id);
    if (!n) throw new HttpError(404, 'Notizia non trovata o non più pubblicata.');
    const card = newsCard(n);
    return reply.page('events/news-detail', {
      title: n.title,
      n: card,
      paragraphs: paragraphs(n.body),
      moreHref: n.enteKind === 'comune' ? `/notizie?comune=${n.enteIpaCode}` : '/notizie',
    });
  });

  // ---------------------------------------------------------------- back office
  /** The ente's redazione (operators and ente admins included); the SAEL admin for the province only. */
  const editorGuard = async (request: FastifyRequest) => {
    if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per continuare.');
    const enteId = (request.params as { enteId: number }).enteId;
    const ente = await getEnte(app.db, enteId);
    if (!ente) throw new HttpError(404, 'Ente non trovato.');
    const ok = hasRole(request.user, 'redazione', enteId) || (ente.kind === 'provincia' && hasRole(request.user, 'sael_admin'));
    if (!ok) throw new HttpError(403, 'Non hai i permessi per le notizie di questo ente.');
  };
  const actor = (request: FastifyRequest) => ({ userId: request.user!.id, actor: `user:${request.user!.id}`, requestId: request.id });
  const boBase = (enteId: number) => `/backoffice/enti/${enteId}/notizie`;
  const enteOf = async (enteId: number) => (await getEnte(app.db, enteId))!;

  app.get('/admin/notizie', async (request, reply) => {
    if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per continuare.');
    if (!hasRole(request.user, 'sael_admin')) throw new HttpError(403, 'Non hai i permessi per questa pagina.');
    const p = await province();
    if (!p) throw new HttpError(404, 'La provincia non è configurata.');
    return reply.redirect(boBase(p.id), 303);
  });

  app.get<{ Params: { enteId: number }; Querystring: { pagina: number } }>(
    '/backoffice/enti/:enteId/notizie',
    { preHandler: editorGuard, schema: { params: enteParams, querystring: boListQuery } },
    async (request, reply) => {
      const ente = await enteOf(request.params.enteId);
      const total = await countEnteNews(app.db, ente.id);
      const pages = Math.max(1, Math.ceil(total / BO_PAGE_SIZE));
      const page = Math.min(request.query.pagina, pages);
      const items = (await listEnteNews(app.db, ente.id, { limit: BO_PAGE_SIZE, offset: (page - 1) * BO_PAGE_SIZE })).map((n) => ({
        ...n,
        statusLabel: STATUS_LABELS[n.status],
        published: n.status === 'published',
      }));
      return reply.page('events/news-bo-list', {
        title: `Notizie – ${ente.name}`,
        ente,
        base: boBase(ente.id),
        items,
        total,
        page,
        pages,
        prev: page > 1 ? `?pagina=${page - 1}` : null,
        next: page < pages ? `?pagina=${page + 1}` : null,
        publicHref: ente.kind === 'comune' ? `/notizie?comune=${ente.ipaCode}` : '/notizie',
        notice: takeFlash(request),
        csrf: true,
      });
    },
  );

  const formPage = async (request: FastifyRequest, reply: FastifyReply, enteId: number, n: NewsRow | null, extra: Record<string, unknown> = {}) => {
    const ente = await enteOf(enteId);
    return reply.page('events/news-bo-form', {
      title: n ? `Notizia: ${n.title}` : 'Nuova notizia',
      ente,
      base: boBase(enteId),
      n: n ? { ...n, statusLabel: STATUS_LABELS[n.status], published: n.status === 'published', draft: n.status === 'draft' } : null,
      action: n ? `${boBase(enteId)}/${n.id}` : boBase(enteId),
      form: n ? { title: n.title, summary: n.summary, body: n.body, version: String(n.version) } : {},
      limits: NEWS_LIMITS,
      notice: takeFlash(request),
      csrf: true,
      ...extra,
    });
  };
  const loadNews = async (enteId: number, id: number) => {
    const n = await getEnteNews(app.db, enteId, id);
    // Another ente's item under this ente's address: not found (no hint that it exists).
    if (!n) throw new HttpError(404, 'Notizia non trovata.');
    return n;
  };

  app.get<{ Params: { enteId: number } }>('/backoffice/enti/:enteId/notizie/nuova', { preHandler: editorGuard, schema: { params: enteParams } }, async (request, reply) =>
    await formPage(request, reply, request.params.enteId, null),
  );

  app.post<{ Params: { enteId: number }; Body: NewsForm }>(
    '/backoffice/enti/:enteId/notizie',
    { preHandler: editorGuard, schema: { params: enteParams, body: newsBody } },
    async (request, reply) => {
      const { enteId } = request.params;
      const errors = checkNewsForm(request.body);
      if (Object.keys(errors).length) return await formPage(request, reply.code(400), enteId, null, { errors, form: request.body });
      const publish = request.body.publish === '1';
      const n = await createNews(app.db, enteId, newsInput(request.body), actor(request), { now: now(), publish });
      setFlash(request, publish ? 'Notizia pubblicata: è visibile a tutti.' : 'Bozza salvata: pubblicala quando è pronta.');
      return reply.redirect(`${boBase(enteId)}/${n.id}`, 303);
    },
  );

  app.get<{ Params: { enteId: number; id: number } }>('/backoffice/enti/:enteId/notizie/:id', { preHandler: editorGuard, schema: { params: enteIdParams } }, async (request, reply) =>
    await formPage(request, reply, request.params.enteId, await loadNews(request.params.enteId, request.params.id)),
  );

  const conflictPage = async (request: FastifyRequest, reply: FastifyReply, enteId: number, current: NewsRow, form?: NewsForm) =>
    await formPage(request, reply.code(409), enteId, current, {
            conflict: new NewsConflictError().message,
            // The text the user typed stays in the form, on top of the current version number.
            form: form ? { ...form, version: String(current.version) } : undefined,
          });

  app.post<{ Params: { enteId: number; id: number }; Body: NewsForm }>(
    '/backoffice/enti/:enteId/notizie/:id',
    { preHandler: editorGuard, schema: { params: enteIdParams, body: newsBody } },
    async (request, reply) => {
      const { enteId, id } = request.params;
      const n = await loadNews(enteId, id);
      const errors = checkNewsForm(request.body);
      if (Object.keys(errors).length) return await formPage(request, reply.code(400), enteId, n, { errors, form: request.body });
      const version = Number(request.body.version || 0);
      try {
        await updateNews(app.db, enteId, id, version, newsInput(request.body), actor(request), now());
      } catch (e) {
        if (e instanceof NewsConflictError) return await conflictPage(request, reply, enteId, await loadNews(enteId, id), request.body);
        throw e;
      }
      setFlash(request, n.status === 'published' ? 'Notizia salvata: la versione pubblica è aggiornata.' : 'Notizia salvata.');
      return reply.redirect(`${boBase(enteId)}/${id}`, 303);
    },
  );

  for (const [slug, status, message] of [
    ['pubblica', 'published', 'Notizia pubblicata: è visibile a tutti.'],
    ['ritira', 'unpublished', 'Notizia ritirata: non è più visibile al pubblico.'],
  ] as const) {
    app.post<{ Params: { enteId: number; id: number }; Body: { version: string } }>(
      `/backoffice/enti/:enteId/notizie/:id/${slug}`,
      { preHandler: editorGuard, schema: { params: enteIdParams, body: versionBody } },
      async (request, reply) => {
        const { enteId, id } = request.params;
        const n = await loadNews(enteId, id);
        if (n.status === status) {
          return await formPage(request, reply.code(409), enteId, n, { conflict: status === 'published' ? 'La notizia è già pubblicata.' : 'La notizia è già ritirata.' });
        }
        try {
          await setNewsStatus(app.db, enteId, id, Number(request.body.version), status, actor(request), now());
        } catch (e) {
          if (e instanceof NewsConflictError) return await conflictPage(request, reply, enteId, await loadNews(enteId, id));
          throw e;
        }
        setFlash(request, message);
        return reply.redirect(`${boBase(enteId)}/${id}`, 303);
      },
    );
  }

  app.post<{ Params: { enteId: number; id: number }; Body: { version: string } }>(
    '/backoffice/enti/:enteId/notizie/:id/elimina',
    { preHandler: editorGuard, schema: { params: enteIdParams, body: versionBody } },
    async (request, reply) => {
      const { enteId, id } = request.params;
      const n = await loadNews(enteId, id);
      if (n.status !== 'draft') {
        return await formPage(request, reply.code(409), enteId, n, { conflict: 'Si possono eliminare solo le bozze mai pubblicate: una notizia pubblicata si ritira.' });
      }
      try {
        await deleteDraftNews(app.db, enteId, id, Number(request.body.version), actor(request));
      } catch (e) {
        if (e instanceof NewsConflictError) return await conflictPage(request, reply, enteId, await loadNews(enteId, id));
        throw e;
      }
      setFlash(request, `Bozza «${n.title}» eliminata.`);
      return reply.redirect(boBase(enteId), 303);
    },
  );
}
