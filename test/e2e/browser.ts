/**
 * Helpers for the end-to-end tests in headless Chromium (Debian `chromium`, driven by
 * playwright-core): one browser per run, a fresh context per scenario, axe-core (WCAG 2.1 A/AA)
 * on every page, screenshots under test-output/e2e/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createRequire } from 'node:module';
import { AxeBuilder } from '@axe-core/playwright';

/** axe-core's browser bundle, injected into each page by `axe` below. */
const AXE_SOURCE: string = (createRequire(import.meta.url)('axe-core') as { source: string }).source;

export const SHOTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-output/e2e');

/**
 * The widths the page tests check every page at: 1280 and 390 px. In the PostgreSQL pass
 * (SAEL_TEST_DB=postgres) 1280 only: each flow still runs there in Chromium against PostgreSQL,
 * and what the second width adds (the phone layout, no sideways scrolling) is a matter of the HTML
 * and CSS, the same on both databases, which the SQLite pass checks. That halves the pass's
 * Chromium time (#19: the suite on two cores is CPU-bound, and Chromium was ~30% of its CPU).
 */
export const PAGE_WIDTHS: readonly number[] = process.env.SAEL_TEST_DB === 'postgres' ? [1280] : [1280, 390];

/**
 * Whether the page checks (`check` below) run axe-core: not in the PostgreSQL pass. For the same
 * reason as the one width there: the rules axe checks are about the HTML the templates render,
 * the same from either database, and the SQLite pass checks every page. axe was ~28% of a browser
 * file's time (bo-browser alone: 8.4 of 30 s).
 */
export const AXE_PAGES = process.env.SAEL_TEST_DB !== 'postgres';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return fs.existsSync(CHROMIUM_PATH);
}

export async function launch(): Promise<Browser> {
  fs.mkdirSync(SHOTS_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface AxeViolation {
  id: string;
  impact: string | null | undefined;
  help: string;
  targets: string[];
}

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

type AxeRawViolation = { id: string; impact?: string | null; help: string; nodes: { target: unknown[] }[] };

/**
 * axe-core with the WCAG 2.0/2.1 A and AA rules on the current page (only violations are collected).
 * A page without frames gets axe-core injected and run in the page itself: 0.5 s where
 * @axe-core/playwright's AxeBuilder takes 1.6 s (it runs axe in parts and finishes the run in a
 * new blank page, which is needed only to combine the results of several frames). A page with
 * frames goes through AxeBuilder.
 */
export async function axe(page: Page): Promise<AxeViolation[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await axeOnce(page);
    } catch (e) {
      // A page that replaces itself while axe runs (the payment outcome page once its receipts
      // arrive): axe again on the page it became. Right after the failure the old document may
      // still be the frame's (the new one not yet committed), and 'load' is then the old one's,
      // so a second try could meet the same replacement (it did, in CI): a short pause first,
      // and a few tries.
      if (attempt === 5 || !/Execution context was destroyed/.test((e as Error).message)) throw e;
      await page.waitForTimeout(250 * attempt);
      await page.waitForLoadState('load');
    }
  }
}

async function axeOnce(page: Page): Promise<AxeViolation[]> {
  const options = { runOnly: { type: 'tag', values: WCAG_TAGS }, resultTypes: ['violations'] };
  let violations: AxeRawViolation[];
  if (page.frames().length > 1) {
    violations = (await new AxeBuilder({ page }).options(options as never).analyze()).violations;
  } else {
    if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE_SOURCE);
    violations = await page.evaluate(async (opts) => {
      const w = window as unknown as { axe: { run(ctx: Document, o: unknown): Promise<{ violations: AxeRawViolation[] }> } };
      const r = await w.axe.run(document, opts);
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
    }, options);
  }
  return violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
}

/**
 * Screenshots are for people to look at (test-output/e2e/); no test reads them. E2E_SHOTS=0 (set
 * by .ci/run, where nobody looks) skips them: 0.15–0.5 s a page.
 */
export const SHOTS_ON = process.env.E2E_SHOTS !== '0';

export async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS_ON) await page.screenshot({ path: path.join(SHOTS_DIR, `${name}.png`), fullPage: true });
}

/**
 * Records every request the page makes that leaves `origin` (there must be none: fonts, icons
 * and scripts are served by the portal itself).
 */
export function watchThirdParty(page: Page, origin: string, seen: string[] = []): string[] {
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) seen.push(url);
  });
  return seen;
}

/**
 * Records the page's script errors: an uncaught exception, or a script or module of the portal
 * that did not load (a module graph with one missing file does not run at all).
 */
export function watchScriptErrors(page: Page, origin: string, seen: string[] = []): string[] {
  page.on('pageerror', (err) => seen.push(`${page.url()}: ${err.message}`));
  page.on('response', (res) => {
    if (res.request().resourceType() === 'script' && res.url().startsWith(origin) && res.status() >= 400) seen.push(`${res.url()}: HTTP ${res.status()}`);
  });
  page.on('requestfailed', (req) => {
    // Not the loads cut short because the page navigated on (net::ERR_ABORTED).
    const error = req.failure()?.errorText ?? 'failed';
    if (req.resourceType() === 'script' && req.url().startsWith(origin) && !error.includes('ERR_ABORTED')) seen.push(`${req.url()}: ${error}`);
  });
  return seen;
}

export interface E2eSession {
  base: string;
  browser: Browser;
  /** axe violations by page (name + path), filled by `check`. */
  axeResults: Record<string, AxeViolation[]>;
  thirdParty: string[];
  /** Script errors of the session's pages (watchScriptErrors). */
  scriptErrors: string[];
  /** axe (unless `axe: false`, or in the PostgreSQL pass: AXE_PAGES) and a screenshot of the page as it is. */
  check(page: Page, name: string, opts?: { axe?: boolean }): Promise<void>;
  context(width?: number): Promise<{ ctx: BrowserContext; page: Page }>;
  spidLogin(page: Page, fiscalCode: string, next: string, checkPages?: boolean): Promise<void>;
}

/** One browser for a test file, with the page checks (axe + screenshot) and the test-IdP login. */
export async function e2eSession(base: string): Promise<E2eSession> {
  const t0 = Date.now();
  const browser = await launch();
  const axeResults: Record<string, AxeViolation[]> = {};
  const thirdParty: string[] = [];
  const scriptErrors: string[] = [];
  const s: E2eSession = {
    base,
    browser,
    axeResults,
    thirdParty,
    scriptErrors,
    async check(page, name, opts = {}) {
      const start = Date.now();
      await page.waitForLoadState('load');
      if (opts.axe !== false && AXE_PAGES) axeResults[`${name} ${new URL(page.url()).pathname}`] = await axe(page);
      const mid = Date.now();
      await shot(page, name);
      if (process.env.E2E_TIMING) console.error(`${name}: axe ${mid - start} ms, shot ${Date.now() - mid} ms (t=${Date.now() - t0})`);
    },
    async context(width = 1280) {
      const ctx = await browser.newContext({ viewport: { width, height: 900 }, locale: 'it-IT' });
      const page = await ctx.newPage();
      // Into the session's lists as they happen (the pages' events come after this returns).
      watchThirdParty(page, base, thirdParty);
      watchScriptErrors(page, base, scriptErrors);
      return { ctx, page };
    },
    async spidLogin(page, fiscalCode, next, checkPages = false) {
      await page.goto(`${base}/accesso?next=${encodeURIComponent(next)}`);
      if (checkPages) await s.check(page, 'login');
      await page.locator('main summary.button-spid').click();
      await page.getByRole('link', { name: 'IdP di prova (demo)' }).click();
      await page.waitForURL(/\/simulators\/spid-idp\//);
      if (checkPages) await s.check(page, 'login-test-idp');
      await page.locator(`label[for="id-${fiscalCode}"]`).click();
      await page.getByRole('button', { name: 'Accedi', exact: true }).click();
      await page.waitForURL(`${base}${next}`);
    },
  };
  return s;
}
