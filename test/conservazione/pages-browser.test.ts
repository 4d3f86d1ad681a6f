/**
 * The ente's conservazione pages (part E) in headless Chromium at 1280 and 390 px: axe WCAG 2.1
 * A/AA at 1280, the layout checks at both widths, screenshots under
 * test-output/e2e/conservazione-ente-*.png. One browser, one context per width (the session
 * cookie swapped between users), the search form submitted without JavaScript.
 */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { enti } from '../../src/modules/enti/schema.js';
import { loginAs } from '../helpers.js';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from '../e2e/browser.js';
import { layoutProblems } from '../e2e/layout-check.js';
import { e2eApp } from '../e2e/setup.js';
import { preserve, type FixtureDoc } from './ente-fixtures.js';

const who = (role: string, istat?: string) => demoUserFiscalCodes().find((u) => u.role === role && (istat === undefined || u.enteIstat === istat))!.fiscalCode;

t.setTimeout(300_000);

t.test('conservazione ente pages in Chromium', { skip: chromiumAvailable() ? false : 'chromium not installed', timeout: 300_000 }, async (t) => {
  const { app, base } = await e2eApp(t);
  const cb = (await app.db.select().from(enti).where(eq(enti.istatCode, '070006')).limit(1))[0]!;
  const xml = (n: number) => ({ name: `rt-${n}.xml`, bytes: Buffer.from(`<RT><n>${n}</n></RT>`), mime: 'application/xml' });
  const pdf = (n: number) => ({ name: `ricevuta-di-pagamento-con-un-nome-lungo-${n}.pdf`, bytes: Buffer.from(`%PDF-1.7\n% ${n}\n%%EOF\n`), mime: 'application/pdf' });
  const docs: FixtureDoc[] = Array.from({ length: 23 }, (_, i) => ({
    oggetto: `Ricevuta del pagamento IUV 0100000000000${String(i).padStart(2, '0')} – TARI 2026 rata ${(i % 3) + 1}`,
    docDate: `2026-0${(i % 9) + 1}-1${i % 10}`,
    iuv: `0100000000000${String(i).padStart(2, '0')}`,
    files: [xml(i), pdf(i)],
    receivedAt: new Date(Date.UTC(2026, 10, 10, 8, i)).toISOString(),
  }));
  const { sipIds, aipId } = await preserve(app, cb.id, docs.slice(0, 3), { archive: true });
  await preserve(app, cb.id, docs.slice(3));
  const rejected = await preserve(app, cb.id, [
    {
      profileCode: 'determina',
      oggetto: 'Determina dirigenziale n. 42/2026 – affidamento del servizio di manutenzione',
      docDate: '2026-05-06',
      files: [{ name: 'determina-42-2026-firmata-digitalmente.pdf.p7m', bytes: Buffer.from('x'), mime: 'application/pkcs7-mime' }],
      rejected: { code: 'HASH_MISMATCH', message: 'L’impronta SHA-256 calcolata sul file determina-42-2026-firmata-digitalmente.pdf.p7m non corrisponde a quella dichiarata.' },
    },
  ]);
  const b = `/backoffice/enti/${cb.id}/conservazione`;
  const pages: [string, string, string][] = [
    ['overview', b, who('operator', '070006')],
    ['search', `${b}?profilo=ricevuta-pagopa&dal=2026-01-01&al=2026-12-31&oggetto=TARI`, who('operator', '070006')],
    ['pdv-list', `${b}/pdv`, who('helpdesk')],
    ['pdv', `${b}/pdv/${sipIds[0]}`, who('operator', '070006')],
    ['pdv-rejected', `${b}/pdv/${rejected.sipIds[0]}`, who('sael_admin')],
    ['pda-list', `${b}/pda`, who('operator', '070006')],
    ['pda', `${b}/pda/${aipId}`, who('operator', '070006')],
  ];
  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  for (const width of PAGE_WIDTHS) {
    const { ctx, page } = await s.context(width);
    let current = '';
    for (const [name, path, user] of pages) {
      if (user !== current) {
        await ctx.clearCookies();
        const [cname, value] = (await loginAs(app, user)).split(/=(.*)/s) as [string, string];
        await ctx.addCookies([{ name: cname, value, url: base }]);
        current = user;
      }
      const res = await page.goto(`${base}${path}`);
      t.equal(res?.status(), 200, `${path} answers 200`);
      t.same(await layoutProblems(page), [], `layout at ${width}: ${name}`);
      await s.check(page, `conservazione-ente-${name}-${width}`, { axe: width === 1280 });
    }
    if (width === 1280) {
      // The search form works without JavaScript (a plain GET), and paging keeps the filters.
      await ctx.clearCookies();
      const [cname, value] = (await loginAs(app, who('operator', '070006'))).split(/=(.*)/s) as [string, string];
      await ctx.addCookies([{ name: cname, value, url: base }]);
      await page.goto(`${base}${b}`);
      await page.fill('#f-oggetto', 'rata 2');
      await page.getByRole('button', { name: 'Cerca' }).click();
      await page.waitForURL(/oggetto=rata\+2/);
      t.match(await page.locator('caption').first().textContent(), /8 documenti trovati/);
      await page.goto(`${base}${b}`);
      await page.getByRole('link', { name: 'Successiva' }).click();
      await page.waitForURL(/pagina=2/);
      t.match(await page.locator('caption').first().textContent(), /pagina 2 di 2/);
    }
    await ctx.close();
  }
  for (const [p, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${p}`);
  t.same(s.thirdParty, [], 'no third-party requests');
});
