/**
 * A scheduled pass runs once across processes sharing the database (a lease in pagopa_schedules):
 * two processes calling it at once run it once; after it ends the next call runs it again; a
 * failed pass releases the lease and records the error.
 */
import t from 'tap';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { AppDatabase } from '../src/db/open.js';
import { scheduledPass } from '../src/plugins/scheduled-pass.js';
import { pagopaSchedules } from '../src/modules/pagopa/schema.js';
import { sharedDatabase } from './db/pg-helpers.js';


/** What scheduledPass uses of a Fastify instance. */
function fakeApp(h: AppDatabase, errors: string[]): FastifyInstance {
  return { db: h.db, log: { error: (o: { err: string }) => errors.push(o.err) }, addHook: () => undefined } as unknown as FastifyInstance;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  t.test(`${dialect}: two processes run a pass once at a time`, async (t) => {
    const dbs = await sharedDatabase(t, dialect);
    if (!dbs) return;
    let runs = 0;
    let fail = false;
    const errors: string[] = [];
    const pass = async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 100));
      if (fail) throw new Error('broken');
    };
    const ticks = dbs.map((h) => scheduledPass(fakeApp(h, errors), { name: 'probe', everyMs: 60_000, backgroundWorkers: false, now: () => new Date(), pass }));
    await Promise.all([ticks[0]!(), ticks[1]!()]);
    t.equal(runs, 1, 'the second process found the pass held');
    await ticks[1]!();
    t.equal(runs, 2, 'released at the end: the next call runs it');
    fail = true;
    await ticks[0]!();
    t.equal(runs, 3);
    t.same(errors, ['broken'], 'the failure is logged');
    const row = (await dbs[0].db.select().from(pagopaSchedules).where(eq(pagopaSchedules.name, 'pass:probe')))[0]!;
    t.equal(row.lockedBy, null, 'a failed pass releases its lease');
    t.equal(row.lastError, 'broken');
    t.equal(row.failures, 1);
  });
}
