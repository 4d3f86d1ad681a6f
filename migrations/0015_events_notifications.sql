CREATE TABLE `citizen_event_preferences` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`ente_id` integer,
	`followed_enti` text DEFAULT '[]' NOT NULL,
	`followed_categories` text DEFAULT '[]' NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE TABLE `event_categories` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`active` integer DEFAULT true NOT NULL,
	`sort_order` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `event_categories_slug_unique` ON `event_categories` (`slug`);--> statement-breakpoint
CREATE TABLE `event_email_subscriptions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`email` text NOT NULL,
	`user_id` integer,
	`status` text DEFAULT 'pending' NOT NULL,
	`confirm_token_hash` text,
	`confirm_expires_at` text,
	`unsubscribe_token` text NOT NULL,
	`confirmed_at` text,
	`unsubscribed_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `event_email_subscriptions_unsubscribe_token_unique` ON `event_email_subscriptions` (`unsubscribe_token`);--> statement-breakpoint
CREATE UNIQUE INDEX `event_email_subscriptions_email` ON `event_email_subscriptions` (`email`);--> statement-breakpoint
CREATE TABLE `event_occurrences` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` integer NOT NULL,
	`ente_id` integer NOT NULL,
	`category_id` integer NOT NULL,
	`listed` integer DEFAULT false NOT NULL,
	`starts_at` text NOT NULL,
	`ends_at` text NOT NULL,
	`start_day` text NOT NULL,
	`end_day` text NOT NULL,
	FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `event_occurrences_event` ON `event_occurrences` (`event_id`);--> statement-breakpoint
CREATE INDEX `event_occurrences_list` ON `event_occurrences` (`listed`,`end_day`,`starts_at`);--> statement-breakpoint
CREATE INDEX `event_occurrences_ente` ON `event_occurrences` (`ente_id`,`listed`,`end_day`);--> statement-breakpoint
CREATE INDEX `event_occurrences_category` ON `event_occurrences` (`category_id`,`listed`,`end_day`);--> statement-breakpoint
CREATE TABLE `event_saves` (
	`user_id` integer NOT NULL,
	`event_id` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`user_id`, `event_id`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `event_saves_event` ON `event_saves` (`event_id`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`category_id` integer NOT NULL,
	`status` text DEFAULT 'draft' NOT NULL,
	`title` text NOT NULL,
	`summary` text NOT NULL,
	`body` text DEFAULT '' NOT NULL,
	`starts_at` text NOT NULL,
	`ends_at` text NOT NULL,
	`all_day` integer DEFAULT false NOT NULL,
	`recurrence` text DEFAULT 'none' NOT NULL,
	`recurrence_until` text,
	`place_name` text NOT NULL,
	`address` text,
	`latitude` real,
	`longitude` real,
	`image_key` text,
	`image_alt` text,
	`image_width` integer,
	`image_height` integer,
	`free` integer DEFAULT true NOT NULL,
	`price_cents` integer,
	`price_note` text,
	`organiser` text,
	`contact_email` text,
	`contact_phone` text,
	`links` text DEFAULT '[]' NOT NULL,
	`featured` integer DEFAULT false NOT NULL,
	`cancel_reason` text,
	`first_published_at` text,
	`alerts_queued_at` text,
	`published_at` text,
	`version` integer DEFAULT 1 NOT NULL,
	`is_demo` integer DEFAULT false NOT NULL,
	`created_by` integer,
	`updated_by` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`category_id`) REFERENCES `event_categories`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`updated_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `events_ente_status` ON `events` (`ente_id`,`status`);--> statement-breakpoint
CREATE INDEX `events_featured` ON `events` (`featured`,`status`);--> statement-breakpoint
CREATE TABLE `public_news` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`status` text DEFAULT 'draft' NOT NULL,
	`title` text NOT NULL,
	`summary` text NOT NULL,
	`body` text DEFAULT '' NOT NULL,
	`published_at` text,
	`is_demo` integer DEFAULT false NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`created_by` integer,
	`updated_by` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`updated_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `public_news_ente` ON `public_news` (`ente_id`,`status`,`published_at`);--> statement-breakpoint
CREATE INDEX `public_news_published` ON `public_news` (`status`,`published_at`);--> statement-breakpoint
CREATE TABLE `push_subscriptions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer,
	`endpoint` text NOT NULL,
	`p256dh` text NOT NULL,
	`auth` text NOT NULL,
	`events` integer DEFAULT true NOT NULL,
	`payments` integer DEFAULT false NOT NULL,
	`manage_token` text NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`last_success_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `push_subscriptions_endpoint_unique` ON `push_subscriptions` (`endpoint`);--> statement-breakpoint
CREATE UNIQUE INDEX `push_subscriptions_manage_token_unique` ON `push_subscriptions` (`manage_token`);--> statement-breakpoint
CREATE INDEX `push_subscriptions_user` ON `push_subscriptions` (`user_id`);--> statement-breakpoint
CREATE TABLE `subscription_interests` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`channel` text NOT NULL,
	`subscription_id` integer NOT NULL,
	`kind` text NOT NULL,
	`ref_id` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `subscription_interests_unique` ON `subscription_interests` (`channel`,`subscription_id`,`kind`,`ref_id`);--> statement-breakpoint
CREATE INDEX `subscription_interests_match` ON `subscription_interests` (`channel`,`kind`,`ref_id`);--> statement-breakpoint
CREATE TABLE `zones` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`is_demo` integer DEFAULT false NOT NULL,
	`sort_order` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `zones_slug_unique` ON `zones` (`slug`);--> statement-breakpoint
CREATE UNIQUE INDEX `zones_name_unique` ON `zones` (`name`);--> statement-breakpoint
CREATE TABLE `ente_io_services` (
	`ente_id` integer PRIMARY KEY NOT NULL,
	`service_id` text NOT NULL,
	`api_key_encrypted` text NOT NULL,
	`api_key_hint` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`updated_by` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`updated_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE TABLE `notification_preferences` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`io` integer DEFAULT true NOT NULL,
	`email` integer DEFAULT false NOT NULL,
	`email_address` text,
	`email_confirmed_at` text,
	`email_confirm_token_hash` text,
	`email_confirm_expires_at` text,
	`email_unsubscribe_token` text,
	`push` integer DEFAULT false NOT NULL,
	`reminders` integer DEFAULT true NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notification_preferences_email_unsubscribe_token_unique` ON `notification_preferences` (`email_unsubscribe_token`);--> statement-breakpoint
CREATE TABLE `notification_state` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`channel` text NOT NULL,
	`kind` text NOT NULL,
	`dedupe_key` text NOT NULL,
	`ente_id` integer,
	`user_id` integer,
	`recipient` text NOT NULL,
	`subject` text NOT NULL,
	`payload` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` text NOT NULL,
	`last_error` text,
	`provider_id` text,
	`delivery_state` text,
	`sent_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notifications_dedupe` ON `notifications` (`dedupe_key`);--> statement-breakpoint
CREATE INDEX `notifications_due` ON `notifications` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `notifications_user` ON `notifications` (`user_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `notifications_recipient_day` ON `notifications` (`channel`,`recipient`,`created_at`);--> statement-breakpoint
CREATE TABLE `sim_io_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`fiscal_code` text NOT NULL,
	`service_id` text NOT NULL,
	`subject` text NOT NULL,
	`markdown` text NOT NULL,
	`due_date` text,
	`payment_data` text,
	`body` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sim_io_messages_fc` ON `sim_io_messages` (`fiscal_code`,`created_at`);--> statement-breakpoint
CREATE TABLE `sim_io_profiles` (
	`fiscal_code` text PRIMARY KEY NOT NULL,
	`sender_allowed` integer DEFAULT true NOT NULL,
	`blocked_services` text DEFAULT '[]' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
