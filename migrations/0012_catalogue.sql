CREATE TABLE `adesione_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`adesione_id` integer NOT NULL,
	`ente_id` integer NOT NULL,
	`action` text NOT NULL,
	`from_status` text,
	`to_status` text NOT NULL,
	`note` text,
	`actor_user_id` integer,
	`actor_kind` text DEFAULT 'user' NOT NULL,
	`at` text NOT NULL,
	FOREIGN KEY (`adesione_id`) REFERENCES `adesioni`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`actor_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `adesione_events_adesione` ON `adesione_events` (`adesione_id`,`id`);--> statement-breakpoint
CREATE TABLE `adesioni` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`service_id` integer NOT NULL,
	`convenzione_id` integer,
	`status` text DEFAULT 'draft' NOT NULL,
	`quantity` integer DEFAULT 1 NOT NULL,
	`request_data` text DEFAULT '{}' NOT NULL,
	`protocol_number` text,
	`start_date` text,
	`end_date` text,
	`auto_renew` integer DEFAULT false NOT NULL,
	`price_snapshot` text,
	`amount_cents` integer,
	`renews_id` integer,
	`decision_note` text,
	`withdrawal_date` text,
	`warned_t60_at` text,
	`warned_t30_at` text,
	`submitted_by` integer,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`service_id`) REFERENCES `catalogue_services`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`convenzione_id`) REFERENCES `convenzioni`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`submitted_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `adesioni_ente` ON `adesioni` (`ente_id`,`status`);--> statement-breakpoint
CREATE INDEX `adesioni_service` ON `adesioni` (`service_id`,`status`);--> statement-breakpoint
CREATE INDEX `adesioni_end` ON `adesioni` (`status`,`end_date`);--> statement-breakpoint
CREATE TABLE `catalogue_charges` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`adesione_id` integer NOT NULL,
	`ente_id` integer NOT NULL,
	`kind` text NOT NULL,
	`period_key` integer DEFAULT 0 NOT NULL,
	`period_from` text,
	`period_to` text,
	`description` text NOT NULL,
	`amount_cents` integer NOT NULL,
	`due_date` text NOT NULL,
	`status` text DEFAULT 'issued' NOT NULL,
	`position_id` integer,
	`iupd` text,
	`notice_number` text,
	`paid_at` text,
	`reminder_count` integer DEFAULT 0 NOT NULL,
	`last_reminder_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`adesione_id`) REFERENCES `adesioni`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`position_id`) REFERENCES `positions`(`id`) ON UPDATE no action ON DELETE restrict,
	CONSTRAINT "catalogue_charges_amount_pos" CHECK("catalogue_charges"."amount_cents" > 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `catalogue_charges_period` ON `catalogue_charges` (`adesione_id`,`kind`,`period_key`);--> statement-breakpoint
CREATE INDEX `catalogue_charges_ente` ON `catalogue_charges` (`ente_id`,`status`);--> statement-breakpoint
CREATE INDEX `catalogue_charges_due` ON `catalogue_charges` (`status`,`due_date`);--> statement-breakpoint
CREATE INDEX `catalogue_charges_position` ON `catalogue_charges` (`position_id`);--> statement-breakpoint
CREATE TABLE `catalogue_documents` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`owner_id` integer,
	`title` text NOT NULL,
	`file_name` text NOT NULL,
	`content_type` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`sha256` text NOT NULL,
	`storage_path` text NOT NULL,
	`created_by` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `catalogue_documents_owner` ON `catalogue_documents` (`kind`,`owner_id`);--> statement-breakpoint
CREATE TABLE `catalogue_services` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`code` text NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`area` text NOT NULL,
	`summary` text NOT NULL,
	`description` text NOT NULL,
	`included` text DEFAULT '' NOT NULL,
	`billing` text NOT NULL,
	`unit_label` text,
	`included_units` integer,
	`requires_convenzione` integer NOT NULL,
	`requires_approval` integer NOT NULL,
	`sla_tto_minutes` integer NOT NULL,
	`sla_ttr_minutes` integer NOT NULL,
	`request_kinds` text DEFAULT '' NOT NULL,
	`period_months` integer DEFAULT 12 NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`sort_order` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `catalogue_services_code_unique` ON `catalogue_services` (`code`);--> statement-breakpoint
CREATE INDEX `catalogue_services_area` ON `catalogue_services` (`area`,`sort_order`);--> statement-breakpoint
CREATE TABLE `catalogue_settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `convenzioni` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`status` text DEFAULT 'draft' NOT NULL,
	`act_kind` text NOT NULL,
	`act_number` text NOT NULL,
	`act_date` text NOT NULL,
	`start_date` text NOT NULL,
	`end_date` text NOT NULL,
	`signed_at` text,
	`withdrawal_date` text,
	`withdrawal_note` text,
	`signed_pdf_path` text,
	`signed_pdf_name` text,
	`signed_pdf_sha256` text,
	`notes` text,
	`created_by` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `convenzioni_ente` ON `convenzioni` (`ente_id`,`status`);--> statement-breakpoint
CREATE TABLE `ente_classes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`code` text NOT NULL,
	`label` text NOT NULL,
	`min_population` integer NOT NULL,
	`max_population` integer,
	`sort_order` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ente_classes_code_unique` ON `ente_classes` (`code`);--> statement-breakpoint
CREATE TABLE `ente_prices` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`service_id` integer NOT NULL,
	`mode` text NOT NULL,
	`amount_cents` integer,
	`bands` text,
	`valid_from` text NOT NULL,
	`valid_to` text,
	`note` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`service_id`) REFERENCES `catalogue_services`(`id`) ON UPDATE no action ON DELETE restrict,
	CONSTRAINT "ente_prices_amount_nonneg" CHECK("ente_prices"."amount_cents" IS NULL OR "ente_prices"."amount_cents" >= 0)
);
--> statement-breakpoint
CREATE INDEX `ente_prices_lookup` ON `ente_prices` (`ente_id`,`service_id`);--> statement-breakpoint
CREATE TABLE `infopoint_news` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`title` text NOT NULL,
	`summary` text NOT NULL,
	`body` text NOT NULL,
	`status` text DEFAULT 'draft' NOT NULL,
	`published_at` text,
	`created_by` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `infopoint_news_published` ON `infopoint_news` (`status`,`published_at`);--> statement-breakpoint
CREATE TABLE `infopoint_offices` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`address` text NOT NULL,
	`hours` text NOT NULL,
	`phone` text,
	`email` text,
	`pec` text,
	`notes` text,
	`is_demo` integer DEFAULT false NOT NULL,
	`sort_order` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `mailing_recipients` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`mailing_id` integer NOT NULL,
	`subscription_id` integer NOT NULL,
	`email` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`error` text,
	`sent_at` text,
	FOREIGN KEY (`mailing_id`) REFERENCES `mailings`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`subscription_id`) REFERENCES `referenti_subscriptions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `mailing_recipients_unique` ON `mailing_recipients` (`mailing_id`,`subscription_id`);--> statement-breakpoint
CREATE INDEX `mailing_recipients_status` ON `mailing_recipients` (`mailing_id`,`status`);--> statement-breakpoint
CREATE TABLE `mailings` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`subject` text NOT NULL,
	`body` text NOT NULL,
	`document_ids` text DEFAULT '[]' NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`job_id` integer,
	`total` integer DEFAULT 0 NOT NULL,
	`sent` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`created_by` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE TABLE `price_lists` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`valid_from` text NOT NULL,
	`valid_to` text,
	`is_demo` integer DEFAULT false NOT NULL,
	`notes` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `prices` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`price_list_id` integer NOT NULL,
	`service_id` integer NOT NULL,
	`ente_class_id` integer,
	`mode` text NOT NULL,
	`amount_cents` integer,
	`bands` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`price_list_id`) REFERENCES `price_lists`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`service_id`) REFERENCES `catalogue_services`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`ente_class_id`) REFERENCES `ente_classes`(`id`) ON UPDATE no action ON DELETE restrict,
	CONSTRAINT "prices_amount_nonneg" CHECK("prices"."amount_cents" IS NULL OR "prices"."amount_cents" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `prices_class_unique` ON `prices` (`price_list_id`,`service_id`,`ente_class_id`) WHERE "prices"."ente_class_id" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `prices_default_unique` ON `prices` (`price_list_id`,`service_id`) WHERE "prices"."ente_class_id" IS NULL;--> statement-breakpoint
CREATE TABLE `referenti_subscriptions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`user_id` integer,
	`name` text NOT NULL,
	`email` text NOT NULL,
	`unsubscribe_token_hash` text NOT NULL,
	`unsubscribed_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `referenti_subscriptions_unsubscribe_token_hash_unique` ON `referenti_subscriptions` (`unsubscribe_token_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `referenti_subscriptions_email` ON `referenti_subscriptions` (`ente_id`,`email`);--> statement-breakpoint
CREATE TABLE `service_usage` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`adesione_id` integer NOT NULL,
	`ente_id` integer NOT NULL,
	`ticket_id` integer,
	`request_kind` text,
	`units` integer DEFAULT 1 NOT NULL,
	`used_on` text NOT NULL,
	`created_by` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`adesione_id`) REFERENCES `adesioni`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `service_usage_adesione` ON `service_usage` (`adesione_id`,`used_on`);--> statement-breakpoint
CREATE TABLE `training_enrollments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`session_id` integer NOT NULL,
	`ente_id` integer NOT NULL,
	`slot` integer,
	`status` text NOT NULL,
	`participant_name` text NOT NULL,
	`participant_email` text NOT NULL,
	`participant_role` text,
	`enrolled_by` integer,
	`certificate_number` text,
	`cancelled_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `training_sessions`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`enrolled_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "training_enrollments_slot_pos" CHECK("training_enrollments"."slot" IS NULL OR "training_enrollments"."slot" >= 1)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `training_enrollments_slot` ON `training_enrollments` (`session_id`,`ente_id`,`slot`) WHERE "training_enrollments"."slot" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `training_enrollments_person` ON `training_enrollments` (`session_id`,`participant_email`) WHERE "training_enrollments"."status" <> 'cancelled';--> statement-breakpoint
CREATE INDEX `training_enrollments_ente` ON `training_enrollments` (`ente_id`,`session_id`);--> statement-breakpoint
CREATE TABLE `training_sessions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`service_id` integer,
	`title` text NOT NULL,
	`topic` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`starts_at` text NOT NULL,
	`ends_at` text NOT NULL,
	`place` text,
	`online_url` text,
	`speakers` text DEFAULT '' NOT NULL,
	`seats` integer NOT NULL,
	`free_per_ente` integer DEFAULT 2 NOT NULL,
	`status` text DEFAULT 'scheduled' NOT NULL,
	`created_by` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`service_id`) REFERENCES `catalogue_services`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `training_sessions_starts` ON `training_sessions` (`starts_at`);--> statement-breakpoint
ALTER TABLE `tickets` ADD `service_id` integer;