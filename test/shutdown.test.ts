import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import Database from 'better-sqlite3';
import { nodeArgs, tempDir } from './helpers.js';

t.test('SIGTERM: the in-flight request finishes, new connections are refused, the process exits 0 with the database closed', async (t) => {
  const dir = tempDir(t);
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'slow-server.ts');
  const child = spawn(process.execPath, nodeArgs(script), { env: { ...process.env, DATA_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const inFlight = fetch(`http://127.0.0.1:${port}/test-only/slow`).then((r) => r.json());
  await new Promise((resolve) => setTimeout(resolve, 300));
  child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 200));
  await t.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'no new connections once shutting down');
  t.same(await inFlight, { finished: true }, 'the request in flight completed');
  t.equal(await exited, 0);
  // The WAL was checkpointed and the file closed cleanly: it opens and reads without recovery.
  const db = new Database(path.join(dir, 'sael-pay.sqlite'), { readonly: true });
  t.ok((db.prepare('SELECT count(*) AS n FROM enti').get() as { n: number }).n > 0);
  db.close();
});
