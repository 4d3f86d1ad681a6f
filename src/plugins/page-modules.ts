/**
 * The pages' own JavaScript modules and everything they import, as URLs: the layout preloads
 * them (`<link rel="modulepreload">`, so a phone fetches the graph in one round trip instead of
 * one per level of imports) and the service worker keeps them for offline use.
 *
 * The entry is `public/js/bi-components.js`, which imports the Bootstrap Italia components the
 * templates use straight from the library's ES modules (served under /bi/). The graph is read
 * from the files at start-up with es-module-lexer, so a Bootstrap Italia upgrade that adds or
 * renames an internal module needs no change here.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, parse } from 'es-module-lexer';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where a URL prefix is served from (the app's @fastify/static roots). */
export type StaticRoots = Record<string, string>;

/** The file behind a same-origin URL path, or undefined when no root serves it. */
export function fileOf(url: string, roots: StaticRoots): string | undefined {
  for (const [prefix, dir] of Object.entries(roots)) {
    if (!url.startsWith(prefix)) continue;
    const file = path.resolve(dir, url.slice(prefix.length));
    if (file.startsWith(path.resolve(dir) + path.sep)) return file;
  }
  return undefined;
}

/**
 * The static module graph of `entries` (URL paths), entries first, then each import in the order
 * first met. Every import must be a relative or absolute path served by `roots`: a bare specifier
 * (`'@popperjs/core'`) or a missing file is an error, found at start-up rather than in a browser.
 */
export async function moduleGraph(entries: string[], roots: StaticRoots): Promise<string[]> {
  await init;
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length) {
    const url = queue.shift()!;
    if (seen.has(url)) continue;
    const file = fileOf(url, roots);
    if (!file || !fs.existsSync(file)) throw new Error(`module ${url}: no such file under the static roots`);
    seen.add(url);
    const [imports] = parse(fs.readFileSync(file, 'utf8'), file);
    for (const imp of imports) {
      // Static imports and re-exports only: the pages' modules have no dynamic import to preload.
      if (imp.type !== 'static' && imp.type !== 'reexport-star') continue;
      const spec = imp.specifier;
      if (!/^(\.{1,2}\/|\/)/.test(spec)) throw new Error(`module ${url} imports "${spec}": only paths can be served to the browser`);
      queue.push(new URL(spec, `http://x${url}`).pathname);
    }
  }
  return [...seen];
}

/** The app's static files by URL prefix (src/app.ts serves them with @fastify/static). */
export const STATIC_ROOTS = {
  '/bi/': path.join(path.dirname(require.resolve('bootstrap-italia/package.json')), 'dist'),
  '/static/': path.join(ROOT, 'public'),
} as const satisfies StaticRoots;

export const PAGE_MODULE_ENTRIES = ['/static/js/bi-components.js'];

let pageModulesOnce: Promise<string[]> | undefined;
/** The pages' module graph, read once per process. */
export function pageModules(): Promise<string[]> {
  return (pageModulesOnce ??= moduleGraph(PAGE_MODULE_ENTRIES, STATIC_ROOTS));
}
