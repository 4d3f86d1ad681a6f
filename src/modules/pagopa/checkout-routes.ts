/**
 * The Checkout outcome page `GET /pagamento/esito/:cartId` (where Checkout sends the browser back)
 * now lives in the citizen portal, with its state poll and receipt links:
 * src/modules/portal/outcome.ts (template templates/portal/outcome.hbs). The return URLs it serves
 * are still built by `outcomeUrl()` in checkout.ts. This plugin is kept (registered by index.ts)
 * for pagoPA routes of the Checkout flow that are not pages.
 */
import type { FastifyInstance } from 'fastify';

export default async function checkoutRoutes(_app: FastifyInstance) {}
