#!/usr/bin/env node
/**
 * Compiles the server, its tests and the benchmarks they share code with to plain JavaScript for
 * the test run (`npm test`), into `.test-build/`, a mirror of the repository: `src/`, `test/`
 * and `bench/` with every `.ts` file compiled
 * by esbuild next to its source, every other tracked top-level entry (templates, schemas, public,
 * migrations, …, 4 MB) copied as it is, and only node_modules, test-output and data linked. Copies,
 * not links: a test that copies a folder to change it (db.test.ts breaks a copy of migrations/)
 * would otherwise copy the link and change the repository's own files.
 *
 * Why: under tsx every test process loads ~700 TypeScript modules through tsx's loader thread;
 * the same modules as JavaScript start a test file ~1.7 s of CPU sooner (measured: 6.1–6.7 s of
 * CPU to import and build the app under tsx, 4.3–4.5 s compiled), and the suite starts ~150
 * processes. Types are still checked by `tsc --noEmit` first (`npm run build`).
 *
 * The compiled files keep the `.js` import specifiers the sources already use, so they resolve
 * to each other; code that starts a `.ts` file itself (worker threads through
 * src/workers/ts-worker.mjs, `node --import tsx src/server.ts` in a few tests) still finds it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const OUT = path.join(ROOT, '.test-build');
// bench/ too: some tests share its data builders (bench/helpdesk-data.ts, bench/lib.ts).
const COMPILED = ['src', 'test', 'bench'];
const LINKED = new Set(['node_modules', 'test-output', 'data']);
const SKIP = new Set(['.git', '.test-build', '.tap', 'coverage', 'package.json', ...COMPILED]);

function walk(dir, files = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, files);
    else if (e.isFile()) files.push(p);
  }
  return files;
}

export async function buildTests() {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const sources = [];
  for (const dir of COMPILED) {
    for (const file of walk(path.join(ROOT, dir))) {
      const rel = path.relative(ROOT, file);
      fs.mkdirSync(path.dirname(path.join(OUT, rel)), { recursive: true });
      fs.copyFileSync(file, path.join(OUT, rel));
      if (file.endsWith('.ts') && !file.endsWith('.d.ts')) sources.push(file);
    }
  }
  await build({
    entryPoints: sources,
    outdir: OUT,
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // No source maps: tap starts every test process with --enable-source-maps, and Node then
    // reads and parses the map of each of the ~700 modules it loads (~0.5 s of CPU a process).
    // A failure's stack points into the compiled file, which esbuild keeps readable.
    sourcemap: false,
    logLevel: 'warning',
  });
  fs.mkdirSync(path.join(ROOT, 'test-output'), { recursive: true });
  for (const e of fs.readdirSync(ROOT)) {
    if (SKIP.has(e)) continue;
    if (LINKED.has(e)) fs.symlinkSync(path.join(ROOT, e), path.join(OUT, e));
    else fs.cpSync(path.join(ROOT, e), path.join(OUT, e), { recursive: true });
  }
  // The mirror's own package.json: the same, with tap running the compiled tests without tsx.
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  pkg.tap = { ...pkg.tap, 'node-arg': [], include: ['test/**/*.test.js'] };
  fs.writeFileSync(path.join(OUT, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  return OUT;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  await buildTests();
  console.log(`tests compiled into ${path.relative(process.cwd(), OUT) || '.'} in ${Date.now() - t0} ms`);
}
