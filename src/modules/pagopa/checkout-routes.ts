/**
 * GET /pagamento/esito/:cartId — where Checkout sends the browser back. The return URL says only
 * how the user left Checkout; the page says "pagamento in corso" until the receipts arrive.
 */
import type { FastifyInstance } from 'fastify';
import { formatEuro } from '../../domain/money.js';
import { HttpError } from '../../plugins/errors.js';
import { getCart } from './checkout.js';

const ESITI = ['ok', 'annullato', 'errore', 'attesa'] as const;

export default async function checkoutRoutes(app: FastifyInstance) {
  app.get<{ Params: { cartId: string }; Querystring: { esito?: (typeof ESITI)[number] } }>(
    '/pagamento/esito/:cartId',
    {
      schema: {
        params: { type: 'object', properties: { cartId: { type: 'string', format: 'uuid' } }, required: ['cartId'] },
        querystring: { type: 'object', properties: { esito: { type: 'string', enum: ESITI } }, additionalProperties: false },
      },
    },
    async (request, reply) => {
      const cart = getCart(app.db, request.params.cartId);
      if (!cart) throw new HttpError(404, 'Pagamento non trovato.');
      const paid = cart.status === 'paid';
      const esito = request.query.esito;
      reply.header('cache-control', 'no-store');
      return reply.page('pagopa/esito', {
        title: paid ? 'Pagamento completato' : 'Pagamento in corso',
        paid,
        cancelled: !paid && esito === 'annullato',
        failed: !paid && esito === 'errore',
        inProgress: !paid && (esito === undefined || esito === 'ok' || esito === 'attesa'),
        cartId: cart.id,
        esito,
        total: formatEuro(cart.totalCents),
        items: cart.items.map((i) => ({ ...i, amount: formatEuro(i.amountCents) })),
      });
    },
  );
}
