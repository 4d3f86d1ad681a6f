/**
 * GET /api/v1/positions/{iupd}/receipts — the receipts of a position of the API key's ente
 * (registered under /api/v1 with the same API-key preHandler as the positions API).
 */
import type { FastifyInstance } from 'fastify';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { requireApiKey } from '../../plugins/api-key.js';
import { HttpError } from '../../plugins/errors.js';
import { getPositionByIupd } from '../positions/repository.js';
import { receipts, receiptTransfers } from './schema.js';
import { withoutSessions } from '../../plugins/sessions/index.js';

const problem = { type: 'object', properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, instance: { type: 'string' } } } as const;

const receiptOut = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    receiptId: { type: 'string', description: 'Identificativo della ricevuta (paymentToken; IUR nei flussi di rendicontazione)' },
    noticeNumber: { type: 'string' },
    iuv: { type: 'string' },
    outcome: { type: 'string', enum: ['OK', 'KO'] },
    amountCents: { type: 'integer' },
    feeCents: { type: ['integer', 'null'] },
    paymentDateTime: { type: ['string', 'null'] },
    receivedAt: { type: 'string' },
    pspId: { type: 'string' },
    pspCompanyName: { type: 'string' },
    paymentMethod: { type: ['string', 'null'] },
    standIn: { type: 'boolean' },
    processing: { type: 'string', enum: ['applied', 'secondary', 'flagged'] },
    transfers: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          idTransfer: { type: 'integer' },
          fiscalCodePA: { type: 'string' },
          amountCents: { type: 'integer' },
          iban: { type: ['string', 'null'] },
          remittanceInformation: { type: 'string' },
          transferCategory: { type: 'string' },
        },
      },
    },
  },
} as const;

export default async function receiptsApi(app: FastifyInstance) {
  withoutSessions(app);
  if (!app.hasRequestDecorator('apiClient')) app.decorateRequest('apiClient', null);
  app.addHook('preHandler', requireApiKey);

  app.get<{ Params: { iupd: string } }>(
    '/positions/:iupd/receipts',
    {
      schema: {
        tags: ['Posizioni debitorie'],
        summary: 'Ricevute pagoPA di una posizione',
        security: [{ apiKey: [] }],
        params: { type: 'object', properties: { iupd: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['iupd'] },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: receiptOut } } }, 401: problem, 404: problem },
      },
    },
    async (request) => {
      const enteId = request.apiClient!.enteId;
      const position = await getPositionByIupd(app.db, enteId, request.params.iupd);
      if (!position) throw new HttpError(404, 'Posizione non trovata.');
      const rows = await app.db
              .select()
              .from(receipts)
              .where(and(eq(receipts.enteId, enteId), eq(receipts.positionId, position.id)))
              .orderBy(asc(receipts.id));
      const transfers = rows.length ? await app.db.select().from(receiptTransfers).where(inArray(receiptTransfers.receiptRowId, rows.map((r) => r.id))).orderBy(asc(receiptTransfers.idTransfer)) : [];
      return {
        items: rows.map((r) => ({
          id: r.id,
          receiptId: r.receiptId,
          noticeNumber: r.noticeNumber,
          iuv: r.iuv,
          outcome: r.outcome,
          amountCents: r.paymentAmountCents,
          feeCents: r.feeCents,
          paymentDateTime: r.paymentDateTime,
          receivedAt: r.receivedAt,
          pspId: r.idPSP,
          pspCompanyName: r.pspCompanyName,
          paymentMethod: r.paymentMethod,
          standIn: r.standIn,
          processing: r.processing,
          transfers: transfers.filter((t) => t.receiptRowId === r.id).map((t) => ({
            idTransfer: t.idTransfer,
            fiscalCodePA: t.fiscalCodePA,
            amountCents: t.amountCents,
            iban: t.iban,
            remittanceInformation: t.remittanceInformation,
            transferCategory: t.transferCategory,
          })),
        })),
      };
    },
  );
}
