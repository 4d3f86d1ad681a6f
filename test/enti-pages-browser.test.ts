/**
 * The pages of #14 §5 in headless Chromium at 1280 and 390 px: the comune page (address,
 * telephone, "Paga un avviso" with the comune chosen), the page of a comune not on the portal, the
 * ente admin page with its API keys, the page showing a new key, and /admin/ruoli. Each is checked
 * with axe-core (WCAG 2.1 A/AA) and the layout checks (visible field boundaries, no overlapping
 * text); screenshots under test-output/e2e/.
 */
import t from 'tap';
import { demoUserFiscalCodes } from '../src/modules/enti/demo-seed.js';
import { createApiKey, authenticateApiKey } from '../src/modules/users/repository.js';
import { loginAs } from './helpers.js';
import { comune } from './portal/fixtures.js';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from './e2e/browser.js';
import { layoutProblems, type LayoutProblem } from './e2e/layout-check.js';
import { e2eApp } from './e2e/setup.js';

t.test('comune, join and admin pages in Chromium', { skip: chromiumAvailable() ? false : 'no Chromium' }, async (t) => {
  const { app, base } = await e2eApp(t);
  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const cb = await comune(app, 'Campobasso');
  const te = await comune(app, 'Termoli');
  const used = await createApiKey(app.db, te.id, 'Gestionale tributi', { actor: 'test' });
  await authenticateApiKey(app.db, used.key);
  const layout: Record<string, LayoutProblem[]> = {};

  for (const width of PAGE_WIDTHS) {
    const { ctx, page } = await s.context(width);
    const check = async (name: string) => {
      await s.check(page, `h3-${name}-${width}`);
      layout[`${name} @${width}`] = await layoutProblems(page);
    };

    // "Paga un avviso" from the comune page: the comune arrives chosen.
    await page.goto(`${base}/comuni/${cb.ipaCode}`);
    await check('comune');
    t.ok(await page.getByText('Piazza del Municipio 1, 86100 Campobasso').isVisible(), 'address shown');
    await page.getByTestId('pay-notice-link').click();
    await page.waitForURL(/\/paga-avviso\?ente=/);
    t.equal(await page.locator('select[name="ente"]').inputValue(), String(cb.id), 'the comune is preselected');
    await check('pay-notice-preselected');

    // A non-member comune, reached from the home's list.
    await page.goto(`${base}/`);
    await page.getByTestId('other-comuni').getByRole('link', { name: 'Comune di Acquaviva Collecroce' }).click();
    await page.waitForURL(/\/comuni\/c_/);
    t.ok(await page.getByRole('heading', { name: 'Il tuo comune vuole aderire?' }).isVisible());
    await check('join');

    // The SAEL admin: API keys of Termoli, a new key, global roles.
    const [name, value] = (await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'sael_admin')!.fiscalCode)).split(/=(.*)/s) as [string, string];
    await ctx.addCookies([{ name, value, url: base }]);
    await page.goto(`${base}/admin/enti/${te.id}`);
    await check('ente-admin');
    await page.locator('#f-keyLabel').fill(`Gestionale ${width}`);
    await page.getByRole('button', { name: 'Crea una chiave' }).click();
    await page.waitForURL(/\/chiavi-api$/);
    const key = (await page.getByTestId('api-key').inputValue()).trim();
    t.match(key, /^sael_/, 'the new key is shown');
    await check('api-key-created');
    await page.getByRole('link', { name: /torna all’ente/ }).click();
    t.notOk(await page.getByText(key).count(), 'and never again');
    await page.goto(`${base}/admin/ruoli`);
    await check('roles');
    await ctx.close();
  }

  t.same(Object.fromEntries(Object.entries(s.axeResults).filter(([, v]) => v.length)), {}, 'no axe-core violations');
  t.same(Object.fromEntries(Object.entries(layout).filter(([, v]) => v.length)), {}, 'no layout problems');
  t.same(s.thirdParty, [], 'no third-party requests');
});
