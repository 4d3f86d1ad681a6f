/**
 * Fixtures of the public event tests: an app on a fixed clock and published events written with
 * the publishing repository (createEvent / changeEventStatus), so the occurrences are the ones
 * the back office makes.
 */
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { addDays } from '../../src/domain/iso-date.js';
import { listEnti } from '../../src/modules/enti/repository.js';
import { eventCategories, type EventRecurrence } from '../../src/modules/events/schema.js';
import { changeEventStatus, createEvent, updateEvent, type EventRow } from '../../src/modules/events/repository.js';
import type { EventInput } from '../../src/modules/events/validation.js';
import { romeInstant } from '../../src/modules/events/occurrences.js';
import { storeEventImage } from '../../src/modules/events/images.js';
import sharp from 'sharp';
import { tempDir } from '../helpers.js';
import { suiteDb } from '../suite-db.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A test app whose clock reads `clock.now` (move it by assigning). */
export async function eventsApp(t: Teardown, startAt: string, env: Record<string, string> = {}): Promise<{ app: FastifyInstance; clock: { now: Date } }> {
  const clock = { now: new Date(startAt) };
  const sdb = await suiteDb();
  const config = loadConfig({ DATA_DIR: tempDir(t), LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000', PAGOPA_FDR_INTERVAL_MINUTES: '0', ...sdb.env, ...env });
  const app = await buildApp(config, { logger: false, backgroundWorkers: false, now: () => clock.now });
  sdb.closeWith(t, app);
  return { app, clock };
}

export async function comuneId(app: FastifyInstance, name: string): Promise<number> {
  const e = (await listEnti(app.db, { q: name, kind: 'comune' })).find((x) => x.name === `Comune di ${name}`);
  if (!e) throw new Error(`no comune ${name}`);
  return e.id;
}

export async function categoryId(app: FastifyInstance, slug: string): Promise<number> {
  const c = (await app.db.select().from(eventCategories).where(eq(eventCategories.slug, slug)).limit(1))[0];
  if (!c) throw new Error(`no category ${slug}`);
  return c.id;
}

export interface EventSpec {
  comune: string;
  category: string;
  title: string;
  /** Rome day and local time of the start; the end the same day at `endTime`, or on `endDay`. */
  day: string;
  time?: string;
  endDay?: string;
  endTime?: string;
  allDay?: boolean;
  weeklyUntil?: string;
  status?: 'draft' | 'published' | 'cancelled' | 'unpublished';
  summary?: string;
  body?: string;
  placeName?: string;
  address?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  free?: boolean;
  priceCents?: number | null;
  links?: Array<{ label: string; url: string }>;
  cancelReason?: string;
  /** A generated 1600×900 picture with this alt text. */
  imageAlt?: string;
}

const actor = { userId: null, actor: 'test' };

/** Creates an event through the publishing repository, in the status asked (published by default). */
export async function addEvent(app: FastifyInstance, s: EventSpec): Promise<EventRow> {
  const allDay = s.allDay ?? false;
  const endDay = s.endDay ?? s.day;
  const startsAt = allDay ? romeInstant(s.day, '00:00')! : romeInstant(s.day, s.time ?? '18:00')!;
  const endsAt = allDay ? romeInstant(addDays(endDay, 1), '00:00')! : romeInstant(endDay, s.endTime ?? '20:00')!;
  const recurrence: EventRecurrence = s.weeklyUntil ? 'weekly' : 'none';
  const status = s.status ?? 'published';
  const image = s.imageAlt ? await storeEventImage(app.config.events.imagesDir, await pictureBytes(s.title), app.config.events.imageMaxBytes) : null;
  const row = await createEvent(
    app.events,
    await comuneId(app, s.comune),
    {
      categoryId: await categoryId(app, s.category),
      title: s.title,
      summary: s.summary ?? `Sintesi di ${s.title}`,
      body: s.body ?? `Programma di ${s.title}.\n\nSecondo paragrafo.`,
      startsAt,
      endsAt,
      allDay,
      recurrence,
      recurrenceUntil: s.weeklyUntil ?? null,
      placeName: s.placeName ?? 'Piazza del Municipio',
      address: s.address === undefined ? 'Piazza del Municipio 1' : s.address,
      latitude: s.latitude ?? null,
      longitude: s.longitude ?? null,
      free: s.free ?? true,
      priceCents: s.priceCents ?? null,
      priceNote: null,
      organiser: 'Pro Loco',
      contactEmail: 'info@example.invalid',
      contactPhone: '0874 000 111',
      links: s.links ?? [],
      imageAlt: s.imageAlt ?? null,
    },
    { publish: status !== 'draft', image },
    actor,
  );
  if (status === 'cancelled') return changeEventStatus(app.events, row.enteId, row.id, row.version, 'cancel', actor, { reason: s.cancelReason ?? 'Maltempo previsto' });
  if (status === 'unpublished') return changeEventStatus(app.events, row.enteId, row.id, row.version, 'unpublish', actor);
  return row;
}

/** A 1600×900 JPEG drawn from an SVG (a landscape in two colours and the title). */
export async function pictureBytes(title: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="900"><defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#7fb2e5"/><stop offset="1" stop-color="#f3d38a"/></linearGradient></defs><rect width="1600" height="900" fill="url(#g)"/><path d="M0 700 L400 420 L700 640 L1100 380 L1600 700 L1600 900 L0 900 Z" fill="#3f6d3a"/><text x="80" y="160" font-family="sans-serif" font-size="72" fill="#1a1a1a">${title.replace(/[<&"]/g, '')}</text></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 80 }).toBuffer();
}

/** The form input an event row was made from (to edit it through the repository). */
export function inputOf(e: EventRow): EventInput {
  return {
    categoryId: e.categoryId,
    title: e.title,
    summary: e.summary,
    body: e.body,
    startsAt: e.startsAt,
    endsAt: e.endsAt,
    allDay: e.allDay,
    recurrence: e.recurrence,
    recurrenceUntil: e.recurrenceUntil,
    placeName: e.placeName,
    address: e.address,
    latitude: e.latitude,
    longitude: e.longitude,
    free: e.free,
    priceCents: e.priceCents,
    priceNote: e.priceNote,
    organiser: e.organiser,
    contactEmail: e.contactEmail,
    contactPhone: e.contactPhone,
    links: JSON.parse(e.links) as EventInput['links'],
    imageAlt: e.imageAlt,
  };
}

/** Edits an event through the repository (as the back office form does). */
export async function editEvent(app: FastifyInstance, e: EventRow, change: Partial<EventInput>): Promise<EventRow> {
  return updateEvent(app.events, e.enteId, e.id, e.version, { ...inputOf(e), ...change }, { kind: 'keep' }, actor);
}
