/**
 * /admin/catalogo in headless Chromium at 1280 and 390 px: axe-core (WCAG 2.1 A/AA) finds nothing,
 * the layout checks find nothing, the matrix scrolls sideways inside its own box on a phone (the
 * page does not), its header row stays on top while the matrix scrolls, and the charts are
 * inline SVG images with a title. Screenshots under test-output/e2e/ (catalogue-dashboard-*).
 */
import { eq } from 'drizzle-orm';
import t from 'tap';
import { seedCatalogueDemo } from '../../src/modules/catalogue/demo-seed.js';
import { adesioni } from '../../src/modules/catalogue/schema.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { enti } from '../../src/modules/enti/schema.js';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from '../e2e/browser.js';
import { layoutProblems, type LayoutProblem } from '../e2e/layout-check.js';
import { loginAs } from '../helpers.js';
import { freePort } from '../pagopa/helpers.js';
import { dashboardApp, NOW, seedKnownData, someServices } from './dashboard-fixtures.js';

// Two page views with axe on a ~250 KB page: ~40 s on a quiet machine, more on a loaded one.
t.setTimeout(300_000);

t.test('SAEL dashboard in Chromium', { skip: chromiumAvailable() ? false : 'no Chromium' }, async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await dashboardApp(t, () => NOW, { PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  await app.listen({ port, host: '127.0.0.1' });
  await someServices(app.db, 22);
  await seedCatalogueDemo(app.db, NOW);
  await seedKnownData(app);
  // A denser matrix: the first 30 comuni in several services.
  const services = await someServices(app.db, 22);
  const comuni = await app.db.select({ id: enti.id }).from(enti).where(eq(enti.kind, 'comune')).limit(30);
  const states = ['active', 'expiring', 'suspended', 'submitted', 'expired', 'withdrawn'] as const;
  for (const [i, c] of comuni.entries()) {
    for (const [j, s] of services.entries()) {
      if ((i + j) % 3 === 0) await app.db.insert(adesioni).values({ enteId: c.id, serviceId: s.id, status: states[(i * 7 + j) % states.length]! });
    }
  }

  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const layout: Record<string, LayoutProblem[]> = {};
  const [name, value] = (await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'sael_admin')!.fiscalCode)).split(/=(.*)/s) as [string, string];

  for (const width of PAGE_WIDTHS) {
    const { ctx, page } = await s.context(width);
    await ctx.addCookies([{ name, value, url: base }]);
    await page.goto(`${base}/admin/catalogo`);
    await s.check(page, `catalogue-dashboard-${width}`);
    layout[`dashboard @${width}`] = await layoutProblems(page);

    t.equal(await page.getByRole('img', { name: 'Addebiti emessi e pagati per anno' }).count(), 1, 'the revenue chart is an image with its title');
    t.equal(await page.getByRole('img', { name: /Riempimento delle sessioni/ }).count(), 1, 'the training chart too');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    t.ok(overflow <= 0, `the page itself does not scroll sideways at ${width} px (${overflow})`);
    const wrap = page.locator('.sael-matrix-wrap');
    const box = await wrap.evaluate((el) => ({ scrollWidth: el.scrollWidth, clientWidth: el.clientWidth }));
    if (width === 390) t.ok(box.scrollWidth > box.clientWidth, 'the matrix scrolls inside its box on a phone');
    // Scroll the matrix: the header row stays at the top of the box, the comune column at its left.
    const before = await page.locator('.sael-matrix thead th').nth(3).boundingBox();
    await wrap.evaluate((el) => el.scrollTo(60, 400));
    const header = await page.locator('.sael-matrix thead th').nth(3).boundingBox();
    const wrapBox = await wrap.boundingBox();
    t.ok(header && wrapBox && Math.abs(header.y - wrapBox.y) <= 2, 'sticky header row');
    if (width === 390) t.ok(before && header && header.x < before.x, 'the columns moved left');
    const rowHead = await page.locator('.sael-matrix tbody th').nth(20).boundingBox();
    t.ok(rowHead && wrapBox && Math.abs(rowHead.x - wrapBox.x) <= 2, 'sticky comune column');
    await wrap.screenshot({ path: `test-output/e2e/catalogue-dashboard-matrix-scrolled-${width}.png` });
    // A cell shows its mark and is read by its state's name (not "Sc").
    const cell = page.locator('.sael-matrix td.m-expiring').first();
    t.equal(await cell.evaluate((el) => getComputedStyle(el, '::before').content), '"Sc" / ""', 'the mark is drawn');
    t.ok((await page.getByRole('cell', { name: 'In scadenza', exact: true }).count()) >= 1, 'the cell’s accessible name is the state');
    await ctx.close();
  }

  t.same(Object.fromEntries(Object.entries(s.axeResults).filter(([, v]) => v.length)), {}, 'no axe-core violations');
  t.same(Object.fromEntries(Object.entries(layout).filter(([, v]) => v.length)), {}, 'no layout problems');
  t.same(s.thirdParty, [], 'no third-party requests');
});
