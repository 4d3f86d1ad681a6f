-- Tickets opened for a citizen's report keep how to reach that citizen (name, telephone or
-- e-mail, as the operator writes it): optional, shown to the helpdesk and the ente on the ticket.
ALTER TABLE `tickets` ADD `citizen_contact` text;
