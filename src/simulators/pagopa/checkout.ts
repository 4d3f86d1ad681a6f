/**
 * Simulated pagoPA Checkout: `POST /checkout/ec/v2/carts` (CartRequestV2 of checkout_v2.json) →
 * 302 to a simple Italian page where the tester picks the PSP outcome of the cart: success (the
 * simulated node runs verify → getPaymentV2 → sendRTV2 against our station for each notice, then
 * redirects to returnOkUrl), failure (returnErrorUrl), cancel (returnCancelUrl), timeout
 * (returnWaitingUrl; the receipts arrive later).
 */
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { formatEuro } from '../../domain/money.js';
import { payNotice, type PayResult } from './node.js';
import { simCarts } from './schema.js';

export interface CartRequestV2 {
  emailNotice?: string;
  paymentNotices: { noticeNumber: string; fiscalCode: string; amount: number; companyName: string; description: string }[];
  returnUrls: { returnOkUrl: string; returnCancelUrl: string; returnErrorUrl: string; returnWaitingUrl: string };
  idCart?: string;
  allCCP?: boolean;
}

const uri = { type: 'string', format: 'uri', maxLength: 2048 } as const;

export const cartRequestSchema = {
  type: 'object',
  required: ['paymentNotices', 'returnUrls'],
  properties: {
    emailNotice: { type: 'string', format: 'email', maxLength: 256 },
    paymentNotices: {
      type: 'array',
      minItems: 1,
      maxItems: 5,
      items: {
        type: 'object',
        required: ['noticeNumber', 'fiscalCode', 'amount', 'companyName', 'description'],
        properties: {
          noticeNumber: { type: 'string', minLength: 18, maxLength: 18, pattern: '^[0-9]{18}$' },
          fiscalCode: { type: 'string', minLength: 11, maxLength: 11, pattern: '^[0-9]{11}$' },
          amount: { type: 'integer', minimum: 1 },
          companyName: { type: 'string', maxLength: 140 },
          description: { type: 'string', maxLength: 140 },
        },
      },
    },
    returnUrls: {
      type: 'object',
      required: ['returnOkUrl', 'returnCancelUrl', 'returnErrorUrl', 'returnWaitingUrl'],
      properties: { returnOkUrl: uri, returnCancelUrl: uri, returnErrorUrl: uri, returnWaitingUrl: uri },
    },
    idCart: { type: 'string', maxLength: 210 },
    allCCP: { type: 'boolean' },
  },
} as const;

const OUTCOMES = ['success', 'failure', 'cancel', 'timeout'] as const;
type Outcome = (typeof OUTCOMES)[number];

export default async function checkoutSimulator(app: FastifyInstance) {
  app.post<{ Body: CartRequestV2 }>(
    '/checkout/ec/v2/carts',
    { config: { csrf: false }, schema: { body: cartRequestSchema, hide: true } },
    async (request, reply) => {
      const notices = request.body.paymentNotices.map((n) => `${n.fiscalCode}/${n.noticeNumber}`);
      if (new Set(notices).size !== notices.length) {
        return reply.code(422).type('application/problem+json').send({ type: 'about:blank', title: 'Invalid payment info', status: 422, detail: 'Avvisi duplicati nel carrello' });
      }
      const id = crypto.randomUUID();
      await app.db.insert(simCarts).values({ id, body: JSON.stringify(request.body) });
      return reply.code(302).header('location', `${app.config.publicUrl}${app.prefix}/checkout/carrello/${id}`).send();
    },
  );

  const load = async (id: string) => {
    const row = (await app.db.select().from(simCarts).where(eq(simCarts.id, id)).limit(1))[0];
    return row ? { row, cart: JSON.parse(row.body) as CartRequestV2 } : undefined;
  };

  app.get<{ Params: { id: string } }>(
    '/checkout/carrello/:id',
    { schema: { params: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] }, hide: true } },
    async (request, reply) => {
      const found = await load(request.params.id);
      if (!found) return reply.code(404).page('simulators/pagopa/checkout', { title: 'Carrello non trovato', missing: true });
      const { row, cart } = found;
      return reply.page('simulators/pagopa/checkout', {
        title: 'Checkout pagoPA (simulatore)',
        cartId: row.id,
        done: row.status === 'done',
        outcome: row.outcome,
        email: cart.emailNotice,
        notices: cart.paymentNotices.map((n) => ({ ...n, amountLabel: formatEuro(n.amount) })),
        total: formatEuro(cart.paymentNotices.reduce((s, n) => s + n.amount, 0)),
      });
    },
  );

  app.post<{ Params: { id: string }; Body: { outcome: Outcome } }>(
    '/checkout/carrello/:id',
    {
      config: { csrf: false },
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] },
        body: { type: 'object', properties: { outcome: { type: 'string', enum: OUTCOMES } }, required: ['outcome'] },
        hide: true,
      },
    },
    async (request, reply) => {
      const found = await load(request.params.id);
      if (!found) return reply.code(404).page('simulators/pagopa/checkout', { title: 'Carrello non trovato', missing: true });
      const { row, cart } = found;
      if (row.status === 'done') return reply.redirect(cart.returnUrls.returnOkUrl, 303);
      const outcome = request.body.outcome;
      const results: PayResult[] = [];
      if (outcome === 'success' || outcome === 'timeout') {
        for (const n of cart.paymentNotices) {
          const pay = payNotice(app, {
            fiscalCode: n.fiscalCode,
            noticeNumber: n.noticeNumber,
            v2: true,
            paymentNote: cart.idCart,
            postal: cart.allCCP === true,
            faults: outcome === 'timeout' ? { delayMs: 3000 } : undefined,
          });
          results.push(await pay);
        }
      }
      const okAll = results.length > 0 && results.every((r) => r.ok);
      await app.db.update(simCarts).set({ status: outcome === 'success' && okAll ? 'done' : 'open', outcome }).where(eq(simCarts.id, row.id));
      const target =
        outcome === 'cancel'
          ? cart.returnUrls.returnCancelUrl
          : outcome === 'failure' || (outcome === 'success' && !okAll)
            ? cart.returnUrls.returnErrorUrl
            : outcome === 'timeout'
              ? cart.returnUrls.returnWaitingUrl
              : cart.returnUrls.returnOkUrl;
      return reply.redirect(target, 303);
    },
  );
}
