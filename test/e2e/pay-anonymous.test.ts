/**
 * E2E (a) in headless Chromium: an anonymous citizen pays a notice by its number through the
 * Checkout simulator (which calls our station back over real SOAP) and downloads the receipt.
 * Also: the notice flow and the cart without JavaScript, technical cookies only, no third-party
 * requests, axe-core WCAG 2.1 A/AA on every page.
 */
import t from 'tap';
import { chromiumAvailable, e2eSession } from './browser.js';
import { e2eApp } from './setup.js';
import { comune } from '../portal/fixtures.js';

t.test('(a) anonymous: pay a notice by number, see the receipt', { skip: chromiumAvailable() ? false : 'chromium not installed (.ci/run installs it)' }, async (t) => {
  const { app, base, positions } = await e2eApp(t);
  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const { ctx, page } = await s.context();

  await page.goto(`${base}/`);
  await s.check(page, 'a1-home');
  await page.getByLabel('Codice avviso').first().fill(positions.anonNotice.options[0]!.noticeNumber.replace(/(\d{4})/g, '$1 '));
  await page.locator('#home-ente').selectOption({ label: 'Riccia' });
  await page.getByRole('button', { name: 'Verifica l’avviso' }).first().click();
  await page.waitForURL(/\/paga-avviso\?/);
  await t.resolveMatch(page.getByTestId('notice-amount').textContent(), /73,50/);
  await s.check(page, 'a2-notice');
  await page.getByRole('button', { name: 'Paga ora con pagoPA' }).click();
  await page.waitForURL(/\/simulators\/pagopa\/checkout\/carrello\//);
  await s.check(page, 'a3-checkout-simulator');
  await page.locator('label[for="o-success"]').click();
  await page.getByRole('button', { name: 'Conferma' }).click();
  await page.waitForURL(/\/pagamento\/esito\/[0-9a-f-]+\?esito=ok/);
  await page.getByRole('heading', { name: 'Pagamento effettuato' }).waitFor();
  await s.check(page, 'a4-outcome');
  const href = await page.getByRole('link', { name: /Scarica la ricevuta/ }).getAttribute('href');
  const pdf = await page.request.get(`${base}${href}`);
  t.equal(pdf.status(), 200);
  t.equal(pdf.headers()['content-type'], 'application/pdf');
  t.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-', 'the receipt PDF');
  t.match(await page.getByTestId('check-later').textContent(), `${base}/pagamento/esito/`, 'the email-free link to check later');

  // A wrong check digit gives the Italian message, in place.
  const nav = positions.anonNotice.options[0]!.noticeNumber;
  await page.goto(`${base}/paga-avviso?codiceAvviso=${nav.slice(0, 16)}${nav.slice(16) === '00' ? '01' : '00'}&ente=`);
  await t.resolveMatch(page.locator('#codiceAvviso-error').textContent(), /cifre di controllo non corrispondono/);
  await s.check(page, 'a5-notice-error');
  const cookies = await ctx.cookies();
  t.same(cookies.filter((c) => !['sael_sid', 'sael_saml'].includes(c.name)), [], 'technical cookies only');
  await ctx.close();

  // Without JavaScript: look up a notice, put it in the cart, reach Checkout.
  const noJs = await s.browser.newContext({ javaScriptEnabled: false });
  const p2 = await noJs.newPage();
  await p2.goto(`${base}/paga-avviso?codiceAvviso=${positions.tari.options[3]!.noticeNumber}&ente=${(await comune(app, 'Campobasso')).id}`);
  await p2.getByRole('button', { name: 'Aggiungi al carrello' }).click();
  await p2.waitForURL(/\/carrello/);
  await t.resolveMatch(p2.locator('caption').first().textContent(), /1 di 5/);
  await p2.getByRole('button', { name: /^Paga .* con pagoPA$/ }).click();
  await p2.waitForURL(/\/simulators\/pagopa\/checkout\/carrello\//);
  await noJs.close();

  t.same(s.thirdParty, [], 'no third-party requests');
  t.same(s.scriptErrors, [], 'no script errors');
  for (const [name, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${name}`);
});
