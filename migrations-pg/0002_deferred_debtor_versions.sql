-- A debtor's counter in debtor_versions moves at COMMIT, not at the write: the triggers of the
-- debtor's positions, options and receipts become deferred constraint triggers. As row triggers
-- they locked the debtor's counter row at the first write and held it until the end of the
-- transaction, so every transaction that touched one debtor (receipts of a cart, a bulk import,
-- two processes storing receipts of one citizen) waited for the whole of the other. Deferred, the
-- lock lasts from the bump at commit to the commit itself. Readers see the rows and the new counter
-- together, at the commit, as before. (SQLite has one writer at a time: nothing to change there.)
-- The '*' counter (enti, services, IBANs) keeps its row triggers: those writes are rare.
DROP TRIGGER "positions_debtor_version_ins" ON "positions";
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "positions_debtor_version_ins" AFTER INSERT ON "positions" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "debtor_versions_new_debtor"();
--> statement-breakpoint
DROP TRIGGER "positions_debtor_version_upd" ON "positions";
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "positions_debtor_version_upd" AFTER UPDATE ON "positions" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "debtor_versions_position_update"();
--> statement-breakpoint
DROP TRIGGER "positions_debtor_version_del" ON "positions";
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "positions_debtor_version_del" AFTER DELETE ON "positions" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "debtor_versions_old_debtor"();
--> statement-breakpoint
DROP TRIGGER "payment_options_debtor_version_ins" ON "payment_options";
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "payment_options_debtor_version_ins" AFTER INSERT ON "payment_options" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "debtor_versions_option"();
--> statement-breakpoint
DROP TRIGGER "payment_options_debtor_version_upd" ON "payment_options";
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "payment_options_debtor_version_upd" AFTER UPDATE ON "payment_options" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "debtor_versions_option"();
--> statement-breakpoint
DROP TRIGGER "payment_options_debtor_version_del" ON "payment_options";
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "payment_options_debtor_version_del" AFTER DELETE ON "payment_options" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "debtor_versions_option"();
--> statement-breakpoint
DROP TRIGGER "receipts_debtor_version_ins" ON "receipts";
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "receipts_debtor_version_ins" AFTER INSERT ON "receipts" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "debtor_versions_new_debtor"();
--> statement-breakpoint
DROP TRIGGER "receipts_debtor_version_upd" ON "receipts";
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "receipts_debtor_version_upd" AFTER UPDATE ON "receipts" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "debtor_versions_new_debtor"();
