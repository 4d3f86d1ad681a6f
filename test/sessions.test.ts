/**
 * Sessions: a browser-session cookie, an idle lifetime enforced by the server, and no database
 * write per request (the expiry moves forward at most once a minute).
 */
import t from 'tap';
import { buildTestApp, loginAs } from './helpers.js';
import { SESSION_TOUCH_MS } from '../src/plugins/sessions/index.js';
import { upsertUser } from '../src/modules/users/repository.js';
import { citizens } from './portal/fixtures.js';

t.test('idle lifetime on the server, one write a minute at most', async (t) => {
  const app = await buildTestApp(t, { SESSION_TTL_MINUTES: '30' });
  const ttl = 30 * 60_000;
  const { lucia } = citizens();
  upsertUser(app.db, lucia, { actor: 'test' });
  const cookie = loginAs(app, lucia.fiscalCode);
  const expiresAt = () => (app.sqlite.prepare('SELECT expires_at AS e FROM sessions').get() as { e: number }).e;
  const setExpires = (e: number) => app.sqlite.prepare('UPDATE sessions SET expires_at = ?').run(e);
  const get = () => app.inject({ url: '/area-personale', headers: { cookie, accept: 'text/html' } });

  await t.test('the first page stores the CSRF secret in the session: a browser-session cookie', async (t) => {
    const res = await get();
    const set = String(res.headers['set-cookie'] ?? '');
    t.match(set, /sael_sid=/);
    t.notMatch(set, /Max-Age|Expires/i, 'no lifetime on the cookie: it ends with the browser');
    t.match(set, /HttpOnly/);
    t.match(set, /SameSite=Lax/);
  });

  await t.test('a page view neither sets a cookie nor writes the row when the session was just used', async (t) => {
    const recent = Date.now() + ttl - 5_000;
    setExpires(recent);
    const res = await get();
    t.equal(res.statusCode, 200);
    t.equal(res.headers['set-cookie'], undefined, 'no Set-Cookie on every response');
    t.equal(expiresAt(), recent, 'no write');
  });

  await t.test('a session last used more than a minute ago gets its full lifetime again', async (t) => {
    setExpires(Date.now() + ttl - SESSION_TOUCH_MS - 10_000);
    const before = Date.now();
    t.equal((await get()).statusCode, 200);
    t.ok(expiresAt() >= before + ttl, 'expiry moved to now + lifetime');
  });

  await t.test('a session idle for the whole lifetime is over', async (t) => {
    setExpires(Date.now() - 1);
    const res = await get();
    t.equal(res.statusCode, 303, 'back to the login page');
    t.match(res.headers.location, /^\/accesso\?next=/);
  });
});

t.test('machine routes (SOAP station, REST API, metrics) neither read nor create sessions', async (t) => {
  const app = await buildTestApp(t, { SESSION_TTL_MINUTES: '30' });
  const { lucia } = citizens();
  upsertUser(app.db, lucia, { actor: 'test' });
  const cookie = loginAs(app, lucia.fiscalCode);
  const old = Date.now() + 30 * 60_000 - SESSION_TOUCH_MS - 10_000;
  app.sqlite.prepare('UPDATE sessions SET expires_at = ?').run(old);
  const expiresAt = () => (app.sqlite.prepare('SELECT expires_at AS e FROM sessions').get() as { e: number }).e;
  const calls = [
    app.inject({ method: 'POST', url: '/pagopa/paForNode', headers: { cookie, 'content-type': 'text/xml', soapaction: 'paVerifyPaymentNotice' }, payload: '<x/>' }),
    app.inject({ url: '/api/v1/positions', headers: { cookie } }),
    app.inject({ url: '/metrics', headers: { cookie } }),
  ];
  for (const res of await Promise.all(calls)) {
    t.equal(res.headers['set-cookie'], undefined, `${res.statusCode} ${res.body.slice(0, 40)}: no cookie`);
  }
  t.equal((await calls[1]!).statusCode, 401, 'the API does not accept a browser session');
  t.equal(expiresAt(), old, 'the session was not even read (its expiry would have moved)');
  t.equal((app.sqlite.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n, 1, 'no session created');
  // A page still loads it.
  t.equal((await app.inject({ url: '/area-personale', headers: { cookie, accept: 'text/html' } })).statusCode, 200);
  t.ok(expiresAt() > old, 'pages use the session');
});
