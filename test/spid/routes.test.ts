/**
 * SPID/CIE login wired into the app: metadata, login, ACS, single logout, through the built-in
 * test IdP with real signatures and a real temporary SQLite database.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { eq } from 'drizzle-orm';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { personalCheckChar } from '../../src/domain/fiscal-code.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { buildRedirectLogoutRequest, buildPostLogoutRequest } from '../../src/modules/spid/logout.js';
import { XSD, childElements, NS, attr, verifyEnvelopedSignature } from '../../src/modules/spid/saml.js';
import { samlRequests } from '../../src/modules/spid/schema.js';
import { safeLocalTarget } from '../../src/modules/spid/routes.js';
import { buildTestIdpMetadata, generateTestIdpKeys } from '../../src/simulators/spid-idp/idp.js';
import { parseXmlSafely } from '../../src/xml/safe-parse.js';
import { getXsdSchema } from '../../src/xml/xsd.js';
import { sessions } from '../../src/plugins/sessions/schema.js';
import { SESSION_COOKIE } from '../../src/plugins/sessions/index.js';
import { users } from '../../src/modules/users/schema.js';
import {
  FORM_HEADERS,
  absorbCookies,
  buildTestApp,
  cookieHeader,
  form,
  htmlUnescape,
  injectPath,
  postForm,
  postToAcs,
  spidLogin,
  spidToAcs,
  tempDir,
} from '../helpers.js';
import { sqlRun } from '../../src/db/raw.js';

const CITIZEN_CF = 'FRRLCU88E52B519' + personalCheckChar('FRRLCU88E52B519');
const NEW_CF = 'BRNPLA70A01B519' + personalCheckChar('BRNPLA70A01B519');
const ADMIN_CF = demoUserFiscalCodes().find((d) => d.role === 'sael_admin')!.fiscalCode;

async function whoAmI(app: Awaited<ReturnType<typeof buildTestApp>>, jar: Map<string, string>): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html', cookie: cookieHeader(jar) } });
  const m = /<span class="text-white me-3">([^<]*)<\/span>/.exec(res.body);
  return m ? m[1]! : 'anonymous';
}

t.test('SP metadata: signed, valid against the SPID and CIE XSDs, served as SAML metadata', async (t) => {
  const app = await buildTestApp(t);
  for (const [url, xsd] of [
    ['/spid/metadata', XSD.spMetadataSpid()],
    ['/cie/metadata', XSD.spMetadataCie()],
  ] as const) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, url);
    t.match(res.headers['content-type'], /^application\/samlmetadata\+xml/);
    const v = getXsdSchema(xsd).validate(res.body);
    t.same(v.errors, [], `${url} valid against ${path.basename(xsd)}`);
    const root = parseXmlSafely(res.body).documentElement!;
    t.equal(attr(root, 'entityID'), 'https://localhost', 'demo entityID: PUBLIC_URL with https and no port');
    const sig = childElements(root, NS.ds, 'Signature')[0]!;
    t.ok(verifyEnvelopedSignature(res.body, sig, attr(root, 'ID')!, [app.spid!.runtime.keys.certPem]).ok, 'signature verifies with the SP cert');
    t.match(res.body, 'Location="http://localhost:3000/spid/acs"');
    const again = await app.inject({ method: 'GET', url });
    t.equal(again.body, res.body, 'cached: the same signed document every time');
  }
  t.ok(fs.existsSync(path.join(app.config.dataDir, 'spid-sp', 'key.pem')), 'SP key generated into DATA_DIR');
  t.ok(fs.existsSync(path.join(app.config.dataDir, 'spid-test-idp', 'key.pem')), 'test IdP key generated into DATA_DIR');
});

t.test('login page lists the IdPs (server-side, with the test IdP in demo) and the CIE button', async (t) => {
  const app = await buildTestApp(t);
  const res = await app.inject({ method: 'GET', url: '/accesso?next=/admin/enti', headers: { accept: 'text/html' } });
  t.equal(res.statusCode, 200);
  t.match(res.body, 'Entra con SPID');
  t.match(res.body, 'Entra con CIE');
  t.match(res.body, 'IdP di prova (demo)');
  t.match(htmlUnescape(res.body), 'href="/spid/login?idp=http%3A%2F%2Flocalhost%3A3000%2Fsimulators%2Fspid-idp&next=%2Fadmin%2Fenti"');
  t.match(res.body, 'https://www.spid.gov.it/richiedi-spid');
  t.notMatch(res.body, /<script(?![^>]*nonce=)/, 'no script without the CSP nonce');
  t.notMatch(res.body, /src="https?:\/\//, 'no third-party resources');
});

t.test('full login round trip through the test IdP: session rotated, user created, 303 to next', async (t) => {
  const app = await buildTestApp(t);
  const steps = await spidToAcs(app, { identity: 'custom', fiscalCode: NEW_CF, name: 'Paola', familyName: 'Bruno', email: 'p.bruno@example.org' }, { next: '/privacy?x=1' });
  // The AuthnRequest form: signed POST binding with an opaque RelayState.
  t.equal(steps.authnForm.action, 'http://localhost:3000/simulators/spid-idp/sso');
  t.match(steps.authnForm.fields.RelayState, /^[A-Za-z0-9_-]{43}$/);
  t.notMatch(steps.authnForm.fields.RelayState, /http/);
  const xml = Buffer.from(steps.authnForm.fields.SAMLRequest!, 'base64').toString('utf8');
  t.same(getXsdSchema(XSD.protocol()).validate(xml).errors, [], 'AuthnRequest valid against the SAML protocol XSD');
  t.match(xml, 'ForceAuthn="true"');
  t.match(xml, 'https://www.spid.gov.it/SpidL2');
  t.ok(steps.sessionBefore, 'the browser had an anonymous session before the ACS');
  const stored = await app.db.select().from(samlRequests);
  t.equal(stored.length, 1);
  t.notOk(stored[0]!.browserBinding.includes(steps.jar.get('sael_saml')!), 'only the hash of the binding value is stored');

  const res = await postToAcs(app, steps.acsForm, steps.jar);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/privacy?x=1');
  const after = steps.jar.get(SESSION_COOKIE);
  t.ok(after);
  t.not(after, steps.sessionBefore, 'session id rotated at login');
  t.equal(await whoAmI(app, steps.jar), 'Paola Bruno');
  const user = (await app.db.select().from(users).where(eq(users.fiscalCode, NEW_CF)).limit(1))[0];
  t.match(user, { name: 'Paola', familyName: 'Bruno', email: 'p.bruno@example.org' });
  const old = new Map([[SESSION_COOKIE, steps.sessionBefore!]]);
  t.equal(await whoAmI(app, old), 'anonymous', 'the pre-login session id is not logged in');
  const row = (await app.db.select().from(sessions)).find((s) => JSON.parse(s.data).userId === user!.id)!;
  t.match(JSON.parse(row.data).spid, { federation: 'spid', idp: 'http://localhost:3000/simulators/spid-idp', level: 2, sessionIndex: null });
});

t.test('demo staff log in with their roles; an existing user is updated', async (t) => {
  const app = await buildTestApp(t);
  const jar = await spidLogin(app, { identity: `demo:${ADMIN_CF}` }, { next: '/admin/enti' });
  const res = await app.inject({ method: 'GET', url: '/admin/enti', headers: { accept: 'text/html', cookie: cookieHeader(jar) } });
  t.equal(res.statusCode, 200, 'sael_admin reaches the admin pages');
  (await sqlRun(app.db, 'UPDATE users SET email = NULL WHERE fiscal_code = ?', ADMIN_CF));
  await spidLogin(app, { identity: 'custom', fiscalCode: ADMIN_CF, email: 'nuova@example.org' });
  const u = (await app.db.select().from(users).where(eq(users.fiscalCode, ADMIN_CF)).limit(1))[0]!;
  t.equal(u.email, 'nuova@example.org', 'a profile without email takes the one of the assertion');
  t.equal(u.name, 'Mario', 'name kept');
  await spidLogin(app, { identity: 'custom', fiscalCode: ADMIN_CF, email: 'altra@example.org' });
  t.equal((await app.db.select().from(users).where(eq(users.fiscalCode, ADMIN_CF)).limit(1))[0]!.email, 'nuova@example.org', 'the email chosen for receipts is not overwritten at the next login');
  // Demo citizen
  const cj = await spidLogin(app, { identity: `demo:${CITIZEN_CF}` });
  t.equal(await whoAmI(app, cj), 'Lucia Ferrante');
});

t.test('CIE login goes through /cie/login to the same ACS', async (t) => {
  const app = await buildTestApp(t);
  const steps = await spidToAcs(app, { identity: `demo:${CITIZEN_CF}` }, { loginUrl: '/cie/login?level=2' });
  const res = await postToAcs(app, steps.acsForm, steps.jar);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/');
  t.equal((await app.db.select().from(samlRequests).limit(1))[0]!.federation, 'cie');
});

t.test('a replayed Response is refused (4xx, no session)', async (t) => {
  const app = await buildTestApp(t);
  const steps = await spidToAcs(app, { identity: `demo:${CITIZEN_CF}` });
  const first = await postToAcs(app, steps.acsForm, steps.jar);
  t.equal(first.statusCode, 303);
  // Same POST again, from a fresh browser holding only the binding cookie.
  const jar2 = new Map([['sael_saml', steps.jar.get('sael_saml')!]]);
  const again = await postToAcs(app, steps.acsForm, jar2);
  t.equal(again.statusCode, 403);
  t.match(again.body, 'scaduta o è già stata usata');
  t.notOk(jar2.get(SESSION_COOKIE), 'no session cookie');
  // Even if the request row were reusable, the assertion-ID replay cache refuses it.
  await app.db.update(samlRequests).set({ consumedAt: null });
  const replayed = await postToAcs(app, steps.acsForm, jar2);
  t.equal(replayed.statusCode, 403);
  t.notOk(jar2.get(SESSION_COOKIE));
});

t.test('a Response bound to another browser is refused; the right browser can still use it', async (t) => {
  const app = await buildTestApp(t);
  const steps = await spidToAcs(app, { identity: `demo:${CITIZEN_CF}` });
  const stranger = new Map([['sael_saml', 'A'.repeat(43)]]);
  const res = await postToAcs(app, steps.acsForm, stranger);
  t.equal(res.statusCode, 403);
  t.match(res.body, 'non corrisponde a una richiesta di accesso partita da questo browser');
  t.notOk(stranger.get(SESSION_COOKIE));
  const noCookie = await postToAcs(app, steps.acsForm, new Map());
  t.equal(noCookie.statusCode, 403);
  const ok = await postToAcs(app, steps.acsForm, steps.jar);
  t.equal(ok.statusCode, 303);
});

t.test('an expired request is refused', async (t) => {
  const app = await buildTestApp(t);
  const steps = await spidToAcs(app, { identity: `demo:${CITIZEN_CF}` });
  await app.db.update(samlRequests).set({ expiresAt: Date.now() - 1000 });
  const before = steps.jar.get(SESSION_COOKIE);
  const res = await postToAcs(app, steps.acsForm, steps.jar);
  t.equal(res.statusCode, 403);
  t.match(res.body, 'scaduta');
  t.equal(steps.jar.get(SESSION_COOKIE), before, 'no new session');
  t.equal(await whoAmI(app, steps.jar), 'anonymous');
});

t.test('IdP error outcomes give an Italian page with 4xx and no session', async (t) => {
  const app = await buildTestApp(t);
  for (const [outcome, text] of [
    ['19', 'credenziali errate troppe volte'],
    ['20', 'livello di sicurezza richiesto'],
    ['21', 'tempo a disposizione'],
    ['22', 'non hai dato il consenso'],
    ['23', 'sospesa, revocata'],
    ['30', 'tipo di identità diverso'],
  ] as const) {
    const steps = await spidToAcs(app, { identity: `demo:${CITIZEN_CF}`, outcome });
    const res = await postToAcs(app, steps.acsForm, steps.jar);
    t.equal(res.statusCode, 403, `ErrorCode ${outcome}`);
    t.match(res.body, text);
    t.match(res.body, `ErrorCode nr${outcome}`);
    t.equal(await whoAmI(app, steps.jar), 'anonymous');
  }
  const steps = await spidToAcs(app, { identity: `demo:${CITIZEN_CF}`, action: 'cancel' });
  const res = await postToAcs(app, steps.acsForm, steps.jar);
  t.equal(res.statusCode, 403);
  t.match(res.body, 'Hai annullato l');
});

t.test('a level lower than requested, and an unsolicited Response, are refused', async (t) => {
  const app = await buildTestApp(t);
  const low = await spidToAcs(app, { identity: `demo:${CITIZEN_CF}`, level: '1' }, { level: 2 });
  const res = await postToAcs(app, low.acsForm, low.jar);
  t.equal(res.statusCode, 403);
  t.match(res.body, 'livello di sicurezza');
  const higher = await spidToAcs(app, { identity: `demo:${CITIZEN_CF}`, level: '3' }, { level: 2 });
  t.equal((await postToAcs(app, higher.acsForm, higher.jar)).statusCode, 303, 'a higher level is accepted');

  const steps = await spidToAcs(app, { identity: `demo:${CITIZEN_CF}` });
  const { RelayState: _drop, ...noRelay } = steps.acsForm.fields;
  await app.db.delete(samlRequests);
  const unsolicited = await postToAcs(app, { action: steps.acsForm.action, fields: noRelay }, steps.jar);
  t.equal(unsolicited.statusCode, 403);
  const missing = await app.inject({ method: 'POST', url: '/spid/acs', headers: FORM_HEADERS, payload: form({ RelayState: 'x' }) });
  t.equal(missing.statusCode, 400, 'no SAMLResponse → 400');
  const garbage = await app.inject({ method: 'POST', url: '/spid/acs', headers: FORM_HEADERS, payload: form({ SAMLResponse: 'bm90IHhtbA==' }) });
  t.equal(garbage.statusCode, 403);
});

t.test('open redirects in next are refused; unknown IdPs too', async (t) => {
  for (const bad of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)', '/a\nb', 'evil']) {
    t.equal(safeLocalTarget(bad), null, JSON.stringify(bad));
  }
  t.equal(safeLocalTarget('/admin/enti?x=1#f'), '/admin/enti?x=1#f');
  t.equal(safeLocalTarget(undefined), '/');
  const app = await buildTestApp(t);
  const idp = encodeURIComponent(`${app.config.publicUrl}/simulators/spid-idp`);
  for (const bad of ['%2F%2Fevil.example', 'https%3A%2F%2Fevil.example', '%2F%5Cevil.example']) {
    const res = await app.inject({ method: 'GET', url: `/spid/login?idp=${idp}&next=${bad}`, headers: { accept: 'text/html' } });
    t.equal(res.statusCode, 400, `next=${bad}`);
    t.notOk(res.cookies.find((c) => c.name === 'sael_saml'));
  }
  t.equal((await app.db.select().from(samlRequests)).length, 0, 'no request state stored');
  const unknown = await app.inject({ method: 'GET', url: '/spid/login?idp=https%3A%2F%2Fevil.example', headers: { accept: 'text/html' } });
  t.equal(unknown.statusCode, 400);
  const badLevel = await app.inject({ method: 'GET', url: `/spid/login?idp=${idp}&level=4`, headers: { accept: 'text/html' } });
  t.equal(badLevel.statusCode, 400);
  const ok = await app.inject({ method: 'GET', url: `/spid/login?idp=${idp}`, headers: { accept: 'text/html' } });
  t.equal(ok.statusCode, 200);
  t.match(ok.headers['content-security-policy'], /script-src 'nonce-/);
  t.match(ok.body, /<script nonce="[^"]+">/);
  const c = ok.cookies.find((x) => x.name === 'sael_saml')!;
  t.match(c, { path: '/spid', httpOnly: true, sameSite: 'Lax' });
});

t.test('SP-initiated logout round trip through the test IdP', async (t) => {
  const app = await buildTestApp(t);
  const jar = await spidLogin(app, { identity: `demo:${CITIZEN_CF}` });
  const home = await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html', cookie: cookieHeader(jar) } });
  const token = /name="_csrf" value="([^"]+)"/.exec(home.body)![1]!;
  const loggedInCookie = cookieHeader(jar);
  const out = await app.inject({ method: 'POST', url: '/logout', headers: { ...FORM_HEADERS, cookie: loggedInCookie }, payload: form({ _csrf: token }) });
  t.equal(out.statusCode, 200, 'auto-submit form to the IdP SLO');
  absorbCookies(jar, out);
  const toIdp = postForm(out.body);
  t.equal(toIdp.action, 'http://localhost:3000/simulators/spid-idp/slo');
  t.equal(await whoAmI(app, new Map([[SESSION_COOKIE, /sael_sid=([^;]+)/.exec(loggedInCookie)![1]!]])), 'anonymous', 'local session ended first');
  const idpRes = await app.inject({ method: 'POST', url: injectPath(toIdp.action), headers: FORM_HEADERS, payload: form(toIdp.fields) });
  t.equal(idpRes.statusCode, 200);
  const back = postForm(idpRes.body);
  t.equal(back.action, 'http://localhost:3000/spid/slo');
  t.equal(back.fields.RelayState, toIdp.fields.RelayState);
  const done = await app.inject({ method: 'POST', url: '/spid/slo', headers: FORM_HEADERS, payload: form(back.fields) });
  t.equal(done.statusCode, 200);
  t.match(done.body, 'Sei uscito');
  const replay = await app.inject({ method: 'POST', url: '/spid/slo', headers: FORM_HEADERS, payload: form(back.fields) });
  t.equal(replay.statusCode, 403, 'a LogoutResponse is accepted once');
  // A plain (non-SPID) session just ends.
  const plain = await app.inject({ method: 'POST', url: '/logout', headers: FORM_HEADERS, payload: form({}) });
  t.equal(plain.statusCode, 403, 'CSRF still required on /logout');
});

t.test('IdP-initiated LogoutRequest (POST and Redirect) ends the session and is answered with a signed LogoutResponse', async (t) => {
  const app = await buildTestApp(t);
  const dir = path.join(app.config.dataDir, 'spid-test-idp');
  const idpKeys = { keyPem: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), certPem: fs.readFileSync(path.join(dir, 'crt.pem'), 'utf8') };
  const signer = { entityId: `${app.config.publicUrl}/simulators/spid-idp`, keys: idpKeys };
  const sessionInfo = async () =>
    (await app.db.select().from(sessions)).map((s) => JSON.parse(s.data).spid).filter(Boolean) as { nameId: string; nameQualifier: string }[];

  const jar = await spidLogin(app, { identity: `demo:${CITIZEN_CF}` });
  const info = (await sessionInfo())[0]!;
  const req = buildPostLogoutRequest({ signer, destination: 'http://localhost:3000/spid/slo', nameId: info.nameId, nameQualifier: info.nameQualifier, now: new Date() });
  const res = await app.inject({ method: 'POST', url: '/spid/slo', headers: FORM_HEADERS, payload: form({ SAMLRequest: req.samlRequest, RelayState: 'r1' }) });
  t.equal(res.statusCode, 200);
  const answer = postForm(res.body);
  t.equal(answer.action, 'http://localhost:3000/simulators/spid-idp/slo');
  t.equal(answer.fields.RelayState, 'r1');
  const lr = Buffer.from(answer.fields.SAMLResponse!, 'base64').toString('utf8');
  t.match(lr, `InResponseTo="${req.id}"`);
  t.match(lr, 'urn:oasis:names:tc:SAML:2.0:status:Success');
  const root = parseXmlSafely(lr).documentElement!;
  t.ok(verifyEnvelopedSignature(lr, childElements(root, NS.ds, 'Signature')[0]!, attr(root, 'ID')!, [app.spid!.runtime.keys.certPem]).ok, 'signed by the SP');
  t.equal(await whoAmI(app, jar), 'anonymous', 'the matching session was ended');

  const jar2 = await spidLogin(app, { identity: `demo:${CITIZEN_CF}` });
  const info2 = (await sessionInfo())[0]!;
  const rr = buildRedirectLogoutRequest({ signer, destination: 'http://localhost:3000/spid/slo', nameId: info2.nameId, nameQualifier: info2.nameQualifier, now: new Date() }, 'r2');
  const res2 = await app.inject({ method: 'GET', url: injectPath(rr.url), headers: { accept: 'text/html' } });
  t.equal(res2.statusCode, 303);
  t.match(res2.headers.location, /^http:\/\/localhost:3000\/simulators\/spid-idp\/slo\?SAMLResponse=.*&RelayState=r2&SigAlg=.*&Signature=/);
  t.equal(await whoAmI(app, jar2), 'anonymous');

  // Signed with a key that is not the IdP's: refused, session kept.
  const jar3 = await spidLogin(app, { identity: `demo:${CITIZEN_CF}` });
  const info3 = (await sessionInfo())[0]!;
  const evil = { entityId: signer.entityId, keys: await generateTestIdpKeys(signer.entityId) };
  const forged = buildPostLogoutRequest({ signer: evil, destination: 'http://localhost:3000/spid/slo', nameId: info3.nameId, nameQualifier: info3.nameQualifier, now: new Date() });
  const res3 = await app.inject({ method: 'POST', url: '/spid/slo', headers: FORM_HEADERS, payload: form({ SAMLRequest: forged.samlRequest }) });
  t.equal(res3.statusCode, 403);
  t.equal(await whoAmI(app, jar3), 'Lucia Ferrante');
});

t.test('production: IdPs from SPID_IDP_METADATA_DIR, no test IdP (404), https entityID', async (t) => {
  const dir = tempDir(t);
  const mdDir = path.join(dir, 'idp-metadata');
  fs.mkdirSync(mdDir);
  const idpId = 'https://idp.example.it';
  const idpKeys = await generateTestIdpKeys(idpId);
  fs.writeFileSync(path.join(mdDir, 'example.xml'), buildTestIdpMetadata({ entityId: idpId, baseUrl: idpId, keys: idpKeys }));
  const env = {
    APP_MODE: 'production',
    DATA_DIR: path.join(dir, 'data'),
    LOG_LEVEL: 'silent',
    PUBLIC_URL: 'https://pagamenti.provincia.campobasso.example',
    SESSION_SECRET: 'p'.repeat(48),
    SPID_IPA_CODE: 'p_cb',
    SPID_CONTACT_EMAIL: 'sael@provincia.campobasso.example',
    SPID_IDP_METADATA_DIR: mdDir,
    // The AgID registry is on by default in production: test/spid/idp-sources.test.ts covers it.
    SPID_REGISTRY_URL: 'off',
    // Settings of other modules that production requires.
    PAGOPA_BROKER_ID: '90700000004',
    PAGOPA_STATION_ID: '90700000004_01',
    PAGOPA_STATION_PASSWORD: 'Password2026',
    PAGOPA_NODE_URL: 'https://api.uat.platform.pagopa.it/nodo-auth/node-for-pa/v1',
    PAGOPA_CHECKOUT_URL: 'https://api.platform.pagopa.it/checkout/ec/v2',
    PAGOPA_ACA_URL: 'https://api.platform.pagopa.it/aca',
    PAGOPA_SUBSCRIPTION_KEY: 'subscription-key',
  };
  const app = await buildApp(loadConfig(env), { logger: false });
  t.teardown(() => app.close());
  for (const url of ['/simulators/spid-idp/metadata', '/simulators/spid-idp/sso']) {
    const res = await app.inject({ method: 'GET', url, headers: { accept: 'text/html' } });
    t.equal(res.statusCode, 404, `${url} refused in production`);
  }
  const md = await app.inject({ method: 'GET', url: '/spid/metadata' });
  t.equal(md.statusCode, 200);
  t.match(md.body, 'entityID="https://pagamenti.provincia.campobasso.example"');
  t.match(md.body, 'Location="https://pagamenti.provincia.campobasso.example/spid/acs"');
  const page = await app.inject({ method: 'GET', url: '/accesso', headers: { accept: 'text/html' } });
  t.match(page.body, 'https%3A%2F%2Fidp.example.it');
  t.notMatch(page.body, 'IdP di prova');
  t.notMatch(page.body, 'Entra con CIE</span>', 'no CIE IdP configured: no CIE button');
  const start = await app.inject({ method: 'GET', url: `/spid/login?idp=${encodeURIComponent(idpId)}`, headers: { accept: 'text/html' } });
  t.equal(start.statusCode, 200);
  t.equal(postForm(start.body).action, `${idpId}/sso`);
  t.match(start.cookies.find((c) => c.name === 'sael_saml'), { secure: true, sameSite: 'None', httpOnly: true });
  const cie = await app.inject({ method: 'GET', url: '/cie/login', headers: { accept: 'text/html' } });
  t.equal(cie.statusCode, 404);
  // Missing production settings are named.
  t.throws(() => loadConfig({ ...env, SPID_IPA_CODE: '', SPID_CONTACT_EMAIL: '', SPID_IDP_METADATA_DIR: '' }), /SPID_IPA_CODE manca/);
  // Without the registry and without the folder there is no IdP: the SP does not start.
  await t.rejects(buildApp(loadConfig({ ...env, SPID_IDP_METADATA_DIR: '', DATA_DIR: path.join(dir, 'data2') }), { logger: false }), /no SPID IdP/);
  // The registry is on by default in production, and its signature needs the AgID certificate.
  await t.rejects(buildApp(loadConfig({ ...env, SPID_REGISTRY_URL: '', DATA_DIR: path.join(dir, 'data3') }), { logger: false }), /SPID_REGISTRY_CERT_FILE manca/);
});
