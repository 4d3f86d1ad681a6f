/**
 * The job queue shared by concurrent claimers, on SQLite (one connection) and on PostgreSQL (two
 * pools, as two processes have): concurrent claims take each job once, and a run that was taken over
 * after going stale does not overwrite the outcome of the process that took it.
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
