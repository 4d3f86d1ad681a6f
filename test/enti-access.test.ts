/**
 * API keys and global roles from the admin pages (#14 §5): keys are created by the SAEL admin or
 * the ente's own admin, shown once, listed with their last use, revoked; the global roles
 * (helpdesk, sael_admin) are granted and revoked by the SAEL admin, never the last sael_admin.
 * Every write is CSRF-checked and audited. Last use is written at most once a minute per key.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { demoUserFiscalCodes } from '../src/modules/enti/demo-seed.js';
import { listEnti } from '../src/modules/enti/repository.js';
import { API_KEY_LAST_USE_RESOLUTION_MS, authenticateApiKey, createApiKey } from '../src/modules/users/repository.js';
import { numericFiscalCodeFromBase, personalCheckChar } from '../src/domain/fiscal-code.js';
import { runCli } from '../src/cli-commands.js';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs, tempDir } from './helpers.js';
import { sqlGet } from '../src/db/raw.js';

const count = async (app: FastifyInstance, table: string, where = '1 = 1') =>
  ((await sqlGet(app.db, `SELECT count(*) AS n FROM ${table} WHERE ${where}`)) as { n: number }).n;
const demo = (role: string, nth = 0) => demoUserFiscalCodes().filter((u) => u.role === role)[nth]!.fiscalCode;
const enteNamed = async (app: FastifyInstance, name: string) => (await listEnti(app.db, { q: name, kind: 'comune' })).find((e) => e.name === `Comune di ${name}`)!;

t.test('API keys of an ente from its admin page', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const termoli = await enteNamed(app, 'Termoli');
  const campobasso = await enteNamed(app, 'Campobasso');
  const enteAdmin = await loginAs(app, demo('ente_admin')); // Anna Esposito, ente_admin of Termoli
  const operator = await loginAs(app, demo('operator', 1)); // Francesco Colombo, operator of Termoli
  const page = `/admin/enti/${termoli.id}`;
  const { token } = await csrfFrom(app, page, enteAdmin);
  const post = (url: string, cookie: string, fields: Record<string, string>) =>
    app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie }, payload: form(fields) });
  const api = (key: string) => app.inject({ method: 'GET', url: '/api/v1/positions', headers: { authorization: `Bearer ${key}`, accept: 'application/json' } });

  let key = '';
  await t.test('the ente admin creates a key: shown once, not cached, usable, audited', async (t) => {
    const res = await post(`${page}/chiavi-api`, enteAdmin, { _csrf: token, keyLabel: 'Gestionale tributi' });
    t.equal(res.statusCode, 200);
    t.equal(res.headers['cache-control'], 'no-store');
    key = /data-testid="api-key"[^>]*>([^<]+)<\/textarea>/.exec(res.body)?.[1] ?? '';
    t.match(key, /^sael_[A-Za-z0-9_-]{40,}$/);
    t.match(res.body, /non sarà più mostrata/);
    t.equal((await api(key)).statusCode, 200, 'the API accepts it');
    const audit = (await sqlGet(app.db, "SELECT * FROM audit_log WHERE entity = 'api_key' AND action = 'create'")) as Record<string, string>;
    t.equal(Number(audit.ente_id), termoli.id);
    t.match(audit.actor, /^user:\d+$/);
    t.notMatch(audit.after, key.slice(12), 'the key is not in the audit log');
    const detail = await app.inject({ url: page, headers: { accept: 'text/html', cookie: enteAdmin } });
    t.match(detail.body, 'Gestionale tributi');
    t.match(detail.body, `<code>${key.slice(0, 11)}…</code>`, 'listed by its first characters');
    t.notMatch(detail.body, key, 'never shown again');
    t.notMatch(detail.body, 'mai usata', 'its use is shown');
  });

  await t.test('bad input and other people: clear errors, nothing written', async (t) => {
    const before = await count(app, 'api_keys');
    const short = await post(`${page}/chiavi-api`, enteAdmin, { _csrf: token, keyLabel: ' x ' });
    t.equal(short.statusCode, 400);
    t.match(short.body, /Descrivi a cosa serve la chiave/);
    t.equal((await post(`${page}/chiavi-api`, enteAdmin, { keyLabel: 'senza token' })).statusCode, 403, 'no CSRF token');
    const other = await csrfFrom(app, `/admin/enti/${termoli.id}`, enteAdmin);
    t.equal((await post(`/admin/enti/${campobasso.id}/chiavi-api`, enteAdmin, { _csrf: other.token, keyLabel: 'Altro comune' })).statusCode, 403, 'another ente');
    const byOperator = await post(`${page}/chiavi-api`, operator, { _csrf: (await csrfFrom(app, '/', operator)).token, keyLabel: 'Operatore' });
    t.equal(byOperator.statusCode, 403, `an operator: ${byOperator.statusCode} ${byOperator.body.slice(0, 200)}`);
    t.equal((await app.inject({ url: page, headers: { accept: 'text/html', cookie: operator } })).statusCode, 403);
    t.equal((await post(`${page}/chiavi-api`, '', { keyLabel: 'Anonimo' })).statusCode, 403, 'anonymous: refused (no session, no CSRF token)');
    t.equal(await count(app, 'api_keys'), before);
  });

  await t.test('revoked: the API refuses it at once, the page says so, audited once', async (t) => {
    const row = (await sqlGet(app.db, 'SELECT id FROM api_keys WHERE ente_id = ?', termoli.id)) as { id: number };
    const campobassoKey = await createApiKey(app.db, campobasso.id, 'Altro', { actor: 'test' });
    t.equal((await post(`${page}/chiavi-api/${campobassoKey.id}/revoca`, enteAdmin, { _csrf: token })).statusCode, 404, "another ente's key through this ente");
    t.equal((await api(campobassoKey.key)).statusCode, 200);
    const res = await post(`${page}/chiavi-api/${row.id}/revoca`, enteAdmin, { _csrf: token });
    t.equal(res.statusCode, 303);
    t.equal(res.headers.location, `${page}#chiavi-api`);
    t.equal((await api(key)).statusCode, 401);
    t.equal((await post(`${page}/chiavi-api/${row.id}/revoca`, enteAdmin, { _csrf: token })).statusCode, 303, 'twice is harmless');
    t.equal(await count(app, 'audit_log', "entity = 'api_key' AND action = 'revoke'"), 1);
    const detail = await app.inject({ url: page, headers: { accept: 'text/html', cookie: enteAdmin } });
    t.match(detail.body, /Revocata il/);
  });

  await t.test('the SAEL admin manages the keys of any ente', async (t) => {
    const admin = await loginAs(app, demo('sael_admin'));
    const { token: adminToken } = await csrfFrom(app, `/admin/enti/${campobasso.id}`, admin);
    const res = await post(`/admin/enti/${campobasso.id}/chiavi-api`, admin, { _csrf: adminToken, keyLabel: 'Gestionale Campobasso' });
    t.equal(res.statusCode, 200);
  });
});

t.test('last use of a key: written at most once a minute, also across processes', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const termoli = await enteNamed(app, 'Termoli');
  const { id, key } = await createApiKey(app.db, termoli.id, 'Prova', { actor: 'test' });
  const lastUsed = async () => ((await sqlGet(app.db, 'SELECT last_used_at AS v FROM api_keys WHERE id = ?', id)) as { v: string | null }).v;
  // Writes to the key's row: SQLite's change counter of the connection; PostgreSQL's xmin of the row (every UPDATE, even to the same value, makes a new row version).
  const changes = async () => ((await sqlGet(app.db, { sqlite: 'SELECT total_changes() + 0 * ? AS n', postgres: 'SELECT xmin::text AS n FROM api_keys WHERE id = ?' }, id)) as { n: number | string }).n;
  t.equal(await lastUsed(), null);
  const t0 = new Date('2030-01-01T10:00:00.000Z');
  const at = (ms: number) => new Date(t0.getTime() + ms);
  t.ok(await authenticateApiKey(app.db, key, t0));
  t.equal(await lastUsed(), t0.toISOString(), 'first use recorded');
  const writesBefore = await changes();
  for (let s = 1; s < 60; s += 1) t.ok(await authenticateApiKey(app.db, key, at(s * 1000)));
  t.equal(await changes(), writesBefore, '59 calls within the minute: no write');
  t.equal(await lastUsed(), t0.toISOString());
  t.ok(await authenticateApiKey(app.db, key, at(API_KEY_LAST_USE_RESOLUTION_MS + 1)));
  t.equal(await lastUsed(), at(API_KEY_LAST_USE_RESOLUTION_MS + 1).toISOString(), 'a minute later: recorded again');
  t.equal(await authenticateApiKey(app.db, `${key}x`, at(120_000)), null);
});

t.test('global roles from /admin/ruoli', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const admin = await loginAs(app, demo('sael_admin'));
  const enteAdmin = await loginAs(app, demo('ente_admin'));
  const helpdesk = await loginAs(app, demo('helpdesk'));
  const { token } = await csrfFrom(app, '/admin/ruoli', admin);
  const post = (url: string, fields: Record<string, string>, cookie = admin) =>
    app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie }, payload: form(fields) });
  const first15 = 'BLUGNN80A01B519';
  const newcomer = first15 + personalCheckChar(first15);

  await t.test('only the SAEL admin sees and changes them', async (t) => {
    const res = await app.inject({ url: '/admin/ruoli', headers: { accept: 'text/html', cookie: admin } });
    t.equal(res.statusCode, 200);
    t.match(res.body, /data-testid="helpdesk-grants"[\s\S]*Laura Bianchi/);
    t.match(res.body, /data-testid="sael-admin-grants"[\s\S]*Mario Rossi \(tu\)/);
    for (const cookie of [enteAdmin, helpdesk]) {
      t.equal((await app.inject({ url: '/admin/ruoli', headers: { accept: 'text/html', cookie } })).statusCode, 403);
      t.equal((await post('/admin/ruoli', { _csrf: token, fiscalCode: newcomer, role: 'sael_admin' }, cookie)).statusCode, 403);
    }
    t.equal((await post('/admin/ruoli', { fiscalCode: newcomer, role: 'helpdesk' })).statusCode, 403, 'no CSRF token');
    t.equal(await count(app, 'users', `fiscal_code = '${newcomer}'`), 0);
  });

  await t.test('grant: bad fiscal code or role re-shown with messages; a good one audited and listed', async (t) => {
    const bad = await post('/admin/ruoli', { _csrf: token, fiscalCode: `${first15}Z`.replace(/.$/, personalCheckChar(first15) === 'Z' ? 'Y' : 'Z'), role: 'operator' });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /Codice fiscale della persona non valido/);
    t.match(bad.body, /Scegli il ruolo: helpdesk o amministratore S\.A\.E\.L\./);
    const ok = await post('/admin/ruoli', { _csrf: token, fiscalCode: newcomer.toLowerCase(), role: 'helpdesk' });
    t.equal(ok.statusCode, 303);
    t.equal(ok.headers.location, '/admin/ruoli');
    const res = await app.inject({ url: '/admin/ruoli', headers: { accept: 'text/html', cookie: admin } });
    t.match(res.body, new RegExp(`data-testid="helpdesk-grants"[\\s\\S]*${newcomer}[\\s\\S]*data-testid="sael-admin-grants"`));
    t.equal(await count(app, 'audit_log', "entity = 'role_grant' AND action = 'grant' AND ente_id IS NULL"), 1);
  });

  await t.test('revoke; the last SAEL admin cannot be revoked', async (t) => {
    const grant = async (role: string, cf: string) =>
      ((await sqlGet(app.db, 'SELECT g.id FROM role_grants g JOIN users u ON u.id = g.user_id WHERE g.role = ? AND u.fiscal_code = ?', role, cf)) as { id: number } | undefined)?.id;
    const helpdeskGrant = await grant('helpdesk', newcomer)!;
    t.equal((await post(`/admin/ruoli/${helpdeskGrant}/revoca`, { _csrf: token })).statusCode, 303);
    t.equal(await grant('helpdesk', newcomer), undefined);
    t.equal((await post(`/admin/ruoli/${helpdeskGrant}/revoca`, { _csrf: token })).statusCode, 404);
    const operatorGrant = ((await sqlGet(app.db, "SELECT id FROM role_grants WHERE role = 'operator'")) as { id: number }).id;
    t.equal((await post(`/admin/ruoli/${operatorGrant}/revoca`, { _csrf: token })).statusCode, 404, 'a per-ente grant is not a global role');
    const onlyAdmin = await grant('sael_admin', demo('sael_admin'))!;
    const refused = await post(`/admin/ruoli/${onlyAdmin}/revoca`, { _csrf: token });
    t.equal(refused.statusCode, 409);
    t.match(refused.body, /unico amministratore S\.A\.E\.L\./);
    t.ok(await grant('sael_admin', demo('sael_admin')), 'still an admin');
    t.equal(await count(app, 'audit_log', "entity = 'role_grant' AND action = 'revoke'"), 1);
    // With a second admin, the first can go.
    t.equal((await post('/admin/ruoli', { _csrf: token, fiscalCode: newcomer, role: 'sael_admin' })).statusCode, 303);
    t.equal((await post(`/admin/ruoli/${onlyAdmin}/revoca`, { _csrf: token })).statusCode, 303);
    t.equal(await grant('sael_admin', demo('sael_admin')), undefined);
  });
});

t.test('CLI: apikey:list and apikey:revoke, as on the pages', async (t) => {
  const dir = tempDir(t);
  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { env: { DATA_DIR: dir }, out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const enteCf = numericFiscalCodeFromBase('8000000004');
  t.equal((await cli('ente:add', '--name', 'Comune di Chiavi', '--cf', enteCf, '--ipa', 'c_keys', '--member')).code, 0);
  const created = await cli('apikey:create', '--ente', enteCf, '--label', 'gestionale');
  t.equal(created.code, 0, created.err);
  const id = /chiave API (\d+)/.exec(created.out)![1]!;
  const listed = await cli('apikey:list', '--ente', enteCf);
  t.match(listed.out, new RegExp(`^${id}\tsael_.{6}…\tgestionale\t.+\tmai usata\tattiva$`));
  t.notMatch(listed.out, created.out.split('\n')[1]!, 'the key itself is not listed');
  t.equal((await cli('apikey:revoke', '--ente', enteCf, '--id', '999')).code, 1);
  t.equal((await cli('apikey:revoke', '--ente', enteCf, '--id', 'x')).code, 2);
  const revoked = await cli('apikey:revoke', '--ente', enteCf, '--id', id);
  t.equal(revoked.code, 0, revoked.err);
  t.match((await cli('apikey:list', '--ente', enteCf)).out, /\trevocata \d{4}-/);
});
