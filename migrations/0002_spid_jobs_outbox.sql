CREATE TABLE `aca_outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`iuv` text NOT NULL,
	`payload` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error` text,
	`sent_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `aca_outbox_due` ON `aca_outbox` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `saml_replay` (
	`assertion_id` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `saml_replay_expires` ON `saml_replay` (`expires_at`);--> statement-breakpoint
CREATE TABLE `saml_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`relay_state` text NOT NULL,
	`browser_binding` text NOT NULL,
	`federation` text NOT NULL,
	`idp_entity_id` text NOT NULL,
	`level` integer NOT NULL,
	`issue_instant` text NOT NULL,
	`acs_url` text NOT NULL,
	`target` text NOT NULL,
	`expires_at` integer NOT NULL,
	`consumed_at` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `saml_requests_relay_state_unique` ON `saml_requests` (`relay_state`);--> statement-breakpoint
CREATE INDEX `saml_requests_expires` ON `saml_requests` (`expires_at`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer,
	`kind` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`requested_by` text NOT NULL,
	`input` text DEFAULT '{}' NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`done` integer DEFAULT 0 NOT NULL,
	`result` text,
	`error` text,
	`locked_by` text,
	`heartbeat_at` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `jobs_status` ON `jobs` (`status`);--> statement-breakpoint
CREATE INDEX `jobs_ente` ON `jobs` (`ente_id`);