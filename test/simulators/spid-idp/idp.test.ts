import t from 'tap';
import { buildPostAuthnRequest, buildRedirectAuthnRequest } from '../../../src/modules/spid/authn-request.js';
import { buildResponse, readPostAuthnRequest, readRedirectAuthnRequest } from '../../../src/simulators/spid-idp/idp.js';
import { MemoryReplayGuard, validateSpidResponse } from '../../../src/modules/spid/response-validator.js';
import { validateXml } from '../../../src/xml/xsd.js';
import { XSD } from '../../../src/modules/spid/saml.js';
import { ACS_URL, CITIZEN, IDP_ENTITY_ID, NOW, SP_ENTITY_ID, fixtures } from '../../spid/helpers.js';

const f = await fixtures();
const sp = { entityId: SP_ENTITY_ID, keys: f.sp };

for (const binding of ['POST', 'REDIRECT'] as const) {
  t.test(`round trip over ${binding}: SP request → test IdP → SP validator accepts`, async (t) => {
    const params = { sp, idpSsoUrl: `${IDP_ENTITY_ID}/sso`, level: 2 as const, now: NOW };
    let request;
    if (binding === 'POST') {
      const req = buildPostAuthnRequest(params);
      const read = readPostAuthnRequest(req.samlRequest, [f.sp.certPem]);
      t.equal(read.ok, true);
      request = read.ok ? read.request : undefined;
    } else {
      const req = buildRedirectAuthnRequest(params, 'relay');
      const read = readRedirectAuthnRequest(new URL(req.url).search.slice(1), [f.sp.certPem]);
      t.equal(read.ok && read.relayState, 'relay');
      request = read.ok ? read.request : undefined;
    }
    t.ok(request);
    t.equal(request!.level, 2);
    t.equal(request!.forceAuthn, true);
    t.equal(request!.acsIndex, 0);
    const res = buildResponse(f.idp, { request: request!, acsUrl: ACS_URL, user: CITIZEN, now: new Date(NOW.getTime() + 5000) });
    t.same(validateXml(XSD.protocol(), res.xml), { valid: true, errors: [] });
    const v = await validateSpidResponse(
      {
        samlResponse: res.base64,
        expected: { requestId: request!.id, issueInstant: request!.issueInstant, idpEntityId: IDP_ENTITY_ID, level: 2, acsUrl: ACS_URL, spEntityId: SP_ENTITY_ID },
        idp: { entityId: IDP_ENTITY_ID, certificates: [f.idp.keys.certPem] },
        replay: new MemoryReplayGuard(),
      },
      { now: new Date(NOW.getTime() + 6000) },
    );
    t.equal(v.ok, true, v.ok ? 'accepted' : `${v.code}: ${v.reason}`);
    t.equal(v.ok && v.user.fiscalNumber, CITIZEN.fiscalNumber);
  });
}

t.test('error responses ErrorCode nr19–30 are schema-valid, signed, without Assertion', async (t) => {
  const req = buildPostAuthnRequest({ sp, idpSsoUrl: `${IDP_ENTITY_ID}/sso`, level: 2, now: NOW });
  for (const code of [19, 20, 21, 22, 23, 25, 30]) {
    const res = buildResponse(f.idp, { request: req.xml, acsUrl: ACS_URL, now: NOW, errorCode: code });
    t.same(validateXml(XSD.protocol(), res.xml).valid, true);
    t.match(res.xml, `<samlp:StatusMessage>ErrorCode nr${code}</samlp:StatusMessage>`);
    t.match(res.xml, 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed');
    t.notMatch(res.xml, /Assertion/);
    t.match(res.xml, /<ds:Signature/);
  }
});

t.test('an unsigned or foreign-signed AuthnRequest is refused by the IdP', async (t) => {
  const req = buildPostAuthnRequest({ sp, idpSsoUrl: `${IDP_ENTITY_ID}/sso`, level: 2, now: NOW });
  t.equal(readPostAuthnRequest(req.samlRequest, [f.evil.certPem]).ok, false);
  const unsigned = Buffer.from(req.xml.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '')).toString('base64');
  t.equal(readPostAuthnRequest(unsigned, [f.sp.certPem]).ok, false);
  t.equal(readPostAuthnRequest('bm90IHhtbA==', [f.sp.certPem]).ok, false);
});
