/**
 * paDemandPaymentNotice (issue #18 part 2): a service payable at a PSP paid without a notice,
 * end to end through the node simulator's "Paga un servizio" (real HTTP, real SOAP to the
 * station: demand → getPayment → sendRT → position paid); the faults of the primitive; every
 * station answer valid against paForNode.xsd; the generated catalogue XSD; the admin's download
 * and the idServizio on the service form.
 */
import t from 'tap';
import { sqlGet, sqlRun } from '../../src/db/raw.js';
import { demoUserFiscalCodes, demoCitizenProfiles } from '../../src/modules/enti/demo-seed.js';
import { getServiceByCode, listEnti } from '../../src/modules/enti/repository.js';
import { buildServiceForm, serviceFormSchema, serviceFormXsd } from '../../src/modules/pagopa/demand-xsd.js';
import { demandRequest } from '../../src/simulators/pagopa/node-messages.js';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { callStation, countRows, freePort, identity } from './helpers.js';

t.test('payments of a service started at a PSP (paDemandPaymentNotice)', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildTestApp(t, { PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  await app.listen({ port, host: '127.0.0.1' });
  const campobasso = (await listEnti(app.db, { q: 'Campobasso', kind: 'comune' }))[0]!;
  const mensa = (await getServiceByCode(app.db, campobasso.id, 'MENSA'))!;
  const citizen = demoCitizenProfiles()[0]!;
  const debtor = { type: 'F' as const, fiscalCode: citizen.fiscalCode, fullName: `${citizen.name} ${citizen.familyName}`, email: citizen.email };
  const goodForm = (amountCents = 2550) => buildServiceForm(campobasso, mensa, { debtor, fields: { alunno: 'Marco Ferrante', scuola: 'Primaria «G. Pascoli», 3ª B' }, amountCents });
  const demand = (formXml: string, idServizio = mensa.pspServiceId!) => callStation(app, demandRequest(identity(app, campobasso.fiscalCode), { idServizio, formXml }), 'paDemandPaymentNotice');

  t.equal(mensa.pspServiceId, '00001', 'the demo canteen service is payable at a PSP');

  await t.test('end to end through the simulator: demand → getPayment → sendRT → position paid', async (t) => {
    const page = await fetch(`${base}/simulators/pagopa/psp/servizi`);
    t.equal(page.status, 200);
    t.match(await page.text(), new RegExp(`<option value="${mensa.id}">Comune di Campobasso – Mensa scolastica \\(idServizio 00001\\)`), 'the service is offered');
    const formPage = await (await fetch(`${base}/simulators/pagopa/psp/servizi?servizio=${mensa.id}`)).text();
    t.match(formPage, /name="f_alunno"/, 'its fields come from the one service definition');
    t.match(formPage, /name="f_scuola"/);
    const positionsBefore = (await countRows(app, 'positions WHERE service_id = ?', mensa.id));
    const res = await fetch(`${base}/simulators/pagopa/psp/servizi/${mensa.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ tipo: 'F', codiceFiscale: citizen.fiscalCode, nominativo: 'Lucia Ferrante', email: citizen.email, f_alunno: 'Marco Ferrante', f_scuola: 'Primaria, 3ª B', importo: '25,50', primitive: 'v2' }),
    });
    t.equal(res.status, 200);
    const html = await res.text();
    t.match(html, /Pagamento eseguito: avviso <span class="text-monospace">(\d{18})<\/span>/);
    const noticeNumber = /avviso <span class="text-monospace">(\d{18})</.exec(html)![1]!;
    t.equal((await countRows(app, 'positions WHERE service_id = ?', mensa.id)), positionsBefore + 1, 'one position created');
    const row = (await sqlGet(app.db, `SELECT p.status, p.debtor_fiscal_code AS cf, p.debtor_name AS name, p.description, o.amount_cents AS cents, o.status AS optionStatus
                FROM payment_options o JOIN positions p ON p.id = o.position_id WHERE o.notice_number = ? AND o.ente_id = ?`, noticeNumber, campobasso.id)) as { status: string; cf: string; name: string; description: string; cents: number; optionStatus: string };
    t.equal(row.status, 'paid', 'the receipt closed the position');
    t.equal(row.cf, citizen.fiscalCode, 'debtor from the form');
    t.equal(row.name, 'Lucia Ferrante');
    t.equal(row.cents, 2550);
    t.equal(row.description, 'Mensa scolastica: Marco Ferrante – Primaria, 3ª B', 'the same causale as a spontaneous payment from the portal');
    t.equal((await countRows(app, "receipts WHERE notice_number = ? AND id_pa = ? AND processing = 'applied'", noticeNumber, campobasso.fiscalCode)), 1, 'receipt applied');
    t.equal((await countRows(app, "audit_log WHERE entity = 'position' AND actor = 'pagopa:paDemandPaymentNotice:00001'")), 1, 'created by the station, audited');
  });

  await t.test('a good demand answers the notice, amount, description and ente, valid against paForNode.xsd', async (t) => {
    const r = await demand(goodForm(1000));
    t.equal(r.status, 200);
    t.equal(r.answer.outcome, 'OK', r.answer.faultDescription ?? '');
    t.ok(r.xsd.valid, r.xsd.errors.join('; '));
    t.match(r.body, new RegExp(`<qrCode><fiscalCode>${campobasso.fiscalCode}</fiscalCode><noticeNumber>3\\d{17}</noticeNumber></qrCode>`));
    t.match(r.body, /<paymentList><paymentOptionDescription><amount>10\.00<\/amount><options>EQ<\/options><dueDate>\d{4}-\d\d-\d\d<\/dueDate><allCCP>(true|false)<\/allCCP>/);
    t.match(r.body, /<paymentDescription>Mensa scolastica: Marco Ferrante – Primaria «G\. Pascoli», 3ª B<\/paymentDescription>/);
    t.match(r.body, /<companyName>Comune di Campobasso<\/companyName><officeName>Mensa scolastica<\/officeName>/);
  });

  await t.test('faults: every answer valid, nothing created', async (t) => {
    const before = (await countRows(app, 'positions'));
    const cases: [string, string, string, string?][] = [
      ['form failing the service XSD (a field missing)', goodForm().replace(/<alunno>[^<]*<\/alunno>/, ''), 'PAA_SINTASSI_XSD'],
      ['form failing the service XSD (a field too long)', goodForm().replace('Marco Ferrante', 'M'.repeat(61)), 'PAA_SINTASSI_XSD'],
      ['form of another service (namespace)', goodForm().replace(':00001"', ':00002"'), 'PAA_SINTASSI_XSD'],
      ['form that is not XML', 'non è XML', 'PAA_SINTASSI_XSD'],
      ['amount above the service maximum', goodForm(50001), 'PAA_SINTASSI_XSD'],
      ['amount below the service minimum', goodForm(99), 'PAA_SINTASSI_XSD'],
      ['debtor fiscal code with a wrong check character', goodForm().replace(citizen.fiscalCode, citizen.fiscalCode.slice(0, 15) + (citizen.fiscalCode.endsWith('A') ? 'B' : 'A')), 'PAA_SEMANTICA'],
      ['unknown service', goodForm(), 'PAA_PAGAMENTO_SCONOSCIUTO', '99999'],
    ];
    for (const [name, formXml, code, idServizio] of cases) {
      const r = await demand(formXml, idServizio);
      t.equal(r.status, 200, name);
      t.equal(r.answer.outcome, 'KO', name);
      t.equal(r.answer.faultCode, code, `${name}: ${r.answer.faultDescription}`);
      t.ok(r.xsd.valid, `${name}: the fault answer is valid`);
    }
    const badXsd = await callStation(app, demandRequest(identity(app, campobasso.fiscalCode), { idServizio: '0001', formXml: goodForm() }), 'paDemandPaymentNotice');
    t.equal(badXsd.answer.faultCode, 'PAA_SINTASSI_XSD', 'idServizio of 4 characters fails the request XSD');

    // A service not payable at a PSP: its idServizio is known but the service is inactive.
    (await sqlRun(app.db, "UPDATE payment_services SET psp_service_id = '00007', active = 0 WHERE id = ?", (await getServiceByCode(app.db, campobasso.id, 'DIRITTI'))!.id));
    const diritti = (await getServiceByCode(app.db, campobasso.id, 'DIRITTI'))!;
    const r = await demand(buildServiceForm(campobasso, diritti, { debtor, fields: { pratica: 'Certificato prot. 12/2026' } }), '00007');
    t.equal(r.answer.faultCode, 'PAA_SEMANTICA', r.answer.faultDescription ?? '');
    t.ok(r.xsd.valid);
    const other = (await listEnti(app.db, { q: 'Termoli', kind: 'comune' }))[0]!;
    const elsewhere = await callStation(app, demandRequest(identity(app, other.fiscalCode), { idServizio: '00007', formXml: goodForm() }), 'paDemandPaymentNotice');
    t.equal(elsewhere.answer.faultCode, 'PAA_PAGAMENTO_SCONOSCIUTO', 'an idServizio belongs to one ente');
    t.equal((await countRows(app, 'positions')), before, 'no position created by a refused demand');

    const viaSimulator = await fetch(`${base}/simulators/pagopa/psp/servizi/${mensa.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ tipo: 'F', codiceFiscale: citizen.fiscalCode, nominativo: 'Lucia Ferrante', f_alunno: 'Marco', f_scuola: 'Primaria', importo: '900,00' }),
    });
    t.match(await viaSimulator.text(), /Pagamento non riuscito \(fase: demand\): <strong>PAA_SINTASSI_XSD<\/strong>/, 'the simulator shows the fault');
  });

  await t.test('the generated XSD validates a good form and rejects a bad one', async (t) => {
    const xsd = serviceFormXsd(campobasso, mensa);
    t.match(xsd, /<xs:element name="alunno">.*<xs:maxLength value="60"\/>/);
    t.match(xsd, /<xs:minInclusive value="1\.00"\/><xs:maxInclusive value="500\.00"\/>/, 'the service amount bounds');
    const schema = serviceFormSchema(campobasso, mensa);
    t.same(schema.validate(goodForm()), { valid: true, errors: [] });
    t.notOk(schema.validate(goodForm().replace('<scuola>', '<classe>').replace('</scuola>', '</classe>')).valid);
    t.notOk(schema.validate(goodForm(0)).valid);
    const diritti = { ...(await getServiceByCode(app.db, campobasso.id, 'DIRITTI'))!, pspServiceId: '00002' };
    t.notMatch(serviceFormXsd(campobasso, diritti), /importo/, 'a fixed-amount service has no amount in its form');
    t.match(serviceFormXsd(campobasso, diritti), /<xs:element name="pratica">/);
  });

  await t.test('admin: idServizio on the service form, XSD download for the SAEL admin only', async (t) => {
    const users = demoUserFiscalCodes();
    const admin = await loginAs(app, users.find((u) => u.role === 'sael_admin')!.fiscalCode);
    const url = `/admin/enti/${campobasso.id}/servizi/${mensa.id}/catalogo.xsd`;
    const download = await app.inject({ url, headers: { cookie: admin } });
    t.equal(download.statusCode, 200);
    t.match(download.headers['content-type'], /application\/xml/);
    t.match(download.headers['content-disposition'], /attachment; filename="servizio-00001-MENSA\.xsd"/);
    t.equal(download.body, serviceFormXsd(campobasso, mensa));
    const operator = await loginAs(app, users.find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode);
    t.equal((await app.inject({ url, headers: { cookie: operator, accept: 'text/html' } })).statusCode, 403, 'an operator of the ente may not');
    t.equal((await app.inject({ url, headers: { accept: 'text/html' } })).statusCode, 401);

    const page = await app.inject({ url: `/admin/enti/${campobasso.id}/servizi/${mensa.id}`, headers: { cookie: admin, accept: 'text/html' } });
    t.match(page.body, /name="pspServiceId" value="00001"/);
    t.match(page.body, new RegExp(`href="${url.replace(/\./g, '\\.')}"`), 'the download link');
    const { token } = await csrfFrom(app, `/admin/enti/${campobasso.id}/servizi/${mensa.id}`, admin);
    const fields = {
      _csrf: token, code: 'MENSA', name: 'Mensa scolastica', taxonomyCode: mensa.taxonomyCode, defaultIbanId: String(mensa.defaultIbanId), amountMode: 'free',
      minAmount: '1,00', maxAmount: '500,00', spontaneous: 'on', active: 'on',
    };
    const post = (extra: Record<string, string>) =>
      app.inject({ method: 'POST', url: `/admin/enti/${campobasso.id}/servizi/${mensa.id}`, headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ ...fields, ...extra }) });
    const bad = await post({ pspServiceId: '12' });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /idServizio del catalogo dei servizi pagoPA ha esattamente 5 caratteri/);
    const taken = await post({ pspServiceId: '00007' });
    t.equal(taken.statusCode, 400);
    t.match(taken.body, /già usato dal servizio «Diritti di segreteria»/);
    t.equal((await post({ pspServiceId: '00042' })).statusCode, 303);
    t.equal((await getServiceByCode(app.db, campobasso.id, 'MENSA'))!.pspServiceId, '00042');
    t.equal((await post({ pspServiceId: '00001' })).statusCode, 303);

    // The ente's admin edits the service but not its idServizio (set by the SAEL, which registers the catalogue).
    const termoli = (await listEnti(app.db, { q: 'Termoli', kind: 'comune' }))[0]!;
    const tm = (await getServiceByCode(app.db, termoli.id, 'MENSA'))!;
    const enteAdmin = await loginAs(app, users.find((u) => u.role === 'ente_admin')!.fiscalCode);
    const edit = `/admin/enti/${termoli.id}/servizi/${tm.id}`;
    const shown = await app.inject({ url: edit, headers: { cookie: enteAdmin, accept: 'text/html' } });
    t.notMatch(shown.body, /name="pspServiceId"/, 'no idServizio field for the ente admin');
    t.notMatch(shown.body, /catalogo\.xsd/, 'nor the download');
    const { token: t2 } = await csrfFrom(app, edit, enteAdmin);
    const saved = await app.inject({
      method: 'POST', url: edit, headers: { ...FORM_HEADERS, cookie: enteAdmin },
      payload: form({ ...fields, _csrf: t2, name: 'Mensa scolastica di Termoli', defaultIbanId: String(tm.defaultIbanId), pspServiceId: '00099' }),
    });
    t.equal(saved.statusCode, 303);
    const after = (await getServiceByCode(app.db, termoli.id, 'MENSA'))!;
    t.equal(after.name, 'Mensa scolastica di Termoli');
    t.equal(after.pspServiceId, '00001', 'the idServizio posted by the ente admin is ignored');
    t.equal((await app.inject({ url: `${edit}/catalogo.xsd`, headers: { cookie: enteAdmin, accept: 'text/html' } })).statusCode, 403);
  });
});
