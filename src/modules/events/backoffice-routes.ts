/**
 * Publishing events (part A of #17). The ente's editorial staff (role `redazione`; its operators
 * and ente admins too) work under `/backoffice/enti/:enteId/eventi`: list with filters, new event,
 * detail (preview, occurrences, history, actions), edit, publish / unpublish / cancel / delete a
 * draft. An ente the user has no role in is 403; an event of another ente is 404. The event form is
 * multipart (the picture travels with the fields): its text fields are checked against a JSON
 * schema (validation.ts), the picture by its bytes (images.ts). `/backoffice/redazione` lists the
 * enti the user edits. The picture variants are served at `/eventi/immagini/:imageKey/:width.webp`.
 */
import fs from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditContext } from '../../plugins/audit/index.js';
import { entiWithRole, hasRole, requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { actorLabel, loadActorNames, pageParam, pageWithin } from '../backoffice/shared.js';
import { enteFromParams, enteIdParams, enteParams } from '../catalogue/ente-guard.js';
import { getEnte } from '../enti/repository.js';
import { listCategories } from './categories.js';
import { EventImageError, IMAGE_KEY_PATTERN, IMAGE_WIDTHS, imageSrcset, imageVariants, storeEventImage, sweepOrphanImages, variantPath, type StoredImage } from './images.js';
import { computeOccurrences } from './occurrences.js';
import {
  changeEventStatus,
  createEvent,
  deleteDraftEvent,
  EVENT_ACTION_LABELS,
  EVENT_STATUS_BADGES,
  EVENT_STATUS_LABELS,
  EventConflictError,
  eventHistory,
  getEnteEvent,
  listEvents,
  referencedImageKeys,
  updateEvent,
  type EventListRow,
  type EventsActor,
  type ImageChange,
} from './repository.js';
import { EVENT_STATUSES, type EventStatus } from './schema.js';
import { EVENT_FORM_MAX_FIELDS, eventFormShapeError, eventToForm, MAX_LINKS, parseEventForm, parseLinks, type EventFormFields } from './validation.js';
import { describeWhen } from './when.js';

const PAGE_SIZE = 25;
/** Occurrences listed on the detail page (the rest are counted). */
const OCCURRENCES_SHOWN = 12;

const HISTORY_LABELS: Record<string, string> = {
  'event.create': 'Creato in bozza',
  'event.create_publish': 'Creato e pubblicato',
  'event.update': 'Modificato',
  'event.update_publish': 'Modificato e pubblicato',
  'event.publish': 'Pubblicato',
  'event.unpublish': 'Ritirato dalla pubblicazione',
  'event.cancel': 'Annullato',
  'event.feature': 'Messo in evidenza sulla home della Provincia',
  'event.unfeature': 'Tolto dall’evidenza sulla home',
};

export function actorOf(request: FastifyRequest): EventsActor {
  const a = auditContext(request);
  return { actor: a.actor, requestId: a.requestId, userId: request.user?.id ?? null };
}

/** An event as the back office pages show it. */
export function eventView(e: EventListRow) {
  return {
    ...e,
    statusLabel: EVENT_STATUS_LABELS[e.status],
    statusBadge: EVENT_STATUS_BADGES[e.status],
    when: describeWhen(e),
    linkList: parseLinks(e.links),
    paragraphs: e.body ? e.body.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean) : [],
    image: imageVariants(e)[0] ?? null,
    srcset: imageSrcset(e),
    publicUrl: `/eventi/${e.id}`,
  };
}

interface ReadForm {
  fields: EventFormFields;
  file: Buffer | null;
  /** Set when the upload could not be read (too large): a message for the form. */
  fileError?: { status: number; message: string };
}

/** Reads the multipart event form: its text fields and the picture (at most `maxBytes`). */
async function readEventForm(request: FastifyRequest, maxBytes: number): Promise<ReadForm> {
  if (!request.isMultipart()) throw new HttpError(415, 'Invia l’evento con il modulo della pagina (multipart/form-data).');
  const fields: Record<string, string> = {};
  let file: Buffer | null = null;
  try {
    for await (const part of request.parts({ limits: { fileSize: maxBytes, files: 1, fields: EVENT_FORM_MAX_FIELDS + 5, fieldSize: 25_000 } })) {
      if (part.type === 'file') {
        if (part.fieldname !== 'image' || part.filename === '' || file) {
          part.file.resume();
          continue;
        }
        file = await part.toBuffer();
        if (file.length === 0) file = null;
      } else if (typeof part.value === 'string' && !(part.fieldname in fields)) {
        fields[part.fieldname] = part.value;
      }
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') {
      return { fields, file: null, fileError: { status: 413, message: `L’immagine supera la dimensione massima di ${(maxBytes / 1_000_000).toLocaleString('it-IT', { maximumFractionDigits: 1 })} MB.` } };
    }
    if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT') throw new HttpError(400, 'Il modulo inviato ha troppi campi: ricarica la pagina e riprova.');
    throw err;
  }
  return { fields, file };
}

export default async function backofficeRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.events;
  const editor = requireRole('redazione', { ente: enteFromParams(app.db) });
  const imagesDir = app.config.events.imagesDir;
  const maxBytes = app.config.events.imageMaxBytes;
  const base = (enteId: number) => `/backoffice/enti/${enteId}/eventi`;

  // At start: picture folders left by a crash between storing a picture and saving its event.
  app.addHook('onReady', async () => {
    const removed = sweepOrphanImages(imagesDir, await referencedImageKeys(app.db), ctx.now());
    if (removed > 0) app.log.info({ removed }, 'events: orphan picture folders removed');
  });

  async function loadEvent(request: FastifyRequest): Promise<EventListRow> {
    const { enteId, id } = request.params as { enteId: number; id: number };
    const e = await getEnteEvent(app.db, enteId, id);
    if (!e) throw new HttpError(404, 'Evento non trovato per questo ente.');
    return e;
  }

  // ------------------------------------------------------------ the editor's enti
  app.get('/backoffice/redazione', async (request, reply) => {
    if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per continuare.');
    const ids = entiWithRole(request.user, 'redazione');
    if (ids.length === 1) return reply.redirect(base(ids[0]!));
    const enti = (await Promise.all(ids.map(async (id) => (await getEnte(app.db, id))!))).sort((a, b) => a.name.localeCompare(b.name, 'it'));
    return reply.page('events/bo-home', { title: 'Redazione', enti });
  });

  // ------------------------------------------------------------ list
  app.get<{ Params: { enteId: number }; Querystring: { stato?: EventStatus | ''; q?: string; page: number } }>(
    '/backoffice/enti/:enteId/eventi',
    {
      preHandler: editor,
      schema: {
        params: enteParams,
        querystring: {
          type: 'object',
          properties: { stato: { type: 'string', enum: ['', ...EVENT_STATUSES] }, q: { type: 'string', maxLength: 100 }, page: pageParam },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const ente = (await getEnte(app.db, request.params.enteId))!;
      const { stato, q } = request.query;
      const filter = { enteId: ente.id, status: stato || undefined, q: q?.trim() || undefined, pageSize: PAGE_SIZE };
      const first = await listEvents(app.db, { ...filter, page: request.query.page });
      const { page, pages, pastTheEnd } = pageWithin(request.query.page, first.total, PAGE_SIZE);
      const { rows, total } = pastTheEnd ? await listEvents(app.db, { ...filter, page }) : first;
      const link = (p: number) => `${base(ente.id)}?${new URLSearchParams({ ...(stato ? { stato } : {}), ...(q ? { q } : {}), page: String(p) })}`;
      return reply.page('events/bo-list', {
        title: `Eventi – ${ente.name}`,
        ente,
        rows: rows.map(eventView),
        total,
        page,
        pages,
        prev: page > 1 ? link(page - 1) : null,
        next: page < pages ? link(page + 1) : null,
        filter: { q: q ?? '' },
        statuses: EVENT_STATUSES.map((s) => ({ value: s, label: EVENT_STATUS_LABELS[s], selected: s === stato })),
        notice: takeFlash(request),
      });
    },
  );

  // ------------------------------------------------------------ form
  async function formPage(
    reply: FastifyReply,
    ente: { id: number; name: string },
    values: EventFormFields,
    opts: { event?: EventListRow; errors?: Record<string, string>; error?: string } = {},
  ) {
    const errors = opts.errors ?? {};
    const categories = (await listCategories(app.db)).filter((c) => c.active || c.id === opts.event?.categoryId);
    const e = opts.event;
    return reply.page('events/bo-form', {
      title: e ? `Modifica: ${e.title}` : 'Nuovo evento',
      ente,
      event: e ? eventView(e) : null,
      action: e ? `${base(ente.id)}/${e.id}` : base(ente.id),
      values,
      errors,
      error: opts.error,
      errorList: Object.values(errors),
      hasErrors: Object.keys(errors).length > 0,
      categories: categories.map((c) => ({ id: c.id, name: c.name, selected: String(c.id) === values.categoryId })),
      links: Array.from({ length: MAX_LINKS }, (_, i) => ({
        labelName: `link${i + 1}Label`,
        urlName: `link${i + 1}Url`,
        labelText: `Testo del collegamento ${i + 1}`,
        urlText: `Indirizzo del collegamento ${i + 1}`,
        label: values[`link${i + 1}Label`] ?? '',
        url: values[`link${i + 1}Url`] ?? '',
        labelError: errors[`link${i + 1}Label`],
        urlError: errors[`link${i + 1}Url`],
      })),
      paid: values.price === 'paid',
      weekly: values.recurrence === 'weekly',
      allDay: values.allDay === 'on',
      maxMb: (maxBytes / 1_000_000).toLocaleString('it-IT', { maximumFractionDigits: 1 }),
      widths: IMAGE_WIDTHS.join(', '),
      isPublished: e?.status === 'published',
    });
  }

  app.get<{ Params: { enteId: number } }>('/backoffice/enti/:enteId/eventi/nuovo', { preHandler: editor, schema: { params: enteParams } }, async (request, reply) => {
    const ente = (await getEnte(app.db, request.params.enteId))!;
    return formPage(reply, ente, { recurrence: 'none', price: 'free' });
  });

  /** Reads and checks the form; on a problem answers with the form again (returns null). */
  async function acceptForm(
    request: FastifyRequest,
    reply: FastifyReply,
    ente: { id: number; name: string },
    event: EventListRow | undefined,
  ): Promise<{ fields: EventFormFields; input: NonNullable<ReturnType<typeof parseEventForm>['input']>; image: StoredImage | null; removeImage: boolean } | FastifyReply> {
    const form = await readEventForm(request, maxBytes);
    const shape = eventFormShapeError(form.fields);
    if (shape) throw new HttpError(400, shape);
    const fields = form.fields;
    const values = { ...fields, version: event ? String(event.version) : '' };
    if (form.fileError) return formPage(reply.code(form.fileError.status), ente, values, { event, errors: { image: form.fileError.message } });
    const removeImage = fields.removeImage === 'on';
    const hasImage = form.file !== null || (Boolean(event?.imageKey) && !removeImage);
    const active = (await listCategories(app.db)).filter((c) => c.active || c.id === event?.categoryId);
    const parsed = parseEventForm(fields, { categoryIds: new Set(active.map((c) => c.id)), hasImage });
    if (!parsed.input) {
      const errors = { ...parsed.errors };
      if (form.file) errors.image = 'Correggi gli altri campi e scegli di nuovo l’immagine: per sicurezza non è stata conservata.';
      return formPage(reply.code(400), ente, values, { event, errors });
    }
    let image: StoredImage | null = null;
    if (form.file) {
      try {
        image = await storeEventImage(imagesDir, form.file, maxBytes);
      } catch (err) {
        if (err instanceof EventImageError) return formPage(reply.code(err.status), ente, values, { event, errors: { image: err.message } });
        throw err;
      }
    }
    return { fields, input: parsed.input, image, removeImage };
  }

  app.post<{ Params: { enteId: number } }>('/backoffice/enti/:enteId/eventi', { preHandler: editor, config: { upload: true }, schema: { params: enteParams } }, async (request, reply) => {
    const ente = (await getEnte(app.db, request.params.enteId))!;
    const accepted = await acceptForm(request, reply, ente, undefined);
    if (!('input' in accepted)) return accepted;
    const publish = accepted.fields.action === 'publish';
    const e = await createEvent(ctx, ente.id, accepted.input, { image: accepted.image, publish }, actorOf(request));
    setFlash(request, publish ? 'Evento creato e pubblicato: è visibile ai cittadini e chi segue il comune o la categoria riceverà un avviso.' : 'Evento salvato in bozza: pubblicalo quando è pronto.');
    return reply.redirect(`${base(ente.id)}/${e.id}`, 303);
  });

  // ------------------------------------------------------------ detail
  app.get<{ Params: { enteId: number; id: number } }>('/backoffice/enti/:enteId/eventi/:id', { preHandler: editor, schema: { params: enteIdParams } }, async (request, reply) => {
    const e = await loadEvent(request);
    return detailPage(request, reply, e);
  });

  async function detailPage(request: FastifyRequest, reply: FastifyReply, e: EventListRow, extra: Record<string, unknown> = {}) {
    const ente = (await getEnte(app.db, e.enteId))!;
    const occurrences = computeOccurrences(e);
    const history = await eventHistory(app.db, e.id);
    const names = await loadActorNames(app.db, history.map((h) => h.actor));
    return reply.page('events/bo-detail', {
      title: e.title,
      ente,
      event: eventView(e),
      occurrences: occurrences.slice(0, OCCURRENCES_SHOWN).map((o) => ({ ...o, when: describeWhen({ ...e, ...o, recurrence: 'none', recurrenceUntil: null }) })),
      moreOccurrences: Math.max(0, occurrences.length - OCCURRENCES_SHOWN),
      occurrenceCount: occurrences.length,
      history: history.map((h) => ({ at: h.at, label: HISTORY_LABELS[h.action] ?? h.action, by: actorLabel(h.actor, names) })),
      canEdit: e.status !== 'cancelled',
      canPublish: e.status === 'draft' || e.status === 'unpublished',
      canUnpublish: e.status === 'published' || e.status === 'cancelled',
      canCancel: e.status === 'published',
      canDelete: e.status === 'draft' && !e.firstPublishedAt,
      labels: EVENT_ACTION_LABELS,
      isAdmin: hasRole(request.user, 'sael_admin'),
      notice: takeFlash(request),
      ...extra,
    });
  }

  // ------------------------------------------------------------ edit
  app.get<{ Params: { enteId: number; id: number } }>('/backoffice/enti/:enteId/eventi/:id/modifica', { preHandler: editor, schema: { params: enteIdParams } }, async (request, reply) => {
    const e = await loadEvent(request);
    if (e.status === 'cancelled') throw new HttpError(409, 'L’evento è annullato: non si modifica più.');
    const ente = (await getEnte(app.db, e.enteId))!;
    return formPage(reply, ente, eventToForm(e), { event: e });
  });

  app.post<{ Params: { enteId: number; id: number } }>(
    '/backoffice/enti/:enteId/eventi/:id',
    { preHandler: editor, config: { upload: true }, schema: { params: enteIdParams } },
    async (request, reply) => {
      const e = await loadEvent(request);
      const ente = (await getEnte(app.db, e.enteId))!;
      const accepted = await acceptForm(request, reply, ente, e);
      if (!('input' in accepted)) return accepted;
      const version = /^\d{1,9}$/.test(accepted.fields.version ?? '') ? Number(accepted.fields.version) : -1;
      const image: ImageChange = accepted.image ? { kind: 'set', image: accepted.image } : accepted.removeImage ? { kind: 'remove' } : { kind: 'keep' };
      const publish = accepted.fields.action === 'publish';
      try {
        await updateEvent(ctx, ente.id, e.id, version, accepted.input, image, actorOf(request), { publish });
      } catch (err) {
        if (err instanceof EventConflictError) {
          return formPage(reply.code(409), ente, { ...accepted.fields, version: String(e.version) }, { event: e, error: err.message });
        }
        throw err;
      }
      setFlash(request, publish && e.status !== 'published' ? 'Modifiche salvate ed evento pubblicato.' : 'Modifiche salvate.');
      return reply.redirect(`${base(ente.id)}/${e.id}`, 303);
    },
  );

  // ------------------------------------------------------------ actions
  app.post<{ Params: { enteId: number; id: number }; Body: { action: 'publish' | 'unpublish' | 'cancel' | 'delete'; version: string; reason?: string } }>(
    '/backoffice/enti/:enteId/eventi/:id/azioni',
    {
      preHandler: editor,
      schema: {
        params: enteIdParams,
        body: {
          type: 'object',
          required: ['action', 'version'],
          properties: {
            _csrf: { type: 'string' },
            action: { type: 'string', enum: ['publish', 'unpublish', 'cancel', 'delete'] },
            version: { type: 'string', pattern: '^\\d{1,9}$' },
            reason: { type: 'string', maxLength: 500 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const e = await loadEvent(request);
      const { action, reason } = request.body;
      const version = Number(request.body.version);
      const by = actorOf(request);
      try {
        if (action === 'delete') {
          await deleteDraftEvent(ctx, e.enteId, e.id, version, by);
          setFlash(request, `Bozza «${e.title}» eliminata.`);
          return reply.redirect(base(e.enteId), 303);
        }
        await changeEventStatus(ctx, e.enteId, e.id, version, action, by, { reason });
      } catch (err) {
        if (err instanceof HttpError && (err.statusCode === 409 || err.statusCode === 400)) {
          return detailPage(request, reply.code(err.statusCode), e, { actionError: err.message, reason: reason ?? '' });
        }
        throw err;
      }
      const done: Record<string, string> = {
        publish: 'Evento pubblicato: è visibile ai cittadini.',
        unpublish: 'Evento ritirato: non è più visibile ai cittadini.',
        cancel: 'Evento annullato: i cittadini lo vedono come «annullato» con il motivo indicato.',
      };
      setFlash(request, done[action] ?? '');
      return reply.redirect(`${base(e.enteId)}/${e.id}`, 303);
    },
  );

  // ------------------------------------------------------------ picture variants (public)
  app.get<{ Params: { imageKey: string; width: number } }>(
    '/eventi/immagini/:imageKey/:width.webp',
    {
      schema: {
        params: {
          type: 'object',
          properties: { imageKey: { type: 'string', pattern: IMAGE_KEY_PATTERN }, width: { type: 'integer', enum: [...IMAGE_WIDTHS] } },
          required: ['imageKey', 'width'],
        },
      },
    },
    async (request, reply) => {
      const file = variantPath(imagesDir, request.params.imageKey, request.params.width);
      const stat = file ? await fs.promises.stat(file).catch(() => null) : null;
      if (!file || !stat?.isFile()) throw new HttpError(404, 'Immagine non trovata.');
      return reply
        .type('image/webp')
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('content-length', stat.size)
        .send(fs.createReadStream(file));
    },
  );
}
