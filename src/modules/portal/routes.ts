/**
 * Citizen portal pages (Bootstrap Italia, Modello Comuni patterns, Italian):
 *
 * - GET  /                               the province's payments portal: member comuni (search), what can be
 *                                        paid, "Paga un avviso" box, login buttons, featured events and latest news
 * - GET  /comuni/:ipa                    a comune: stemma, name, slogan, zone, payment services, latest news, contacts, hours;
 *                                        a comune not (yet) payable here: how to pay its notices and how it can join
 * - GET  /paga-avviso                    pay a notice without login: codiceAvviso + ente (picked or by fiscal code;
 *                                        `?ente=<id>` alone preselects the ente, as the comune page links it)
 *                                        → amount, due date, description as of now, or a clear message
 * - GET  /privacy, /accessibilita, /note-legali   information pages
 * - GET  /accesso, POST /logout          login entry (SPID/CIE buttons) and logout (wired by the SPID module)
 * - cart.ts, outcome.ts, personal-area.ts, spontaneous.ts: the rest of the flows.
 *
 * Core flows (pay a notice, login, cart) are plain links and forms: they work without JavaScript.
 */
import type { FastifyInstance } from 'fastify';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { isPayableEnte, listEnti, listServices, type Ente } from '../enti/repository.js';
import { paymentServices } from '../enti/schema.js';
import { HttpError } from '../../plugins/errors.js';
import cartRoutes, { cartAlternativeTo, cartCount } from './cart.js';
import { cachedCatalogueData } from './catalogue-cache.js';
import { lookupNotice, type LookupInput } from './lookup.js';
import outcomeRoutes from './outcome.js';
import personalAreaRoutes from './personal-area.js';
import spontaneousRoutes, { amountRule, enteByIpa } from './spontaneous.js';
import { homeHighlights } from '../events/home-highlights.js';
import { listPublishedNews } from '../events/news-repository.js';
import { upcomingForEnte } from '../events/public-queries.js';
import { romeDay } from '../conservazione/dates.js';
import { cardView } from '../events/public-view.js';
import { newsCard } from '../events/news-view.js';

const homeQuery = {
  type: 'object',
  properties: { q: { type: 'string', maxLength: 80 } },
  additionalProperties: false,
} as const;

const lookupQuery = {
  type: 'object',
  properties: {
    codiceAvviso: { type: 'string', maxLength: 40 },
    ente: { type: 'string', pattern: '^[0-9]{0,9}$' },
    cfEnte: { type: 'string', maxLength: 20 },
  },
  additionalProperties: false,
} as const;

/** Logo of an ente: its own file under /static or uploaded by the SAEL (/stemmi), or the generic emblem. */
export function logoOf(logoPath: string | null): string {
  return logoPath && (logoPath.startsWith('/static/') || logoPath.startsWith('/stemmi/')) ? logoPath : '/static/img/stemma.svg';
}

/** `tel:` target of an Italian telephone number as typed by the SAEL ("0874 000 001" → +390874000001). */
export function telHref(phone: string | null): string | null {
  if (!phone) return null;
  const digits = phone.replace(/[^0-9+]/g, '');
  if (!/^\+?[0-9]{5,15}$/.test(digits)) return null;
  return digits.startsWith('+') ? digits : `+39${digits}`;
}

export default async function portalModule(app: FastifyInstance) {
  /** Enti a notice can be paid to on this portal (the province first, then the comuni by their bare name). */
  const payableEnti = async () =>
    await cachedCatalogueData(app.db, 'payable-enti', async () =>
            (await listEnti(app.db, { payable: true })).map((e) => ({ id: e.id, name: e.kind === 'comune' ? e.name.replace(/^Comune di /, '') : e.name })),
          );
  /** "Comuni aderenti": members with an active service and an active IBAN (listEnti's `payable`). */
  const memberComuni = async (q?: string) => (await listEnti(app.db, { kind: 'comune', payable: true, q })).map((e) => ({ ...e, href: `/comuni/${e.ipaCode}` }));
  /** What the home shows without a search: the same for every visitor until an ente or service changes. */
  const homeLists = async () =>
    await cachedCatalogueData(app.db, 'home', async () => ({
            members: await memberComuni(),
            others: await (async () => {
              const listed = new Set((await memberComuni()).map((e) => e.id));
              return (await listEnti(app.db, { kind: 'comune' }))
                .filter((e) => !listed.has(e.id))
                .map((e) => ({ name: e.name, href: `/comuni/${e.ipaCode}` }));
            })(),
            // What can be paid: the services offered by the enti payable on the portal, by name.
            serviceNames: [
              ...new Set(
                (await app.db
                              .select({ name: paymentServices.name })
                              .from(paymentServices)
                              .where(and(inArray(paymentServices.enteId, (await listEnti(app.db, { payable: true })).map((e) => e.id)), eq(paymentServices.active, true)))
                              .orderBy(asc(paymentServices.name)))
                  .map((s) => s.name),
              ),
            ],
          }));

  /** What a comune's page shows: the same for every visitor until an ente or service changes. */
  const comunePage = async (ente: Ente) => {
    const payable = await isPayableEnte(app.db, ente.id);
    return {
      ente,
      payable,
      /** Who to ask about joining (the province's SAEL), for the page of a comune not payable here. */
      sael: payable ? null : ((await listEnti(app.db, { kind: 'provincia' }))[0] ?? null),
      services: payable
        ? (await listServices(app.db, ente.id, { activeOnly: true })).map((s) => {
            const rule = amountRule(s);
            return {
              name: s.name,
              description: s.description,
              spontaneous: s.spontaneous,
              href: `/comuni/${ente.ipaCode}/servizi/${s.code}`,
              amount: s.spontaneous ? (rule.fixed ? `Importo fisso ${rule.fixed}` : rule.hint || null) : null,
            };
          })
        : [],
    };
  };
  /** The comune pages asked since the last change of an ente or service, by IPA code. */
  const comunePages = async () => await cachedCatalogueData(app.db, 'comune-pages', () => new Map<string, Awaited<ReturnType<typeof comunePage>>>());

  app.get<{ Querystring: { q?: string } }>('/', { schema: { querystring: homeQuery } }, async (request, reply) => {
    const q = request.query.q?.trim() ?? '';
    const lists = await homeLists();
    const members = q ? await memberComuni(q) : lists.members;
    const others = q ? [] : lists.others;
    const serviceNames = lists.serviceNames;
    // Featured events and the latest news (events module); the clock is the app's (tests inject it).
    const highlights = await homeHighlights(app.db, app.events?.now() ?? new Date());
    return reply.page('portal/home', {
      featuredEvents: highlights.featured,
      latestNews: highlights.news,
      title: 'Home',
      q,
      members,
      others,
      othersCount: others.length,
      serviceNames,
      payableEnti: await payableEnti(),
      cartCount: cartCount(request),
      ...(request.user ? {} : app.spid?.loginPageData('/area-personale')),
    });
  });

  app.get<{ Params: { ipa: string } }>(
    '/comuni/:ipa',
    { schema: { params: { type: 'object', properties: { ipa: { type: 'string', pattern: '^[a-z0-9_]{2,20}$' } }, required: ['ipa'] } } },
    async (request, reply) => {
      const pages = await comunePages();
      let data = pages.get(request.params.ipa);
      if (!data) {
        const found = await enteByIpa(app, request.params.ipa);
        if (!found) throw new HttpError(404, 'Comune non trovato.');
        data = await comunePage(found);
        pages.set(request.params.ipa, data); // only enti that exist: as many entries as enti
      }
      const { ente, services, payable, sael } = data;
      if (!payable) {
        return reply.page('portal/comune-join', {
          title: ente.name,
          ente,
          logo: logoOf(ente.logoPath),
          sael,
          saelPhoneHref: telHref(sael?.phone ?? null),
          joinMailto: sael?.email ? `mailto:${sael.email}?subject=${encodeURIComponent(`Adesione del ${ente.name} ai pagamenti pagoPA del portale provinciale`)}` : null,
          cartCount: cartCount(request),
        });
      }
      // The comune's latest news (not cached with the page: news change without touching the enti).
      const news = (await listPublishedNews(app.db, { enteId: ente.id, limit: 3 })).map(newsCard);
      // Its next events (not cached with the page either).
      const upcoming = (await upcomingForEnte(app.db, ente.id, romeDay(app.events?.now() ?? new Date()), 3)).map(cardView);
      return reply.page('portal/comune', {
        title: ente.name,
        ente,
        news,
        upcoming,
        phoneHref: telHref(ente.phone),
        logo: logoOf(ente.logoPath),
        services,
        spontaneous: services.filter((s) => s.spontaneous),
        byNotice: services.filter((s) => !s.spontaneous),
        cartCount: cartCount(request),
      });
    },
  );

  app.get<{ Querystring: { codiceAvviso?: string; ente?: string; cfEnte?: string } }>(
    '/paga-avviso',
    {
      schema: { querystring: lookupQuery },
      // Looking up notices by number must not become a way to enumerate them.
      config: { rateLimit: { max: Math.max(20, Math.floor(app.config.rateLimitPerMinute / 5)), timeWindow: '1 minute' } },
    },
    async (request, reply) => {
      const q = request.query;
      const input: LookupInput = { codiceAvviso: q.codiceAvviso, ente: q.ente ? Number(q.ente) : undefined, cfEnte: q.cfEnte };
      // `?ente=<id>` alone (the comune page's "Paga un avviso") only preselects the ente.
      const asked = q.codiceAvviso !== undefined || q.cfEnte !== undefined;
      const result = asked ? await lookupNotice(app.db, input) : null;
      const failed = result && !result.ok ? result : null;
      reply.header('cache-control', 'no-store');
      return reply.code(failed ? failed.status : 200).page('portal/pay-notice', {
        title: result?.ok ? 'Riepilogo dell’avviso' : 'Paga un avviso',
        csrf: Boolean(result?.ok),
        payableEnti: (await payableEnti()).map((e) => ({ ...e, selected: e.id === input.ente })),
        form: { codiceAvviso: q.codiceAvviso ?? '', cfEnte: q.cfEnte ?? '' },
        notice: result?.ok ? result.notice : null,
        // An alternative option of the same position is in the cart: this one cannot join it.
        cartAlternative: result?.ok ? await cartAlternativeTo(app.db, request, result.notice) : null,
        noticeError: failed?.field === 'codiceAvviso' ? failed.message : null,
        enteError: failed?.field === 'ente' ? failed.message : null,
        outcomeError: failed && failed.field === null ? failed.message : null,
        outcomeKind: failed?.code === 'PAA_PAGAMENTO_DUPLICATO' ? 'info' : 'danger',
        cartCount: cartCount(request),
        loggedIn: Boolean(request.user),
      });
    },
  );

  const infoPages: Record<string, string> = {
    '/privacy': 'portal/privacy',
    '/accessibilita': 'portal/accessibility',
    '/note-legali': 'portal/legal',
  };
  for (const [url, template] of Object.entries(infoPages)) {
    app.get(url, async (request, reply) => reply.page(template, { title: undefined, cartCount: cartCount(request) }));
  }

  app.get<{ Querystring: { next?: string } }>(
    '/accesso',
    { schema: { querystring: { type: 'object', properties: { next: { type: 'string', maxLength: 1024 } }, additionalProperties: false } } },
    async (request, reply) => {
      if (request.user) return reply.redirect('/');
      return reply.page('portal/login', { title: 'Accedi', cartCount: cartCount(request), ...app.spid?.loginPageData(request.query.next) });
    },
  );

  app.post('/logout', { schema: { body: { type: 'object', properties: { _csrf: { type: 'string' } } } } }, async (request, reply) => {
    // SPID/CIE sessions: single logout with the IdP (ends the local session first).
    if (request.session.spid && app.spid) return app.spid.logout(request, reply);
    await request.session.destroy();
    return reply.redirect('/', 303);
  });

  await app.register(cartRoutes);
  await app.register(outcomeRoutes);
  await app.register(personalAreaRoutes);
  await app.register(spontaneousRoutes);
}
