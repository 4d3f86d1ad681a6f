/**
 * Area personale (SPID/CIE login): every position whose debtor is the user, across all comuni.
 *
 * - GET  /area-personale                          "Da pagare" / "Pagati" / "Scaduti" (+ "Annullati"), with
 *                                                 installments; checkboxes → cart or straight to Checkout
 * - GET  /area-personale/posizioni/:id            one position: options, installments, receipts
 * - GET  /area-personale/avvisi/:optionId.pdf     the pagoPA notice PDF of an unpaid option
 * - GET  /area-personale/storico                  receipts and payments started
 * - GET|POST /area-personale/profilo              name, fiscal code, email for receipts
 *
 * Anything that is not the user's answers 404 (as a missing one). Anonymous GETs go to the login page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../../plugins/errors.js';
import { auditContext } from '../../plugins/audit/index.js';
import { getEnte } from '../enti/repository.js';
import { upsertUser } from '../users/repository.js';
import { sendNoticePdf } from '../positions/notice-reply.js';
import { getPositionById } from '../positions/repository.js';
import { cartCount, EMAIL_PATTERN, MAX_CART } from './cart.js';
import { citizenCarts, citizenOption, citizenPositions, citizenReceipts, present } from './citizen.js';
import { cachedCitizenSections } from './citizen-cache.js';
import { personalAreaFragments } from './fragments.js';

/** For pages: anonymous → the login page, coming back here afterwards. */
export function loginRedirect(request: FastifyRequest, reply: FastifyReply): FastifyReply | null {
  if (request.user) return null;
  return reply.redirect(`/accesso?next=${encodeURIComponent(request.url)}`, 303);
}

const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;

export default async function personalAreaRoutes(app: FastifyInstance) {
  app.get<{ Querystring: { pagina?: number } }>(
    '/area-personale',
    { schema: { querystring: { type: 'object', properties: { pagina: { type: 'integer', minimum: 1, maximum: 10000 } }, additionalProperties: false } } },
    async (request, reply) => {
      const redirect = loginRedirect(request, reply);
      if (redirect) return redirect;
      const user = request.user!;
      // The citizen's data version came with the session (auth.ts): no statement of its own.
      const g = await cachedCitizenSections(app.db, user.fiscalCode, request.query.pagina ?? 1, undefined, user.dataVersion);
      reply.header('cache-control', 'private, no-store');
      const count = cartCount(request);
      // The page is a function of the cached sections and the cart count: rendered once for them
      // and reused (each response with its own CSRF token and nonce, views.ts).
      return reply.page(
        'portal/personal-area',
        () => ({
          title: 'Area personale',
          cartCount: count,
          max: MAX_CART,
          ...g,
          prevPage: g.page > 1 ? g.page - 1 : null,
          nextPage: g.page < g.pages ? g.page + 1 : null,
          fragments: personalAreaFragments(g),
        }),
        { reuse: { owner: g, key: String(count) } },
      );
    },
  );

  app.get<{ Params: { id: number } }>('/area-personale/posizioni/:id', { schema: { params: idParams } }, async (request, reply) => {
    const redirect = loginRedirect(request, reply);
    if (redirect) return redirect;
    const [position] = present(await citizenPositions(app.db, request.user!.fiscalCode, { positionId: request.params.id }));
    if (!position) throw new HttpError(404, 'Posizione non trovata tra le tue posizioni.');
    const visible = position.options.filter((o) => o.group !== 'hidden');
    reply.header('cache-control', 'private, no-store');
    return reply.page('portal/position', {
      title: position.description,
      cartCount: cartCount(request),
      position,
      options: visible,
      anyPayable: visible.some((o) => o.payable),
      hasInstallments: visible.some((o) => o.label !== 'Unica soluzione'),
    });
  });

  app.get<{ Params: { id: number } }>('/area-personale/avvisi/:id.pdf', { schema: { params: idParams } }, async (request, reply) => {
    if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per scaricare l’avviso.');
    const own = await citizenOption(app.db, request.user.fiscalCode, request.params.id);
    if (!own) throw new HttpError(404, 'Avviso non trovato tra le tue posizioni.');
    const ente = (await getEnte(app.db, own.enteId))!;
    const position = (await getPositionById(app.db, own.enteId, own.positionId))!;
    const option = position.options.find((o) => o.id === request.params.id)!;
    return sendNoticePdf(reply, {
      db: app.db,
      dataDir: app.config.dataDir,
      ente,
      position,
      option,
      fileName: `avviso-${option.noticeNumber}.pdf`,
      notPrintableMessage: 'Questo avviso non si può più scaricare: risulta pagato o annullato.',
    });
  });

  app.get('/area-personale/storico', async (request, reply) => {
    const redirect = loginRedirect(request, reply);
    if (redirect) return redirect;
    reply.header('cache-control', 'private, no-store');
    return reply.page('portal/history', {
      title: 'Storico dei pagamenti',
      cartCount: cartCount(request),
      receipts: await citizenReceipts(app.db, request.user!.fiscalCode),
      carts: await citizenCarts(app.db, request.user!.id),
    });
  });

  function profilePage(request: FastifyRequest, reply: FastifyReply, extra: { status?: number; email?: string; emailError?: string; saved?: boolean } = {}) {
    const user = request.user!;
    reply.header('cache-control', 'private, no-store');
    return reply.code(extra.status ?? 200).page('portal/profile', {
      title: 'Profilo',
      cartCount: cartCount(request),
      fullName: [user.name, user.familyName].filter(Boolean).join(' '),
      fiscalCode: user.fiscalCode,
      email: extra.email ?? user.email ?? '',
      emailError: extra.emailError,
      saved: extra.saved,
    });
  }

  app.get<{ Querystring: { salvato?: '1' } }>(
    '/area-personale/profilo',
    { schema: { querystring: { type: 'object', properties: { salvato: { type: 'string', enum: ['1'] } }, additionalProperties: false } } },
    async (request, reply) => {
      const redirect = loginRedirect(request, reply);
      if (redirect) return redirect;
      return profilePage(request, reply, { saved: request.query.salvato === '1' });
    },
  );

  app.post<{ Body: { _csrf?: string; email: string } }>(
    '/area-personale/profilo',
    { schema: { body: { type: 'object', properties: { _csrf: { type: 'string' }, email: { type: 'string', maxLength: 256 } }, required: ['email'], additionalProperties: false } } },
    async (request, reply) => {
      if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per modificare il profilo.');
      const email = request.body.email.trim();
      if (email && !EMAIL_PATTERN.test(email)) {
        return profilePage(request, reply, { status: 400, email, emailError: 'Indirizzo email non valido: scrivilo nella forma nome@dominio.it, oppure lascia il campo vuoto.' });
      }
      await upsertUser(app.db, { fiscalCode: request.user.fiscalCode, email: email || null }, auditContext(request));
      return reply.redirect('/area-personale/profilo?salvato=1', 303);
    },
  );
}
