/**
 * The convenzioni and adesioni pages in headless Chromium at 1280 and 390 px: axe-core (WCAG 2.1
 * A/AA) with zero violations, the layout checks (visible field boundaries, no overlapping text),
 * screenshots under test-output/e2e/ (catalogue-b-*). The referente sends a modulo through the
 * browser; the SAEL admin approves it from the review page.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { saveModulo, transitionAdesione, type AdesioneActor } from '../../src/modules/catalogue/adesioni-service.js';
import { adesioni } from '../../src/modules/catalogue/schema.js';
import { users } from '../../src/modules/users/schema.js';
import { loginAs } from '../helpers.js';
import { freePort } from '../pagopa/helpers.js';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from '../e2e/browser.js';
import { layoutProblems, type LayoutProblem } from '../e2e/layout-check.js';
import { addConvenzione, addPrice, addService, addUser, adesioniApp, comune } from './adesioni-fixtures.js';

async function actor(app: FastifyInstance, fiscalCode: string, kind: AdesioneActor['kind']): Promise<AdesioneActor> {
  const id = (await app.db.select().from(users).where(eq(users.fiscalCode, fiscalCode)).limit(1))[0]!.id;
  return { kind, actor: `user:${id}`, userId: id };
}

t.test('convenzioni and adesioni pages in Chromium', { skip: chromiumAvailable() ? false : 'no Chromium', timeout: 600_000 }, async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const now = new Date();
  const { app } = await adesioniApp(t, now.toISOString(), { PORT: String(port), PUBLIC_URL: base });
  await app.listen({ port, host: '127.0.0.1' });
  const today = now.toISOString().slice(0, 10);
  const termoli = await comune(app, 'Termoli');
  const paid = await addService(app, 'annual', { name: 'Conservazione digitale a norma' });
  const pec = await addService(app, 'per_unit', { name: 'Caselle PEC istituzionali' });
  const training: Record<number, { code: string }> = { 1280: await addService(app, 'free', { name: 'Formazione del personale' }), 390: await addService(app, 'free', { name: 'Assistenza di base', requiresApproval: false }) };
  await addPrice(app, paid.id, 120000);
  await addPrice(app, pec.id, 1500);
  const refCf = await addUser(app, 'ente_admin', termoli.id, 'ref@termoli.example');
  const adminCf = await addUser(app, 'sael_admin', null, 'capo@provincia.example');
  const conv = await addConvenzione(app, termoli.id, '2026-01-01', '2036-12-31');
  const signed = await addConvenzione(app, (await comune(app, 'Bojano')).id, '2026-01-01', '2030-12-31', 'signed');
  const ref = await actor(app, refCf, 'referente');
  const sael = await actor(app, adminCf, 'sael');
  const data = { referenteName: 'Anna Esposito', referenteRole: 'Responsabile servizi informatici', email: 'anna.esposito@termoli.example', phone: '0875 712345', notes: 'Attivazione entro il mese.' };
  const ctx = app.catalogue;
  const active = await saveModulo(ctx, { enteId: termoli.id, serviceId: paid.id, quantity: 1, startDate: today, autoRenew: true, data }, ref, true);
  await transitionAdesione(ctx, active, 'review', sael);
  await transitionAdesione(ctx, active, 'approve', sael, { note: 'Approvata come da convenzione.' });
  const review = await saveModulo(ctx, { enteId: termoli.id, serviceId: pec.id, quantity: 4, startDate: today, autoRenew: false, data }, ref, true);
  await transitionAdesione(ctx, review, 'review', sael);
  t.equal((await app.db.select().from(adesioni).where(eq(adesioni.id, active)).limit(1))[0]?.status, 'active');

  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const layout: Record<string, LayoutProblem[]> = {};
  for (const width of PAGE_WIDTHS) {
    const check = async (page: import('playwright-core').Page, name: string) => {
      await s.check(page, `catalogue-b-${name}-${width}`, { axe: width === 1280 });
      layout[`${name} @${width}`] = await layoutProblems(page);
    };
    // The referente.
    const r = await s.context(width);
    const [rn, rv] = (await loginAs(app, refCf)).split(/=(.*)/s) as [string, string];
    await r.ctx.addCookies([{ name: rn, value: rv, url: base }]);
    await r.page.goto(`${base}/servizi/${training[width]!.code}/adesione`);
    await check(r.page, 'modulo');
    await r.page.locator('#f-email').fill('non-valida');
    await r.page.getByRole('button', { name: 'Invia la richiesta' }).click();
    await r.page.waitForLoadState('load');
    t.ok(await r.page.getByText('Indica un indirizzo e-mail valido').first().isVisible(), 'the error is shown');
    await check(r.page, 'modulo-errors');
    await r.page.locator('#f-referenteRole').fill('Segretario comunale');
    await r.page.locator('#f-email').fill('ref@termoli.example');
    await r.page.getByRole('button', { name: 'Invia la richiesta' }).click();
    await r.page.waitForURL(/\/backoffice\/enti\/\d+\/adesioni\/\d+$/);
    t.ok(await r.page.getByText(/inviata e attivata|inviata all’ufficio SAEL/).isVisible(), 'flash after sending');
    await check(r.page, 'ente-detail-sent');
    await r.page.goto(`${base}/backoffice/enti/${termoli.id}/adesioni/${active}`);
    await check(r.page, 'ente-detail-active');
    await r.page.goto(`${base}/backoffice/enti/${termoli.id}/adesioni`);
    await check(r.page, 'ente-list');
    await r.page.goto(`${base}/backoffice/enti/${termoli.id}/convenzione`);
    await check(r.page, 'ente-convenzione');
    await r.ctx.close();

    // The SAEL admin.
    const a = await s.context(width);
    const [an, av] = (await loginAs(app, adminCf)).split(/=(.*)/s) as [string, string];
    await a.ctx.addCookies([{ name: an, value: av, url: base }]);
    await a.page.goto(`${base}/admin/catalogo/adesioni`);
    await check(a.page, 'admin-list');
    await a.page.goto(`${base}/admin/catalogo/adesioni/${review}`);
    await check(a.page, 'admin-review');
    await a.page.goto(`${base}/admin/catalogo/convenzioni`);
    await check(a.page, 'admin-convenzioni');
    await a.page.goto(`${base}/admin/catalogo/convenzioni/nuova`);
    await check(a.page, 'admin-convenzione-new');
    await a.page.goto(`${base}/admin/catalogo/convenzioni/${signed}`);
    await check(a.page, 'admin-convenzione-signed');
    await a.page.goto(`${base}/admin/catalogo/convenzioni/${conv}`);
    await check(a.page, 'admin-convenzione-in-force');
    if (width === PAGE_WIDTHS.at(-1)) {
      // Approve from the review page (at the last width: the review page is checked before at each): the adesione turns active.
      await a.page.goto(`${base}/admin/catalogo/adesioni/${review}`);
      await a.page.getByRole('button', { name: 'Approva' }).click();
      await a.page.waitForURL(`${base}/admin/catalogo/adesioni/${review}`);
      t.ok(await a.page.getByText('Stato attuale: «Attiva»').isVisible(), 'approved and active');
      await check(a.page, 'admin-approved');
    }
    await a.ctx.close();
  }
  t.same(
    Object.fromEntries(Object.entries(s.axeResults).filter(([, v]) => v.length > 0)),
    {},
    'axe: zero violations on every page',
  );
  t.same(
    Object.fromEntries(Object.entries(layout).filter(([, v]) => v.length > 0)),
    {},
    'layout: no invisible field, no overlapping text',
  );
  t.same(s.thirdParty, [], 'no third-party requests');
});
