/**
 * E2E (b) in headless Chromium: SPID login through the test IdP, a cart with two notices of two
 * comuni, payment on the Checkout simulator with a late receipt: the outcome page says "in corso"
 * and updates by itself; then both notices show as paid with their receipts. axe-core WCAG 2.1
 * A/AA on every page (position, history, profile and 320 px: idor.test.ts, to keep each file short).
 */
import t from 'tap';
import { chromiumAvailable, e2eSession } from './browser.js';
import { e2eApp } from './setup.js';

t.test('(b) SPID login, cart of two notices of two comuni, pay, both paid with receipts', { skip: chromiumAvailable() ? false : 'chromium not installed (.ci/run installs it)' }, async (t) => {
  const { base, lucia, positions } = await e2eApp(t);
  const { tari, mensa } = positions;
  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const { ctx, page } = await s.context();

  await s.spidLogin(page, lucia.fiscalCode, '/area-personale', true);
  await page.getByRole('heading', { name: 'Da pagare', exact: true }).waitFor();
  await s.check(page, 'b1-area-personale');
  await page.locator(`label[for="o${tari.options[1]!.id}"]`).click();
  await page.locator(`label[for="o${mensa.options[0]!.id}"]`).click();
  await page.getByRole('button', { name: 'Aggiungi al carrello' }).click();
  await page.waitForURL(/\/carrello/);
  await t.resolveMatch(page.locator('caption').first().textContent(), /2 di 5/);
  await t.resolveMatch(page.getByTestId('cart-total').textContent(), /136,00/);
  await s.check(page, 'b2-cart');
  await page.getByRole('button', { name: /^Paga .* con pagoPA$/ }).click();
  await page.waitForURL(/\/simulators\/pagopa\/checkout\/carrello\//);
  // "Esito in attesa": the receipts arrive 3 s after the return.
  await page.locator('label[for="o-timeout"]').click();
  await page.getByRole('button', { name: 'Conferma' }).click();
  await page.waitForURL(/\/pagamento\/esito\/[0-9a-f-]+\?esito=attesa/);
  await page.getByRole('heading', { name: 'Pagamento in corso' }).waitFor();
  await s.check(page, 'b3-outcome-in-corso');
  // No manual reload: the page polls and updates itself.
  await page.getByRole('heading', { name: 'Pagamento effettuato' }).waitFor({ timeout: 30_000 });
  t.equal(await page.getByRole('link', { name: /Scarica la ricevuta/ }).count(), 2, 'two receipts');
  await s.check(page, 'b4-outcome-paid');

  await page.goto(`${base}/area-personale`);
  const paid = page.locator('#pagati');
  await t.resolveMatch(paid.textContent(), /TARI 2026 – Lucia[\s\S]*Rata 1 di 3/);
  await t.resolveMatch(paid.textContent(), /Mensa scolastica aprile – Lucia/);
  const receipts = paid.getByRole('link', { name: /Ricevuta/ });
  t.equal(await receipts.count(), 2, 'both paid, each with its receipt');
  for (const href of await receipts.evaluateAll((els) => els.map((e) => e.getAttribute('href')))) {
    const pdf = await page.request.get(`${base}${href}`);
    t.equal(pdf.headers()['content-type'], 'application/pdf', String(href));
  }
  await s.check(page, 'b5-area-paid');
const notice = await page.request.get(`${base}/area-personale/avvisi/${tari.options[2]!.id}.pdf`);
t.equal(notice.headers()['content-type'], 'application/pdf', 'notice PDF of a remaining installment');
await ctx.close();

  t.same(s.thirdParty, [], 'no third-party requests');
  t.same(s.scriptErrors, [], 'no script errors');
  for (const [name, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${name}`);
});
