/**
 * The notifications pages in headless Chromium at 1280 and 390 px: the App IO simulator with a
 * citizen's messages (payment data, "Paga" leading to the notice), the citizen's preferences, the
 * e-mails' unsubscribe link (asked, then done), the ente's App IO service with "Prova la chiave", the helpdesk log. Each is checked with axe-core
 * (WCAG 2.1 A/AA) and the layout checks; screenshots under test-output/e2e/.
 */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { enteIoServices, notificationPreferences } from '../../src/modules/notifications/schema.js';
import { users } from '../../src/modules/users/schema.js';
import { upsertUser } from '../../src/modules/users/repository.js';
import { loginAs } from '../helpers.js';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from '../e2e/browser.js';
import { layoutProblems, type LayoutProblem } from '../e2e/layout-check.js';
import { e2eApp } from '../e2e/setup.js';

t.test('notifications pages in Chromium', { skip: chromiumAvailable() ? false : 'no Chromium' }, async (t) => {
  const { app, base, lucia, positions } = await e2eApp(t);
  await app.notificationsTick();
  await upsertUser(app.db, lucia, { actor: 'test' });
  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const termoli = (await app.db.select().from(enteIoServices).where(eq(enteIoServices.serviceId, 'DEMO-IO-070078')).limit(1))[0]!;
  const staff = (role: string, istat: string | null) => demoUserFiscalCodes().find((u) => u.role === role && u.enteIstat === istat)!.fiscalCode;
  const layout: Record<string, LayoutProblem[]> = {};
  const tariNotice = positions.tari.options[0]!.noticeNumber;

  for (const width of PAGE_WIDTHS) {
    const { ctx, page } = await s.context(width);
    const check = async (name: string) => {
      await s.check(page, `notif-${name}-${width}`);
      layout[`${name} @${width}`] = await layoutProblems(page);
    };
    const signIn = async (fiscalCode: string) => {
      await ctx.clearCookies();
      const [name, value] = (await loginAs(app, fiscalCode)).split(/=(.*)/s) as [string, string];
      await ctx.addCookies([{ name, value, url: base }]);
    };

    // The simulator: Lucia's inbox, her TARI with its payment data; "Paga" opens the notice.
    await page.goto(`${base}/simulators/io?cf=${lucia.fiscalCode}`);
    await check('io-simulator');
    const card = page.getByRole('article', { name: /TARI/ });
    t.ok(await card.isVisible(), 'the TARI message is shown');
    t.ok(await card.getByText('Avviso pagoPA').isVisible(), 'with its payment data');
    await card.getByRole('link', { name: /^Paga/ }).click();
    await page.waitForURL(/\/paga-avviso\?/);
    t.ok(await page.getByText(tariNotice.replace(/(\d{4})(?=\d)/g, '$1 ')).count() + (await page.getByText(tariNotice).count()) > 0, 'the notice page shows that notice');

    // Lucia's preferences.
    await signIn(lucia.fiscalCode);
    await page.goto(`${base}/area-personale/notifiche`);
    await check('preferences');
    await page.locator('label[for="n-email"]').click();
    await page.locator('#n-address').fill(`lucia.${width}@example.org`);
    await page.getByRole('button', { name: 'Salva le preferenze' }).click();
    await page.waitForURL(/\/area-personale\/notifiche$/);
    t.ok(await page.getByText(/Ti abbiamo scritto a lucia\./).isVisible(), 'confirmation requested');
    await check('preferences-saved');

    // The e-mails' unsubscribe link, once her address is confirmed: asked, then done.
    const token = `disiscrizione-${width}-abcdefghijklmnop`;
    const luciaId = (await app.db.select({ id: users.id }).from(users).where(eq(users.fiscalCode, lucia.fiscalCode)).limit(1))[0]!.id;
    await app.db.update(notificationPreferences).set({ email: true, emailConfirmedAt: new Date().toISOString(), emailUnsubscribeToken: token }).where(eq(notificationPreferences.userId, luciaId));
    await ctx.clearCookies();
    await page.goto(`${base}/notifiche/disiscrizione?token=${token}`);
    await check('unsubscribe');
    await page.getByRole('button', { name: 'Non ricevere più le e-mail' }).click();
    await page.getByText(/non riceverà più e-mail/).waitFor();
    await check('unsubscribed');
    t.equal((await app.db.select().from(notificationPreferences).where(eq(notificationPreferences.userId, luciaId)).limit(1))[0]!.email, false, 'e-mails off');

    // The ente admin of Termoli: the App IO service, "Prova la chiave".
    await signIn(staff('ente_admin', '070078'));
    await page.goto(`${base}/backoffice/enti/${termoli.enteId}/app-io`);
    await check('app-io');
    await page.getByRole('button', { name: 'Prova la chiave' }).click();
    await page.getByText(/Chiave accettata da App IO/).waitFor();
    await check('app-io-tested');

    // The helpdesk log.
    await signIn(staff('helpdesk', null));
    await page.goto(`${base}/helpdesk/notifiche`);
    await check('helpdesk-log');
    t.ok(await page.getByRole('rowheader', { name: /Nuovo avviso/ }).first().isVisible(), 'the messages are listed');
    await ctx.close();
  }

  t.same(Object.fromEntries(Object.entries(s.axeResults).filter(([, v]) => v.length)), {}, 'no axe-core violations');
  t.same(Object.fromEntries(Object.entries(layout).filter(([, v]) => v.length)), {}, 'no layout problems');
  t.same(s.thirdParty, [], 'no third-party requests');
});
