/**
 * Issue #14 §4 (security and robustness): malformed multipart bodies, error bodies without the
 * query, undecodable URLs, CSRF tokens out of URLs and Post/Redirect/Get, no-store on signed-in
 * pages, the Origin / Sec-Fetch-Site check, the SPID log key, fonts and favicon, /metrics and
 * /api/docs.
 */
import { Writable } from 'node:stream';
import t from 'tap';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { demoUserFiscalCodes } from '../src/modules/enti/demo-seed.js';
import { listEnti } from '../src/modules/enti/repository.js';
import { sqlGet } from '../src/db/raw.js';
import { buildTestApp, csrfFrom, FORM_HEADERS, form, loginAs, spidLogin, tempDir } from './helpers.js';

const users = demoUserFiscalCodes();
const ADMIN = users.find((u) => u.role === 'sael_admin')!.fiscalCode;
const HELPDESK = users.find((u) => u.role === 'helpdesk')!.fiscalCode;
const OPERATOR = users.find((u) => u.role === 'operator')!.fiscalCode;

function multipartBody(boundary: string, fields: Record<string, string>, file?: { name: string; filename: string; data: string }) {
  const parts = Object.entries(fields).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  if (file) parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n${file.data}\r\n`);
  return `${parts.join('')}--${boundary}--\r\n`;
}

t.test('malformed multipart bodies on every upload route answer 400 with a message, not 500', async (t) => {
  const app = await buildTestApp(t);
  const ente = (await listEnti(app.db, { q: 'Campobasso' })).find((e) => e.kind === 'comune')!;
  const operatorGrant = (await sqlGet<{ id: number }>(app.db, "SELECT ente_id AS id FROM role_grants g JOIN users u ON u.id = g.user_id WHERE u.fiscal_code = ? AND g.role = 'operator'", OPERATOR))!;
  const routes: { url: string; page: string; user: string }[] = [
    { url: `/backoffice/enti/${operatorGrant.id}/importazioni`, page: `/backoffice/enti/${operatorGrant.id}/importazioni`, user: OPERATOR },
    { url: '/helpdesk/ticket', page: '/helpdesk/ticket/nuovo', user: HELPDESK },
    { url: '/helpdesk/flussi', page: '/helpdesk/flussi', user: HELPDESK },
    { url: '/helpdesk/tesoreria', page: '/helpdesk/tesoreria', user: HELPDESK },
    { url: `/admin/enti/${ente.id}/stemma`, page: `/admin/enti/${ente.id}`, user: ADMIN },
  ];
  const long = 'b'.repeat(300);
  for (const route of routes) {
    const { token, cookie } = await csrfFrom(app, route.page, await loginAs(app, route.user));
    const field = (b: string) => `--${b}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n`;
    const cases = [
      ['no closing boundary', 'multipart/form-data; boundary=xyz', `${field('xyz')}--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nabc`],
      ['no boundary', 'multipart/form-data', `${field('xyz')}--xyz--\r\n`],
      ['boundary over 256 characters', `multipart/form-data; boundary=${long}`, `${field(long)}--${long}--\r\n`],
    ] as const;
    for (const [name, contentType, payload] of cases) {
      for (const accept of ['text/html', 'application/json']) {
        const res = await app.inject({ method: 'POST', url: route.url, headers: { cookie, accept, 'content-type': contentType }, payload });
        t.equal(res.statusCode, 400, `${route.url}, ${name}, ${accept}: 400`);
        t.match(res.body, /multipart\/form-data non valido/, `${route.url}, ${name}: says what is wrong`);
      }
    }
  }
});

t.test('error bodies keep the path only; an undecodable URL gets our answer with the security headers', async (t) => {
  const app = await buildTestApp(t);
  const res = await app.inject({ url: '/api/v1/positions?debtor=RSSMRA80A01B519X&_csrf=secret-token' });
  t.equal(res.statusCode, 400);
  t.equal(res.json().instance, '/api/v1/positions', 'no query in instance');
  t.notMatch(res.body, /RSSMRA80A01B519X|secret-token/);
  const missing = await app.inject({ url: '/nessuna/pagina?debtor=RSSMRA80A01B519X' });
  t.equal(missing.json().instance, '/nessuna/pagina');

  const html = await app.inject({ url: '/comuni/%ff', headers: { accept: 'text/html' } });
  t.equal(html.statusCode, 400);
  t.match(html.headers['content-type'], /text\/html/);
  t.match(html.body, /indirizzo richiesto non è valido/);
  t.match(html.headers['content-security-policy'], /default-src 'self'/);
  t.equal(html.headers['x-content-type-options'], 'nosniff');
  const json = await app.inject({ url: '/comuni/%ff' });
  t.equal(json.statusCode, 400);
  t.match(json.headers['content-type'], /application\/problem\+json/);
  t.equal(json.json().instance, '/comuni/%ff');
  t.ok(json.headers['content-security-policy']);
});

t.test('upload forms carry _csrf in the body, never in the URL; the query token is refused', async (t) => {
  const app = await buildTestApp(t);
  const staff = await loginAs(app, HELPDESK);
  for (const url of ['/helpdesk/tesoreria', '/helpdesk/flussi', '/helpdesk/ticket/nuovo']) {
    const page = await app.inject({ url, headers: { accept: 'text/html', cookie: staff } });
    t.notMatch(page.body, /action="[^"]*_csrf/, `${url}: no token in a form action`);
    t.match(page.body, /enctype="multipart\/form-data"[^>]*><input type="hidden" name="_csrf"/, `${url}: token is the first field`);
  }
  const ente = (await listEnti(app.db, { q: 'Termoli' }))[0]!;
  const admin = await loginAs(app, ADMIN);
  const detail = await app.inject({ url: `/admin/enti/${ente.id}`, headers: { accept: 'text/html', cookie: admin } });
  t.notMatch(detail.body, /action="[^"]*_csrf/, 'stemma form: no token in the action');

  const { token, cookie } = await csrfFrom(app, '/helpdesk/flussi', staff);
  const b = '----x';
  const headers = { cookie, accept: 'text/html', 'content-type': `multipart/form-data; boundary=${b}` };
  const xml = { name: 'file', filename: 'f.xml', data: '<a/>' };
  const inQuery = await app.inject({ method: 'POST', url: `/helpdesk/flussi?_csrf=${encodeURIComponent(token)}`, headers, payload: multipartBody(b, {}, xml) });
  t.equal(inQuery.statusCode, 403, 'a token in the URL is not accepted');
  const after = await app.inject({ method: 'POST', url: '/helpdesk/flussi', headers, payload: multipartBody(b, { note: 'x' }, xml) + '' });
  t.equal(after.statusCode, 403, 'no token field: refused before the file is read');
  const wrong = await app.inject({ method: 'POST', url: '/helpdesk/flussi', headers, payload: multipartBody(b, { _csrf: 'forged' }, xml) });
  t.equal(wrong.statusCode, 403);
  const ok = await app.inject({ method: 'POST', url: '/helpdesk/flussi', headers, payload: multipartBody(b, { _csrf: token }, xml) });
  t.not(ok.statusCode, 403, 'the token field before the file is accepted');
  // A multipart body cannot stand in for a form on a route that is not an upload.
  const logout = await app.inject({ method: 'POST', url: '/logout', headers, payload: multipartBody(b, { _csrf: token }) });
  t.equal(logout.statusCode, 403, 'multipart on a non-upload route: token not read, refused');
});

t.test('pages of a signed-in user are not stored by the browser; static files keep their caching', async (t) => {
  const app = await buildTestApp(t);
  const staff = await loginAs(app, HELPDESK);
  for (const url of ['/helpdesk', '/helpdesk/tesoreria', '/area-personale']) {
    const res = await app.inject({ url, headers: { accept: 'text/html', cookie: staff } });
    t.match(res.headers['cache-control'], /(^|[ ,])no-store($|,)/, `${url}: no-store`);
  }
  const css = await app.inject({ url: '/static/css/app.css', headers: { cookie: staff } });
  t.equal(css.statusCode, 200);
  t.not(css.headers['cache-control'], 'no-store', 'static files stay cacheable');
  const anonymous = await app.inject({ url: '/', headers: { accept: 'text/html' } });
  t.not(anonymous.headers['cache-control'], 'no-store', 'public pages unaffected');
});

t.test('state-changing requests from another site are refused (Origin, Sec-Fetch-Site)', async (t) => {
  const app = await buildTestApp(t);
  const staff = await loginAs(app, HELPDESK);
  const { token, cookie } = await csrfFrom(app, '/helpdesk/flussi', staff);
  const post = (headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/helpdesk/flussi/simulatore', headers: { ...FORM_HEADERS, cookie, ...headers }, payload: form({ _csrf: token }) });
  const cross = await post({ origin: 'https://evil.example' });
  t.equal(cross.statusCode, 403, 'foreign Origin with a valid token: refused');
  t.match(cross.body, /altro sito/);
  t.equal((await post({ 'sec-fetch-site': 'cross-site' })).statusCode, 403, 'Sec-Fetch-Site cross-site');
  t.equal((await post({ 'sec-fetch-site': 'same-site' })).statusCode, 403, 'Sec-Fetch-Site same-site');
  t.equal((await post({ origin: 'null' })).statusCode, 403, 'opaque origin');
  t.equal((await post({ 'sec-fetch-site': 'same-origin', origin: app.config.publicUrl })).statusCode, 303, 'same origin');
  t.equal((await post({ origin: 'http://localhost:80' })).statusCode, 303, 'the Host the request came to');
  t.equal((await post({})).statusCode, 303, 'no header (non-browser client): the token decides');
  // Not cookie-authenticated: the SOAP station answers whatever the Origin.
  const soap = await app.inject({ method: 'POST', url: '/pagopa/paForNode', headers: { 'content-type': 'text/xml', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, payload: '<x/>' });
  t.not(soap.statusCode, 403);
  t.match(soap.body, /soapenv:Envelope/);
});

t.test('SAML login log lines carry pino level and spidLevel, never two level keys', async (t) => {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } });
  const dir = tempDir(t);
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '100000' });
  const app = await buildApp(config, { logger: { level: 'info', stream }, backgroundWorkers: false });
  t.teardown(() => app.close());
  await spidLogin(app, { identity: `demo:${HELPDESK}`, level: '2' });
  const saml = lines.filter((l) => /"msg":"SAML (login|AuthnRequest sent)"/.test(l));
  t.equal(saml.length, 2, 'both SAML lines logged');
  for (const l of saml) {
    t.equal(l.match(/"level":/g)?.length, 1, 'one level key');
    const entry = JSON.parse(l) as { level: unknown; spidLevel: unknown };
    t.equal(entry.level, 30, 'pino level: info');
    t.equal(entry.spidLevel, 2, 'SPID level under its own key');
  }
});

t.test('fonts embedded by Bootstrap Italia are allowed; /favicon.ico is served', async (t) => {
  const app = await buildTestApp(t);
  const page = await app.inject({ url: '/', headers: { accept: 'text/html' } });
  t.match(page.headers['content-security-policy'], /font-src 'self' data:/);
  const icon = await app.inject({ url: '/favicon.ico' });
  t.equal(icon.statusCode, 200);
  t.equal(icon.headers['content-type'], 'image/x-icon');
  t.same([...icon.rawPayload.subarray(0, 4)], [0, 0, 1, 0], 'an ICO file');
});

t.test('/metrics needs its bearer token when one is set; /api/docs only where API_DOCS allows', async (t) => {
  const token = 'm'.repeat(40);
  const app = await buildTestApp(t, { METRICS_TOKEN: token, API_DOCS: 'off' });
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 401);
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
  const ok = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
  t.equal(ok.statusCode, 200);
  t.match(ok.body, /# TYPE/);
  t.equal((await app.inject({ url: '/api/docs' })).statusCode, 404, 'docs off');
  t.equal((await app.inject({ url: '/api/docs/json' })).statusCode, 404);
  const demo = await buildTestApp(t);
  t.equal((await demo.inject({ url: '/metrics' })).statusCode, 200, 'demo without a token: open');
  t.not((await demo.inject({ url: '/api/docs/json' })).statusCode, 404, 'demo: docs on by default');
  t.equal(loadConfig({}).apiDocs, true);
  t.throws(() => loadConfig({ METRICS_TOKEN: 'short' }), /METRICS_TOKEN non valida \(valore nascosto/);
});
