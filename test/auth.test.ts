import t from 'tap';
import { hasRole, type CurrentUser } from '../src/plugins/auth.js';
import { demoUserFiscalCodes } from '../src/modules/enti/demo-seed.js';
import { getEnteByFiscalCode, listEnti } from '../src/modules/enti/repository.js';
import { sqlAll, sqlGet, sqlRun } from '../src/db/raw.js';
import { SUITE_ON_POSTGRES } from './db/pg-helpers.js';
import { openAppDatabase } from '../src/db/open.js';
import { buildTestApp, loginAs, SQLITE_ONLY } from './helpers.js';
import { startUserSession } from '../src/plugins/auth.js';
import { sessionCookieFrom } from './helpers.js';

const user = (grants: CurrentUser['grants']) => ({ grants });

t.test('hasRole implications', async (t) => {
  t.ok(hasRole(user([{ role: 'operator', enteId: 1 }]), 'operator', 1));
  t.notOk(hasRole(user([{ role: 'operator', enteId: 1 }]), 'operator', 2), 'other ente');
  t.notOk(hasRole(user([{ role: 'operator', enteId: 1 }]), 'ente_admin', 1), 'operator is not admin');
  t.ok(hasRole(user([{ role: 'ente_admin', enteId: 1 }]), 'operator', 1), 'ente admin can operate');
  t.notOk(hasRole(user([{ role: 'ente_admin', enteId: 1 }]), 'operator', 2));
  t.ok(hasRole(user([{ role: 'sael_admin', enteId: null }]), 'ente_admin', 7), 'SAEL admin administers every ente');
  t.notOk(hasRole(user([{ role: 'sael_admin', enteId: null }]), 'operator', 7), 'but does not operate positions');
  t.notOk(hasRole(user([{ role: 'sael_admin', enteId: null }]), 'helpdesk'));
  t.ok(hasRole(user([{ role: 'helpdesk', enteId: null }]), 'helpdesk'));
  t.notOk(hasRole(user([{ role: 'helpdesk', enteId: null }]), 'ente_admin', 1));
  t.notOk(hasRole(null, 'helpdesk'));
});

t.test('role guard matrix over real routes', async (t) => {
  const app = await buildTestApp(t);
  const demo = demoUserFiscalCodes();
  const cf = (role: string) => demo.find((u) => u.role === role)!.fiscalCode;
  const campobasso = (await listEnti(app.db, { q: 'Campobasso', kind: 'comune' }))[0]!;
  const termoli = (await listEnti(app.db, { q: 'Termoli' }))[0]!;
  t.ok(await getEnteByFiscalCode(app.db, termoli.fiscalCode));

  const cookies: Record<string, string | undefined> = {
    anonymous: undefined,
    operatorCampobasso: await loginAs(app, cf('operator')),
    enteAdminTermoli: await loginAs(app, cf('ente_admin')),
    helpdesk: await loginAs(app, cf('helpdesk')),
    saelAdmin: await loginAs(app, cf('sael_admin')),
  };
  // [url, expected status per user]
  const matrix: [string, Record<string, number>][] = [
    ['/admin/enti', { anonymous: 401, operatorCampobasso: 403, enteAdminTermoli: 403, helpdesk: 403, saelAdmin: 200 }],
    [`/admin/enti/${termoli.id}`, { anonymous: 401, operatorCampobasso: 403, enteAdminTermoli: 200, helpdesk: 403, saelAdmin: 200 }],
    [`/admin/enti/${campobasso.id}`, { anonymous: 401, operatorCampobasso: 403, enteAdminTermoli: 403, helpdesk: 403, saelAdmin: 200 }],
    [`/admin/enti/${campobasso.id}/servizi/nuovo`, { anonymous: 401, operatorCampobasso: 403, enteAdminTermoli: 403, helpdesk: 403, saelAdmin: 200 }],
    [`/admin/enti/${termoli.id}/servizi/nuovo`, { anonymous: 401, operatorCampobasso: 403, enteAdminTermoli: 200, helpdesk: 403, saelAdmin: 200 }],
    [`/admin/enti/${termoli.id}/modifica`, { anonymous: 401, operatorCampobasso: 403, enteAdminTermoli: 403, helpdesk: 403, saelAdmin: 200 }],
    ['/admin/enti/999999', { anonymous: 401, operatorCampobasso: 404, enteAdminTermoli: 404, helpdesk: 404, saelAdmin: 404 }],
  ];
  for (const [url, expected] of matrix) {
    for (const [who, status] of Object.entries(expected)) {
      const res = await app.inject({ url, headers: { accept: 'text/html', ...(cookies[who] ? { cookie: cookies[who] } : {}) } });
      t.equal(res.statusCode, status, `${who} GET ${url}`);
    }
  }
  // Another ente's service of the same id is not reachable through this ente's URL.
  const termoliService = (await sqlGet<{ id: number }>(app.db, 'SELECT id FROM payment_services WHERE ente_id = ? LIMIT 1', termoli.id))!;
  const res = await app.inject({
    url: `/admin/enti/${campobasso.id}/servizi/${termoliService.id}`,
    headers: { accept: 'text/html', cookie: cookies.saelAdmin! },
  });
  t.equal(res.statusCode, 404, 'service looked up within the ente of the URL');
  const api = await app.inject({ url: '/admin/enti' });
  t.equal(api.statusCode, 401);
  t.match(api.json(), { status: 401, title: 'Accesso richiesto' });
});

t.test('login rotates the session id and keeps nothing from before', async (t) => {
  const app = await buildTestApp(t);
  const cf = demoUserFiscalCodes()[0]!.fiscalCode;
  const userId = (await sqlGet<{ id: number }>(app.db, 'SELECT id FROM users WHERE fiscal_code = ?', cf))!.id;
  // Test-only routes on this instance: a page that touches the anonymous session, and a sign-in.
  app.get('/test-only/anon', async (request) => {
    request.session._csrf = 'anonymous-secret';
    return { ok: true };
  });
  app.post('/test-only/signin', { config: { csrf: false } }, async (request) => {
    await startUserSession(request, userId);
    return { csrf: request.session._csrf ?? null };
  });
  const anon = await app.inject('/test-only/anon');
  const before = sessionCookieFrom(anon)!;
  t.ok(before);
  const signin = await app.inject({ method: 'POST', url: '/test-only/signin', headers: { cookie: before } });
  const after = sessionCookieFrom(signin)!;
  t.ok(after);
  t.not(after, before, 'new session id');
  t.same(signin.json(), { csrf: null }, 'anonymous session data dropped');
  const oldStillValid = (await sqlGet<{ n: number }>(app.db, 'SELECT count(*) AS n FROM sessions'))!;
  t.equal(oldStillValid.n, 1, 'the old session row is gone, only the new one remains');
  const setCookie = signin.cookies.find((c) => c.name === 'sael_sid')!;
  t.equal(setCookie.httpOnly, true);
  t.equal(setCookie.sameSite, 'Lax');
  const home = await app.inject({ url: '/', headers: { accept: 'text/html', cookie: after } });
  t.match(home.body, /Mario Rossi/, 'the new session is signed in');
});

t.test('loadUser: the profile and every grant, in the order given', async (t) => {
  const app = await buildTestApp(t);
  const { grantRole, upsertUser } = await import('../src/modules/users/repository.js');
  const { loadUser } = await import('../src/plugins/auth.js');
  const [a, b] = await listEnti(app.db, { kind: 'comune' });
  const by = { actor: 'test' };
  const id = await upsertUser(app.db, { fiscalCode: 'BNCGVN80A01B519X', name: 'Giovanni', familyName: 'Bianchi', email: 'g@example.it' }, by);
  const { dataVersion, ...profile } = (await loadUser(app, id))!;
  t.strictSame(profile, { id, fiscalCode: 'BNCGVN80A01B519X', name: 'Giovanni', familyName: 'Bianchi', email: 'g@example.it', grants: [] }, 'no grants: an empty list');
  t.match(dataVersion, /^0:[1-9]\d*$/, 'no positions of theirs yet; the enti counter');
  await grantRole(app.db, id, 'operator', b!.id, by);
  await grantRole(app.db, id, 'helpdesk', null, by);
  await grantRole(app.db, id, 'ente_admin', a!.id, by);
  t.strictSame((await loadUser(app, id))!.grants, [
    { role: 'operator', enteId: b!.id },
    { role: 'helpdesk', enteId: null },
    { role: 'ente_admin', enteId: a!.id },
  ]);
  t.equal(await loadUser(app, 999_999), null, 'unknown id');
});

t.test('loading a user searches its grants by index, not every grant', { skip: SQLITE_ONLY }, async (t) => {
  const app = await buildTestApp(t);
  const { userColumns } = await import('../src/plugins/auth.js');
  const plan = (app.sqlite.prepare(`EXPLAIN QUERY PLAN SELECT ${userColumns('sqlite')} FROM users u WHERE u.id = ?`).all(1) as { detail: string }[]).map((r) => r.detail);
  t.notOk(plan.some((d) => /^SCAN (?!\(subquery)/.test(d)), `no table scanned: ${plan.join(' | ')}`);
  // Either of the partial unique indexes or role_grants_user (migration 0013): by user, never a scan.
  const byUser = plan.filter((d) => /SEARCH role_grants USING (COVERING )?INDEX role_grants_(unique_ente|unique_global|user) \(user_id=\?\)/.test(d));
  t.equal(byUser.length, 2, `per-ente and global grants searched by user: ${plan.join(' | ')}`);
});

t.test('on PostgreSQL too, loading a user searches its grants by index', { skip: SUITE_ON_POSTGRES ? false : 'PostgreSQL only' }, async (t) => {
  const app = await buildTestApp(t);
  const { userColumns } = await import('../src/plugins/auth.js');
  // An empty table is rightly scanned by PostgreSQL's planner: with sequential scans priced out, a
  // plan that still scans role_grants has no index it could use.
  const plan = await app.db.transaction(async () => {
    await sqlRun(app.db, 'SET LOCAL enable_seqscan = off');
    return (await sqlAll<{ 'QUERY PLAN': string }>(app.db, `EXPLAIN SELECT ${userColumns('postgres')} FROM users u WHERE u.id = ?`, 1)).map((r) => r['QUERY PLAN']).join('\n');
  });
  t.notMatch(plan, /Seq Scan on (role_grants|users|debtor_versions)\b/, `no table scanned:\n${plan}`);
  t.equal(plan.match(/(Index (Only )?Scan using|Bitmap Index Scan on) role_grants_(unique_ente|unique_global|user)\b/g)?.length, 2, `per-ente and global grants searched by user:\n${plan}`);
});

t.test('the signed-in user is read with the session row, fresh on every request', async (t) => {
  const app = await buildTestApp(t);
  const { grantRole, upsertUser } = await import('../src/modules/users/repository.js');
  const { sessionStoreOf } = await import('../src/plugins/sessions/index.js');
  const by = { actor: 'test' };
  const id = await upsertUser(app.db, { fiscalCode: 'BNCGVN80A01B519X', name: 'Giovanni', familyName: 'Bianchi' }, by);
  const cookie = await loginAs(app, 'BNCGVN80A01B519X');
  const helpdesk = () => app.inject({ url: '/helpdesk', headers: { cookie, accept: 'text/html' } });
  t.equal((await helpdesk()).statusCode, 403, 'no grant yet');
  await grantRole(app.db, id, 'helpdesk', null, by);
  t.equal((await helpdesk()).statusCode, 200, 'a grant counts from the next request');
  const grantId = (await sqlGet<{ id: number }>(app.db, "SELECT id FROM role_grants WHERE user_id = ? AND role = 'helpdesk'", id))!.id;
  // Another connection (the CLI, another process) revokes it: the same SQLite file or PostgreSQL database.
  const other = await openAppDatabase(app.config);
  t.teardown(() => other.close());
  await sqlRun(other.db, 'DELETE FROM role_grants WHERE id = ?', grantId);
  t.equal((await helpdesk()).statusCode, 403, 'a revocation counts from the next request');

  // The store hands the user over only for the session it read last, once.
  const store = sessionStoreOf(app);
  const sid = (await sqlGet<{ id: string }>(app.db, 'SELECT id FROM sessions'))!.id;
  await new Promise<void>(async (resolve, reject) => await store.get(sid, (err) => (err ? reject(err) : resolve())));
  t.equal((store.takeCompanion('another id')), undefined, 'not for another session');
  await new Promise<void>(async (resolve, reject) => await store.get(sid, (err) => (err ? reject(err) : resolve())));
  t.match(store.takeCompanion(sid), { value: { id, fiscalCode: 'BNCGVN80A01B519X', grants: [] } });
  t.equal(store.takeCompanion(sid), undefined, 'taken once');

  // A session whose user row is gone is anonymous.
  await sqlRun(other.db, 'DELETE FROM users WHERE id = ?', id);
  const gone = await app.inject({ url: '/area-personale', headers: { cookie, accept: 'text/html' } });
  t.equal(gone.statusCode, 303, 'to the login page');
});
