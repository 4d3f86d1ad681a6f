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
import { getCart, type CartView } from '../pagopa/checkout.js';
import { renderReceiptPdf } from '../pagopa/receipt-pdf.js';
import { receiptPdfData } from '../pagopa/receipt-routes.js';
import { checkoutCartItems, receipts } from '../pagopa/schema.js';
import { formatNoticeNumber } from '../positions/numbers.js';
import { cartCount } from './cart.js';

const ESITI = ['ok', 'annullato', 'errore', 'attesa'] as const;
type Esito = (typeof ESITI)[number];

/** What the page says as a whole. */
export type OutcomeKind = 'paid' | 'partial' | 'refund' | 'notDue' | 'cancelled' | 'failed' | 'inProgress';
/** What it says of one notice. */
export type RowState = 'paid' | 'refund' | 'closed' | 'waiting' | 'notPaid';

const HEADLINES: Record<OutcomeKind, string> = {
  paid: 'Pagamento effettuato',
  partial: 'Pagamento effettuato solo in parte',
  refund: 'Pagamento non dovuto: sarà rimborsato',
  notDue: 'Nessun importo da pagare',
  cancelled: 'Pagamento annullato',
  failed: 'Pagamento non riuscito',
  inProgress: 'Pagamento in corso',
};

const ROW_STATES: Record<RowState, { label: string; badge: string }> = {
  paid: { label: 'Pagato', badge: 'bg-success' },
  refund: { label: 'Pagato, da rimborsare', badge: 'bg-warning' },
  closed: { label: 'Non più dovuto (pagato in altro modo)', badge: 'bg-secondary' },
  waiting: { label: 'In attesa di ricevuta', badge: 'bg-secondary' },
  notPaid: { label: 'Non pagato', badge: 'bg-danger' },
};

/**
 * The headline and each row's state from the same facts, so they always agree. Receipts decide
 * (a notice is paid only when its receipt has arrived); how the user left Checkout (`esito`) only
 * decides whether a notice without a receipt is still awaited or was not paid:
 * - no notice left without a receipt → paid (some notice paid), refund (the receipts that arrived
 *   are all for options no longer due) or not due (every position was paid in another way and
 *   nothing was charged by this payment);
 * - Checkout said cancelled / error (or the cart never reached Checkout): notices without a
 *   receipt are "not paid"; the page is cancelled / failed, or partial when some receipt arrived;
 * - otherwise the notices without a receipt are awaited → in progress.
 */
export function outcomeView(cart: Pick<CartView, 'status' | 'items'>, esito: Esito | undefined) {
  const items = cart.items;
  const settled = items.filter((i) => i.state === 'paid' || i.state === 'refund');
  const open = items.filter((i) => i.state === 'open');
  const ended = esito === 'annullato' || esito === 'errore' || cart.status === 'failed';
  let kind: OutcomeKind;
  if (open.length === 0) kind = items.some((i) => i.state === 'paid') ? 'paid' : settled.length ? 'refund' : 'notDue';
  else if (!ended) kind = 'inProgress';
  else if (settled.length) kind = 'partial';
  else kind = esito === 'annullato' ? 'cancelled' : 'failed';
  const rows = items.map((i): RowState => (i.state === 'open' ? (kind === 'inProgress' ? 'waiting' : 'notPaid') : i.state));
  return {
    kind,
    rows,
    settledCount: settled.length,
    closedCount: items.filter((i) => i.state === 'closed').length,
    paidCents: settled.reduce((s, i) => s + i.amountCents, 0),
    refundCents: items.filter((i) => i.state === 'refund').reduce((s, i) => s + i.amountCents, 0),
  };
}

const cartParams = { type: 'object', properties: { cartId: { type: 'string', format: 'uuid' } }, required: ['cartId'] } as const;

export default async function outcomeRoutes(app: FastifyInstance) {
  /** Receipt row ids (owner copies) of the notices of a cart, by ordinal. */
  async function cartReceipts(cartId: string): Promise<Map<number, number>> {
    const rows = await app.db
          .select({ ordinal: checkoutCartItems.ordinal, receiptId: receipts.id })
          .from(checkoutCartItems)
          .innerJoin(
            receipts,
            and(eq(receipts.optionId, checkoutCartItems.optionId), eq(receipts.enteId, checkoutCartItems.enteId), eq(receipts.outcome, 'OK'), sql`${receipts.idPA} = ${receipts.fiscalCode}`),
          )
          .where(eq(checkoutCartItems.cartId, cartId))
          .orderBy(desc(receipts.id));
    const out = new Map<number, number>();
    for (const r of rows) if (!out.has(r.ordinal)) out.set(r.ordinal, r.receiptId);
    return out;
  }

  app.get<{ Params: { cartId: string }; Querystring: { esito?: Esito } }>(
    '/pagamento/esito/:cartId',
    { schema: { params: cartParams, querystring: { type: 'object', properties: { esito: { type: 'string', enum: ESITI } }, additionalProperties: false } } },
    async (request, reply) => {
      const cart = await getCart(app.db, request.params.cartId);
      if (!cart) throw new HttpError(404, 'Pagamento non trovato: controlla il link oppure cerca il pagamento nella tua area personale.');
      const esito = request.query.esito;
      const view = outcomeView(cart, esito);
      const receiptsByOrdinal = await cartReceipts(cart.id);
      const checkUrl = `${app.config.publicUrl}/pagamento/esito/${cart.id}`;
      reply.header('cache-control', 'no-store');
      return reply.page('portal/outcome', {
        title: HEADLINES[view.kind],
        headline: HEADLINES[view.kind],
        cartCount: cartCount(request),
        [view.kind]: true,
        inProgress: view.kind === 'inProgress',
        waiting: view.kind === 'inProgress' && esito === 'attesa',
        partialCount: view.settledCount > 0 && view.kind === 'inProgress',
        paidCount: view.settledCount,
        itemCount: cart.items.length,
        paidTotal: formatEuro(view.paidCents),
        refundTotal: view.refundCents ? formatEuro(view.refundCents) : null,
        closedCount: view.closedCount,
        cartId: cart.id,
        esito,
        checkUrl,
        statusUrl: `/pagamento/esito/${cart.id}/stato`,
        total: formatEuro(cart.totalCents),
        items: cart.items.map((i, ordinal) => ({
          ...i,
          noticeNumberDisplay: formatNoticeNumber(i.noticeNumber),
          amount: formatEuro(i.amountCents),
          row: ROW_STATES[view.rows[ordinal]!],
          receiptUrl: (i.state === 'paid' || i.state === 'refund') && receiptsByOrdinal.has(ordinal) ? `/pagamento/esito/${cart.id}/ricevute/${ordinal + 1}.pdf` : null,
        })),
      });
    },
  );

  app.get<{ Params: { cartId: string } }>('/pagamento/esito/:cartId/stato', { schema: { params: cartParams } }, async (request, reply) => {
    const cart = await getCart(app.db, request.params.cartId);
    if (!cart) throw new HttpError(404, 'Pagamento non trovato.');
    reply.header('cache-control', 'no-store');
    // `paid`: notices whose receipt has arrived (the page's data-paid), so the poll reloads on each one.
    return { status: cart.status, paid: cart.items.filter((i) => i.state === 'paid' || i.state === 'refund').length, total: cart.items.length };
  });

  app.get<{ Params: { cartId: string; n: number } }>(
    '/pagamento/esito/:cartId/ricevute/:n.pdf',
    { schema: { params: { type: 'object', properties: { cartId: { type: 'string', format: 'uuid' }, n: { type: 'integer', minimum: 1, maximum: 5 } }, required: ['cartId', 'n'] } } },
    async (request, reply) => {
      const id = (await cartReceipts(request.params.cartId)).get(request.params.n - 1);
      const r = id ? (await app.db.select().from(receipts).where(eq(receipts.id, id)).limit(1))[0] : undefined;
      if (!r) throw new HttpError(404, 'Ricevuta non ancora disponibile: pagoPA non l’ha ancora inviata all’ente.');
      const pdf = await renderReceiptPdf(await receiptPdfData(app.db, r, app.config.dataDir));
      return reply
        .type('application/pdf')
        .header('content-disposition', `inline; filename="ricevuta-${r.noticeNumber}.pdf"`)
        .header('cache-control', 'private, no-store')
        .send(pdf);
    },
  );
}
