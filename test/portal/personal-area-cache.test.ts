/**
 * The personal area reuses a citizen's sections while their data did not change (citizen-cache.ts,
 * debtor_versions triggers): every kind of write must show on the very next page view.
 */
import { openAppDatabase } from '../../src/db/open.js';
import { sqlRun } from '../../src/db/raw.js';
import t from 'tap';
import { buildTestApp, loginAs } from '../helpers.js';
import { upsertUser } from '../../src/modules/users/repository.js';
import { debtorStamp } from '../../src/modules/portal/citizen-cache.js';
import { newReceiptId, sendRtRequest } from '../../src/simulators/pagopa/node-messages.js';
import { cancel, citizens, comune, createCitizenPosition, fullName } from './fixtures.js';

t.test('every write to a citizen’s data shows on the next view of the personal area', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const { lucia, antonio } = citizens();
  await upsertUser(app.db, lucia, { actor: 'test' });
  const cookie = await loginAs(app, lucia.fiscalCode);
  const view = async () => {
    const res = await app.inject({ url: '/area-personale', headers: { cookie, accept: 'text/html' } });
    t.equal(res.statusCode, 200);
    return res.body;
  };
  const stamp = async () => await debtorStamp(app.db, lucia.fiscalCode, '2026-01-01');

  const first = await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { description: 'Canone idrico primo' });
  t.match(await view(), 'Canone idrico primo');
  const s0 = await stamp();
  const perRequest = (html: string) => html.replace(/nonce="[^"]*"/g, 'nonce=""').replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value=""');
  t.equal(perRequest(await view()), perRequest(await view()), 'same data, same page (but for nonce and CSRF token)');
  t.equal(await stamp(), s0, 'reading writes nothing');

  await t.test('a new position', async (t) => {
    await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { description: 'Mensa scolastica ottobre' });
    t.not(await stamp(), s0);
    t.match(await view(), 'Mensa scolastica ottobre');
  });

  await t.test('someone else’s position changes nothing for her', async (t) => {
    const before = await stamp();
    await createCitizenPosition(app, antonio.fiscalCode, fullName(antonio), { description: 'Posizione di Antonio' });
    t.equal(await stamp(), before);
    t.notMatch(await view(), 'Posizione di Antonio');
  });

  await t.test('a receipt from the node moves the notice to «Pagati»', async (t) => {
    const ente = await comune(app, 'Campobasso');
    const option = first.options[0]!;
    const id = { idPA: ente.fiscalCode, idBrokerPA: app.config.pagopa.brokerId, idStation: app.config.pagopa.stationId };
    const debtorXml = `<uniqueIdentifier><entityUniqueIdentifierType>F</entityUniqueIdentifierType><entityUniqueIdentifierValue>${lucia.fiscalCode}</entityUniqueIdentifierValue></uniqueIdentifier><fullName>${fullName(lucia)}</fullName>`;
    const body = sendRtRequest(id, {
      v2: true,
      receiptId: newReceiptId(),
      noticeNumber: option.noticeNumber,
      fiscalCode: ente.fiscalCode,
      data: {
        creditorReferenceId: option.iuv,
        paymentAmountCents: option.amountCents,
        dueDate: option.dueDate,
        description: 'Canone idrico primo',
        companyName: ente.name,
        debtorXml,
        debtorFiscalCode: lucia.fiscalCode,
        transfers: option.transfers.map((tr) => ({
          idTransfer: tr.idTransfer,
          amountCents: tr.amountCents,
          fiscalCodePA: tr.fiscalCodePA,
          iban: tr.iban ?? '',
          remittanceInformation: tr.remittanceInformation,
          transferCategory: tr.taxonomyCode,
          metadata: [],
        })),
      },
    });
    const before = await view();
    t.notMatch(before, /\/ricevute\/\d+\.pdf/);
    const res = await app.inject({ method: 'POST', url: '/pagopa/paForNode', headers: { 'content-type': 'text/xml', soapaction: 'paSendRTV2' }, payload: body });
    t.match(res.body, '<outcome>OK</outcome>');
    const after = await view();
    t.match(after, /\/ricevute\/\d+\.pdf/, 'the receipt link is there at once');
    t.match(after, /Pagati \(1\)/);
  });

  await t.test('a cancelled position', async (t) => {
    const p = await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { description: 'Trasporto scolastico' });
    t.match(await view(), /Trasporto scolastico/);
    await cancel(app, p);
    t.match(await view(), /Annullati dall’ente[\s\S]*Trasporto scolastico/);
  });

  await t.test('a new name of the comune', async (t) => {
    const before = await stamp();
    (await sqlRun(app.db, "UPDATE enti SET name = 'Comune di Campobasso (CB)' WHERE name = 'Comune di Campobasso'"));
    t.not(await stamp(), before);
    t.match(await view(), 'Comune di Campobasso (CB)');
  });

  await t.test('a write by another process (the CLI) on the same file', async (t) => {
    const other = await openAppDatabase(app.config);
    await sqlRun(other.db, "UPDATE positions SET description = 'Mensa scolastica novembre' WHERE description = 'Mensa scolastica ottobre'");
    await other.close();
    const body = await view();
    t.match(body, 'Mensa scolastica novembre');
    t.notMatch(body, 'Mensa scolastica ottobre');
  });
});

t.test('the stamp follows the day: what is payable depends on today', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const { lucia } = citizens();
  t.not(await debtorStamp(app.db, lucia.fiscalCode, '2026-11-26'), await debtorStamp(app.db, lucia.fiscalCode, '2026-11-27'));
});
