CREATE TABLE `ente_ibans` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`iban` text NOT NULL,
	`kind` text NOT NULL,
	`label` text NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ente_ibans_unique` ON `ente_ibans` (`ente_id`,`iban`);--> statement-breakpoint
CREATE TABLE `enti` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`fiscal_code` text NOT NULL,
	`ipa_code` text NOT NULL,
	`istat_code` text,
	`cadastral_code` text,
	`population` integer,
	`segregation_code` text NOT NULL,
	`logo_path` text,
	`slogan` text,
	`zone` text,
	`address` text,
	`phone` text,
	`email` text,
	`pec` text,
	`website` text,
	`office_hours` text,
	`member` integer DEFAULT false NOT NULL,
	`is_demo` integer DEFAULT false NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `enti_fiscal_code_unique` ON `enti` (`fiscal_code`);--> statement-breakpoint
CREATE UNIQUE INDEX `enti_ipa_code_unique` ON `enti` (`ipa_code`);--> statement-breakpoint
CREATE UNIQUE INDEX `enti_istat_code_unique` ON `enti` (`istat_code`);--> statement-breakpoint
CREATE INDEX `enti_name` ON `enti` (`name`);--> statement-breakpoint
CREATE TABLE `payment_services` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`code` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`taxonomy_code` text NOT NULL,
	`default_iban_id` integer,
	`spontaneous` integer DEFAULT false NOT NULL,
	`amount_mode` text DEFAULT 'free' NOT NULL,
	`fixed_amount_cents` integer,
	`min_amount_cents` integer,
	`max_amount_cents` integer,
	`active` integer DEFAULT true NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`default_iban_id`) REFERENCES `ente_ibans`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payment_services_code` ON `payment_services` (`ente_id`,`code`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`prefix` text NOT NULL,
	`key_hash` text NOT NULL,
	`label` text NOT NULL,
	`revoked_at` text,
	`last_used_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_ente` ON `api_keys` (`ente_id`);--> statement-breakpoint
CREATE TABLE `role_grants` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`role` text NOT NULL,
	`ente_id` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `role_grants_unique_ente` ON `role_grants` (`user_id`,`role`,`ente_id`) WHERE "role_grants"."ente_id" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `role_grants_unique_global` ON `role_grants` (`user_id`,`role`) WHERE "role_grants"."ente_id" IS NULL;--> statement-breakpoint
CREATE INDEX `role_grants_ente` ON `role_grants` (`ente_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`fiscal_code` text NOT NULL,
	`name` text,
	`family_name` text,
	`email` text,
	`last_login_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_fiscal_code_unique` ON `users` (`fiscal_code`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`data` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sessions_expires` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`entity` text NOT NULL,
	`entity_id` text NOT NULL,
	`ente_id` integer,
	`before` text,
	`after` text,
	`request_id` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_entity` ON `audit_log` (`entity`,`entity_id`);--> statement-breakpoint
CREATE INDEX `audit_ente` ON `audit_log` (`ente_id`);