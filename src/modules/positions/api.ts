/**
 * REST API for comune software: /api/v1/positions…, authenticated by the ente's API key.
 * Every query is scoped to the key's ente; errors are problem+json naming the field with a
 * JSON pointer. POST is idempotent on iupd (same body → 200 with the same position, different
 * body → 409).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireApiKey } from '../../plugins/api-key.js';
import { fieldPathToPointer, HttpError, type FieldError } from '../../plugins/errors.js';
import { getEnte, getServiceByCode, listServices, type Ente } from '../enti/repository.js';
import {
  cancelPosition,
  createPosition,
  getPositionByIupd,
  listPositions,
  PositionConflictError,
  PositionNotFoundError,
  publishPosition,
  updatePosition,
  type PositionDetail,
} from './repository.js';
import { createPositionBody, iupdParams, listQuery, patchPositionBody, positionOut, problemSchema } from './api-schemas.js';
import { preparePositionWrite, type PositionBody } from './service.js';
import { sendNoticePdf } from './notice-reply.js';
import { debtorOut } from './debtor.js';
import { findByNoticeNumber } from './repository.js';
import importsApi from './imports-api.js';
import { withoutSessions } from '../../plugins/sessions/index.js';
import type { PositionStatus } from './schema.js';

const TAG = ['Posizioni debitorie'];
const errorsResponses = { 400: problemSchema, 401: problemSchema, 404: problemSchema, 409: problemSchema, 422: problemSchema };

/** The API shape of a position. */
export function toApiPosition(p: PositionDetail, serviceCode: string) {
  return {
    iupd: p.iupd,
    status: p.status,
    version: p.version,
    serviceCode,
    switchToExpired: p.switchToExpired,
    debtor: debtorOut(p),
    description: p.description,
    validityDate: p.validityDate,
    publishedAt: p.publishedAt,
    cancelledAt: p.cancelledAt,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    paymentOptions: p.options.map((o) => ({
      iuv: o.iuv,
      noticeNumber: o.noticeNumber,
      kind: o.kind,
      plan: o.plan,
      installmentNumber: o.installmentNumber,
      installmentCount: o.installmentCount,
      description: o.description,
      amountCents: o.amountCents,
      dueDate: o.dueDate,
      retentionDate: o.retentionDate,
      status: o.status,
      paidAt: o.paidAt,
      transfers: o.transfers.map((t) => ({
        idTransfer: t.idTransfer,
        fiscalCodePA: t.fiscalCodePA,
        amountCents: t.amountCents,
        iban: t.iban,
        postalIban: t.postalIban,
        stamp: t.stampHashDocument
          ? { hashDocument: t.stampHashDocument, stampType: t.stampType, provincialResidence: t.stampProvincialResidence }
          : null,
        remittanceInformation: t.remittanceInformation,
        taxonomyCode: t.taxonomyCode,
        metadata: t.metadata,
      })),
    })),
  };
}

/** The input shape of an existing position, to merge a PATCH into. */
function toInput(p: PositionDetail, serviceCode: string): PositionBody {
  const api = toApiPosition(p, serviceCode);
  return {
    serviceCode,
    switchToExpired: api.switchToExpired,
    debtor: api.debtor,
    description: api.description,
    validityDate: api.validityDate,
    paymentOptions: api.paymentOptions.map((o) => ({
      isInstallment: o.kind === 'installment',
      plan: o.plan ?? undefined,
      installmentNumber: o.installmentNumber ?? undefined,
      description: o.description,
      amountCents: o.amountCents,
      dueDate: o.dueDate,
      retentionDate: o.retentionDate,
      transfers: o.transfers,
    })),
  };
}

function invalid(errors: FieldError[]): HttpError {
  const withPointers = errors.map((e) => ({ ...e, pointer: fieldPathToPointer(e.field) }));
  return new HttpError(422, `Dati non validi: ${errors.map((e) => `${e.field} (${e.message})`).join('; ')}`, withPointers);
}

function mapDomainError(err: unknown): never {
  if (err instanceof PositionConflictError) throw new HttpError(409, err.message);
  if (err instanceof PositionNotFoundError) throw new HttpError(404, err.message);
  throw err;
}

export default async function positionsApi(app: FastifyInstance) {
  withoutSessions(app);
  app.decorateRequest('apiClient', null);
  app.addHook('preHandler', requireApiKey);
  await app.register(importsApi);

  async function clientEnte(request: FastifyRequest): Promise<Ente> {
    return (await getEnte(app.db, request.apiClient!.enteId))!;
  }

  async function serviceCodeOf(enteId: number, serviceId: number): Promise<string> {
    return (await listServices(app.db, enteId)).find((s) => s.id === serviceId)?.code ?? '';
  }

  app.post<{ Body: PositionBody & { publish?: boolean } }>(
    '/positions',
    {
      config: { csrf: false },
      schema: {
        tags: TAG,
        summary: 'Crea una posizione debitoria (idempotente su iupd)',
        security: [{ apiKey: [] }],
        body: createPositionBody,
        response: { 200: positionOut, 201: positionOut, ...errorsResponses },
      },
    },
    async (request, reply) => {
      const ente = await clientEnte(request);
      const prepared = await preparePositionWrite(app.db, ente, request.body);
      if (!prepared.ok) throw invalid(prepared.errors);
      try {
        const { position, created } = await createPosition(app.db, ente, prepared.service, prepared.write, { publish: request.body.publish !== false }, {
                  actor: `apikey:${request.apiClient!.keyId}`,
                  requestId: request.id,
                });
        return reply
          .code(created ? 201 : 200)
          .header('location', `/api/v1/positions/${encodeURIComponent(position.iupd)}`)
          .send(toApiPosition(position, prepared.service.code));
      } catch (err) {
        mapDomainError(err);
      }
    },
  );

  app.get<{ Querystring: { status?: PositionStatus; serviceCode?: string; debtor?: string; dueFrom?: string; dueTo?: string; notice?: string; page: number; pageSize: number } }>(
    '/positions',
    {
      schema: {
        tags: TAG,
        summary: 'Elenca le posizioni dell’ente con filtri e paginazione',
        security: [{ apiKey: [] }],
        querystring: listQuery,
        response: {
          200: {
            type: 'object',
            properties: {
              page: { type: 'integer' },
              pageSize: { type: 'integer' },
              total: { type: 'integer' },
              items: { type: 'array', items: positionOut },
            },
          },
          ...errorsResponses,
        },
      },
    },
    async (request) => {
      const ente = await clientEnte(request);
      const q = request.query;
      let serviceId: number | undefined;
      if (q.serviceCode) {
        const service = await getServiceByCode(app.db, ente.id, q.serviceCode.toUpperCase());
        if (!service) return { page: q.page, pageSize: q.pageSize, total: 0, items: [] };
        serviceId = service.id;
      }
      const { items, total } = await listPositions(app.db, {
              enteIds: [ente.id],
              status: q.status,
              serviceId,
              debtor: q.debtor,
              dueFrom: q.dueFrom,
              dueTo: q.dueTo,
              notice: q.notice,
              page: q.page,
              pageSize: q.pageSize,
            });
      const codes = new Map((await listServices(app.db, ente.id)).map((s) => [s.id, s.code]));
      return { page: q.page, pageSize: q.pageSize, total, items: items.map((p) => toApiPosition(p, codes.get(p.serviceId) ?? '')) };
    },
  );

  app.get<{ Params: { iupd: string } }>(
    '/positions/:iupd',
    {
      schema: { tags: TAG, summary: 'Legge una posizione', security: [{ apiKey: [] }], params: iupdParams, response: { 200: positionOut, ...errorsResponses } },
    },
    async (request) => {
      const ente = await clientEnte(request);
      const p = await getPositionByIupd(app.db, ente.id, request.params.iupd);
      if (!p) throw new HttpError(404, 'Posizione non trovata.');
      return toApiPosition(p, await serviceCodeOf(ente.id, p.serviceId));
    },
  );

  app.patch<{ Params: { iupd: string }; Body: PositionBody & { version?: number } }>(
    '/positions/:iupd',
    {
      config: { csrf: false },
      schema: {
        tags: TAG,
        summary: 'Modifica una posizione (solo i campi inviati; le opzioni pagate non cambiano)',
        security: [{ apiKey: [] }],
        params: iupdParams,
        body: patchPositionBody,
        response: { 200: positionOut, ...errorsResponses },
      },
    },
    async (request) => {
      const ente = await clientEnte(request);
      const current = await getPositionByIupd(app.db, ente.id, request.params.iupd);
      if (!current) throw new HttpError(404, 'Posizione non trovata.');
      const { version, ...changes } = request.body;
      const merged: PositionBody = { ...toInput(current, await serviceCodeOf(ente.id, current.serviceId)), ...changes, iupd: current.iupd };
      const prepared = await preparePositionWrite(app.db, ente, merged);
      if (!prepared.ok) throw invalid(prepared.errors);
      try {
        const updated = await updatePosition(app.db, ente, prepared.service, current.iupd, prepared.write, { expectedVersion: version }, {
                  actor: `apikey:${request.apiClient!.keyId}`,
                  requestId: request.id,
                });
        return toApiPosition(updated, prepared.service.code);
      } catch (err) {
        mapDomainError(err);
      }
    },
  );

  app.get<{ Params: { noticeNumber: string } }>(
    '/notices/:noticeNumber/pdf',
    {
      schema: {
        tags: ['Avvisi di pagamento'],
        summary: 'Avviso di pagamento pagoPA in PDF (con QR code e, se l’ente ha un conto postale, bollettino)',
        security: [{ apiKey: [] }],
        params: { type: 'object', properties: { noticeNumber: { type: 'string', pattern: '^[0-9]{18}$' } }, required: ['noticeNumber'] },
        produces: ['application/pdf'],
        response: { 200: { type: 'string', format: 'binary', description: 'PDF' }, ...errorsResponses },
      },
    },
    async (request, reply) => {
      const ente = await clientEnte(request);
      const found = await findByNoticeNumber(app.db, ente.id, request.params.noticeNumber);
      if (!found) throw new HttpError(404, 'Avviso non trovato per questo ente.');
      return sendNoticePdf(reply, {
        db: app.db,
        dataDir: app.config.dataDir,
        ente,
        position: found.position,
        option: found.option,
        fileName: `${found.position.debtorFiscalCode}_${found.option.noticeNumber}.pdf`,
      });
    },
  );

  for (const [action, run, summary] of [
    ['cancel', cancelPosition, 'Annulla la posizione (le opzioni non pagate non sono più pagabili; gli IUV non vengono riusati)'],
    ['publish', publishPosition, 'Pubblica una posizione in bozza (diventa pagabile)'],
  ] as const) {
    app.post<{ Params: { iupd: string } }>(
      `/positions/:iupd/${action}`,
      {
        config: { csrf: false },
        schema: { tags: TAG, summary, security: [{ apiKey: [] }], params: iupdParams, response: { 200: positionOut, ...errorsResponses } },
      },
      async (request) => {
        const ente = await clientEnte(request);
        try {
          const p = await run(app.db, ente.id, request.params.iupd, { actor: `apikey:${request.apiClient!.keyId}`, requestId: request.id });
          return toApiPosition(p, await serviceCodeOf(ente.id, p.serviceId));
        } catch (err) {
          mapDomainError(err);
        }
      },
    );
  }
}
