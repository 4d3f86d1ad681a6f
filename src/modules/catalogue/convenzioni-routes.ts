/**
 * Convenzioni pages. SAEL office (sael_admin; helpdesk reads): `/admin/catalogo/convenzioni`
 * (filter by state and ente), `/nuova`, `/:id` (sign, upload the signed PDF, put in force,
 * recesso), `/:id/documento.pdf`. The ente (its operators and referenti): read-only
 * `/backoffice/enti/:enteId/convenzione` with the signed PDF to download.
 */
import { enteReaderGuard, enteParams } from './ente-guard.js';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasRole, requireRole } from '../../plugins/auth.js';
import { auditContext } from '../../plugins/audit/index.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { getEnte, listEnti } from '../enti/repository.js';
import { todayInItaly } from '../positions/service.js';
import {
  ACT_KINDS,
  attachSignedPdf,
  CONVENZIONE_ACTION_LABELS,
  CONVENZIONE_PDF_MAX_BYTES,
  CONVENZIONE_STATUS_BADGES,
  CONVENZIONE_STATUS_LABELS,
  convenzioneTransition,
  createConvenzione,
  effectiveEnd,
  getConvenzione,
  listConvenzioni,
  NotAPdfError,
  PdfTooLargeError,
  storeSignedPdf,
  validateConvenzioneInput,
  type ActKind,
  type CatalogueActor,
  type ConvenzioneAction,
  type ConvenzioneWithEnte,
} from './convenzioni-repository.js';
import { CONVENZIONE_STATUSES, type ConvenzioneStatus } from './schema.js';

const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;
const enteDocParams = {
  type: 'object',
  properties: { enteId: { type: 'integer', minimum: 1 }, id: { type: 'integer', minimum: 1 } },
  required: ['enteId', 'id'],
} as const;
const dateField = { type: 'string', maxLength: 10 } as const;

export function actorOf(request: FastifyRequest): CatalogueActor {
  const a = auditContext(request);
  return { actor: a.actor, requestId: a.requestId, userId: request.user?.id ?? null };
}

/** A convenzione for the pages: labels, badge, effective end. */
export function convenzioneView(c: ConvenzioneWithEnte) {
  return {
    ...c,
    statusLabel: CONVENZIONE_STATUS_LABELS[c.status],
    statusBadge: CONVENZIONE_STATUS_BADGES[c.status],
    actLabel: ACT_KINDS[c.actKind as ActKind] ?? c.actKind,
    effectiveEnd: effectiveEnd(c),
    withdrawalPending: Boolean(c.withdrawalDate) && c.status === 'in_force',
  };
}

function sendPdf(app: FastifyInstance, reply: FastifyReply, c: ConvenzioneWithEnte) {
  if (!c.signedPdfPath || !c.signedPdfSha256) throw new HttpError(404, 'Il documento firmato non è stato ancora caricato.');
  const full = path.join(app.config.dataDir, c.signedPdfPath);
  if (!fs.existsSync(full)) throw new HttpError(404, 'Il documento firmato non è disponibile.');
  const name = (c.signedPdfName || `convenzione-${c.id}.pdf`).replace(/[^\w.\- ]+/g, '_');
  return reply
    .type('application/pdf')
    .header('content-disposition', `attachment; filename="${name}"`)
    .header('x-content-sha256', c.signedPdfSha256)
    .send(fs.createReadStream(full));
}

export default async function convenzioniRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.catalogue;
  const saelAdmin = requireRole('sael_admin');
  const saelReader = requireRole(['sael_admin', 'helpdesk']);
  const enteReader = enteReaderGuard(app.db);

  const comuni = async (selected?: number) => (await listEnti(app.db, { kind: 'comune' })).map((e) => ({ id: e.id, name: e.name, member: e.member, selected: e.id === selected }));

  // ------------------------------------------------------------ SAEL office
  app.get<{ Querystring: { stato?: ConvenzioneStatus | ''; ente?: number } }>(
    '/admin/catalogo/convenzioni',
    {
      preHandler: saelReader,
      schema: { querystring: { type: 'object', properties: { stato: { type: 'string', enum: ['', ...CONVENZIONE_STATUSES] }, ente: { type: 'integer', minimum: 1 } } } },
    },
    async (request, reply) => {
      const { stato, ente } = request.query;
      const rows = (await listConvenzioni(app.db, { status: stato || undefined, enteId: ente })).map(convenzioneView);
      return reply.page('catalogue/convenzioni-list', {
        title: 'Convenzioni',
        rows,
        statuses: CONVENZIONE_STATUSES.map((s) => ({ value: s, label: CONVENZIONE_STATUS_LABELS[s], selected: s === stato })),
        enti: await comuni(ente),
        canEdit: hasRole(request.user, 'sael_admin'),
        notice: takeFlash(request),
      });
    },
  );

  const formPage = async (reply: FastifyReply, values: Record<string, unknown>, errors: Record<string, string> = {}) =>
    reply.page('catalogue/convenzioni-form', {
      title: 'Nuova convenzione',
      values,
      errors,
      hasErrors: Object.keys(errors).length > 0,
      errorList: Object.values(errors),
      enti: await comuni(Number(values.enteId) || undefined),
      actKinds: Object.entries(ACT_KINDS).map(([value, label]) => ({ value, label, selected: value === values.actKind })),
    });

  app.get('/admin/catalogo/convenzioni/nuova', { preHandler: saelAdmin }, async (_request, reply) => {
    const today = todayInItaly(ctx.now());
    return await formPage(reply, { startDate: today, actKind: 'delibera' });
  });

  interface NewBody {
    enteId: string;
    actKind: string;
    actNumber: string;
    actDate: string;
    startDate: string;
    endDate: string;
    notes?: string;
  }
  app.post<{ Body: NewBody }>(
    '/admin/catalogo/convenzioni',
    {
      preHandler: saelAdmin,
      schema: {
        body: {
          type: 'object',
          required: ['enteId', 'actKind', 'actNumber', 'actDate', 'startDate', 'endDate'],
          properties: {
            _csrf: { type: 'string' },
            enteId: { type: 'string', maxLength: 10 },
            actKind: { type: 'string', maxLength: 20 },
            actNumber: { type: 'string', maxLength: 40 },
            actDate: dateField,
            startDate: dateField,
            endDate: dateField,
            notes: { type: 'string', maxLength: 2000 },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const enteId = /^\d{1,9}$/.test(b.enteId) ? Number(b.enteId) : 0;
      const input = { enteId, actKind: b.actKind as ActKind, actNumber: b.actNumber, actDate: b.actDate, startDate: b.startDate, endDate: b.endDate, notes: b.notes ?? null };
      const errors = validateConvenzioneInput(input);
      if (!enteId || !await getEnte(app.db, enteId)) errors.enteId = 'Scegli l’ente.';
      if (Object.keys(errors).length > 0) return await formPage(reply.code(400), { ...b }, errors);
      const id = await createConvenzione(ctx, input, actorOf(request));
      setFlash(request, 'Convenzione registrata in bozza. Caricala firmata in PDF, poi segnala come sottoscritta e mettila in vigore.');
      return reply.redirect(`/admin/catalogo/convenzioni/${id}`, 303);
    },
  );

  app.get<{ Params: { id: number } }>('/admin/catalogo/convenzioni/:id', { preHandler: saelReader, schema: { params: idParams } }, async (request, reply) => {
    const c = await getConvenzione(app.db, request.params.id);
    if (!c) throw new HttpError(404, 'Convenzione non trovata.');
    return detailPage(request, reply, c);
  });

  function detailPage(request: FastifyRequest, reply: FastifyReply, c: ConvenzioneWithEnte, extra: Record<string, unknown> = {}) {
    const today = todayInItaly(ctx.now());
    const canEdit = hasRole(request.user, 'sael_admin');
    return reply.page('catalogue/convenzioni-detail', {
      title: `Convenzione n. ${c.id} – ${c.enteName}`,
      c: convenzioneView(c),
      canEdit,
      canUpload: canEdit && (c.status === 'draft' || c.status === 'signed'),
      canSign: canEdit && c.status === 'draft',
      canPutInForce: canEdit && c.status === 'signed',
      canWithdraw: canEdit && (c.status === 'signed' || c.status === 'in_force') && !c.withdrawalDate,
      labels: CONVENZIONE_ACTION_LABELS,
      today,
      maxMb: Math.round(CONVENZIONE_PDF_MAX_BYTES / 1048576),
      notice: takeFlash(request),
      ...extra,
    });
  }

  app.post<{ Params: { id: number }; Body: { action: ConvenzioneAction; withdrawalDate?: string; note?: string } }>(
    '/admin/catalogo/convenzioni/:id/azioni',
    {
      preHandler: saelAdmin,
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['action'],
          properties: { _csrf: { type: 'string' }, action: { type: 'string', enum: ['sign', 'put_in_force', 'withdraw'] }, withdrawalDate: dateField, note: { type: 'string', maxLength: 2000 } },
        },
      },
    },
    async (request, reply) => {
      const { action, withdrawalDate, note } = request.body;
      const today = todayInItaly(ctx.now());
      const to = await convenzioneTransition(ctx, request.params.id, action, actorOf(request), today, { withdrawalDate: withdrawalDate || undefined, note });
      setFlash(
        request,
        action === 'withdraw' && to !== 'withdrawn'
          ? `Recesso registrato: la convenzione resta in vigore fino al giorno precedente la data di effetto.`
          : `Convenzione: stato «${CONVENZIONE_STATUS_LABELS[to]}».`,
      );
      return reply.redirect(`/admin/catalogo/convenzioni/${request.params.id}`, 303);
    },
  );

  app.post<{ Params: { id: number } }>(
    '/admin/catalogo/convenzioni/:id/documento',
    { preHandler: saelAdmin, config: { upload: true }, schema: { params: idParams } },
    async (request, reply) => {
      const c = await getConvenzione(app.db, request.params.id);
      if (!c) throw new HttpError(404, 'Convenzione non trovata.');
      const fail = (status: number, message: string) => detailPage(request, reply.code(status), c, { uploadError: message });
      if (!request.isMultipart()) return fail(400, 'Invia il file con il modulo di caricamento.');
      let stored: { path: string; sha256: string; bytes: number } | null = null;
      let name = '';
      try {
        for await (const part of request.parts({ limits: { fileSize: CONVENZIONE_PDF_MAX_BYTES + 1 } })) {
          if (part.type !== 'file') continue;
          if (stored || part.filename === '') {
            part.file.resume();
            continue;
          }
          name = part.filename.slice(0, 200);
          stored = await storeSignedPdf(app.config.dataDir, part.file, CONVENZIONE_PDF_MAX_BYTES);
        }
      } catch (err) {
        if (err instanceof NotAPdfError) return fail(415, err.message);
        if (err instanceof PdfTooLargeError || (err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') return fail(413, new PdfTooLargeError(CONVENZIONE_PDF_MAX_BYTES).message);
        throw err;
      }
      if (!stored || stored.bytes === 0) return fail(400, 'Scegli il file PDF della convenzione firmata.');
      await attachSignedPdf(ctx, c.id, { path: stored.path, name: name || `convenzione-${c.id}.pdf`, sha256: stored.sha256 }, actorOf(request));
      setFlash(request, `Documento firmato caricato (SHA-256 ${stored.sha256}).`);
      return reply.redirect(`/admin/catalogo/convenzioni/${c.id}`, 303);
    },
  );

  app.get<{ Params: { id: number } }>('/admin/catalogo/convenzioni/:id/documento.pdf', { preHandler: saelReader, schema: { params: idParams } }, async (request, reply) => {
    const c = await getConvenzione(app.db, request.params.id);
    if (!c) throw new HttpError(404, 'Convenzione non trovata.');
    return sendPdf(app, reply, c);
  });

  // ------------------------------------------------------------ the ente
  app.get<{ Params: { enteId: number } }>('/backoffice/enti/:enteId/convenzione', { preHandler: enteReader, schema: { params: enteParams } }, async (request, reply) => {
    const ente = (await getEnte(app.db, request.params.enteId))!;
    const all = (await listConvenzioni(app.db, { enteId: ente.id })).filter((c) => c.status !== 'draft').map(convenzioneView);
    const current = all.find((c) => c.status === 'in_force') ?? all[0] ?? null;
    return reply.page('catalogue/convenzioni-ente', {
      title: `Convenzione – ${ente.name}`,
      ente,
      current,
      others: all.filter((c) => c !== current),
    });
  });

  app.get<{ Params: { enteId: number; id: number } }>(
    '/backoffice/enti/:enteId/convenzione/:id/documento.pdf',
    { preHandler: enteReader, schema: { params: enteDocParams } },
    async (request, reply) => {
      const c = await getConvenzione(app.db, request.params.id);
      if (!c || c.enteId !== request.params.enteId || c.status === 'draft') throw new HttpError(404, 'Convenzione non trovata.');
      return sendPdf(app, reply, c);
    },
  );
}
