/**
 * Known catalogue data for the dashboard tests, on a clock held at 15 June 2030 (Italian time):
 * three comuni, three services, adesioni in several states, charges issued/paid/cancelled over
 * three years and a training session with seats taken. The expected figures are written out in
 * the tests.
 */
import { asc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Db } from '../../src/db/client.js';
import { enti } from '../../src/modules/enti/schema.js';
import { adesioni, catalogueCharges, catalogueServices, trainingEnrollments, trainingSessions, type AdesioneStatus } from '../../src/modules/catalogue/schema.js';
import { tempDir } from '../helpers.js';
import { suiteDb } from '../suite-db.js';

type Service = { id: number; code: string; name: string };

export const NOW = new Date('2030-06-15T10:00:00Z');

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A test app (demo enti and users, no demo catalogue) whose catalogue clock is `now`. */
export async function dashboardApp(t: Teardown, now: () => Date = () => NOW, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const sdb = await suiteDb();
  const config = loadConfig({ DATA_DIR: tempDir(t), LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000', ...sdb.env, ...env });
  const app = await buildApp(config, { logger: false, backgroundWorkers: false, now });
  sdb.closeWith(t, app);
  return app;
}

/** The first `n` services by display order, inserting minimal ones when the catalogue is empty. */
export async function someServices(db: Db, n: number): Promise<{ id: number; code: string; name: string }[]> {
  const have = await db.select({ id: catalogueServices.id }).from(catalogueServices);
  if (have.length < n) {
    for (let i = have.length; i < n; i++) {
      await db.insert(catalogueServices)
                .values({
                  code: `T${i + 1}`,
                  name: `Servizio di prova ${i + 1}`,
                  kind: 'specialistico',
                  area: 'amministrazione_digitale',
                  summary: 'Servizio di prova.',
                  description: 'Servizio di prova.',
                  billing: 'annual',
                  requiresConvenzione: true,
                  requiresApproval: true,
                  slaTtoMinutes: 240,
                  slaTtrMinutes: 2400,
                  sortOrder: 1000 + i,
                });
    }
  }
  return await db
      .select({ id: catalogueServices.id, code: catalogueServices.code, name: catalogueServices.name })
      .from(catalogueServices)
      .orderBy(asc(catalogueServices.sortOrder), asc(catalogueServices.id))
      .limit(n);
}

export async function comuneId(db: Db, name: string): Promise<number> {
  return (await db.select({ id: enti.id }).from(enti).where(eq(enti.name, `Comune di ${name}`)).limit(1))[0]!.id;
}

export async function insertAdesione(db: Db, v: { enteId: number; serviceId: number; status: AdesioneStatus; startDate?: string; endDate?: string; autoRenew?: boolean }): Promise<number> {
  return (await db
      .insert(adesioni)
      .values({ ...v, amountCents: 10000 })
      .returning({ id: adesioni.id }))[0]!.id;
}

export async function insertCharge(
  db: Db,
  v: { adesioneId: number; enteId: number; kind: 'one_off' | 'annual'; periodKey: number; amountCents: number; createdAt: string; dueDate: string; status: 'issued' | 'paid' | 'cancelled'; paidAt?: string },
): Promise<number> {
  return (await db
      .insert(catalogueCharges)
      .values({ ...v, description: `Addebito ${v.periodKey}`, updatedAt: v.createdAt })
      .returning({ id: catalogueCharges.id }))[0]!.id;
}

/** Inserts the known data set; returns the ids the tests need. */
export async function seedKnownData(app: FastifyInstance) {
  const db = app.db;
  const [s1, s2, s3] = await someServices(db, 3) as [Service, Service, Service];
  const C = await comuneId(db, 'Campobasso');
  const T = await comuneId(db, 'Termoli');
  const B = await comuneId(db, 'Bojano');
  const cOld = await insertAdesione(db, { enteId: C, serviceId: s1.id, status: 'renewed', startDate: '2028-07-01', endDate: '2029-06-30' });
  const cS1 = await insertAdesione(db, { enteId: C, serviceId: s1.id, status: 'active', startDate: '2029-07-01', endDate: '2030-06-30', autoRenew: true });
  const cS2 = await insertAdesione(db, { enteId: C, serviceId: s2.id, status: 'suspended', startDate: '2030-01-01', endDate: '2030-12-31' });
  const tS1 = await insertAdesione(db, { enteId: T, serviceId: s1.id, status: 'expiring', startDate: '2029-08-02', endDate: '2030-08-01' });
  const tS3 = await insertAdesione(db, { enteId: T, serviceId: s3.id, status: 'submitted' });
  const bS2 = await insertAdesione(db, { enteId: B, serviceId: s2.id, status: 'rejected' });
  await insertAdesione(db, { enteId: B, serviceId: s3.id, status: 'draft' });
  const tS2 = await insertAdesione(db, { enteId: T, serviceId: s2.id, status: 'active', startDate: '2029-10-01', endDate: '2030-09-30' });

  await insertCharge(db, { adesioneId: cOld, enteId: C, kind: 'annual', periodKey: 2028, amountCents: 10000, createdAt: '2028-07-01T08:00:00.000Z', dueDate: '2028-07-31', status: 'paid', paidAt: '2028-07-20T09:00:00.000Z' });
  await insertCharge(db, { adesioneId: cS1, enteId: C, kind: 'annual', periodKey: 2029, amountCents: 12000, createdAt: '2029-07-01T08:00:00.000Z', dueDate: '2029-07-31', status: 'paid', paidAt: '2030-01-10T09:00:00.000Z' });
  await insertCharge(db, { adesioneId: cS2, enteId: C, kind: 'annual', periodKey: 2030, amountCents: 5000, createdAt: '2030-01-15T08:00:00.000Z', dueDate: '2030-02-15', status: 'issued' });
  await insertCharge(db, { adesioneId: tS1, enteId: T, kind: 'annual', periodKey: 2030, amountCents: 7000, createdAt: '2030-02-01T08:00:00.000Z', dueDate: '2030-07-01', status: 'issued' });
  await insertCharge(db, { adesioneId: tS2, enteId: T, kind: 'annual', periodKey: 2030, amountCents: 3000, createdAt: '2030-03-01T08:00:00.000Z', dueDate: '2030-04-01', status: 'issued' });
  await insertCharge(db, { adesioneId: tS2, enteId: T, kind: 'one_off', periodKey: 0, amountCents: 9999, createdAt: '2030-03-02T08:00:00.000Z', dueDate: '2030-04-02', status: 'cancelled' });
  // Due today: not overdue yet.
  await insertCharge(db, { adesioneId: tS1, enteId: T, kind: 'one_off', periodKey: 0, amountCents: 1111, createdAt: '2030-05-15T08:00:00.000Z', dueDate: '2030-06-15', status: 'issued' });

  const session = async (title: string, startsAt: string, status: 'scheduled' | 'cancelled' | 'held' = 'scheduled') =>
    (await db
            .insert(trainingSessions)
            .values({ title, topic: 'Prova', startsAt, endsAt: startsAt.replace('T09', 'T13'), seats: 20, status })
            .returning({ id: trainingSessions.id }))[0]!.id;
  const future = await session('Giornata formativa PagoPA', '2030-07-10T09:00:00.000Z');
  await session('Sessione annullata', '2030-07-20T09:00:00.000Z', 'cancelled');
  await session('Sessione del 2028', '2028-05-10T09:00:00.000Z', 'held');
  const enrol = async (enteId: number, slot: number | null, status: 'confirmed' | 'waitlisted' | 'cancelled', who: string) =>
    await db.insert(trainingEnrollments).values({ sessionId: future, enteId, slot, status, participantName: who, participantEmail: `${who}@example.invalid` });
  await enrol(C, 1, 'confirmed', 'c1');
  await enrol(C, 2, 'confirmed', 'c2');
  await enrol(T, 1, 'confirmed', 't1');
  await enrol(T, null, 'waitlisted', 't2');
  await enrol(B, null, 'cancelled', 'b1');
  return { s1, s2, s3, C, T, B, cS1, cS2, tS1, tS2, tS3, bS2, future };
}
