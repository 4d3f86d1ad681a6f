CREATE TABLE `treasury_opi_pages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`flow_id` text NOT NULL,
	`opi_version` text NOT NULL,
	`page` integer NOT NULL,
	`total_pages` integer NOT NULL,
	`file_name` text NOT NULL,
	`sha256` text NOT NULL,
	`xml` text NOT NULL,
	`import_id` integer,
	`created_by` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`import_id`) REFERENCES `treasury_imports`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `treasury_opi_pages_key` ON `treasury_opi_pages` (`ente_id`,`flow_id`,`page`);--> statement-breakpoint
ALTER TABLE `payment_services` ADD `psp_service_id` text;--> statement-breakpoint
CREATE UNIQUE INDEX `payment_services_psp_service` ON `payment_services` (`ente_id`,`psp_service_id`);--> statement-breakpoint
ALTER TABLE `fdr_flows` ADD `revision` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `fdr_flows` ADD `superseded_at` text;--> statement-breakpoint
ALTER TABLE `treasury_imports` ADD `opi_version` text;--> statement-breakpoint
ALTER TABLE `treasury_imports` ADD `opi_flow_id` text;--> statement-breakpoint
ALTER TABLE `treasury_imports` ADD `pages` integer;