/**
 * The part of Bootstrap Italia's stylesheet the pages use: `public/css/bootstrap-italia.css`,
 * served as /static/css/bootstrap-italia.css by the layout. The kit's minified CSS
 * (`bootstrap-italia/dist/css/bootstrap-italia.min.css`) is 600 KB, every component of the kit,
 * and every page loaded and parsed all of it; the pages use a sixth.
 *
 * PurgeCSS keeps each rule whose selector names only classes, ids, elements and attributes that
 * appear in the sources the pages are made of:
 * - the templates (a class written in one, or a value a helper picks: `alert-{{outcomeKind}}`);
 * - the server's code (`statusBadge: 'bg-success'`, error pages written in TypeScript);
 * - the pages' scripts and the Bootstrap Italia modules they import (page-modules.ts: the classes
 *   a component toggles, such as the menu's `expanded`).
 * A class put together from pieces where none of these sources spells it out in full would be
 * lost; SAFELIST names the only such family.
 *
 * `npm run css` writes the file; test/bi-css.test.ts fails when the committed file is not what the
 * sources give today (a template that starts using a class of the kit needs `npm run css`).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileOf, pageModules, STATIC_ROOTS } from './page-modules.js';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The kit's whole stylesheet. */
export const BI_CSS_SOURCE = path.join(path.dirname(require.resolve('bootstrap-italia/package.json')), 'dist/css/bootstrap-italia.min.css');
/** The part the pages use, committed. */
export const BI_CSS_FILE = path.join(ROOT, 'public/css/bootstrap-italia.css');
/** Its URL (templates/layouts/main.hbs, the service worker's shell). */
export const BI_CSS_URL = '/static/css/bootstrap-italia.css';

/** Classes built from pieces: `alert alert-{{outcomeKind}}` (templates/portal/pay-notice.hbs). */
const SAFELIST = [/^alert-/];

/** The files the pages are made of (see above), as paths. */
async function contentFiles(): Promise<string[]> {
  // moduleGraph has checked that every module is a file under a static root
  const scripts = (await pageModules()).map((url) => fileOf(url, STATIC_ROOTS)!);
  const under = (dir: string, ext: string): string[] =>
    fs.readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(ext)).map((f) => path.join(ROOT, dir, f));
  return [...under('templates', '.hbs'), ...under('src', '.ts'), ...under('public/js', '.js'), ...scripts].sort();
}

/** The stylesheet the pages need, from the kit's and today's sources. */
export async function bootstrapItaliaCss(): Promise<string> {
  // a development tool, loaded only here: the server never needs it
  const { PurgeCSS } = await import('purgecss');
  const [result] = await new PurgeCSS().purge({
    content: await contentFiles(),
    css: [BI_CSS_SOURCE],
    // @keyframes no kept rule animates; custom properties all kept (app.css or a style attribute may use them)
    keyframes: true,
    safelist: { standard: SAFELIST },
  });
  const version = (require('bootstrap-italia/package.json') as { version: string }).version;
  return `/* Bootstrap Italia ${version} (BSD-3-Clause), the rules the pages use: written by \`npm run css\` (src/plugins/bi-css.ts) from dist/css/bootstrap-italia.min.css. Do not edit. */\n${result!.css.replace(/^\uFEFF/, '')}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const css = await bootstrapItaliaCss();
  fs.writeFileSync(BI_CSS_FILE, css);
  console.log(`${path.relative(ROOT, BI_CSS_FILE)}: ${css.length} bytes (the kit's: ${fs.statSync(BI_CSS_SOURCE).size})`);
}
