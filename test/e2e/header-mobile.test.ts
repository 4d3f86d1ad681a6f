/**
 * The signed-in header on a phone (issue #14 §5): the user's name stays visible next to "Esci",
 * and the main menu collapses behind a "Menu" button (Bootstrap Italia's navbar-collapsable)
 * instead of wrapping over two lines; on a desktop the links are a row and there is no button.
 */
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { loginAs } from '../helpers.js';
import { chromiumAvailable, e2eSession } from './browser.js';
import { e2eApp } from './setup.js';

t.test('mobile header: name shown, menu collapsed behind a button', { skip: chromiumAvailable() ? false : 'chromium not installed (.ci/run installs it)' }, async (t) => {
  const { app, base } = await e2eApp(t);
  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const { ctx, page } = await s.context(390);
  const [name, value] = (await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'helpdesk')!.fiscalCode)).split(/=(.*)/s) as [string, string];
  await ctx.addCookies([{ name, value, url: base }]);
  await page.goto(`${base}/helpdesk`);
  const user = page.locator('header .it-header-slim-right-zone > .text-white.me-3');
  t.ok(await user.isVisible(), 'the name is visible at 390 px');
  t.equal((await user.textContent())?.trim(), 'Laura Bianchi');
  const box = await user.boundingBox();
  t.ok(box && box.x >= 0 && box.x + box.width <= 390, 'and inside the screen');
  const toggler = page.getByRole('button', { name: 'Menu', exact: true });
  const helpdeskLink = page.locator('#nav-main').getByRole('link', { name: 'Helpdesk' });
  t.ok(await toggler.isVisible(), 'a Menu button');
  t.notOk(await helpdeskLink.isVisible(), 'the links are collapsed');
  // The menu ignores "close" while it is still sliding open (Bootstrap Italia's navbar-collapsible):
  // wait for its "shown" event, as a person who sees the menu open would.
  await page.evaluate(() => {
    const w = window as unknown as { menuShown: Promise<void> };
    w.menuShown = new Promise((resolve) => document.getElementById('nav-main')!.addEventListener('shown.bs.navbarcollapsible', () => resolve(), { once: true }));
  });
  await toggler.click();
  await helpdeskLink.waitFor({ state: 'visible' });
  t.equal(await toggler.getAttribute('aria-expanded'), 'true');
  await page.evaluate(() => (window as unknown as { menuShown: Promise<void> }).menuShown);
  await s.check(page, 'header-390-menu-open');
  await page.getByRole('button', { name: 'Chiudi il menu' }).click();
  await helpdeskLink.waitFor({ state: 'hidden' });

  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${base}/helpdesk`);
  t.notOk(await toggler.isVisible(), 'no Menu button on a desktop');
  t.ok(await helpdeskLink.isVisible(), 'the links in a row');
  const [home, pay] = await Promise.all([page.locator('#nav-main').getByRole('link', { name: 'Home' }).boundingBox(), page.locator('#nav-main').getByRole('link', { name: 'Paga un avviso' }).boundingBox()]);
  t.ok(home && pay && Math.abs(home.y - pay.y) < 2 && pay.x > home.x, 'on one line');
  await s.check(page, 'header-1280');
  await ctx.close();
  t.same(s.scriptErrors, [], 'the menu’s scripts loaded and ran without errors');
  for (const [page, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${page}`);
});
