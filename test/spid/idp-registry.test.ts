import t from 'tap';
import { IdpMetadataError, IdpRegistry, parseIdpMetadata } from '../../src/modules/spid/idp-registry.js';
import { buildTestIdpMetadata } from '../../src/simulators/spid-idp/idp.js';
import { signEnveloped, NS } from '../../src/modules/spid/saml.js';
import { validateXml } from '../../src/xml/xsd.js';
import { XSD } from '../../src/modules/spid/saml.js';
import { IDP_ENTITY_ID, fixtures } from './helpers.js';

const f = await fixtures();

t.test('test IdP metadata: valid, signed, parsed into the registry shape', async (t) => {
  const xml = buildTestIdpMetadata(f.idp);
  t.same(validateXml(XSD.metadata(), xml), { valid: true, errors: [] }, 'SAML metadata XSD');
  const [e, ...rest] = parseIdpMetadata(xml, { trustedSignerCerts: [f.idp.keys.certPem] });
  t.equal(rest.length, 0);
  t.equal(e!.entityId, IDP_ENTITY_ID);
  t.same(e!.sso, { post: `${IDP_ENTITY_ID}/sso`, redirect: `${IDP_ENTITY_ID}/sso` });
  t.same(e!.slo, { post: `${IDP_ENTITY_ID}/slo`, redirect: `${IDP_ENTITY_ID}/slo` });
  t.equal(e!.certificates.length, 1);
  t.equal(e!.certificates[0]!.replace(/\s/g, ''), f.idp.keys.certPem.replace(/\s/g, ''));
  t.equal(e!.wantAuthnRequestsSigned, true);
  t.equal(e!.displayName, 'SAEL test IdP (demo)');
  t.throws(() => parseIdpMetadata(xml, { trustedSignerCerts: [f.evil.certPem] }), IdpMetadataError);
  t.throws(() => parseIdpMetadata(xml.replace('/sso"', '/evil"'), { trustedSignerCerts: [f.idp.keys.certPem] }), /signature/);
  t.equal(parseIdpMetadata(xml.replace('/sso"', '/evil"')).length, 1, 'without a trust anchor, parsed as is (local config files)');
});

t.test('aggregate EntitiesDescriptor signed by a federation key; rollover certificates', async (t) => {
  const one = (id: string, certs: string[]) =>
    `<md:EntityDescriptor entityID="${id}"><md:IDPSSODescriptor protocolSupportEnumeration="${NS.samlp}">` +
    certs.map((c) => `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${c.replace(/-----[A-Z ]+-----|\s/g, '')}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`).join('') +
    `<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${id}/slo" ResponseLocation="${id}/slo-resp"/>` +
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${id}/sso-post"/>` +
    `</md:IDPSSODescriptor></md:EntityDescriptor>`;
  const agg =
    `<md:EntitiesDescriptor xmlns:md="${NS.md}" xmlns:ds="${NS.ds}" ID="_agg1">` +
    one('https://idp-a.example', [f.idp.keys.certPem, f.evil.certPem]) +
    one('https://idp-b.example', [f.idp.keys.certPem]) +
    `<md:EntityDescriptor entityID="https://an-sp.example"><md:SPSSODescriptor protocolSupportEnumeration="${NS.samlp}"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://an-sp.example/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>` +
    `</md:EntitiesDescriptor>`;
  const signed = signEnveloped(agg, f.sp, { id: '_agg1', localName: 'EntitiesDescriptor', placement: 'firstChild' });
  const entries = parseIdpMetadata(signed, { trustedSignerCerts: [f.sp.certPem] });
  t.same(entries.map((e) => e.entityId), ['https://idp-a.example', 'https://idp-b.example'], 'SPs are skipped');
  t.equal(entries[0]!.certificates.length, 2, 'both signing certs kept; encryption cert ignored');
  t.same(entries[0]!.slo, { redirect: 'https://idp-a.example/slo', redirectResponse: 'https://idp-a.example/slo-resp' });
  const reg = new IdpRegistry(entries);
  t.equal(reg.get('https://idp-b.example')?.sso.post, 'https://idp-b.example/sso-post');
  t.same(reg.trust('https://idp-a.example')?.certificates.length, 2);
  t.equal(reg.get('https://unknown.example'), undefined);
  t.throws(() => reg.add({ ...entries[0]!, certificates: [] }), /no signing certificate/);
  t.throws(() => parseIdpMetadata(signed, { trustedSignerCerts: [f.evil.certPem] }), IdpMetadataError);
  t.throws(() => parseIdpMetadata('<x/>'), /not SAML metadata/);
  t.throws(() => parseIdpMetadata('<!DOCTYPE x><x/>'), /unreadable/);
});
