/**
 * Receipt PDFs ("ricevuta di pagamento"): for the logged-in debtor (/ricevute/:id.pdf, only the
 * receipts whose debtor fiscal code is the user's), for the ente's operators
 * (/backoffice/enti/:enteId/ricevute/:id.pdf) and for the helpdesk (/helpdesk/ricevute/:id.pdf).
 * `:id` is the receipt row id; a receipt someone may not see answers 404, as a missing one.
 */
import fs from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { and, asc, eq } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { HttpError } from '../../plugins/errors.js';
import { requireRole } from '../../plugins/auth.js';
import { getEnte, getEnteByFiscalCode } from '../enti/repository.js';
import { stemmaFile } from '../positions/notice-data.js';
import { renderReceiptPdf, type ReceiptPdfData } from './receipt-pdf.js';
import { receipts, receiptTransfers } from './schema.js';

type ReceiptRow = typeof receipts.$inferSelect;

/** The ente's uploaded stemma (PNG/JPEG under DATA_DIR/stemmi), read for the receipt's header. */
async function stemmaOf(db: DbLike, enteId: number, dataDir: string | undefined): Promise<Buffer | undefined> {
  const ente = dataDir ? await getEnte(db, enteId) : undefined;
  const file = ente ? stemmaFile(ente, dataDir) : undefined;
  try {
    return file ? fs.readFileSync(file) : undefined;
  } catch {
    return undefined;
  }
}

/** What the receipt PDF shows; with `dataDir`, the owner ente's uploaded stemma heads it. */
export async function receiptPdfData(db: DbLike, r: ReceiptRow, dataDir?: string): Promise<ReceiptPdfData> {
  const owner = r.fiscalCode === r.idPA ? r.enteId : (await getEnteByFiscalCode(db, r.fiscalCode))?.id;
  const logo = owner ? await stemmaOf(db, owner, dataDir) : undefined;
  const transfers = await db.select().from(receiptTransfers).where(eq(receiptTransfers.receiptRowId, r.id)).orderBy(asc(receiptTransfers.idTransfer));
  const payer = r.payer ? (JSON.parse(r.payer) as { fullName?: string }) : null;
  return {
    companyName: r.companyName,
    fiscalCode: r.fiscalCode,
    noticeNumber: r.noticeNumber,
    iuv: r.iuv,
    receiptId: r.receiptId,
    description: r.description,
    amountCents: r.paymentAmountCents,
    feeCents: r.feeCents,
    paymentDateTime: r.paymentDateTime,
    receivedAt: r.receivedAt,
    debtorName: r.debtorName,
    debtorFiscalCode: r.debtorFiscalCode,
    payerName: payer?.fullName ?? null,
    pspName: r.pspCompanyName,
    paymentMethod: r.paymentMethod,
    transfers: transfers.map((t) => ({ idTransfer: t.idTransfer, fiscalCodePA: t.fiscalCodePA, companyName: t.companyName, amountCents: t.amountCents, remittanceInformation: t.remittanceInformation })),
    ...(logo ? { logo } : {}),
  };
}

const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;

async function sendPdf(db: DbLike, reply: FastifyReply, r: ReceiptRow | undefined, dataDir: string) {
  if (!r || r.outcome !== 'OK') throw new HttpError(404, 'Ricevuta non trovata.');
  const pdf = await renderReceiptPdf(await receiptPdfData(db, r, dataDir));
  return reply
    .type('application/pdf')
    .header('content-disposition', `inline; filename="ricevuta-${r.noticeNumber}.pdf"`)
    .header('cache-control', 'private, no-store')
    .send(pdf);
}

export default async function receiptRoutes(app: FastifyInstance) {
  app.get<{ Params: { id: number } }>('/ricevute/:id.pdf', { schema: { params: idParams } }, async (request, reply) => {
    if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per scaricare la ricevuta.');
    // Each ente receives its own copy of a multi-beneficiary receipt: the debtor sees the owner's.
    const r = (await app.db
          .select()
          .from(receipts)
          .where(and(eq(receipts.id, request.params.id), eq(receipts.debtorFiscalCode, request.user.fiscalCode.toUpperCase()))).limit(1))[0];
    return sendPdf(app.db, reply, r, app.config.dataDir);
  });

  app.get<{ Params: { id: number; enteId: number } }>(
    '/backoffice/enti/:enteId/ricevute/:id.pdf',
    {
      schema: { params: { type: 'object', properties: { enteId: { type: 'integer', minimum: 1 }, id: { type: 'integer', minimum: 1 } }, required: ['enteId', 'id'] } },
      preHandler: requireRole('operator', { ente: (request) => (request.params as { enteId: number }).enteId }),
    },
    async (request, reply) => {
      const r = (await app.db.select().from(receipts).where(and(eq(receipts.id, request.params.id), eq(receipts.enteId, request.params.enteId))).limit(1))[0];
      return sendPdf(app.db, reply, r, app.config.dataDir);
    },
  );

  app.get<{ Params: { id: number } }>('/helpdesk/ricevute/:id.pdf', { schema: { params: idParams }, preHandler: requireRole('helpdesk') }, async (request, reply) => {
    return sendPdf(app.db, reply, (await app.db.select().from(receipts).where(eq(receipts.id, request.params.id)).limit(1))[0], app.config.dataDir);
  });
}
