/**
 * The 2-free-seats-per-ente quota under real concurrency: 50 enrolments of one ente (a) as 50
 * parallel HTTP requests to a listening server and (b) from 5 worker threads, each with its own
 * better-sqlite3 connection to the same database file, released together by a barrier. Exactly
 * 2 confirmed, 48 waitlisted, every time. Plus the pure decisions and the unique slot index.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { and, eq } from 'drizzle-orm';
import { buildTestApp, csrfFrom, loginAs, SQLITE_ONLY } from '../helpers.js';
import { freePort } from '../pagopa/helpers.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { enti } from '../../src/modules/enti/schema.js';
import { trainingEnrollments } from '../../src/modules/catalogue/schema.js';
import { createSession } from '../../src/modules/catalogue/training-repository.js';
import { certificateNumber, decideEnrolment, enrolmentMessage, freeSlot, italianLocalToUtc, utcToItalianLocal } from '../../src/modules/catalogue/training-quota.js';
import { italianOffsetMinutes } from '../../src/domain/italian-time.js';
import { sqlAll } from '../../src/db/raw.js';

const SRC = path.resolve(import.meta.dirname, '../../src');
const DAY = 86_400_000;

t.test('pure quota decisions', async (t) => {
  t.equal(freeSlot([], 2), 1);
  t.equal(freeSlot([1], 2), 2);
  t.equal(freeSlot([2], 2), 1, 'a slot freed by a cancellation is reused');
  t.equal(freeSlot([1, 2], 2), null);
  t.same(decideEnrolment({ takenSlots: [1], freePerEnte: 2, confirmedInSession: 5, seats: 30 }), { status: 'confirmed', slot: 2 });
  t.same(decideEnrolment({ takenSlots: [1, 2], freePerEnte: 2, confirmedInSession: 5, seats: 30 }), { status: 'waitlisted', reason: 'ente_quota' });
  t.same(decideEnrolment({ takenSlots: [], freePerEnte: 2, confirmedInSession: 30, seats: 30 }), { status: 'waitlisted', reason: 'session_full' });
  t.equal(
    enrolmentMessage({ status: 'waitlisted', reason: 'ente_quota' }, 'Paolo Neri', 2).split('.')[0],
    'Il tuo ente ha già 2 partecipanti confermati: Paolo Neri è in lista d’attesa',
  );
  t.equal(certificateNumber('2026-12-15T08:30:00.000Z', 42), 'SAEL-F/2026/000042');
  // Italian local time ↔ UTC, winter and summer.
  t.equal(italianLocalToUtc('2026-01-15T09:30', italianOffsetMinutes), '2026-01-15T08:30:00.000Z');
  t.equal(italianLocalToUtc('2026-07-15T09:30', italianOffsetMinutes), '2026-07-15T07:30:00.000Z');
  t.equal(italianLocalToUtc('2026-02-30T09:30', italianOffsetMinutes), null);
  t.equal(utcToItalianLocal('2026-07-15T07:30:00.000Z', italianOffsetMinutes), '2026-07-15T09:30');
});

async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const app = await buildTestApp(t);
  const termoli = (await app.db.select().from(enti).where(eq(enti.istatCode, '070078')).limit(1))[0]!;
  const s = await createSession(
    app.db,
    {
      title: 'PagoPA per gli uffici tributi',
      topic: 'pagoPA',
      description: '',
      startsAt: new Date(Date.now() + 7 * DAY).toISOString(),
      endsAt: new Date(Date.now() + 7 * DAY + 3 * 3_600_000).toISOString(),
      place: 'Sala consiliare, Campobasso',
      onlineUrl: null,
      speakers: 'Mario Rossi',
      seats: 100,
      freePerEnte: 2,
    },
    { actor: 'test', userId: null },
  );
  return { app, termoli, s };
}

async function statuses(app: Awaited<ReturnType<typeof buildTestApp>>, sessionId: number, enteId: number) {
  const rows = await app.db
      .select()
      .from(trainingEnrollments)
      .where(and(eq(trainingEnrollments.sessionId, sessionId), eq(trainingEnrollments.enteId, enteId)));
  return {
    confirmed: rows.filter((r) => r.status === 'confirmed'),
    waitlisted: rows.filter((r) => r.status === 'waitlisted'),
  };
}

t.test('50 parallel HTTP enrolments of one ente through a listening server: 2 confirmed, 48 waitlisted', async (t) => {
  const { app, termoli, s } = await setup(t);
  const anna = demoUserFiscalCodes().find((u) => u.role === 'ente_admin')!;
  const port = await freePort();
  await app.listen({ port, host: '127.0.0.1' });
  const cookie0 = await loginAs(app, anna.fiscalCode);
  const { token, cookie } = await csrfFrom(app, `/formazione/${s.id}`, cookie0);
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      fetch(`http://127.0.0.1:${port}/formazione/${s.id}/iscrizioni`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie },
        body: new URLSearchParams({ _csrf: token, enteId: String(termoli.id), name: `Collega ${i}`, email: `collega${i}@comune.termoli.cb.it`, role: 'Ufficio tributi' }),
      }).then((r) => r.status),
    ),
  );
  t.same([...new Set(results)], [303], 'every request answered with the redirect');
  const { confirmed, waitlisted } = await statuses(app, s.id, termoli.id);
  t.equal(confirmed.length, 2, 'exactly 2 confirmed');
  t.equal(waitlisted.length, 48, 'the other 48 waitlisted');
  t.same(confirmed.map((r) => r.slot).sort(), [1, 2]);
  const mails = (await sqlAll(app.db, "SELECT body FROM mail_outbox WHERE subject LIKE 'In lista d’attesa:%'")) as { body: string }[];
  t.equal(mails.length, 48, 'each waitlisted participant is told by mail');
  t.match(mails[0]!.body, /Il tuo ente ha già 2 partecipanti confermati: Collega \d+ è in lista d’attesa/);

  // The page shows the same message to the colleague who enrolled.
  const res = await app.inject({ method: 'POST', url: `/formazione/${s.id}/iscrizioni`, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie }, payload: new URLSearchParams({ _csrf: token, enteId: String(termoli.id), name: 'Paolo Neri', email: 'paolo.neri@comune.termoli.cb.it' }).toString() });
  t.equal(res.statusCode, 303);
  const page = await app.inject({ url: `/formazione/${s.id}`, headers: { cookie, accept: 'text/html' } });
  t.match(page.body, 'Il tuo ente ha già 2 partecipanti confermati: Paolo Neri è in lista d’attesa');
});

t.test('50 enrolments from 5 worker threads, each with its own connection to the same file: 2 confirmed, 48 waitlisted', { skip: SQLITE_ONLY }, async (t) => {
  const { app, termoli, s } = await setup(t);
  const file = app.sqlite.name;
  const barrier = new SharedArrayBuffer(8);
  const workerCode = `
    const { workerData, parentPort } = require('node:worker_threads');
    (async () => {
      // An eval'd worker does not inherit the parent's loaders: register tsx to import the TypeScript sources.
      (await import(workerData.tsxApi)).register();
      const { openDatabase } = await import(workerData.clientUrl);
      const repo = await import(workerData.repoUrl);
      const { db, close } = openDatabase(workerData.file);
      const flag = new Int32Array(workerData.barrier);
      Atomics.add(flag, 1, 1);
      Atomics.wait(flag, 0, 0);
      const out = [];
      for (let i = 0; i < workerData.count; i++) {
        const n = workerData.worker * 100 + i;
        const r = await repo.enrol(db, { sessionId: workerData.sessionId, enteId: workerData.enteId, name: 'Collega ' + n, email: 'w' + n + '@comune.termoli.cb.it', role: null, enrolledBy: null },
          { now: new Date(), mail: () => {}, publicUrl: 'http://localhost', by: { actor: 'worker:' + workerData.worker } });
        out.push(r.decision.status);
      }
      close();
      parentPort.postMessage(out);
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
  `;
  const workers = Array.from(
    { length: 5 },
    (_, w) =>
      new Worker(workerCode, {
        eval: true,
        workerData: {
          tsxApi: import.meta.resolve('tsx/esm/api'),
          clientUrl: pathToFileURL(path.join(SRC, 'db/client.ts')).href,
          repoUrl: pathToFileURL(path.join(SRC, 'modules/catalogue/training-repository.ts')).href,
          file,
          barrier,
          worker: w,
          count: 10,
          sessionId: s.id,
          enteId: termoli.id,
        },
      }),
  );
  let failed = false;
  const done = workers.map(
    (w) =>
      new Promise<unknown>((resolve, reject) => {
        w.once('message', (m) => ((failed ||= !Array.isArray(m)), resolve(m)));
        w.once('error', (e) => ((failed = true), reject(e)));
      }),
  );
  // Release them together once all five have opened their connection.
  const flag = new Int32Array(barrier);
  while (Atomics.load(flag, 1) < 5 && !failed) await new Promise((r) => setTimeout(r, 10));
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  const outs = (await Promise.all(done)) as (string[] | { error: string })[];
  for (const o of outs) if (!Array.isArray(o)) t.fail(o.error);
  const all = outs.flat() as string[];
  t.equal(all.length, 50);
  t.equal(all.filter((x) => x === 'confirmed').length, 2, 'the workers were told: 2 confirmed');
  const { confirmed, waitlisted } = await statuses(app, s.id, termoli.id);
  t.equal(confirmed.length, 2, 'exactly 2 confirmed in the database');
  t.equal(waitlisted.length, 48);
});

t.test('the unique slot index refuses a third confirmed row written behind the quota logic', async (t) => {
  const { app, termoli, s } = await setup(t);
  const row = (slot: number, n: number) => ({ sessionId: s.id, enteId: termoli.id, slot, status: 'confirmed' as const, participantName: `P${n}`, participantEmail: `p${n}@x.it` });
  await app.db.insert(trainingEnrollments).values(row(1, 1));
  await app.db.insert(trainingEnrollments).values(row(2, 2));
  const err = await app.db.insert(trainingEnrollments).values(row(1, 3)).then(
    () => null,
    (e: Error & { cause?: Error }) => e,
  );
  // SQLite names the columns; PostgreSQL (the driver's error, under drizzle's "Failed query") the index.
  t.match(`${err?.message} ${err?.cause?.message ?? ''}`, /UNIQUE constraint failed: training_enrollments\.session_id, training_enrollments\.ente_id, training_enrollments\.slot|duplicate key value violates unique constraint "training_enrollments_slot"/);
});
