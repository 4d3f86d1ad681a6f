/**
 * The citizen's cart (up to 5 notices, also of different comuni) kept in the server-side session,
 * so it works without login and without JavaScript, and the start of a payment on pagoPA Checkout.
 *
 * - POST /carrello/aggiungi   a typed notice (ente + codiceAvviso) or, logged in, options of one's own
 *                             positions (opzione=id…); `azione=paga` pays them at once instead
 * - GET  /carrello            the cart, each notice re-checked now (amount, payable)
 * - POST /carrello/rimuovi    removes one notice; POST /carrello/svuota empties it
 * - POST /carrello/paga       sends the cart to Checkout (optional email for the receipt) → 303 there
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DbLike } from '../../db/client.js';
import { HttpError } from '../../plugins/errors.js';
import { getEnte } from '../enti/repository.js';
import { CheckoutError, startCheckout } from '../pagopa/checkout.js';
import { checkPayable, conflictingPairs, optionKindLabel, type OptionRef } from '../pagopa/payment-state.js';
import { formatEuro } from '../../domain/money.js';
import { formatNoticeNumber } from '../positions/numbers.js';
import { findByNoticeNumber } from '../positions/repository.js';
import { todayInItaly } from '../positions/service.js';
import { citizenOption } from './citizen.js';
import { lookupNotice, notPayableMessage, summarise, type NoticeSummary } from './lookup.js';

export interface CartEntry {
  enteId: number;
  noticeNumber: string;
}

declare module '@fastify/session' {
  interface FastifySessionObject {
    /** Notices in the portal cart (max 5). */
    portalCart?: CartEntry[];
    /** Checkout carts started from this browser session, newest first (for "pagamenti recenti"). */
    portalPayments?: string[];
  }
}

export const MAX_CART = 5;
/** stEMail of the pagoPA common types (the same rule the positions use). */
export const EMAIL_PATTERN = /^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*$/;

export function cartOf(request: FastifyRequest): CartEntry[] {
  const c = request.session?.portalCart;
  return Array.isArray(c) ? c : [];
}

export function cartCount(request: FastifyRequest): number {
  return cartOf(request).length;
}

const key = (e: CartEntry) => `${e.enteId}-${e.noticeNumber}`;

export interface CartLine {
  key: string;
  enteName: string;
  noticeNumberDisplay: string;
  notice?: NoticeSummary;
  problem?: string;
}

type EntryOption = OptionRef & { noticeNumber: string; installmentNumber: number | null; installmentCount: number | null };

/** The payment option a cart entry stands for (undefined when the notice is unknown). */
async function entryOption(db: DbLike, e: CartEntry): Promise<EntryOption | undefined> {
  const found = await findByNoticeNumber(db, e.enteId, e.noticeNumber);
  if (!found) return undefined;
  const o = found.option;
  return { positionId: o.positionId, optionId: o.id, kind: o.kind, plan: o.plan, noticeNumber: o.noticeNumber, installmentNumber: o.installmentNumber, installmentCount: o.installmentCount };
}

/**
 * Entries of `entries` that are an alternative (single payment vs installments) of an earlier entry
 * of the same position: index → Italian reason. The first of two alternatives is kept.
 */
export async function alternativeEntries(db: DbLike, entries: CartEntry[]): Promise<Map<number, string>> {
  const options = await Promise.all(entries.map((e) => entryOption(db, e)));
  const known = options.map((o, index) => ({ o, index })).filter((x): x is { o: EntryOption; index: number } => x.o !== undefined);
  const out = new Map<number, string>();
  for (const [a, b] of conflictingPairs(known.map((k) => k.o))) {
    const later = known[b]!;
    if (!out.has(later.index)) {
      const first = known[a]!.o;
      out.set(
        later.index,
        `Questo avviso (${optionKindLabel(later.o)}) è un’alternativa all’avviso ${formatNoticeNumber(first.noticeNumber)} (${optionKindLabel(first)}) della stessa posizione: paga l’uno o l’altro, non entrambi.`,
      );
    }
  }
  return out;
}

/** Why `notice` cannot join the cart of this request (an alternative of it is there), or null. */
export async function cartAlternativeTo(db: DbLike, request: FastifyRequest, notice: CartEntry): Promise<string | null> {
  const cart = cartOf(request).filter((c) => key(c) !== key(notice));
  if (!cart.length) return null;
  return (await alternativeEntries(db, [...cart, notice])).get(cart.length) ?? null;
}

/** Each cart entry as it is now: its summary when payable, the reason otherwise. */
export async function cartLines(db: DbLike, entries: CartEntry[], now = new Date()): Promise<{ lines: CartLine[]; total: string; allPayable: boolean }> {
  const today = todayInItaly(now);
  let total = 0;
  let allPayable = true;
  const alternatives = await alternativeEntries(db, entries);
  const lines = await Promise.all(entries.map(async (e, index): Promise<CartLine> => {
    const ente = await getEnte(db, e.enteId);
    const base = { key: key(e), enteName: ente?.name ?? '', noticeNumberDisplay: formatNoticeNumber(e.noticeNumber) };
    if (!ente) {
      allPayable = false;
      return { ...base, problem: 'Ente non più disponibile.' };
    }
    const found = await findByNoticeNumber(db, ente.id, e.noticeNumber);
    const verdict = checkPayable(found, today);
    if (verdict) {
      allPayable = false;
      return { ...base, problem: notPayableMessage(verdict.code, verdict.message, ente) };
    }
    const notice = summarise(ente, found!.position, found!.option, today);
    const alternative = alternatives.get(index);
    if (alternative) {
      allPayable = false;
      return { ...base, notice, problem: alternative };
    }
    total += notice.amountCents;
    return { ...base, notice };
  }));
  return { lines, total: formatEuro(total), allPayable };
}

interface AddBody {
  _csrf?: string;
  ente?: number;
  cfEnte?: string;
  codiceAvviso?: string;
  opzione?: number[];
  azione?: 'aggiungi' | 'paga';
}

const addBody = {
  type: 'object',
  properties: {
    _csrf: { type: 'string' },
    ente: { type: 'integer', minimum: 1 },
    cfEnte: { type: 'string', maxLength: 20 },
    codiceAvviso: { type: 'string', maxLength: 40 },
    opzione: { type: 'array', items: { type: 'integer', minimum: 1 }, maxItems: 50 },
    azione: { type: 'string', enum: ['aggiungi', 'paga'] },
  },
  additionalProperties: false,
} as const;

export default async function cartRoutes(app: FastifyInstance) {
  async function renderCart(request: FastifyRequest, reply: FastifyReply, extra: { status?: number; error?: string; errors?: string[]; emailError?: string; email?: string; notice?: string } = {}) {
    const entries = cartOf(request);
    const { lines, total, allPayable } = await cartLines(app.db, entries);
    return reply
      .code(extra.status ?? 200)
      .header('cache-control', 'no-store')
      .page('portal/cart', {
        title: 'Carrello',
        csrf: true,
        cartCount: entries.length,
        lines,
        total,
        allPayable,
        full: entries.length >= MAX_CART,
        max: MAX_CART,
        email: extra.email ?? request.user?.email ?? '',
        error: extra.error,
        errors: extra.errors,
        emailError: extra.emailError,
        notice: extra.notice,
      });
  }

  /** Starts Checkout for these notices; on a refusal shows the cart with the reasons. */
  async function pay(request: FastifyRequest, reply: FastifyReply, notices: CartEntry[], email: string | undefined, fromCart: boolean) {
    try {
      const { cartId, redirectUrl } = await startCheckout(
        app.db,
        {
          notices,
          ...(email ? { email } : {}),
          returnBase: app.config.publicUrl,
          actor: request.user ? `user:${request.user.id}` : 'anonymous',
          requestId: request.id,
        },
        app.config.pagopa,
      );
      request.session.portalPayments = [cartId, ...(request.session.portalPayments ?? [])].slice(0, 10);
      if (fromCart) request.session.portalCart = [];
      request.log.info({ cartId, notices: notices.length }, 'checkout started from the portal');
      return reply.header('cache-control', 'no-store').redirect(redirectUrl, 303);
    } catch (err) {
      if (!(err instanceof CheckoutError)) throw err;
      return renderCart(request, reply, { status: 409, error: `Pagamento non avviato. ${err.message}`, errors: err.notices.map((n) => n.message), email });
    }
  }

  app.get('/carrello', async (request, reply) => renderCart(request, reply));

  app.post<{ Body: AddBody }>('/carrello/aggiungi', { schema: { body: addBody } }, async (request, reply) => {
    const body = request.body;
    const wanted: CartEntry[] = [];
    if (body.opzione?.length) {
      if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per pagare le tue posizioni.');
      for (const id of body.opzione) {
        // Only options of one's own positions: someone else's answers 404, as a missing one.
        const own = await citizenOption(app.db, request.user.fiscalCode, id);
        if (!own) throw new HttpError(404, 'Avviso non trovato tra le tue posizioni.');
        wanted.push({ enteId: own.enteId, noticeNumber: own.noticeNumber });
      }
    } else {
      const result = await lookupNotice(app.db, { codiceAvviso: body.codiceAvviso, ente: body.ente, cfEnte: body.cfEnte });
      if (!result.ok) throw new HttpError(result.status, result.message);
      wanted.push({ enteId: result.notice.enteId, noticeNumber: result.notice.noticeNumber });
    }
    // Options of one position are alternatives: never two of them in one payment (nor in the cart).
    const together = body.azione === 'paga' ? wanted : [...cartOf(request).filter((c) => !wanted.some((w) => key(w) === key(c))), ...wanted];
    const refused = await alternativeEntries(app.db, together);
    if (refused.size) {
      return renderCart(request, reply, {
        status: 409,
        error: `${body.azione === 'paga' ? 'Pagamento non avviato' : 'Avviso non aggiunto al carrello'}: una posizione si paga in unica soluzione oppure a rate, non in entrambi i modi. Scegli l’uno o l’altro.`,
        errors: [...refused.values()],
      });
    }
    if (body.azione === 'paga') {
      if (wanted.length > MAX_CART) return renderCart(request, reply, { status: 400, error: `Puoi pagare al massimo ${MAX_CART} avvisi alla volta.` });
      return pay(request, reply, wanted, request.user?.email ?? undefined, false);
    }
    const cart = cartOf(request);
    const fresh = wanted.filter((w) => !cart.some((c) => key(c) === key(w)));
    if (cart.length + fresh.length > MAX_CART) {
      return renderCart(request, reply, {
        status: 409,
        error: `Il carrello può contenere al massimo ${MAX_CART} avvisi: paga o rimuovi quelli presenti prima di aggiungerne altri.`,
      });
    }
    request.session.portalCart = [...cart, ...fresh];
    const added = fresh.length;
    return reply.redirect(`/carrello?aggiunti=${added}`, 303);
  });

  app.post<{ Body: { _csrf?: string; chiave: string } }>(
    '/carrello/rimuovi',
    { schema: { body: { type: 'object', properties: { _csrf: { type: 'string' }, chiave: { type: 'string', maxLength: 40 } }, required: ['chiave'], additionalProperties: false } } },
    async (request, reply) => {
      request.session.portalCart = cartOf(request).filter((e) => key(e) !== request.body.chiave);
      return reply.redirect('/carrello', 303);
    },
  );

  app.post('/carrello/svuota', { schema: { body: { type: 'object', properties: { _csrf: { type: 'string' } }, additionalProperties: false } } }, async (request, reply) => {
    request.session.portalCart = [];
    return reply.redirect('/carrello', 303);
  });

  app.post<{ Body: { _csrf?: string; email?: string } }>(
    '/carrello/paga',
    { schema: { body: { type: 'object', properties: { _csrf: { type: 'string' }, email: { type: 'string', maxLength: 256 } }, additionalProperties: false } } },
    async (request, reply) => {
      const email = request.body.email?.trim() ?? '';
      if (email && !EMAIL_PATTERN.test(email)) {
        return renderCart(request, reply, { status: 400, email, emailError: 'Indirizzo email non valido: scrivilo nella forma nome@dominio.it, oppure lascia il campo vuoto.' });
      }
      const entries = cartOf(request);
      if (entries.length === 0) return renderCart(request, reply, { status: 400, error: 'Il carrello è vuoto: aggiungi almeno un avviso da pagare.' });
      return pay(request, reply, entries, email || undefined, true);
    },
  );
}
