import t from 'tap';
import zlib from 'node:zlib';
import { buildPostAuthnRequest, buildRedirectAuthnRequest, newRelayState, renderAutoSubmitForm } from '../../src/modules/spid/authn-request.js';
import { readPostAuthnRequest, readRedirectAuthnRequest } from '../../src/simulators/spid-idp/idp.js';
import { validateXml } from '../../src/xml/xsd.js';
import { parseXmlSafely } from '../../src/xml/safe-parse.js';
import { NS, XSD, childElements } from '../../src/modules/spid/saml.js';
import { ACS_URL, IDP_ENTITY_ID, NOW, SP_ENTITY_ID, fixtures } from './helpers.js';

const f = await fixtures();
const sp = { entityId: SP_ENTITY_ID, keys: f.sp };
const SSO = `${IDP_ENTITY_ID}/sso`;

function elementChildren(el: Element): string[] {
  const out: string[] = [];
  for (let c = el.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) out.push((c as Element).localName!);
  return out;
}

t.test('HTTP-POST AuthnRequest: fields per spid.md §2 / §11.7', async (t) => {
  const req = buildPostAuthnRequest({ sp, idpSsoUrl: SSO, level: 2, now: NOW });
  t.same(validateXml(XSD.protocol(), req.xml), { valid: true, errors: [] }, 'valid against the SAML protocol XSD');
  const r = parseXmlSafely(req.xml).documentElement!;
  t.equal(r.namespaceURI, NS.samlp);
  t.equal(r.localName, 'AuthnRequest');
  t.match(r.getAttribute('ID'), /^_[0-9a-f]{32}$/);
  t.equal(r.getAttribute('ID'), req.id);
  t.equal(r.getAttribute('Version'), '2.0');
  t.equal(r.getAttribute('IssueInstant'), '2026-11-26T10:00:20.000Z');
  t.equal(r.getAttribute('Destination'), SSO);
  t.equal(r.getAttribute('ForceAuthn'), 'true');
  t.notOk(r.hasAttribute('IsPassive'), 'no IsPassive');
  t.equal(r.getAttribute('AssertionConsumerServiceIndex'), '0');
  t.notOk(r.hasAttribute('AssertionConsumerServiceURL'), 'never both ACS forms');
  t.notOk(r.hasAttribute('ProtocolBinding'));
  t.equal(r.getAttribute('AttributeConsumingServiceIndex'), '0');
  t.same(elementChildren(r), ['Issuer', 'Signature', 'NameIDPolicy', 'RequestedAuthnContext'], 'Signature right after Issuer');
  const issuer = childElements(r, NS.saml, 'Issuer')[0]!;
  t.equal(issuer.textContent, SP_ENTITY_ID);
  t.equal(issuer.getAttribute('Format'), 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity');
  t.equal(issuer.getAttribute('NameQualifier'), SP_ENTITY_ID);
  const policy = childElements(r, NS.samlp, 'NameIDPolicy')[0]!;
  t.equal(policy.getAttribute('Format'), 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient');
  t.notOk(policy.hasAttribute('AllowCreate'), 'no AllowCreate (Avviso 5)');
  const rac = childElements(r, NS.samlp, 'RequestedAuthnContext')[0]!;
  t.equal(rac.getAttribute('Comparison'), 'minimum');
  const refs = childElements(rac, NS.saml, 'AuthnContextClassRef');
  t.equal(refs.length, 1);
  t.equal(refs[0]!.textContent, 'https://www.spid.gov.it/SpidL2');
  const sig = childElements(r, NS.ds, 'Signature')[0]!;
  t.match(sig.toString(), /rsa-sha256/);
  t.match(sig.toString(), /xml-exc-c14n#/);
  t.match(sig.toString(), /enveloped-signature/);
  t.match(sig.toString(), new RegExp(`URI="#${req.id}"`));
  t.match(sig.toString(), /X509Certificate/);

  const verified = readPostAuthnRequest(req.samlRequest, [f.sp.certPem]);
  t.equal(verified.ok, true, 'signature verifies with the SP metadata certificate');
  const wrong = readPostAuthnRequest(req.samlRequest, [f.evil.certPem]);
  t.equal(wrong.ok, false, 'and not with another one');
  const tampered = Buffer.from(req.xml.replace('SpidL2', 'SpidL1')).toString('base64');
  t.equal(readPostAuthnRequest(tampered, [f.sp.certPem]).ok, false, 'tampering breaks it');
});

t.test('levels: ForceAuthn only for L2/L3; exact comparison; ACS by URL', async (t) => {
  const l1 = buildPostAuthnRequest({ sp, idpSsoUrl: SSO, level: 1, now: NOW });
  t.notMatch(l1.xml, /ForceAuthn/);
  t.match(l1.xml, /SpidL1/);
  const l3 = buildPostAuthnRequest({ sp, idpSsoUrl: SSO, level: 3, comparison: 'exact', acs: { url: ACS_URL }, now: NOW });
  t.match(l3.xml, /ForceAuthn="true"/);
  t.match(l3.xml, /Comparison="exact"/);
  t.match(l3.xml, /AssertionConsumerServiceURL="https:\/\/pagamenti\.provincia\.campobasso\.it\/spid\/acs" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"/);
  t.notMatch(l3.xml, /AssertionConsumerServiceIndex/);
  t.same(validateXml(XSD.protocol(), l3.xml).valid, true);
  t.not(l1.id, l3.id, 'fresh IDs');
});

t.test('HTTP-Redirect AuthnRequest: deflate + base64 + query signature', async (t) => {
  const relay = newRelayState();
  t.match(relay, /^[A-Za-z0-9_-]{43}$/);
  t.notMatch(relay, /http/);
  const req = buildRedirectAuthnRequest({ sp, idpSsoUrl: SSO, level: 2, now: NOW }, relay);
  const url = new URL(req.url);
  t.equal(url.origin + url.pathname, SSO);
  const raw = url.search.slice(1);
  t.match(raw, /^SAMLRequest=[^&]+&RelayState=[^&]+&SigAlg=http%3A%2F%2Fwww\.w3\.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature=[^&]+$/, 'parameter order');
  const xml = zlib.inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString();
  t.equal(xml, req.xml);
  t.notMatch(xml, /Signature/, 'the XML itself is not signed');
  t.same(validateXml(XSD.protocol(), xml), { valid: true, errors: [] });
  const v = readRedirectAuthnRequest(raw, [f.sp.certPem]);
  t.equal(v.ok, true);
  t.equal(v.ok && v.relayState, relay);
  t.equal(readRedirectAuthnRequest(raw, [f.evil.certPem]).ok, false);
  t.equal(readRedirectAuthnRequest(raw.replace(/RelayState=[^&]+/, 'RelayState=other'), [f.sp.certPem]).ok, false, 'RelayState covered by the signature');
});

t.test('auto-submit form', async (t) => {
  const req = buildPostAuthnRequest({ sp, idpSsoUrl: SSO, level: 2, now: NOW });
  const html = renderAutoSubmitForm({ action: SSO, fields: { SAMLRequest: req.samlRequest, RelayState: 'abc"<x>' }, nonce: 'n0nc3' });
  t.match(html, `<form id="saml-form" method="post" action="${SSO}">`);
  t.match(html, `name="SAMLRequest" value="${req.samlRequest}"`);
  t.match(html, 'value="abc&quot;&lt;x&gt;"', 'escaped');
  t.match(html, '<script nonce="n0nc3">');
  t.match(html, '<noscript>');
  t.match(html, 'lang="it"');
});
