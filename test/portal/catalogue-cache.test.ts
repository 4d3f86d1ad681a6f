/**
 * The home and "pay a notice" pages reuse their lists of enti and services while none changed
 * (catalogue-cache.ts, triggers of migrations 0005 and 0006): every insert, update and delete of
 * an ente or a service, also from another connection (another process), shows on the next view.
 */
import t from 'tap';
import { openAppDatabase } from '../../src/db/open.js';
import { sqlRun } from '../../src/db/raw.js';
import { addIban, createEnte, createService, getServiceByCode, listEnti, setIbanActive, updateService } from '../../src/modules/enti/repository.js';
import { ibanCheckDigits } from '../../src/domain/iban.js';
import { catalogueVersion } from '../../src/modules/portal/catalogue-cache.js';
import { buildTestApp } from '../helpers.js';

const by = { actor: 'test' };

t.test('home and pay-a-notice lists follow every change of enti and services', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  // Another connection to the same file, as another process (the CLI, a second server) would have.
  const other = await openAppDatabase(app.config);
  t.teardown(() => other.close());
  const page = async (url: string) => {
    const res = await app.inject({ url, headers: { accept: 'text/html' } });
    t.equal(res.statusCode, 200, url);
    return res.body;
  };
  const home = () => page('/');
  /** The "Comuni aderenti" list, and the "Altri comuni" one, of the home. */
  const members = (html: string) => /data-testid="member-comuni">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? '';
  const others = (html: string) => /data-testid="other-comuni">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? '';
  const payNotice = () => page('/paga-avviso');

  t.match(await home(), 'Campobasso');
  t.notMatch(await home(), 'Roccaprova');
  const v0 = await catalogueVersion(app.db);
  await home();
  await payNotice();
  t.equal(await catalogueVersion(app.db), v0, 'reading writes nothing');

  const ente = await createEnte(
      other.db,
      {
        kind: 'comune', name: 'Comune di Roccaprova', fiscalCode: '00000000018', ipaCode: 'c_zz01', istatCode: null, segregationCode: '77',
        slogan: null, zone: null, address: null, phone: null, email: null, pec: null, website: null, officeHours: null, member: true,
      },
      by,
    );
  const service = {
    code: 'ZZ_SOSTA', name: 'Sosta di Roccaprova', description: null, taxonomyCode: '9/0301109AP/', defaultIbanId: null, spontaneous: false,
    amountMode: 'free', fixedAmountCents: null, minAmountCents: null, maxAmountCents: null, active: true,
  } as const;
  await t.test('a new member comune, added by another connection, is listed once it has an active service and IBAN', async (t) => {
    t.not(await catalogueVersion(app.db), v0);
    t.notMatch(members(await home()), '/comuni/c_zz01', 'a bare member is not among the aderenti');
    t.match(others(await home()), 'href="/comuni/c_zz01"', 'but among the other comuni, linked to its page');
    t.notMatch(await payNotice(), `<option value="${ente.id}"`);
    await createService(other.db, ente.id, { ...service, code: 'ZZ_BASE', name: 'Servizio base ZZ' }, by);
    t.notMatch(members(await home()), '/comuni/c_zz01', 'a service but no IBAN yet');
    t.notMatch(await home(), 'Servizio base ZZ', 'nor is its service offered');
    const bban = 'X0306903800000000099901';
    const iban = await addIban(other.db, ente.id, { iban: `IT${ibanCheckDigits('IT', bban)}${bban}`, kind: 'bank', label: 'Tesoreria' }, by);
    t.match(members(await home()), 'href="/comuni/c_zz01"', 'listed with its link');
    t.notMatch(others(await home()), '/comuni/c_zz01');
    t.match(await home(), 'Servizio base ZZ');
    t.match(await payNotice(), `<option value="${ente.id}"`, 'and among the enti a notice can be paid to');
    await setIbanActive(other.db, ente.id, iban.id, false, by);
    t.notMatch(members(await home()), '/comuni/c_zz01', 'its only IBAN deactivated elsewhere: no longer listed');
    t.notMatch(await payNotice(), `<option value="${ente.id}"`);
    await setIbanActive(other.db, ente.id, iban.id, true, by);
    t.match(members(await home()), '/comuni/c_zz01');
  });

  await t.test('a new service, then deactivated, then deleted', async (t) => {
    await createService(other.db, ente.id, service, by);
    t.match(await home(), 'Sosta di Roccaprova');
    const created = (await getServiceByCode(other.db, ente.id, 'ZZ_SOSTA'))!;
    await updateService(other.db, ente.id, created.id, { ...service, active: false }, by);
    t.notMatch(await home(), 'Sosta di Roccaprova', 'an inactive service is not offered');
    await updateService(other.db, ente.id, created.id, { ...service, active: true }, by);
    t.match(await home(), 'Sosta di Roccaprova');
    await sqlRun(other.db, 'DELETE FROM payment_services WHERE id = ?', created.id);
    t.notMatch(await home(), 'Sosta di Roccaprova', 'a deleted service is gone');
  });

  await t.test('an ente that leaves, then is deleted', async (t) => {
    await sqlRun(other.db, 'UPDATE enti SET member = 0 WHERE id = ?', ente.id);
    t.notMatch(members(await home()), '/comuni/c_zz01', 'no longer among the members');
    t.notMatch(await payNotice(), `<option value="${ente.id}"`);
    await sqlRun(other.db, 'DELETE FROM payment_services WHERE ente_id = ?', ente.id);
    await sqlRun(other.db, 'DELETE FROM ente_ibans WHERE ente_id = ?', ente.id);
    t.match(others(await home()), '/comuni/c_zz01');
    await sqlRun(other.db, 'DELETE FROM enti WHERE id = ?', ente.id);
    t.notMatch(await home(), 'Roccaprova');
    t.equal((await listEnti(app.db, { q: 'Roccaprova' })).length, 0);
  });

  await t.test('a search is answered from the database, not from the cached lists', async (t) => {
    const found = await page('/?q=Termoli');
    t.match(found, '/comuni/');
    t.notMatch(found, '/comuni/c_b519"', 'Campobasso is not a match for Termoli');
  });
});

t.test('a comune page follows changes of its ente and services; unknown codes stay 404', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const other = await openAppDatabase(app.config);
  t.teardown(() => other.close());
  const page = async (url: string, status = 200) => {
    const res = await app.inject({ url, headers: { accept: 'text/html' } });
    t.equal(res.statusCode, status, url);
    return res.body;
  };
  const before = await page('/comuni/c_b519');
  t.match(before, 'Campobasso');
  t.notMatch(before, 'Lunedì chiuso per prova');
  await sqlRun(other.db, "UPDATE enti SET office_hours = 'Lunedì chiuso per prova' WHERE ipa_code = 'c_b519'");
  t.match(await page('/comuni/c_b519'), 'Lunedì chiuso per prova', 'contacts and hours from the ente, as changed elsewhere');
  const campobasso = (await listEnti(app.db, { q: 'Campobasso', kind: 'comune' }))[0]!;
  await createService(
        other.db,
        campobasso.id,
        {
          code: 'ZZ_PROVA', name: 'Servizio di prova ZZ', description: null, taxonomyCode: '9/0301109AP/', defaultIbanId: null, spontaneous: false,
          amountMode: 'free', fixedAmountCents: null, minAmountCents: null, maxAmountCents: null, active: true,
        },
        by,
      );
  t.match(await page('/comuni/c_b519'), 'Servizio di prova ZZ', 'a new service shows');
  await page('/comuni/c_zz99', 404);
  await page('/comuni/c_zz99', 404);
});
