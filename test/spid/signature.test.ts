/**
 * The shared enveloped-signature verifier (saml.ts): the guards it runs itself before handing the
 * document to xml-crypto (one element per referenced ID across Id/ID/id, Signature a child of the
 * signed element), certificate forms and rollover order, and the canonical-root check the ACS
 * uses instead of parsing the signed Response again.
 */
import t from 'tap';
import { DOMParser, XMLSerializer, type Node as XmldomNode } from '@xmldom/xmldom';
import { NS, canonicalRootIs, certificatePublicKey, childElements, verifyEnvelopedSignature } from '../../src/modules/spid/saml.js';
import { buildResponse } from '../../src/simulators/spid-idp/idp.js';
import { parseXmlSafely } from '../../src/xml/safe-parse.js';
import { ACS_URL, CITIZEN, NOW, SP_ENTITY_ID, fixtures, makeRequest } from './helpers.js';

const f = await fixtures();
const built = buildResponse(f.idp, { request: makeRequest(2), acsUrl: ACS_URL, spEntityId: SP_ENTITY_ID, user: CITIZEN, now: NOW });

function check(xml: string, certs = [f.idp.keys.certPem], which: 'Response' | 'Assertion' = 'Assertion') {
  const doc = parseXmlSafely(xml);
  const response = doc.documentElement!;
  const el = which === 'Response' ? response : childElements(response, NS.saml, 'Assertion')[0]!;
  return verifyEnvelopedSignature(xml, childElements(el, NS.ds, 'Signature')[0]!, el.getAttribute('ID')!, certs);
}
function edit(xml: string, fn: (d: Document) => void): string {
  const d = new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
  fn(d);
  return new XMLSerializer().serializeToString(d as unknown as XmldomNode);
}

t.test('a valid Response: both signatures verify and return the signed canonical XML', async (t) => {
  const a = check(built.xml);
  t.ok(a.ok);
  t.ok(a.ok && canonicalRootIs(a.canonicalXml, NS.saml, 'Assertion', built.assertionId!));
  const r = check(built.xml, undefined, 'Response');
  t.ok(r.ok && canonicalRootIs(r.canonicalXml, NS.samlp, 'Response', built.responseId));
});

t.test('another element carrying the referenced ID (in Id, ID or id, any namespace) is refused', async (t) => {
  for (const attr of ['Id', 'ID', 'id', 'x:ID']) {
    const xml = edit(built.xml, (d) => {
      const ext = d.createElementNS(NS.samlp, 'samlp:Extensions');
      const el = d.createElementNS('urn:example', 'x:Decoy');
      if (attr.includes(':')) el.setAttributeNS('urn:example', attr, built.assertionId!);
      else el.setAttribute(attr, built.assertionId!);
      ext.appendChild(el);
      d.documentElement!.insertBefore(ext, childElements(d.documentElement!, NS.samlp, 'Status')[0]!);
    });
    const r = check(xml);
    t.equal(r.ok, false, attr);
    t.match(!r.ok && r.reason, /several elements \(or ID attributes\) carry the ID/, attr);
  }
});

t.test('the signed element carrying its ID twice (ID and Id) is refused, as xml-crypto counts it', async (t) => {
  const xml = edit(built.xml, (d) => childElements(d.documentElement!, NS.saml, 'Assertion')[0]!.setAttribute('Id', built.assertionId!));
  t.match(check(xml), { ok: false, reason: /several elements \(or ID attributes\)/ });
});

t.test('a Signature that is not a child of the element it references is refused', async (t) => {
  // The Assertion signature moved under the Response: its Reference still points to the Assertion.
  const xml = edit(built.xml, (d) => {
    const assertion = childElements(d.documentElement!, NS.saml, 'Assertion')[0]!;
    const sig = childElements(assertion, NS.ds, 'Signature')[0]!;
    assertion.removeChild(sig);
    d.documentElement!.appendChild(sig);
  });
  const doc = parseXmlSafely(xml);
  const sigs = childElements(doc.documentElement!, NS.ds, 'Signature');
  const moved = sigs.find((s) => s.getElementsByTagNameNS(NS.ds, 'Reference')[0]!.getAttribute('URI') === `#${built.assertionId}`)!;
  const r = verifyEnvelopedSignature(xml, moved, built.assertionId!, [f.idp.keys.certPem]);
  t.match(!r.ok && r.reason, /not a child of the element/);
});

t.test('certificates: PEM or base64 DER, keys parsed once, rollover in any order, foreign keys refused', async (t) => {
  const der = f.idp.keys.certPem.replace(/-----[A-Z ]+-----|\s/g, '');
  t.ok(check(built.xml, [der]).ok, 'base64 DER');
  t.equal(certificatePublicKey(f.idp.keys.certPem), certificatePublicKey(f.idp.keys.certPem), 'the same KeyObject every time');
  t.ok(check(built.xml, [f.evil.certPem, f.sp.certPem, f.idp.keys.certPem]).ok, 'the right certificate last');
  t.ok(check(built.xml, [f.idp.keys.certPem, f.evil.certPem]).ok, 'the right certificate first');
  const r = check(built.xml, [f.evil.certPem, f.sp.certPem]);
  t.match(!r.ok && r.reason, /not valid with the trusted certificates/);
  t.match(check(built.xml, ['not a certificate']), { ok: false, reason: /certificate not readable/ });
});

t.test('canonicalRootIs reads the root start tag of canonical XML exactly', async (t) => {
  const ns = NS.samlp;
  t.ok(canonicalRootIs(`<samlp:Response xmlns:samlp="${ns}" ID="_a" Version="2.0"><x/></samlp:Response>`, ns, 'Response', '_a'));
  t.ok(canonicalRootIs(`<Response xmlns="${ns}" ID="_a"></Response>`, ns, 'Response', '_a'), 'default namespace');
  t.notOk(canonicalRootIs(`<samlp:Response xmlns:samlp="${ns}" ID="_b"></samlp:Response>`, ns, 'Response', '_a'), 'another ID');
  t.notOk(canonicalRootIs(`<samlp:Response xmlns:samlp="urn:other" ID="_a"></samlp:Response>`, ns, 'Response', '_a'), 'another namespace');
  t.notOk(canonicalRootIs(`<samlp:Assertion xmlns:samlp="${ns}" ID="_a"></samlp:Assertion>`, ns, 'Response', '_a'), 'another element');
  t.notOk(canonicalRootIs(`<samlp:Response xmlns:samlp="${ns}" X="ID=&quot;_a&quot;"></samlp:Response>`, ns, 'Response', '_a'), 'ID only inside another value');
  t.notOk(canonicalRootIs(` <samlp:Response xmlns:samlp="${ns}" ID="_a"/>`, ns, 'Response', '_a'), 'not at the start');
});
