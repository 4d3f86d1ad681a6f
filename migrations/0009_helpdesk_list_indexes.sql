-- Helpdesk lists served in index order (#14 §6): the transaction search, newest activity first
-- (paid, else created), and the ageing report, oldest payment day first among receipts OK. A page
-- reads its rows from the index and stops, instead of sorting every option or receipt stored.
-- No (ente_id, payment day) index on receipts: without statistics SQLite would take it, as a
-- partial index on outcome = 'OK', for every join of receipts by ente (each option would scan its
-- ente's receipts); the ageing report of one ente walks the day index and skips other enti.
CREATE INDEX `payment_options_activity` ON `payment_options` (coalesce(`paid_at`, `created_at`));--> statement-breakpoint
CREATE INDEX `payment_options_ente_activity` ON `payment_options` (`ente_id`, coalesce(`paid_at`, `created_at`));--> statement-breakpoint
CREATE INDEX `receipts_ok_paid_on` ON `receipts` (substr(coalesce(`payment_date_time`, `created_at`), 1, 10)) WHERE `outcome` = 'OK';
