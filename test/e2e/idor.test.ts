/**
 * E2E (c) in headless Chromium: a logged-in citizen can neither see nor pay another person's
 * position, notice PDF or receipt by URL (each answers 404, as if it did not exist). Then the
 * other pages of the personal area (position, history, profile; 320 px) with axe-core.
 */
import t from 'tap';
import { sqlGet } from '../../src/db/raw.js';
import { chromiumAvailable, e2eSession } from './browser.js';
import { e2eApp } from './setup.js';

t.test('(c) IDOR: another citizen cannot see or pay Lucia’s position by URL', { skip: chromiumAvailable() ? false : 'chromium not installed (.ci/run installs it)' }, async (t) => {
  const { app, base, antonio, positions } = await e2eApp(t);
  const { tari } = positions;
  // Lucia pays her first installment at a PSP: she now has a receipt.
  const psp = await fetch(`${base}/simulators/pagopa/psp`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ fiscalCode: tari.options[1]!.transfers[0]!.fiscalCodePA, noticeNumber: tari.options[1]!.noticeNumber, primitive: 'v2' }).toString(),
  });
  t.equal(psp.status, 200);
  const receipt = (await sqlGet(app.db, 'SELECT id FROM receipts WHERE option_id = ? AND id_pa = fiscal_code', tari.options[1]!.id)) as { id: number };
  t.ok(receipt, 'Lucia’s receipt exists');

  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const { ctx, page } = await s.context();
  await s.spidLogin(page, antonio.fiscalCode, '/area-personale');
  const main = (await page.locator('main').textContent()) ?? '';
  t.match(main, /Canone unico 2026 – insegna/, 'his own position');
  t.notMatch(main, /Lucia/, 'her positions are not listed');
  const res = await page.goto(`${base}/area-personale/posizioni/${tari.id}`);
  t.equal(res?.status(), 404, 'her position page');
  await t.resolveMatch(page.locator('h1').textContent(), /Pagina non trovata/);
  await s.check(page, 'c1-idor-404');
  t.equal((await page.request.get(`${base}/area-personale/avvisi/${tari.options[2]!.id}.pdf`)).status(), 404, 'her notice PDF');
  t.equal((await page.request.get(`${base}/ricevute/${receipt.id}.pdf`)).status(), 404, 'her receipt');
  await page.goto(`${base}/area-personale`);
  const token = await page.locator('input[name="_csrf"]').first().inputValue();
  const status = await page.evaluate(
    async ([url, body]) => (await fetch(url!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' })).status,
    [`${base}/carrello/aggiungi`, `_csrf=${encodeURIComponent(token)}&azione=paga&opzione=${tari.options[2]!.id}`],
  );
  t.equal(status, 404, 'paying her installment by id is refused');
  t.equal(((await sqlGet(app.db, 'SELECT count(*) AS n FROM checkout_cart_items WHERE option_id = ?', tari.options[2]!.id)) as { n: number }).n, 0, 'no cart was created');
  // The other pages of the personal area, with axe, and at 320 px without horizontal scrolling.
  const own = positions.anonNotice;
  for (const [name, url] of [['c2-position', `/area-personale/posizioni/${own.id}`], ['c3-history', '/area-personale/storico'], ['c4-profile', '/area-personale/profilo']] as const) {
    await page.goto(`${base}${url}`);
    await s.check(page, name);
  }
  await page.setViewportSize({ width: 320, height: 800 });
  for (const url of ['/area-personale', `/area-personale/posizioni/${own.id}`, '/carrello', '/', '/paga-avviso']) {
    await page.goto(`${base}${url}`);
    t.equal(await page.evaluate(() => document.documentElement.scrollWidth), 320, `no horizontal scrolling at 320 px: ${url}`);
  }
  await page.goto(`${base}/area-personale`);
  await s.check(page, 'c5-area-320');
  await ctx.close();
  t.same(s.thirdParty, [], 'no third-party requests');
  for (const [name, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${name}`);
});
