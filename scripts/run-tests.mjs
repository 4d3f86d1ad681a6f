#!/usr/bin/env node
// Compiles the server and its tests to JavaScript (scripts/build-tests.mjs), runs the tap suite on
// the compiled copy in .test-build/ with one folder of generated test keys for all its processes,
// and ends with the plain summary line "N passed, N failed" that CI reads. Arguments are passed
// to tap; test files may be named by their .ts source path.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildTests, OUT } from './build-tests.mjs';

await buildTests();
const args = ['tap', '--reporter=terse', ...process.argv.slice(2).map((a) => (/^test\/.*\.ts$/.test(a) ? a.replace(/\.ts$/, '.js') : a))];
// Keys the test apps generate at their first start, shared by the run's test processes (test/helpers.ts).
const keyCache = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-test-run-keys-'));
const child = spawn('npx', args, { cwd: OUT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SAEL_TEST_KEY_CACHE: keyCache } });
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4000);
});
child.on('close', (code) => {
  fs.rmSync(keyCache, { recursive: true, force: true });
  const m = /# \{([^}]*)\}/.exec(tail);
  const counts = {};
  if (m) for (const [, k, v] of m[1].matchAll(/(\w+): (\d+)/g)) counts[k] = Number(v);
  const passed = counts.pass ?? 0;
  const failed = counts.fail ?? (code === 0 ? 0 : Math.max(1, (counts.total ?? 0) - passed));
  const skipped = (counts.skip ?? 0) + (counts.todo ?? 0);
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(code ?? 1);
});
