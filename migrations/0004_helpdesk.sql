CREATE TABLE `anomaly_notes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`anomaly_id` integer NOT NULL,
	`author` text NOT NULL,
	`text` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`anomaly_id`) REFERENCES `anomalies`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `anomaly_notes_anomaly` ON `anomaly_notes` (`anomaly_id`);--> statement-breakpoint
CREATE TABLE `fdr_entry_matches` (
	`entry_id` integer PRIMARY KEY NOT NULL,
	`flow_row_id` integer NOT NULL,
	`ente_id` integer NOT NULL,
	`state` text NOT NULL,
	`receipt_row_id` integer,
	`receipt_transfer_id` integer,
	FOREIGN KEY (`entry_id`) REFERENCES `fdr_entries`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`flow_row_id`) REFERENCES `fdr_flows`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `fdr_entry_matches_flow` ON `fdr_entry_matches` (`flow_row_id`,`state`);--> statement-breakpoint
CREATE INDEX `fdr_entry_matches_receipt` ON `fdr_entry_matches` (`receipt_row_id`);--> statement-breakpoint
CREATE INDEX `fdr_entry_matches_transfer` ON `fdr_entry_matches` (`receipt_transfer_id`);--> statement-breakpoint
CREATE TABLE `fdr_flow_recon` (
	`flow_row_id` integer PRIMARY KEY NOT NULL,
	`ente_id` integer NOT NULL,
	`flow_id` text NOT NULL,
	`psp_id` text NOT NULL,
	`revision` integer NOT NULL,
	`state` text NOT NULL,
	`superseded_by` integer,
	`count_ok` integer NOT NULL,
	`sum_ok` integer NOT NULL,
	`computed_count` integer NOT NULL,
	`computed_sum_cents` integer NOT NULL,
	`matched_rows` integer DEFAULT 0 NOT NULL,
	`anomaly_rows` integer DEFAULT 0 NOT NULL,
	`sha256` text NOT NULL,
	`credit_movement_id` integer,
	`processed_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`flow_row_id`) REFERENCES `fdr_flows`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `fdr_flow_recon_key` ON `fdr_flow_recon` (`ente_id`,`flow_id`,`psp_id`,`revision`);--> statement-breakpoint
CREATE INDEX `fdr_flow_recon_state` ON `fdr_flow_recon` (`ente_id`,`state`);--> statement-breakpoint
CREATE TABLE `mail_outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`to_address` text NOT NULL,
	`subject` text NOT NULL,
	`body` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`ticket_id` integer,
	`sent_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ticket_id`) REFERENCES `tickets`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `mail_outbox_status` ON `mail_outbox` (`status`);--> statement-breakpoint
CREATE TABLE `node_calls` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`fiscal_code` text NOT NULL,
	`notice_number` text NOT NULL,
	`operation` text NOT NULL,
	`outcome` text NOT NULL,
	`fault_code` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `node_calls_notice` ON `node_calls` (`fiscal_code`,`notice_number`);--> statement-breakpoint
CREATE TABLE `ticket_attachments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ticket_id` integer NOT NULL,
	`message_id` integer,
	`file_name` text NOT NULL,
	`content_type` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`sha256` text NOT NULL,
	`storage_path` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ticket_id`) REFERENCES `tickets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`message_id`) REFERENCES `ticket_messages`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `ticket_attachments_ticket` ON `ticket_attachments` (`ticket_id`);--> statement-breakpoint
CREATE TABLE `ticket_messages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ticket_id` integer NOT NULL,
	`author_id` integer,
	`author_kind` text NOT NULL,
	`visibility` text NOT NULL,
	`body` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ticket_id`) REFERENCES `tickets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `ticket_messages_ticket` ON `ticket_messages` (`ticket_id`);--> statement-breakpoint
CREATE TABLE `tickets` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`requester_id` integer NOT NULL,
	`assignee_id` integer,
	`subject` text NOT NULL,
	`category` text NOT NULL,
	`type` text NOT NULL,
	`priority` text NOT NULL,
	`status` text DEFAULT 'new' NOT NULL,
	`link_kind` text,
	`link_id` integer,
	`tto_target_minutes` integer NOT NULL,
	`ttr_target_minutes` integer NOT NULL,
	`sla_used_minutes` integer DEFAULT 0 NOT NULL,
	`clock_from` text,
	`owned_at` text,
	`resolved_at` text,
	`closed_at` text,
	`tto_breached` integer DEFAULT false NOT NULL,
	`ttr_breached` integer DEFAULT false NOT NULL,
	`reopen_count` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`requester_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`assignee_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `tickets_ente_status` ON `tickets` (`ente_id`,`status`);--> statement-breakpoint
CREATE INDEX `tickets_status` ON `tickets` (`status`);--> statement-breakpoint
CREATE INDEX `tickets_link` ON `tickets` (`link_kind`,`link_id`);--> statement-breakpoint
CREATE TABLE `treasury_imports` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`format` text NOT NULL,
	`file_name` text NOT NULL,
	`sha256` text NOT NULL,
	`movements` integer NOT NULL,
	`new_movements` integer NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `treasury_imports_file` ON `treasury_imports` (`ente_id`,`sha256`);--> statement-breakpoint
CREATE TABLE `treasury_movements` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`import_id` integer NOT NULL,
	`movement_id` text NOT NULL,
	`direction` text NOT NULL,
	`amount_cents` integer NOT NULL,
	`booking_date` text NOT NULL,
	`value_date` text,
	`causale` text NOT NULL,
	`account` text,
	`payload_hash` text NOT NULL,
	`ref_kind` text NOT NULL,
	`ref_value` text,
	`state` text NOT NULL,
	`error_code` text,
	`match_kind` text,
	`flow_row_id` integer,
	`receipt_row_id` integer,
	`note` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_attempt_at` text,
	`matched_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`import_id`) REFERENCES `treasury_imports`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`flow_row_id`) REFERENCES `fdr_flows`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`receipt_row_id`) REFERENCES `receipts`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `treasury_movements_key` ON `treasury_movements` (`ente_id`,`movement_id`);--> statement-breakpoint
CREATE INDEX `treasury_movements_state` ON `treasury_movements` (`ente_id`,`state`);--> statement-breakpoint
CREATE INDEX `treasury_movements_flow` ON `treasury_movements` (`flow_row_id`);--> statement-breakpoint
CREATE INDEX `treasury_movements_receipt` ON `treasury_movements` (`receipt_row_id`);--> statement-breakpoint
ALTER TABLE `anomalies` ADD `code` text;--> statement-breakpoint
ALTER TABLE `anomalies` ADD `dedup_key` text;--> statement-breakpoint
ALTER TABLE `anomalies` ADD `assignee_id` integer;--> statement-breakpoint
ALTER TABLE `anomalies` ADD `resolution_note` text;--> statement-breakpoint
ALTER TABLE `anomalies` ADD `resolved_at` text;--> statement-breakpoint
ALTER TABLE `anomalies` ADD `updated_at` text;--> statement-breakpoint
CREATE UNIQUE INDEX `anomalies_dedup` ON `anomalies` (`dedup_key`) WHERE "anomalies"."dedup_key" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `receipts_iuv_receipt` ON `receipts` (`iuv`,`receipt_id`);