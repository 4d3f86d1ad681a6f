import t from 'tap';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { sqlGet, sqlRun } from '../src/db/raw.js';
import { buildTestApp, tempDir } from './helpers.js';

t.test('boots in demo mode on a temporary database', async (t) => {
  const app = await buildTestApp(t);

  await t.test('health and readiness', async (t) => {
    const h = await app.inject('/healthz');
    t.equal(h.statusCode, 200);
    t.same(h.json(), { status: 'ok' });
    const r = await app.inject('/readyz');
    t.equal(r.statusCode, 200);
    t.same(r.json(), { status: 'ready', detail: app.database.dialect });
  });

  await t.test('readiness fails when migrations are missing', async (t) => {
    // The migrations table: drizzle's node-postgres migrator keeps it in the "drizzle" schema.
    const table = app.database.dialect === 'postgres' ? 'drizzle.__drizzle_migrations' : '__drizzle_migrations';
    await sqlRun(app.db, `CREATE TABLE __backup AS SELECT * FROM ${table}`);
    await sqlRun(app.db, `DELETE FROM ${table}`);
    t.teardown(async () => {
      await sqlRun(app.db, `INSERT INTO ${table} SELECT * FROM __backup`);
      await sqlRun(app.db, 'DROP TABLE __backup');
    });
    const r = await app.inject('/readyz');
    t.equal(r.statusCode, 503);
    t.match(r.json(), { status: 'not-ready' });
  });

  await t.test('home page lists the demo comuni, in Italian, with the layout', async (t) => {
    const res = await app.inject({ url: '/', headers: { accept: 'text/html' } });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /text\/html/);
    t.match(res.body, /<html lang="it">/);
    for (const name of ['Comune di Campobasso', 'Comune di Termoli', 'Comune di Bojano', 'Comune di Larino', 'Comune di Riccia', 'Comune di Trivento'])
      t.match(res.body, name);
    t.match(res.body, /Altri comuni della provincia \(78\)/);
    t.match(res.body, /Comune di Acquaviva Collecroce/);
    t.match(res.body, /class="skiplinks"/);
    t.match(res.body, /<footer[^>]*>[\s\S]*data-element="accessibility-link"[\s\S]*<\/footer>/);
    t.match(res.body, /<footer[^>]*>[\s\S]*data-element="privacy-policy-link"[\s\S]*<\/footer>/);
    t.match(res.body, /href="\/static\/css\/bootstrap-italia.css"/);
    const nonce = /script-src 'self' 'nonce-([^']+)'/.exec(String(res.headers['content-security-policy']))?.[1];
    t.ok(nonce, 'CSP carries a script nonce');
    t.match(res.body, `nonce="${nonce}"`, 'the page scripts use it');
    t.match(nonce, /^[A-Za-z0-9_-]{22}$/, '128 random bits');
    const nonces = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const again = await app.inject({ url: '/accessibilita', headers: { accept: 'text/html' } });
      nonces.add(/'nonce-([^']+)'/.exec(String(again.headers['content-security-policy']))![1]!);
    }
    t.equal(nonces.size, 300, 'a new nonce on every response (also across refills of the entropy buffer)');
    t.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
    t.equal(res.headers['x-content-type-options'], 'nosniff');
    t.equal(res.headers['referrer-policy'], 'same-origin');
    const search = await app.inject({ url: '/?q=termo', headers: { accept: 'text/html' } });
    t.match(search.body, 'Comune di Termoli');
    t.notMatch(search.body, 'Comune di Campobasso');
  });

  await t.test('every template value is escaped', async (t) => {
    const res = await app.inject({ url: '/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E', headers: { accept: 'text/html' } });
    t.equal(res.statusCode, 200);
    t.notMatch(res.body, '<script>alert(1)</script>');
    t.match(res.body, '&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  await t.test('security headers', async (t) => {
    const res = await app.inject('/healthz');
    const csp = String(res.headers['content-security-policy']);
    t.match(csp, "default-src 'self'");
    t.match(csp, "frame-ancestors 'none'");
    t.match(csp, "object-src 'none'");
    t.match(csp, "form-action 'self'");
    t.notMatch(csp, /script-src[^;]*unsafe-inline/);
    t.equal(res.headers['x-content-type-options'], 'nosniff');
    t.equal(res.headers['referrer-policy'], 'same-origin');
    t.ok(res.headers['x-ratelimit-limit'] === undefined || Number(res.headers['x-ratelimit-limit']) > 0);
  });

  await t.test('static assets are served locally', async (t) => {
    const css = await app.inject('/static/css/bootstrap-italia.css');
    t.equal(css.statusCode, 200);
    const fonts = await app.inject('/static/css/fonts.css');
    t.equal(fonts.statusCode, 200);
    t.match(fonts.body, /\/bi\/fonts\/Titillium_Web\//);
    const font = await app.inject('/bi/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-regular.woff2');
    t.equal(font.statusCode, 200);
  });

  await t.test('unknown routes 404, wrong methods 405, as problem+json or Italian HTML', async (t) => {
    const nf = await app.inject('/non-esiste');
    t.equal(nf.statusCode, 404);
    t.match(nf.headers['content-type'], /application\/problem\+json/);
    t.match(nf.json(), { status: 404, title: 'Pagina non trovata' });
    const nfHtml = await app.inject({ url: '/non-esiste', headers: { accept: 'text/html' } });
    t.equal(nfHtml.statusCode, 404);
    t.match(nfHtml.body, /Pagina non trovata/);
    const wrong = await app.inject({ method: 'DELETE', url: '/healthz' });
    t.equal(wrong.statusCode, 405);
    t.match(wrong.headers.allow, /GET/);
    t.match(wrong.json(), { status: 405 });
    const wrongParam = await app.inject({ method: 'DELETE', url: '/admin/enti/12' });
    t.equal(wrongParam.statusCode, 405, 'parametric routes too');
  });

  await t.test('oversized and malformed bodies', async (t) => {
    const auditRows = () => sqlGet(app.db, 'SELECT count(*) AS n FROM audit_log');
    const before = await auditRows();
    const big = await app.inject({
      method: 'POST',
      url: '/logout',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `a=${'x'.repeat(app.config.bodyLimitBytes + 10)}`,
    });
    t.equal(big.statusCode, 413);
    t.match(big.json(), { status: 413, title: 'Contenuto troppo grande' });
    const badJson = await app.inject({ method: 'POST', url: '/logout', headers: { 'content-type': 'application/json' }, payload: '{"a":' });
    t.equal(badJson.statusCode, 400);
    t.match(badJson.json(), { status: 400, errors: [{ field: 'body' }] });
    t.same(await auditRows(), before, 'nothing written');
  });

});

t.test('validation errors name the field', async (t) => {
  const app = await buildTestApp(t);
  const res = await app.inject({ url: `/?q=${'x'.repeat(100)}` });
  t.equal(res.statusCode, 400);
  const body = res.json();
  t.equal(body.errors[0].field, 'querystring.q');
  t.match(body.errors[0].message, /troppo lungo/);
});

t.test('validators compiled on first request (tests, CLI) answer exactly as those compiled at start (server)', async (t) => {
  const lazy = await buildTestApp(t); // no background workers: compiled on first use
  const eager = await buildApp(loadConfig({ DATA_DIR: tempDir(t), LOG_LEVEL: 'silent', SEED_DEMO: 'false' }), { logger: false, backgroundWorkers: true, demoPositions: false, demoCatalogue: false });
  t.teardown(() => eager.close());
  const cases = [
    { url: `/?q=${'x'.repeat(100)}` }, // querystring too long
    { url: '/?q=Campobasso' }, // valid
    { url: '/api/v1/positions', method: 'POST' as const, payload: { nope: 1 }, headers: { authorization: 'Bearer x' } }, // body shape (after auth)
    { url: '/paga-avviso?codiceAvviso=123' }, // a pattern
  ];
  for (const c of cases) {
    const [a, b] = [await lazy.inject(c), await eager.inject(c)];
    t.equal(a.statusCode, b.statusCode, `${c.url}: same status`);
    if (a.statusCode === 400 && String(a.headers['content-type']).includes('json')) t.same(a.json().errors, b.json().errors, `${c.url}: same errors`);
  }
  // twice: the compiled validator is reused and still reports its errors
  t.equal((await lazy.inject(cases[0]!)).statusCode, 400);
});

t.test('a server error shows neither the message nor a stack trace', async (t) => {
  const app = await buildTestApp(t);
  app.get('/test-only/boom', async () => {
    throw new Error('dettaglio interno segreto');
  });
  const html = await app.inject({ url: '/test-only/boom', headers: { accept: 'text/html' } });
  t.equal(html.statusCode, 500);
  t.match(html.body, /Errore interno/);
  t.notMatch(html.body, /dettaglio interno segreto/);
  t.notMatch(html.body, /\.ts:\d+/);
  const json = await app.inject({ url: '/test-only/boom' });
  t.equal(json.statusCode, 500);
  t.match(json.headers['content-type'], /problem\+json/);
  t.notMatch(json.body, /segreto/);
});
