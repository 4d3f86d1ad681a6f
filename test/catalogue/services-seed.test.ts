/** The catalogue seed (22 services, classes, one demo list) and price resolution on a real SQLite file. */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../helpers.js';
import { seedCatalogue, SEED_SERVICES } from '../../src/modules/catalogue/services-seed.js';
import { getServiceByCode, listServices, updateService } from '../../src/modules/catalogue/services-repository.js';
import { createOverride, createPriceList, listEnteClasses, listPriceLists, resolvePriceFor, setPrice } from '../../src/modules/catalogue/price-repository.js';
import { catalogueServices } from '../../src/modules/catalogue/schema.js';
import { enti } from '../../src/modules/enti/schema.js';
import { sqlAll, sqlRun } from '../../src/db/raw.js';

const actor = { actor: 'test' };

t.test('seed: 22 services (1–20 with 4A and 4B), five classes, one demo list; idempotent; admin edits survive', async (t) => {
  const app = await buildTestApp(t);
  const all = await listServices(app.db);
  t.equal(all.length, 22);
  t.same(all.map((s) => s.code), ['1', '2', '3', '4', '4A', '4B', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20']);
  t.same(new Set(all.filter((s) => s.kind === 'base').map((s) => s.code)), new Set(['10', '14', '19', '20']));
  t.ok(all.filter((s) => s.kind === 'base').every((s) => s.billing === 'free'), 'base services are free');
  t.ok(all.filter((s) => s.kind === 'specialistico').every((s) => s.billing !== 'free'), 'specialist services are paid');
  t.same(all.filter((s) => s.area === 'consulenza_tecnica').map((s) => s.code), ['11', '12', '13', '14', '15', '16']);
  t.match(await getServiceByCode(app.db, '8'), { unitLabel: 'intervento', includedUnits: 6, requestKinds: /Intervento hardware in sede\nAssistenza da remoto/ });
  t.match(await getServiceByCode(app.db, '1'), { billing: 'per_unit', unitLabel: 'casella PEC' });
  t.equal((await listEnteClasses(app.db)).length, 5);
  const lists = await listPriceLists(app.db);
  t.equal(lists.length, 1);
  t.equal(lists[0]!.isDemo, true);

  await updateService(app.db, (await getServiceByCode(app.db, '3'))!.id, { ...(await getServiceByCode(app.db, '3'))!, name: 'Albo pretorio (modificato)' }, actor);
  await app.db.delete(catalogueServices).where(eq(catalogueServices.code, '20'));
  await seedCatalogue(app.db);
  await seedCatalogue(app.db);
  const again = await listServices(app.db);
  t.equal(again.length, 22, 'the missing code is inserted again, nothing doubled');
  t.equal((await getServiceByCode(app.db, '3'))!.name, 'Albo pretorio (modificato)', 'an admin edit is never overwritten');
  t.equal((await listPriceLists(app.db)).length, 1, 'no second demo list');
  t.equal(SEED_SERVICES.length, 22);
});

t.test('seed without the demo list (production): services and classes, no price list', async (t) => {
  const app = await buildTestApp(t);
  await sqlRun(app.db, 'DELETE FROM prices');
  await sqlRun(app.db, 'DELETE FROM price_lists');
  await seedCatalogue(app.db, { demoPriceList: false });
  t.equal((await listPriceLists(app.db)).length, 0);
  const campobasso = (await app.db.select().from(enti).where(eq(enti.name, 'Comune di Campobasso')).limit(1))[0]!;
  t.equal(await resolvePriceFor(app.db, { enteId: campobasso.id, serviceId: (await getServiceByCode(app.db, '3'))!.id, on: '2026-12-05', quantity: 1 }), null, 'no price until a listino exists');
  await seedCatalogue(app.db);
  t.equal((await listPriceLists(app.db)).length, 1, 'the default seeds it on a catalogue without lists');
});

t.test('resolvePriceFor: demo class prices, per unit, bands, override, validity, free → null; a snapshot stays put', async (t) => {
  const app = await buildTestApp(t);
  const ente = async (name: string) => (await app.db.select().from(enti).where(eq(enti.name, name)).limit(1))[0]!;
  const campobasso = await ente('Comune di Campobasso');
  const small = (await app.db.select().from(enti).where(eq(enti.population, 674)).limit(1))[0]!; // Acquaviva Collecroce, class A
  const id = async (code: string) => (await getServiceByCode(app.db, code))!.id;
  const on = '2026-12-05';

  const albo = await resolvePriceFor(app.db, { enteId: campobasso.id, serviceId: await id('3'), on, quantity: 1 });
  t.match(albo, { source: 'class', enteClassCode: 'E', isDemo: true, mode: 'fixed', amountCents: 90000, totalCents: 90000, resolvedOn: on });
  t.match(await resolvePriceFor(app.db, { enteId: small.id, serviceId: await id('3'), on, quantity: 1 }), { enteClassCode: 'A', totalCents: 25000 });
  t.match(await resolvePriceFor(app.db, { enteId: small.id, serviceId: await id('1'), on, quantity: 4 }), { source: 'default', mode: 'per_unit', amountCents: 3500, totalCents: 14000 });
  const mail = await resolvePriceFor(app.db, { enteId: small.id, serviceId: await id('6'), on, quantity: 12 });
  t.match(mail, { mode: 'bands', amountCents: 35000, totalCents: 35000 });
  t.equal(mail!.bands!.length, 3);
  t.equal(await resolvePriceFor(app.db, { enteId: small.id, serviceId: await id('19'), on, quantity: 1 }), null, 'free service');

  // A real list for 2027 wins over the demo one from its first day; an override beats both.
  const l2027 = await createPriceList(app.db, { name: 'Listino 2027', validFrom: '2027-01-01', validTo: '2027-12-31', isDemo: false, notes: null }, actor);
  const classE = (await listEnteClasses(app.db)).find((c) => c.code === 'E')!;
  await setPrice(app.db, l2027.id, await id('3'), classE.id, { mode: 'fixed', amountCents: 95000, bands: null }, actor);
  t.match(await resolvePriceFor(app.db, { enteId: campobasso.id, serviceId: await id('3'), on: '2026-12-31', quantity: 1 }), { priceListName: /dimostrativo/, totalCents: 90000 });
  t.match(await resolvePriceFor(app.db, { enteId: campobasso.id, serviceId: await id('3'), on: '2027-01-01', quantity: 1 }), { priceListId: l2027.id, isDemo: false, totalCents: 95000 });
  await createOverride(app.db, { enteId: campobasso.id, serviceId: await id('3'), mode: 'fixed', amountCents: 70000, bands: null, validFrom: '2027-06-01', validTo: null, note: 'accordo' }, actor);
  t.match(await resolvePriceFor(app.db, { enteId: campobasso.id, serviceId: await id('3'), on: '2027-06-01', quantity: 1 }), { source: 'ente_override', priceListId: null, totalCents: 70000 });

  // The snapshot is plain values: a later listino change does not reach it.
  const snapshot = await resolvePriceFor(app.db, { enteId: campobasso.id, serviceId: await id('3'), on: '2027-03-01', quantity: 1 });
  const stored = JSON.stringify(snapshot);
  await setPrice(app.db, l2027.id, await id('3'), classE.id, { mode: 'fixed', amountCents: 120000, bands: null }, actor);
  t.equal(JSON.stringify(snapshot), stored);
  t.match(JSON.parse(stored), { totalCents: 95000 });
  t.match(await resolvePriceFor(app.db, { enteId: campobasso.id, serviceId: await id('3'), on: '2027-03-01', quantity: 1 }), { totalCents: 120000 }, 'a new resolution sees the change');
  const audits = (await sqlAll(app.db, "SELECT action FROM audit_log WHERE entity IN ('price_list','ente_price') ORDER BY id")) as { action: string }[];
  t.same(audits.map((a) => a.action), ['price_list.create', 'price.create', 'ente_price.create', 'price.update']);
});
