/**
 * Part D's pages in headless Chromium at 1280 and 390 px: the SAEL overview, the scarto list with
 * candidates, a proposed scarto list with its forms, the public Manuale. axe WCAG 2.1 A/AA at 1280,
 * layout checks at both widths, no sideways scrolling of the page, screenshots under
 * test-output/e2e/conservazione-d-*.png.
 */
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { addDays } from '../../src/domain/iso-date.js';
import { romeDay } from '../../src/modules/conservazione/dates.js';
import { proposeScartoList } from '../../src/modules/conservazione/scarto.js';
import { appendEvent } from '../../src/modules/conservazione/events.js';
import type { ConservazioneCtx } from '../../src/modules/conservazione/context.js';
import { loginAs } from '../helpers.js';
import path from 'node:path';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS, SHOTS_DIR } from '../e2e/browser.js';
import { layoutProblems } from '../e2e/layout-check.js';
import { buildTestApp } from '../helpers.js';
import { freePort } from '../pagopa/helpers.js';
import { testSealer } from './d-sealer-fixture.js';
import { addAip, addDocument, ensureProfile, memberEnti } from './d-archive-fixture.js';

t.setTimeout(300_000);

t.test('conservazione SAEL pages in Chromium', { skip: chromiumAvailable() ? false : 'no Chromium' }, async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildTestApp(t, { PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  await app.listen({ port, host: '127.0.0.1' });
  const sealer = await testSealer(app.config.dataDir, () => new Date());
  const ctx: ConservazioneCtx = { ...app.conservazione, sealer: async () => sealer };
  const expired = addDays(romeDay(ctx.now()), -3);
  const [a, b] = await memberEnti(ctx);
  const profileId = await ensureProfile(ctx, 'determina-d', 10);
  const aipIds: number[] = [];
  for (const [i, ente] of [a!, b!, a!].entries()) {
    const doc = await addDocument(ctx, ente.id, profileId, [`Determina dirigenziale ${i}`, `Allegato ${i}`]);
    aipIds.push((await addAip(ctx, sealer, { enteId: ente.id, profileId, sipIds: [doc.sipId], retentionUntil: expired })).aipId);
  }
  await appendEvent(ctx.db, { kind: 'access', enteId: a!.id, actor: 'system', subject: `aip:${aipIds[0]}` }, new Date());
  const listId = await proposeScartoList(ctx, { aipIds: [aipIds[0]!], note: 'Piano di conservazione dell’ente, serie determine 2010' }, { actor: 'system' });

  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const [name, value] = (await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'sael_admin')!.fiscalCode)).split(/=(.*)/s) as [string, string];
  const pages: [string, string][] = [
    ['overview', '/admin/conservazione'],
    ['scarto', '/admin/conservazione/scarto'],
    ['scarto-elenco', `/admin/conservazione/scarto/${listId}`],
    ['manuale', '/conservazione/manuale'],
  ];
  for (const width of PAGE_WIDTHS) {
    const { ctx: bctx, page } = await s.context(width);
    await bctx.addCookies([{ name, value, url: base }]);
    for (const [label, url] of pages) {
      const res = await page.goto(`${base}${url}`);
      t.equal(res?.status(), 200, `${url} answers 200`);
      t.same(await layoutProblems(page), [], `layout at ${width}: ${label}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      t.ok(overflow <= 0, `${label} does not scroll sideways at ${width} px (${overflow})`);
      await s.check(page, `conservazione-d-${label}-${width}`, { axe: width === 1280 });
      // The manuale is long: its profiles table on its own, readable.
      if (label === 'manuale') await page.locator('#oggetti').screenshot({ path: path.join(SHOTS_DIR, `conservazione-d-manuale-profili-${width}.png`) });
    }
    await bctx.close();
  }
  for (const [p, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${p}`);
  t.same(s.thirdParty, [], 'no third-party requests');
});
