#!/usr/bin/env node
// Compiles the server and its tests to JavaScript (scripts/build-tests.mjs), runs every tap test
// file of the compiled copy in .test-build/ in its own node process (runFiles below: tap's
// library, not tap's runner), with one folder of generated test keys for all its processes, and
// ends with the plain summary line "N passed, N failed" that CI reads. Arguments: test files or
// folders (by their .ts source path) and --jobs=N.
//
// With TEST_DATABASE_URL set (a PostgreSQL server: scripts/pg-throwaway.sh start prints one) and
// no test files named, a second pass runs the tests that use the database again with every test
// app on PostgreSQL (SAEL_TEST_DB=postgres, see test/helpers.ts): the files that build an app or
// open a database (postgresPassFiles), the browser and end-to-end files included, except those
// that take PostgreSQL themselves in the first pass (the cluster and multi-process tests). SAEL_TEST_PASSES=sqlite or =postgres runs one of
// the two; both run at the same time (SAEL_TEST_JOBS files at a time in the first, default 3,
// SAEL_TEST_PG_JOBS in the second, default 2; SAEL_TEST_HEAVY_JOBS browser or cluster files at a
// time across both, default 2).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildTests, OUT } from './build-tests.mjs';

const DATABASE_USE = /\b(buildTestApp|openAppDatabase|buildApp)\(/;
/**
 * The files that run their PostgreSQL cases themselves, in the first pass, on databases they make
 * from TEST_DATABASE_URL (two processes on one database, both dialects side by side): in the
 * PostgreSQL pass they would run the very same cases again.
 */
const TAKES_POSTGRES_ITSELF = /^test\/(cluster\/|(positions|gpd|helpdesk)\/pg-concurrency\.test\.ts$|jobs-runner\.test\.ts$|scheduled-pass\.test\.ts$|db\/dialects\.test\.ts$)/;

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
      else if (rel.endsWith('.test.ts') && !TAKES_POSTGRES_ITSELF.test(rel) && uses(rel)) out.push(rel);
    }
  };
  walk('test');
  return out.sort();
}

/**
 * Runs test files with tap's library but not tap's runner: each file in its own `node` process
 * (a tap test file is a program that prints TAP and exits non-zero on a failure), `jobs` at a
 * time. Why not `tap`'s runner: it starts every test process with @tapjs/processinfo's module
 * hooks (`--import`, no setting turns them off), and on Node 20 those run every module load
 * through a loader thread: importing the app and the test helpers took 2.9 s of CPU plain and
 * 5.7 s under the hooks, in each of the suite's ~260 processes (~730 s of CPU a run).
 *
 * Each file's output goes to `.test-build/.test-results/<pass>/<file>.tap`; a failing file's
 * output is printed. The heavy files (Chromium, the cluster's servers) start first, so that the
 * jobs end together, but at most HEAVY_JOBS of them at once across both passes: three Chromium
 * files at a time pushed the load on two cores to 19–20 and doubled the cluster test's time.
 */
const TEST_TIMEOUT_S = 300; // each file's tap timeout (TAP_TIMEOUT); a file's t.setTimeout can raise it
const FILE_KILL_S = 1200; // a file still running after this is killed (a hang, not a slow test)
/**
 * V8 flags of the test processes. `--interrupt-budget` (V8's default is 132 KB of bytecode run)
 * makes a function wait ~7.5 times longer before V8 optimizes it in the background: a test process
 * lives seconds, and most of its code (importing ~530 modules, building the app) runs a few times,
 * so most of that optimizing was wasted CPU. Importing the app and building two test apps took
 * 3.45–3.78 s of CPU with V8's default and 2.78–2.89 s with this (5 runs each); the suite is
 * CPU-bound on two cores, with ~280 test processes.
 */
const NODE_FLAGS = ['--interrupt-budget=1000000'];

function listTestFiles(names) {
  const out = [];
  const walk = (rel) => {
    const abs = path.join(OUT, rel);
    if (fs.statSync(abs).isDirectory()) for (const e of fs.readdirSync(abs).sort()) walk(path.posix.join(rel, e));
    else if (rel.endsWith('.test.js')) out.push(rel);
  };
  for (const n of names.length ? names : ['test']) {
    const rel = n.replace(/\/$/, '').replace(/\.ts$/, '.js');
    if (!fs.existsSync(path.join(OUT, rel))) throw new Error(`no test file or folder ${n}`);
    walk(rel);
  }
  return out;
}

const HEAVY = /^test\/cluster\/|^test\/e2e\/|-browser\.test\.js$/;
/** Heavy files at a time across both passes (one count for the run: each runs its own Chromium). */
const HEAVY_JOBS = Number(process.env.SAEL_TEST_HEAVY_JOBS ?? 2);
let heavyRunning = 0;

function runFile(file, env) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...NODE_FLAGS, file], { cwd: OUT, env: { ...env, TAP_TIMEOUT: String(TEST_TIMEOUT_S) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    const killer = setTimeout(() => {
      chunks.push(Buffer.from(`\n# killed after ${FILE_KILL_S} s\n`));
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, FILE_KILL_S * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      // what the file started (servers, Chromium) goes with it
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      const output = Buffer.concat(chunks).toString('utf8');
      const summaries = [...output.matchAll(/^# \{([^}]*)\}$/gm)];
      const counts = {};
      if (summaries.length) for (const [, k, v] of summaries.at(-1)[1].matchAll(/(\w+): (\d+)/g)) counts[k] = Number(v);
      const passed = counts.pass ?? 0;
      const ok = code === 0 && !signal;
      const failed = counts.fail > 0 ? counts.fail : ok ? 0 : 1;
      resolve({ file, ok, passed, failed, skipped: (counts.skip ?? 0) + (counts.todo ?? 0), seconds: (Date.now() - started) / 1000, output, code, signal });
    });
  });
}

async function runFiles(files, env, { jobs, label }) {
  const resultsDir = path.join(OUT, '.test-results', label);
  fs.rmSync(resultsDir, { recursive: true, force: true });
  // the cluster test first: the longest, and the one that most needs the cores
  const heavy = files.filter((f) => HEAVY.test(f)).sort((a, b) => Number(!a.startsWith('test/cluster/')) - Number(!b.startsWith('test/cluster/')));
  const light = files.filter((f) => !HEAVY.test(f));
  const next = () => {
    if (heavy.length && (heavyRunning < HEAVY_JOBS || !light.length)) {
      heavyRunning++;
      return { file: heavy.shift(), heavy: true };
    }
    return light.length ? { file: light.shift(), heavy: false } : undefined;
  };
  const r = { code: 0, passed: 0, failed: 0, skipped: 0 };
  const worker = async () => {
    for (let job = next(); job; job = next()) {
      const f = await runFile(job.file, env);
      if (job.heavy) heavyRunning--;
      const out = path.join(resultsDir, `${f.file}.tap`);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, f.output);
      r.passed += f.passed;
      r.failed += f.failed;
      r.skipped += f.skipped;
      const counts = `${f.passed} passed${f.failed ? `, ${f.failed} failed` : ''}${f.skipped ? `, ${f.skipped} skipped` : ''}`;
      console.log(`${f.ok ? 'ok    ' : 'not ok'} ${f.seconds.toFixed(1).padStart(6)} s  ${label}  ${f.file.replace(/\.js$/, '.ts')}  (${counts})`);
      if (!f.ok) {
        r.code = 1;
        const lines = f.output.split('\n');
        const shown = lines.length > 3000 ? ['…', ...lines.slice(-3000)] : lines;
        console.log(`# ---- output of ${f.file} (exit ${f.signal ?? f.code}, ${out}) ----\n${shown.join('\n')}\n# ---- end of ${f.file} ----`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  return r;
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('run-tests.mjs');
if (isMain) {
  await buildTests();
  const userArgs = process.argv.slice(2);
  const jobsArg = userArgs.find((a) => /^--jobs=\d+$/.test(a));
  const unknown = userArgs.filter((a) => a.startsWith('-') && a !== jobsArg);
  if (unknown.length) {
    console.error(`unknown option ${unknown.join(' ')}: npm test takes test files or folders and --jobs=N (for tap's own options: npx tap <file>)`);
    process.exit(2);
  }
  const jobsFlag = jobsArg ? Number(jobsArg.slice('--jobs='.length)) : undefined;
  const names = userArgs.filter((a) => !a.startsWith('-'));
  const namesFiles = names.length > 0;
  const passes = process.env.SAEL_TEST_PASSES ?? (process.env.TEST_DATABASE_URL && !namesFiles && !process.env.SAEL_TEST_DB ? 'sqlite,postgres' : 'sqlite');
  // Keys the test apps generate at their first start, shared by the run's test processes (test/helpers.ts).
  const keyCache = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-test-run-keys-'));
  // Both passes at once when both run: the browser tests leave the cores idle part of the time
  // (a browser test file keeps ~60% of one core busy), and the passes share nothing but the
  // generated test keys.
  const runPass = async (pass) => {
    const env = { ...process.env, SAEL_TEST_KEY_CACHE: keyCache };
    let files = listTestFiles(names);
    let jobs = jobsFlag ?? Number(process.env.SAEL_TEST_JOBS ?? 3);
    if (pass === 'postgres') {
      env.SAEL_TEST_DB = 'postgres';
      // SAEL_TEST_PG_FILES (a regular expression on the paths) narrows the pass.
      const only = process.env.SAEL_TEST_PG_FILES ? new RegExp(process.env.SAEL_TEST_PG_FILES) : undefined;
      if (!namesFiles) {
        files = postgresPassFiles().filter((f) => !only || only.test(f)).map((f) => f.replace(/\.ts$/, '.js'));
        jobs = jobsFlag ?? Number(process.env.SAEL_TEST_PG_JOBS ?? 2);
      }
      console.log(`\n# PostgreSQL pass: ${files.length} test files with every test app on PostgreSQL`);
    }
    const started = Date.now();
    const label = pass === 'sqlite' && process.env.SAEL_TEST_DB === 'postgres' ? 'postgres' : pass;
    const r = await runFiles(files, env, { jobs, label });
    r.line = `# ${label} pass: ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''} in ${Math.round((Date.now() - started) / 1000)} s (${files.length} files)`;
    console.log(r.line);
    return r;
  };
  const results = await Promise.all(passes.split(',').map(runPass));
  if (results.length > 1) for (const r of results) console.log(r.line); // both passes' lines together at the end
  fs.rmSync(keyCache, { recursive: true, force: true });
  const sum = (k) => results.reduce((n, r) => n + r[k], 0);
  const skipped = sum('skipped');
  console.log(`${sum('passed')} passed, ${sum('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(results.every((r) => r.code === 0) ? 0 : 1);
}
