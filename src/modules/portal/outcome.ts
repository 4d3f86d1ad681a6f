/**
 * Where pagoPA Checkout sends the browser back, and the "check later" link (no email needed):
 *
 * - GET /pagamento/esito/:cartId?esito=ok|annullato|errore|attesa   the outcome page. The return URL
 *   only says how the user left Checkout: until the receipts arrive (paSendRT) the page says
 *   "pagamento in corso" and a small script polls the state (without JS: "Aggiorna lo stato").
 * - GET /pagamento/esito/:cartId/stato                              JSON for the poll
 * - GET /pagamento/esito/:cartId/ricevute/:n.pdf                    the receipt of the n-th notice
 *
 * The cart id is a random UUID given only to whoever started the payment: it works as the link to
 * the payment (like a bookmarkable capability), and shows only the notices of that payment.
 */
import type { FastifyInstance } from 'fastify';
import { and, desc, eq, sql } from 'drizzle-orm';
import { HttpError } from '../../plugins/errors.js';
import { formatEuro } from '../../domain/money.js';
import { getCart } from '../pagopa/checkout.js';
import { renderReceiptPdf } from '../pagopa/receipt-pdf.js';
import { receiptPdfData } from '../pagopa/receipt-routes.js';
import { checkoutCartItems, receipts } from '../pagopa/schema.js';
import { formatNoticeNumber } from '../positions/numbers.js';
import { cartCount } from './cart.js';

const ESITI = ['ok', 'annullato', 'errore', 'attesa'] as const;
type Esito = (typeof ESITI)[number];

const cartParams = { type: 'object', properties: { cartId: { type: 'string', format: 'uuid' } }, required: ['cartId'] } as const;

export default async function outcomeRoutes(app: FastifyInstance) {
  /** Receipt row ids (owner copies) of the notices of a cart, by ordinal. */
  function cartReceipts(cartId: string): Map<number, number> {
    const rows = app.db
      .select({ ordinal: checkoutCartItems.ordinal, receiptId: receipts.id })
      .from(checkoutCartItems)
      .innerJoin(
        receipts,
        and(eq(receipts.optionId, checkoutCartItems.optionId), eq(receipts.enteId, checkoutCartItems.enteId), eq(receipts.outcome, 'OK'), sql`${receipts.idPA} = ${receipts.fiscalCode}`),
      )
      .where(eq(checkoutCartItems.cartId, cartId))
      .orderBy(desc(receipts.id))
      .all();
    const out = new Map<number, number>();
    for (const r of rows) if (!out.has(r.ordinal)) out.set(r.ordinal, r.receiptId);
    return out;
  }

  app.get<{ Params: { cartId: string }; Querystring: { esito?: Esito } }>(
    '/pagamento/esito/:cartId',
    { schema: { params: cartParams, querystring: { type: 'object', properties: { esito: { type: 'string', enum: ESITI } }, additionalProperties: false } } },
    async (request, reply) => {
      const cart = getCart(app.db, request.params.cartId);
      if (!cart) throw new HttpError(404, 'Pagamento non trovato: controlla il link oppure cerca il pagamento nella tua area personale.');
      const paid = cart.status === 'paid';
      const esito = request.query.esito;
      const receiptsByOrdinal = cartReceipts(cart.id);
      const paidCount = cart.items.filter((i) => i.paid).length;
      const cancelled = !paid && esito === 'annullato';
      const failed = !paid && (esito === 'errore' || cart.status === 'failed');
      const inProgress = !paid && !cancelled && !failed;
      const checkUrl = `${app.config.publicUrl}/pagamento/esito/${cart.id}`;
      reply.header('cache-control', 'no-store');
      return reply.page('portal/outcome', {
        title: paid ? 'Pagamento completato' : cancelled ? 'Pagamento annullato' : failed ? 'Pagamento non riuscito' : 'Pagamento in corso',
        cartCount: cartCount(request),
        paid,
        cancelled,
        failed,
        inProgress,
        waiting: inProgress && esito === 'attesa',
        partial: !paid && paidCount > 0,
        paidCount,
        itemCount: cart.items.length,
        cartId: cart.id,
        esito,
        checkUrl,
        statusUrl: `/pagamento/esito/${cart.id}/stato`,
        total: formatEuro(cart.totalCents),
        items: cart.items.map((i, ordinal) => ({
          ...i,
          noticeNumberDisplay: formatNoticeNumber(i.noticeNumber),
          amount: formatEuro(i.amountCents),
          receiptUrl: i.paid && receiptsByOrdinal.has(ordinal) ? `/pagamento/esito/${cart.id}/ricevute/${ordinal + 1}.pdf` : null,
        })),
      });
    },
  );

  app.get<{ Params: { cartId: string } }>('/pagamento/esito/:cartId/stato', { schema: { params: cartParams } }, async (request, reply) => {
    const cart = getCart(app.db, request.params.cartId);
    if (!cart) throw new HttpError(404, 'Pagamento non trovato.');
    reply.header('cache-control', 'no-store');
    return { status: cart.status, paid: cart.items.filter((i) => i.paid).length, total: cart.items.length };
  });

  app.get<{ Params: { cartId: string; n: number } }>(
    '/pagamento/esito/:cartId/ricevute/:n.pdf',
    { schema: { params: { type: 'object', properties: { cartId: { type: 'string', format: 'uuid' }, n: { type: 'integer', minimum: 1, maximum: 5 } }, required: ['cartId', 'n'] } } },
    async (request, reply) => {
      const id = cartReceipts(request.params.cartId).get(request.params.n - 1);
      const r = id ? app.db.select().from(receipts).where(eq(receipts.id, id)).get() : undefined;
      if (!r) throw new HttpError(404, 'Ricevuta non ancora disponibile: pagoPA non l’ha ancora inviata all’ente.');
      const pdf = await renderReceiptPdf(receiptPdfData(app.db, r));
      return reply
        .type('application/pdf')
        .header('content-disposition', `inline; filename="ricevuta-${r.noticeNumber}.pdf"`)
        .header('cache-control', 'private, no-store')
        .send(pdf);
    },
  );
}
