/**
 * The public events' cache on SQLite (public-cache.ts): a write of this connection is seen at once;
 * a commit of another connection (the CLI) within `otherWritersMs`, not later; a write that
 * changes nothing the pages show (an audit row) keeps the cached value. The clock is injected.
 * The database has no event yet: the state statement used to be NULL then (no sqlite_sequence
 * row for events), whatever changed, and zones, categories and comuni were never refreshed.
 */
import Database from 'better-sqlite3';
import t from 'tap';
import { sqlRun } from '../../src/db/raw.js';
import { PublicDataCache } from '../../src/modules/events/public-cache.js';
import { buildTestApp, SQLITE_ONLY } from '../helpers.js';

t.test('what the public pages show is recomputed after a write, whoever commits it', { skip: SQLITE_ONLY }, async (t) => {
  const app = await buildTestApp(t);
  let now = 0;
  const cache = new PublicDataCache(app.db, 10, 1000, () => now);
  let computed = 0;
  const zonesSeen = async () =>
    await cache.get('zones', async () => {
      computed++;
      return (app.sqlite.prepare('SELECT count(*) AS n FROM zones').get() as { n: number }).n;
    });
  const first = await zonesSeen();
  t.equal(await zonesSeen(), first, 'served from memory');
  t.equal(computed, 1);

  // A write of this connection that the pages do not show (an audit row): kept.
  await sqlRun(app.db, "INSERT INTO audit_log (actor, action, entity, entity_id) VALUES ('test', 'note', 'test', '1')");
  t.equal(await zonesSeen(), first);
  t.equal(computed, 1, 'a write the pages do not show keeps the value');

  // A write of this connection that they show: recomputed at once, with no time passing.
  await sqlRun(app.db, "INSERT INTO zones (slug, name, created_at, updated_at) VALUES ('zona-uno', 'Zona uno', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')");
  t.equal(await zonesSeen(), first + 1, 'this process’s write is seen at once');
  t.equal(computed, 2);

  // Another connection (the CLI) commits: seen within otherWritersMs, from memory until then.
  const other = new Database(app.config.databaseFile);
  t.teardown(() => other.close());
  other.prepare("INSERT INTO zones (slug, name, created_at, updated_at) VALUES ('zona-due', 'Zona due', '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z')").run();
  now += 999;
  t.equal(await zonesSeen(), first + 1, 'within the second: the value kept');
  now += 1;
  t.equal(await zonesSeen(), first + 2, 'after it: the other connection’s commit is seen');
  t.equal(computed, 3);
  now += 5000;
  t.equal(await zonesSeen(), first + 2, 'nothing new: kept after a full read');
  t.equal(computed, 3);
});
