/**
 * The SAEL admin's event pages: `/admin/eventi` (every ente's events, filters, feature one on the
 * province's home or take it off) and `/admin/eventi/categorie` (the macro-categories: create,
 * rename, reorder, deactivate, delete one no event uses). Role `sael_admin` only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { pageParam, pageWithin } from '../backoffice/shared.js';
import { listEnti } from '../enti/repository.js';
import { actorOf, eventView } from './backoffice-routes.js';
import { createCategory, deleteCategory, getCategory, listCategories, listCategoriesWithUse, updateCategory, validateCategoryInput } from './categories.js';
import { EVENT_STATUS_LABELS, listEvents, setEventFeatured } from './repository.js';
import { EVENT_STATUSES, type EventStatus } from './schema.js';

const PAGE_SIZE = 25;
const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;
const categoryBody = {
  type: 'object',
  properties: {
    _csrf: { type: 'string' },
    name: { type: 'string', maxLength: 200 },
    slug: { type: 'string', maxLength: 100 },
    description: { type: 'string', maxLength: 1000 },
    sortOrder: { type: 'string', maxLength: 10 },
    active: { type: 'string', maxLength: 5 },
  },
  additionalProperties: false,
} as const;
type CategoryBody = { name?: string; slug?: string; description?: string; sortOrder?: string; active?: string };

export default async function categoriesRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.events;
  const admin = requireRole('sael_admin');

  // ------------------------------------------------------------ events and the home's featured ones
  type ListQuery = { stato?: EventStatus | ''; ente?: number; categoria?: number; q?: string; evidenza?: '' | '1'; page: number };
  app.get<{ Querystring: ListQuery }>(
    '/admin/eventi',
    {
      preHandler: admin,
      schema: {
        querystring: {
          type: 'object',
          properties: {
            stato: { type: 'string', enum: ['', ...EVENT_STATUSES] },
            ente: { type: 'integer', minimum: 1 },
            categoria: { type: 'integer', minimum: 1 },
            q: { type: 'string', maxLength: 100 },
            evidenza: { type: 'string', enum: ['', '1'] },
            page: pageParam,
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const query = request.query;
      // Without a filter the page shows the published events (those that can be featured).
      const stato = query.stato === undefined ? 'published' : query.stato;
      const filter = {
        status: stato || undefined,
        enteId: query.ente,
        categoryId: query.categoria,
        q: query.q?.trim() || undefined,
        featured: query.evidenza === '1' ? true : undefined,
        pageSize: PAGE_SIZE,
      };
      const first = await listEvents(app.db, { ...filter, page: query.page });
      const { page, pages, pastTheEnd } = pageWithin(query.page, first.total, PAGE_SIZE);
      const { rows, total } = pastTheEnd ? await listEvents(app.db, { ...filter, page }) : first;
      const featured = await listEvents(app.db, { featured: true, status: 'published', pageSize: 50 });
      const params = (p: number) =>
        `/admin/eventi?${new URLSearchParams({
          stato,
          ...(query.ente ? { ente: String(query.ente) } : {}),
          ...(query.categoria ? { categoria: String(query.categoria) } : {}),
          ...(query.q ? { q: query.q } : {}),
          ...(query.evidenza ? { evidenza: query.evidenza } : {}),
          page: String(p),
        })}`;
      const categories = await listCategories(app.db);
      return reply.page('events/admin-events', {
        title: 'Eventi del territorio',
        rows: rows.map(eventView),
        featured: featured.rows.map(eventView),
        total,
        page,
        pages,
        prev: page > 1 ? params(page - 1) : null,
        next: page < pages ? params(page + 1) : null,
        back: request.url,
        filter: { q: query.q ?? '', evidenza: query.evidenza === '1' },
        statuses: EVENT_STATUSES.map((s) => ({ value: s, label: EVENT_STATUS_LABELS[s], selected: s === stato })),
        enti: (await listEnti(app.db))
          .filter((e) => e.kind === 'comune' || e.kind === 'provincia')
          .map((e) => ({ id: e.id, name: e.name, selected: e.id === query.ente })),
        categories: categories.map((c) => ({ id: c.id, name: c.name, selected: c.id === query.categoria })),
        notice: takeFlash(request),
      });
    },
  );

  app.post<{ Params: { id: number }; Body: { featured: '0' | '1'; back?: string } }>(
    '/admin/eventi/:id/evidenza',
    {
      preHandler: admin,
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['featured'],
          properties: { _csrf: { type: 'string' }, featured: { type: 'string', enum: ['0', '1'] }, back: { type: 'string', maxLength: 500 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const featured = request.body.featured === '1';
      const e = await setEventFeatured(ctx, request.params.id, featured, actorOf(request));
      setFlash(request, featured ? `«${e.title}» è in evidenza sulla home della Provincia.` : `«${e.title}» non è più in evidenza.`);
      // Back to the list the admin was on (only our own page, never another site).
      const back = request.body.back ?? '';
      return reply.redirect(/^\/admin\/eventi(\?[^\s]*)?$/.test(back) ? back : '/admin/eventi', 303);
    },
  );

  // ------------------------------------------------------------ categories
  async function listPage(request: FastifyRequest, reply: FastifyReply, extra: { values?: CategoryBody; errors?: Record<string, string>; error?: string } = {}) {
    const rows = await listCategoriesWithUse(app.db);
    const errors = extra.errors ?? {};
    return reply.page('events/admin-categories', {
      title: 'Categorie degli eventi',
      rows,
      values: extra.values ?? {},
      errors,
      error: extra.error,
      hasErrors: Object.keys(errors).length > 0,
      notice: takeFlash(request),
    });
  }

  app.get('/admin/eventi/categorie', { preHandler: admin }, async (request, reply) => listPage(request, reply));

  app.post<{ Body: CategoryBody }>('/admin/eventi/categorie', { preHandler: admin, schema: { body: categoryBody } }, async (request, reply) => {
    const { input, errors } = validateCategoryInput(request.body);
    if (!input) return listPage(request, reply.code(400), { values: request.body, errors });
    try {
      const c = await createCategory(app.db, input, actorOf(request));
      setFlash(request, `Categoria «${c.name}» creata.`);
    } catch (err) {
      if (err instanceof HttpError && err.statusCode === 409) return listPage(request, reply.code(409), { values: request.body, errors: { slug: err.message } });
      throw err;
    }
    return reply.redirect('/admin/eventi/categorie', 303);
  });

  async function editPage(request: FastifyRequest, reply: FastifyReply, id: number, extra: { values?: CategoryBody; errors?: Record<string, string>; error?: string } = {}) {
    const c = (await listCategoriesWithUse(app.db)).find((x) => x.id === id);
    if (!c) throw new HttpError(404, 'Categoria non trovata.');
    const errors = extra.errors ?? {};
    return reply.page('events/admin-category', {
      title: `Categoria: ${c.name}`,
      category: c,
      values: extra.values ?? { name: c.name, slug: c.slug, description: c.description ?? '', sortOrder: String(c.sortOrder), active: c.active ? 'on' : '' },
      errors,
      error: extra.error,
      hasErrors: Object.keys(errors).length > 0,
      canDelete: c.eventCount === 0,
    });
  }

  app.get<{ Params: { id: number } }>('/admin/eventi/categorie/:id', { preHandler: admin, schema: { params: idParams } }, async (request, reply) => editPage(request, reply, request.params.id));

  app.post<{ Params: { id: number }; Body: CategoryBody }>(
    '/admin/eventi/categorie/:id',
    { preHandler: admin, schema: { params: idParams, body: categoryBody } },
    async (request, reply) => {
      const id = request.params.id;
      if (!(await getCategory(app.db, id))) throw new HttpError(404, 'Categoria non trovata.');
      const { input, errors } = validateCategoryInput(request.body);
      if (!input) return editPage(request, reply.code(400), id, { values: request.body, errors });
      try {
        const c = await updateCategory(app.db, id, { ...input, active: request.body.active === 'on' }, actorOf(request));
        setFlash(request, `Categoria «${c.name}» salvata${c.active ? '' : ' (non attiva: i nuovi eventi non possono sceglierla)'}.`);
      } catch (err) {
        if (err instanceof HttpError && err.statusCode === 409) return editPage(request, reply.code(409), id, { values: request.body, errors: { slug: err.message } });
        throw err;
      }
      return reply.redirect('/admin/eventi/categorie', 303);
    },
  );

  app.post<{ Params: { id: number } }>(
    '/admin/eventi/categorie/:id/elimina',
    { preHandler: admin, schema: { params: idParams, body: { type: 'object', properties: { _csrf: { type: 'string' } }, additionalProperties: false } } },
    async (request, reply) => {
      const c = await getCategory(app.db, request.params.id);
      if (!c) throw new HttpError(404, 'Categoria non trovata.');
      try {
        await deleteCategory(app.db, c.id, actorOf(request));
      } catch (err) {
        if (err instanceof HttpError && err.statusCode === 409) return editPage(request, reply.code(409), c.id, { error: err.message });
        throw err;
      }
      setFlash(request, `Categoria «${c.name}» eliminata.`);
      return reply.redirect('/admin/eventi/categorie', 303);
    },
  );
}
