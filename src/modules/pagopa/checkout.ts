/**
 * Checkout client: a cart of 1..5 notices is stored, sent to pagoPA Checkout with
 * `POST {PAGOPA_CHECKOUT_URL}/carts` (CartRequestV2, openapi/checkout_v2.json) and the browser is
 * sent to the `Location` of the 302. Coming back through a return URL proves nothing: the cart
 * becomes `paid` only when the receipts of all its notices have arrived (receipts.ts).
 */
import crypto from 'node:crypto';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { PagopaSettings } from '../../config.js';
import type { Db, DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { getEnte } from '../enti/repository.js';
import { findByNoticeNumber } from '../positions/repository.js';
import { todayInItaly } from '../positions/service.js';
import { paymentOptions } from '../positions/schema.js';
import { checkPayable, conflictingPairs, optionKindLabel } from './payment-state.js';
import { allCcp, loadBeneficiaries, optionDescription } from './payment-xml.js';
import { checkoutCartItems, checkoutCarts, receipts } from './schema.js';
import { clip } from './soap.js';

export class CheckoutError extends Error {
  constructor(
    message: string,
    /** Per-notice problems (index in the request, Italian message). */
    readonly notices: { index: number; message: string }[] = [],
  ) {
    super(message);
    this.name = 'CheckoutError';
  }
}

/** Why two options of one position cannot be in one cart (citizen wording). */
export const ALTERNATIVES_MESSAGE =
  'Nel carrello ci sono due modi alternativi di pagare lo stesso debito: una posizione si paga in unica soluzione oppure a rate, non in entrambi i modi. Rimuovi uno dei due avvisi.';

export function alternativesDetail(
  a: { noticeNumber: string; kind: string; installmentNumber?: number | null; installmentCount?: number | null },
  b: { noticeNumber: string; kind: string; installmentNumber?: number | null; installmentCount?: number | null },
): string {
  return `Avviso ${b.noticeNumber} (${optionKindLabel(b)}) e avviso ${a.noticeNumber} (${optionKindLabel(a)}): sono alternativi, paga l’uno o l’altro.`;
}

export interface StartCheckoutInput {
  notices: { enteId: number; noticeNumber: string }[];
  email?: string;
  /** Absolute base URL of the portal (PUBLIC_URL): the return URLs are built on it. */
  returnBase: string;
  /** Who starts the payment, for the audit log ('user:<id>' or 'anonymous'). */
  actor?: string;
  requestId?: string;
}

export interface StartCheckoutResult {
  cartId: string;
  redirectUrl: string;
}

/** The portal page Checkout sends the browser back to. */
export function outcomeUrl(returnBase: string, cartId: string, outcome: 'ok' | 'annullato' | 'errore' | 'attesa'): string {
  return `${returnBase.replace(/\/+$/, '')}/pagamento/esito/${cartId}?esito=${outcome}`;
}

export async function startCheckout(db: Db, input: StartCheckoutInput, settings: PagopaSettings, opts: { timeoutMs?: number } = {}): Promise<StartCheckoutResult> {
  if (input.notices.length < 1 || input.notices.length > 5) throw new CheckoutError('Il carrello deve contenere da 1 a 5 avvisi.');
  const keys = input.notices.map((n) => `${n.enteId}/${n.noticeNumber}`);
  if (new Set(keys).size !== keys.length) throw new CheckoutError('Lo stesso avviso è presente più volte nel carrello.');

  const today = todayInItaly();
  const problems: { index: number; message: string }[] = [];
  const items = await Promise.all(input.notices.map(async (n, index) => {
    const ente = await getEnte(db, n.enteId);
    const found = ente ? await findByNoticeNumber(db, ente.id, n.noticeNumber) : undefined;
    const notPayable = checkPayable(found, today);
    if (!ente || notPayable) {
      problems.push({ index, message: `Avviso ${n.noticeNumber}: ${notPayable?.message ?? 'ente sconosciuto'}` });
      return null;
    }
    const { position, option } = found!;
    const beneficiaries = await loadBeneficiaries(db, [...new Set(option.transfers.map((t) => t.fiscalCodePA))]);
    return {
      ente,
      option,
      allCcp: allCcp(option, beneficiaries),
      notice: {
        noticeNumber: option.noticeNumber,
        fiscalCode: ente.fiscalCode,
        amount: option.amountCents,
        companyName: clip(ente.name, 140)!,
        description: optionDescription(position, option),
      },
    };
  }));
  problems.sort((a, b) => a.index - b.index);
  if (problems.length) throw new CheckoutError('Alcuni avvisi non sono pagabili.', problems);
  const ready = items.filter((i): i is NonNullable<typeof i> => i !== null);
  const conflicts = conflictingPairs(ready.map((i) => ({ positionId: i.option.positionId, optionId: i.option.id, kind: i.option.kind, plan: i.option.plan })));
  if (conflicts.length) {
    throw new CheckoutError(
      ALTERNATIVES_MESSAGE,
      conflicts.map(([a, b]) => ({ index: b, message: alternativesDetail(ready[a]!.option, ready[b]!.option) })),
    );
  }

  const cartId = crypto.randomUUID();
  const total = ready.reduce((s, i) => s + i.notice.amount, 0);
  await db.transaction(
        async (tx) => {
          await tx.insert(checkoutCarts).values({ id: cartId, email: input.email ?? null, returnBase: input.returnBase, totalCents: total });
          for (const [ordinal, i] of ready.entries()) {
            await tx.insert(checkoutCartItems).values({ cartId, ordinal, enteId: i.ente.id, optionId: i.option.id, ...i.notice, amountCents: i.notice.amount });
          }
          await recordAudit(tx, { actor: input.actor ?? 'anonymous', action: 'create', entity: 'checkout_cart', entityId: cartId, after: { notices: ready.length, totalCents: total }, requestId: input.requestId });
        },
        { behavior: 'immediate' },
      );

  const body = {
    paymentNotices: ready.map((i) => i.notice),
    returnUrls: {
      returnOkUrl: outcomeUrl(input.returnBase, cartId, 'ok'),
      returnCancelUrl: outcomeUrl(input.returnBase, cartId, 'annullato'),
      returnErrorUrl: outcomeUrl(input.returnBase, cartId, 'errore'),
      returnWaitingUrl: outcomeUrl(input.returnBase, cartId, 'attesa'),
    },
    idCart: cartId,
    allCCP: ready.every((i) => i.allCcp),
    ...(input.email ? { emailNotice: input.email } : {}),
  };
  const fail = async (error: string): Promise<never> => {
    await db.update(checkoutCarts).set({ status: 'failed', error, updatedAt: new Date().toISOString() }).where(eq(checkoutCarts.id, cartId));
    throw new CheckoutError('Il servizio pagoPA Checkout non è al momento raggiungibile: riprova tra qualche minuto.');
  };
  let res: Response;
  try {
    res = await fetch(`${settings.checkoutUrl}/carts`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/json', 'ocp-apim-subscription-key': settings.subscriptionKey },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
  } catch (e) {
    return await fail(`POST /carts: ${(e as Error).name}`);
  }
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) {
    const detail = await res.text().catch(() => '');
    if (res.status === 422) {
      await db.update(checkoutCarts).set({ status: 'failed', error: `422 ${detail.slice(0, 300)}`, updatedAt: new Date().toISOString() }).where(eq(checkoutCarts.id, cartId));
      throw new CheckoutError('pagoPA non accetta uno degli avvisi (già pagato, in corso di pagamento o sconosciuto).');
    }
    return await fail(`POST /carts: HTTP ${res.status}`);
  }
  const redirectUrl = new URL(location, settings.checkoutUrl).href;
  await db.update(checkoutCarts).set({ status: 'redirected', redirectUrl, updatedAt: new Date().toISOString() }).where(eq(checkoutCarts.id, cartId));
  return { cartId, redirectUrl };
}

/**
 * What became of one notice of a cart:
 * - `paid`: the option is paid;
 * - `refund`: a receipt arrived for an option that was no longer due (another option of the
 *   position had been paid): the money was collected and the ente must refund it;
 * - `closed`: not paid and no longer due, because another option of the position was paid;
 * - `open`: not paid (yet).
 */
export type CartItemState = 'paid' | 'refund' | 'closed' | 'open';

export interface CartView {
  id: string;
  status: string;
  totalCents: number;
  items: { noticeNumber: string; companyName: string; description: string; amountCents: number; paid: boolean; state: CartItemState }[];
}

export async function getCart(db: DbLike, cartId: string): Promise<CartView | undefined> {
  const cart = (await db.select().from(checkoutCarts).where(eq(checkoutCarts.id, cartId)).limit(1))[0];
  if (!cart) return undefined;
  const items = await db
      .select({
        optionId: checkoutCartItems.optionId,
        noticeNumber: checkoutCartItems.noticeNumber,
        companyName: checkoutCartItems.companyName,
        description: checkoutCartItems.description,
        amountCents: checkoutCartItems.amountCents,
        optionStatus: paymentOptions.status,
      })
      .from(checkoutCartItems)
      .innerJoin(paymentOptions, and(eq(paymentOptions.id, checkoutCartItems.optionId)))
      .where(eq(checkoutCartItems.cartId, cartId))
      .orderBy(asc(checkoutCartItems.ordinal));
  // Owner copies of receipts flagged for these options (paid while no longer due), not those of another cart.
  const flagged = new Set(
    items.length
      ? (await db
                    .select({ optionId: receipts.optionId })
                    .from(receipts)
                    .where(
                      and(
                        inArray(receipts.optionId, items.map((i) => i.optionId)),
                        eq(receipts.outcome, 'OK'),
                        eq(receipts.processing, 'flagged'),
                        sql`${receipts.idPA} = ${receipts.fiscalCode}`,
                        sql`(${receipts.paymentNote} IS NULL OR ${receipts.paymentNote} = ${cartId})`,
                      ),
                    ))
          .map((r) => r.optionId)
      : [],
  );
  const stateOf = async (i: (typeof items)[number]): Promise<CartItemState> =>
    flagged.has(i.optionId) && (i.optionStatus !== 'paid' || await flaggedForCart(db, i.optionId, cartId))
      ? 'refund'
      : i.optionStatus === 'paid'
        ? 'paid'
        : i.optionStatus === 'cancelled'
          ? 'closed'
          : 'open';
  return {
    id: cart.id,
    status: cart.status,
    totalCents: cart.totalCents,
    items: await Promise.all(items.map(async (i) => ({
      noticeNumber: i.noticeNumber,
      companyName: i.companyName,
      description: i.description,
      amountCents: i.amountCents,
      paid: i.optionStatus === 'paid',
      state: await stateOf(i),
    }))),
  };
}

/** A flagged receipt of this option that names this cart (V2 receipts carry the cart id as paymentNote). */
async function flaggedForCart(db: DbLike, optionId: number, cartId: string): Promise<boolean> {
  return !!(await db
      .select({ id: receipts.id })
      .from(receipts)
      .where(and(eq(receipts.optionId, optionId), eq(receipts.processing, 'flagged'), eq(receipts.outcome, 'OK'), eq(receipts.paymentNote, cartId))).limit(1))[0];
}
