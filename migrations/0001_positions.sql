CREATE TABLE `iuv_sequences` (
	`ente_id` integer PRIMARY KEY NOT NULL,
	`next_value` integer NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE TABLE `payment_options` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`position_id` integer NOT NULL,
	`ente_id` integer NOT NULL,
	`ordinal` integer NOT NULL,
	`kind` text NOT NULL,
	`plan` text,
	`installment_number` integer,
	`installment_count` integer,
	`description` text,
	`amount_cents` integer NOT NULL,
	`due_date` text NOT NULL,
	`retention_date` text,
	`iuv` text NOT NULL,
	`notice_number` text NOT NULL,
	`status` text DEFAULT 'unpaid' NOT NULL,
	`paid_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`position_id`) REFERENCES `positions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payment_options_iuv` ON `payment_options` (`ente_id`,`iuv`);--> statement-breakpoint
CREATE UNIQUE INDEX `payment_options_notice` ON `payment_options` (`ente_id`,`notice_number`);--> statement-breakpoint
CREATE INDEX `payment_options_position` ON `payment_options` (`position_id`);--> statement-breakpoint
CREATE INDEX `payment_options_due` ON `payment_options` (`ente_id`,`due_date`);--> statement-breakpoint
CREATE TABLE `positions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`service_id` integer NOT NULL,
	`iupd` text NOT NULL,
	`debtor_type` text NOT NULL,
	`debtor_fiscal_code` text NOT NULL,
	`debtor_name` text NOT NULL,
	`debtor_street` text,
	`debtor_civic` text,
	`debtor_postal_code` text,
	`debtor_city` text,
	`debtor_province` text,
	`debtor_country` text,
	`debtor_email` text,
	`description` text NOT NULL,
	`validity_date` text,
	`switch_to_expired` integer DEFAULT false NOT NULL,
	`status` text NOT NULL,
	`payload_hash` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`published_at` text,
	`cancelled_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`service_id`) REFERENCES `payment_services`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `positions_iupd` ON `positions` (`ente_id`,`iupd`);--> statement-breakpoint
CREATE INDEX `positions_debtor` ON `positions` (`debtor_fiscal_code`);--> statement-breakpoint
CREATE INDEX `positions_ente_status` ON `positions` (`ente_id`,`status`);--> statement-breakpoint
CREATE TABLE `transfers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`option_id` integer NOT NULL,
	`id_transfer` integer NOT NULL,
	`fiscal_code_pa` text NOT NULL,
	`amount_cents` integer NOT NULL,
	`iban` text,
	`postal_iban` text,
	`stamp_hash_document` text,
	`stamp_type` text,
	`stamp_provincial_residence` text,
	`remittance_information` text NOT NULL,
	`taxonomy_code` text NOT NULL,
	`metadata` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`option_id`) REFERENCES `payment_options`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `transfers_option_id` ON `transfers` (`option_id`,`id_transfer`);