/**
 * What a phone downloads for the home page and the personal area (#14 §6): Chromium at 390 px
 * with an empty cache loads each page and every response is summed (HTML, CSS, JS, fonts, images),
 * in bytes on the wire (body as encoded + headers). Once as the browser asks (Accept-Encoding:
 * gzip, deflate, br) and once with `Accept-Encoding: identity`, which is what every response was
 * before the compression plugin. Information only, no goal: `npx tsx bench/page-weight.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { upsertUser } from '../src/modules/users/repository.js';
import { launch } from '../test/e2e/browser.js';
import { loginAs } from '../test/helpers.js';
import { citizens, createCitizenPosition, fullName } from '../test/portal/fixtures.js';
import { listen } from './lib.js';

const COMUNI = ['Campobasso', 'Termoli', 'Bojano', 'Larino', 'Trivento'];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-bench-weight-'));
const app = await buildApp(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000000', PAGOPA_FDR_INTERVAL_MINUTES: '0' }), { logger: false, backgroundWorkers: false });
const { lucia } = citizens();
await upsertUser(app.db, lucia, { actor: 'bench' });
for (let i = 0; i < 200; i++) {
  await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), {
        comune: COMUNI[i % COMUNI.length],
        description: `Posizione ${i + 1} – tributo comunale`,
        amountCents: 1000 + i * 37,
        installments: i % 4 === 0 ? 3 : 0,
        dueInDays: 10 + (i % 60),
      });
}
const cookie = (await loginAs(app, lucia.fiscalCode)).split(';', 1)[0]!;
const base = await listen(app);
const browser = await launch();

type Kind = 'html' | 'css' | 'js' | 'font' | 'other';
function kind(type: string): Kind {
  if (type === 'document') return 'html';
  if (type === 'stylesheet') return 'css';
  if (type === 'script') return 'js';
  if (type === 'font') return 'font';
  return 'other';
}

async function weigh(url: string, identity: boolean, withCookie: boolean): Promise<Record<Kind | 'total', number>> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, extraHTTPHeaders: identity ? { 'accept-encoding': 'identity' } : {} });
  if (withCookie) {
    const [name, value] = cookie.split('=') as [string, string];
    await context.addCookies([{ name, value, url: base }]);
  }
  const page = await context.newPage();
  const sums: Record<Kind | 'total', number> = { html: 0, css: 0, js: 0, font: 0, other: 0, total: 0 };
  const pending: Promise<void>[] = [];
  page.on('requestfinished', (request) => {
    pending.push(
      request.sizes().then((s) => {
        const bytes = s.responseBodySize + s.responseHeadersSize;
        sums[kind(request.resourceType())] += bytes;
        sums.total += bytes;
      }),
    );
  });
  await page.goto(`${base}${url}`, { waitUntil: 'networkidle' });
  await Promise.all(pending);
  await context.close();
  return sums;
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
for (const [name, url, signedIn] of [
  ['home', '/', false],
  ['personal area (200 positions)', '/area-personale', true],
] as const) {
  const before = await weigh(url, true, signedIn);
  const after = await weigh(url, false, signedIn);
  const parts = (s: Record<string, number>) => `html ${kb(s.html!)}, css ${kb(s.css!)}, js ${kb(s.js!)}, fonts ${kb(s.font!)}, other ${kb(s.other!)}`;
  console.log(`BENCH page weight ${name} (information, no goal): uncompressed ${kb(before.total)} (${parts(before)}) | br/gzip ${kb(after.total)} (${parts(after)}) | ratio ${(after.total / before.total).toFixed(2)}`);
}
await browser.close();
await app.close();
process.exit();
