/**
 * The publishing pages in headless Chromium at 1280 and 390 px: the redazione fills the event
 * form in the browser (picture uploaded with the file input), sees the errors of an empty form,
 * publishes, reads the detail page, opens the edit form; the SAEL admin features the event and
 * opens the categories. axe WCAG 2.1 A/AA and the layout checks (visible field
 * boundaries, no label over other text) on every page at both widths (a table that scrolls sideways
 * on a phone must be reachable by keyboard); screenshots test-output/e2e/events-bo-*.png.
 */
import t from 'tap';
import sharp from 'sharp';
import { eq } from 'drizzle-orm';
import { addDays } from '../../src/domain/iso-date.js';
import { romeDay } from '../../src/modules/conservazione/dates.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { enti } from '../../src/modules/enti/schema.js';
import { events } from '../../src/modules/events/schema.js';
import { roleGrants, users } from '../../src/modules/users/schema.js';
import { buildTestApp, loginAs } from '../helpers.js';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from '../e2e/browser.js';
import { layoutProblems } from '../e2e/layout-check.js';
import { freePort } from '../pagopa/helpers.js';

const who = (role: string, istat: string | null) => demoUserFiscalCodes().find((u) => u.role === role && u.enteIstat === istat)!.fiscalCode;

t.setTimeout(480_000);

t.test('publishing pages in Chromium', { skip: chromiumAvailable() ? false : 'chromium not installed', timeout: 480_000 }, async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildTestApp(t, { PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  await app.listen({ port, host: '127.0.0.1' });
  const cb = (await app.db.select().from(enti).where(eq(enti.istatCode, '070006')).limit(1))[0]!;
  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const cookieOf = async (fiscalCode: string) => {
    const [name, value] = (await loginAs(app, fiscalCode)).split(/=(.*)/s) as [string, string];
    return { name, value, url: base };
  };
  const sara = who('redazione', '070006');
  // Sara is also in the redazione of Termoli (granted as /admin/enti/:id does).
  const termoli = (await app.db.select().from(enti).where(eq(enti.istatCode, '070078')).limit(1))[0]!;
  const saraId = (await app.db.select().from(users).where(eq(users.fiscalCode, sara)).limit(1))[0]!.id;
  await app.db.insert(roleGrants).values({ userId: saraId, role: 'redazione', enteId: termoli.id });
  const admin = who('sael_admin', null);
  // Ten days from today (Rome): nothing in this test expires.
  const day = addDays(romeDay(new Date()), 10);
  const photo = await sharp({ create: { width: 1600, height: 1000, channels: 3, background: '#8a4b2a' } }).jpeg().toBuffer();
  const list = `/backoffice/enti/${cb.id}/eventi`;

  const look = async (page: import('playwright-core').Page, name: string, width: number) => {
    t.same(await layoutProblems(page), [], `layout at ${width}: ${name}`);
    await s.check(page, `events-bo-${name}-${width}`);
  };

  for (const width of PAGE_WIDTHS) {
    const { ctx, page } = await s.context(width);
    await ctx.addCookies([await cookieOf(sara)]);

    // The header's "Redazione" entry: Sara edits for two enti, she picks Campobasso.
    await page.goto(`${base}/`);
    await page.locator('#nav-main').getByRole('link', { name: 'Redazione', includeHidden: true }).evaluate((a: HTMLAnchorElement) => a.click());
    await page.waitForURL(`${base}/backoffice/redazione`);
    await look(page, 'home', width);
    await page.getByRole('link', { name: 'Eventi – Comune di Campobasso' }).click();
    await page.waitForURL(`${base}${list}`);
    await look(page, 'list-empty', width);

    await page.goto(`${base}${list}/nuovo`);
    await look(page, 'form', width);

    // An empty form: the server answers with the messages, next to their fields.
    await page.getByRole('button', { name: 'Salva e pubblica' }).click();
    await page.waitForLoadState('load');
    t.match(await page.locator('.alert-danger').innerText(), /Indica il titolo/);
    t.equal(await page.locator('#f-title').getAttribute('aria-invalid'), 'true');
    await look(page, 'form-errors', width);

    // Filled in the browser, picture included.
    const title = `Sagra del tartufo ${width}`;
    await page.fill('#f-title', title);
    await page.fill('#f-summary', 'Degustazioni di tartufo bianco e musica in piazza.');
    await page.fill('#f-body', 'Dalle 19 gli stand.\n\nAlle 21 il concerto.');
    await page.selectOption('#f-categoryId', { label: 'Sagre ed enogastronomia' });
    await page.fill('#f-startDate', day);
    await page.fill('#f-startTime', '19:00');
    await page.fill('#f-endTime', '23:30');
    await page.fill('#f-placeName', 'Piazza Municipio');
    await page.fill('#f-address', 'Piazza Municipio, 86100 Campobasso');
    await page.locator('label[for="f-price-paid"]').click();
    await page.fill('#f-priceAmount', '10');
    await page.setInputFiles('#f-image', { name: 'tartufo.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.fill('#f-imageAlt', 'Tartufi bianchi su un tagliere di legno');
    await page.getByRole('button', { name: 'Salva e pubblica' }).click();
    await page.waitForURL(/\/eventi\/\d+$/);
    const id = Number(/\/eventi\/(\d+)$/.exec(page.url())![1]);
    const row = (await app.db.select().from(events).where(eq(events.id, id)).limit(1))[0]!;
    t.equal(row.status, 'published');
    t.equal(row.priceCents, 1000);
    t.ok(row.imageKey, 'picture stored');
    t.match(await page.locator('[role="status"]').first().innerText(), /Evento creato e pubblicato/);
    const img = page.locator('main img[srcset]');
    t.equal(await img.getAttribute('alt'), 'Tartufi bianchi su un tagliere di legno');
    t.ok(await img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0), 'the WebP variant loads');
    await look(page, 'detail', width);

    await page.getByRole('link', { name: 'Modifica' }).click();
    await page.waitForURL(/\/modifica$/);
    t.equal(await page.inputValue('#f-startDate'), day);
    t.equal(await page.inputValue('#f-startTime'), '19:00');
    await look(page, 'edit', width);

    await page.goto(`${base}${list}`);
    await look(page, 'list', width);

    // The SAEL admin features it, then opens the categories.
    await ctx.clearCookies();
    await ctx.addCookies([await cookieOf(admin)]);
    await page.goto(`${base}/admin/eventi`);
    await look(page, 'admin-events', width);
    await page.getByRole('button', { name: new RegExp(`^Metti in evidenza\\s*: ${title}$`) }).click();
    await page.waitForURL(/\/admin\/eventi/);
    t.equal((await app.db.select().from(events).where(eq(events.id, id)).limit(1))[0]!.featured, true);
    await look(page, 'admin-events-featured', width);
    await page.goto(`${base}/admin/eventi/categorie`);
    await look(page, 'admin-categories', width);
    await page.getByRole('link', { name: 'Sagre ed enogastronomia' }).click();
    await look(page, 'admin-category', width);
    await ctx.close();
  }
  for (const [p, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${p}`);
  t.same(s.thirdParty, [], 'no third-party requests');
});
