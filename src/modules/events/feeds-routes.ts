/**
 * Event feeds and open data (public, no login):
 *
 * - GET /eventi/feed/comune/:ipa.ics         iCalendar of a comune's events (subscribable)
 * - GET /eventi/feed/categoria/:slug.ics     iCalendar of a category's events
 * - GET /eventi/feed/rss.xml, /eventi/feed/atom.xml   the latest published events (RSS 2.0,
 *                                            Atom 1.0), optionally `?comune=<ipa>&categoria=<slug>`
 * - GET /opendata/eventi.json, /opendata/eventi.csv   every published or cancelled event as open
 *                                            data, licence CC BY 4.0, streamed
 *
 * Calendars hold the occurrences from CALENDAR_PAST_DAYS ago on (at most CALENDAR_MAX). Feeds and
 * calendars are computed once per database state (public-cache.ts); the open data are streamed
 * from the database in slices, never held whole in memory.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { stringify } from 'csv-stringify';
import { HttpError } from '../../plugins/errors.js';
import { CSV_SAFE_CAST } from '../../domain/csv-safe.js';
import { addDays } from '../../domain/iso-date.js';
import { romeDay } from '../conservazione/dates.js';
import { eventsCalendar } from './ics.js';
import { imageVariants } from './images.js';
import { PublicDataCache } from './public-cache.js';
import { linksOf } from './public-view.js';
import { calendarEvents, filterChoices, latestPublished, publicEventsBatches, type OpenDataEvent } from './public-queries.js';
import { atomFeed, rssFeed, type FeedItem } from './syndication.js';

export const OPEN_DATA_LICENCE = { name: 'Creative Commons Attribuzione 4.0 Internazionale (CC BY 4.0)', id: 'CC-BY-4.0', url: 'https://creativecommons.org/licenses/by/4.0/deed.it' };
const CALENDAR_PAST_DAYS = 30;
const CALENDAR_MAX = 2000;
const FEED_ITEMS = 50;
/** Calendar apps are asked to refresh subscribed feeds every 6 hours. */
const CALENDAR_TTL_SECONDS = 6 * 3600;

/** Column names of the open data (CSV header and JSON keys), in Italian. */
export const OPEN_DATA_COLUMNS = [
  'id',
  'titolo',
  'sintesi',
  'descrizione',
  'stato',
  'motivo_annullamento',
  'inizio',
  'fine',
  'tutto_il_giorno',
  'ricorrenza',
  'ripete_fino_al',
  'luogo',
  'indirizzo',
  'latitudine',
  'longitudine',
  'comune',
  'codice_ipa',
  'codice_istat',
  'zona',
  'categoria',
  'codice_categoria',
  'gratuito',
  'prezzo_euro',
  'note_prezzo',
  'organizzatore',
  'email',
  'telefono',
  'collegamenti',
  'url',
  'immagine',
  'pubblicato_il',
  'aggiornato_il',
] as const;

type OpenDataRecord = Record<(typeof OPEN_DATA_COLUMNS)[number], string | number | boolean | null | Array<{ label: string; url: string }>>;

/** One event as an open data record (absolute URLs). */
export function openDataRecord(e: OpenDataEvent, publicUrl: string): OpenDataRecord {
  const largest = imageVariants({ imageKey: e.imageKey, imageWidth: e.imageWidth, imageHeight: e.imageHeight }).pop();
  return {
    id: e.id,
    titolo: e.title,
    sintesi: e.summary,
    descrizione: e.body,
    stato: e.status === 'cancelled' ? 'annullato' : 'pubblicato',
    motivo_annullamento: e.status === 'cancelled' ? e.cancelReason : null,
    inizio: e.startsAt,
    fine: e.endsAt,
    tutto_il_giorno: e.allDay,
    ricorrenza: e.recurrence === 'weekly' ? 'settimanale' : 'nessuna',
    ripete_fino_al: e.recurrenceUntil,
    luogo: e.placeName,
    indirizzo: e.address,
    latitudine: e.latitude,
    longitudine: e.longitude,
    comune: e.enteName.replace(/^Comune di /, ''),
    codice_ipa: e.enteIpaCode,
    codice_istat: e.enteIstatCode,
    zona: e.enteZone,
    categoria: e.categoryName,
    codice_categoria: e.categorySlug,
    gratuito: e.free,
    prezzo_euro: e.free || e.priceCents === null ? null : (e.priceCents / 100).toFixed(2),
    note_prezzo: e.priceNote,
    organizzatore: e.organiser,
    email: e.contactEmail,
    telefono: e.contactPhone,
    collegamenti: linksOf(e.links),
    url: `${publicUrl}/eventi/${e.id}`,
    immagine: largest && e.imageKey ? `${publicUrl}${largest.url}` : null,
    pubblicato_il: e.publishedAt,
    aggiornato_il: e.updatedAt,
  };
}

/** A record as CSV cells (booleans sì/no, links `label <url>` separated by ` | `). */
function csvRow(r: OpenDataRecord): string[] {
  return OPEN_DATA_COLUMNS.map((c) => {
    const v = r[c];
    if (v === null || v === undefined) return '';
    if (typeof v === 'boolean') return v ? 'sì' : 'no';
    if (Array.isArray(v)) return v.map((l) => `${l.label} <${l.url}>`).join(' | ');
    return String(v);
  });
}

const feedQuery = {
  type: 'object',
  properties: {
    comune: { type: 'string', pattern: '^[a-z0-9_]{2,20}$' },
    categoria: { type: 'string', pattern: '^[a-z0-9-]{1,60}$' },
  },
  additionalProperties: false,
} as const;

export default async function feedsRoutes(app: FastifyInstance) {
  const ctx = app.events;
  const cache = new PublicDataCache(app.db, 200);
  const publicUrl = app.config.publicUrl;
  const choices = () => cache.get('choices', () => filterChoices(app.db));

  async function comuneOr404(ipa: string) {
    const c = (await choices()).comuni.find((x) => x.ipaCode === ipa);
    if (!c) throw new HttpError(404, 'Comune non trovato.');
    return c;
  }
  async function categoryOr404(slug: string) {
    const c = (await choices()).categories.find((x) => x.slug === slug);
    if (!c) throw new HttpError(404, 'Categoria non trovata.');
    return c;
  }

  const sendCalendar = (reply: FastifyReply, body: string, filename: string) =>
    reply
      .type('text/calendar; charset=utf-8')
      .header('content-disposition', `inline; filename="${filename}"`)
      .header('cache-control', 'public, max-age=900')
      .send(body);

  async function calendar(key: string, f: { enteId?: number; categoryId?: number }, name: string, description: string): Promise<string> {
    const day = romeDay(ctx.now());
    return cache.get(`ics\u0000${day}\u0000${key}`, async () => {
      const items = await calendarEvents(app.db, { ...f, fromDay: addDays(day, -CALENDAR_PAST_DAYS), limit: CALENDAR_MAX });
      return eventsCalendar(items, { publicUrl, now: ctx.now(), name, description, ttlSeconds: CALENDAR_TTL_SECONDS });
    });
  }

  app.get<{ Params: { ipa: string } }>(
    '/eventi/feed/comune/:ipa.ics',
    { schema: { params: { type: 'object', properties: { ipa: { type: 'string', pattern: '^[a-z0-9_]{2,20}$' } }, required: ['ipa'] } } },
    async (request, reply) => {
      const c = await comuneOr404(request.params.ipa);
      const body = await calendar(`comune:${c.id}`, { enteId: c.id }, `Eventi – ${c.name}`, `Gli eventi di ${c.name} pubblicati sul portale della ${app.config.provinceName}.`);
      return sendCalendar(reply, body, `eventi-${c.ipaCode}.ics`);
    },
  );

  app.get<{ Params: { slug: string } }>(
    '/eventi/feed/categoria/:slug.ics',
    { schema: { params: { type: 'object', properties: { slug: { type: 'string', pattern: '^[a-z0-9-]{1,60}$' } }, required: ['slug'] } } },
    async (request, reply) => {
      const c = await categoryOr404(request.params.slug);
      const body = await calendar(`categoria:${c.id}`, { categoryId: c.id }, `Eventi – ${c.name}`, `Eventi “${c.name}” nei comuni della ${app.config.provinceName}.`);
      return sendCalendar(reply, body, `eventi-${c.slug}.ics`);
    },
  );

  async function feedData(q: { comune?: string; categoria?: string }) {
    const comune = q.comune ? await comuneOr404(q.comune) : undefined;
    const category = q.categoria ? await categoryOr404(q.categoria) : undefined;
    const params = new URLSearchParams({ ...(comune ? { comune: comune.ipaCode } : {}), ...(category ? { categoria: category.slug } : {}) }).toString();
    const rows = await latestPublished(app.db, { enteId: comune?.id, categoryId: category?.id, limit: FEED_ITEMS });
    const items: FeedItem[] = rows.map((r) => {
      const published = r.firstPublishedAt ?? r.publishedAt ?? r.updatedAt;
      const cancelled = r.status === 'cancelled';
      return {
        id: `${publicUrl}/eventi/${r.id}`,
        url: `${publicUrl}/eventi/${r.id}`,
        title: cancelled ? `Annullato: ${r.title}` : r.title,
        summary: `${r.summary} (${r.enteName.replace(/^Comune di /, '')}, ${r.placeName})`,
        published,
        updated: r.updatedAt > published ? r.updatedAt : published,
        category: r.categoryName,
        author: r.enteName,
      };
    });
    const scope = [comune?.name, category?.name].filter(Boolean).join(', ');
    return {
      params,
      info: {
        title: scope ? `Eventi – ${scope}` : `Eventi – ${app.config.provinceName}`,
        description: `Gli ultimi eventi pubblicati${scope ? ` (${scope})` : ''} dai comuni della ${app.config.provinceName}.`,
        pageUrl: `${publicUrl}/eventi${params ? `?${params}` : ''}`,
        updated: items.reduce((max, i) => (i.updated > max ? i.updated : max), items[0]?.updated ?? ctx.now().toISOString()),
        author: `S.A.E.L. – ${app.config.provinceName}`,
      },
      items,
    };
  }

  for (const kind of ['rss', 'atom'] as const) {
    app.get<{ Querystring: { comune?: string; categoria?: string } }>(`/eventi/feed/${kind}.xml`, { schema: { querystring: feedQuery } }, async (request, reply) => {
      const q = request.query;
      const body = await cache.get(`${kind}\u0000${q.comune ?? ''}\u0000${q.categoria ?? ''}`, async () => {
        const d = await feedData(q);
        const selfUrl = `${publicUrl}/eventi/feed/${kind}.xml${d.params ? `?${d.params}` : ''}`;
        return kind === 'rss' ? rssFeed({ ...d.info, selfUrl }, d.items) : atomFeed({ ...d.info, selfUrl }, d.items);
      });
      return reply
        .type(kind === 'rss' ? 'application/rss+xml; charset=utf-8' : 'application/atom+xml; charset=utf-8')
        .header('cache-control', 'public, max-age=900')
        .send(body);
    });
  }

  // ------------------------------------------------------------------ open data

  const generatedBy = () => ({
    titolo: `Eventi dei comuni della ${app.config.provinceName}`,
    fonte: `S.A.E.L. – ${app.config.provinceName}`,
    licenza: OPEN_DATA_LICENCE.name,
    licenza_id: OPEN_DATA_LICENCE.id,
    licenza_url: OPEN_DATA_LICENCE.url,
    generato_il: ctx.now().toISOString(),
  });

  app.get('/opendata/eventi.json', async (_request, reply) => {
    const db = app.db;
    async function* chunks() {
      const head = JSON.stringify(generatedBy());
      yield `${head.slice(0, -1)},"colonne":${JSON.stringify(OPEN_DATA_COLUMNS)},"eventi":[`;
      let first = true;
      for await (const batch of publicEventsBatches(db)) {
        const text = batch.map((e) => JSON.stringify(openDataRecord(e, publicUrl))).join(',\n');
        yield `${first ? '\n' : ',\n'}${text}`;
        first = false;
      }
      yield '\n]}\n';
    }
    return reply
      .type('application/json; charset=utf-8')
      .header('content-disposition', 'inline; filename="eventi.json"')
      .header('link', `<${OPEN_DATA_LICENCE.url}>; rel="license"`)
      .send(Readable.from(chunks()));
  });

  app.get('/opendata/eventi.csv', async (_request, reply) => {
    const db = app.db;
    async function* records() {
      for await (const batch of publicEventsBatches(db)) for (const e of batch) yield csvRow(openDataRecord(e, publicUrl));
    }
    const csv = Readable.from(records()).pipe(stringify({ delimiter: ',', bom: true, header: true, columns: [...OPEN_DATA_COLUMNS], cast: CSV_SAFE_CAST }));
    return reply
      .type('text/csv; charset=utf-8; header=present')
      .header('content-disposition', 'attachment; filename="eventi.csv"')
      .header('link', `<${OPEN_DATA_LICENCE.url}>; rel="license"`)
      .send(csv);
  });
}
