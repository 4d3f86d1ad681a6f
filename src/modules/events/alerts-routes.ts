/**
 * The installable app and the alerts of new events (issue #17, part C):
 * - `/manifest.webmanifest`, `/icone/:name` (PNG icons drawn from public/img/app-icon.svg with
 *   sharp, once), `/sw.js` (the service worker, scope `/`: offline page, cached shell and event
 *   pages, Web Push display), `/offline` (the saved events, cached by the service worker);
 * - `/eventi/avvisi`: choose comuni and categories, then turn on Web Push on this device
 *   (public/js/push-alerts.js) and/or e-mail alerts (double opt-in: `/eventi/avvisi/conferma`,
 *   link valid 48 hours; one-click unsubscribe `/eventi/avvisi/disiscrizione`, RFC 8058 POST);
 * - the push API `/notifiche/push/{chiave,iscrizione,stato,aggiorna,disiscrizione}` (JSON, CSRF
 *   header like every cookie request; the browser keeps its subscription's management token) and
 *   `/notifiche/push/rinnova` (the service worker, when the browser replaces a subscription).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { eq } from 'drizzle-orm';
import { auditContext } from '../../plugins/audit/index.js';
import { pageModules } from '../../plugins/page-modules.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { romeDay } from '../conservazione/dates.js';
import { enti } from '../enti/schema.js';
import { enqueueNotifications } from '../notifications/outbox.js';
import { checkPushEndpoint, vapidKeys } from '../notifications/push.js';
import {
  confirmEmailAlerts,
  deletePushSubscriptionByToken,
  emailSubscriptionByConfirm,
  emailSubscriptionByUnsubscribeToken,
  interestsOf,
  interestsQuery,
  normaliseInterests,
  parseIdList,
  pushSubscriptionByToken,
  renewPushSubscription,
  requestEmailAlerts,
  savePushSubscription,
  unknownInterests,
  unsubscribeEmailAlerts,
  updatePushInterests,
  type Interests,
} from './alert-subscriptions.js';
import { choicesFromCookies, choicesOfUser } from './citizen-choices.js';
import { formatWhen } from './public-format.js';
import { filterChoices, savedEventCards } from './public-queries.js';
import { loadSharp } from './images.js';
import { maskEmail } from '../../domain/mask-email.js';
import { oneClickUnsubscribeBody, unsubscribeTokenQuery } from '../../plugins/unsubscribe-schemas.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ICON_SVG = path.join(ROOT, 'public', 'img', 'app-icon.svg');
const SW_SOURCE = path.join(ROOT, 'public', 'js', 'sw.js');

/** The icons the manifest names: file → pixel size. */
const ICONS: Record<string, number> = { 'app-192.png': 192, 'app-512.png': 512, 'apple-touch-icon.png': 180 };
const OTHER_COMUNI = 'Altri comuni';
const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[a-z]{2,}$/i;
const UNSUBSCRIBE_NOT_FOUND = 'Collegamento per la disiscrizione non valido: controlla di aver copiato l’indirizzo completo dall’e-mail.';
const CONFIRM_NOT_FOUND = 'Collegamento di conferma non valido: controlla di aver copiato l’indirizzo completo dall’e-mail, oppure iscriviti di nuovo.';

const idList = { anyOf: [{ type: 'string', pattern: '^[0-9]{1,9}$' }, { type: 'array', maxItems: 200, items: { type: 'string', pattern: '^[0-9]{1,9}$' } }] } as const;
const jsonIds = { type: 'array', maxItems: 200, uniqueItems: true, items: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } } as const;
const manageToken = { type: 'string', pattern: '^[A-Za-z0-9_-]{20,64}$' } as const;
const confirmQuery = {
  type: 'object',
  properties: {
    token: { type: 'string', pattern: '^[A-Za-z0-9_-]{20,64}$' },
    comuni: { type: 'string', maxLength: 2000 },
    categorie: { type: 'string', maxLength: 2000 },
  },
  required: ['token'],
  additionalProperties: false,
} as const;
const pushSubscriptionSchema = {
  type: 'object',
  properties: {
    endpoint: { type: 'string', minLength: 10, maxLength: 1000 },
    expirationTime: { type: ['number', 'null'] },
    keys: {
      type: 'object',
      properties: { p256dh: { type: 'string', pattern: '^[A-Za-z0-9_-]{80,100}={0,2}$' }, auth: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,50}={0,2}$' } },
      required: ['p256dh', 'auth'],
      additionalProperties: false,
    },
  },
  required: ['endpoint', 'keys'],
  additionalProperties: false,
} as const;

type FormBody = { _csrf?: string; email?: string; comuni?: string | string[]; categorie?: string | string[] };
interface PushBody {
  subscription: { endpoint: string; expirationTime?: number | null; keys: { p256dh: string; auth: string } };
  comuni: number[];
  categorie: number[];
  pagamenti?: boolean;
}

const asIds = (v: string | string[] | undefined): number[] => [...new Set(([] as string[]).concat(v ?? []).map(Number))];
const b64uBytes = (s: string) => Buffer.from(s.replace(/=+$/, ''), 'base64url').length;

/**
 * The service worker's text: its shell list with the pages' JavaScript modules, and its cache
 * version (changes whenever the worker, that list or the icon changes).
 */
function serviceWorkerText(modules: string[]): string {
  const source = fs.readFileSync(SW_SOURCE, 'utf8').replace('/* __PAGE_MODULES__ */', () => modules.map((u) => `${JSON.stringify(u)},`).join('\n  '));
  const version = crypto.createHash('sha256').update(source).update(fs.readFileSync(ICON_SVG)).digest('hex').slice(0, 12);
  return source.replace(/__SW_VERSION__/g, version);
}

export default async function alertsRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.events;
  const production = app.config.isProduction;
  const swText = serviceWorkerText(await pageModules());
  const iconCache = new Map<string, Promise<Buffer>>();
  /** Asks the notifications dispatcher to run soon (the confirmation e-mail). */
  const kickDispatch = () => (app as Partial<Pick<FastifyInstance, 'notifications'>>).notifications?.kick();

  // ---------------------------------------------------------------- the installable app

  app.get('/manifest.webmanifest', async (_request, reply) => {
    reply.type('application/manifest+json; charset=utf-8').header('cache-control', 'public, max-age=3600');
    return {
      id: '/',
      name: `Il mio Comune – ${app.config.provinceName}`,
      short_name: 'Il mio Comune',
      description: 'Gli eventi dei comuni della provincia, le notizie e i servizi di pagamento pagoPA, anche come app sul telefono.',
      lang: 'it',
      dir: 'ltr',
      start_url: '/il-mio-comune',
      scope: '/',
      display: 'standalone',
      orientation: 'any',
      background_color: '#ffffff',
      theme_color: '#0066cc',
      categories: ['government', 'events'],
      icons: [
        { src: '/icone/app-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
        { src: '/icone/app-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
        { src: '/icone/app-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
      ],
      shortcuts: [
        { name: 'Eventi', url: '/eventi', icons: [{ src: '/icone/app-192.png', sizes: '192x192', type: 'image/png' }] },
        { name: 'I miei eventi', url: '/i-miei-eventi', icons: [{ src: '/icone/app-192.png', sizes: '192x192', type: 'image/png' }] },
        { name: 'Paga un avviso', url: '/paga-avviso', icons: [{ src: '/icone/app-192.png', sizes: '192x192', type: 'image/png' }] },
      ],
    };
  });

  app.get<{ Params: { name: string } }>(
    '/icone/:name',
    { schema: { params: { type: 'object', properties: { name: { type: 'string', enum: Object.keys(ICONS) } }, required: ['name'], additionalProperties: false } } },
    async (request, reply) => {
      const size = ICONS[request.params.name]!;
      let png = iconCache.get(request.params.name);
      if (!png) {
        png = loadSharp().then((sharp) => sharp(ICON_SVG, { density: 300 }).resize(size, size).png({ compressionLevel: 9 }).toBuffer());
        iconCache.set(request.params.name, png);
        png.catch(() => iconCache.delete(request.params.name));
      }
      return reply.type('image/png').header('cache-control', 'public, max-age=86400').send(await png);
    },
  );

  app.get('/sw.js', async (_request, reply) =>
    // no-cache: the browser checks for a new worker at every navigation (it does at most daily anyway).
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').header('service-worker-allowed', '/').send(swText),
  );

  app.get('/offline', async (request, reply) => {
    const choices = request.user ? await choicesOfUser(app.db, request.user.id) : choicesFromCookies(request);
    const cards = await savedEventCards(app.db, choices.savedIds, romeDay(ctx.now()));
    reply.header('cache-control', 'no-cache');
    return reply.page('events/alerts-offline', {
      title: 'Sei offline',
      saved: cards.map((c) => ({ ...c, when: formatWhen(c), cancelled: c.status === 'cancelled' })),
    });
  });

  // ---------------------------------------------------------------- the alerts page

  /** Comuni grouped by zone, the categories, with `chosen` marked. */
  async function choicesView(chosen: Interests) {
    const fc = await filterChoices(app.db);
    const enteSet = new Set(chosen.enti);
    const catSet = new Set(chosen.categories);
    const province = await app.db.select({ id: enti.id, name: enti.name }).from(enti).where(eq(enti.kind, 'provincia')).limit(1);
    const byZone = new Map<string, { id: number; name: string; checked: boolean }[]>();
    for (const c of fc.comuni) {
      const zone = c.zone ?? OTHER_COMUNI;
      if (!byZone.has(zone)) byZone.set(zone, []);
      byZone.get(zone)!.push({ id: c.id, name: c.name, checked: enteSet.has(c.id) });
    }
    const zoneOrder = new Map(fc.zones.map((z, i) => [z.name, i]));
    const groups = [...byZone.entries()]
      // The zones in their order, "Altri comuni" (no zone yet) last.
      .sort(([a], [b]) => Number(a === OTHER_COMUNI) - Number(b === OTHER_COMUNI) || (zoneOrder.get(a) ?? 999) - (zoneOrder.get(b) ?? 999) || a.localeCompare(b, 'it'))
      .map(([name, comuni], i) => {
        const n = comuni.filter((c) => c.checked).length;
        return { key: `zona-${i}`, name, comuni, chosenLabel: n === 0 ? '' : n === 1 ? '1 scelto' : `${n} scelti` };
      });
    return {
      province: province[0] ? { ...province[0], checked: enteSet.has(province[0].id) } : null,
      groups,
      categories: fc.categories.map((c) => ({ ...c, checked: catSet.has(c.id) })),
    };
  }

  async function alertsPage(request: FastifyRequest, reply: FastifyReply, extra: { chosen?: Interests; email?: string; errors?: Record<string, string> } = {}) {
    let chosen = extra.chosen;
    if (!chosen) {
      const q = request.query as { comune?: number; categoria?: number };
      const choices = request.user ? await choicesOfUser(app.db, request.user.id) : choicesFromCookies(request);
      chosen = {
        enti: q.comune ? [q.comune] : choices.comuneIds.length ? choices.comuneIds : choices.myComuneId ? [choices.myComuneId] : [],
        categories: q.categoria ? [q.categoria] : choices.categoryIds,
      };
    }
    const keys = vapidKeys(app.config);
    return reply.page('events/alerts-page', {
      title: 'Avvisi dei nuovi eventi',
      ...(await choicesView(chosen)),
      vapidPublicKey: keys?.publicKey,
      pushAvailable: Boolean(keys),
      signedIn: Boolean(request.user),
      email: extra.email ?? '',
      errors: extra.errors ?? {},
      hasErrors: Object.keys(extra.errors ?? {}).length > 0,
      notice: takeFlash(request),
      csrf: true,
    });
  }

  app.get(
    '/eventi/avvisi',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { comune: { type: 'integer', minimum: 1, maximum: 2_147_483_647 }, categoria: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => alertsPage(request, reply),
  );

  app.post<{ Body: FormBody }>(
    '/eventi/avvisi/email',
    {
      schema: {
        body: {
          type: 'object',
          properties: { _csrf: { type: 'string', maxLength: 200 }, email: { type: 'string', maxLength: 254 }, comuni: idList, categorie: idList },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const email = String(request.body.email ?? '').trim();
      const interests = normaliseInterests({ enti: asIds(request.body.comuni), categories: asIds(request.body.categorie) });
      const errors: Record<string, string> = {};
      if (!EMAIL_RE.test(email)) errors.email = 'Scrivi un indirizzo e-mail valido, ad esempio nome@esempio.it.';
      const unknown = await unknownInterests(app.db, interests);
      if (unknown.enti.length || unknown.categories.length) errors.scelte = 'Alcuni comuni o categorie scelti non esistono più: ricarica la pagina e scegli di nuovo.';
      if (Object.keys(errors).length) return alertsPage(request, reply.code(400), { chosen: interests, email, errors });

      const at = ctx.now();
      const req = await requestEmailAlerts(app.db, { email, userId: request.user?.id ?? null, interests }, at, auditContext(request));
      if (req.token) {
        const link = `${app.config.publicUrl}/eventi/avvisi/conferma?token=${req.token}&${interestsQuery(interests)}`;
        await enqueueNotifications(
          app.db,
          [
            {
              channel: 'email',
              kind: 'email_confirmation',
              dedupeKey: `email:event-alerts-confirm:${req.subscriptionId}:${crypto.createHash('sha256').update(req.token).digest('hex').slice(0, 24)}`,
              userId: request.user?.id ?? null,
              recipient: email.toLowerCase(),
              subject: `event-alerts:${req.subscriptionId}`,
              payload: {
                to: email.toLowerCase(),
                subject: 'Conferma gli avvisi dei nuovi eventi',
                body: [
                  `Qualcuno (speriamo tu) ha chiesto di ricevere a questo indirizzo gli avvisi dei nuovi eventi pubblicati sul portale ${app.config.provinceName}.`,
                  '',
                  `Per confermare apri questo collegamento entro 48 ore: ${link}`,
                  '',
                  'Se non sei stato tu, ignora questo messaggio: senza conferma non riceverai nulla.',
                ].join('\n'),
              },
            },
          ],
          at,
        );
        kickDispatch();
      }
      setFlash(request, `Ti abbiamo scritto a ${email}: apri il collegamento nell’e-mail entro 48 ore per confermare gli avvisi. Se non la trovi, guarda nella posta indesiderata.`);
      return reply.redirect('/eventi/avvisi#esito', 303);
    },
  );

  /** The names of the chosen comuni and categories, for the confirmation page. */
  async function interestNames(i: Interests): Promise<{ comuni: string; categorie: string }> {
    const fc = await filterChoices(app.db);
    const province = await app.db.select({ id: enti.id, name: enti.name }).from(enti).where(eq(enti.kind, 'provincia'));
    const names = new Map<number, string>([...fc.comuni.map((c) => [c.id, c.name] as const), ...province.map((p) => [p.id, p.name] as const)]);
    const cats = new Map(fc.categories.map((c) => [c.id, c.name]));
    return {
      comuni: i.enti.length ? i.enti.map((id) => names.get(id) ?? `#${id}`).join(', ') : 'tutti i comuni',
      categorie: i.categories.length ? i.categories.map((id) => cats.get(id) ?? `#${id}`).join(', ') : 'tutte le categorie',
    };
  }

  function confirmInterests(q: { comuni?: string; categorie?: string }): Interests {
    const e = parseIdList(q.comuni);
    const c = parseIdList(q.categorie);
    if (!e || !c) throw new HttpError(404, CONFIRM_NOT_FOUND);
    return { enti: e, categories: c };
  }

  app.get<{ Querystring: { token: string; comuni?: string; categorie?: string } }>(
    '/eventi/avvisi/conferma',
    { schema: { querystring: confirmQuery } },
    async (request, reply) => {
      const interests = confirmInterests(request.query);
      const found = await emailSubscriptionByConfirm(app.db, request.query.token, interests, ctx.now());
      if (found.outcome === 'invalid') throw new HttpError(404, CONFIRM_NOT_FOUND);
      if (found.outcome === 'expired') return reply.code(410).page('events/alerts-confirm', { title: 'Collegamento scaduto', expired: true });
      return reply.page('events/alerts-confirm', {
        title: 'Conferma gli avvisi per e-mail',
        email: maskEmail(found.subscription.email),
        names: await interestNames(interests),
        action: `/eventi/avvisi/conferma?token=${request.query.token}&${interestsQuery(interests)}`,
        csrf: true,
      });
    },
  );

  app.post<{ Querystring: { token: string; comuni?: string; categorie?: string } }>(
    '/eventi/avvisi/conferma',
    { schema: { querystring: confirmQuery, body: { type: 'object', properties: { _csrf: { type: 'string', maxLength: 200 } }, additionalProperties: false } } },
    async (request, reply) => {
      const interests = confirmInterests(request.query);
      const res = await confirmEmailAlerts(app.db, request.query.token, interests, ctx.now(), auditContext(request));
      if (res.outcome === 'invalid') throw new HttpError(404, CONFIRM_NOT_FOUND);
      if (res.outcome === 'expired') return reply.code(410).page('events/alerts-confirm', { title: 'Collegamento scaduto', expired: true });
      return reply.page('events/alerts-confirm', {
        title: 'Avvisi per e-mail attivati',
        done: true,
        email: maskEmail(res.subscription.email),
        names: await interestNames(interests),
        unsubscribeUrl: `/eventi/avvisi/disiscrizione?token=${res.subscription.unsubscribeToken}`,
      });
    },
  );

  app.get<{ Querystring: { token: string } }>('/eventi/avvisi/disiscrizione', { schema: { querystring: unsubscribeTokenQuery } }, async (request, reply) => {
    const sub = await emailSubscriptionByUnsubscribeToken(app.db, request.query.token);
    if (!sub) throw new HttpError(404, UNSUBSCRIBE_NOT_FOUND);
    return reply.page('events/alerts-unsubscribe', {
      title: 'Disiscrizione dagli avvisi dei nuovi eventi',
      email: maskEmail(sub.email),
      already: sub.status === 'unsubscribed',
      token: request.query.token,
    });
  });

  // One click (RFC 8058): mail clients POST `List-Unsubscribe=One-Click` with no session or CSRF
  // token; the secret token in the URL is the authorisation, and unsubscribing is all it can do.
  app.post<{ Querystring: { token: string } }>(
    '/eventi/avvisi/disiscrizione',
    {
      config: { csrf: false },
      schema: {
        querystring: unsubscribeTokenQuery,
        body: oneClickUnsubscribeBody,
      },
    },
    async (request, reply) => {
      const sub = await unsubscribeEmailAlerts(app.db, request.query.token, ctx.now(), auditContext(request));
      if (!sub) throw new HttpError(404, UNSUBSCRIBE_NOT_FOUND);
      return reply.page('events/alerts-unsubscribe', { title: 'Disiscrizione completata', email: maskEmail(sub.email), done: true });
    },
  );

  // ---------------------------------------------------------------- the push API (JSON)

  const pushOff = () => new HttpError(503, 'Le notifiche sul dispositivo non sono attive su questo portale.');
  async function checkedInterests(comuni: number[], categorie: number[]): Promise<Interests> {
    const interests = normaliseInterests({ enti: comuni, categories: categorie });
    const unknown = await unknownInterests(app.db, interests);
    if (unknown.enti.length || unknown.categories.length) {
      throw new HttpError(422, 'Alcuni comuni o categorie scelti non esistono: ricarica la pagina e scegli di nuovo.', [
        ...unknown.enti.map((id) => ({ field: 'comuni', message: `comune ${id} sconosciuto` })),
        ...unknown.categories.map((id) => ({ field: 'categorie', message: `categoria ${id} sconosciuta` })),
      ]);
    }
    return interests;
  }

  /** A browser's subscription checked beyond its schema: endpoint, P-256 key, auth secret. */
  function checkedSubscription(s: PushBody['subscription']): { endpoint: string; p256dh: string; auth: string } {
    const endpointProblem = checkPushEndpoint(s.endpoint, production);
    if (endpointProblem) throw new HttpError(422, endpointProblem, [{ field: 'subscription.endpoint', message: endpointProblem }]);
    if (b64uBytes(s.keys.p256dh) !== 65 || Buffer.from(s.keys.p256dh, 'base64url')[0] !== 4) {
      throw new HttpError(422, 'Chiave p256dh non valida (punto P-256 non compresso).', [{ field: 'subscription.keys.p256dh', message: 'non valida' }]);
    }
    if (b64uBytes(s.keys.auth) !== 16) throw new HttpError(422, 'Segreto auth non valido (16 byte).', [{ field: 'subscription.keys.auth', message: 'non valido' }]);
    return { endpoint: s.endpoint, p256dh: s.keys.p256dh.replace(/=+$/, ''), auth: s.keys.auth.replace(/=+$/, '') };
  }

  app.get('/notifiche/push/chiave', async () => {
    const keys = vapidKeys(app.config);
    if (!keys) throw pushOff();
    return { publicKey: keys.publicKey };
  });

  app.post<{ Body: PushBody }>(
    '/notifiche/push/iscrizione',
    {
      schema: {
        body: {
          type: 'object',
          properties: { subscription: pushSubscriptionSchema, comuni: jsonIds, categorie: jsonIds, pagamenti: { type: 'boolean' } },
          required: ['subscription', 'comuni', 'categorie'],
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      if (!vapidKeys(app.config)) throw pushOff();
      const { comuni, categorie } = request.body;
      const s = checkedSubscription(request.body.subscription);
      const interests = await checkedInterests(comuni, categorie);
      const saved = await savePushSubscription(
        app.db,
        { ...s, userId: request.user?.id ?? null, payments: request.body.pagamenti === true, interests },
        ctx.now(),
        auditContext(request),
      );
      reply.code(saved.created ? 201 : 200);
      return { manageToken: saved.manageToken, comuni: interests.enti, categorie: interests.categories };
    },
  );

  // Sent by the service worker (no CSRF token there) when the browser replaces a subscription;
  // the old endpoint, a secret URL, authorises it.
  app.post<{ Body: { oldEndpoint: string; subscription: PushBody['subscription'] } }>(
    '/notifiche/push/rinnova',
    {
      config: { csrf: false },
      schema: {
        body: {
          type: 'object',
          properties: { oldEndpoint: { type: 'string', minLength: 10, maxLength: 1000 }, subscription: pushSubscriptionSchema },
          required: ['oldEndpoint', 'subscription'],
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      if (!vapidKeys(app.config)) throw pushOff();
      const s = checkedSubscription(request.body.subscription);
      if (!(await renewPushSubscription(app.db, request.body.oldEndpoint, s, ctx.now(), auditContext(request)))) {
        throw new HttpError(404, 'Iscrizione precedente non trovata: riattiva le notifiche dalla pagina Avvisi.');
      }
      return { ok: true };
    },
  );

  app.post<{ Body: { manageToken: string } }>(
    '/notifiche/push/stato',
    { schema: { body: { type: 'object', properties: { manageToken }, required: ['manageToken'], additionalProperties: false } } },
    async (request) => {
      const sub = await pushSubscriptionByToken(app.db, request.body.manageToken);
      if (!sub) throw new HttpError(404, 'Le notifiche non sono attive su questo dispositivo.');
      const i = await interestsOf(app.db, 'push', sub.id);
      return { comuni: i.enti, categorie: i.categories, pagamenti: sub.payments };
    },
  );

  app.post<{ Body: { manageToken: string; comuni: number[]; categorie: number[]; pagamenti?: boolean } }>(
    '/notifiche/push/aggiorna',
    {
      schema: {
        body: {
          type: 'object',
          properties: { manageToken, comuni: jsonIds, categorie: jsonIds, pagamenti: { type: 'boolean' } },
          required: ['manageToken', 'comuni', 'categorie'],
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const interests = await checkedInterests(request.body.comuni, request.body.categorie);
      // Payment notifications only for a signed-in citizen, whose device this becomes.
      const payments = request.user && request.body.pagamenti !== undefined ? { userId: request.user.id, payments: request.body.pagamenti } : undefined;
      if (!(await updatePushInterests(app.db, request.body.manageToken, interests, ctx.now(), auditContext(request), payments))) {
        throw new HttpError(404, 'Le notifiche non sono attive su questo dispositivo.');
      }
      return { comuni: interests.enti, categorie: interests.categories };
    },
  );

  app.post<{ Body: { manageToken: string } }>(
    '/notifiche/push/disiscrizione',
    { schema: { body: { type: 'object', properties: { manageToken }, required: ['manageToken'], additionalProperties: false } } },
    async (request) => {
      if (!(await deletePushSubscriptionByToken(app.db, request.body.manageToken, auditContext(request)))) {
        throw new HttpError(404, 'Le notifiche non sono attive su questo dispositivo.');
      }
      return { ok: true };
    },
  );
}
