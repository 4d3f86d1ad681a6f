/**
 * The personal area is rendered once per citizen's data and cart count and reused (views.ts
 * PageOptions.reuse): every response must still carry its own CSRF token and CSP nonce, and what
 * the layout shows of the request (name, roles, cart count) must be the current one.
 */
import t from 'tap';
import { buildTestApp, FORM_HEADERS, form, loginAs } from '../helpers.js';
import { grantRole, upsertUser } from '../../src/modules/users/repository.js';
import { citizens, createCitizenPosition, fullName } from './fixtures.js';

t.test('a reused personal area: fresh token and nonce, current name, roles and cart', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const { lucia } = citizens();
  const id = await upsertUser(app.db, lucia, { actor: 'test' });
  const cookie = await loginAs(app, lucia.fiscalCode);
  const p = await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { description: 'Canone idrico' });
  const view = async () => {
    const res = await app.inject({ url: '/area-personale', headers: { cookie, accept: 'text/html' } });
    t.equal(res.statusCode, 200);
    return res;
  };
  const tokens = (html: string) => [...html.matchAll(/name="_csrf" value="([^"]*)"/g)].map((m) => m[1]!);
  const nonce = (html: string) => /<script [^>]*nonce="([^"]+)"/.exec(html)?.[1];

  const a = await view();
  const b = await view();
  t.equal(a.headers['cache-control'], 'private, no-store');
  for (const res of [a, b]) {
    const n = nonce(res.body);
    t.match(n, /^[A-Za-z0-9_-]{16,}$/, 'a nonce');
    t.match(String(res.headers['content-security-policy']), `'nonce-${n}'`, 'the same nonce as the CSP header');
    const ts = tokens(res.body);
    t.equal(ts.length, 2, 'the logout form and the pay form');
    t.equal(ts[0], ts[1], 'one token per response');
    t.match(ts[0], /^[A-Za-z0-9_-]{20,}$/);
  }
  t.not(nonce(a.body), nonce(b.body), 'a new nonce on every response');
  t.not(tokens(a.body)[0], tokens(b.body)[0], 'a new CSRF token on every response');
  const strip = (html: string) => html.replace(/nonce="[^"]*"/g, '').replace(/name="_csrf" value="[^"]*"/g, '');
  t.equal(strip(a.body), strip(b.body), 'otherwise the same page');

  // The token of a reused page is accepted: add the notice to the cart with it.
  const added = await app.inject({
    method: 'POST',
    url: '/carrello/aggiungi',
    headers: { ...FORM_HEADERS, cookie },
    payload: form({ _csrf: tokens(b.body)[0]!, opzione: String(p.options[0]!.id), azione: 'aggiungi' }),
  });
  t.equal(added.statusCode, 303, 'token accepted');
  t.match((await view()).body, /Carrello \(1<span class="visually-hidden"> avvisi<\/span>\)/, 'the cart count is the current one');

  await upsertUser(app.db, { fiscalCode: lucia.fiscalCode, name: 'Luciana' }, { actor: 'test' });
  t.match((await view()).body, /Luciana/, 'a new name shows at once');
  t.notMatch((await view()).body, /href="\/helpdesk"/);
  await grantRole(app.db, id, 'helpdesk', null, { actor: 'test' });
  t.match((await view()).body, /href="\/helpdesk"/, 'a new role shows in the header at once');
});
