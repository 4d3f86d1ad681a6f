/**
 * Citizen notifications, one module for payments and events: each citizen's preferences, each
 * ente's App IO service (its key stored encrypted), and `notifications`, the outbox that is also
 * the audit of what was sent to whom, through which channel, and its delivery state.
 */
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { bool, createdAt, updatedAt } from '../../db/columns.js';
import { enti } from '../enti/schema.js';
import { users } from '../users/schema.js';

/** A citizen's choices (page "Notifiche" of the personal area). No row = the defaults. */
export const notificationPreferences = sqliteTable('notification_preferences', {
  userId: integer('user_id').primaryKey().references(() => users.id, { onDelete: 'cascade' }),
  /** App IO messages for payments (default on: IO itself asks the citizen's consent per service). */
  io: bool('io').notNull().default(true),
  /** E-mail for payments, to `email` once confirmed (double opt-in). */
  email: bool('email').notNull().default(false),
  emailAddress: text('email_address'),
  emailConfirmedAt: text('email_confirmed_at'),
  emailConfirmTokenHash: text('email_confirm_token_hash'),
  emailConfirmExpiresAt: text('email_confirm_expires_at'),
  emailUnsubscribeToken: text('email_unsubscribe_token').unique(),
  /** Web Push for payments, to the citizen's subscriptions with `payments` on. */
  push: bool('push').notNull().default(false),
  /** Reminders before due dates (on every enabled channel). */
  reminders: bool('reminders').notNull().default(true),
  updatedAt: updatedAt(),
});

/** An ente's App IO service: its id and its API key, AES-256-GCM encrypted with NOTIFICATIONS_KEY. */
export const enteIoServices = sqliteTable('ente_io_services', {
  enteId: integer('ente_id').primaryKey().references(() => enti.id, { onDelete: 'cascade' }),
  serviceId: text('service_id').notNull(),
  /** base64url(iv ‖ ciphertext ‖ tag); never shown again once saved. */
  apiKeyEncrypted: text('api_key_encrypted').notNull(),
  /** Last 4 characters, to tell keys apart on the page. */
  apiKeyHint: text('api_key_hint').notNull(),
  enabled: bool('enabled').notNull().default(true),
  updatedBy: integer('updated_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const NOTIFICATION_CHANNELS = ['io', 'email', 'push'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];
export const NOTIFICATION_KINDS = ['position_published', 'payment_reminder', 'receipt', 'event_published', 'email_confirmation'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
/**
 * queued → sending → sent (accepted by the channel) → delivered/failed as the channel reports;
 * skipped (not allowed: no IO profile / sender_allowed false / preference off / daily cap),
 * gone (push subscription reported 404/410), failed (retries exhausted or refused).
 */
export const NOTIFICATION_STATUSES = ['queued', 'sending', 'sent', 'delivered', 'skipped', 'gone', 'failed'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

export const notifications = sqliteTable(
  'notifications',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    channel: text('channel', { enum: NOTIFICATION_CHANNELS }).notNull(),
    kind: text('kind', { enum: NOTIFICATION_KINDS }).notNull(),
    /** Unique: the same thing is never sent twice (`io:reminder:<optionId>:<dueDate>`, `push:event:<eventId>:<subId>`). */
    dedupeKey: text('dedupe_key').notNull(),
    enteId: integer('ente_id').references(() => enti.id, { onDelete: 'set null' }),
    userId: integer('user_id').references(() => users.id, { onDelete: 'set null' }),
    /** Recipient: fiscal code (IO), e-mail address, or push subscription id. */
    recipient: text('recipient').notNull(),
    /** What it is about: `position:<id>`, `option:<id>`, `receipt:<id>`, `event:<id>`. */
    subject: text('subject').notNull(),
    /** The message to send (JSON: IO NewMessage / mail / push payload), kept as the audit of what was sent. */
    payload: text('payload').notNull(),
    status: text('status', { enum: NOTIFICATION_STATUSES }).notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: text('next_attempt_at').notNull(),
    lastError: text('last_error'),
    /** The channel's id for it (IO message id). */
    providerId: text('provider_id'),
    /** The channel's last delivery report (IO status, push HTTP status). */
    deliveryState: text('delivery_state'),
    sentAt: text('sent_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('notifications_dedupe').on(t.dedupeKey),
    index('notifications_due').on(t.status, t.nextAttemptAt),
    index('notifications_user').on(t.userId, t.createdAt),
    index('notifications_recipient_day').on(t.channel, t.recipient, t.createdAt),
  ],
);

/** The module's cursors and flags (key → JSON value), e.g. the last position id the triggers looked at. */
export const notificationState = sqliteTable('notification_state', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: updatedAt(),
});
