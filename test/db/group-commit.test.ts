/**
 * Group commit (src/db/group-commit.ts), on the test database (SQLite, or PostgreSQL in the second
 * pass): units queued together commit together, one that fails rolls back alone, `recover` can
 * answer for it, and a queued unit waits for the units announced with `expect` — until they come
 * or are cancelled.
 */
import t from 'tap';
import { sqlAll, sqlRun } from '../../src/db/raw.js';
import { createGroupCommit } from '../../src/db/group-commit.js';
import { constraintViolation } from '../../src/db/errors.js';
import { buildTestApp } from '../helpers.js';

type App = Awaited<ReturnType<typeof buildTestApp>>;
const isUnique = (err: unknown) => constraintViolation(err) === 'unique';

async function scratch(app: App) {
  await sqlRun(app.db, 'CREATE TABLE IF NOT EXISTS group_commit_scratch (k text PRIMARY KEY, v integer NOT NULL)');
  const rows = async () => ((await sqlAll(app.db, 'SELECT k FROM group_commit_scratch ORDER BY k')) as { k: string }[]).map((r) => r.k);
  return { rows };
}

const insert = (k: string, v = 1) => async (tx: App['db']) => {
  await sqlRun(tx, 'INSERT INTO group_commit_scratch (k, v) VALUES (?, ?)', k, v);
  return k;
};

/** A wait for announced units no loaded machine outlasts, in the tests of what happens while it holds. */
const LONG_LINGER = 60_000;

/** Lets the event loop turn `n` times (setImmediate): a group flushed at once would have committed. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

t.test('a failing unit rolls back alone; recover answers for a duplicate', async (t) => {
  const app = await buildTestApp(t);
  const { rows } = await scratch(app);
  const commits = createGroupCommit(app.db);
  const results = await Promise.allSettled([
    commits.run({ work: insert('a') }),
    commits.run({ work: async (tx) => (await insert('b')(tx), await insert('b')(tx)) }), // its own duplicate: its savepoint rolls back
    commits.run({ work: insert('c') }),
    commits.run({ work: insert('a', 2), recover: async (_tx, err) => (isUnique(err) ? 'a (already there)' : undefined) }),
  ]);
  t.match(results[0], { status: 'fulfilled', value: 'a' });
  t.equal(results[1]!.status, 'rejected');
  t.ok(isUnique((results[1] as PromiseRejectedResult).reason), 'the failing unit gets its own error');
  t.match(results[2], { status: 'fulfilled', value: 'c' });
  t.match(results[3], { status: 'fulfilled', value: 'a (already there)' });
  t.same(await rows(), ['a', 'c'], 'nothing of the failed unit (not even its first b), the others stored');
});

t.test('a queued unit waits for an announced one, and they commit in one group', async (t) => {
  const app = await buildTestApp(t);
  const { rows } = await scratch(app);
  const commits = createGroupCommit(app.db, { lingerMs: LONG_LINGER });
  const arrival = commits.expect();
  let firstDone = false;
  const first = commits.run({ work: insert('first') }).then((v) => ((firstDone = true), v));
  await turns(5);
  t.notOk(firstDone, 'not committed while the announced unit is on its way');
  t.same(await rows(), [], 'nothing written yet');
  // The announced unit sees the first one's row inside the same transaction.
  const second = commits.run(
    {
      work: async (tx) => {
        await insert('second')(tx);
        return ((await sqlAll(tx, 'SELECT k FROM group_commit_scratch ORDER BY k')) as { k: string }[]).map((r) => r.k).join(',');
      },
    },
    arrival,
  );
  t.equal(await first, 'first');
  t.equal(await second, 'first,second');
  t.same(await rows(), ['first', 'second']);
});

t.test('a cancelled announcement lets the group commit; with nothing announced it commits at once', async (t) => {
  const app = await buildTestApp(t);
  const { rows } = await scratch(app);
  const commits = createGroupCommit(app.db, { lingerMs: LONG_LINGER });
  const arrival = commits.expect();
  let done = false;
  const one = commits.run({ work: insert('one') }).then(() => (done = true));
  await turns(5);
  t.notOk(done);
  arrival.cancel();
  arrival.cancel(); // idempotent: the next announcement still counts
  await one;
  t.same(await rows(), ['one']);
  const later = commits.expect();
  let twoDone = false;
  const two = commits.run({ work: insert('two') }).then(() => (twoDone = true));
  await turns(5);
  t.notOk(twoDone, 'the second announcement holds the group');
  await commits.run({ work: insert('three') }, later);
  await two;
  t.same(await rows(), ['one', 'three', 'two']);
  await commits.run({ work: insert('four') });
  t.same(await rows(), ['four', 'one', 'three', 'two'], 'nothing announced: no wait');
});

t.test('an announced unit that never comes holds the group at most lingerMs', async (t) => {
  const app = await buildTestApp(t);
  const { rows } = await scratch(app);
  const commits = createGroupCommit(app.db, { lingerMs: 30 });
  const arrival = commits.expect();
  const started = Date.now();
  t.equal(await commits.run({ work: insert('alone') }), 'alone', 'committed without the announced unit');
  t.ok(Date.now() - started >= 25, `after the linger (${Date.now() - started} ms)`);
  t.same(await rows(), ['alone']);
  arrival.cancel();
});
