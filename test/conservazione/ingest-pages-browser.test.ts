/**
 * B2 pages in headless Chromium at 1280 and 390 px: the back-office versamento form (filled and
 * sent with a real file: the result page with its esito table), the profiles list and a profile's
 * edit form. axe WCAG 2.1 A/AA at 1280, the layout checks at both widths, screenshots under
 * test-output/e2e/conservazione-b2-*.png.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loginAs } from '../helpers.js';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from '../e2e/browser.js';
import { layoutProblems } from '../e2e/layout-check.js';
import { e2eApp } from '../e2e/setup.js';
import { addUser, comune } from '../catalogue/adesioni-fixtures.js';
import { PDF } from './ingest-fixtures.js';

t.setTimeout(300_000);

t.test('conservazione versamento and profiles pages in Chromium', { skip: chromiumAvailable() ? false : 'chromium not installed', timeout: 300_000 }, async (t) => {
  const { app, base } = await e2eApp(t);
  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const termoli = await comune(app, 'Termoli');
  const cookieOf = async (fiscalCode: string) => {
    const [name, value] = (await loginAs(app, fiscalCode)).split(/=(.*)/s) as [string, string];
    return { name, value, url: base };
  };
  const operator = await addUser(app, 'operator', termoli.id);
  const admin = await addUser(app, 'sael_admin', null);
  const dir = fs.mkdtempSync(path.join(app.config.dataDir, 'upload-'));
  const pdfFile = path.join(dir, 'determina-12.pdf');
  fs.writeFileSync(pdfFile, PDF);

  for (const width of PAGE_WIDTHS) {
    const { ctx, page } = await s.context(width);
    const axe = width === 1280;
    await ctx.addCookies([await cookieOf(operator)]);
    const form = `/backoffice/enti/${termoli.id}/conservazione/versamento`;
    t.equal((await page.goto(`${base}${form}`))?.status(), 200);
    t.same(await layoutProblems(page), [], `layout at ${width}: form`);
    await s.check(page, `conservazione-b2-versamento-${width}`, { axe });

    // Sent empty: the Italian messages on the page.
    await page.getByRole('button', { name: 'Versa in conservazione' }).click();
    await page.waitForLoadState('load');
    t.match(await page.locator('.alert-danger').innerText(), /Scegli il profilo/);
    t.same(await layoutProblems(page), [], `layout at ${width}: form with errors`);
    await s.check(page, `conservazione-b2-versamento-errori-${width}`, { axe });

    await page.selectOption('#f-profilo', 'determina');
    await page.fill('#f-identificativo', `DET-12-${width}`);
    await page.fill('#f-oggetto', 'Affidamento del servizio di manutenzione del verde pubblico');
    await page.fill('#f-dataDocumento', '2026-03-01');
    await page.fill('#f-numeroDocumento', '12');
    await page.setInputFiles('#f-principale', pdfFile);
    await page.getByRole('button', { name: 'Versa in conservazione' }).click();
    await page.waitForLoadState('load');
    t.match(await page.locator('h2').first().innerText(), /Esito del versamento/);
    t.match(await page.locator('.alert-success').innerText(), /Documento accettato/);
    t.equal(await page.getByRole('link', { name: 'Scarica il rapporto di versamento (XML)' }).count(), 1);
    t.same(await layoutProblems(page), [], `layout at ${width}: result`);
    await s.check(page, `conservazione-b2-esito-${width}`, { axe });

    await ctx.clearCookies();
    await ctx.addCookies([await cookieOf(admin)]);
    for (const [name, url] of [
      ['profili', '/admin/conservazione/profili'],
      ['profilo-determina', '/admin/conservazione/profili/determina'],
    ] as const) {
      t.equal((await page.goto(`${base}${url}`))?.status(), 200, url);
      t.same(await layoutProblems(page), [], `layout at ${width}: ${name}`);
      await s.check(page, `conservazione-b2-${name}-${width}`, { axe });
    }
    await ctx.close();
  }
  for (const [p, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${p}`);
  t.same(s.thirdParty, [], 'no third-party requests');
});
