/**
 * The charges pages over HTTP: the comune's /backoffice/enti/:enteId/addebiti (status, notice,
 * PDF, pay link into the portal), the SAEL admin's /admin/catalogo/addebiti (filters, reminders,
 * link to the adesione), and IDOR: ente A never sees ente B's charges (403 / 404).
 */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { issueChargesForAdesione } from '../../src/modules/catalogue/charges.js';
import { catalogueCharges } from '../../src/modules/catalogue/schema.js';
import { htmlUnescape, loginAs } from '../helpers.js';
import { addAdesione, addService, addUser, chargesApp, comune, dayPlus } from './charges-fixtures.js';
import { sqlRun } from '../../src/db/raw.js';

t.test('charges pages and who sees them', async (t) => {
  const { app, clock } = await chargesApp(t);
  const today = dayPlus(clock.now, 0);
  const termoli = await comune(app, 'Termoli');
  const bojano = await comune(app, 'Bojano');
  const service = await addService(app, 'one_off', 'Sito istituzionale');
  const aT = await addAdesione(app, { enteId: termoli.id, serviceId: service, startDate: today, amountCents: 150000 });
  const aB = await addAdesione(app, { enteId: bojano.id, serviceId: service, startDate: today, amountCents: 99000 });
  await issueChargesForAdesione(app.catalogue, aT, clock.now);
  await issueChargesForAdesione(app.catalogue, aB, clock.now);
  const chargeOf = async (adesioneId: number) => (await app.db.select().from(catalogueCharges).where(eq(catalogueCharges.adesioneId, adesioneId)).limit(1))[0]!;
  const cT = await chargeOf(aT);
  const cB = await chargeOf(aB);

  const referenteT = await loginAs(app, await addUser(app, 'ente_admin', termoli.id));
  const operatorB = await loginAs(app, await addUser(app, 'operator', bojano.id));
  const admin = await loginAs(app, await addUser(app, 'sael_admin', null));
  const helpdesk = await loginAs(app, await addUser(app, 'helpdesk', null));
  const get = (url: string, cookie?: string) => app.inject({ url, headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });

  await t.test('the comune sees its charge, payable and printable', async (t) => {
    const res = await get(`/backoffice/enti/${termoli.id}/addebiti`, referenteT);
    t.equal(res.statusCode, 200);
    t.match(res.body, 'Sito istituzionale');
    t.match(res.body, '1.500,00');
    t.match(res.body, cT.noticeNumber!.replace(/(\d{4})(?=\d)/g, '$1 '), 'the notice number, grouped');
    t.match(res.body, /charge-status">Da pagare</);
    t.notMatch(res.body, cB.noticeNumber!.replace(/(\d{4})(?=\d)/g, '$1 '), 'never Bojano’s charge');
    t.notMatch(res.body, '990,00');
    const pay = htmlUnescape(/href="(\/paga-avviso\?[^"]+)"/.exec(res.body)![1]!);
    const notice = await get(pay, referenteT);
    t.equal(notice.statusCode, 200, 'the pay link opens the portal’s notice summary');
    t.match(notice.body, '1.500,00');
    t.match(notice.body, 'Provincia di Campobasso');
    const pdf = await app.inject({ url: `/backoffice/enti/${termoli.id}/addebiti/${cT.id}/avviso.pdf`, headers: { cookie: referenteT } });
    t.equal(pdf.statusCode, 200);
    t.equal(pdf.headers['content-type'], 'application/pdf');
    t.equal(pdf.rawPayload.subarray(0, 5).toString(), '%PDF-');
  });

  await t.test('IDOR: another ente’s operator gets 403 / 404', async (t) => {
    t.equal((await get(`/backoffice/enti/${termoli.id}/addebiti`, operatorB)).statusCode, 403, 'Termoli’s list');
    t.equal((await get(`/backoffice/enti/${termoli.id}/addebiti/${cT.id}/avviso.pdf`, operatorB)).statusCode, 403, 'Termoli’s PDF under Termoli');
    t.equal((await get(`/backoffice/enti/${bojano.id}/addebiti/${cT.id}/avviso.pdf`, operatorB)).statusCode, 404, 'Termoli’s charge under Bojano');
    const own = await get(`/backoffice/enti/${bojano.id}/addebiti`, operatorB);
    t.equal(own.statusCode, 200);
    t.match(own.body, '990,00');
    t.notMatch(own.body, '1.500,00');
    t.equal((await get(`/backoffice/enti/999999/addebiti`, admin)).statusCode, 404, 'no such ente');
    t.equal((await get(`/backoffice/enti/${termoli.id}/addebiti`)).statusCode, 401, 'anonymous');
    t.equal((await get(`/admin/catalogo/addebiti`, operatorB)).statusCode, 403, 'the admin list is for SAEL staff');
    t.equal((await get(`/backoffice/enti/abc/addebiti`, admin)).statusCode, 400);
  });

  await t.test('the SAEL admin’s list: filters, overdue, reminders, adesione link', async (t) => {
    let res = await get('/admin/catalogo/addebiti', admin);
    t.equal(res.statusCode, 200);
    t.match(res.body, termoli.name);
    t.match(res.body, bojano.name);
    t.match(res.body, `href="/admin/catalogo/adesioni/${aT}"`);
    res = await get(`/admin/catalogo/addebiti?ente=${bojano.id}`, admin);
    t.notMatch(res.body, '1.500,00', 'filtered by ente');
    t.match(res.body, '990,00');
    t.equal((await get('/admin/catalogo/addebiti?stato=overdue', admin)).body.includes('990,00'), false, 'nothing overdue yet');
    t.equal((await get('/admin/catalogo/addebiti?stato=bogus', admin)).statusCode, 400);
    t.equal((await get('/admin/catalogo/addebiti', helpdesk)).statusCode, 200, 'the helpdesk reads it too');

    clock.set(new Date(clock.now.getTime() + 40 * 86_400_000));
    await app.catalogueTick(clock.now);
    res = await get('/admin/catalogo/addebiti?stato=overdue', admin);
    t.match(res.body, '990,00', 'overdue after the due date');
    t.match(res.body, /Scaduto/);
    t.match(res.body, /da valutare la sospensione/);
    t.match(res.body, /ultimo \d{2}\/\d{2}\/\d{4}/, 'the reminder sent by the pass');
    t.match((await get(`/backoffice/enti/${termoli.id}/addebiti`, referenteT)).body, /charge-status">Scaduto</);

    // Termoli's option paid by a receipt (as the station writes it): the page shows it paid at once.
    (await sqlRun(app.db, "UPDATE payment_options SET status = 'paid', paid_at = ? WHERE position_id = ?", new Date().toISOString(), cT.positionId));
    const page = await get(`/backoffice/enti/${termoli.id}/addebiti`, referenteT);
    t.match(page.body, /charge-status">Pagato</, 'paid on read');
    t.notMatch(page.body, /href="\/paga-avviso\?/, 'no pay link any more');
    t.equal((await chargeOf(aT)).status, 'paid');
  });
});
