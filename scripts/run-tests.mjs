#!/usr/bin/env node
// Runs the tap suite and ends with the plain summary line "N passed, N failed" that CI reads.
import { spawn } from 'node:child_process';

const args = ['tap', '--reporter=terse', ...process.argv.slice(2)];
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
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
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(code ?? 1);
});
