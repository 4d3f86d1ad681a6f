CREATE TABLE `external_iuvs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ente_id` integer NOT NULL,
	`iuv` text NOT NULL,
	`sequence` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`ente_id`) REFERENCES `enti`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `external_iuvs_iuv` ON `external_iuvs` (`ente_id`,`iuv`);--> statement-breakpoint
CREATE INDEX `external_iuvs_sequence` ON `external_iuvs` (`ente_id`,`sequence`);