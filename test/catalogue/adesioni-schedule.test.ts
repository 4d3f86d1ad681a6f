/**
 * The adesioni's scheduled pass with a moving clock: T-60 and T-30 warnings once each, active →
 * expiring, renewal at the end (new row, price re-snapshotted, charges) only with autoRenew and a
 * convenzione in force over the new period, otherwise expiry; every pass idempotent.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { saveModulo, transitionAdesione, type AdesioneActor } from '../../src/modules/catalogue/adesioni-service.js';
import { adesioneEvents, adesioni, catalogueCharges } from '../../src/modules/catalogue/schema.js';
import { users } from '../../src/modules/users/schema.js';
import { addConvenzione, addPrice, addService, addUser, adesioniApp, comune, mails, setListPrice } from './adesioni-fixtures.js';

async function row(app: FastifyInstance, id: number) {
  return (await app.db.select().from(adesioni).where(eq(adesioni.id, id)).limit(1))[0]!;
}

async function userId(app: FastifyInstance, fiscalCode: string): Promise<number> {
  return (await app.db.select().from(users).where(eq(users.fiscalCode, fiscalCode)).limit(1))[0]!.id;
}

/** An active adesione from today (2026-03-02 → 2027-03-01), sent by the referente and approved by the SAEL office. */
async function activeAdesione(app: FastifyInstance, enteId: number, serviceId: number, referente: string, admin: string, autoRenew: boolean): Promise<number> {
  const ctx = app.catalogue;
  const ref: AdesioneActor = { kind: 'referente', actor: `user:${await userId(app, referente)}`, userId: await userId(app, referente) };
  const sael: AdesioneActor = { kind: 'sael', actor: `user:${await userId(app, admin)}`, userId: await userId(app, admin) };
  const id = await saveModulo(ctx, { enteId, serviceId, quantity: 1, startDate: '2026-03-02', autoRenew, data: { referenteName: 'Referente di prova', referenteRole: 'Segretario', email: 'r@example.org', phone: '', notes: '' } }, ref, true);
  await transitionAdesione(ctx, id, 'review', sael);
  await transitionAdesione(ctx, id, 'approve', sael);
  return id;
}

const warnings = async (app: FastifyInstance, to: string, id: number) => (await mails(app, to)).filter((m) => m.subject.startsWith(`[SAEL] Adesione n. ${id} `) && /scadenza il/.test(m.subject));

t.test('T-60 / T-30 once each, renewal with a new snapshot, expiry without autoRenew or convenzione', async (t) => {
  const { app, clock } = await adesioniApp(t, '2026-03-02T11:00:00Z');
  const termoli = await comune(app, 'Termoli');
  const bojano = await comune(app, 'Bojano');
  const larino = await comune(app, 'Larino');
  const svc = await addService(app, 'annual');
  const listId = await addPrice(app, svc.id, 120000);
  const admin = await addUser(app, 'sael_admin', null, 'capo@provincia.example');
  const refT = await addUser(app, 'ente_admin', termoli.id, 'ref@termoli.example');
  const refB = await addUser(app, 'ente_admin', bojano.id, 'ref@bojano.example');
  const refL = await addUser(app, 'ente_admin', larino.id, 'ref@larino.example');
  await addConvenzione(app, termoli.id, '2026-01-01', '2030-12-31');
  await addConvenzione(app, bojano.id, '2026-01-01', '2030-12-31');
  await addConvenzione(app, larino.id, '2026-01-01', '2027-06-30'); // covers this year, not the next one

  const renewing = await activeAdesione(app, termoli.id, svc.id, refT, admin, true);
  const noRenew = await activeAdesione(app, bojano.id, svc.id, refB, admin, false);
  const noConv = await activeAdesione(app, larino.id, svc.id, refL, admin, true);
  for (const id of [renewing, noRenew, noConv]) t.match(await row(app, id), { status: 'active', endDate: '2027-03-01', amountCents: 120000 });
  const firstSnapshot = (await row(app, renewing)).priceSnapshot;

  const tick = async (iso: string) => {
    clock.set(iso);
    return app.catalogueTick(clock.now);
  };

  await tick('2026-12-30T11:00:00Z'); // T-61
  t.equal((await row(app, renewing)).status, 'active');
  t.equal((await warnings(app, 'ref@termoli.example', renewing)).length, 0);

  await tick('2026-12-31T11:00:00Z'); // T-60
  t.match(await row(app, renewing), { status: 'expiring', warnedT30At: null });
  t.ok((await row(app, renewing)).warnedT60At);
  t.equal((await warnings(app, 'ref@termoli.example', renewing)).length, 1, 'T-60 mail');
  t.match((await warnings(app, 'ref@termoli.example', renewing))[0]!.body, /rinnovo automatico/);
  t.match((await warnings(app, 'ref@bojano.example', noRenew))[0]!.body, /non è previsto/);
  t.equal((await warnings(app, 'capo@provincia.example', renewing)).length, 1, 'the SAEL office is warned too');

  await tick('2026-12-31T18:00:00Z');
  await tick('2027-01-15T11:00:00Z');
  t.equal((await warnings(app, 'ref@termoli.example', renewing)).length, 1, 'T-60 mailed once');

  await tick('2027-01-30T11:00:00Z'); // T-30
  t.ok((await row(app, renewing)).warnedT30At);
  t.equal((await warnings(app, 'ref@termoli.example', renewing)).length, 2, 'T-30 mail');
  await tick('2027-01-30T15:00:00Z');
  await tick('2027-02-20T11:00:00Z');
  t.equal((await warnings(app, 'ref@termoli.example', renewing)).length, 2, 'T-30 mailed once');

  // The listino changes before the renewal: the renewal takes the new price, the old period keeps its own.
  await setListPrice(app, listId, svc.id, 150000);
  await tick('2027-03-01T11:00:00Z'); // last day: still running
  t.equal((await row(app, renewing)).status, 'expiring');

  await tick('2027-03-02T07:00:00Z');
  const old = await row(app, renewing);
  t.equal(old.status, 'renewed');
  t.equal(old.priceSnapshot, firstSnapshot, 'the ended period keeps its snapshot');
  t.equal(old.amountCents, 120000);
  const next = await app.db.select().from(adesioni).where(eq(adesioni.renewsId, renewing));
  t.equal(next.length, 1, 'one renewal row');
  t.match(next[0], { status: 'active', startDate: '2027-03-02', endDate: '2028-03-01', amountCents: 150000, autoRenew: true, enteId: termoli.id });
  t.match(JSON.parse(next[0]!.priceSnapshot!), { totalCents: 150000, resolvedOn: '2027-03-02' }, 'price re-snapshotted');
  t.ok((await app.db.select().from(catalogueCharges).where(eq(catalogueCharges.adesioneId, next[0]!.id))).length >= 1, 'the renewal issues its charge');
  t.same(
    (await app.db.select().from(adesioneEvents).where(eq(adesioneEvents.adesioneId, next[0]!.id))).map((e) => e.action),
    ['renewal_of'],
  );

  t.match(await row(app, noRenew), { status: 'expired' });
  t.match(await row(app, noConv), { status: 'expired' });
  const noConvEvent = (await app.db.select().from(adesioneEvents).where(eq(adesioneEvents.adesioneId, noConv))).pop()!;
  t.match(noConvEvent, { action: 'expire', actorKind: 'system', note: /Nessuna convenzione in vigore per il nuovo periodo/ });

  // Idempotent: another pass the same day, and the next day, change nothing.
  const count = async () => (await app.db.select().from(adesioni)).length;
  const mailCount = (await mails(app)).length;
  const before = await count();
  await tick('2027-03-02T12:00:00Z');
  await tick('2027-03-03T12:00:00Z');
  t.equal(await count(), before);
  t.equal((await mails(app)).length, mailCount, 'no mail twice');
});
