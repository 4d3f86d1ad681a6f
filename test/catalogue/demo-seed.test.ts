/**
 * The catalogue's demo content: convenzioni in force for the six member comuni, adesioni in every
 * listed state with their timelines, a future training session with seats taken by two comuni;
 * idempotent, relative to the clock, and shown by the dashboard.
 */
import { asc, eq } from 'drizzle-orm';
import t from 'tap';
import { seedCatalogueDemo } from '../../src/modules/catalogue/demo-seed.js';
import { adesioneEvents, adesioni, catalogueCharges, catalogueServices, convenzioni, trainingEnrollments, trainingSessions } from '../../src/modules/catalogue/schema.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { enti } from '../../src/modules/enti/schema.js';
import { loginAs } from '../helpers.js';
import { dashboardApp, someServices } from './dashboard-fixtures.js';

const DAY = 86_400_000;
const iso = (d: Date) => d.toISOString().slice(0, 10);

for (const [name, now] of [
  ['today', new Date()],
  ['three years from now', new Date(Date.now() + 3 * 365 * DAY)],
] as const) {
  t.test(`demo content, clock ${name}`, async (t) => {
    const app = await dashboardApp(t, () => now);
    // The services come from seedCatalogue; without them (an older tree) the codes the demo uses.
    if (!(await app.db.select().from(catalogueServices).where(eq(catalogueServices.code, '19')).limit(1))[0]) await someServices(app.db, 22);
    t.equal((await app.db.select().from(convenzioni)).length, 0, 'test apps start without demo catalogue');

    t.equal(await seedCatalogueDemo(app.db, now), true, 'seeded');
    const conv = await app.db.select({ enteId: convenzioni.enteId, status: convenzioni.status, start: convenzioni.startDate, end: convenzioni.endDate, notes: convenzioni.notes }).from(convenzioni);
    const members = (await app.db.select({ id: enti.id }).from(enti).where(eq(enti.member, true))).map((e) => e.id);
    t.same(conv.map((c) => c.enteId).sort(), members.filter((id) => conv.some((c) => c.enteId === id)).sort());
    t.equal(conv.length, 6, 'one convenzione per member comune');
    t.ok(conv.every((c) => c.status === 'in_force' && c.start <= iso(now) && c.end > iso(now)), 'all in force today');
    t.ok(conv.every((c) => /valori di prova/.test(c.notes ?? '')), 'flagged as demo values');

    const rows = await app.db.select().from(adesioni).orderBy(asc(adesioni.id));
    const states = new Set(rows.map((r) => r.status));
    for (const s of ['submitted', 'under_review', 'approved', 'active', 'expiring', 'suspended', 'rejected'] as const) t.ok(states.has(s), `an adesione ${s}`);
    t.ok(new Set(rows.map((r) => r.enteId)).size >= 5, 'across the member comuni');
    t.ok(rows.every((r) => members.includes(r.enteId)), 'only member comuni');
    t.ok(rows.every((r) => (JSON.parse(r.requestData) as { demo?: boolean }).demo === true), 'every adesione flagged demo in its modulo');
    for (const r of rows) {
      const events = await app.db.select().from(adesioneEvents).where(eq(adesioneEvents.adesioneId, r.id)).orderBy(asc(adesioneEvents.id));
      t.ok(events.length >= 2, `adesione ${r.id} has a timeline`);
      t.equal(events.at(-1)!.toStatus, r.status, `adesione ${r.id}: the timeline ends in its state`);
      t.ok(events.every((e, i) => i === 0 || e.fromStatus === events[i - 1]!.toStatus), `adesione ${r.id}: each event starts where the previous ended`);
      t.ok(events.every((e, i) => i === 0 || e.at >= events[i - 1]!.at), `adesione ${r.id}: in time order`);
    }
    const paidActive = (await app.db
          .select({ a: adesioni, billing: catalogueServices.billing })
          .from(adesioni)
          .innerJoin(catalogueServices, eq(catalogueServices.id, adesioni.serviceId))
          .where(eq(adesioni.status, 'active')))
      .filter((r) => r.billing !== 'free');
    t.ok(paidActive.length >= 1, 'an active adesione of a paid service');
    t.ok(paidActive.every((r) => r.a.startDate! <= iso(now) && r.a.endDate! > iso(now)), 'active today');
    const expiring = rows.find((r) => r.status === 'expiring')!;
    const daysLeft = (Date.parse(expiring.endDate!) - Date.parse(iso(now))) / DAY;
    t.ok(daysLeft > 0 && daysLeft <= 60, `the expiring one ends within 60 days (${daysLeft})`);

    const sessions = await app.db.select().from(trainingSessions);
    t.equal(sessions.length, 1);
    t.ok(sessions[0]!.startsAt > now.toISOString(), 'the session is in the future');
    const enrolments = await app.db.select().from(trainingEnrollments);
    const confirmed = enrolments.filter((e) => e.status === 'confirmed');
    t.equal(new Set(confirmed.map((e) => e.enteId)).size, 2, 'seats taken by two comuni');
    const perEnte = new Map<number, number>();
    for (const e of confirmed) perEnte.set(e.enteId, (perEnte.get(e.enteId) ?? 0) + 1);
    t.ok([...perEnte.values()].every((n) => n <= 2), 'at most 2 confirmed per ente');
    t.equal(enrolments.filter((e) => e.status === 'waitlisted').length, 1, 'a third colleague waits');

    // Idempotent: a second run (every restart of a demo database) adds nothing.
    const counts = async () => Promise.all([convenzioni, adesioni, adesioneEvents, trainingSessions, trainingEnrollments].map(async (tb) => (await app.db.select().from(tb)).length));
    const before = await counts();
    t.equal(await seedCatalogueDemo(app.db, new Date(now.getTime() + 5 * DAY)), false, 'nothing to do when a convenzione exists');
    t.same(await counts(), before);

    // The dashboard shows it.
    const admin = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'sael_admin')!.fiscalCode);
    const html = (await app.inject({ url: '/admin/catalogo', headers: { cookie: admin } })).body;
    t.match(html, /data-testid="kpi-in-force">4</, 'active ×2, expiring, suspended in force');
    t.match(html, /data-testid="expiring-total">1 adesioni/);
    t.match(html, /<td class="text-end">30<\/td><td class="text-end">4<\/td><td class="text-end">1<\/td><td class="text-end">13,3\s%<\/td>/, 'training: 4 of 30 seats, 1 waiting');
  });
}

t.test('the scheduled pass issues the charges of the active paid adesioni', async (t) => {
  const now = new Date();
  const app = await dashboardApp(t, () => now);
  if (!(await app.db.select().from(catalogueServices).where(eq(catalogueServices.code, '3')).limit(1))[0]) {
    t.pass('no seeded services (seedCatalogue not in this tree): nothing to issue');
    return;
  }
  await seedCatalogueDemo(app.db, now);
  await app.catalogueTick(now);
  const charges = await app.db.select({ enteId: catalogueCharges.enteId, positionId: catalogueCharges.positionId, status: catalogueCharges.status }).from(catalogueCharges);
  const termoli = (await app.db.select({ id: enti.id }).from(enti).where(eq(enti.istatCode, '070078')).limit(1))[0]!.id;
  t.ok(charges.some((c) => c.enteId === termoli && c.positionId !== null), 'Termoli’s active adesione has its charge as a Province position');
});
