CREATE TABLE `cons_aip_documents` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`aip_id` integer NOT NULL,
	`sip_id` integer NOT NULL,
	`file_group_id` text NOT NULL,
	`metadata` text NOT NULL,
	`current` integer DEFAULT true NOT NULL,
	FOREIGN KEY (`aip_id`) REFERENCES `cons_aips`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`sip_id`) REFERENCES `cons_sips`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cons_aip_documents_key` ON `cons_aip_documents` (`aip_id`,`sip_id`);--> statement-breakpoint
CREATE INDEX `cons_aip_documents_sip` ON `cons_aip_documents` (`sip_id`,`current`);--> statement-breakpoint
CREATE TABLE `cons_aips` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`urn` text NOT NULL,
	`ente_id` integer NOT NULL,
	`profile_id` integer NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`previous_aip_id` integer,
	`status` text DEFAULT 'active' NOT NULL,
	`documents` integer NOT NULL,
	`index_key` text NOT NULL,
	`index_sha256` text NOT NULL,
	`signature_key` text NOT NULL,
	`timestamp_key` text NOT NULL,
	`timestamped_at` text NOT NULL,
	`signer_subject` text NOT NULL,
	`retention_until` text,
	`created_at` text NOT NULL,
	`discarded_at` text,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`profile_id`) REFERENCES `cons_profiles`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cons_aips_urn_unique` ON `cons_aips` (`urn`);--> statement-breakpoint
CREATE INDEX `cons_aips_ente` ON `cons_aips` (`ente_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `cons_aips_retention` ON `cons_aips` (`status`,`retention_until`);--> statement-breakpoint
CREATE TABLE `cons_alerts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`ente_id` integer,
	`subject` text NOT NULL,
	`message` text NOT NULL,
	`ticket_id` integer,
	`created_at` text NOT NULL,
	`acknowledged_at` text,
	`acknowledged_by` text,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`ticket_id`) REFERENCES `tickets`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `cons_alerts_open` ON `cons_alerts` (`acknowledged_at`,`created_at`);--> statement-breakpoint
CREATE TABLE `cons_anchors` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`day` text NOT NULL,
	`last_seq` integer NOT NULL,
	`head_hash` text NOT NULL,
	`token` text NOT NULL,
	`timestamped_at` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cons_anchors_day_unique` ON `cons_anchors` (`day`);--> statement-breakpoint
CREATE TABLE `cons_audit_results` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`blob_key` text NOT NULL,
	`outcome` text NOT NULL,
	`actual_sha256` text,
	`checked_at` text NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `cons_audit_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `cons_audit_results_run` ON `cons_audit_results` (`run_id`,`outcome`);--> statement-breakpoint
CREATE INDEX `cons_audit_results_blob` ON `cons_audit_results` (`blob_key`);--> statement-breakpoint
CREATE TABLE `cons_audit_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`started_at` text NOT NULL,
	`finished_at` text,
	`status` text DEFAULT 'running' NOT NULL,
	`due_before` text NOT NULL,
	`cursor` text,
	`checked` integer DEFAULT 0 NOT NULL,
	`ok` integer DEFAULT 0 NOT NULL,
	`mismatches` integer DEFAULT 0 NOT NULL,
	`missing` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `cons_blobs` (
	`key` text PRIMARY KEY NOT NULL,
	`size_bytes` integer NOT NULL,
	`store` text NOT NULL,
	`created_at` text NOT NULL,
	`last_audit_at` text,
	`last_audit_outcome` text,
	`discarded_at` text
);
--> statement-breakpoint
CREATE INDEX `cons_blobs_audit` ON `cons_blobs` (`discarded_at`,`last_audit_at`);--> statement-breakpoint
CREATE TABLE `cons_daily_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`day` text NOT NULL,
	`ente_id` integer NOT NULL,
	`status` text NOT NULL,
	`sips` integer DEFAULT 0 NOT NULL,
	`rejected` integer DEFAULT 0 NOT NULL,
	`aips` integer DEFAULT 0 NOT NULL,
	`message` text,
	`started_at` text NOT NULL,
	`finished_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cons_daily_runs_key` ON `cons_daily_runs` (`day`,`ente_id`);--> statement-breakpoint
CREATE TABLE `cons_dips` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`urn` text NOT NULL,
	`ente_id` integer NOT NULL,
	`aip_id` integer NOT NULL,
	`sip_ids` text,
	`requested_by` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`aip_id`) REFERENCES `cons_aips`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cons_dips_urn_unique` ON `cons_dips` (`urn`);--> statement-breakpoint
CREATE INDEX `cons_dips_ente` ON `cons_dips` (`ente_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `cons_events` (
	`seq` integer PRIMARY KEY NOT NULL,
	`at` text NOT NULL,
	`kind` text NOT NULL,
	`ente_id` integer,
	`actor` text NOT NULL,
	`subject` text NOT NULL,
	`details` text DEFAULT '{}' NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cons_events_hash_unique` ON `cons_events` (`hash`);--> statement-breakpoint
CREATE INDEX `cons_events_subject` ON `cons_events` (`subject`);--> statement-breakpoint
CREATE INDEX `cons_events_ente` ON `cons_events` (`ente_id`,`seq`);--> statement-breakpoint
CREATE TABLE `cons_profiles` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`code` text NOT NULL,
	`name` text NOT NULL,
	`tipologia_documentale` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`formats` text DEFAULT '[]' NOT NULL,
	`required_metadata` text DEFAULT '[]' NOT NULL,
	`retention_years` integer,
	`submitters` text DEFAULT '["ente","sael"]' NOT NULL,
	`signature_required` integer DEFAULT false NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	CONSTRAINT "cons_profiles_retention" CHECK("cons_profiles"."retention_years" IS NULL OR ("cons_profiles"."retention_years" BETWEEN 1 AND 9999))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cons_profiles_code_unique` ON `cons_profiles` (`code`);--> statement-breakpoint
CREATE TABLE `cons_rdv` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`sip_id` integer NOT NULL,
	`urn` text NOT NULL,
	`created_at` text NOT NULL,
	`xml` text NOT NULL,
	`sha256` text NOT NULL,
	FOREIGN KEY (`sip_id`) REFERENCES `cons_sips`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cons_rdv_sip_id_unique` ON `cons_rdv` (`sip_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `cons_rdv_urn_unique` ON `cons_rdv` (`urn`);--> statement-breakpoint
CREATE TABLE `cons_scarto_items` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`list_id` integer NOT NULL,
	`aip_id` integer NOT NULL,
	`ente_id` integer NOT NULL,
	`aip_urn` text NOT NULL,
	`profile_code` text NOT NULL,
	`documents` integer NOT NULL,
	`retention_until` text NOT NULL,
	`index_sha256` text NOT NULL,
	FOREIGN KEY (`list_id`) REFERENCES `cons_scarto_lists`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`aip_id`) REFERENCES `cons_aips`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cons_scarto_items_key` ON `cons_scarto_items` (`list_id`,`aip_id`);--> statement-breakpoint
CREATE TABLE `cons_scarto_lists` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`status` text DEFAULT 'proposed' NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	`authorisation_ref` text,
	`approved_at` text,
	`approved_by` text,
	`executed_at` text,
	`note` text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE TABLE `cons_settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `cons_sip_files` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`sip_id` integer NOT NULL,
	`ordinal` integer NOT NULL,
	`role` text NOT NULL,
	`name` text NOT NULL,
	`declared_sha256` text NOT NULL,
	`actual_sha256` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`mime` text,
	`declared_mime` text,
	`suitability` text,
	`signature` text,
	`storage_key` text,
	FOREIGN KEY (`sip_id`) REFERENCES `cons_sips`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cons_sip_files_ordinal` ON `cons_sip_files` (`sip_id`,`ordinal`);--> statement-breakpoint
CREATE TABLE `cons_sips` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`urn` text NOT NULL,
	`ente_id` integer NOT NULL,
	`profile_id` integer NOT NULL,
	`object_key` text NOT NULL,
	`source` text NOT NULL,
	`submitted_by` text NOT NULL,
	`status` text NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`esito` text NOT NULL,
	`index_sha256` text NOT NULL,
	`sip_sha256` text NOT NULL,
	`doc_date` text,
	`iuv` text,
	`oggetto` text,
	`ticket_id` integer,
	`received_at` text NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`profile_id`) REFERENCES `cons_profiles`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`ticket_id`) REFERENCES `tickets`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cons_sips_urn_unique` ON `cons_sips` (`urn`);--> statement-breakpoint
CREATE INDEX `cons_sips_object` ON `cons_sips` (`ente_id`,`profile_id`,`object_key`);--> statement-breakpoint
CREATE INDEX `cons_sips_ente_received` ON `cons_sips` (`ente_id`,`received_at`);--> statement-breakpoint
CREATE INDEX `cons_sips_iuv` ON `cons_sips` (`iuv`);--> statement-breakpoint
CREATE INDEX `cons_sips_status` ON `cons_sips` (`status`,`ente_id`);--> statement-breakpoint
CREATE TABLE `cons_source_links` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`source_type` text NOT NULL,
	`source_id` integer NOT NULL,
	`ente_id` integer NOT NULL,
	`sip_id` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`sip_id`) REFERENCES `cons_sips`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cons_source_links_key` ON `cons_source_links` (`source_type`,`source_id`);--> statement-breakpoint
CREATE TRIGGER `cons_rdv_no_update` BEFORE UPDATE ON `cons_rdv` BEGIN SELECT RAISE(ABORT, 'cons_rdv is write-once'); END;
--> statement-breakpoint
CREATE TRIGGER `cons_rdv_no_delete` BEFORE DELETE ON `cons_rdv` BEGIN SELECT RAISE(ABORT, 'cons_rdv is write-once'); END;
--> statement-breakpoint
CREATE TRIGGER `cons_events_no_update` BEFORE UPDATE ON `cons_events` BEGIN SELECT RAISE(ABORT, 'cons_events is append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `cons_events_no_delete` BEFORE DELETE ON `cons_events` BEGIN SELECT RAISE(ABORT, 'cons_events is append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `cons_anchors_no_update` BEFORE UPDATE ON `cons_anchors` BEGIN SELECT RAISE(ABORT, 'cons_anchors is write-once'); END;
--> statement-breakpoint
CREATE TRIGGER `cons_anchors_no_delete` BEFORE DELETE ON `cons_anchors` BEGIN SELECT RAISE(ABORT, 'cons_anchors is write-once'); END;
