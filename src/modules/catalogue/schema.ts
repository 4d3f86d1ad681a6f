/**
 * The SAEL catalogue (seed items 1–20 with 4A/4B, spec helpdesk-catalogue §B): services, ente
 * classes by population, price lists (listino) with per-ente overrides, convenzioni, adesioni with
 * their event log, the charges they produce (each a payment position of the Province owed by the
 * comune), usage of included units, training sessions with the 2-free-seats-per-ente quota,
 * the referenti's mailing list and mailings, infopoint offices, news and documents.
 * Every money amount is integer cents; dates are ISO `YYYY-MM-DD` text, instants ISO UTC text.
 */
import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { bool, createdAt, updatedAt } from '../../db/columns.js';
import { enti } from '../enti/schema.js';
import { positions } from '../positions/schema.js';
import { users } from '../users/schema.js';

export const SERVICE_KINDS = ['base', 'specialistico'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];
export const SERVICE_AREAS = ['amministrazione_digitale', 'consulenza_tecnica', 'altri_servizi'] as const;
export type ServiceArea = (typeof SERVICE_AREAS)[number];
export const BILLING_KINDS = ['free', 'one_off', 'annual', 'per_unit'] as const;
export type BillingKind = (typeof BILLING_KINDS)[number];

/** One service of the catalogue. `code` is the seed's number ("1" … "20", "4A", "4B"). */
export const catalogueServices = sqliteTable(
  'catalogue_services',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    code: text('code').notNull().unique(),
    name: text('name').notNull(),
    kind: text('kind', { enum: SERVICE_KINDS }).notNull(),
    area: text('area', { enum: SERVICE_AREAS }).notNull(),
    /** One sentence for lists. */
    summary: text('summary').notNull(),
    /** The scheda tecnica, in paragraphs (plain text, blank line between paragraphs). */
    description: text('description').notNull(),
    /** What is included: one item per line. */
    included: text('included').notNull().default(''),
    billing: text('billing', { enum: BILLING_KINDS }).notNull(),
    /** What one unit is, for per-unit services ("casella PEC", "intervento", "ora di consulenza"). */
    unitLabel: text('unit_label'),
    /** Units included per year of adesione (requests count against it); null = not counted. */
    includedUnits: integer('included_units'),
    requiresConvenzione: bool('requires_convenzione').notNull(),
    requiresApproval: bool('requires_approval').notNull(),
    /** SLA of the requests opened under this service (business minutes, the helpdesk calendar). */
    slaTtoMinutes: integer('sla_tto_minutes').notNull(),
    slaTtrMinutes: integer('sla_ttr_minutes').notNull(),
    /** Request kinds offered on the service page, one per line ("Intervento hardware", …). */
    requestKinds: text('request_kinds').notNull().default(''),
    /** Adesione period in months (12 for annual services). */
    periodMonths: integer('period_months').notNull().default(12),
    active: bool('active').notNull().default(true),
    sortOrder: integer('sort_order').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('catalogue_services_area').on(t.area, t.sortOrder)],
);

/** Ente classes by population band (bands configurable by the SAEL admin). */
export const enteClasses = sqliteTable('ente_classes', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  code: text('code').notNull().unique(),
  label: text('label').notNull(),
  minPopulation: integer('min_population').notNull(),
  /** Inclusive; null = no upper bound. */
  maxPopulation: integer('max_population'),
  sortOrder: integer('sort_order').notNull().default(0),
  createdAt: createdAt(),
});

export const PRICE_MODES = ['fixed', 'per_unit', 'bands'] as const;
export type PriceMode = (typeof PRICE_MODES)[number];

/** A price list (listino) with its validity period. */
export const priceLists = sqliteTable('price_lists', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  validFrom: text('valid_from').notNull(),
  /** Inclusive; null = open-ended. */
  validTo: text('valid_to'),
  /** The amounts are demo values, not the Province's deliberated tariffs. */
  isDemo: bool('is_demo').notNull().default(false),
  notes: text('notes'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * A price of one service in one list, for one ente class or (class null) the default.
 * fixed: amountCents per period; per_unit: amountCents per unit; bands: JSON
 * `[{ "from": 1, "to": 10, "amountCents": 500 }, …]` (quantity bands, `to` null = open).
 */
export const prices = sqliteTable(
  'prices',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    priceListId: integer('price_list_id').notNull().references(() => priceLists.id, { onDelete: 'cascade' }),
    serviceId: integer('service_id').notNull().references(() => catalogueServices.id, { onDelete: 'restrict' }),
    enteClassId: integer('ente_class_id').references(() => enteClasses.id, { onDelete: 'restrict' }),
    mode: text('mode', { enum: PRICE_MODES }).notNull(),
    amountCents: integer('amount_cents'),
    bands: text('bands'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('prices_class_unique').on(t.priceListId, t.serviceId, t.enteClassId).where(sql`${t.enteClassId} IS NOT NULL`),
    uniqueIndex('prices_default_unique').on(t.priceListId, t.serviceId).where(sql`${t.enteClassId} IS NULL`),
    check('prices_amount_nonneg', sql`${t.amountCents} IS NULL OR ${t.amountCents} >= 0`),
  ],
);

/** Per-ente price override of a service, with its own validity. */
export const entePrices = sqliteTable(
  'ente_prices',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    serviceId: integer('service_id').notNull().references(() => catalogueServices.id, { onDelete: 'restrict' }),
    mode: text('mode', { enum: PRICE_MODES }).notNull(),
    amountCents: integer('amount_cents'),
    bands: text('bands'),
    validFrom: text('valid_from').notNull(),
    validTo: text('valid_to'),
    note: text('note'),
    createdAt: createdAt(),
  },
  (t) => [index('ente_prices_lookup').on(t.enteId, t.serviceId), check('ente_prices_amount_nonneg', sql`${t.amountCents} IS NULL OR ${t.amountCents} >= 0`)],
);

export const CONVENZIONE_STATUSES = ['draft', 'signed', 'in_force', 'expired', 'withdrawn'] as const;
export type ConvenzioneStatus = (typeof CONVENZIONE_STATUSES)[number];

/** The framework agreement (convenzione, TUEL art. 30) of an ente with the Province. */
export const convenzioni = sqliteTable(
  'convenzioni',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    status: text('status', { enum: CONVENZIONE_STATUSES }).notNull().default('draft'),
    /** delibera | determina */
    actKind: text('act_kind').notNull(),
    actNumber: text('act_number').notNull(),
    actDate: text('act_date').notNull(),
    startDate: text('start_date').notNull(),
    endDate: text('end_date').notNull(),
    signedAt: text('signed_at'),
    /** Recesso: effective date (obligations before it remain) and notes. */
    withdrawalDate: text('withdrawal_date'),
    withdrawalNote: text('withdrawal_note'),
    /** The signed PDF: file under DATA_DIR, its name and SHA-256. */
    signedPdfPath: text('signed_pdf_path'),
    signedPdfName: text('signed_pdf_name'),
    signedPdfSha256: text('signed_pdf_sha256'),
    notes: text('notes'),
    createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('convenzioni_ente').on(t.enteId, t.status)],
);

export const ADESIONE_STATUSES = [
  'draft',
  'submitted',
  'under_review',
  'changes_requested',
  'approved',
  'rejected',
  'active',
  'suspended',
  'expiring',
  'renewed',
  'expired',
  'withdrawn',
] as const;
export type AdesioneStatus = (typeof ADESIONE_STATUSES)[number];

/** An ente's adesione (subscription) to one service, for one period. */
export const adesioni = sqliteTable(
  'adesioni',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    serviceId: integer('service_id').notNull().references(() => catalogueServices.id, { onDelete: 'restrict' }),
    convenzioneId: integer('convenzione_id').references(() => convenzioni.id, { onDelete: 'restrict' }),
    status: text('status', { enum: ADESIONE_STATUSES }).notNull().default('draft'),
    /** Units asked for (caselle PEC, kit di firma, …); 1 for services not counted in units. */
    quantity: integer('quantity').notNull().default(1),
    /** The filled modulo (JSON: referente, contacts, notes, service-specific fields). */
    requestData: text('request_data').notNull().default('{}'),
    protocolNumber: text('protocol_number'),
    startDate: text('start_date'),
    endDate: text('end_date'),
    autoRenew: bool('auto_renew').notNull().default(false),
    /** Price snapshot at approval / renewal (JSON: list, source, mode, amounts, bands, class). */
    priceSnapshot: text('price_snapshot'),
    /** Amount per period (annual) or once (one-off) from the snapshot; 0 for free services. */
    amountCents: integer('amount_cents'),
    /** The adesione this one renews (a renewal is a new row for the new period). */
    renewsId: integer('renews_id'),
    decisionNote: text('decision_note'),
    withdrawalDate: text('withdrawal_date'),
    warnedT60At: text('warned_t60_at'),
    warnedT30At: text('warned_t30_at'),
    submittedBy: integer('submitted_by').references(() => users.id, { onDelete: 'set null' }),
    /** Optimistic concurrency: every transition bumps it. */
    version: integer('version').notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('adesioni_ente').on(t.enteId, t.status), index('adesioni_service').on(t.serviceId, t.status), index('adesioni_end').on(t.status, t.endDate)],
);

/** Every transition of an adesione (the timeline). */
export const adesioneEvents = sqliteTable(
  'adesione_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    adesioneId: integer('adesione_id').notNull().references(() => adesioni.id, { onDelete: 'cascade' }),
    enteId: integer('ente_id').notNull(),
    action: text('action').notNull(),
    fromStatus: text('from_status'),
    toStatus: text('to_status').notNull(),
    note: text('note'),
    actorUserId: integer('actor_user_id').references(() => users.id, { onDelete: 'set null' }),
    /** 'user' | 'system' (scheduled task) */
    actorKind: text('actor_kind').notNull().default('user'),
    at: text('at').notNull(),
  },
  (t) => [index('adesione_events_adesione').on(t.adesioneId, t.id)],
);

export const CHARGE_KINDS = ['one_off', 'annual', 'units'] as const;
export const CHARGE_STATUSES = ['issued', 'paid', 'cancelled'] as const;
export type ChargeStatus = (typeof CHARGE_STATUSES)[number];

/**
 * A charge of an adesione: a payment position of the Province whose debtor is the comune.
 * Overdue is not a stored state: issued and past `due_date`.
 */
export const catalogueCharges = sqliteTable(
  'catalogue_charges',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    adesioneId: integer('adesione_id').notNull().references(() => adesioni.id, { onDelete: 'restrict' }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    kind: text('kind', { enum: CHARGE_KINDS }).notNull(),
    /** One charge per (adesione, kind, period key): the year for annual slices, 0 for one-off. */
    periodKey: integer('period_key').notNull().default(0),
    periodFrom: text('period_from'),
    periodTo: text('period_to'),
    description: text('description').notNull(),
    amountCents: integer('amount_cents').notNull(),
    dueDate: text('due_date').notNull(),
    status: text('status', { enum: CHARGE_STATUSES }).notNull().default('issued'),
    /** The Province's position (debtor = the comune's fiscal code). */
    positionId: integer('position_id').references(() => positions.id, { onDelete: 'restrict' }),
    iupd: text('iupd'),
    noticeNumber: text('notice_number'),
    paidAt: text('paid_at'),
    reminderCount: integer('reminder_count').notNull().default(0),
    lastReminderAt: text('last_reminder_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('catalogue_charges_period').on(t.adesioneId, t.kind, t.periodKey),
    index('catalogue_charges_ente').on(t.enteId, t.status),
    index('catalogue_charges_due').on(t.status, t.dueDate),
    index('catalogue_charges_position').on(t.positionId),
    check('catalogue_charges_amount_pos', sql`${t.amountCents} > 0`),
  ],
);

/** Units used under an adesione (a request = a ticket, counted against the included units). */
export const serviceUsage = sqliteTable(
  'service_usage',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    adesioneId: integer('adesione_id').notNull().references(() => adesioni.id, { onDelete: 'restrict' }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    ticketId: integer('ticket_id'),
    requestKind: text('request_kind'),
    units: integer('units').notNull().default(1),
    usedOn: text('used_on').notNull(),
    createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [index('service_usage_adesione').on(t.adesioneId, t.usedOn)],
);

export const TRAINING_STATUSES = ['scheduled', 'cancelled', 'held'] as const;

/** A training session (base service and item 19). */
export const trainingSessions = sqliteTable(
  'training_sessions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    serviceId: integer('service_id').references(() => catalogueServices.id, { onDelete: 'set null' }),
    title: text('title').notNull(),
    topic: text('topic').notNull(),
    description: text('description').notNull().default(''),
    startsAt: text('starts_at').notNull(),
    endsAt: text('ends_at').notNull(),
    place: text('place'),
    onlineUrl: text('online_url'),
    speakers: text('speakers').notNull().default(''),
    /** Total seats of the room / session. */
    seats: integer('seats').notNull(),
    /** Free participants per member ente (the seed: 2). */
    freePerEnte: integer('free_per_ente').notNull().default(2),
    status: text('status', { enum: TRAINING_STATUSES }).notNull().default('scheduled'),
    createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('training_sessions_starts').on(t.startsAt)],
);

export const ENROLLMENT_STATUSES = ['confirmed', 'waitlisted', 'cancelled', 'attended', 'no_show'] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

/**
 * An enrolment. A confirmed one holds one of its ente's free slots (1..free_per_ente): the unique
 * index on (session, ente, slot) is what makes the 2-per-ente quota race-safe; waitlisted and
 * cancelled rows hold no slot.
 */
export const trainingEnrollments = sqliteTable(
  'training_enrollments',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    sessionId: integer('session_id').notNull().references(() => trainingSessions.id, { onDelete: 'restrict' }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    slot: integer('slot'),
    status: text('status', { enum: ENROLLMENT_STATUSES }).notNull(),
    participantName: text('participant_name').notNull(),
    participantEmail: text('participant_email').notNull(),
    participantRole: text('participant_role'),
    enrolledBy: integer('enrolled_by').references(() => users.id, { onDelete: 'set null' }),
    certificateNumber: text('certificate_number'),
    cancelledAt: text('cancelled_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('training_enrollments_slot').on(t.sessionId, t.enteId, t.slot).where(sql`${t.slot} IS NOT NULL`),
    uniqueIndex('training_enrollments_person')
      .on(t.sessionId, t.participantEmail)
      .where(sql`${t.status} <> 'cancelled'`),
    index('training_enrollments_ente').on(t.enteId, t.sessionId),
    check('training_enrollments_slot_pos', sql`${t.slot} IS NULL OR ${t.slot} >= 1`),
  ],
);

/** The mailing list of the member enti's referenti (seed items 19 and base service). */
export const referentiSubscriptions = sqliteTable(
  'referenti_subscriptions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'cascade' }),
    userId: integer('user_id').references(() => users.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    email: text('email').notNull(),
    /** SHA-256 (hex) of the unsubscribe token; the token is only in the mails. */
    unsubscribeTokenHash: text('unsubscribe_token_hash').notNull().unique(),
    unsubscribedAt: text('unsubscribed_at'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('referenti_subscriptions_email').on(t.enteId, t.email)],
);

export const MAILING_STATUSES = ['queued', 'sending', 'done', 'failed'] as const;

/** A news / documents mailing to the referenti, sent as a job with progress. */
export const mailings = sqliteTable('mailings', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  subject: text('subject').notNull(),
  body: text('body').notNull(),
  /** Documents linked in the mail (JSON array of catalogue_documents ids). */
  documentIds: text('document_ids').notNull().default('[]'),
  status: text('status', { enum: MAILING_STATUSES }).notNull().default('queued'),
  jobId: integer('job_id'),
  total: integer('total').notNull().default(0),
  sent: integer('sent').notNull().default(0),
  failed: integer('failed').notNull().default(0),
  createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const mailingRecipients = sqliteTable(
  'mailing_recipients',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    mailingId: integer('mailing_id').notNull().references(() => mailings.id, { onDelete: 'cascade' }),
    subscriptionId: integer('subscription_id').notNull().references(() => referentiSubscriptions.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    /** pending | sent | failed | skipped */
    status: text('status').notNull().default('pending'),
    error: text('error'),
    sentAt: text('sent_at'),
  },
  (t) => [uniqueIndex('mailing_recipients_unique').on(t.mailingId, t.subscriptionId), index('mailing_recipients_status').on(t.mailingId, t.status)],
);

/** SAEL offices (sedi) with hours and contacts, shown by the infopoint. */
export const infopointOffices = sqliteTable('infopoint_offices', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  address: text('address').notNull(),
  hours: text('hours').notNull(),
  phone: text('phone'),
  email: text('email'),
  pec: text('pec'),
  notes: text('notes'),
  isDemo: bool('is_demo').notNull().default(false),
  sortOrder: integer('sort_order').notNull().default(0),
  createdAt: createdAt(),
});

/** News for the enti (infopoint, item 10), with attachments in catalogue_documents. */
export const infopointNews = sqliteTable(
  'infopoint_news',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    title: text('title').notNull(),
    summary: text('summary').notNull(),
    body: text('body').notNull(),
    /** draft | published */
    status: text('status').notNull().default('draft'),
    publishedAt: text('published_at'),
    createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('infopoint_news_published').on(t.status, t.publishedAt)],
);

export const DOCUMENT_KINDS = ['modulo', 'news_attachment', 'service_doc', 'convenzione', 'mailing'] as const;

/** Files of the catalogue (modulistica, news attachments, service documents), content-addressed. */
export const catalogueDocuments = sqliteTable(
  'catalogue_documents',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind', { enum: DOCUMENT_KINDS }).notNull(),
    /** news id, service id, convenzione id or mailing id, by kind; null for general modulistica. */
    ownerId: integer('owner_id'),
    title: text('title').notNull(),
    fileName: text('file_name').notNull(),
    contentType: text('content_type').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    sha256: text('sha256').notNull(),
    storagePath: text('storage_path').notNull(),
    createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [index('catalogue_documents_owner').on(t.kind, t.ownerId)],
);

/** Catalogue settings (key → JSON value): charges' payment service, reminder days, … */
export const catalogueSettings = sqliteTable('catalogue_settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: updatedAt(),
});
