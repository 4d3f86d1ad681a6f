/** HTTP endpoints of the built-in test IdP (demo only). */
import t from 'tap';
import { buildPostAuthnRequest, buildRedirectAuthnRequest } from '../../../src/modules/spid/authn-request.js';
import { parseIdpMetadata } from '../../../src/modules/spid/idp-registry.js';
import { validateSpidResponse, MemoryReplayGuard } from '../../../src/modules/spid/response-validator.js';
import { generateTestIdpKeys } from '../../../src/simulators/spid-idp/idp.js';
import { demoCitizens } from '../../../src/simulators/spid-idp/routes.js';
import { demoUserFiscalCodes } from '../../../src/modules/enti/demo-seed.js';
import { isValidPersonalFiscalCode } from '../../../src/domain/fiscal-code.js';
import { FORM_HEADERS, absorbCookies, buildTestApp, cookieHeader, form, injectPath, postForm } from '../../helpers.js';

t.test('metadata is signed and lists SSO and SLO for both bindings', async (t) => {
  const app = await buildTestApp(t);
  const res = await app.inject({ method: 'GET', url: '/simulators/spid-idp/metadata' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /samlmetadata\+xml/);
  const idpId = `${app.config.publicUrl}/simulators/spid-idp`;
  const reg = app.spid!.runtime.registries.spid.get(idpId)!;
  const [entry] = parseIdpMetadata(res.body, { trustedSignerCerts: reg.certificates });
  t.match(entry, { entityId: idpId, sso: { post: `${idpId}/sso`, redirect: `${idpId}/sso` }, slo: { post: `${idpId}/slo` } });
});

t.test('demo identities have valid personal fiscal codes', async (t) => {
  for (const c of demoCitizens()) t.ok(isValidPersonalFiscalCode(c.fiscalNumber), c.fiscalNumber);
  t.ok(demoCitizens().length >= 3);
});

t.test('SSO (Redirect binding) shows the login page with staff and citizens; the answer is a signed Response', async (t) => {
  const app = await buildTestApp(t);
  const sp = app.spid!.runtime;
  const idpId = `${app.config.publicUrl}/simulators/spid-idp`;
  const req = buildRedirectAuthnRequest({ sp: { entityId: sp.entityIds.spid, keys: sp.keys }, idpSsoUrl: `${idpId}/sso`, level: 2, now: new Date() }, 'relay-1');
  const jar = new Map<string, string>();
  const page = await app.inject({ method: 'GET', url: injectPath(req.url), headers: { accept: 'text/html' } });
  t.equal(page.statusCode, 200);
  absorbCookies(jar, page);
  for (const d of demoUserFiscalCodes()) t.match(page.body, d.fiscalCode, `staff ${d.role} offered`);
  t.match(page.body, 'Amministratore SAEL');
  t.match(page.body, 'Operatore – Comune di Campobasso');
  t.match(page.body, 'Lucia Ferrante');
  t.match(page.body, 'ErrorCode 25');
  const f = postForm(page.body);
  t.equal(f.action, '/simulators/spid-idp/login');
  t.equal(f.fields.binding, 'REDIRECT');

  const noCsrf = await app.inject({ method: 'POST', url: f.action, headers: FORM_HEADERS, payload: form({ binding: 'REDIRECT', rawQuery: f.fields.rawQuery! }) });
  t.equal(noCsrf.statusCode, 403, 'the login form needs its CSRF token');

  const badCf = await app.inject({
    method: 'POST',
    url: f.action,
    headers: { ...FORM_HEADERS, cookie: cookieHeader(jar) },
    payload: form({ ...f.fields, identity: 'custom', fiscalCode: 'RSSMRA80A01B519A', level: '2', outcome: 'ok', action: 'login' }),
  });
  t.equal(badCf.statusCode, 422);
  t.match(badCf.body, 'non è un codice fiscale personale valido');

  const citizen = demoCitizens()[1]!;
  const ok = await app.inject({
    method: 'POST',
    url: f.action,
    headers: { ...FORM_HEADERS, cookie: cookieHeader(jar) },
    payload: form({ ...f.fields, identity: `demo:${citizen.fiscalNumber}`, level: '3', outcome: 'ok', action: 'login' }),
  });
  t.equal(ok.statusCode, 200);
  const acs = postForm(ok.body);
  t.equal(acs.action, sp.acsUrl);
  t.equal(acs.fields.RelayState, 'relay-1');
  const result = await validateSpidResponse(
    {
      samlResponse: acs.fields.SAMLResponse!,
      expected: { requestId: req.id, issueInstant: req.issueInstant, idpEntityId: idpId, level: 2, acsUrl: sp.acsUrl, spEntityId: sp.entityIds.spid },
      idp: sp.registries.spid.trust(idpId)!,
      replay: new MemoryReplayGuard(),
    },
    { now: new Date() },
  );
  t.match(result, { ok: true, level: 3, user: { fiscalNumber: citizen.fiscalNumber, name: citizen.name, familyName: citizen.familyName } });
});

t.test('requests not signed by our SP are refused', async (t) => {
  const app = await buildTestApp(t);
  const sp = app.spid!.runtime;
  const idpId = `${app.config.publicUrl}/simulators/spid-idp`;
  const other = await generateTestIdpKeys('https://other-sp.example');
  const forged = buildPostAuthnRequest({ sp: { entityId: sp.entityIds.spid, keys: other }, idpSsoUrl: `${idpId}/sso`, level: 2, now: new Date() });
  const res = await app.inject({ method: 'POST', url: '/simulators/spid-idp/sso', headers: FORM_HEADERS, payload: form({ SAMLRequest: forged.samlRequest, RelayState: 'x' }) });
  t.equal(res.statusCode, 400);
  t.match(res.body, 'Richiesta SAML non accettata');
  const wrongDest = buildPostAuthnRequest({ sp: { entityId: sp.entityIds.spid, keys: sp.keys }, idpSsoUrl: 'https://elsewhere.example/sso', level: 2, now: new Date() });
  const res2 = await app.inject({ method: 'POST', url: '/simulators/spid-idp/sso', headers: FORM_HEADERS, payload: form({ SAMLRequest: wrongDest.samlRequest }) });
  t.equal(res2.statusCode, 400);
  t.match(res2.body, 'ErrorCode nr14');
});
