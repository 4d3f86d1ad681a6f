import t from 'tap';
import fs from 'node:fs';
import { getXsdSchema, validateXml } from '../../src/xml/xsd.js';
import { parseXmlSafely, XmlSafeParseError } from '../../src/xml/safe-parse.js';

// The official files shipped in schemas/ (test/schemas.test.ts checks them against ../shared when present).
const SCHEMAS = new URL('../../schemas/', import.meta.url).pathname;
const SPID_XSD = `${SCHEMAS}spid/xsd/`;
const SAMPLES = `${SCHEMAS}spid/samples/`;
const PROTOCOL = `${SPID_XSD}saml-schema-protocol-2.0.xsd`;
const MD_AV29 = `${SPID_XSD}saml-schema-metadata-sp-spid-av29.xsd`;
const PA_FOR_NODE = `${SCHEMAS}pagopa/wsdl/xsd/paForNode.xsd`;

const sample = (name: string) => fs.readFileSync(SAMPLES + name, 'utf8');
/** The AgID samples are abridged ("[...]", "..."): drop the abridged signatures to validate the rest. */
const dropSignatures = (xml: string) => xml.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/g, '');

t.test('AuthnRequest sample (signature abridged) validates against the SAML protocol XSD', async (t) => {
  const raw = sample('authnrequest.xml');
  const asIs = validateXml(PROTOCOL, raw);
  t.equal(asIs.valid, false, 'the abridged [...] signature is not schema-valid');
  const r = validateXml(PROTOCOL, dropSignatures(raw));
  t.same(r, { valid: true, errors: [] });
});

t.test('Response sample (signatures abridged) validates against the SAML protocol XSD', async (t) => {
  const raw = dropSignatures(sample('response.xml'));
  // As published, the xs:date attribute values carry indentation that libxml2 does not collapse
  // under xsi:type: the sample is illustrative. Trimmed, it is valid.
  const asIs = validateXml(PROTOCOL, raw);
  t.equal(asIs.valid, false);
  t.match(asIs.errors[0], /xs:date/);
  const trimmed = raw.replace(/(<saml:AttributeValue[^>]*>)\s*([^<]*?)\s*(<\/saml:AttributeValue>)/g, '$1$2$3');
  t.same(validateXml(PROTOCOL, trimmed), { valid: true, errors: [] });
});

t.test('SP metadata sample: the published sample is not even well-formed (xmlns:md declared twice)', async (t) => {
  const r = validateXml(MD_AV29, sample('sp-metadata.xml'));
  t.equal(r.valid, false);
  t.match(r.errors.join('\n'), /redefined/);
});

t.test('an invalid AuthnRequest fails with a located error', async (t) => {
  const bad = dropSignatures(sample('authnrequest.xml')).replace('IssueInstant="2015-01-29T10:00:31Z"', 'IssueInstant="2015-01-29"');
  const r = validateXml(PROTOCOL, bad);
  t.equal(r.valid, false);
  t.match(r.errors[0], /IssueInstant/);
  t.match(r.errors[0], /^\d+:\d+ /);
});

const paVerify = (noticeNumber: string) => `<?xml version="1.0" encoding="UTF-8"?>
<pafn:paVerifyPaymentNoticeReq xmlns:pafn="http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd">
  <idPA>80001590709</idPA>
  <idBrokerPA>80001590709</idBrokerPA>
  <idStation>80001590709_01</idStation>
  <qrCode>
    <fiscalCode>80001590709</fiscalCode>
    <noticeNumber>${noticeNumber}</noticeNumber>
  </qrCode>
</pafn:paVerifyPaymentNoticeReq>`;

t.test('pagoPA paForNode.xsd (imports ../../xsd-common/...) validates a paVerifyPaymentNotice request', async (t) => {
  const schema = getXsdSchema(PA_FOR_NODE);
  t.same(schema.validate(paVerify('302000100000009424')), { valid: true, errors: [] });
  t.same(schema.validate(Buffer.from(paVerify('302000100000009424'))), { valid: true, errors: [] }, 'Buffer input');
  const bad = schema.validate(paVerify('30200010000000942X'));
  t.equal(bad.valid, false);
  t.match(bad.errors.join('\n'), /noticeNumber/);
  const missing = schema.validate(paVerify('302000100000009424').replace(/<idStation>.*<\/idStation>/, ''));
  t.equal(missing.valid, false);
  t.equal(getXsdSchema(PA_FOR_NODE), schema, 'compiled once and cached');
});

t.test('DOCTYPE / XXE payloads are refused before any parsing', async (t) => {
  const xxe = `<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<pafn:paVerifyPaymentNoticeReq xmlns:pafn="http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd"><idPA>&x;</idPA></pafn:paVerifyPaymentNoticeReq>`;
  const r = validateXml(PA_FOR_NODE, xxe);
  t.equal(r.valid, false);
  t.match(r.errors[0], /DTD_FORBIDDEN/);
  const laughs = `<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>`;
  try {
    parseXmlSafely(laughs);
    t.fail('billion laughs accepted');
  } catch (e) {
    t.ok(e instanceof XmlSafeParseError, 'typed error');
    t.equal((e as XmlSafeParseError).code, 'DTD_FORBIDDEN');
  }
  t.throws(() => parseXmlSafely(xxe), { code: 'DTD_FORBIDDEN' });
});

t.test('safe parse: size limit, malformed, encoding', async (t) => {
  t.throws(() => parseXmlSafely('<a>' + 'x'.repeat(2000) + '</a>', { maxBytes: 1000 }), { code: 'TOO_LARGE' });
  t.same(validateXml(PROTOCOL, 'x'.repeat(2 * 1024 * 1024)).errors[0]?.startsWith('TOO_LARGE'), true);
  t.throws(() => parseXmlSafely('<a><b></a>'), { code: 'MALFORMED' });
  t.throws(() => parseXmlSafely('<a></a><b/>'), { code: 'MALFORMED' });
  t.throws(() => parseXmlSafely(''), { code: 'EMPTY' });
  t.throws(() => parseXmlSafely(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e])), { code: 'ENCODING' });
  t.throws(() => parseXmlSafely('<?xml version="1.0" encoding="ISO-8859-1"?><a/>'), { code: 'ENCODING' });
  const doc = parseXmlSafely('<?xml version="1.0" encoding="UTF-8"?><a x="1"><!-- c --><![CDATA[ok]]></a>');
  t.equal(doc.documentElement?.getAttribute('x'), '1');
});

t.test('a schema with a missing import fails to compile with a clear error', async (t) => {
  const dir = fs.mkdtempSync('/tmp/xsdtest-');
  fs.writeFileSync(`${dir}/main.xsd`, `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:a"><xs:import namespace="urn:b" schemaLocation="https://example.org/b.xsd"/><xs:element name="a" type="xs:string"/></xs:schema>`);
  // libxml2 only warns for an unloadable import; the schema compiles, and nothing is fetched.
  const s = getXsdSchema(`${dir}/main.xsd`);
  t.same(s.validate('<a xmlns="urn:a">x</a>'), { valid: true, errors: [] });
});

t.test('schemaScratchDir: the folder for generated schema files goes when the process exits', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const module = new URL('../../src/xml/xsd.js', import.meta.url).href;
  const script = `import fs from 'node:fs';
import path from 'node:path';
import { schemaScratchDir } from ${JSON.stringify(module)};
const dir = schemaScratchDir('sael-test-scratch-');
fs.writeFileSync(path.join(dir, 'entry.xsd'), '<schema/>');
console.log(JSON.stringify({ dir, there: fs.existsSync(path.join(dir, 'entry.xsd')) }));`;
  const out = JSON.parse(execFileSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], { encoding: 'utf8' })) as { dir: string; there: boolean };
  t.ok(out.there, 'the file was there while the process ran');
  t.match(out.dir, /sael-test-scratch-/);
  t.notOk(fs.existsSync(out.dir), 'gone after the exit');
});
