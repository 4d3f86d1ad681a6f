/**
 * E2E layout guard in headless Chromium: every public, citizen and staff page, at 1280 and 390 px,
 * has no form control without a visible boundary and no label printed over a heading, another
 * label or a control (see layout-check.ts; axe-core does not see either). The staff pages are
 * visited signed in as each demo role (the citizen through the test IdP, staff with a session
 * as the login leaves it), with data on them: a paid notice, a
 * flow with an unknown row (an anomaly), an unmatched treasury credit, a ticket linked to a
 * payment, the new-position form with its validation errors, a cart with two notices.
 * One browser, one page for every user and both widths. Set E2E_SHOTS=1 (and tap --timeout=600) to keep a screenshot
 * of every page under test-output/e2e/layout/; pages with problems are always shot.
 */
import path from 'node:path';
import fs from 'node:fs';
import t from 'tap';
import { sqlGet } from '../../src/db/raw.js';
import type { Page } from 'playwright-core';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { ingestFlowXml, importStatement } from '../../src/modules/helpdesk/reconcile.js';
import { loginAs } from '../helpers.js';
import { comune } from '../portal/fixtures.js';
import { flowXml, paidTari } from '../helpdesk/helpers.js';
import { axe, chromiumAvailable, e2eSession, launch, PAGE_WIDTHS, SHOTS_DIR } from './browser.js';
import { layoutProblems, type LayoutProblem } from './layout-check.js';
import { e2eApp } from './setup.js';

// ~100 page views: 20-50 s on a quiet machine, up to ~2 min on a loaded one (the default file
// timeout is 120 s).
t.setTimeout(360_000);

const WIDTHS = PAGE_WIDTHS;
const SHOTS = path.join(SHOTS_DIR, 'layout');

t.test('layout: every control has a visible boundary and no label overlaps, at 1280 and 390 px', { skip: chromiumAvailable() ? false : 'chromium not installed (.ci/run installs it)' }, async (t) => {
  const { app, base, lucia, positions } = await e2eApp(t);
  const users = demoUserFiscalCodes();
  const role = (r: string, istat?: string) => users.find((u) => u.role === r && (istat === undefined || u.enteIstat === istat))!.fiscalCode;
  const cb = await comune(app, 'Campobasso');
  const te = await comune(app, 'Termoli');
  const recon = { db: app.db };

  // Data for the detail pages.
  const tData = Date.now();
  const paid = await paidTari(app);
  const optionId = ((await sqlGet(app.db, 'SELECT id FROM payment_options WHERE notice_number = ?', paid.options[0]!.noticeNumber)) as { id: number }).id;
  const flow = await ingestFlowXml(recon, {
      xml: flowXml({ flowId: `${new Date().toISOString().slice(0, 10)}SIMPSP01-0000000042`, cf: cb.fiscalCode, rows: [{ iuv: '01000000000777777', iur: 'IUR-IGNOTO', amountCents: 5000 }] }),
      source: 'upload',
      actor: 'test',
      allowedEnti: 'all',
    });
  const flowRowId = flow.status === 'imported' ? flow.result.flowRowId : flow.flowRowId;
  const anomalyId = ((await sqlGet(app.db, 'SELECT id FROM anomalies ORDER BY id LIMIT 1')) as { id: number }).id;
  const iban = ((await sqlGet(app.db, 'SELECT iban FROM ente_ibans WHERE ente_id = ? LIMIT 1', cb.id)) as { iban: string }).iban;
  const today = new Date().toLocaleDateString('it-IT', { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'Europe/Rome' });
  await importStatement(recon, {
    enteId: cb.id,
    bytes: Buffer.from(`data_contabile;data_valuta;id_movimento;segno;importo;causale;iban\n${today};${today};MOV-LAYOUT-1;C;50,00;/PUR/LGPE-RIVERSAMENTO/URI/2026-01-01SIMPSP01-0000009999;${iban}\n`),
    fileName: 'giornale.csv',
    actor: 'test',
  });
  const serviceId = ((await sqlGet(app.db, 'SELECT id FROM payment_services WHERE ente_id = ? ORDER BY id LIMIT 1', te.id)) as { id: number }).id;
  const position = positions.tari;

  if (process.env.E2E_TIMING) console.error(`data: ${Date.now() - tData} ms`);
  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  fs.mkdirSync(SHOTS, { recursive: true });
  const found: Record<string, LayoutProblem[]> = {};
  let visited = 0;

  // One page in one context for the whole run (the cache keeps Bootstrap Italia's CSS and JS);
  // the session cookie is swapped to change user.
  const { ctx, page } = await s.context();
  const t0 = Date.now();
  let width: number = WIDTHS[0]!;
  /** Checks the page at both widths (the same document, resized; the current width first). */
  async function check(name: string): Promise<void> {
    const start = Date.now();
    for (const w of width === WIDTHS[0] ? WIDTHS : [...WIDTHS].reverse()) {
      if (w !== width) await page.setViewportSize({ width: (width = w), height: 900 });
      const problems = await layoutProblems(page);
      visited++;
      const url = new URL(page.url());
      found[`${name} ${url.pathname}${url.search} @${w}px`] = problems;
      if (problems.length || process.env.E2E_SHOTS === '1') await page.screenshot({ path: path.join(SHOTS, `${name}-${w}.png`), fullPage: true });
    }
    if (process.env.E2E_TIMING) console.error(`${name}: ${Date.now() - start} ms (t=${Date.now() - t0})`);
  }
  async function visit(name: string, url: string): Promise<void> {
    const res = await page.goto(`${base}${url}`);
    t.ok(res && res.status() < 400, `${name}: ${url} answers ${res?.status()}`);
    await check(name);
  }
  async function visitAll(pages: readonly (readonly [string, string])[]): Promise<void> {
    for (const [name, url] of pages) await visit(name, url);
  }
  /** Signs in as this user with a session as the login leaves it (loginAs). */
  async function signIn(fiscalCode: string): Promise<void> {
    await ctx.clearCookies();
    const [name, value] = (await loginAs(app, fiscalCode)).split(/=(.*)/s) as [string, string];
    await ctx.addCookies([{ name, value, url: base }]);
  }

  // Public pages, signed out.
  await visitAll([
    ['home', '/'],
    ['comune', `/comuni/${cb.ipaCode}`],
    ['spontaneous', `/comuni/${te.ipaCode}/servizi/MENSA`],
    ['pay-notice', '/paga-avviso'],
    ['pay-notice-found', `/paga-avviso?codiceAvviso=${positions.anonNotice.options[0]!.noticeNumber}&cfEnte=${(await comune(app, 'Riccia')).fiscalCode}`],
    ['login', '/accesso'],
    ['cart-empty', '/carrello'],
    ['privacy', '/privacy'],
    ['accessibility', '/accessibilita'],
    ['legal', '/note-legali'],
    ['psp-simulator', '/simulators/pagopa/psp'],
  ]);
  await page.goto(`${base}/pagina-che-non-esiste`);
  await check('not-found');

  // The citizen's personal area, signed in through the test IdP (whose page is checked too).
  await page.goto(`${base}/accesso?next=%2Farea-personale`);
  await page.locator('main summary.button-spid').click();
  await page.getByRole('link', { name: 'IdP di prova (demo)' }).click();
  await page.waitForURL(/\/simulators\/spid-idp\//);
  await check('test-idp');
  await page.locator(`label[for="id-${lucia.fiscalCode}"]`).click();
  await page.getByRole('button', { name: 'Accedi', exact: true }).click();
  await page.waitForURL(`${base}/area-personale`);
  await check('personal-area');
  await visitAll([
    ['position', `/area-personale/posizioni/${position.id}`],
    ['history', '/area-personale/storico'],
    ['profile', '/area-personale/profilo'],
  ]);
  // A cart with two notices of two comuni.
  await page.goto(`${base}/area-personale`);
  await page.locator(`label[for="o${position.options[1]!.id}"]`).click();
  await page.locator(`label[for="o${positions.mensa.options[0]!.id}"]`).click();
  await page.getByRole('button', { name: 'Aggiungi al carrello' }).click();
  await page.waitForURL(/\/carrello/);
  await check('cart');

  // Back office and helpdesk as the Campobasso operator.
  await signIn(role('operator', '070006'));
  const bo = `/backoffice/enti/${cb.id}`;
  await visitAll([
    ['bo-list', `${bo}/posizioni`],
    ['bo-new', `${bo}/posizioni/nuova`],
    ['bo-detail', `${bo}/posizioni/${position.id}`],
    ['bo-edit', `${bo}/posizioni/${position.id}/modifica`],
    ['bo-imports', `${bo}/importazioni`],
    ['bo-csv-layout', `${bo}/importazioni/tracciato`],
    ['hd-op-dashboard', '/helpdesk'],
    ['hd-op-payment', `/helpdesk/pagamenti/${optionId}`],
    ['hd-op-new-ticket', `/helpdesk/ticket/nuovo?collega=payment:${optionId}`],
  ]);
  // A wide table on a phone (public/js/scroll-regions.js): its wrapper is a region named by the
  // caption, reached with Tab and scrolled with the arrow keys; at 1280 px the table fits and the
  // wrapper is no tab stop.
  await page.setViewportSize({ width: (width = 390), height: 900 });
  await page.goto(`${base}${bo}/posizioni`);
  await page.waitForFunction(() => document.querySelector('.table-responsive')?.getAttribute('role') === 'region');
  const region = page.locator('.table-responsive').first();
  const captionId = await region.getAttribute('aria-labelledby');
  t.match(await page.locator(`caption#${captionId}`).textContent(), /posizioni – pagina 1 di/, 'the region is named by the table caption');
  await page.locator('main h1').first().click(); // start tabbing from the top of the page
  let tabs = 0;
  while (!(await region.evaluate((el) => el === document.activeElement)) && tabs++ < 80) await page.keyboard.press('Tab');
  t.ok(tabs < 80, `the table's wrapper is reached with Tab (${tabs} presses)`);
  t.equal(await region.evaluate((el) => el.scrollLeft), 0);
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
  t.ok((await region.evaluate((el) => el.scrollLeft)) > 0, 'the arrow keys scroll it');
  await page.setViewportSize({ width: (width = 1280), height: 900 });
  await page.waitForFunction(() => !document.querySelector('.table-responsive')?.hasAttribute('tabindex'));
  t.equal(await region.getAttribute('role'), null, 'at 1280 px the table fits: no region, no tab stop');

  // The form as it comes back with errors (nothing filled in).
  await page.goto(`${base}${bo}/posizioni/nuova`);
  await page.getByRole('button', { name: 'Crea e pubblica' }).click();
  await page.locator('#form-errors').waitFor();
  await check('bo-new-errors');
  // A ticket on the paid notice, opened through the form.
  await page.goto(`${base}/helpdesk/ticket/nuovo?collega=payment:${optionId}`);
  await page.getByLabel('Oggetto').fill('Ricevuta non arrivata al contribuente');
  await page.getByLabel('Descrizione').fill('Il contribuente dice di aver pagato ma non ha la ricevuta.');
  await page.getByRole('button', { name: 'Apri il ticket' }).click();
  await page.waitForURL(/\/helpdesk\/ticket\/\d+$/);
  await check('hd-op-ticket');
  const ticketId = Number(new URL(page.url()).pathname.split('/').pop());

  // The helpdesk as the provincial helpdesk user (every section, the staff forms).
  await signIn(role('helpdesk'));
  await visitAll([
    ['hd-dashboard', '/helpdesk'],
    ['hd-payments', '/helpdesk/pagamenti'],
    ['hd-payment', `/helpdesk/pagamenti/${optionId}`],
    ['hd-flows', '/helpdesk/flussi'],
    ['hd-flow', `/helpdesk/flussi/${flowRowId}`],
    ['hd-treasury', '/helpdesk/tesoreria'],
    ['hd-anomalies', '/helpdesk/anomalie'],
    ['hd-anomaly', `/helpdesk/anomalie/${anomalyId}`],
    ['hd-ageing', '/helpdesk/anomalie/invecchiamento'],
    ['hd-tickets', '/helpdesk/ticket'],
    ['hd-new-ticket', '/helpdesk/ticket/nuovo'],
    ['hd-ticket', `/helpdesk/ticket/${ticketId}`],
    ['hd-mailbox', '/helpdesk/posta'],
  ]);
  // The dashboard's chart keeps its own width on a phone (scaled down, its 11 px labels were ~5 px)
  // and scrolls sideways in a region the keyboard reaches, named by the section's heading.
  await page.setViewportSize({ width: (width = 390), height: 900 });
  await page.goto(`${base}/helpdesk`);
  await page.waitForFunction(() => document.querySelector('.scroll-x')?.getAttribute('role') === 'region');
  const chart = page.locator('.scroll-x').first();
  t.equal(await chart.getAttribute('aria-labelledby'), 'chart-h', 'the chart region is named by its heading');
  t.equal(await chart.getAttribute('tabindex'), '0', 'and takes the focus');
  t.equal(await chart.locator('img').evaluate((img) => Math.round(img.getBoundingClientRect().width)), 760, 'the chart is drawn at its own width at 390 px');

  // Administration: the province's admin, then Termoli's ente admin.
  await signIn(role('sael_admin'));
  await visitAll([
    ['admin-enti', '/admin/enti'],
    ['admin-new-ente', '/admin/enti/nuovo'],
    ['admin-ente', `/admin/enti/${te.id}`],
    ['admin-edit-ente', `/admin/enti/${te.id}/modifica`],
    ['admin-roles', '/admin/ruoli'],
  ]);
  await signIn(role('ente_admin', '070078'));
  await visitAll([
    ['ente-admin', `/admin/enti/${te.id}`],
    ['ente-admin-new-service', `/admin/enti/${te.id}/servizi/nuovo`],
    ['ente-admin-service', `/admin/enti/${te.id}/servizi/${serviceId}`],
  ]);
  await ctx.close();

  t.ok(visited >= 50 * WIDTHS.length, `${visited} page views checked`);
  t.same(s.scriptErrors, [], 'no script errors on any page');
  for (const [page, problems] of Object.entries(found)) {
    t.same(
      problems.map((p) => `${p.kind}: ${p.what}`),
      [],
      `no invisible control, no overlapping label: ${page}`,
    );
  }
});

t.test('the page checks find what they look for', { skip: chromiumAvailable() ? false : 'chromium not installed (.ci/run installs it)' }, async (t) => {
  const browser = await launch();
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 390, height: 900 } });
  await page.setContent(`<!doctype html><html lang="it"><head><title>Prova</title></head><body><main>
    <h1>Prova</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
    <label for="a">Debitore</label><input id="a" style="border:none;background:transparent">
    <div style="position:relative"><h2 style="margin:0">Sezione</h2><label for="b" style="position:absolute;top:0;left:0">Importo</label><input id="b" type="text" style="border:1px solid #555"></div>
    <div id="wide" style="overflow-x:auto"><table><tr><td style="min-width:500px">Prima</td><td>Fuori schermo</td></tr></table></div>
    <div id="wide-ok" tabindex="0" style="overflow-x:auto"><table><tr><td style="min-width:500px">Prima</td><td>Raggiungibile</td></tr></table></div>
    <div id="wide-img" style="overflow-x:auto"><svg role="img" aria-label="Grafico" width="800" height="20"><rect width="800" height="20" fill="#06c"/></svg></div>
    <ul id="tabs" style="overflow-x:auto;white-space:nowrap;display:flex;gap:2rem;list-style:none"><li><a href="#a">Cruscotto</a></li><li><a href="#b">Pagamenti</a></li><li><a href="#c">Flussi</a></li><li><a href="#d">Tesoreria</a></li><li><a href="#e">Anomalie</a></li><li><a href="#f">Ticket</a></li></ul>
    </main></body></html>`);
  const violations = await axe(page);
  t.ok(violations.some((v) => v.id === 'image-alt'), 'axe (run in the page) reports an image without alt text');
  const problems = await layoutProblems(page);
  t.ok(problems.some((p) => p.kind === 'no-boundary' && p.what.includes('#a')), 'a text field without a border is reported');
  t.ok(problems.some((p) => p.kind === 'overlap' && p.what.includes('Importo')), 'a label printed over a heading is reported');
  t.same(problems.filter((p) => p.kind === 'unreachable-scroll').map((p) => p.what), ['div#wide "PrimaFuori schermo"', 'div#wide-img'], 'a sideways scroll with text or a picture the keyboard cannot reach is reported; a focusable one, or a row of links, is not');
  await page.setContent('<!doctype html><html lang="it"><head><title>Prova</title></head><body><main><h1>Prova</h1><label for="c">Nome</label><input id="c" type="text" style="border:1px solid #555"></main></body></html>');
  t.same(await axe(page), [], 'a clean page has no axe violation (axe re-injected after the navigation)');
  t.same(await layoutProblems(page), [], 'and no layout problem');
});
