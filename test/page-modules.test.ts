/**
 * The pages' JavaScript modules (src/plugins/page-modules.ts): the module graph read from the
 * files, and the layout and service worker that use it. That the modules run in a browser (the
 * menu opens, no script error) is checked by test/e2e/header-mobile.test.ts and layout.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { moduleGraph, pageModules, PAGE_MODULE_ENTRIES } from '../src/plugins/page-modules.js';
import { buildTestApp } from './helpers.js';

function tree(t: { teardown(fn: () => void): void }, files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-page-modules-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

t.test('moduleGraph: every static import, once, entries first; across roots', async (t) => {
  const lib = tree(t, {
    'plugins/menu.js': "import Base from './base.js';\nimport { on } from './dom/events.js';\nexport default class Menu extends Base {}\n",
    'plugins/base.js': "import { on } from './dom/events.js';\nexport * from './util/index.js';\nexport default class Base {}\n",
    'plugins/dom/events.js': "import '../util/index.js';\nexport const on = () => {};\n",
    'plugins/util/index.js': "// import './not-a-real-import.js' in a comment\nconst s = \"import './nor-in-a-string.js'\";\nexport const later = () => import('./lazy.js');\n",
  });
  const site = tree(t, { 'js/entry.js': "import '/lib/plugins/menu.js';\nimport '/lib/plugins/base.js';\n" });
  const roots = { '/lib/': lib, '/site/': site };
  t.same(await moduleGraph(['/site/js/entry.js'], roots), [
    '/site/js/entry.js',
    '/lib/plugins/menu.js',
    '/lib/plugins/base.js',
    '/lib/plugins/dom/events.js',
    '/lib/plugins/util/index.js',
  ], 'relative and absolute paths resolved; comments, strings and dynamic imports are not static imports');
});

t.test('moduleGraph: a module the browser could not load is an error at start-up', async (t) => {
  const lib = tree(t, {
    'bare.js': "import { createPopper } from '@popperjs/core';\n",
    'missing.js': "import './gone.js';\n",
    'escape.js': "import '../../etc/passwd';\n",
  });
  const roots = { '/lib/': lib };
  await t.rejects(moduleGraph(['/lib/bare.js'], roots), /imports "@popperjs\/core": only paths can be served/);
  await t.rejects(moduleGraph(['/lib/missing.js'], roots), /module \/lib\/gone.js: no such file/);
  await t.rejects(moduleGraph(['/lib/escape.js'], roots), /no such file under the static roots/, 'a path above the root is not served');
  await t.rejects(moduleGraph(['/elsewhere/x.js'], roots), /no such file under the static roots/);
});

t.test('the pages load Bootstrap Italia as modules, preloaded; the service worker keeps them', async (t) => {
  const app = await buildTestApp(t);
  const modules = await pageModules();
  t.same(modules.slice(0, PAGE_MODULE_ENTRIES.length), PAGE_MODULE_ENTRIES);
  t.ok(modules.includes('/bi/plugins/navbar-collapsible.js') && modules.includes('/bi/plugins/track-focus.js'), 'the menu and the keyboard focus');
  t.ok(modules.length > 2, `and what they import (${modules.length} modules)`);

  const home = await app.inject({ url: '/', headers: { accept: 'text/html' } });
  t.equal(home.statusCode, 200);
  t.notMatch(home.body, 'bootstrap-italia.bundle', 'not the 1 MB bundle');
  t.match(home.body, /<script type="module" src="\/static\/js\/bi-components.js" nonce="[^"]+"><\/script>/);
  const preloaded = [...home.body.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]);
  t.same(preloaded, modules, 'the whole graph is preloaded');
  let bytes = 0;
  for (const url of modules) {
    const res = await app.inject({ url });
    t.equal(res.statusCode, 200, url);
    t.match(res.headers['content-type'], /^(text|application)\/javascript/, `${url} is served as JavaScript`);
    bytes += res.rawPayload.length;
  }
  t.ok(bytes < 100_000, `${bytes} bytes of JavaScript in all, not ~1 MB`);

  const sw = (await app.inject({ url: '/sw.js' })).body;
  const shell = /const SHELL_URLS = \[([\s\S]*?)\];/.exec(sw)![1]!;
  for (const url of modules) t.ok(shell.includes(JSON.stringify(url)), `the service worker installs ${url}`);
  t.notMatch(sw, '__PAGE_MODULES__');
  t.notMatch(shell, 'bootstrap-italia.bundle');
});
