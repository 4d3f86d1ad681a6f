/**
 * Sessions: a browser-session cookie, an idle lifetime enforced by the server, and no database
 * write per request (the expiry moves forward at most once a minute).
 */
import t from 'tap';
import { buildTestApp, loginAs } from './helpers.js';
import { sqlGet, sqlRun } from '../src/db/raw.js';
import { CachedSigner, SESSION_COOKIE, SESSION_TOUCH_MS } from '../src/plugins/sessions/index.js';
import { Signer } from '@fastify/cookie';
import { upsertUser } from '../src/modules/users/repository.js';
import { citizens } from './portal/fixtures.js';

t.test('idle lifetime on the server, one write a minute at most', async (t) => {
  const app = await buildTestApp(t, { SESSION_TTL_MINUTES: '30' });
  const ttl = 30 * 60_000;
  const { lucia } = citizens();
  await upsertUser(app.db, lucia, { actor: 'test' });
  const cookie = await loginAs(app, lucia.fiscalCode);
  const expiresAt = async () => (await sqlGet<{ e: number }>(app.db, 'SELECT expires_at AS e FROM sessions'))!.e;
  const setExpires = (e: number) => sqlRun(app.db, 'UPDATE sessions SET expires_at = ?', e);
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
    await setExpires(recent);
    const res = await get();
    t.equal(res.statusCode, 200);
    t.equal(res.headers['set-cookie'], undefined, 'no Set-Cookie on every response');
    t.equal(await expiresAt(), recent, 'no write');
  });

  await t.test('a session last used more than a minute ago gets its full lifetime again', async (t) => {
    await setExpires(Date.now() + ttl - SESSION_TOUCH_MS - 10_000);
    const before = Date.now();
    t.equal((await get()).statusCode, 200);
    t.ok((await expiresAt()) >= before + ttl, 'expiry moved to now + lifetime');
  });

  await t.test('a session idle for the whole lifetime is over', async (t) => {
    await setExpires(Date.now() - 1);
    const res = await get();
    t.equal(res.statusCode, 303, 'back to the login page');
    t.match(res.headers.location, /^\/accesso\?next=/);
  });
});

t.test('machine routes (SOAP station, REST API, metrics) neither read nor create sessions', async (t) => {
  const app = await buildTestApp(t, { SESSION_TTL_MINUTES: '30' });
  const { lucia } = citizens();
  await upsertUser(app.db, lucia, { actor: 'test' });
  const cookie = await loginAs(app, lucia.fiscalCode);
  const old = Date.now() + 30 * 60_000 - SESSION_TOUCH_MS - 10_000;
  await sqlRun(app.db, 'UPDATE sessions SET expires_at = ?', old);
  const expiresAt = async () => (await sqlGet<{ e: number }>(app.db, 'SELECT expires_at AS e FROM sessions'))!.e;
  const calls = [
    app.inject({ method: 'POST', url: '/pagopa/paForNode', headers: { cookie, 'content-type': 'text/xml', soapaction: 'paVerifyPaymentNotice' }, payload: '<x/>' }),
    app.inject({ url: '/api/v1/positions', headers: { cookie } }),
    app.inject({ url: '/metrics', headers: { cookie } }),
  ];
  for (const res of await Promise.all(calls)) {
    t.equal(res.headers['set-cookie'], undefined, `${res.statusCode} ${res.body.slice(0, 40)}: no cookie`);
  }
  t.equal((await calls[1]!).statusCode, 401, 'the API does not accept a browser session');
  t.equal(await expiresAt(), old, 'the session was not even read (its expiry would have moved)');
  t.equal((await sqlGet<{ n: number }>(app.db, 'SELECT count(*) AS n FROM sessions'))!.n, 1, 'no session created');
  // A page still loads it.
  t.equal((await app.inject({ url: '/area-personale', headers: { cookie, accept: 'text/html' } })).statusCode, 200);
  t.ok((await expiresAt()) > old, 'pages use the session');
});

t.test('the cookie signer keeps signatures it computed, and still refuses every forgery', async (t) => {
  const secret = 'x'.repeat(40);
  const plain = new Signer(secret, 'sha256');
  const signer = new CachedSigner(secret, 3);
  const cookie = signer.sign('abc');
  t.equal(cookie, plain.sign('abc'), 'the same HMAC-SHA256 signature as @fastify/cookie');
  t.equal(signer.sign('abc'), cookie);
  t.strictSame(signer.unsign(cookie), { valid: true, renew: false, value: 'abc' });
  const sig = cookie.slice(cookie.lastIndexOf('.') + 1);
  const flipped = sig[0] === 'A' ? `B${sig.slice(1)}` : `A${sig.slice(1)}`;
  t.equal(signer.unsign(`abc.${flipped}`).valid, false, 'a known id with a wrong signature');
  t.equal(signer.unsign(`abc.${sig}x`).valid, false, 'a longer signature');
  t.equal(signer.unsign(`abd.${sig}`).valid, false, 'another id with this signature');
  t.equal(signer.unsign('abc').valid, false, 'no signature');
  t.equal(signer.unsign(new Signer('y'.repeat(40), 'sha256').sign('abc')).valid, false, 'signed with another secret');
  // A cookie verified in full is kept too; the oldest ids go first.
  const fresh = new CachedSigner(secret, 3);
  t.strictSame(fresh.unsign(plain.sign('p')), { valid: true, renew: false, value: 'p' });
  for (const id of ['q', 'r', 's', 't']) fresh.sign(id);
  t.strictSame(fresh.unsign(plain.sign('p')), { valid: true, renew: false, value: 'p' }, 'evicted: verified in full again');
  t.equal(fresh.unsign(`p.${flipped}`).valid, false);
  t.throws(() => new CachedSigner('short'), /32/);
});

t.test('a session cookie with a forged signature is a new anonymous session', async (t) => {
  const app = await buildTestApp(t);
  const { lucia } = citizens();
  await upsertUser(app.db, lucia, { actor: 'test' });
  const cookie = await loginAs(app, lucia.fiscalCode);
  t.equal((await app.inject({ url: '/area-personale', headers: { cookie } })).statusCode, 200, 'the real cookie (its signature now kept)');
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1).split(';')[0]!);
  const dot = value.lastIndexOf('.');
  const forged = `${value.slice(0, dot + 1)}${value[dot + 1] === 'A' ? 'B' : 'A'}${value.slice(dot + 2)}`;
  const res = await app.inject({ url: '/area-personale', headers: { cookie: `${SESSION_COOKIE}=${encodeURIComponent(forged)}` } });
  t.equal(res.statusCode, 303, 'not signed in');
  t.match(res.headers.location, /^\/accesso/);
});
