-- The hand-written SQL of the SQLite migrations (what drizzle-kit does not derive from the tables),
-- in PostgreSQL: the debtor_versions triggers (SQLite 0005, 0006, 0010), the FdR lookup index of
-- receipts (0004) and the expression indexes of the helpdesk lists (0009), and the write-once
-- guards of conservazione (0014). Same trigger and index names; row triggers, as SQLite's are. The demo-data UPDATEs of 0010 have no counterpart:
-- they fix rows seeded before 0010, and a PostgreSQL database starts at the current schema, seeded
-- with those values already.

-- debtor_versions (0005): a debtor's counter moves on every write to its positions, their options
-- and its receipts; the '*' counter on every write to enti, payment_services (0005 updates, 0006
-- inserts and deletes) and ente_ibans (0010). Caches of the portal pages are keyed on them.
CREATE FUNCTION "debtor_versions_bump"("code" text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "debtor_versions" ("fiscal_code", "version") VALUES ("code", 1)
  ON CONFLICT ("fiscal_code") DO UPDATE SET "version" = "debtor_versions"."version" + 1;
$$;
--> statement-breakpoint
-- NEW's debtor (positions insert, receipts insert and update).
CREATE FUNCTION "debtor_versions_new_debtor"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "debtor_versions_bump"(NEW."debtor_fiscal_code");
  RETURN NULL;
END;
$$;
--> statement-breakpoint
-- OLD's debtor (positions delete).
CREATE FUNCTION "debtor_versions_old_debtor"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "debtor_versions_bump"(OLD."debtor_fiscal_code");
  RETURN NULL;
END;
$$;
--> statement-breakpoint
-- positions update: the new debtor, and the old one when it changed.
CREATE FUNCTION "debtor_versions_position_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "debtor_versions_bump"(NEW."debtor_fiscal_code");
  IF OLD."debtor_fiscal_code" <> NEW."debtor_fiscal_code" THEN
    PERFORM "debtor_versions_bump"(OLD."debtor_fiscal_code");
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
-- payment_options: the debtor of the option's position (insert: NEW's, delete: OLD's, update:
-- both positions'). One bump per position found, as SQLite's INSERT … SELECT does row by row (a
-- single INSERT … SELECT … ON CONFLICT would fail in PostgreSQL when both positions have the same
-- debtor: a row cannot be updated twice by one statement).
CREATE FUNCTION "debtor_versions_option"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  "debtor" text;
BEGIN
  FOR "debtor" IN
    SELECT "debtor_fiscal_code" FROM "positions"
    WHERE "id" IN (
      CASE WHEN TG_OP = 'DELETE' THEN OLD."position_id" ELSE NEW."position_id" END,
      CASE WHEN TG_OP = 'INSERT' THEN NEW."position_id" ELSE OLD."position_id" END)
    ORDER BY "id"
  LOOP
    PERFORM "debtor_versions_bump"("debtor");
  END LOOP;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
-- The '*' counter (enti, payment_services, ente_ibans).
CREATE FUNCTION "debtor_versions_catalogue"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "debtor_versions_bump"('*');
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "positions_debtor_version_ins" AFTER INSERT ON "positions" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_new_debtor"();
--> statement-breakpoint
CREATE TRIGGER "positions_debtor_version_upd" AFTER UPDATE ON "positions" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_position_update"();
--> statement-breakpoint
CREATE TRIGGER "positions_debtor_version_del" AFTER DELETE ON "positions" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_old_debtor"();
--> statement-breakpoint
CREATE TRIGGER "payment_options_debtor_version_ins" AFTER INSERT ON "payment_options" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_option"();
--> statement-breakpoint
CREATE TRIGGER "payment_options_debtor_version_upd" AFTER UPDATE ON "payment_options" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_option"();
--> statement-breakpoint
CREATE TRIGGER "payment_options_debtor_version_del" AFTER DELETE ON "payment_options" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_option"();
--> statement-breakpoint
CREATE TRIGGER "receipts_debtor_version_ins" AFTER INSERT ON "receipts" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_new_debtor"();
--> statement-breakpoint
CREATE TRIGGER "receipts_debtor_version_upd" AFTER UPDATE ON "receipts" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_new_debtor"();
--> statement-breakpoint
CREATE TRIGGER "enti_debtor_version_upd" AFTER UPDATE ON "enti" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_catalogue"();
--> statement-breakpoint
CREATE TRIGGER "payment_services_debtor_version_upd" AFTER UPDATE ON "payment_services" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_catalogue"();
--> statement-breakpoint
CREATE TRIGGER "enti_catalogue_version_ins" AFTER INSERT ON "enti" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_catalogue"();
--> statement-breakpoint
CREATE TRIGGER "enti_catalogue_version_del" AFTER DELETE ON "enti" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_catalogue"();
--> statement-breakpoint
CREATE TRIGGER "payment_services_catalogue_version_ins" AFTER INSERT ON "payment_services" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_catalogue"();
--> statement-breakpoint
CREATE TRIGGER "payment_services_catalogue_version_del" AFTER DELETE ON "payment_services" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_catalogue"();
--> statement-breakpoint
CREATE TRIGGER "ente_ibans_catalogue_version_ins" AFTER INSERT ON "ente_ibans" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_catalogue"();
--> statement-breakpoint
CREATE TRIGGER "ente_ibans_catalogue_version_upd" AFTER UPDATE ON "ente_ibans" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_catalogue"();
--> statement-breakpoint
CREATE TRIGGER "ente_ibans_catalogue_version_del" AFTER DELETE ON "ente_ibans" FOR EACH ROW EXECUTE FUNCTION "debtor_versions_catalogue"();
--> statement-breakpoint
-- The FdR row lookup key on receipts (0004, not declared in drizzle: see helpdesk/schema.ts).
CREATE INDEX "receipts_iuv_receipt" ON "receipts" ("iuv", "receipt_id");
--> statement-breakpoint
-- Helpdesk lists in index order (0009): newest activity first (paid, else created) and the ageing
-- report by payment day among receipts OK. The queries use the same expressions.
CREATE INDEX "payment_options_activity" ON "payment_options" (coalesce("paid_at", "created_at"));
--> statement-breakpoint
CREATE INDEX "payment_options_ente_activity" ON "payment_options" ("ente_id", coalesce("paid_at", "created_at"));
--> statement-breakpoint
CREATE INDEX "receipts_ok_paid_on" ON "receipts" (substr(coalesce("payment_date_time", "created_at"), 1, 10)) WHERE "outcome" = 'OK';
--> statement-breakpoint
-- Conservazione (0014): the RdV and the anchors are write-once, the event log append-only. The
-- message is the trigger's argument, as SQLite's RAISE(ABORT, …) gives it.
CREATE FUNCTION "sael_write_once"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "cons_rdv_no_update" BEFORE UPDATE ON "cons_rdv" FOR EACH ROW EXECUTE FUNCTION "sael_write_once"('cons_rdv is write-once');
--> statement-breakpoint
CREATE TRIGGER "cons_rdv_no_delete" BEFORE DELETE ON "cons_rdv" FOR EACH ROW EXECUTE FUNCTION "sael_write_once"('cons_rdv is write-once');
--> statement-breakpoint
CREATE TRIGGER "cons_events_no_update" BEFORE UPDATE ON "cons_events" FOR EACH ROW EXECUTE FUNCTION "sael_write_once"('cons_events is append-only');
--> statement-breakpoint
CREATE TRIGGER "cons_events_no_delete" BEFORE DELETE ON "cons_events" FOR EACH ROW EXECUTE FUNCTION "sael_write_once"('cons_events is append-only');
--> statement-breakpoint
CREATE TRIGGER "cons_anchors_no_update" BEFORE UPDATE ON "cons_anchors" FOR EACH ROW EXECUTE FUNCTION "sael_write_once"('cons_anchors is write-once');
--> statement-breakpoint
CREATE TRIGGER "cons_anchors_no_delete" BEFORE DELETE ON "cons_anchors" FOR EACH ROW EXECUTE FUNCTION "sael_write_once"('cons_anchors is write-once');
