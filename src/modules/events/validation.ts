/**
 * The event form (pure): its fields' shape (a JSON schema checked with ajv: the form is multipart,
 * so the route cannot declare a body schema), reading the fields into an EventInput with one
 * Italian message per wrong field, and an event back into form values for editing.
 *
 * Dates are typed as Rome days and times (`startDate` + `startTime`, `endDate` + `endTime`); an
 * all-day event needs no times (it spans whole days, see occurrences.ts).
 */
import { Ajv } from 'ajv';
import { addDays, isIsoDate } from '../../domain/iso-date.js';
import { formatEuro, parseEuroToCents } from '../../domain/money.js';
import { EMAIL_PATTERN } from '../portal/cart.js';
import { MAX_OCCURRENCES, romeInstant, romeWallClock, weeklyCount } from './occurrences.js';
import type { EventRecurrence } from './schema.js';

export interface EventLink {
  label: string;
  url: string;
}

/** What an event is made of, as the repository stores it. */
export interface EventInput {
  categoryId: number;
  title: string;
  summary: string;
  body: string;
  startsAt: string;
  endsAt: string;
  allDay: boolean;
  recurrence: EventRecurrence;
  recurrenceUntil: string | null;
  placeName: string;
  address: string | null;
  latitude: number | null;
  longitude: number | null;
  free: boolean;
  priceCents: number | null;
  priceNote: string | null;
  organiser: string | null;
  contactEmail: string | null;
  contactPhone: string | null;
  links: EventLink[];
  imageAlt: string | null;
}

/** Link rows on the form. */
export const MAX_LINKS = 3;
/** Longest span of one occurrence (a season-long exhibition). */
export const MAX_EVENT_DAYS = 366;

const LINK_FIELDS = Array.from({ length: MAX_LINKS }, (_, i) => [`link${i + 1}Label`, `link${i + 1}Url`]).flat();
/** Text fields of the event form and their longest accepted length. */
const FIELD_LIMITS: Record<string, number> = {
  _csrf: 200,
  title: 300,
  summary: 600,
  body: 20000,
  categoryId: 10,
  startDate: 10,
  startTime: 5,
  endDate: 10,
  endTime: 5,
  allDay: 5,
  recurrence: 10,
  recurrenceUntil: 10,
  placeName: 400,
  address: 600,
  latitude: 30,
  longitude: 30,
  price: 10,
  priceAmount: 20,
  priceNote: 400,
  organiser: 400,
  contactEmail: 400,
  contactPhone: 60,
  imageAlt: 500,
  removeImage: 5,
  version: 10,
  action: 10,
  ...Object.fromEntries(LINK_FIELDS.map((f) => [f, 1000])),
};
/** Most fields a form may send (the multipart reader's limit). */
export const EVENT_FORM_MAX_FIELDS = Object.keys(FIELD_LIMITS).length;

/** JSON schema of the event form's text fields (all strings, known names only). */
export const EVENT_FORM_SCHEMA = {
  type: 'object',
  properties: Object.fromEntries(Object.entries(FIELD_LIMITS).map(([k, max]) => [k, { type: 'string', maxLength: max }])),
  additionalProperties: false,
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const checkShape = ajv.compile(EVENT_FORM_SCHEMA);

export type EventFormFields = Partial<Record<string, string>>;

/** Null when the fields have the form's shape, else an Italian message naming the first bad field. */
export function eventFormShapeError(fields: Record<string, unknown>): string | null {
  if (checkShape(fields)) return null;
  const e = checkShape.errors?.[0];
  if (e?.keyword === 'additionalProperties') return `Campo non previsto nel modulo: «${String((e.params as { additionalProperty: string }).additionalProperty)}».`;
  if (e?.keyword === 'maxLength') return `Il campo «${e.instancePath.slice(1)}» è troppo lungo.`;
  return 'Il modulo inviato non è valido: ricarica la pagina e riprova.';
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const PHONE = /^\+?[0-9][0-9 ./-]{4,28}$/;

function text(fields: EventFormFields, name: string): string {
  return (fields[name] ?? '').trim();
}

function httpUrl(s: string): string | null {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}

function coordinate(s: string): number | null {
  if (!/^-?\d{1,3}([.,]\d{1,10})?$/.test(s)) return null;
  return Number(s.replace(',', '.'));
}

export interface ParseContext {
  /** Ids of the categories the event may take (the active ones, plus its current one when editing). */
  categoryIds: ReadonlySet<number>;
  /** Whether the event will have a picture after this save (a new upload, or the current one kept). */
  hasImage: boolean;
}

/** Reads the event form; `input` when every field is right, else `errors` (field → Italian message). */
export function parseEventForm(fields: EventFormFields, ctx: ParseContext): { input?: EventInput; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const title = text(fields, 'title');
  if (title.length < 3) errors.title = 'Indica il titolo dell’evento (almeno 3 caratteri).';
  else if (title.length > 150) errors.title = 'Il titolo può avere al massimo 150 caratteri.';
  const summary = text(fields, 'summary');
  if (!summary) errors.summary = 'Scrivi una breve presentazione (una o due frasi).';
  else if (summary.length > 300) errors.summary = 'La presentazione può avere al massimo 300 caratteri.';
  const body = (fields.body ?? '').replace(/\r\n/g, '\n').trim();

  const categoryId = /^\d{1,9}$/.test(text(fields, 'categoryId')) ? Number(text(fields, 'categoryId')) : 0;
  if (!ctx.categoryIds.has(categoryId)) errors.categoryId = 'Scegli la categoria dell’evento.';

  // When
  const allDay = fields.allDay === 'on' || fields.allDay === 'true';
  const startDate = text(fields, 'startDate');
  const endDate = text(fields, 'endDate') || startDate;
  const startTime = allDay ? '00:00' : text(fields, 'startTime');
  const endTime = allDay ? '00:00' : text(fields, 'endTime');
  let startsAt: string | null = null;
  let endsAt: string | null = null;
  if (!isIsoDate(startDate)) errors.startDate = 'Indica il giorno di inizio.';
  if (!isIsoDate(endDate) && (text(fields, 'endDate') || isIsoDate(startDate))) errors.endDate = 'Indica un giorno di fine valido.';
  if (!allDay && !TIME.test(startTime)) errors.startTime = 'Indica l’ora di inizio (es. 18:30), o segna «Tutto il giorno».';
  if (!allDay && !TIME.test(endTime)) errors.endTime = 'Indica l’ora di fine (es. 23:00), o segna «Tutto il giorno».';
  if (isIsoDate(startDate) && isIsoDate(endDate) && !errors.startTime && !errors.endTime) {
    startsAt = romeInstant(startDate, startTime);
    // All day: the end is the midnight after the last day.
    endsAt = romeInstant(allDay ? addDays(endDate, 1) : endDate, endTime);
    if (!startsAt || !endsAt) errors.startDate = 'Indica giorno e ora validi.';
    else if (Date.parse(endsAt) <= Date.parse(startsAt)) errors.endDate = 'La fine deve essere successiva all’inizio.';
    else if (Date.parse(endsAt) - Date.parse(startsAt) > MAX_EVENT_DAYS * 86_400_000) errors.endDate = `Un evento può durare al massimo ${MAX_EVENT_DAYS} giorni: per appuntamenti ricorrenti usa la ripetizione settimanale.`;
  }

  const recurrence: EventRecurrence = fields.recurrence === 'weekly' ? 'weekly' : 'none';
  if (fields.recurrence && fields.recurrence !== 'weekly' && fields.recurrence !== 'none') errors.recurrence = 'Scegli se l’evento si ripete.';
  let recurrenceUntil: string | null = null;
  if (recurrence === 'weekly') {
    recurrenceUntil = text(fields, 'recurrenceUntil');
    if (!isIsoDate(recurrenceUntil)) errors.recurrenceUntil = 'Indica fino a quale giorno l’evento si ripete.';
    else if (isIsoDate(startDate) && recurrenceUntil < startDate) errors.recurrenceUntil = 'L’ultimo giorno della ripetizione non può precedere l’inizio.';
    else if (isIsoDate(startDate) && weeklyCount(startDate, recurrenceUntil) > MAX_OCCURRENCES) errors.recurrenceUntil = `Un evento settimanale può ripetersi al massimo ${MAX_OCCURRENCES} volte (due anni).`;
    if (startsAt && endsAt && Date.parse(endsAt) - Date.parse(startsAt) >= 7 * 86_400_000) errors.recurrence = 'Un evento che si ripete ogni settimana deve durare meno di una settimana.';
  }

  // Where
  const placeName = text(fields, 'placeName');
  if (!placeName) errors.placeName = 'Indica il luogo (es. «Piazza Municipio»).';
  else if (placeName.length > 200) errors.placeName = 'Il luogo può avere al massimo 200 caratteri.';
  const address = text(fields, 'address');
  if (address.length > 300) errors.address = 'L’indirizzo può avere al massimo 300 caratteri.';
  const latText = text(fields, 'latitude');
  const lngText = text(fields, 'longitude');
  let latitude: number | null = null;
  let longitude: number | null = null;
  if (latText || lngText) {
    latitude = coordinate(latText);
    longitude = coordinate(lngText);
    if (latitude === null || latitude < -90 || latitude > 90) errors.latitude = 'La latitudine è un numero tra -90 e 90 (es. 41,5603).';
    if (longitude === null || longitude < -180 || longitude > 180) errors.longitude = 'La longitudine è un numero tra -180 e 180 (es. 14,6627).';
  }

  // Price
  const free = fields.price !== 'paid';
  let priceCents: number | null = null;
  const priceNote = text(fields, 'priceNote');
  if (!free) {
    const amount = text(fields, 'priceAmount');
    if (amount) {
      priceCents = parseEuroToCents(amount);
      if (priceCents === null || priceCents <= 0 || priceCents > 100_000_00) errors.priceAmount = 'Indica il prezzo in euro (es. 12,50), oppure lascialo vuoto.';
    }
  }
  if (priceNote.length > 200) errors.priceNote = 'La nota sul prezzo può avere al massimo 200 caratteri.';

  // Organiser and contacts
  const organiser = text(fields, 'organiser');
  if (organiser.length > 200) errors.organiser = 'L’organizzatore può avere al massimo 200 caratteri.';
  const contactEmail = text(fields, 'contactEmail');
  if (contactEmail && (contactEmail.length > 254 || !EMAIL_PATTERN.test(contactEmail))) errors.contactEmail = 'Indica un indirizzo e-mail valido (es. info@comune.example.it).';
  const contactPhone = text(fields, 'contactPhone');
  if (contactPhone && !PHONE.test(contactPhone)) errors.contactPhone = 'Indica un numero di telefono valido (cifre, spazi, + iniziale).';

  const links: EventLink[] = [];
  for (let i = 1; i <= MAX_LINKS; i++) {
    const label = text(fields, `link${i}Label`);
    const raw = text(fields, `link${i}Url`);
    if (!label && !raw) continue;
    const url = raw.length <= 500 ? httpUrl(raw) : null;
    if (!url) errors[`link${i}Url`] = `Collegamento ${i}: indica un indirizzo che inizi con https:// o http://.`;
    else if (label.length > 100) errors[`link${i}Label`] = `Collegamento ${i}: il testo può avere al massimo 100 caratteri.`;
    else links.push({ label: label || new URL(url).hostname, url });
  }

  const imageAlt = text(fields, 'imageAlt');
  if (ctx.hasImage && imageAlt.length < 5) errors.imageAlt = 'Descrivi l’immagine per chi non può vederla (testo alternativo, almeno 5 caratteri).';
  else if (imageAlt.length > 250) errors.imageAlt = 'Il testo alternativo può avere al massimo 250 caratteri.';

  if (Object.keys(errors).length > 0) return { errors };
  return {
    errors,
    input: {
      categoryId,
      title,
      summary,
      body,
      startsAt: startsAt!,
      endsAt: endsAt!,
      allDay,
      recurrence,
      recurrenceUntil,
      placeName,
      address: address || null,
      latitude,
      longitude,
      free,
      priceCents,
      priceNote: priceNote || null,
      organiser: organiser || null,
      contactEmail: contactEmail || null,
      contactPhone: contactPhone || null,
      links,
      imageAlt: ctx.hasImage ? imageAlt : null,
    },
  };
}

/** The stored links of an event (JSON text; anything unreadable is dropped). */
export function parseLinks(json: string | null | undefined): EventLink[] {
  try {
    const v: unknown = JSON.parse(json ?? '[]');
    return Array.isArray(v) ? v.filter((l): l is EventLink => typeof l?.label === 'string' && typeof l?.url === 'string' && httpUrl(l.url) !== null) : [];
  } catch {
    return [];
  }
}

/** What the edit form shows for a stored event. */
export function eventToForm(e: Omit<EventInput, 'links'> & { version?: number; links: EventLink[] | string }): Record<string, string> {
  const start = romeWallClock(e.startsAt);
  const end = romeWallClock(e.endsAt);
  const links = typeof e.links === 'string' ? parseLinks(e.links) : e.links;
  const out: Record<string, string> = {
    title: e.title,
    summary: e.summary,
    body: e.body,
    categoryId: String(e.categoryId),
    startDate: start.day,
    startTime: e.allDay ? '' : start.time,
    endDate: e.allDay ? addDays(end.day, -1) : end.day,
    endTime: e.allDay ? '' : end.time,
    allDay: e.allDay ? 'on' : '',
    recurrence: e.recurrence,
    recurrenceUntil: e.recurrenceUntil ?? '',
    placeName: e.placeName,
    address: e.address ?? '',
    latitude: e.latitude === null ? '' : String(e.latitude).replace('.', ','),
    longitude: e.longitude === null ? '' : String(e.longitude).replace('.', ','),
    price: e.free ? 'free' : 'paid',
    priceAmount: e.priceCents === null ? '' : formatEuro(e.priceCents).replace(/\s*€\s*/, '').trim(),
    priceNote: e.priceNote ?? '',
    organiser: e.organiser ?? '',
    contactEmail: e.contactEmail ?? '',
    contactPhone: e.contactPhone ?? '',
    imageAlt: e.imageAlt ?? '',
    version: e.version === undefined ? '' : String(e.version),
  };
  links.forEach((l, i) => {
    out[`link${i + 1}Label`] = l.label;
    out[`link${i + 1}Url`] = l.url;
  });
  return out;
}
