/**
 * E2E in headless Chromium, the "Done when" payment path: the referente of a comune asks
 * for a paid SAEL service, the SAEL admin takes it in and approves it, the charge (a notice of the
 * Province owed by the comune) appears on the comune's Addebiti page, is paid through the portal's
 * "Paga un avviso" and the Checkout simulator (which calls our station back over SOAP), and shows
 * as paid. axe-core WCAG 2.1 A/AA on the charges pages at 1280 and 390 px.
 */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from './browser.js';
import { e2eApp } from './setup.js';
import { comune } from '../portal/fixtures.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { todayInItaly } from '../../src/modules/positions/service.js';
import { adesioni, catalogueCharges, convenzioni } from '../../src/modules/catalogue/schema.js';
import { loginAs } from '../helpers.js';
import { freePort } from '../pagopa/helpers.js';
import { addAdesione, addService, addUser, chargesApp, dayPlus } from '../catalogue/charges-fixtures.js';

t.setTimeout(6 * 60_000);

t.test('a referente joins a paid service, the SAEL admin approves, the comune pays the charge', { skip: chromiumAvailable() ? false : 'chromium not installed' }, async (t) => {
  const { app, base } = await e2eApp(t);
  const termoli = await comune(app, 'Termoli');
  const users = demoUserFiscalCodes();
  const referente = users.find((u) => u.role === 'ente_admin' && u.enteIstat === '070078')!.fiscalCode;
  const admin = users.find((u) => u.role === 'sael_admin')!.fiscalCode;
  const today = todayInItaly();
  const year = Number(today.slice(0, 4));
  // A paid service needs a convenzione in force over the period (helper B's rule): Termoli's, in force.
  await app.db
        .insert(convenzioni)
        .values({ enteId: termoli.id, status: 'in_force', actKind: 'delibera', actNumber: '45', actDate: `${year - 1}-12-01`, startDate: `${year - 1}-12-01`, endDate: `${year + 4}-12-31`, signedAt: new Date().toISOString() });

  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());

  // 1. The referente asks for service 4B (new portal, one-off) from its modulo.
  const ref = await s.context();
  await s.spidLogin(ref.page, referente, '/servizi/4B/adesione');
  await ref.page.getByLabel('Nome e cognome').fill('Anna Esposito');
  await ref.page.getByLabel('Ruolo nell’ente').fill('Responsabile dei servizi informativi');
  await ref.page.getByLabel('E-mail').fill('anna.esposito@comune-termoli.example.invalid');
  await ref.page.getByLabel('Decorrenza desiderata').fill(today);
  await ref.page.getByRole('button', { name: 'Invia la richiesta' }).click();
  await ref.page.waitForURL(/\/backoffice\/enti\/\d+\/adesioni\/\d+$/);
  const adesioneId = Number(/\/adesioni\/(\d+)$/.exec(ref.page.url())![1]);
  t.equal((await app.db.select().from(adesioni).where(eq(adesioni.id, adesioneId)).limit(1))[0]!.status, 'submitted', 'submitted by the referente');

  // 2. The SAEL admin takes it in and approves it (starts today: activated, charge issued).
  const adm = await s.context();
  await s.spidLogin(adm.page, admin, `/admin/catalogo/adesioni/${adesioneId}`);
  await adm.page.getByRole('button', { name: 'Prendi in esame' }).click();
  await adm.page.getByRole('button', { name: 'Approva' }).waitFor();
  await adm.page.getByRole('button', { name: 'Approva' }).click();
  await adm.page.waitForLoadState('load');
  const a = (await app.db.select().from(adesioni).where(eq(adesioni.id, adesioneId)).limit(1))[0]!;
  t.equal(a.status, 'active', 'approved and active from today');
  const charge = (await app.db.select().from(catalogueCharges).where(eq(catalogueCharges.adesioneId, adesioneId)).limit(1))[0]!;
  t.ok(charge, 'the charge was issued at activation');
  t.match(charge, { kind: 'one_off', status: 'issued', enteId: termoli.id, amountCents: a.amountCents });

  // 3. The charge notice appears in the comune's list, and is paid through the portal.
  await ref.page.goto(`${base}/backoffice/enti/${termoli.id}/addebiti`);
  const row = ref.page.locator(`tr[data-charge-id="${charge.id}"]`);
  await t.resolveMatch(row.getByTestId('charge-status').textContent(), 'Da pagare');
  await t.resolveMatch(row.getByTestId('notice-number').textContent(), charge.noticeNumber!.slice(0, 4));
  await s.check(ref.page, 'c1-addebiti-comune');
  {
    const small = await s.context(390);
    await small.ctx.addCookies(await ref.ctx.cookies());
    await small.page.goto(`${base}/backoffice/enti/${termoli.id}/addebiti`);
    await small.page.locator(`[data-charge-card="${charge.id}"]`).getByRole('link', { name: /Paga l’avviso/ }).waitFor();
    await s.check(small.page, 'c1-addebiti-comune-390');
    await small.ctx.close();
  }
  const pdfHref = await row.getByRole('link', { name: /Scarica il PDF/ }).getAttribute('href');
  const pdf = await ref.page.request.get(`${base}${pdfHref}`);
  t.equal(pdf.headers()['content-type'], 'application/pdf', 'the notice PDF');
  await row.getByRole('link', { name: /Paga l’avviso/ }).click();
  await ref.page.waitForURL(/\/paga-avviso\?/);
  await ref.page.getByRole('button', { name: 'Paga ora con pagoPA' }).click();
  await ref.page.waitForURL(/\/simulators\/pagopa\/checkout\/carrello\//);
  await ref.page.locator('label[for="o-success"]').click();
  await ref.page.getByRole('button', { name: 'Conferma' }).click();
  await ref.page.waitForURL(/\/pagamento\/esito\/[0-9a-f-]+\?esito=ok/);
  await ref.page.getByRole('heading', { name: 'Pagamento effettuato' }).waitFor();

  await ref.page.goto(`${base}/backoffice/enti/${termoli.id}/addebiti`);
  await t.resolveMatch(row.getByTestId('charge-status').textContent(), 'Pagato', 'paid once the receipt arrived');
  t.equal((await app.db.select().from(catalogueCharges).where(eq(catalogueCharges.id, charge.id)).limit(1))[0]!.status, 'paid');
  await s.check(ref.page, 'c2-addebiti-comune-pagato');

  // 4. The SAEL admin's list.
  await adm.page.goto(`${base}/admin/catalogo/addebiti`);
  await adm.page.locator(`tr[data-charge-id="${charge.id}"]`).getByText('Pagato').waitFor();
  await s.check(adm.page, 'c3-addebiti-admin');
  await adm.page.goto(`${base}/admin/catalogo/addebiti?stato=paid&ente=${termoli.id}&anno=${charge.dueDate.slice(0, 4)}`);
  await s.check(adm.page, 'c4-addebiti-admin-filtro');

  // 5. Phone width.
  const refCookies = await ref.ctx.cookies();
  const admCookies = await adm.ctx.cookies();
  await ref.ctx.close();
  await adm.ctx.close();
  const phone = await s.context(390);
  await phone.ctx.addCookies(refCookies);
  await phone.page.goto(`${base}/backoffice/enti/${termoli.id}/addebiti`);
  await s.check(phone.page, 'c5-addebiti-comune-390');
  await phone.ctx.clearCookies();
  await phone.ctx.addCookies(admCookies);
  await phone.page.goto(`${base}/admin/catalogo/addebiti`);
  await s.check(phone.page, 'c6-addebiti-admin-390');
  await phone.ctx.close();

  t.same(s.thirdParty, [], 'no third-party requests');
  for (const [name, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${name}`);
});

t.test('overdue charges, reminders and an issuing error, as the comune and the SAEL admin see them', { skip: chromiumAvailable() ? false : 'chromium not installed' }, async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app, clock } = await chargesApp(t, { PORT: String(port), PUBLIC_URL: base });
  await app.listen({ port, host: '127.0.0.1' });
  const larino = await comune(app, 'Larino');
  const start = dayPlus(clock.now, -400);
  const service = await addService(app, 'annual', 'Gestione del sito istituzionale');
  const a = await addAdesione(app, { enteId: larino.id, serviceId: service, startDate: start, endDate: dayPlus(clock.now, -36), amountCents: 180000 });
  await addAdesione(app, { enteId: larino.id, serviceId: await addService(app, 'annual'), startDate: dayPlus(clock.now, -10), endDate: null, amountCents: 1000 });
  const real = clock.now;
  clock.set(new Date(real.getTime() - 400 * 86_400_000));
  await app.catalogueTick(clock.now);
  clock.set(real);
  await app.catalogueTick(clock.now); // issues the rest, reminds the overdue ones, records the annual adesione without an end
  t.ok((await app.db.select().from(catalogueCharges).where(eq(catalogueCharges.adesioneId, a))).length >= 2, 'slices issued');

  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const cookieOf = async (cf: string) => {
    const [name, value] = (await loginAs(app, cf)).split('=') as [string, string];
    return [{ name, value, url: base }];
  };
  const admin = await cookieOf(await addUser(app, 'sael_admin', null));
  const referente = await cookieOf(await addUser(app, 'ente_admin', larino.id));
  for (const width of PAGE_WIDTHS) {
    const { ctx, page } = await s.context(width);
    await ctx.addCookies(admin);
    await page.goto(`${base}/admin/catalogo/addebiti?stato=overdue`);
    await page.getByTestId('charges-error').waitFor();
    await s.check(page, `c7-addebiti-admin-scaduti-${width}`);
    await ctx.clearCookies();
    await ctx.addCookies(referente);
    await page.goto(`${base}/backoffice/enti/${larino.id}/addebiti`);
    await s.check(page, `c8-addebiti-comune-scaduti-${width}`);
    await ctx.close();
  }
  for (const [name, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${name}`);
});
