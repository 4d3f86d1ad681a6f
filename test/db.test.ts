import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import t from 'tap';
import Database from 'better-sqlite3';
import { appliedMigrations, DatabaseStartError, MIGRATIONS_FOLDER, openDatabase } from '../src/db/client.js';
import { tempDir } from './helpers.js';

t.test('migrations from an empty file', async (t) => {
  const file = path.join(tempDir(t), 'db.sqlite');
  const h = openDatabase(file);
  t.teardown(() => h.close());
  t.ok(h.expectedMigrations >= 1);
  t.equal(appliedMigrations(h.sqlite), h.expectedMigrations);
  const tables = (h.sqlite.prepare("SELECT name FROM sqlite_master WHERE type='table'").all() as { name: string }[]).map((r) => r.name);
  for (const name of ['enti', 'ente_ibans', 'payment_services', 'users', 'role_grants', 'api_keys', 'sessions', 'audit_log'])
    t.ok(tables.includes(name), `${name} exists`);
  t.equal(h.sqlite.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(h.sqlite.pragma('foreign_keys', { simple: true }), 1);
  t.ok(Number(h.sqlite.pragma('busy_timeout', { simple: true })) >= 1000);
  t.equal(h.sqlite.pragma('synchronous', { simple: true }), 1, 'NORMAL: a commit survives a crash of the process');
  t.equal(h.sqlite.pragma('wal_autocheckpoint', { simple: true }), 16000, 'checkpoints every 64 MB of WAL, not every 4 MB');
  t.equal(h.sqlite.pragma('journal_size_limit', { simple: true }), 67108864);
  t.equal(h.sqlite.pragma('temp_store', { simple: true }), 2, 'statement journals in memory');
  h.close();
  const again = openDatabase(file);
  t.equal(appliedMigrations(again.sqlite), again.expectedMigrations, 'reopening applies nothing twice');
  again.close();
});

t.test('a failed migration stops start-up and leaves the file as it was', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'db.sqlite');
  openDatabase(file).close();
  const hashBefore = schemaDigest(file);

  // A copy of the real migrations plus a broken one that first creates a table, then fails.
  const folder = path.join(dir, 'migrations');
  fs.cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalFile = path.join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(fs.readFileSync(journalFile, 'utf8'));
  const last = journal.entries[journal.entries.length - 1];
  journal.entries.push({ idx: last.idx + 1, version: last.version, when: last.when + 1000, tag: '9999_broken', breakpoints: true });
  fs.writeFileSync(journalFile, JSON.stringify(journal));
  fs.writeFileSync(
    path.join(folder, '9999_broken.sql'),
    'CREATE TABLE half_done (id integer);\n--> statement-breakpoint\nINSERT INTO no_such_table VALUES (1);',
  );
  const err = t.throws(() => openDatabase(file, folder)) as DatabaseStartError;
  t.type(err, DatabaseStartError);
  t.match(err.message, /migrazione .* non riuscita: .*no such table: no_such_table/);
  t.notMatch(err.message, /\n/, 'one line');
  t.equal(schemaDigest(file), hashBefore, 'schema and migration records unchanged');

  // On a brand-new file the failure leaves no tables at all.
  const fresh = path.join(dir, 'fresh.sqlite');
  t.throws(() => openDatabase(fresh, folder), DatabaseStartError);
  const db = new Database(fresh);
  t.same(db.prepare("SELECT name FROM sqlite_master WHERE type='table'").all(), []);
  db.close();
});

t.test('a file that is not a database is refused with a one-line reason', async (t) => {
  const file = path.join(tempDir(t), 'not-a-db.sqlite');
  fs.writeFileSync(file, 'this is not sqlite, just text '.repeat(100));
  const err = t.throws(() => openDatabase(file)) as DatabaseStartError;
  t.type(err, DatabaseStartError);
  t.match(err.message, /impossibile aprire il database/);
  t.notMatch(err.message, /\n/);
});

function schemaDigest(file: string): string {
  const db = new Database(file, { readonly: true });
  const schema = db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
  const migrations = db.prepare('SELECT hash, created_at FROM __drizzle_migrations ORDER BY id').all();
  db.close();
  return crypto.createHash('sha256').update(JSON.stringify({ schema, migrations })).digest('hex');
}
