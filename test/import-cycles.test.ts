/**
 * The import graph of src/ has no cycles (issue #14 §7: the positions repository imported the ACA
 * outbox, which imported the repository back), and app.ts reaches each module only through its
 * index.ts. Type-only imports count, as they do for madge: a cycle of types is still two files
 * that cannot be understood, moved or split apart one without the other.
 * Static scan with the TypeScript pre-processor (no type-check): ~100 ms.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The .ts file a relative specifier names ('./x.js' → './x.ts' or './x/index.ts'), or null. */
function resolveSpecifier(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec);
  const stem = base.replace(/\.(m?js|m?ts)$/, '');
  for (const candidate of [`${stem}.ts`, `${stem}.mts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** file → the src files it imports (import, import type, export … from, import()). */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const deps = info.importedFiles.map((f) => resolveSpecifier(file, f.fileName)).filter((f): f is string => f !== null);
    graph.set(file, [...new Set(deps)]);
  }
  return graph;
}

/** Every cycle found by a depth-first walk (each reported once, as the path that closes it). */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

const rel = (f: string) => path.relative(SRC, f);

t.test('no import cycles in src/', async (t) => {
  const graph = importGraph(SRC);
  const repository = path.join(SRC, 'modules/positions/repository.ts');
  t.ok(graph.size > 100, `${graph.size} files scanned`);
  t.ok(graph.get(repository)?.includes(path.join(SRC, 'modules/positions/aca-outbox.ts')), 'the graph sees the repository → outbox import');
  const cycles = findCycles(graph).map((c) => c.map(rel).join(' → '));
  t.same(cycles, [], 'no file imports itself back, directly or through others');
});

t.test('the cycle finder finds a cycle through a type-only import', async (t) => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  t.same(findCycles(graph), [['a', 'b', 'c', 'a']]);
  const info = ts.preProcessFile("import type { X } from './x.js';\nexport { y } from './y.js';\nconst z = await import('./z.js');", true, true);
  t.same(
    info.importedFiles.map((f) => f.fileName),
    ['./x.js', './y.js', './z.js'],
  );
});

t.test('app.ts uses each module through its index.ts only', async (t) => {
  const deps = importGraph(SRC).get(path.join(SRC, 'app.ts')) ?? [];
  const intoModules = deps.map(rel).filter((f) => f.startsWith(`modules${path.sep}`));
  t.ok(intoModules.length >= 5, intoModules.join(', '));
  t.same(
    intoModules.filter((f) => !/^modules[\\/][^\\/]+[\\/]index\.ts$/.test(f)),
    [],
    'no module internals imported by app.ts',
  );
});
