/**
 * Charges of an adesione as positions of the Province owed by the comune: created through the
 * positions module (valid notice number, debtor = the comune's fiscal code), idempotent, annual
 * slices issued by the scheduled pass, turned paid by a receipt through the node simulator,
 * reminders once per interval and never for a paid charge; production without the payment service.
 */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { issueChargesForAdesione } from '../../src/modules/catalogue/charges.js';
import { runChargesSchedule } from '../../src/modules/catalogue/charges-schedule.js';
import { chargesError, listCharges, setSetting } from '../../src/modules/catalogue/charges-repository.js';
import { catalogueCharges } from '../../src/modules/catalogue/schema.js';
import { getServiceByCode } from '../../src/modules/enti/repository.js';
import { paymentServices } from '../../src/modules/enti/schema.js';
import { parseNoticeNumber } from '../../src/modules/positions/numbers.js';
import { cancelPosition, getPositionById } from '../../src/modules/positions/repository.js';
import { positions } from '../../src/modules/positions/schema.js';
import { payNotice } from '../../src/simulators/pagopa/node.js';
import { freePort } from '../pagopa/helpers.js';
import { addAdesione, addService, addUser, chargesApp, comune, dayPlus, mails, province } from './charges-fixtures.js';
import { sqlGet, sqlRun } from '../../src/db/raw.js';

const charges = async (app: Parameters<typeof comune>[0], adesioneId: number) =>
  await app.db.select().from(catalogueCharges).where(eq(catalogueCharges.adesioneId, adesioneId));

t.test('an annual adesione: Province positions owed by the comune, slice by slice, idempotent', async (t) => {
  const { app, clock } = await chargesApp(t);
  clock.set('2026-07-10T09:00:00Z');
  const termoli = await comune(app, 'Termoli');
  const prov = await province(app);
  t.notOk(await getServiceByCode(app.db, prov.id, 'SAEL'), 'no SAEL payment service before the first charge');
  const serviceId = await addService(app, 'annual', 'Conservazione digitale');
  const adesioneId = await addAdesione(app, { enteId: termoli.id, serviceId, startDate: '2026-07-01', endDate: '2027-06-30', amountCents: 120000 });

  const ids = await issueChargesForAdesione(app.catalogue, adesioneId, clock.now);
  t.equal(ids.length, 1, 'only the 2026 slice is due in July 2026');
  const [c] = await charges(app, adesioneId);
  t.match(c, { kind: 'annual', periodKey: 2026, periodFrom: '2026-07-01', periodTo: '2026-12-31', amountCents: 60493, dueDate: '2026-08-09', status: 'issued', enteId: termoli.id });

  const service = await getServiceByCode(app.db, prov.id, 'SAEL');
  t.ok(service?.active && service.defaultIbanId, 'demo mode: the Province’s SAEL service was created with its IBAN');
  const position = (await getPositionById(app.db, prov.id, c!.positionId!))!;
  t.equal(position.enteId, prov.id, 'a position of the Province');
  t.equal(position.serviceId, service!.id);
  t.equal(position.status, 'published', 'published: payable');
  t.equal(position.debtorType, 'G');
  t.equal(position.debtorFiscalCode, termoli.fiscalCode, 'debtor = the comune’s fiscal code');
  t.equal(position.debtorName, termoli.name);
  t.equal(position.debtorEmail, termoli.pec);
  t.equal(position.iupd, `SAEL-A${adesioneId}-ANNUAL-2026`);
  const option = position.options[0]!;
  t.equal(option.noticeNumber, c!.noticeNumber);
  t.equal(option.amountCents, 60493);
  t.equal(option.dueDate, '2026-08-09');
  t.ok(parseNoticeNumber(option.noticeNumber).ok, 'a valid notice number (check digits)');
  t.equal(option.transfers[0]!.fiscalCodePA, prov.fiscalCode);
  t.ok(option.transfers[0]!.iban, 'credited to the Province’s IBAN');
  t.equal(((await sqlGet(app.db, "SELECT count(*) AS n FROM audit_log WHERE entity = 'catalogue_charge'")) as { n: number }).n, 1, 'audited');
  t.ok((await mails(app, termoli.pec!)).some((m) => /Nuovo addebito/.test(m.subject)), 'the comune is told by mail');

  t.same(await issueChargesForAdesione(app.catalogue, adesioneId, clock.now), [], 'a second call creates nothing');
  t.equal((await charges(app, adesioneId)).length, 1);
  t.equal((await app.db.select().from(positions).where(eq(positions.enteId, prov.id))).length, 1, 'and no second position');
  t.equal((await app.db.select().from(paymentServices).where(eq(paymentServices.enteId, prov.id))).length, 1, 'nor a second service');

  clock.set('2027-01-02T07:00:00Z');
  const pass = await runChargesSchedule(app.catalogue, clock.now);
  t.equal(pass.issued, 1, 'the scheduled pass issues the 2027 slice');
  t.same((await charges(app, adesioneId)).map((x) => [x.periodKey, x.amountCents]), [[2026, 60493], [2027, 59507]]);
  t.equal((await runChargesSchedule(app.catalogue, clock.now)).issued, 0, 'and nothing more the next time');
});

t.test('one-off, per unit, free, and adesioni that owe nothing yet', async (t) => {
  const { app, clock } = await chargesApp(t);
  clock.set('2026-03-01T10:00:00Z');
  const bojano = await comune(app, 'Bojano');
  const oneOff = await addAdesione(app, { enteId: bojano.id, serviceId: await addService(app, 'one_off'), startDate: '2026-03-01', endDate: '2027-02-28', amountCents: 35000 });
  const units = await addAdesione(app, { enteId: bojano.id, serviceId: await addService(app, 'per_unit'), startDate: '2026-03-01', amountCents: 1800, quantity: 5 });
  const free = await addAdesione(app, { enteId: bojano.id, serviceId: await addService(app, 'free'), startDate: '2026-03-01', endDate: '2027-02-28', amountCents: 0 });
  const submitted = await addAdesione(app, { enteId: bojano.id, serviceId: await addService(app, 'one_off'), status: 'submitted', startDate: '2026-03-01', amountCents: 1000 });
  const future = await addAdesione(app, { enteId: bojano.id, serviceId: await addService(app, 'one_off'), startDate: '2026-04-01', amountCents: 1000 });

  t.equal((await issueChargesForAdesione(app.catalogue, oneOff, clock.now)).length, 1);
  t.match(await charges(app, oneOff), [{ kind: 'one_off', periodKey: 0, amountCents: 35000 }]);
  t.equal((await issueChargesForAdesione(app.catalogue, units, clock.now)).length, 1);
  t.match(await charges(app, units), [{ kind: 'units', periodKey: 0, amountCents: 9000 }]);
  t.same(await issueChargesForAdesione(app.catalogue, free, clock.now), [], 'a free service: no charge');
  t.same(await issueChargesForAdesione(app.catalogue, submitted, clock.now), [], 'not active yet: no charge');
  t.same(await issueChargesForAdesione(app.catalogue, future, clock.now), [], 'starts next month: nothing due yet');
  clock.set('2026-04-01T06:00:00Z');
  t.equal((await runChargesSchedule(app.catalogue, clock.now)).issued, 1, 'the pass issues it on its first day');
  t.equal((await charges(app, future)).length, 1);
});

t.test('production without the Province’s payment service: an error for the SAEL admin, no crash', async (t) => {
  const { app, clock } = await chargesApp(t);
  const larino = await comune(app, 'Larino');
  const adesioneId = await addAdesione(app, { enteId: larino.id, serviceId: await addService(app, 'one_off'), startDate: dayPlus(clock.now, 0), amountCents: 5000 });
  const production = { ...app.catalogue, config: { ...app.catalogue.config, isProduction: true } };
  t.same(await issueChargesForAdesione(production, adesioneId, clock.now), []);
  t.equal((await charges(app, adesioneId)).length, 0);
  t.match(await chargesError(app.db), { adesioneId, message: /Manca il servizio di pagamento «SAEL»/ });
  t.equal((await app.db.select().from(positions)).length, 0, 'nothing half-written');

  const admin = await addUser(app, 'sael_admin', null);
  const { loginAs } = await import('../helpers.js');
  const page = await app.inject({ url: '/admin/catalogo/addebiti', headers: { cookie: await loginAs(app, admin), accept: 'text/html' } });
  t.match(page.body, /Manca il servizio di pagamento/, 'shown on the admin’s charges page');

  // Configured (here: the demo creates it), the next pass issues the charge and clears the error.
  t.equal((await runChargesSchedule(app.catalogue, clock.now)).issued, 1);
  t.equal(await chargesError(app.db), null);
});

t.test('paid by a receipt through the node simulator', async (t) => {
  const port = await freePort();
  const { app, clock } = await chargesApp(t, { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` });
  await app.listen({ port, host: '127.0.0.1' });
  const riccia = await comune(app, 'Riccia');
  const adesioneId = await addAdesione(app, { enteId: riccia.id, serviceId: await addService(app, 'one_off'), startDate: dayPlus(clock.now, 0), amountCents: 42000 });
  await issueChargesForAdesione(app.catalogue, adesioneId, clock.now);
  const [c] = await charges(app, adesioneId);
  const paid = await payNotice(app, { fiscalCode: (await province(app)).fiscalCode, noticeNumber: c!.noticeNumber! });
  t.ok(paid.ok, `paid through the simulator (${JSON.stringify(paid.sendOutcomes)})`);
  t.equal((await charges(app, adesioneId))[0]!.status, 'issued', 'stored as issued until someone reads it or the pass runs');
  const { items } = await listCharges(app.db, { enteId: riccia.id, today: dayPlus(clock.now, 0) });
  t.equal(items[0]!.status, 'issued');
  const pass = await runChargesSchedule(app.catalogue, clock.now);
  t.equal(pass.paid, 1);
  const after = (await charges(app, adesioneId))[0]!;
  t.equal(after.status, 'paid');
  const option = (await getPositionById(app.db, (await province(app)).id, after.positionId!))!.options[0]!;
  t.equal(after.paidAt, option.paidAt, 'paid_at = the receipt’s payment time');
  t.ok(after.paidAt);
});

t.test('reminders: overdue only, once per interval, never for a paid charge', async (t) => {
  const { app, clock } = await chargesApp(t);
  clock.set('2026-02-02T09:00:00Z');
  const trivento = await comune(app, 'Trivento');
  const referente = await addUser(app, 'ente_admin', trivento.id, 'referente.trivento@example.invalid');
  await addUser(app, 'operator', trivento.id, 'operatore.trivento@example.invalid');
  await setSetting(app.db, 'charges_due_days', 10);
  const a1 = await addAdesione(app, { enteId: trivento.id, serviceId: await addService(app, 'one_off'), startDate: '2026-02-02', amountCents: 10000 });
  const a2 = await addAdesione(app, { enteId: trivento.id, serviceId: await addService(app, 'one_off'), startDate: '2026-02-02', amountCents: 20000 });
  const a3 = await addAdesione(app, { enteId: trivento.id, serviceId: await addService(app, 'one_off'), startDate: '2026-02-02', amountCents: 30000 });
  await runChargesSchedule(app.catalogue, clock.now);
  t.equal((await charges(app, a1))[0]!.dueDate, '2026-02-12', 'due in charges_due_days days');
  // The Province cancels a3's notice in its back office: not owed, never reminded.
  await cancelPosition(app.db, (await province(app)).id, (await charges(app, a3))[0]!.iupd!, { actor: 'test' });
  const reminders = async () => (await mails(app)).filter((m) => m.subject.startsWith('Sollecito'));

  clock.set('2026-02-12T18:00:00Z');
  t.equal((await runChargesSchedule(app.catalogue, clock.now)).reminded, 0, 'due today: not yet overdue');
  clock.set('2026-02-13T08:00:00Z');
  t.equal((await runChargesSchedule(app.catalogue, clock.now)).reminded, 2, 'both overdue: reminded (not the cancelled one)');
  t.equal((await charges(app, a3))[0]!.status, 'cancelled', 'the cancelled position cancels the charge');
  t.equal((await charges(app, a3))[0]!.reminderCount, 0);
  const sent = (await reminders());
  t.same([...new Set(sent.map((m) => m.to_address))].sort(), [trivento.email!, trivento.pec!, 'referente.trivento@example.invalid'].sort(), 'to the PEC, the email and the referente (not the operator)');
  t.match(sent[0]!.body, /scaduto il 12\/02\/2026/);
  clock.set('2026-02-16T08:00:00Z');
  t.equal((await runChargesSchedule(app.catalogue, clock.now)).reminded, 0, 'not again within 7 days');

  // a1 is paid (its option paid by a receipt: here written as the station would).
  const c1 = (await charges(app, a1))[0]!;
  (await sqlRun(app.db, "UPDATE payment_options SET status = 'paid', paid_at = '2026-02-18T10:00:00.000Z' WHERE position_id = ?", c1.positionId));
  (await sqlRun(app.db, "UPDATE positions SET status = 'paid' WHERE id = ?", c1.positionId));
  clock.set('2026-02-20T08:00:00Z');
  const pass = await runChargesSchedule(app.catalogue, clock.now);
  t.equal(pass.paid, 1);
  t.equal(pass.reminded, 1, 'a week later: only the unpaid one');
  t.equal((await charges(app, a1))[0]!.reminderCount, 1, 'the paid charge was not reminded again');
  t.match((await charges(app, a2))[0]!, { reminderCount: 2, lastReminderAt: '2026-02-20T08:00:00.000Z' });
  t.ok(referente);
});
