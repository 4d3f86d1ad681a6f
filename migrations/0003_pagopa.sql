CREATE TABLE `anomalies` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`type` text NOT NULL,
	`ente_id` integer,
	`refs` text DEFAULT '{}' NOT NULL,
	`amount_cents` integer,
	`detail` text,
	`status` text DEFAULT 'open' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `anomalies_status` ON `anomalies` (`status`,`type`);--> statement-breakpoint
CREATE INDEX `anomalies_ente` ON `anomalies` (`ente_id`);--> statement-breakpoint
CREATE TABLE `checkout_cart_items` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`cart_id` text NOT NULL,
	`ordinal` integer NOT NULL,
	`ente_id` integer NOT NULL,
	`option_id` integer NOT NULL,
	`notice_number` text NOT NULL,
	`fiscal_code` text NOT NULL,
	`amount_cents` integer NOT NULL,
	`description` text NOT NULL,
	`company_name` text NOT NULL,
	FOREIGN KEY (`cart_id`) REFERENCES `checkout_carts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`option_id`) REFERENCES `payment_options`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `checkout_cart_items_key` ON `checkout_cart_items` (`cart_id`,`ordinal`);--> statement-breakpoint
CREATE INDEX `checkout_cart_items_option` ON `checkout_cart_items` (`option_id`);--> statement-breakpoint
CREATE TABLE `checkout_carts` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text DEFAULT 'created' NOT NULL,
	`email` text,
	`return_base` text NOT NULL,
	`redirect_url` text,
	`return_outcome` text,
	`error` text,
	`total_cents` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `checkout_carts_status` ON `checkout_carts` (`status`);--> statement-breakpoint
CREATE TABLE `fdr_entries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`flow_row_id` integer NOT NULL,
	`ordinal` integer NOT NULL,
	`iuv` text NOT NULL,
	`iur` text NOT NULL,
	`transfer_index` integer,
	`amount_cents` integer NOT NULL,
	`outcome_code` text NOT NULL,
	`outcome_date` text NOT NULL,
	FOREIGN KEY (`flow_row_id`) REFERENCES `fdr_flows`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `fdr_entries_key` ON `fdr_entries` (`flow_row_id`,`ordinal`);--> statement-breakpoint
CREATE INDEX `fdr_entries_iuv` ON `fdr_entries` (`iuv`);--> statement-breakpoint
CREATE INDEX `fdr_entries_iur` ON `fdr_entries` (`iur`);--> statement-breakpoint
CREATE TABLE `fdr_flows` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`flow_id` text NOT NULL,
	`flow_date_time` text NOT NULL,
	`psp_id` text NOT NULL,
	`psp_name` text,
	`settlement_id` text NOT NULL,
	`settlement_date` text NOT NULL,
	`bic` text,
	`receiver_fiscal_code` text NOT NULL,
	`total_payments` integer NOT NULL,
	`total_amount_cents` integer NOT NULL,
	`raw_xml` text NOT NULL,
	`source` text DEFAULT 'nodoChiedi' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `fdr_flows_key` ON `fdr_flows` (`ente_id`,`flow_id`,`flow_date_time`);--> statement-breakpoint
CREATE INDEX `fdr_flows_settlement` ON `fdr_flows` (`settlement_id`);--> statement-breakpoint
CREATE TABLE `pagopa_schedules` (
	`name` text PRIMARY KEY NOT NULL,
	`locked_by` text,
	`locked_until` integer DEFAULT 0 NOT NULL,
	`next_run_at` integer DEFAULT 0 NOT NULL,
	`last_run_at` integer,
	`last_error` text,
	`failures` integer DEFAULT 0 NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `receipt_transfers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`receipt_row_id` integer NOT NULL,
	`id_transfer` integer NOT NULL,
	`amount_cents` integer NOT NULL,
	`fiscal_code_pa` text NOT NULL,
	`company_name` text,
	`iban` text,
	`mbd_attachment` text,
	`remittance_information` text NOT NULL,
	`transfer_category` text NOT NULL,
	`metadata` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`receipt_row_id`) REFERENCES `receipts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `receipt_transfers_key` ON `receipt_transfers` (`receipt_row_id`,`id_transfer`);--> statement-breakpoint
CREATE INDEX `receipt_transfers_cf` ON `receipt_transfers` (`fiscal_code_pa`);--> statement-breakpoint
CREATE TABLE `receipts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`id_pa` text NOT NULL,
	`fiscal_code` text NOT NULL,
	`iuv` text NOT NULL,
	`receipt_id` text NOT NULL,
	`notice_number` text NOT NULL,
	`primitive` text NOT NULL,
	`outcome` text NOT NULL,
	`payment_amount_cents` integer NOT NULL,
	`description` text NOT NULL,
	`company_name` text NOT NULL,
	`office_name` text,
	`debtor_type` text NOT NULL,
	`debtor_fiscal_code` text NOT NULL,
	`debtor_name` text NOT NULL,
	`debtor` text NOT NULL,
	`payer_fiscal_code` text,
	`payer` text,
	`id_psp` text NOT NULL,
	`psp_fiscal_code` text,
	`psp_partita_iva` text,
	`psp_company_name` text NOT NULL,
	`id_channel` text NOT NULL,
	`channel_description` text NOT NULL,
	`payment_method` text,
	`payment_note` text,
	`fee_cents` integer,
	`primary_ci_incurred_fee_cents` integer,
	`id_bundle` text,
	`id_ci_bundle` text,
	`payment_date_time` text,
	`application_date` text,
	`transfer_date` text,
	`metadata` text DEFAULT '[]' NOT NULL,
	`stand_in` integer DEFAULT false NOT NULL,
	`position_id` integer,
	`option_id` integer,
	`processing` text NOT NULL,
	`raw_xml` text NOT NULL,
	`request_id` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`position_id`) REFERENCES `positions`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`option_id`) REFERENCES `payment_options`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `receipts_key` ON `receipts` (`id_pa`,`fiscal_code`,`iuv`,`receipt_id`);--> statement-breakpoint
CREATE INDEX `receipts_option` ON `receipts` (`option_id`);--> statement-breakpoint
CREATE INDEX `receipts_position` ON `receipts` (`position_id`);--> statement-breakpoint
CREATE INDEX `receipts_debtor` ON `receipts` (`debtor_fiscal_code`);--> statement-breakpoint
CREATE INDEX `receipts_ente_received` ON `receipts` (`ente_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `receipts_payment_note` ON `receipts` (`payment_note`);--> statement-breakpoint
CREATE TABLE `sim_carts` (
	`id` text PRIMARY KEY NOT NULL,
	`body` text NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`outcome` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sim_payments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`fiscal_code` text NOT NULL,
	`notice_number` text NOT NULL,
	`iuv` text NOT NULL,
	`receipt_id` text NOT NULL,
	`psp_id` text NOT NULL,
	`amount_cents` integer NOT NULL,
	`transfers` text NOT NULL,
	`paid_at` text NOT NULL,
	`send_outcome` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sim_payments_receipt` ON `sim_payments` (`receipt_id`);--> statement-breakpoint
CREATE INDEX `sim_payments_cf` ON `sim_payments` (`fiscal_code`);