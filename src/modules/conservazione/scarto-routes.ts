/**
 * The scarto pages of the responsabile della conservazione (sael_admin; the helpdesk reads):
 * - `/admin/conservazione/scarto`: PdA past their retention (candidates, selectable by the
 *   sael_admin to propose a list) and every scarto list ever made;
 * - `/admin/conservazione/scarto/:id`: a list's PdA, its history and the forms of its next step:
 *   approve (authorisation reference required), reject (reason), execute.
 * Invalid transitions answer 409 with an Italian message; bad input re-renders the page with 400.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditContext } from '../../plugins/audit/index.js';
import { hasRole, requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { romeDay } from './dates.js';
import {
  actorNames,
  approveScartoList,
  executeScartoList,
  getScartoList,
  listScartoLists,
  proposeScartoList,
  rejectScartoList,
  SCARTO_STATUS_LABELS,
  scartoCandidates,
  ScartoError,
  scartoHistory,
  type ScartoList,
} from './scarto.js';

const STATUS_BADGES: Record<ScartoList['status'], string> = {
  proposed: 'bg-warning',
  approved: 'bg-primary',
  rejected: 'bg-secondary',
  executed: 'bg-dark',
};

const idParam = { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]{1,9}$' } }, required: ['id'], additionalProperties: false } as const;
const csrf = { type: 'string', maxLength: 200 } as const;

function actorOf(request: FastifyRequest) {
  const a = auditContext(request);
  return { actor: a.actor, requestId: a.requestId };
}

function asHttp(e: unknown): never {
  if (e instanceof ScartoError) throw new HttpError(e.statusCode, e.message);
  throw e;
}

export default async function scartoRoutes(app: FastifyInstance): Promise<void> {
  const ctx = () => app.conservazione;
  const readers = requireRole(['sael_admin', 'helpdesk']);
  const adminOnly = requireRole('sael_admin');

  const renderIndex = async (request: FastifyRequest, reply: FastifyReply, error?: string) => {
    const today = romeDay(ctx().now());
    const candidates = await scartoCandidates(ctx(), today);
    const lists = (await listScartoLists(ctx())).map((l) => ({ ...l, statusLabel: SCARTO_STATUS_LABELS[l.status], statusBadge: STATUS_BADGES[l.status] }));
    return reply.page('conservazione/scarto-list', {
      title: 'Conservazione – scarto',
      today,
      candidates,
      lists,
      canEdit: hasRole(request.user, 'sael_admin'),
      notice: takeFlash(request),
      error,
    });
  };

  app.get('/admin/conservazione/scarto', { preHandler: readers }, async (request, reply) => renderIndex(request, reply));

  app.post<{ Body: { _csrf?: string; aip?: string | string[]; note?: string } }>(
    '/admin/conservazione/scarto',
    {
      preHandler: adminOnly,
      schema: {
        body: {
          type: 'object',
          properties: {
            _csrf: csrf,
            aip: { anyOf: [{ type: 'string', pattern: '^[0-9]{1,9}$' }, { type: 'array', maxItems: 5000, items: { type: 'string', pattern: '^[0-9]{1,9}$' } }] },
            note: { type: 'string', maxLength: 4000 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const raw = request.body.aip;
      const aipIds = (raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]).map(Number);
      try {
        const id = await proposeScartoList(ctx(), { aipIds, note: request.body.note ?? '' }, actorOf(request));
        setFlash(request, `Elenco di scarto n. ${id} proposto: registra gli estremi dell’autorizzazione per approvarlo.`);
        return reply.redirect(`/admin/conservazione/scarto/${id}`, 303);
      } catch (e) {
        if (e instanceof ScartoError && e.statusCode === 400) return renderIndex(request, reply.code(400), e.message);
        return asHttp(e);
      }
    },
  );

  const renderDetail = async (request: FastifyRequest, reply: FastifyReply, id: number, error?: { field: 'authorisationRef' | 'note'; message: string }, form: Record<string, string> = {}) => {
    const found = await getScartoList(ctx(), id);
    if (!found) throw new HttpError(404, 'Elenco di scarto non trovato.');
    const { list, items } = found;
    const canEdit = hasRole(request.user, 'sael_admin');
    const names = await actorNames(ctx(), [list.createdBy, list.approvedBy]);
    return reply.page('conservazione/scarto-detail', {
      title: `Conservazione – elenco di scarto n. ${list.id}`,
      list: {
        ...list,
        statusLabel: SCARTO_STATUS_LABELS[list.status],
        statusBadge: STATUS_BADGES[list.status],
        createdByName: names.get(list.createdBy) ?? list.createdBy,
        approvedByName: list.approvedBy ? (names.get(list.approvedBy) ?? list.approvedBy) : null,
      },
      history: await scartoHistory(ctx(), list.id),
      items,
      documents: items.reduce((s, i) => s + i.documents, 0),
      canApprove: canEdit && list.status === 'proposed',
      canExecute: canEdit && list.status === 'approved',
      notice: takeFlash(request),
      error,
      form,
      base: `/admin/conservazione/scarto/${list.id}`,
    });
  };

  app.get<{ Params: { id: string } }>('/admin/conservazione/scarto/:id', { preHandler: readers, schema: { params: idParam } }, async (request, reply) =>
    renderDetail(request, reply, Number(request.params.id)),
  );

  app.post<{ Params: { id: string }; Body: { _csrf?: string; authorisationRef?: string } }>(
    '/admin/conservazione/scarto/:id/approva',
    { preHandler: adminOnly, schema: { params: idParam, body: { type: 'object', properties: { _csrf: csrf, authorisationRef: { type: 'string', maxLength: 1000 } }, additionalProperties: false } } },
    async (request, reply) => {
      const id = Number(request.params.id);
      const ref = request.body.authorisationRef ?? '';
      try {
        await approveScartoList(ctx(), id, { authorisationRef: ref }, actorOf(request));
      } catch (e) {
        if (e instanceof ScartoError && e.statusCode === 400) return renderDetail(request, reply.code(400), id, { field: 'authorisationRef', message: e.message }, { authorisationRef: ref });
        return asHttp(e);
      }
      setFlash(request, `Elenco n. ${id} autorizzato. Lo scarto distrugge i file in modo irreversibile: eseguilo quando l’autorizzazione è definitiva.`);
      return reply.redirect(`/admin/conservazione/scarto/${id}`, 303);
    },
  );

  app.post<{ Params: { id: string }; Body: { _csrf?: string; note?: string } }>(
    '/admin/conservazione/scarto/:id/respingi',
    { preHandler: adminOnly, schema: { params: idParam, body: { type: 'object', properties: { _csrf: csrf, note: { type: 'string', maxLength: 4000 } }, additionalProperties: false } } },
    async (request, reply) => {
      const id = Number(request.params.id);
      const note = request.body.note ?? '';
      try {
        await rejectScartoList(ctx(), id, { note }, actorOf(request));
      } catch (e) {
        if (e instanceof ScartoError && e.statusCode === 400) return renderDetail(request, reply.code(400), id, { field: 'note', message: e.message }, { note });
        return asHttp(e);
      }
      setFlash(request, `Elenco n. ${id} respinto: i suoi PdA tornano fra quelli scartabili.`);
      return reply.redirect(`/admin/conservazione/scarto/${id}`, 303);
    },
  );

  app.post<{ Params: { id: string }; Body: { _csrf?: string } }>(
    '/admin/conservazione/scarto/:id/esegui',
    { preHandler: adminOnly, schema: { params: idParam, body: { type: 'object', properties: { _csrf: csrf }, additionalProperties: false } } },
    async (request, reply) => {
      const id = Number(request.params.id);
      const result = await executeScartoList(ctx(), id, actorOf(request)).catch(asHttp);
      if (result.failed.length) request.log.error({ listId: id, failed: result.failed }, 'scarto: files not destroyed');
      setFlash(
        request,
        `Scarto eseguito: ${result.aips} PdA (${result.documents} documenti) scartati, ${result.destroyed.length} file distrutti` +
          (result.kept.length ? `, ${result.kept.length} file mantenuti perché usati da altri pacchetti` : '') +
          (result.failed.length ? `; ${result.failed.length} file non distrutti: avvisa il supporto tecnico` : '') +
          '.',
      );
      return reply.redirect(`/admin/conservazione/scarto/${id}`, 303);
    },
  );
}
