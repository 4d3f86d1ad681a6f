import t from 'tap';
import {
  buildPostLogoutRequest,
  buildPostLogoutResponse,
  buildRedirectLogoutRequest,
  buildRedirectLogoutResponse,
  peekSloMessage,
  validateIdpLogoutRequest,
  validateLogoutResponse,
} from '../../src/modules/spid/logout.js';
import { validateXml } from '../../src/xml/xsd.js';
import { XSD } from '../../src/modules/spid/saml.js';
import { IDP_ENTITY_ID, NOW, SLO_URL, SP_ENTITY_ID, fixtures } from './helpers.js';

const f = await fixtures();
const sp = { entityId: SP_ENTITY_ID, keys: f.sp };
const idpSigner = { entityId: IDP_ENTITY_ID, keys: f.idp.keys };
const idpTrust = { entityId: IDP_ENTITY_ID, certificates: [f.idp.keys.certPem] };
const spTrust = { entityId: SP_ENTITY_ID, certificates: [f.sp.certPem] };
const IDP_SLO = `${IDP_ENTITY_ID}/slo`;
const opts = { now: NOW };

t.test('SP-initiated: signed LogoutRequest with NameID + SessionIndex (POST and Redirect)', async (t) => {
  const req = buildPostLogoutRequest({ signer: sp, destination: IDP_SLO, nameId: '_nameid123', nameQualifier: IDP_ENTITY_ID, sessionIndex: '_sess1', now: NOW });
  t.same(validateXml(XSD.protocol(), req.xml), { valid: true, errors: [] }, 'valid against the SAML protocol XSD');
  t.match(req.xml, /<saml:Issuer [^>]*Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity" NameQualifier="https:\/\/pagamenti[^"]*">[^<]+<\/saml:Issuer><ds:Signature/, 'Signature right after Issuer');
  t.match(req.xml, /<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" NameQualifier="https:\/\/idp\.test\.sael\.example">_nameid123<\/saml:NameID><samlp:SessionIndex>_sess1<\/samlp:SessionIndex>/);
  // the IdP (here: the same validator, from the IdP's side) accepts it
  const atIdp = validateIdpLogoutRequest({ binding: 'POST', message: req.samlRequest }, { sloUrl: IDP_SLO }, spTrust, opts);
  t.same(atIdp.ok && [atIdp.id, atIdp.nameId, atIdp.sessionIndexes], [req.id, '_nameid123', ['_sess1']]);
  const redirect = buildRedirectLogoutRequest({ signer: sp, destination: IDP_SLO, nameId: '_nameid123', nameQualifier: IDP_ENTITY_ID, now: NOW }, 'rs1');
  t.notMatch(redirect.xml, /SessionIndex/, 'no SessionIndex when none was received (L2/L3)');
  const q = new URL(redirect.url).search.slice(1);
  const atIdp2 = validateIdpLogoutRequest({ binding: 'REDIRECT', rawQuery: q }, { sloUrl: IDP_SLO }, spTrust, opts);
  t.equal(atIdp2.ok && atIdp2.relayState, 'rs1');
});

t.test('LogoutResponse from the IdP (validator case logout-1)', async (t) => {
  const requestId = '_ourlogoutrequest01';
  const ok = buildPostLogoutResponse({ signer: idpSigner, destination: SLO_URL, inResponseTo: requestId, now: NOW });
  t.same(validateXml(XSD.protocol(), ok.xml).valid, true);
  t.same(validateLogoutResponse({ binding: 'POST', message: ok.samlResponse }, { requestId, sloUrl: SLO_URL }, idpTrust, opts), { ok: true, partial: false, inResponseTo: requestId });
  const partial = buildPostLogoutResponse({ signer: idpSigner, destination: SLO_URL, inResponseTo: requestId, status: 'partial', now: NOW });
  t.same(validateLogoutResponse({ binding: 'POST', message: partial.samlResponse }, { requestId, sloUrl: SLO_URL }, idpTrust, opts), { ok: true, partial: true, inResponseTo: requestId });
  const redirect = buildRedirectLogoutResponse({ signer: idpSigner, destination: SLO_URL, inResponseTo: requestId, now: NOW });
  const rq = new URL(redirect.url).search.slice(1);
  t.equal(validateLogoutResponse({ binding: 'REDIRECT', rawQuery: rq }, { requestId, sloUrl: SLO_URL }, idpTrust, opts).ok, true, 'Redirect binding');
  t.same(peekSloMessage({ binding: 'REDIRECT', rawQuery: rq }), { kind: 'LogoutResponse', issuer: IDP_ENTITY_ID });

  const code = (r: ReturnType<typeof validateLogoutResponse>) => (r.ok ? 'ok' : r.code);
  t.equal(code(validateLogoutResponse({ binding: 'POST', message: ok.samlResponse }, { requestId: '_other', sloUrl: SLO_URL }, idpTrust, opts)), 'IN_RESPONSE_TO');
  t.equal(code(validateLogoutResponse({ binding: 'POST', message: ok.samlResponse }, { requestId, sloUrl: 'https://x.example/slo' }, idpTrust, opts)), 'DESTINATION');
  t.equal(code(validateLogoutResponse({ binding: 'POST', message: ok.samlResponse }, { requestId, sloUrl: SLO_URL }, { entityId: 'https://other.example', certificates: idpTrust.certificates }, opts)), 'ISSUER');
  t.equal(code(validateLogoutResponse({ binding: 'POST', message: ok.samlResponse }, { requestId, sloUrl: SLO_URL }, { ...idpTrust, certificates: [f.evil.certPem] }, opts)), 'SIGNATURE_INVALID');
  const forged = buildPostLogoutResponse({ signer: { entityId: IDP_ENTITY_ID, keys: f.evil }, destination: SLO_URL, inResponseTo: requestId, now: NOW });
  t.equal(code(validateLogoutResponse({ binding: 'POST', message: forged.samlResponse }, { requestId, sloUrl: SLO_URL }, idpTrust, opts)), 'SIGNATURE_INVALID', 'key not in metadata');
  const tampered = Buffer.from(ok.xml.replace(SLO_URL, `${SLO_URL}?x`)).toString('base64');
  t.equal(code(validateLogoutResponse({ binding: 'POST', message: tampered }, { requestId, sloUrl: `${SLO_URL}?x` }, idpTrust, opts)), 'SIGNATURE_INVALID');
  t.equal(code(validateLogoutResponse({ binding: 'REDIRECT', rawQuery: rq.replace(/Signature=[^&]+/, 'Signature=AAAA') }, { requestId, sloUrl: SLO_URL }, idpTrust, opts)), 'SIGNATURE_INVALID');
  const unsigned = Buffer.from(ok.xml.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '')).toString('base64');
  t.equal(code(validateLogoutResponse({ binding: 'POST', message: unsigned }, { requestId, sloUrl: SLO_URL }, idpTrust, opts)), 'SIGNATURE_INVALID', 'unsigned refused');
  const failed = buildPostLogoutResponse({ signer: idpSigner, destination: SLO_URL, inResponseTo: requestId, status: 'responder', now: NOW });
  t.equal(code(validateLogoutResponse({ binding: 'POST', message: failed.samlResponse }, { requestId, sloUrl: SLO_URL }, idpTrust, opts)), 'STATUS');
  t.equal(code(validateLogoutResponse({ binding: 'POST', message: Buffer.from('<!DOCTYPE x><x/>').toString('base64') }, { requestId, sloUrl: SLO_URL }, idpTrust, opts)), 'MALFORMED');
});

t.test('IdP-initiated: LogoutRequest validated, signed LogoutResponse built', async (t) => {
  const idpReq = buildPostLogoutRequest({ signer: idpSigner, destination: SLO_URL, nameId: '_nameid123', nameQualifier: IDP_ENTITY_ID, sessionIndex: '_s', now: NOW });
  t.same(peekSloMessage({ binding: 'POST', message: idpReq.samlRequest }), { kind: 'LogoutRequest', issuer: IDP_ENTITY_ID });
  const v = validateIdpLogoutRequest({ binding: 'POST', message: idpReq.samlRequest, relayState: 'r' }, { sloUrl: SLO_URL }, idpTrust, opts);
  t.same(v, { ok: true, id: idpReq.id, nameId: '_nameid123', nameQualifier: IDP_ENTITY_ID, sessionIndexes: ['_s'], relayState: 'r' });
  const evil = buildPostLogoutRequest({ signer: { entityId: IDP_ENTITY_ID, keys: f.evil }, destination: SLO_URL, nameId: '_n', nameQualifier: IDP_ENTITY_ID, now: NOW });
  const bad = validateIdpLogoutRequest({ binding: 'POST', message: evil.samlRequest }, { sloUrl: SLO_URL }, idpTrust, opts);
  t.equal(!bad.ok && bad.code, 'SIGNATURE_INVALID');
  const wrongDest = buildPostLogoutRequest({ signer: idpSigner, destination: 'https://x.example/slo', nameId: '_n', nameQualifier: IDP_ENTITY_ID, now: NOW });
  const bad2 = validateIdpLogoutRequest({ binding: 'POST', message: wrongDest.samlRequest }, { sloUrl: SLO_URL }, idpTrust, opts);
  t.equal(!bad2.ok && bad2.code, 'DESTINATION');
  // our answer, checked from the IdP side
  const answer = buildPostLogoutResponse({ signer: sp, destination: IDP_SLO, inResponseTo: idpReq.id, now: NOW });
  t.same(validateXml(XSD.protocol(), answer.xml).valid, true);
  t.same(validateLogoutResponse({ binding: 'POST', message: answer.samlResponse }, { requestId: idpReq.id, sloUrl: IDP_SLO }, spTrust, opts), { ok: true, partial: false, inResponseTo: idpReq.id });
});
