CREATE TABLE `debtor_versions` (
	`fiscal_code` text PRIMARY KEY NOT NULL,
	`version` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TRIGGER `positions_debtor_version_ins` AFTER INSERT ON `positions` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES (NEW.`debtor_fiscal_code`, 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `positions_debtor_version_upd` AFTER UPDATE ON `positions` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES (NEW.`debtor_fiscal_code`, 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) SELECT OLD.`debtor_fiscal_code`, 1 WHERE OLD.`debtor_fiscal_code` <> NEW.`debtor_fiscal_code` ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `positions_debtor_version_del` AFTER DELETE ON `positions` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES (OLD.`debtor_fiscal_code`, 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `payment_options_debtor_version_ins` AFTER INSERT ON `payment_options` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) SELECT `debtor_fiscal_code`, 1 FROM `positions` WHERE `id` = NEW.`position_id` ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `payment_options_debtor_version_upd` AFTER UPDATE ON `payment_options` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) SELECT `debtor_fiscal_code`, 1 FROM `positions` WHERE `id` IN (NEW.`position_id`, OLD.`position_id`) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `payment_options_debtor_version_del` AFTER DELETE ON `payment_options` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) SELECT `debtor_fiscal_code`, 1 FROM `positions` WHERE `id` = OLD.`position_id` ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `receipts_debtor_version_ins` AFTER INSERT ON `receipts` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES (NEW.`debtor_fiscal_code`, 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `receipts_debtor_version_upd` AFTER UPDATE ON `receipts` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES (NEW.`debtor_fiscal_code`, 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `enti_debtor_version_upd` AFTER UPDATE ON `enti` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES ('*', 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `payment_services_debtor_version_upd` AFTER UPDATE ON `payment_services` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES ('*', 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;
