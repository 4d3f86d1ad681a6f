/**
 * Territory events and public news (seed items 18 and 10): macro-categories and zones kept by the
 * SAEL admin, events published by each ente (with their occurrences materialised for date
 * filters), the citizens' saved events and chosen comuni/categories, their Web Push and e-mail
 * subscriptions to new events. Instants are ISO UTC text; days are Europe/Rome `YYYY-MM-DD` text;
 * money is integer cents.
 */
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { bool, createdAt, updatedAt } from '../../db/columns.js';
import { enti } from '../enti/schema.js';
import { users } from '../users/schema.js';

/** Macro-categories of events (mostre, sagre, …), maintained by the SAEL admin. */
export const eventCategories = sqliteTable('event_categories', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  /** Stable URL/feed key (`sagre-enogastronomia`). */
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  description: text('description'),
  active: bool('active').notNull().default(true),
  sortOrder: integer('sort_order').notNull().default(0),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * Zones of the province, maintained by the SAEL admin. A comune's zone is `enti.zone` (the zone's
 * name; a rename updates the enti in the same transaction). `isDemo` flags the demo values.
 */
export const zones = sqliteTable('zones', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull().unique(),
  description: text('description'),
  isDemo: bool('is_demo').notNull().default(false),
  sortOrder: integer('sort_order').notNull().default(0),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const EVENT_STATUSES = ['draft', 'published', 'unpublished', 'cancelled'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];
export const EVENT_RECURRENCES = ['none', 'weekly'] as const;
export type EventRecurrence = (typeof EVENT_RECURRENCES)[number];

/**
 * One event of an ente. `startsAt`/`endsAt` are the first occurrence (several days when they span
 * days); with `recurrence = 'weekly'` it repeats every week on the same weekday and local time
 * until `recurrenceUntil` (a Rome day, inclusive). `event_occurrences` holds every occurrence.
 */
export const events = sqliteTable(
  'events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    categoryId: integer('category_id').notNull().references(() => eventCategories.id, { onDelete: 'restrict' }),
    status: text('status', { enum: EVENT_STATUSES }).notNull().default('draft'),
    title: text('title').notNull(),
    /** One or two sentences for cards, feeds and notifications. */
    summary: text('summary').notNull(),
    /** Plain text, blank line between paragraphs. */
    body: text('body').notNull().default(''),
    startsAt: text('starts_at').notNull(),
    endsAt: text('ends_at').notNull(),
    allDay: bool('all_day').notNull().default(false),
    recurrence: text('recurrence', { enum: EVENT_RECURRENCES }).notNull().default('none'),
    recurrenceUntil: text('recurrence_until'),
    placeName: text('place_name').notNull(),
    address: text('address'),
    latitude: real('latitude'),
    longitude: real('longitude'),
    /** Folder key of the processed image variants (`DATA_DIR/files/events/<imageKey>/…`); null: none. */
    imageKey: text('image_key'),
    imageAlt: text('image_alt'),
    imageWidth: integer('image_width'),
    imageHeight: integer('image_height'),
    /** true: free entry; false: `priceCents` (null = "a pagamento", amount not given) and `priceNote`. */
    free: bool('free').notNull().default(true),
    priceCents: integer('price_cents'),
    priceNote: text('price_note'),
    organiser: text('organiser'),
    contactEmail: text('contact_email'),
    contactPhone: text('contact_phone'),
    /** JSON array of {label, url} (http/https only). */
    links: text('links').notNull().default('[]'),
    /** Shown on the province's home (set by the SAEL admin only). */
    featured: bool('featured').notNull().default(false),
    cancelReason: text('cancel_reason'),
    /** First publication (notifications are sent once, on the first publication). */
    firstPublishedAt: text('first_published_at'),
    /** When the alerts (Web Push, e-mail) for the first publication were queued; null = still to do. */
    alertsQueuedAt: text('alerts_queued_at'),
    publishedAt: text('published_at'),
    /** Optimistic concurrency: an edit names the version it was made on. */
    version: integer('version').notNull().default(1),
    isDemo: bool('is_demo').notNull().default(false),
    createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
    updatedBy: integer('updated_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('events_ente_status').on(t.enteId, t.status),
    index('events_featured').on(t.featured, t.status),
  ],
);

/**
 * Every occurrence of an event, rewritten whenever the event's dates change. Denormalised
 * (`enteId`, `categoryId`, `published`) so the public list filters and orders on one index.
 */
export const eventOccurrences = sqliteTable(
  'event_occurrences',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    eventId: integer('event_id').notNull().references(() => events.id, { onDelete: 'cascade' }),
    enteId: integer('ente_id').notNull(),
    categoryId: integer('category_id').notNull(),
    /** Visible to the public (event published; cancelled ones stay listed as "annullato"). */
    listed: bool('listed').notNull().default(false),
    startsAt: text('starts_at').notNull(),
    endsAt: text('ends_at').notNull(),
    /** Rome days of start and end (inclusive), for day-range filters. */
    startDay: text('start_day').notNull(),
    endDay: text('end_day').notNull(),
  },
  (t) => [
    index('event_occurrences_event').on(t.eventId),
    index('event_occurrences_list').on(t.listed, t.endDay, t.startsAt),
    index('event_occurrences_ente').on(t.enteId, t.listed, t.endDay),
    index('event_occurrences_category').on(t.categoryId, t.listed, t.endDay),
  ],
);

/** Events a signed-in citizen saved ("I miei eventi"); anonymous visitors keep them in a cookie. */
export const eventSaves = sqliteTable(
  'event_saves',
  {
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    eventId: integer('event_id').notNull().references(() => events.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.eventId] }), index('event_saves_event').on(t.eventId)],
);

/** A signed-in citizen's "Il mio Comune" and chosen categories (anonymous: a cookie). */
export const citizenEventPreferences = sqliteTable('citizen_event_preferences', {
  userId: integer('user_id').primaryKey().references(() => users.id, { onDelete: 'cascade' }),
  /** The preferred comune ("Il mio Comune"). */
  enteId: integer('ente_id').references(() => enti.id, { onDelete: 'set null' }),
  /** JSON arrays of ente ids and category ids followed for "I miei eventi" and alerts. */
  followedEnti: text('followed_enti').notNull().default('[]'),
  followedCategories: text('followed_categories').notNull().default('[]'),
  updatedAt: updatedAt(),
});

/**
 * A browser's Web Push subscription (anonymous, or linked to the citizen who made it). What it
 * wants: new events of its comuni × categories (an empty list = all), and, when linked to a
 * citizen who opted in, payment notifications.
 */
export const pushSubscriptions = sqliteTable(
  'push_subscriptions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
    endpoint: text('endpoint').notNull().unique(),
    p256dh: text('p256dh').notNull(),
    auth: text('auth').notNull(),
    events: bool('events').notNull().default(true),
    payments: bool('payments').notNull().default(false),
    /** Secret of the subscription's own management links (update / unsubscribe without login). */
    manageToken: text('manage_token').notNull().unique(),
    failures: integer('failures').notNull().default(0),
    lastSuccessAt: text('last_success_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('push_subscriptions_user').on(t.userId)],
);

export const EMAIL_ALERT_STATUSES = ['pending', 'confirmed', 'unsubscribed'] as const;

/** E-mail alerts for new events: double opt-in, one-click unsubscribe (RFC 8058). */
export const eventEmailSubscriptions = sqliteTable(
  'event_email_subscriptions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    email: text('email').notNull(),
    userId: integer('user_id').references(() => users.id, { onDelete: 'set null' }),
    status: text('status', { enum: EMAIL_ALERT_STATUSES }).notNull().default('pending'),
    /** SHA-256 (hex) of the confirmation token sent by e-mail. */
    confirmTokenHash: text('confirm_token_hash'),
    confirmExpiresAt: text('confirm_expires_at'),
    /** Secret of the unsubscribe link (stored as is: it only unsubscribes). */
    unsubscribeToken: text('unsubscribe_token').notNull().unique(),
    confirmedAt: text('confirmed_at'),
    unsubscribedAt: text('unsubscribed_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('event_email_subscriptions_email').on(t.email)],
);

export const INTEREST_CHANNELS = ['push', 'email'] as const;
export const INTEREST_KINDS = ['ente', 'category'] as const;

/**
 * What a push or e-mail subscription follows, one row per comune or category (so the publication
 * of one event finds its subscribers with an index, not by reading every subscription).
 * A subscription with no row of a kind follows every value of that kind.
 */
export const subscriptionInterests = sqliteTable(
  'subscription_interests',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    channel: text('channel', { enum: INTEREST_CHANNELS }).notNull(),
    subscriptionId: integer('subscription_id').notNull(),
    kind: text('kind', { enum: INTEREST_KINDS }).notNull(),
    refId: integer('ref_id').notNull(),
  },
  (t) => [
    uniqueIndex('subscription_interests_unique').on(t.channel, t.subscriptionId, t.kind, t.refId),
    index('subscription_interests_match').on(t.channel, t.kind, t.refId),
  ],
);

export const NEWS_STATUSES = ['draft', 'published', 'unpublished'] as const;

/** Public news of an ente (the province's rows are the SAEL's), shown on the home, the comune page and a feed. */
export const publicNews = sqliteTable(
  'public_news',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    status: text('status', { enum: NEWS_STATUSES }).notNull().default('draft'),
    title: text('title').notNull(),
    summary: text('summary').notNull(),
    body: text('body').notNull().default(''),
    publishedAt: text('published_at'),
    isDemo: bool('is_demo').notNull().default(false),
    version: integer('version').notNull().default(1),
    createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
    updatedBy: integer('updated_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('public_news_ente').on(t.enteId, t.status, t.publishedAt), index('public_news_published').on(t.status, t.publishedAt)],
);
