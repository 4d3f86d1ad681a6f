/**
 * Public event pages (no login; plain links and forms, they work without JavaScript):
 *
 * - GET  /eventi                     the list: filters comune, zona, categoria, periodo (oggi,
 *                                    fine-settimana, 7-giorni) or dal/al, paging (`pagina`)
 * - GET  /eventi/:id                 an event: picture, when and where, .ics, OpenStreetMap and
 *                                    `geo:` links, share links, JSON-LD Event, Open Graph, similar
 *                                    events; `/eventi/:id/<anything>` redirects there
 * - GET  /eventi/:id.ics             the event's iCalendar file ("Aggiungi al calendario")
 * - GET  /il-mio-comune              the chosen comune: stemma, slogan, zone, pagoPA services with
 *   POST /il-mio-comune              "Paga" links, upcoming events, news; POST chooses it
 * - GET  /i-miei-eventi              saved events and events like the chosen categories and comuni
 *   POST /i-miei-eventi/salva, /i-miei-eventi/rimuovi, /i-miei-eventi/preferenze
 *
 * Choices are kept in cookies for anonymous visitors and in the database once signed in
 * (citizen-choices.ts). The list, whose data are the same for every visitor, is computed once
 * per database state and rendered once per state and visitor header (public-cache.ts and the
 * views' page reuse).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { isIsoDate } from '../../domain/iso-date.js';
import { romeDay } from '../conservazione/dates.js';
import { isPayableEnte, listServices } from '../enti/repository.js';
import { cartCount } from '../portal/cart.js';
import { logoOf, telHref } from '../portal/routes.js';
import { amountRule } from '../portal/spontaneous.js';
import { slugify } from './categories.js';
import {
  CATEGORIES_COOKIE,
  COMUNI_COOKIE,
  MAX_FOLLOWED,
  MAX_SAVED,
  MY_COMUNE_COOKIE,
  SAVED_COOKIE,
  choicesFromCookies,
  choicesOf,
  saveEvents,
  savePreferences,
  setChoiceCookie,
  unsaveEvent,
} from './citizen-choices.js';
import { eventsCalendar } from './ics.js';
import { listPublishedNews } from './news-repository.js';
import { PublicDataCache } from './public-cache.js';
import { PERIODS, PERIOD_LABELS, formatWhen, type Period, periodRange } from './public-format.js';
import {
  comuneById,
  enteIdsOfZone,
  eventOccurrenceDates,
  filterChoices,
  getPublicEvent,
  listOccurrences,
  savedEventCards,
  similarEvents,
  similarTo,
  upcomingForEnte,
  type FilterChoices,
  type ListFilters,
} from './public-queries.js';
import { cardView, eventJsonLd, jsonForScript, linksOf, mapLinks, openGraph, paragraphs, pictureOf, price, shareLinks } from './public-view.js';

export const PAGE_SIZE = 12;
const MAX_PAGE = 1000;
const IPA = '^[a-z0-9_]{2,20}$';
const SLUG = '^[a-z0-9-]{1,60}$';
const DAY_OR_EMPTY = '^(|[0-9]{4}-[0-9]{2}-[0-9]{2})$';

const listQuery = {
  type: 'object',
  properties: {
    comune: { type: 'string', anyOf: [{ pattern: IPA }, { maxLength: 0 }] },
    zona: { type: 'string', anyOf: [{ pattern: SLUG }, { maxLength: 0 }] },
    categoria: { type: 'string', anyOf: [{ pattern: SLUG }, { maxLength: 0 }] },
    periodo: { type: 'string', enum: ['', ...PERIODS] },
    dal: { type: 'string', pattern: DAY_OR_EMPTY },
    al: { type: 'string', pattern: DAY_OR_EMPTY },
    pagina: { type: 'string', pattern: '^[0-9]{1,4}$' },
  },
  additionalProperties: false,
} as const;

export interface ListQuery {
  comune?: string;
  zona?: string;
  categoria?: string;
  periodo?: '' | Period;
  dal?: string;
  al?: string;
  pagina?: string;
}

const idParams = { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]{1,9}$' } }, required: ['id'] } as const;

/** The list's filters from its query, or an Italian message for what cannot be shown. */
export function resolveListFilters(
  q: ListQuery,
  choices: FilterChoices,
  today: string,
): { filters: ListFilters; page: number; error: string | null; status: number; label: string[] } {
  const label: string[] = [];
  let error: string | null = null;
  let status = 200;
  const page = Math.min(MAX_PAGE, Math.max(1, Number(q.pagina ?? '1') || 1));
  let enteIds: number[] | null = null;
  if (q.comune) {
    const c = choices.comuni.find((x) => x.ipaCode === q.comune);
    if (!c) {
      error = 'Il comune scelto non esiste: scegline uno dall’elenco.';
      status = 404;
      enteIds = [];
    } else {
      enteIds = [c.id];
      label.push(c.name);
    }
  } else if (q.zona) {
    const z = choices.zones.find((x) => x.slug === q.zona);
    if (!z) {
      error = 'La zona scelta non esiste: scegline una dall’elenco.';
      status = 404;
      enteIds = [];
    } else {
      enteIds = enteIdsOfZone(choices, z.name);
      label.push(`zona ${z.name}`);
    }
  }
  let categoryId: number | null = null;
  if (q.categoria) {
    const cat = choices.categories.find((x) => x.slug === q.categoria);
    if (!cat) {
      error = 'La categoria scelta non esiste: scegline una dall’elenco.';
      status = 404;
      enteIds = [];
    } else {
      categoryId = cat.id;
      label.push(cat.name);
    }
  }
  let fromDay = today;
  let toDay: string | null = null;
  if (q.dal || q.al) {
    if ((q.dal && !isIsoDate(q.dal)) || (q.al && !isIsoDate(q.al))) {
      error = 'Data non valida: usa il formato gg/mm/aaaa.';
      status = 400;
      enteIds = [];
    } else {
      fromDay = q.dal || today;
      toDay = q.al || null;
      if (toDay && toDay < fromDay) {
        error = 'La data finale è precedente a quella iniziale: correggi l’intervallo.';
        status = 400;
        enteIds = [];
      } else label.push(toDay ? `dal ${it(fromDay)} al ${it(toDay)}` : `dal ${it(fromDay)}`);
    }
  } else if (q.periodo) {
    const r = periodRange(q.periodo, today);
    fromDay = r.from;
    toDay = r.to;
    label.push(PERIOD_LABELS[q.periodo].toLowerCase());
  }
  return { filters: { enteIds, categoryId, fromDay, toDay }, page, error, status, label };
}

/** `2026-12-05` → `05/12/2026`. */
const it = (day: string) => `${day.slice(8, 10)}/${day.slice(5, 7)}/${day.slice(0, 4)}`;

/** The list's query string with `changes` (empty values left out). */
export function listHref(q: ListQuery, changes: Partial<Record<keyof ListQuery, string | undefined>>): string {
  const params = new URLSearchParams();
  for (const key of ['comune', 'zona', 'categoria', 'periodo', 'dal', 'al', 'pagina'] as const) {
    const v = key in changes ? changes[key] : q[key];
    if (v) params.set(key, v);
  }
  const s = params.toString();
  return s ? `/eventi?${s}` : '/eventi';
}

export default async function publicRoutes(app: FastifyInstance) {
  const ctx = app.events;
  const cache = new PublicDataCache(app.db);
  const today = () => romeDay(ctx.now());
  const secure = app.config.isProduction;
  const choicesCached = () => cache.get('choices', () => filterChoices(app.db));

  // ------------------------------------------------------------------ /eventi

  app.get<{ Querystring: ListQuery }>('/eventi', { schema: { querystring: listQuery } }, async (request, reply) => {
    const q = request.query;
    const day = today();
    const key = `list\u0000${day}\u0000${listHref(q, {})}`;
    const data = await cache.get(key, async () => {
      const choices = await choicesCached();
      const r = resolveListFilters(q, choices, day);
      const { items, hasNext } = r.error ? { items: [], hasNext: false } : await listOccurrences(app.db, r.filters, r.page, PAGE_SIZE);
      const comune = q.comune ? choices.comuni.find((c) => c.ipaCode === q.comune) : undefined;
      const category = q.categoria ? choices.categories.find((c) => c.slug === q.categoria) : undefined;
      const feedQuery = new URLSearchParams({ ...(comune ? { comune: comune.ipaCode } : {}), ...(category ? { categoria: category.slug } : {}) }).toString();
      return {
        status: r.status,
        page: {
          title: r.label.length ? `Eventi: ${r.label.join(', ')}` : 'Eventi',
          heading: r.label.length ? `Eventi – ${r.label.join(', ')}` : 'Eventi nel territorio',
          error: r.error,
          cards: items.map(cardView),
          pageNumber: r.page,
          prevHref: r.page > 1 ? listHref(q, { pagina: r.page > 2 ? String(r.page - 1) : undefined }) : null,
          nextHref: hasNext ? listHref(q, { pagina: String(r.page + 1) }) : null,
          showPager: r.page > 1 || hasNext,
          filtered: Boolean(q.comune || q.zona || q.categoria || q.periodo || q.dal || q.al),
          form: { dal: q.dal ?? '', al: q.al ?? '' },
          comuni: choices.comuni.map((c) => ({ value: c.ipaCode, name: c.name, selected: c.ipaCode === q.comune })),
          zones: choices.zones.map((z) => ({ value: z.slug, name: z.name, selected: z.slug === q.zona })),
          categories: choices.categories.map((c) => ({ value: c.slug, name: c.name, selected: c.slug === q.categoria })),
          periods: PERIODS.map((p) => ({ value: p, name: PERIOD_LABELS[p], checked: q.periodo === p })),
          anyPeriod: !q.periodo,
          feeds: {
            rss: `/eventi/feed/rss.xml${feedQuery ? `?${feedQuery}` : ''}`,
            atom: `/eventi/feed/atom.xml${feedQuery ? `?${feedQuery}` : ''}`,
            ics: comune ? `/eventi/feed/comune/${comune.ipaCode}.ics` : category ? `/eventi/feed/categoria/${category.slug}.ics` : null,
            icsLabel: comune ? `gli eventi di ${comune.name}` : category ? `gli eventi “${category.name}”` : null,
          },
          headLinks: [
            { rel: 'alternate', type: 'application/rss+xml', title: 'Eventi (RSS)', href: `/eventi/feed/rss.xml${feedQuery ? `?${feedQuery}` : ''}` },
            { rel: 'alternate', type: 'application/atom+xml', title: 'Eventi (Atom)', href: `/eventi/feed/atom.xml${feedQuery ? `?${feedQuery}` : ''}` },
          ],
        },
      };
    });
    reply.code(data.status);
    // The data object is the page's owner: rendered once per database state, query and visitor header.
    return reply.page('events/pub-list', { ...data.page, cartCount: cartCount(request) }, { reuse: { owner: data, key: String(cartCount(request)) } });
  });

  // ------------------------------------------------------------------ one event

  async function publicEventOr404(id: string) {
    const e = await getPublicEvent(app.db, Number(id));
    if (!e) throw new HttpError(404, 'Evento non trovato: potrebbe essere stato ritirato dal comune.');
    return e;
  }

  app.get<{ Params: { id: string } }>('/eventi/:id(^\\d+)', { schema: { params: idParams } }, async (request, reply) => {
    const e = await publicEventOr404(request.params.id);
    const day = today();
    const occurrences = await eventOccurrenceDates(app.db, e.id);
    const upcoming = occurrences.filter((o) => o.endDay >= day);
    const shown = upcoming[0] ?? occurrences[occurrences.length - 1] ?? { startsAt: e.startsAt, endsAt: e.endsAt, startDay: day, endDay: day };
    const choices = await choicesOf(app.db, request);
    const url = `${app.config.publicUrl}/eventi/${e.id}`;
    const picture = pictureOf(e, '(min-width: 992px) 720px, 100vw', 960);
    const absolute = (u: string) => `${app.config.publicUrl}${u}`;
    const similar = await similarTo(app.db, e, day, 3);
    const map = mapLinks(e);
    const comuneName = e.enteName.replace(/^Comune di /, '');
    return reply.page('events/pub-event', {
      title: e.title,
      csrf: true,
      flash: takeFlash(request),
      e,
      comuneName,
      comuneHref: e.enteKind === 'comune' ? `/comuni/${e.enteIpaCode}` : null,
      cancelled: e.status === 'cancelled',
      when: formatWhen({ ...shown, allDay: e.allDay }),
      whenIso: shown.startsAt,
      past: upcoming.length === 0,
      nextDates: upcoming.length > 1 ? upcoming.slice(1, 9).map((o) => ({ when: formatWhen({ ...o, allDay: e.allDay }), startsAt: o.startsAt })) : [],
      moreDates: Math.max(0, upcoming.length - 9),
      weekly: e.recurrence === 'weekly',
      picture,
      price: price(e),
      map,
      phoneHref: telHref(e.contactPhone),
      links: linksOf(e.links),
      paragraphs: paragraphs(e.body),
      share: shareLinks(url, e.title),
      saved: choices.savedIds.includes(e.id),
      similar: similar.map(cardView),
      icsHref: `/eventi/${e.id}.ics`,
      listHref: e.enteKind === 'comune' ? `/eventi?comune=${e.enteIpaCode}` : '/eventi',
      comuneListLabel: e.enteKind === 'comune' ? `Tutti gli eventi di ${comuneName}` : 'Tutti gli eventi',
      jsonLd: jsonForScript(eventJsonLd(e, shown, { url, imageUrls: picture ? [absolute(picture.src)] : [] })),
      openGraph: openGraph(e, { url, image: picture ? { url: absolute(picture.src), width: picture.width, height: picture.height } : null, siteName: app.config.provinceName }),
      metaDescription: e.summary,
      canonicalUrl: url,
      cartCount: cartCount(request),
    });
  });

  app.get<{ Params: { id: string; slug: string } }>(
    '/eventi/:id(^\\d+)/:slug',
    { schema: { params: { type: 'object', properties: { id: idParams.properties.id, slug: { type: 'string', maxLength: 200 } }, required: ['id', 'slug'] } } },
    async (request, reply) => {
      const e = await publicEventOr404(request.params.id);
      return reply.redirect(`/eventi/${e.id}`, 301);
    },
  );

  app.get<{ Params: { id: string } }>('/eventi/:id(^\\d+).ics', { schema: { params: idParams } }, async (request, reply) => {
    const e = await publicEventOr404(request.params.id);
    const occurrences = await eventOccurrenceDates(app.db, e.id);
    const body = eventsCalendar(
      [
        {
          id: e.id,
          version: e.version,
          title: e.title,
          summary: e.summary,
          status: e.status === 'cancelled' ? 'cancelled' : 'published',
          cancelReason: e.cancelReason,
          allDay: e.allDay,
          recurring: e.recurrence === 'weekly',
          placeName: e.placeName,
          address: e.address,
          latitude: e.latitude,
          longitude: e.longitude,
          enteName: e.enteName,
          categoryName: e.categoryName,
          occurrences,
        },
      ],
      { publicUrl: app.config.publicUrl, now: ctx.now(), name: e.title },
    );
    return reply
      .type('text/calendar; charset=utf-8')
      .header('content-disposition', `attachment; filename="${slugify(e.title) || 'evento'}-${e.id}.ics"`)
      .send(body);
  });

  // ------------------------------------------------------------------ Il mio Comune

  app.get('/il-mio-comune', async (request, reply) => {
    const choices = await choicesOf(app.db, request);
    const all = await choicesCached();
    const ente = choices.myComuneId ? await comuneById(app.db, choices.myComuneId) : null;
    const options = all.comuni.map((c) => ({ id: c.id, name: c.name, selected: c.id === ente?.id }));
    if (!ente) {
      return reply.page('events/pub-mio-comune', { title: 'Il mio Comune', csrf: true, comuni: options, chosen: null, cartCount: cartCount(request) });
    }
    const day = today();
    const payable = await isPayableEnte(app.db, ente.id);
    const services = payable
      ? (await listServices(app.db, ente.id, { activeOnly: true })).map((s) => {
          const rule = amountRule(s);
          return {
            name: s.name,
            description: s.description,
            spontaneous: s.spontaneous,
            href: s.spontaneous ? `/comuni/${ente.ipaCode}/servizi/${s.code}` : `/paga-avviso?ente=${ente.id}`,
            amount: s.spontaneous ? (rule.fixed ? `Importo fisso ${rule.fixed}` : rule.hint || null) : 'Con l’avviso di pagamento ricevuto',
          };
        })
      : [];
    const upcoming = await upcomingForEnte(app.db, ente.id, day, 6);
    const news = await listPublishedNews(app.db, { enteId: ente.id, limit: 3 });
    const name = ente.name.replace(/^Comune di /, '');
    return reply.page('events/pub-mio-comune', {
      title: `Il mio Comune: ${name}`,
      csrf: true,
      comuni: options,
      chosen: {
        ente,
        name,
        logo: logoOf(ente.logoPath),
        comuneHref: `/comuni/${ente.ipaCode}`,
        payable,
        services,
        events: upcoming.map(cardView),
        eventsHref: `/eventi?comune=${ente.ipaCode}`,
        icsHref: `/eventi/feed/comune/${ente.ipaCode}.ics`,
        news: news.map((n) => ({ title: n.title, summary: n.summary, href: `/notizie/${n.id}`, publishedAt: n.publishedAt })),
      },
      cartCount: cartCount(request),
    });
  });

  app.post<{ Body: { comune: string } }>(
    '/il-mio-comune',
    { schema: { body: { type: 'object', properties: { comune: { type: 'string', pattern: '^[0-9]{1,9}$' }, _csrf: { type: 'string' } }, required: ['comune'] } } },
    async (request, reply) => {
      const ente = await comuneById(app.db, Number(request.body.comune));
      if (!ente) throw new HttpError(404, 'Il comune scelto non esiste: scegline uno dall’elenco.');
      if (request.user) await savePreferences(app.db, request.user.id, { myComuneId: ente.id }, ctx.now().toISOString());
      setChoiceCookie(reply, MY_COMUNE_COOKIE, [ente.id], secure);
      return reply.redirect('/il-mio-comune', 303);
    },
  );

  // ------------------------------------------------------------------ I miei eventi

  /** Moves what the cookies held into the signed-in citizen's rows, once, and clears the cookies. */
  async function adoptCookies(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!request.user) return;
    const c = choicesFromCookies(request);
    if (!c.savedIds.length && !c.categoryIds.length && !c.comuneIds.length && c.myComuneId === null) return;
    const nowIso = ctx.now().toISOString();
    await saveEvents(app.db, request.user.id, c.savedIds, nowIso);
    const mine = await choicesOf(app.db, request);
    await savePreferences(
      app.db,
      request.user.id,
      {
        myComuneId: mine.myComuneId ?? c.myComuneId,
        categoryIds: mine.categoryIds.length ? mine.categoryIds : c.categoryIds,
        comuneIds: mine.comuneIds.length ? mine.comuneIds : c.comuneIds,
      },
      nowIso,
    );
    for (const name of [SAVED_COOKIE, CATEGORIES_COOKIE, COMUNI_COOKIE, MY_COMUNE_COOKIE]) reply.clearCookie(name, { path: '/' });
  }

  app.get('/i-miei-eventi', async (request, reply) => {
    await adoptCookies(request, reply);
    const choices = await choicesOf(app.db, request);
    const all = await choicesCached();
    const day = today();
    const saved = await savedEventCards(app.db, choices.savedIds, day);
    // Like the chosen categories and comuni; without a choice, like the saved events and Il mio Comune.
    const chose = choices.categoryIds.length > 0 || choices.comuneIds.length > 0;
    const categoryIds = chose ? choices.categoryIds : [...new Set(saved.map((s) => s.categoryId))];
    const enteIds = chose ? choices.comuneIds : [...new Set([...saved.map((s) => s.enteId), ...(choices.myComuneId ? [choices.myComuneId] : [])])];
    const similar = await similarEvents(app.db, { categoryIds, enteIds, excludeEventIds: choices.savedIds, today: day, limit: 6 });
    return reply.page('events/pub-miei-eventi', {
      title: 'I miei eventi',
      csrf: true,
      flash: takeFlash(request),
      signedIn: Boolean(request.user),
      saved: saved.map(cardView),
      similar: similar.map(cardView),
      chose,
      basis: chose ? 'le categorie e i comuni che hai scelto' : saved.length || choices.myComuneId ? 'i tuoi eventi salvati e il tuo comune' : null,
      categories: all.categories.map((c) => ({ id: c.id, name: c.name, checked: choices.categoryIds.includes(c.id) })),
      comuni: all.comuni.map((c) => ({ id: c.id, name: c.name, selected: choices.comuneIds.includes(c.id) })),
      comuniChosen: choices.comuneIds.length,
      cartCount: cartCount(request),
    });
  });

  const eventBody = {
    type: 'object',
    properties: { evento: { type: 'string', pattern: '^[0-9]{1,9}$' }, ritorno: { type: 'string', enum: ['evento', 'elenco'] }, _csrf: { type: 'string' } },
    required: ['evento'],
  } as const;

  app.post<{ Body: { evento: string; ritorno?: 'evento' | 'elenco' } }>('/i-miei-eventi/salva', { schema: { body: eventBody } }, async (request, reply) => {
    const e = await publicEventOr404(request.body.evento);
    if (request.user) await saveEvents(app.db, request.user.id, [e.id], ctx.now().toISOString());
    else {
      const saved = choicesFromCookies(request).savedIds.filter((id) => id !== e.id);
      setChoiceCookie(reply, SAVED_COOKIE, [e.id, ...saved].slice(0, MAX_SAVED), secure);
    }
    setFlash(request, 'Evento salvato tra i tuoi eventi: lo trovi in “I miei eventi”.');
    return reply.redirect(request.body.ritorno === 'elenco' ? '/i-miei-eventi' : `/eventi/${e.id}`, 303);
  });

  app.post<{ Body: { evento: string; ritorno?: 'evento' | 'elenco' } }>('/i-miei-eventi/rimuovi', { schema: { body: eventBody } }, async (request, reply) => {
    const id = Number(request.body.evento);
    if (request.user) await unsaveEvent(app.db, request.user.id, id);
    else setChoiceCookie(reply, SAVED_COOKIE, choicesFromCookies(request).savedIds.filter((x) => x !== id), secure);
    setFlash(request, 'Evento tolto dai tuoi eventi.');
    return reply.redirect(request.body.ritorno === 'evento' ? `/eventi/${id}` : '/i-miei-eventi', 303);
  });

  app.post<{ Body: { categorie?: string | string[]; comuni?: string | string[] } }>(
    '/i-miei-eventi/preferenze',
    {
      schema: {
        body: {
          type: 'object',
          properties: {
            categorie: { anyOf: [{ type: 'string', pattern: '^[0-9]{1,9}$' }, { type: 'array', maxItems: MAX_FOLLOWED, items: { type: 'string', pattern: '^[0-9]{1,9}$' } }] },
            comuni: { anyOf: [{ type: 'string', pattern: '^[0-9]{1,9}$' }, { type: 'array', maxItems: MAX_FOLLOWED, items: { type: 'string', pattern: '^[0-9]{1,9}$' } }] },
            _csrf: { type: 'string' },
          },
        },
      },
    },
    async (request, reply) => {
      const all = await choicesCached();
      const list = (v: string | string[] | undefined) => [...new Set((Array.isArray(v) ? v : v ? [v] : []).map(Number))];
      const categoryIds = list(request.body.categorie).filter((id) => all.categories.some((c) => c.id === id));
      const comuneIds = list(request.body.comuni).filter((id) => all.comuni.some((c) => c.id === id));
      if (request.user) await savePreferences(app.db, request.user.id, { categoryIds, comuneIds }, ctx.now().toISOString());
      else {
        setChoiceCookie(reply, CATEGORIES_COOKIE, categoryIds, secure);
        setChoiceCookie(reply, COMUNI_COOKIE, comuneIds, secure);
      }
      return reply.redirect('/i-miei-eventi', 303);
    },
  );
}
