/**
 * Comune pages (#14 §5): a member comune shows its address and telephone and a "Paga un avviso"
 * that arrives with the comune already chosen; a comune not payable on the portal (not a member,
 * or a member without an active service and IBAN yet) has a page saying how to pay its notices
 * today and how it can join, linked from the home.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { createEnte } from '../../src/modules/enti/repository.js';
import { numericFiscalCodeFromBase } from '../../src/domain/fiscal-code.js';
import { telHref } from '../../src/modules/portal/routes.js';
import { buildTestApp } from '../helpers.js';
import { comune } from './fixtures.js';

const HTML = { accept: 'text/html' };
const get = (app: FastifyInstance, url: string) => app.inject({ method: 'GET', url, headers: HTML });

t.test('telHref: Italian numbers as typed become +39 tel: targets; junk gives none', async (t) => {
  t.equal(telHref('0874 000 001'), '+390874000001');
  t.equal(telHref('+39 0875-000002'), '+390875000002');
  t.equal(telHref('chiamare in orario'), null);
  t.equal(telHref(null), null);
});

t.test('comune pages', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const campobasso = await comune(app, 'Campobasso');

  await t.test('a member comune: demo address and telephone, flagged as demo', async (t) => {
    const res = await get(app, `/comuni/${campobasso.ipaCode}`);
    t.equal(res.statusCode, 200);
    t.match(res.body, /<dt>Indirizzo<\/dt><dd>Piazza del Municipio 1, 86100 Campobasso<\/dd>/);
    t.match(res.body, /<dt>Telefono<\/dt><dd><a href="tel:\+390874000001">0874 000 001<\/a><\/dd>/);
    t.match(res.body, /data-testid="demo-contacts"[^>]*>Ambiente dimostrativo/);
  });

  await t.test('"Paga un avviso" from the comune page arrives with the comune chosen and no error', async (t) => {
    const page = await get(app, `/comuni/${campobasso.ipaCode}`);
    const href = /href="(\/paga-avviso\?ente=\d+)" data-testid="pay-notice-link"/.exec(page.body)?.[1];
    t.equal(href, `/paga-avviso?ente=${campobasso.id}`);
    const res = await get(app, href!);
    t.equal(res.statusCode, 200, 'the ente alone is not a lookup: no 400');
    t.match(res.body, new RegExp(`<option value="${campobasso.id}" selected>Campobasso</option>`));
    t.notMatch(res.body, /selected>(?!Campobasso)/, 'only that comune is selected');
    t.notMatch(res.body, /is-invalid|alert-danger/, 'no error shown before the citizen typed anything');
    // A typed code with the ente still looks the notice up (the form's normal use).
    const typed = await get(app, `/paga-avviso?ente=${campobasso.id}&codiceAvviso=123`);
    t.equal(typed.statusCode, 400);
  });

  await t.test('a comune that is not a member: how to pay its notices and how to join, linked from the home', async (t) => {
    const home = await get(app, '/');
    const others = /data-testid="other-comuni">([\s\S]*?)<\/ul>/.exec(home.body)?.[1] ?? '';
    const link = /<a href="(\/comuni\/c_[a-z0-9]+)">Comune di Acquaviva Collecroce<\/a>/.exec(others)?.[1];
    t.ok(link, 'non-member comuni are links, not dead text');
    const res = await get(app, link!);
    t.equal(res.statusCode, 200);
    t.match(res.body, /<h1[^>]*>Comune di Acquaviva Collecroce<\/h1>/);
    t.match(res.body, /non ha ancora attivato i pagamenti sul portale provinciale/);
    t.match(res.body, /checkout\.pagopa\.it/);
    t.match(res.body, /Il tuo comune vuole aderire\?/);
    t.match(res.body, /Contatti del S\.A\.E\.L\./);
    t.match(res.body, /href="mailto:sael@example\.invalid\?subject(?:=|&#x3D;)Adesione%20del%20Comune%20di%20Acquaviva%20Collecroce/);
    t.match(res.body, /href="tel:\+390874000000"/);
    t.notMatch(res.body, /\/paga-avviso\?ente=/, 'no "Paga un avviso" preselecting an ente that cannot be paid here');
  });

  await t.test('a member just added, without services or IBAN: the "being activated" page, not the services page', async (t) => {
    await createEnte(
            app.db,
            {
              kind: 'comune', name: 'Comune di Nuovaprova', fiscalCode: numericFiscalCodeFromBase('8000000077'), ipaCode: 'c_zz77', istatCode: null,
              segregationCode: '05', slogan: null, zone: null, address: null, phone: null, email: null, pec: null, website: null, officeHours: null, member: true,
            },
            { actor: 'test' },
          );
    const res = await get(app, '/comuni/c_zz77');
    t.equal(res.statusCode, 200);
    t.match(res.body, /ha aderito al portale provinciale e sta attivando i suoi servizi/);
    t.notMatch(res.body, /Servizi di pagamento/);
    const home = await get(app, '/');
    const members = /data-testid="member-comuni">([\s\S]*?)<\/ul>/.exec(home.body)?.[1] ?? '';
    t.notMatch(members, 'Nuovaprova', 'not among the aderenti');
  });
});
