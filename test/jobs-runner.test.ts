/**
 * The job queue shared by concurrent claimers, on SQLite (one connection) and on PostgreSQL (two
 * pools, as two processes have): concurrent claims take each job once, and a run that was taken over
 * after going stale does not overwrite the outcome of the process that took it; progress that handlers
 * report without awaiting lands in order and before the outcome.
 */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { JobRunner } from '../src/plugins/jobs/runner.js';
import { jobs } from '../src/plugins/jobs/schema.js';
import { sharedDatabase } from './db/pg-helpers.js';

const quiet = { info: () => undefined, error: () => undefined };


for (const dialect of ['sqlite', 'postgres'] as const) {
  t.test(`${dialect}: two processes claiming at once take every job exactly once`, async (t) => {
    const dbs = await sharedDatabase(t, dialect);
    if (!dbs) return;
    const runs = new Map<number, string[]>();
    const runners = dbs.map((h, i) => {
      const r = new JobRunner(h.db, quiet, { staleMs: 60_000 });
      r.register('probe', async ({ job }) => {
        runs.set(job.id, [...(runs.get(job.id) ?? []), `p${i}`]);
        await new Promise((res) => setTimeout(res, 2));
        return { by: i };
      });
      return r;
    });
    const ids: number[] = [];
    for (let i = 0; i < 40; i++) ids.push(await runners[0]!.enqueue({ kind: 'probe', enteId: null, requestedBy: 'test', input: { i } }));
    // Four claimers per process, all at once.
    await Promise.all(runners.flatMap((r) => [r.drain(), r.drain(), r.drain(), r.drain()]));
    t.same([...runs.keys()].sort((x, y) => x - y), ids, 'every job ran');
    t.same([...runs.values()].filter((v) => v.length > 1), [], 'no job ran twice');
    const rows = await dbs[0].db.select({ status: jobs.status }).from(jobs);
    t.ok(rows.every((r) => r.status === 'done'), 'all done');
    t.ok(new Set([...runs.values()].map((v) => v[0])).size === 2, 'both processes took work');
  });

  t.test(`${dialect}: progress reported without awaiting lands in order, and before the outcome`, async (t) => {
    const dbs = await sharedDatabase(t, dialect);
    if (!dbs) return;
    // Progress writes take a while (a busy pool, a descheduled server process on a loaded machine):
    // each waits a few ms, the first ones longest, before it goes to the database.
    let nth = 0;
    const slowProgress = new Proxy(dbs[0].db, {
      get(target, prop, receiver) {
        if (prop !== 'update') return Reflect.get(target, prop, receiver);
        return (table: typeof jobs) => {
          const builder = target.update(table);
          return {
            set(values: Partial<typeof jobs.$inferInsert>) {
              const query = builder.set(values);
              if (!('done' in values)) return query;
              const delay = Math.max(0, 60 - 3 * nth++);
              return { where: (cond: Parameters<typeof query.where>[0]) => new Promise((res) => setTimeout(res, delay)).then(() => query.where(cond)) };
            },
          };
        };
      },
    }) as typeof dbs[0]['db'];
    const runner = new JobRunner(slowProgress, quiet, { staleMs: 60_000 });
    // As the import, print and mailing jobs do: progress() is fire-and-forget, the last one forced.
    runner.register('probe', async ({ progress }) => {
      for (let i = 1; i <= 40; i++) progress(i, 40, true);
      return { ok: true };
    });
    const id = await runner.enqueue({ kind: 'probe', enteId: null, requestedBy: 'test', input: {} });
    t.equal(await runner.runOnce(), true);
    const row = (await dbs[1].db.select().from(jobs).where(eq(jobs.id, id)))[0]!;
    t.equal(row.status, 'done');
    t.equal(row.done, 40, 'the last progress is in the row when the run has returned');
    t.equal(row.total, 40);
    await new Promise((res) => setTimeout(res, 200));
    t.equal((await dbs[1].db.select().from(jobs).where(eq(jobs.id, id)))[0]!.done, 40, 'no earlier progress lands after it');
  });

  t.test(`${dialect}: a slow run keeps its job; a dead holder's job is taken over; a run that lost its job does not write its outcome`, async (t) => {
    const dbs = await sharedDatabase(t, dialect);
    if (!dbs) return;
    let release!: () => void;
    const stuck = new Promise<void>((res) => (release = res));
    // Stale after 1 s, heartbeat every 250 ms: a loaded machine (CI runs two test passes on two
    // cores) stalls the event loop or the database for longer than 80 ms, and a tighter setting
    // once had the healthy run taken for dead.
    const slow = new JobRunner(dbs[0].db, quiet, { staleMs: 1000 });
    slow.register('probe', async () => {
      await stuck;
      return { by: 'slow' };
    });
    const fast = new JobRunner(dbs[1].db, quiet, { staleMs: 1000 });
    fast.register('probe', async () => ({ by: 'fast' }));
    const id = await slow.enqueue({ kind: 'probe', enteId: null, requestedBy: 'test', input: {} });
    const first = slow.runOnce();
    await new Promise((res) => setTimeout(res, 2500));
    t.equal(await fast.runOnce(), false, 'a run slower than the stale time is not taken for dead (its heartbeat goes on)');

    // Its process "dies" for the database: another holder took the job (as after a stale heartbeat).
    await dbs[0].db.update(jobs).set({ lockedBy: 'elsewhere:1:dead', heartbeatAt: 0 }).where(eq(jobs.id, id));
    release();
    await first;
    let row = (await dbs[0].db.select().from(jobs).where(eq(jobs.id, id)))[0]!;
    t.equal(row.result, null, 'the run that lost the job wrote no outcome');
    t.equal(await fast.runOnce(), true, 'the abandoned job (old heartbeat) is taken over');
    row = (await dbs[0].db.select().from(jobs).where(eq(jobs.id, id)))[0]!;
    t.equal(row.status, 'done');
    t.same(JSON.parse(row.result!), { by: 'fast' }, 'the outcome is the run that holds the job');
  });
}
