/** Ticket workflow and SLA clock on business time: across a weekend, Easter Monday, a pause while waiting for the ente; breaches, auto-close. */
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { defaultCalendar } from '../../src/modules/helpdesk/sla-calendar.js';
import { autoClose, checkSlaBreaches, createTicket, getTicket, reply, slaOf, TicketError, transition, type TicketsCtx } from '../../src/modules/helpdesk/tickets.js';
import { sqlGet } from '../../src/db/raw.js';
import { buildTestApp } from '../helpers.js';
import { demoEnte } from '../positions/fixtures.js';

t.test('workflow and SLA across a weekend and a holiday', async (t) => {
  const app = await buildTestApp(t);
  const ctx: TicketsCtx = { db: app.db, cal: defaultCalendar('09:00-13:00,14:00-17:00', ['04-23']), dataDir: app.config.dataDir, notifyAddresses: ['team@example.invalid'], publicUrl: 'http://x', mailbox: true };
  const uid = async (cf: string) => (await sqlGet<{ id: number }>(app.db, 'SELECT id FROM users WHERE fiscal_code = ?', cf))!.id;
  const users = demoUserFiscalCodes();
  const staff = { userId: await uid(users.find((u) => u.role === 'helpdesk')!.fiscalCode), isStaff: true };
  const op = { userId: await uid(users.find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode), isStaff: false };
  const cb = (await demoEnte(app, 'Campobasso')).ente;
  const at = (s: string) => new Date(s);

  // Thursday 2 April 2026, 16:00: category pagopa → TTO 120 min, TTR 840 min (two working days).
  const id = await createTicket(ctx, { enteId: cb.id, subject: 'Ricevuta non arrivata', category: 'pagopa', type: 'incidente', priority: 'alta', body: 'Il cittadino ha pagato ma…' }, op, at('2026-04-02T16:00:00+02:00'));
  let tk = (await getTicket(app.db, id))!;
  t.equal(tk.status, 'new');
  // Friday 3 April 10:00 = 60 (Thu) + 60 (Fri) business minutes: TTO 120 not yet breached.
  t.match(slaOf(tk, ctx.cal, at('2026-04-03T10:00:00+02:00')), { ttoElapsed: 120, ttoBreached: false, ttrElapsed: 120 });
  t.equal(slaOf(tk, ctx.cal, at('2026-04-03T10:00:00+02:00')).ttoDue, at('2026-04-03T10:00:00+02:00').toISOString());
  await t.rejects(async () => await transition(ctx, id, 'resolve', op, {}, at('2026-04-03T10:00:00+02:00')), TicketError, 'the ente cannot resolve');
  await transition(ctx, id, 'start', staff, {}, at('2026-04-03T09:30:00+02:00'));
  tk = (await getTicket(app.db, id))!;
  t.equal(tk.status, 'in_progress');
  t.equal(tk.assignee_id, staff.userId, 'taken by who started it');
  t.equal(tk.tto_breached, 0);

  // Friday 11:00 → waiting for the ente (clock paused) until Tuesday 7 April 10:00 (weekend + Easter Monday in between).
  await transition(ctx, id, 'wait', staff, { note: 'Serve il numero di avviso' }, at('2026-04-03T11:00:00+02:00'));
  tk = (await getTicket(app.db, id))!;
  t.equal(tk.sla_used_minutes, 60 + 120, 'Thu 16–17 + Fri 9–11');
  t.match(slaOf(tk, ctx.cal, at('2026-04-07T10:00:00+02:00')), { ttrElapsed: 180, paused: true, ttrDue: null }, 'paused: nothing counted over the weekend and Easter Monday');
  await reply(ctx, id, op, { body: 'Avviso 301…', internal: false }, at('2026-04-07T10:00:00+02:00'));
  tk = (await getTicket(app.db, id))!;
  t.equal(tk.status, 'in_progress', 'the ente reply resumes the work');
  // Remaining 840 − 180 = 660 min from Tue 10:00: Tue 10–13 (180) + 14–17 (180) = 360, Wed 9–13 (240) = 600, Wed 14:00 + 60 → 15:00.
  t.equal(slaOf(tk, ctx.cal, at('2026-04-07T10:00:00+02:00')).ttrDue, at('2026-04-08T15:00:00+02:00').toISOString());
  t.same(await checkSlaBreaches(ctx, at('2026-04-08T14:59:00+02:00')), []);
  t.same(await checkSlaBreaches(ctx, at('2026-04-08T15:01:00+02:00')), [id], 'TTR breached one minute after the due time');
  t.same(await checkSlaBreaches(ctx, at('2026-04-08T16:00:00+02:00')), [], 'flagged (and notified) once');
  t.ok((await sqlGet<{ n: number }>(app.db, "SELECT count(*) AS n FROM mail_outbox WHERE subject LIKE '%SLA superato%'"))!.n >= 1);

  await transition(ctx, id, 'resolve', staff, { note: 'Ricevuta recuperata' }, at('2026-04-08T16:00:00+02:00'));
  tk = (await getTicket(app.db, id))!;
  t.equal(tk.ttr_breached, 1);
  t.equal(tk.clock_from, null);
  // The ente reopens: the clock resumes from where it stopped.
  await transition(ctx, id, 'reopen', op, {}, at('2026-04-09T09:00:00+02:00'));
  tk = (await getTicket(app.db, id))!;
  t.equal(tk.status, 'reopened');
  t.equal(tk.reopen_count, 1);
  t.equal(slaOf(tk, ctx.cal, at('2026-04-09T10:00:00+02:00')).ttrElapsed, tk.sla_used_minutes + 60);
  await transition(ctx, id, 'resolve', staff, {}, at('2026-04-09T11:00:00+02:00'));
  t.equal(await autoClose(ctx, 7, at('2026-04-15T11:00:00+02:00')), 0);
  t.equal(await autoClose(ctx, 7, at('2026-04-17T11:00:00+02:00')), 1);
  t.equal((await getTicket(app.db, id))!.status, 'closed');
  await t.rejects(async () => await transition(ctx, id, 'reopen', op), TicketError, 'closed is final');
  await t.rejects(async () => await reply(ctx, id, op, { body: 'x', internal: false }), TicketError);

  // TTO breach: a ticket nobody takes in charge over the patron saint's day (23 April).
  const late = await createTicket(ctx, { enteId: cb.id, subject: 'Accesso SPID', category: 'spid', type: 'richiesta', priority: 'media', body: 'Non riesco ad accedere' }, op, at('2026-04-22T16:30:00+02:00'));
  t.same(await checkSlaBreaches(ctx, at('2026-04-23T16:00:00+02:00')), [], '23 April is not a working day');
  t.same(await checkSlaBreaches(ctx, at('2026-04-24T10:31:00+02:00')), [late], 'TTO 120 min: 30 on Wed + 90 on Fri → 10:30');
  await t.rejects(async () => await reply(ctx, late, op, { body: 'nota', internal: true }), TicketError, 'only staff write internal notes');
  t.ok((await sqlGet<{ n: number }>(app.db, "SELECT count(*) AS n FROM audit_log WHERE entity = 'ticket'"))!.n >= 8);
});
