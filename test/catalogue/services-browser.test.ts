/**
 * The catalogue's pages in headless Chromium at 1280 and 390 px: axe WCAG 2.1 A/AA, the layout
 * checks (visible field boundaries, no label over other text), screenshots under
 * test-output/e2e/catalogue-*.png. Public pages anonymous and as an ente user; the admin's
 * services and listino pages.
 */
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { loginAs } from '../helpers.js';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from '../e2e/browser.js';
import { layoutProblems } from '../e2e/layout-check.js';
import { e2eApp } from '../e2e/setup.js';

const who = (role: string, istat?: string) => demoUserFiscalCodes().find((u) => u.role === role && (istat === undefined || u.enteIstat === istat))!.fiscalCode;

// 12 pages at two widths with axe: 40-120 s, more on a loaded machine (the default file timeout is 120 s).
t.setTimeout(480_000);

t.test('catalogue pages in Chromium', { skip: chromiumAvailable() ? false : 'chromium not installed', timeout: 480_000 }, async (t) => {
  const { app, base } = await e2eApp(t);
  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const cookieOf = async (fiscalCode: string) => {
    const [name, value] = (await loginAs(app, fiscalCode)).split(/=(.*)/s) as [string, string];
    return { name, value, url: base };
  };
  const pages: [string, string, string | null][] = [
    ['servizi', '/servizi', null],
    ['servizi-filtro', '/servizi?area=consulenza-tecnica&tipo=specialistico', null],
    ['scheda-8', '/servizi/8', null],
    ['scheda-6-ente', '/servizi/6', who('ente_admin')],
    ['scheda-19-ente', '/servizi/19', who('operator', '070006')],
    ['admin-servizi', '/admin/catalogo/servizi', who('sael_admin')],
    ['admin-servizio-8', '/admin/catalogo/servizi/8', who('sael_admin')],
    ['admin-listini', '/admin/catalogo/listini', who('sael_admin')],
    ['admin-listino-1', '/admin/catalogo/listini/1', who('sael_admin')],
    ['admin-prezzi-6', '/admin/catalogo/listini/1/servizi/6', who('sael_admin')],
    ['admin-classi', '/admin/catalogo/classi', who('sael_admin')],
    ['admin-override', '/admin/catalogo/listini/override', who('sael_admin')],
  ];
  // One context per width (its cache keeps Bootstrap Italia's CSS and JS); the session cookie is swapped per page.
  for (const width of PAGE_WIDTHS) {
    const { ctx, page } = await s.context(width);
    for (const [name, path, user] of pages) {
      await ctx.clearCookies();
      if (user) await ctx.addCookies([await cookieOf(user)]);
      const res = await page.goto(`${base}${path}`);
      t.equal(res?.status(), 200, `${path} answers 200`);
      t.same(await layoutProblems(page), [], `layout at ${width}: ${name}`);
      await s.check(page, `catalogue-${name}-${width}`, { axe: width === 1280 });
    }
    await ctx.close();
  }
  // The filter form works without JavaScript: a plain GET submission.
  const { ctx, page } = await s.context(1280);
  await page.goto(`${base}/servizi`);
  await page.selectOption('#filtro-tipo', 'base');
  await page.getByRole('button', { name: 'Filtra' }).click();
  await page.waitForURL(/tipo=base/);
  t.equal(await page.locator('.catalogue-card').count(), 4);
  await ctx.close();
  for (const [p, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${p}`);
  t.same(s.thirdParty, [], 'no third-party requests');
});
