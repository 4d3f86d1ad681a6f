/**
 * The modules registered from their index.ts (issue #14 §7) give the app what it had when app.ts
 * wired them by hand: the decorations other modules and the tests use, each module's routes and
 * jobs, and the close order station pool → node-call log → database.
 */
import t from 'tap';
import { buildTestApp } from './helpers.js';
import { sqlGet } from '../src/db/raw.js';
import { BULK_PRINT_JOB } from '../src/modules/positions/bulk-print-job.js';
import { IMPORT_JOB } from '../src/modules/positions/import-job.js';

t.test('each module registers its decorations, routes and jobs', async (t) => {
  const app = await buildTestApp(t);
  for (const name of ['jobs', 'nodeCallLog', 'stationPool', 'spid', 'helpdeskTick']) t.ok(app.hasDecorator(name), `app.${name}`);
  t.ok((app.spid?.loginPageData('/').spidIdps.length ?? 0) > 0, 'the test IdP is in the SPID list (demo)');

  const routes: [string, string][] = [
    ['GET', '/stemmi/:file'], // enti
    ['GET', '/admin/enti'], // enti, under /admin
    ['GET', '/api/v1/positions'], // positions API
    ['GET', '/backoffice'], // backoffice pages
    ['GET', '/backoffice/enti/:enteId/importazioni'], // backoffice imports
    ['POST', '/pagopa/paForNode'], // pagopa station
    ['GET', '/simulators/spid-idp/metadata'], // test IdP, outside production
    ['GET', '/spid/metadata'],
  ];
  const missing = routes.filter(([method, url]) => !app.hasRoute({ method: method as 'GET', url }));
  t.same(missing, [], 'every module route is there');

  // The positions module's jobs are on the runner: queued jobs of both kinds are claimed and run.
  const enteId = (await sqlGet<{ id: number }>(app.db, 'SELECT id FROM enti ORDER BY id LIMIT 1'))!.id;
  const print = await app.jobs.enqueue({ kind: BULK_PRINT_JOB, enteId, requestedBy: 'test', input: { filter: { status: 'cancelled' } } });
  const csv = await app.jobs.enqueue({ kind: IMPORT_JOB, enteId, requestedBy: 'test', input: {} });
  await app.jobs.drain();
  t.equal((await app.jobs.get(print))?.status, 'done', 'bulk print ran');
  t.match((await app.jobs.get(print))?.result, /Nessun avviso/);
  t.not((await app.jobs.get(csv))?.status, 'queued', 'CSV import claimed (its input is empty, so it fails)');
});

t.test('close: station pool, then node-call log, then the database', async (t) => {
  const app = await buildTestApp(t);
  const order: string[] = [];
  const trace = <T extends object>(target: T, key: keyof T & string, label: string) => {
    const original = (target[key] as unknown as (...a: unknown[]) => unknown).bind(target);
    (target as Record<string, unknown>)[key] = (...args: unknown[]) => {
      order.push(label);
      return original(...args);
    };
  };
  trace(app.stationPool, 'close', 'station pool');
  trace(app.nodeCallLog, 'close', 'node-call log');
  trace(app.jobs, 'stop', 'jobs');
  trace(app.database, 'close', 'database');
  await app.close();
  t.same(
    order.filter((x) => x !== 'jobs'),
    ['station pool', 'node-call log', 'database'],
  );
  t.equal(order.at(-1), 'database', 'the database closes after every module and plugin');
  await t.rejects(app.database.ping(), 'the database is closed');
});
