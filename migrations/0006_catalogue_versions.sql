-- The '*' counter of debtor_versions (bumped on every UPDATE of enti and payment_services since
-- 0005) now also moves when an ente or a service is added or removed: the public pages that list
-- them (home, pay a notice, comune pages) are cached on it.
CREATE TRIGGER `enti_catalogue_version_ins` AFTER INSERT ON `enti` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES ('*', 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `enti_catalogue_version_del` AFTER DELETE ON `enti` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES ('*', 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `payment_services_catalogue_version_ins` AFTER INSERT ON `payment_services` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES ('*', 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `payment_services_catalogue_version_del` AFTER DELETE ON `payment_services` BEGIN
  INSERT INTO `debtor_versions` (`fiscal_code`, `version`) VALUES ('*', 1) ON CONFLICT (`fiscal_code`) DO UPDATE SET `version` = `version` + 1;
END;
