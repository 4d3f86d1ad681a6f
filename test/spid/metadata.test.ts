import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { SignedXml } from 'xml-crypto';
import { buildCieSpMetadata, buildSpidSpMetadata, spEndpoints, type SpMetadataConfig } from '../../src/modules/spid/metadata.js';
import { generateSpCertificate } from '../../src/modules/spid/certificate.js';
import { validateXml } from '../../src/xml/xsd.js';
import { parseXmlSafely } from '../../src/xml/safe-parse.js';
import { NS, XSD, childElements, descendantElements } from '../../src/modules/spid/saml.js';
import { SP_ENTITY_ID } from './helpers.js';

const keys = await generateSpCertificate({
  commonName: 'Provincia di Campobasso',
  organizationName: 'Provincia di Campobasso',
  ipaCode: 'p_cb',
  localityName: 'Campobasso',
  entityId: SP_ENTITY_ID,
  keySize: 2048,
});
const cfg: SpMetadataConfig = {
  entityId: SP_ENTITY_ID,
  publicUrl: SP_ENTITY_ID,
  organization: { name: 'Provincia di Campobasso', displayName: 'Provincia di Campobasso', url: 'https://www.provincia.campobasso.it' },
  ipaCode: 'p_cb',
  contact: { email: 'protocollo@provincia.campobasso.it', phone: '+390874401111' },
  keys,
  cie: { municipality: 'B519', province: 'CB' },
};

const xmlsec1 = spawnSync('xmlsec1', ['--version'], { encoding: 'utf8' });
const hasXmlsec = xmlsec1.status === 0;

function verifyWithXmlCrypto(xml: string, certPem: string, id: string): boolean {
  const doc = parseXmlSafely(xml);
  const sigs = childElements(doc.documentElement!, NS.ds, 'Signature');
  if (sigs.length !== 1) return false;
  const sx = new SignedXml({ publicCert: certPem });
  sx.loadSignature(sigs[0]!);
  try {
    return sx.checkSignature(xml) && sx.getSignedReferences().length === 1 && sx.getReferences()[0]!.uri === `#${id}`;
  } catch {
    return false;
  }
}

/** Runs `xmlsec1 --verify`; null when xmlsec1 is not installed. */
function xmlsecVerify(xml: string, certPem: string): { status: number | null; stderr: string } | null {
  if (!hasXmlsec) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md-'));
  fs.writeFileSync(path.join(dir, 'md.xml'), xml);
  fs.writeFileSync(path.join(dir, 'crt.pem'), certPem);
  const out = spawnSync('xmlsec1', ['--verify', '--pubkey-cert-pem', path.join(dir, 'crt.pem'), '--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor', path.join(dir, 'md.xml')], { encoding: 'utf8' });
  return { status: out.status, stderr: out.stderr };
}
const XMLSEC_SKIP = 'xmlsec1 not installed: `xmlsec1 --verify` sub-check skipped (CI: apt-get install -y xmlsec1)';

t.test('SPID SP metadata: XSD (metadata 2.0 and Avviso 29), signature, content', async (t) => {
  const xml = buildSpidSpMetadata(cfg);
  t.same(validateXml(XSD.spMetadataSpid(), xml), { valid: true, errors: [] }, 'saml-schema-metadata-sp-spid-av29.xsd');
  t.same(validateXml(XSD.metadata(), xml), { valid: true, errors: [] }, 'saml-schema-metadata-2.0.xsd');
  const doc = parseXmlSafely(xml);
  const ed = doc.documentElement!;
  const id = ed.getAttribute('ID')!;
  t.equal(ed.getAttribute('entityID'), SP_ENTITY_ID);
  t.ok(verifyWithXmlCrypto(xml, keys.certPem, id), 'signature verifies (xml-crypto) with the SP certificate');
  const xs = xmlsecVerify(xml, keys.certPem);
  if (xs) t.equal(xs.status, 0, xs.status === 0 ? 'xmlsec1 --verify OK' : `xmlsec1 --verify failed: ${xs.stderr}`);
  else t.skip(XMLSEC_SKIP, () => {});
  const kids: string[] = [];
  for (let c = ed.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) kids.push((c as Element).localName!);
  t.same(kids, ['Signature', 'SPSSODescriptor', 'Organization', 'ContactPerson'], 'element order');
  const sig = childElements(ed, NS.ds, 'Signature')[0]!.toString();
  t.match(sig, 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
  t.match(sig, 'http://www.w3.org/2001/04/xmlenc#sha256');
  t.match(sig, 'http://www.w3.org/2001/10/xml-exc-c14n#');
  t.match(sig, 'http://www.w3.org/2000/09/xmldsig#enveloped-signature');
  const sp = childElements(ed, NS.md, 'SPSSODescriptor')[0]!;
  t.equal(sp.getAttribute('protocolSupportEnumeration'), 'urn:oasis:names:tc:SAML:2.0:protocol');
  t.equal(sp.getAttribute('AuthnRequestsSigned'), 'true');
  t.equal(sp.getAttribute('WantAssertionsSigned'), 'true');
  const kd = childElements(sp, NS.md, 'KeyDescriptor');
  t.equal(kd.length, 1);
  t.equal(kd[0]!.getAttribute('use'), 'signing');
  const certText = descendantElements(kd[0]!, NS.ds, 'X509Certificate')[0]!.textContent!;
  t.notMatch(certText, /BEGIN|\s/, 'base64 DER, no PEM headers');
  const { acsUrl, sloUrl } = spEndpoints(cfg);
  const slo = childElements(sp, NS.md, 'SingleLogoutService');
  t.same(slo.map((s) => [s.getAttribute('Binding'), s.getAttribute('Location')]), [
    ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', sloUrl],
    ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', sloUrl],
  ]);
  t.equal(childElements(sp, NS.md, 'NameIDFormat')[0]!.textContent, 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient');
  const acs = childElements(sp, NS.md, 'AssertionConsumerService');
  t.equal(acs.length, 1);
  t.equal(acs[0]!.getAttribute('index'), '0');
  t.equal(acs[0]!.getAttribute('isDefault'), 'true');
  t.equal(acs[0]!.getAttribute('Binding'), 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
  t.equal(acs[0]!.getAttribute('Location'), acsUrl);
  const acsvc = childElements(sp, NS.md, 'AttributeConsumingService')[0]!;
  t.equal(acsvc.getAttribute('index'), '0');
  const sn = childElements(acsvc, NS.md, 'ServiceName')[0]!;
  t.equal(sn.getAttributeNS('http://www.w3.org/XML/1998/namespace', 'lang'), 'it');
  t.ok(sn.textContent!.length > 0);
  t.same(childElements(acsvc, NS.md, 'RequestedAttribute').map((r) => r.getAttribute('Name')), ['fiscalNumber', 'name', 'familyName', 'email']);
  const org = childElements(ed, NS.md, 'Organization')[0]!;
  for (const n of ['OrganizationName', 'OrganizationDisplayName', 'OrganizationURL']) {
    const el = childElements(org, NS.md, n);
    t.equal(el.length, 1, n);
    t.equal(el[0]!.getAttributeNS('http://www.w3.org/XML/1998/namespace', 'lang'), 'it', `${n} xml:lang it`);
  }
  t.equal(childElements(org, NS.md, 'OrganizationName')[0]!.textContent, 'Provincia di Campobasso');
  const cp = childElements(ed, NS.md, 'ContactPerson');
  t.equal(cp.length, 1);
  t.equal(cp[0]!.getAttribute('contactType'), 'other');
  const ext = childElements(cp[0]!, NS.md, 'Extensions')[0]!;
  t.equal(childElements(ext, NS.spid, 'IPACode')[0]!.textContent, 'p_cb');
  t.equal(childElements(ext, NS.spid, 'Public').length, 1);
  t.equal(childElements(ext, NS.spid, 'Public')[0]!.childNodes.length, 0, 'spid:Public empty');
  t.equal(childElements(ext, NS.spid, 'Private').length, 0);
  t.equal(childElements(cp[0]!, NS.md, 'EmailAddress')[0]!.textContent, 'protocollo@provincia.campobasso.it');
  t.equal(childElements(cp[0]!, NS.md, 'TelephoneNumber')[0]!.textContent, '+390874401111');
  // tampering is detected
  const tampered = xml.replace('p_cb</spid:IPACode>', 'c_xxxx</spid:IPACode>');
  t.notOk(verifyWithXmlCrypto(tampered, keys.certPem, id), 'tampered metadata fails verification');
  const xsBad = xmlsecVerify(tampered, keys.certPem);
  if (xsBad) t.not(xsBad.status, 0, 'xmlsec1 refuses the tampered metadata');
});

t.test('CIE SP metadata: XSD and signature', async (t) => {
  const xml = buildCieSpMetadata(cfg);
  t.same(validateXml(XSD.spMetadataCie(), xml), { valid: true, errors: [] }, 'saml-schema-metadata-sp-cie.xsd');
  const ed = parseXmlSafely(xml).documentElement!;
  t.ok(verifyWithXmlCrypto(xml, keys.certPem, ed.getAttribute('ID')!));
  const xs = xmlsecVerify(xml, keys.certPem);
  if (xs) t.equal(xs.status, 0, xs.status === 0 ? 'xmlsec1 --verify OK' : `xmlsec1 --verify failed: ${xs.stderr}`);
  else t.skip(XMLSEC_SKIP, () => {});
  const cp = childElements(ed, NS.md, 'ContactPerson')[0]!;
  t.equal(cp.getAttribute('contactType'), 'administrative');
  const ext = childElements(cp, NS.md, 'Extensions')[0]!;
  t.equal(childElements(ext, NS.cie, 'Public').length, 1);
  t.equal(childElements(ext, NS.cie, 'IPACode')[0]!.textContent, 'p_cb');
  t.equal(childElements(ext, NS.cie, 'Municipality')[0]!.textContent, 'B519');
  t.equal(childElements(ext, NS.cie, 'Province')[0]!.textContent, 'CB');
  t.equal(childElements(cp, NS.md, 'Company')[0]!.textContent, 'Provincia di Campobasso');
  const names = descendantElements(ed, NS.md, 'RequestedAttribute').map((r) => r.getAttribute('Name'));
  t.same(names, ['fiscalNumber', 'name', 'familyName'], 'no email on CIE');
  t.throws(() => buildCieSpMetadata({ ...cfg, cie: { municipality: 'B519', attributes: ['email'] } }), /CIE cannot provide/);
});

t.test('configuration checks', async (t) => {
  t.throws(() => buildSpidSpMetadata({ ...cfg, entityId: 'http://x.example' }), /HTTPS/);
  t.throws(() => buildSpidSpMetadata({ ...cfg, entityId: 'https://x.example:8443' }), /port/);
  t.throws(() => buildSpidSpMetadata({ ...cfg, contact: { email: 'a@b.it', phone: '0874 401111' } }), /\+39/);
  t.throws(() => buildSpidSpMetadata({ ...cfg, contact: { email: 'nope' } }), /EmailAddress/);
});

t.test(`xmlsec1 availability: ${hasXmlsec ? xmlsec1.stdout.trim() : 'NOT installed'}`, async (t) => {
  t.pass(hasXmlsec ? 'xmlsec1 present' : 'xmlsec1 absent; signature checked with xml-crypto only');
  if (hasXmlsec) execFileSync('xmlsec1', ['--version']);
});
