/**
 * The new-position form starts from the service's pagoPA taxonomy code (issue #14 §5): prefilled
 * for the service the select shows, taken from the chosen service when the operator leaves it
 * empty, never overriding a code the operator typed.
 */
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { listServices } from '../../src/modules/enti/repository.js';
import { withServiceTaxonomy } from '../../src/modules/backoffice/position-form.js';
import { sqlGet } from '../../src/db/raw.js';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { demoEnte, inDays } from '../positions/fixtures.js';

t.test('withServiceTaxonomy', async (t) => {
  const services = [
    { code: 'CUP', taxonomyCode: '9/0101101IM/' },
    { code: 'TARI', taxonomyCode: '9/0101108TS/' },
  ];
  t.equal(withServiceTaxonomy({}, services).taxonomyCode, '9/0101101IM/', 'no service chosen: the first one, which the select shows');
  t.equal(withServiceTaxonomy({}, services).serviceCode, 'CUP');
  t.equal(withServiceTaxonomy({ serviceCode: 'TARI', taxonomyCode: ' ' }, services).taxonomyCode, '9/0101108TS/', 'empty: the chosen service’s');
  t.equal(withServiceTaxonomy({ serviceCode: 'TARI', taxonomyCode: '9/0201101IM/' }, services).taxonomyCode, '9/0201101IM/', 'typed: kept');
  t.equal(withServiceTaxonomy({ serviceCode: 'NOPE' }, services).taxonomyCode, undefined, 'unknown service: left to the validation');
});

t.test('the form prefills the code and a position saved without one gets the service’s', async (t) => {
  const app = await buildTestApp(t);
  const { ente } = await demoEnte(app, 'Campobasso');
  const op = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'operator')!.fiscalCode);
  const services = await listServices(app.db, ente.id, { activeOnly: true });
  const tari = services.find((s) => s.code === 'TARI')!;
  const base = `/backoffice/enti/${ente.id}/posizioni`;

  const page = await app.inject({ url: `${base}/nuova`, headers: { cookie: op, accept: 'text/html' } });
  t.equal(page.statusCode, 200);
  t.match(page.body, new RegExp(`id="f-taxonomyCode" name="taxonomyCode" value="${services[0]!.taxonomyCode.replace(/\//g, '\\/')}"`), 'prefilled with the first service’s code');
  t.match(page.body, new RegExp(`<option value="TARI" data-taxonomy="${tari.taxonomyCode.replace(/\//g, '\\/')}"`), 'each service carries its code for the script');
  t.match(page.body, /src="\/static\/js\/position-form.js"/);

  const { token } = await csrfFrom(app, `${base}/nuova`, op);
  const res = await app.inject({
    method: 'POST',
    url: base,
    headers: { ...FORM_HEADERS, cookie: op },
    payload: form({ _csrf: token, serviceCode: 'TARI', description: 'TARI 2026', taxonomyCode: '', debtorType: 'F', debtorFiscalCode: 'RSSMRA85T10A562S', debtorName: 'Mario Rossi', singleAmount: '120,00', singleDue: inDays(30), publish: 'false' }),
  });
  t.equal(res.statusCode, 303, res.body.slice(0, 300));
  const saved = await sqlGet<{ code: string }>(app.db, 'SELECT t.taxonomy_code AS code FROM transfers t JOIN payment_options o ON o.id = t.option_id ORDER BY t.id DESC LIMIT 1');
  t.equal(saved?.code, tari.taxonomyCode, 'the TARI service’s code');
});
