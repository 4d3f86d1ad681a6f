/**
 * `npm run bench`: runs every bench/*.bench.ts in its own process, one after the other, and
 * prints their BENCH lines again at the end. `npm run bench -- import` runs those whose name matches.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter)))
  .sort();
const lines: string[] = [];
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f}`);
  const r = spawnSync(process.execPath, ['--import', path.join(dir, '../src/tsx-preload.mjs'), '--import', 'tsx', '--expose-gc', path.join(dir, f)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(r.stdout);
  lines.push(...r.stdout.split('\n').filter((l) => l.startsWith('BENCH ')));
  if (r.status !== 0) {
    failed++;
    lines.push(`BENCH ${f}: crashed (exit ${r.status})`);
  }
}
console.log('\n=== summary');
for (const l of lines) console.log(l);
process.exitCode = failed ? 1 : 0;
