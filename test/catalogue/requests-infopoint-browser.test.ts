/**
 * The requests and infopoint pages (#15 items 6 and 9) in headless Chromium at 1280 and 390 px:
 * axe-core (WCAG 2.1 A/AA), the layout checks and a screenshot of each (test-output/e2e/).
 */
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { adesioni, catalogueServices } from '../../src/modules/catalogue/schema.js';
import { addDocument, saveNews, setNewsStatus } from '../../src/modules/catalogue/infopoint-repository.js';
import { loginAs } from '../helpers.js';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from '../e2e/browser.js';
import { layoutProblems, type LayoutProblem } from '../e2e/layout-check.js';
import { e2eApp } from '../e2e/setup.js';
import { sqlGet } from '../../src/db/raw.js';

const users = demoUserFiscalCodes();
const ADMIN = users.find((u) => u.role === 'sael_admin')!.fiscalCode;
const REF_TE = users.find((u) => u.role === 'ente_admin' && u.enteIstat === '070078')!.fiscalCode;
const OP_CB = users.find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode;
// ~40 page views with axe: about a minute on a quiet machine, several on a loaded one.
t.setTimeout(480_000);

const day = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);

t.test('requests and infopoint pages in Chromium', { skip: chromiumAvailable() ? false : 'no Chromium' }, async (t) => {
  const { app, base } = await e2eApp(t);
  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const te = ((await sqlGet(app.db, "SELECT id FROM enti WHERE istat_code = '070078'")) as { id: number }).id;
  const service = (await app.db
      .insert(catalogueServices)
      .values({ code: '99', name: 'Assistenza hardware di prova', kind: 'specialistico', area: 'consulenza_tecnica', summary: 'Prova', description: 'Prova.', billing: 'annual', includedUnits: 1, requiresConvenzione: false, requiresApproval: true, slaTtoMinutes: 240, slaTtrMinutes: 960, requestKinds: 'Intervento hardware\nInstallazione software' })
      .returning())[0]!;
  await app.db.insert(adesioni).values({ enteId: te, serviceId: service.id, status: 'active', startDate: day(-30), endDate: day(335) });
  const adminId = ((await sqlGet(app.db, 'SELECT id FROM users WHERE fiscal_code = ?', ADMIN)) as { id: number }).id;
  const newsId = (await saveNews(app.db, null, { title: 'Nuove linee guida per i siti dei comuni', summary: 'Che cosa cambia per i siti istituzionali e come prepararsi.', body: 'Le nuove linee guida AGID chiedono…\n\nIl S.A.E.L. organizza una giornata formativa.' }, { userId: adminId }, new Date()))!;
  await addDocument(app.db, app.config.dataDir, { kind: 'news_attachment', ownerId: newsId, title: 'Circolare n. 1/2026', fileName: 'circolare.pdf', data: Buffer.from('%PDF-1.4\n%%EOF\n') }, { userId: adminId });
  await setNewsStatus(app.db, newsId, 'published', { userId: adminId }, new Date());
  const officeId = ((await sqlGet(app.db, 'SELECT id FROM infopoint_offices')) as { id: number }).id;
  const layout: Record<string, LayoutProblem[]> = {};
  const asCookie = async (fc: string) => {
    const [name, value] = (await loginAs(app, fc)).split(/=(.*)/s) as [string, string];
    return { name, value, url: base };
  };

  for (const width of PAGE_WIDTHS) {
    const { ctx, page } = await s.context(width);
    const check = async (name: string) => {
      await s.check(page, `catalogue-e-${name}-${width}`, { axe: width === 1280 });
      layout[`${name} @${width}`] = await layoutProblems(page);
    };
    for (const [name, url] of [
      ['infopoint', '/infopoint'],
      ['modulistica', '/infopoint/modulistica'],
      ['notizie', '/infopoint/notizie'],
      ['notizia', `/infopoint/notizie/${newsId}`],
      ['suggerimenti', '/infopoint/suggerimenti'],
    ] as const) {
      await page.goto(`${base}${url}`);
      await check(name);
    }
    await page.getByRole('button', { name: 'Invia il suggerimento' }).click();
    await page.waitForLoadState();
    await check('suggerimenti-errore');
    await page.locator('#s-text').fill('Un orario pomeridiano anche il mercoledì sarebbe utile.');
    await page.getByRole('button', { name: 'Invia il suggerimento' }).click();
    await page.waitForURL(/\/infopoint\/suggerimenti$/);
    t.ok(await page.getByText(/il suggerimento è stato registrato/).isVisible(), 'suggestion sent');
    await check('suggerimenti-inviato');

    await ctx.addCookies([await asCookie(REF_TE)]);
    await page.goto(`${base}/servizi/99/richiesta`);
    await check('richiesta');
    await page.getByRole('button', { name: 'Invia la richiesta' }).click();
    await page.waitForLoadState();
    await check('richiesta-errori');
    await page.locator('#r-kind').selectOption('Intervento hardware');
    await page.locator('#r-subject').fill(`Stampante guasta ${width}`);
    await page.locator('#r-description').fill('La stampante dell’ufficio tributi non stampa.');
    await page.getByRole('button', { name: 'Invia la richiesta' }).click();
    await page.waitForURL(/\/richieste$/);
    t.ok(await page.getByText(/Richiesta inviata: ticket n\./).isVisible());
    await check('richieste');
    await page.goto(`${base}/servizi/99/richiesta`);
    await check('richiesta-oltre');

    await ctx.clearCookies();
    await ctx.addCookies([await asCookie(OP_CB)]);
    await page.goto(`${base}/servizi/99/richiesta`);
    await check('richiesta-senza-adesione');

    await ctx.clearCookies();
    await ctx.addCookies([await asCookie(ADMIN)]);
    for (const [name, url] of [
      ['admin-infopoint', '/admin/catalogo/infopoint'],
      ['admin-sede', `/admin/catalogo/infopoint/sedi/${officeId}`],
      ['admin-notizia', `/admin/catalogo/infopoint/notizie/${newsId}`],
      ['admin-notizia-nuova', '/admin/catalogo/infopoint/notizie/nuova'],
    ] as const) {
      await page.goto(`${base}${url}`);
      await check(name);
    }
    await ctx.close();
  }

  t.same(Object.fromEntries(Object.entries(s.axeResults).filter(([, v]) => v.length)), {}, 'no axe-core violations');
  t.same(Object.fromEntries(Object.entries(layout).filter(([, v]) => v.length)), {}, 'no layout problems');
  t.same(s.thirdParty, [], 'no third-party requests');
});
