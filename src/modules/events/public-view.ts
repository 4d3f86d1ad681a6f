/**
 * View models of the public event pages (pure): a card of the list, the picture's srcset, the
 * map and share links, the schema.org Event JSON-LD and the Open Graph tags of an event page.
 */
import Handlebars from 'handlebars';
import { formatEuro } from '../../domain/money.js';
import { imageVariants } from './images.js';
import { formatWhen, priceText, shortDay } from './public-format.js';
import type { OccurrenceCard, PublicEvent } from './public-queries.js';

export interface Picture {
  src: string;
  srcset: string;
  sizes: string;
  alt: string;
  width: number;
  height: number;
}

/** The `<img>` of an event's picture (null without one): `src` the variant nearest `preferWidth`. */
export function pictureOf(
  e: { imageKey: string | null; imageAlt: string | null; imageWidth: number | null; imageHeight: number | null },
  sizes: string,
  preferWidth: number,
): Picture | null {
  const variants = imageVariants(e);
  if (variants.length === 0) return null;
  const chosen = variants.filter((v) => v.width <= preferWidth).pop() ?? variants[0]!;
  return {
    src: chosen.url,
    srcset: variants.map((v) => `${v.url} ${v.width}w`).join(', '),
    sizes,
    alt: e.imageAlt ?? '',
    width: chosen.width,
    height: chosen.height,
  };
}

export interface CardView {
  href: string;
  title: string;
  summary: string;
  when: string;
  startsAt: string;
  dayBadge: string;
  place: string;
  comune: string;
  category: string;
  cancelled: boolean;
  past?: boolean;
  picture: Picture | null;
  eventId: number;
}

const bareName = (name: string) => name.replace(/^Comune di /, '');

export function cardView(c: OccurrenceCard & { past?: boolean }): CardView {
  return {
    href: `/eventi/${c.eventId}`,
    eventId: c.eventId,
    title: c.title,
    summary: c.summary,
    when: formatWhen(c),
    startsAt: c.startsAt,
    dayBadge: shortDay(c.startDay),
    place: c.placeName,
    comune: bareName(c.enteName),
    category: c.categoryName,
    cancelled: c.status === 'cancelled',
    past: c.past,
    picture: pictureOf(c, '(min-width: 992px) 30vw, (min-width: 576px) 45vw, 100vw', 480),
  };
}

/** OpenStreetMap links of a place: the map at the coordinates, or a search by name and address. */
export function mapLinks(e: { latitude: number | null; longitude: number | null; placeName: string; address: string | null; enteName: string }): {
  osm: string;
  geo: string | null;
} {
  if (e.latitude !== null && e.longitude !== null) {
    const lat = e.latitude.toFixed(6);
    const lon = e.longitude.toFixed(6);
    return {
      osm: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=17/${lat}/${lon}`,
      geo: `geo:${lat},${lon}?q=${lat},${lon}(${encodeURIComponent(e.placeName)})`,
    };
  }
  const query = [e.placeName, e.address, bareName(e.enteName)].filter(Boolean).join(', ');
  return { osm: `https://www.openstreetmap.org/search?query=${encodeURIComponent(query)}`, geo: null };
}

/** Share links that load nothing from the other site until the citizen follows one. */
export function shareLinks(url: string, title: string): Array<{ label: string; href: string }> {
  const u = encodeURIComponent(url);
  const t = encodeURIComponent(title);
  return [
    { label: 'WhatsApp', href: `https://wa.me/?text=${encodeURIComponent(`${title} ${url}`)}` },
    { label: 'Telegram', href: `https://t.me/share/url?url=${u}&text=${t}` },
    { label: 'Facebook', href: `https://www.facebook.com/sharer/sharer.php?u=${u}` },
    { label: 'X', href: `https://x.com/intent/post?url=${u}&text=${t}` },
    { label: 'E-mail', href: `mailto:?subject=${t}&body=${encodeURIComponent(`${title}\n${url}`)}` },
  ];
}

/**
 * JSON for a `<script type="application/ld+json">` element: `<`, `>`, `&` and the two JavaScript
 * line separators as \u escapes, so no text of the event can close the element. Returned as a
 * Handlebars SafeString: the template writes it as is (JSON must not be HTML-escaped).
 */
export function jsonForScript(value: unknown): Handlebars.SafeString {
  const json = JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return new Handlebars.SafeString(json);
}

/** schema.org Event of an event page (the occurrence shown: the next one, or the last). */
export function eventJsonLd(e: PublicEvent, o: { startsAt: string; endsAt: string; startDay: string; endDay: string }, opts: { url: string; imageUrls: string[] }) {
  const place: Record<string, unknown> = {
    '@type': 'Place',
    name: e.placeName,
    address: { '@type': 'PostalAddress', streetAddress: e.address ?? undefined, addressLocality: bareName(e.enteName), addressRegion: 'CB', addressCountry: 'IT' },
  };
  if (e.latitude !== null && e.longitude !== null) place.geo = { '@type': 'GeoCoordinates', latitude: e.latitude, longitude: e.longitude };
  return {
    '@context': 'https://schema.org',
    '@type': 'Event',
    name: e.title,
    description: e.summary,
    url: opts.url,
    startDate: e.allDay ? o.startDay : o.startsAt,
    endDate: e.allDay ? o.endDay : o.endsAt,
    eventStatus: e.status === 'cancelled' ? 'https://schema.org/EventCancelled' : 'https://schema.org/EventScheduled',
    eventAttendanceMode: 'https://schema.org/OfflineEventAttendanceMode',
    location: place,
    image: opts.imageUrls.length ? opts.imageUrls : undefined,
    isAccessibleForFree: e.free,
    offers:
      !e.free && e.priceCents !== null
        ? { '@type': 'Offer', price: (e.priceCents / 100).toFixed(2), priceCurrency: 'EUR', url: opts.url }
        : undefined,
    organizer: { '@type': 'Organization', name: e.organiser ?? e.enteName },
  };
}

/** Open Graph properties of an event page. */
export function openGraph(e: PublicEvent, opts: { url: string; image: { url: string; width: number; height: number } | null; siteName: string }) {
  const tags: Array<{ property: string; content: string }> = [
    { property: 'og:type', content: 'website' },
    { property: 'og:site_name', content: opts.siteName },
    { property: 'og:locale', content: 'it_IT' },
    { property: 'og:title', content: e.status === 'cancelled' ? `Annullato: ${e.title}` : e.title },
    { property: 'og:description', content: e.summary },
    { property: 'og:url', content: opts.url },
  ];
  if (opts.image) {
    tags.push(
      { property: 'og:image', content: opts.image.url },
      { property: 'og:image:width', content: String(opts.image.width) },
      { property: 'og:image:height', content: String(opts.image.height) },
    );
    if (e.imageAlt) tags.push({ property: 'og:image:alt', content: e.imageAlt });
  }
  return tags;
}

export const price = (e: { free: boolean; priceCents: number | null; priceNote: string | null }) => priceText(e, formatEuro);

/** The event's links (JSON in the row), http/https only. */
export function linksOf(json: string): Array<{ label: string; url: string }> {
  try {
    const v = JSON.parse(json) as unknown;
    if (!Array.isArray(v)) return [];
    return v
      .filter((l): l is { label: string; url: string } => typeof l?.label === 'string' && typeof l?.url === 'string' && /^https?:\/\//i.test(l.url))
      .map((l) => ({ label: l.label, url: l.url }));
  } catch {
    return [];
  }
}

/** Paragraphs of a plain-text body (blank line between them). */
export function paragraphs(body: string): string[] {
  return body
    .split(/\r?\n\s*\r?\n/)
    .map((p) => p.trim())
    .filter(Boolean);
}
