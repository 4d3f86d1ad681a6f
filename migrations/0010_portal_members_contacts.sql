-- The public pages list as "Comuni aderenti" only the member enti with an active payment service
-- and an active IBAN, so their cached lists (keyed on the '*' counter of debtor_versions, 0005 and
-- 0006) must also move when an IBAN is added, (de)activated or removed.
CREATE TRIGGER `ente_ibans_catalogue_version_ins` AFTER INSERT ON `ente_ibans` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES ('*', 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `ente_ibans_catalogue_version_upd` AFTER UPDATE ON `ente_ibans` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES ('*', 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `ente_ibans_catalogue_version_del` AFTER DELETE ON `ente_ibans` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES ('*', 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
-- Demo databases seeded before this migration: the six demo member comuni and the province get a
-- demo address and telephone (as the seed now gives them). Only rows flagged is_demo with no
-- address yet are touched; real enti never are.
UPDATE `enti` SET `address` = 'Piazza del Municipio 1, 86100 Campobasso', `phone` = '0874 000 001' WHERE `is_demo` = 1 AND `istat_code` = '070006' AND `address` IS NULL;--> statement-breakpoint
UPDATE `enti` SET `address` = 'Piazza del Municipio 1, 86039 Termoli', `phone` = '0875 000 002' WHERE `is_demo` = 1 AND `istat_code` = '070078' AND `address` IS NULL;--> statement-breakpoint
UPDATE `enti` SET `address` = 'Piazza del Municipio 1, 86021 Bojano', `phone` = '0874 000 003' WHERE `is_demo` = 1 AND `istat_code` = '070003' AND `address` IS NULL;--> statement-breakpoint
UPDATE `enti` SET `address` = 'Piazza del Municipio 1, 86035 Larino', `phone` = '0874 000 004' WHERE `is_demo` = 1 AND `istat_code` = '070031' AND `address` IS NULL;--> statement-breakpoint
UPDATE `enti` SET `address` = 'Piazza del Municipio 1, 86016 Riccia', `phone` = '0874 000 005' WHERE `is_demo` = 1 AND `istat_code` = '070057' AND `address` IS NULL;--> statement-breakpoint
UPDATE `enti` SET `address` = 'Piazza del Municipio 1, 86029 Trivento', `phone` = '0874 000 006' WHERE `is_demo` = 1 AND `istat_code` = '070081' AND `address` IS NULL;--> statement-breakpoint
UPDATE `enti` SET `phone` = '0874 000 000' WHERE `is_demo` = 1 AND `kind` = 'provincia' AND `phone` IS NULL;
