#!/usr/bin/env node
// Compiles the server and its tests to JavaScript (scripts/build-tests.mjs), runs the tap suite on
// the compiled copy in .test-build/ with one folder of generated test keys for all its processes,
// and ends with the plain summary line "N passed, N failed" that CI reads. Arguments are passed
// to tap; test files may be named by their .ts source path.
//
// With TEST_DATABASE_URL set (a PostgreSQL server: scripts/pg-throwaway.sh start prints one) and
// no test files named, a second pass runs the tests that use the database again with every test
// app on PostgreSQL (SAEL_TEST_DB=postgres, see test/helpers.ts): the files that build an app or
// open a database (postgresPassFiles), except the browser and end-to-end files, whose pages run
// the same routes the first pass already drove, and the cluster test, which takes PostgreSQL
// itself. SAEL_TEST_PASSES=sqlite or =postgres runs one of the two; both run at the same time
// (the PostgreSQL pass with SAEL_TEST_PG_JOBS tap jobs, default 2).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildTests, OUT } from './build-tests.mjs';

const DATABASE_USE = /\b(buildTestApp|openAppDatabase|buildApp)\(/;
const NOT_ON_POSTGRES = /(-browser\.test\.ts$|^test\/e2e\/|^test\/cluster\/)/;

/**
 * The test files (repository paths) of the PostgreSQL pass: those that build an app or open a
 * database, themselves or through the test helpers they import (fixtures under test/).
 */
export function postgresPassFiles(root = process.cwd()) {
  const usesDatabase = new Map();
  const uses = (rel) => {
    if (usesDatabase.has(rel)) return usesDatabase.get(rel);
    usesDatabase.set(rel, false); // import cycles
    const file = path.join(root, rel);
    if (!fs.existsSync(file)) return false;
    const text = fs.readFileSync(file, 'utf8');
    let found = DATABASE_USE.test(text);
    for (const [, spec] of text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
      const dep = path.posix.normalize(path.posix.join(path.posix.dirname(rel), `${spec}.ts`));
      if (!found && dep.startsWith('test/') && dep !== 'test/helpers.ts') found = uses(dep);
    }
    usesDatabase.set(rel, found);
    return found;
  };
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (rel.endsWith('.test.ts') && !NOT_ON_POSTGRES.test(rel) && uses(rel)) out.push(rel);
    }
  };
  walk('test');
  return out.sort();
}

function runTap(tapArgs, env) {
  return new Promise((resolve) => {
    const args = ['tap', '--reporter=terse', ...tapArgs.map((a) => (/^test\/.*\.ts$/.test(a) ? a.replace(/\.ts$/, '.js') : a))];
    const child = spawn('npx', args, { cwd: OUT, stdio: ['ignore', 'pipe', 'inherit'], env });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on('close', (code) => {
      const m = /# \{([^}]*)\}/.exec(tail);
      const counts = {};
      if (m) for (const [, k, v] of m[1].matchAll(/(\w+): (\d+)/g)) counts[k] = Number(v);
      const passed = counts.pass ?? 0;
      const failed = counts.fail ?? (code === 0 ? 0 : Math.max(1, (counts.total ?? 0) - passed));
      const skipped = (counts.skip ?? 0) + (counts.todo ?? 0);
      resolve({ code: code ?? 1, passed, failed, skipped });
    });
  });
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('run-tests.mjs');
if (isMain) {
  await buildTests();
  const userArgs = process.argv.slice(2);
  const namesFiles = userArgs.some((a) => !a.startsWith('-'));
  const passes = process.env.SAEL_TEST_PASSES ?? (process.env.TEST_DATABASE_URL && !namesFiles && !process.env.SAEL_TEST_DB ? 'sqlite,postgres' : 'sqlite');
  // Keys the test apps generate at their first start, shared by the run's test processes (test/helpers.ts).
  const keyCache = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-test-run-keys-'));
  // Both passes at once when both run: the suite keeps two cores busy only ~60% of the time
  // (browser tests, servers starting, PostgreSQL's own processes), and the passes share nothing
  // but the generated test keys.
  const runPass = async (pass) => {
    const env = { ...process.env, SAEL_TEST_KEY_CACHE: keyCache };
    let args = userArgs;
    if (pass === 'postgres') {
      env.SAEL_TEST_DB = 'postgres';
      // SAEL_TEST_PG_FILES (a regular expression on the paths) narrows the pass: CI's time budget.
      const only = process.env.SAEL_TEST_PG_FILES ? new RegExp(process.env.SAEL_TEST_PG_FILES) : undefined;
      if (!namesFiles) args = [`--jobs=${process.env.SAEL_TEST_PG_JOBS ?? '2'}`, ...userArgs, ...postgresPassFiles().filter((f) => !only || only.test(f))];
      console.log(`\n# PostgreSQL pass: ${args.filter((a) => !a.startsWith('-')).length} test files with every test app on PostgreSQL`);
    }
    const started = Date.now();
    const r = await runTap(args, env);
    r.line = `# ${pass} pass: ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''} in ${Math.round((Date.now() - started) / 1000)} s`;
    console.log(r.line);
    return r;
  };
  // tap rebuilds its runner (node_modules/@tapjs/test/test-built) for this project's plugin list at
  // its first run after npm ci; two passes starting at once would both rebuild it and remove each
  // other's files (every test then fails with "Cannot find module .../test-built/..."). Built once here.
  if (passes.includes(',')) {
    const built = spawnSync('npx', ['tap', 'build'], { cwd: OUT, stdio: ['ignore', 'ignore', 'inherit'] });
    if (built.status !== 0) process.exit(built.status ?? 1);
  }
  const results = await Promise.all(passes.split(',').map(runPass));
  for (const r of results) console.log(r.line);
  fs.rmSync(keyCache, { recursive: true, force: true });
  const sum = (k) => results.reduce((n, r) => n + r[k], 0);
  const skipped = sum('skipped');
  console.log(`${sum('passed')} passed, ${sum('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(results.every((r) => r.code === 0) ? 0 : 1);
}
