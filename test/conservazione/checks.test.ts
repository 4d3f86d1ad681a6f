/**
 * B1: the checks of a PdV (src/modules/conservazione/checks/): hash, format by bytes, metadata,
 * CAdES (attached and detached) and PAdES signatures made here with a test CA, and checkSip's
 * esito, also on the checks' worker thread. Pure code: no database.
 */
import { createHash, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import PDFDocument from 'pdfkit';
import * as pkijs from 'pkijs';
import t from 'tap';
import type { CheckOutcome, ParsedProfile, ProfileFormat } from '../../src/modules/conservazione/checks/esito.js';
import { esitoOf, negative, positive, warning } from '../../src/modules/conservazione/checks/esito.js';
import { identifyFormat, suitabilityFor } from '../../src/modules/conservazione/checks/format.js';
import { isPagoPaIuv, validateMetadata } from '../../src/modules/conservazione/checks/metadata.js';
import { checkSip, type SipFileInput } from '../../src/modules/conservazione/checks/run-checks.js';
import { checkSipFor, checkSipOffThread, OFF_THREAD_BYTES, stopCheckThread } from '../../src/modules/conservazione/checks/check-pool.js';
import { hasPadesSignature, verifyCades, verifyPades } from '../../src/modules/conservazione/checks/signature.js';
import { romeDay } from '../../src/modules/conservazione/dates.js';
import { loadX509 } from '../../src/modules/spid/certificate.js';
import { cryptoEngine } from '../../src/modules/conservazione/timestamp.js';

const DAY = 86_400_000;
const NOW = new Date(); // certificates are made relative to it: nothing expires
const TODAY = romeDay(NOW);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// ---------- test PKI ----------
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const wc = webcrypto as unknown as Crypto;

interface Identity {
  keys: CryptoKeyPair;
  pem: string;
  cert: pkijs.Certificate;
}

async function makeCa(name: string): Promise<Identity> {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const c = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: `CN=${name}, O=Test, C=IT`,
      notBefore: new Date(NOW.getTime() - 30 * DAY),
      notAfter: new Date(NOW.getTime() + 3650 * DAY),
      keys,
      signingAlgorithm: ECDSA,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    },
    wc,
  );
  return { keys, pem: c.toString('pem'), cert: pkijs.Certificate.fromBER(c.rawData) };
}

async function makeSigner(ca: Identity, cn: string, serial: string, validity: { from: number; to: number }): Promise<Identity> {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const caCert = new x509.X509Certificate(ca.pem);
  const c = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial,
      subject: `CN=${cn}, 2.5.4.4=Rossi, 2.5.4.42=Mario, 2.5.4.5=TINIT-RSSMRA80A01H501U, C=IT`,
      issuer: caCert.subject,
      notBefore: new Date(NOW.getTime() + validity.from * DAY),
      notAfter: new Date(NOW.getTime() + validity.to * DAY),
      publicKey: keys.publicKey,
      signingKey: ca.keys.privateKey,
      signingAlgorithm: ECDSA,
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.nonRepudiation, true)],
    },
    wc,
  );
  return { keys, pem: c.toString('pem'), cert: pkijs.Certificate.fromBER(c.rawData) };
}

const ab = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/** A CAdES-BES SignedData (content-type, message-digest, signing-time, signing-certificate-v2). */
async function cades(content: Uint8Array, signer: Identity, chain: Identity[], options: { detached?: boolean; signingTime?: Date } = {}): Promise<Buffer> {
  const certDer = Buffer.from(signer.cert.toSchema().toBER());
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType: '1.2.840.113549.1.7.1',
      ...(options.detached ? {} : { eContent: new asn1js.OctetString({ valueHex: ab(content) }) }),
    }),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: signer.cert.issuer, serialNumber: signer.cert.serialNumber }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({
          type: 0,
          attributes: [
            new pkijs.Attribute({ type: '1.2.840.113549.1.9.3', values: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.1' })] }),
            new pkijs.Attribute({ type: '1.2.840.113549.1.9.4', values: [new asn1js.OctetString({ valueHex: ab(createHash('sha256').update(content).digest()) })] }),
            new pkijs.Attribute({ type: '1.2.840.113549.1.9.5', values: [new asn1js.UTCTime({ valueDate: options.signingTime ?? NOW })] }),
            new pkijs.Attribute({
              type: '1.2.840.113549.1.9.16.2.47',
              values: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: ab(createHash('sha256').update(certDer).digest()) })] })] })] })],
            }),
          ],
        }),
      }),
    ],
    certificates: [signer.cert, ...chain.map((c) => c.cert)],
  });
  await signed.sign(signer.keys.privateKey, 0, 'SHA-256', undefined, cryptoEngine);
  return Buffer.from(new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: signed.toSchema(true) }).toSchema().toBER());
}

/** A PDF made with pdfkit with a signature field whose /Contents holds a detached CAdES over /ByteRange (PAdES-B). */
async function padesPdf(signer: Identity, chain: Identity[], text = 'Convenzione di prova'): Promise<Buffer> {
  const doc = new PDFDocument({ compress: false });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((r) => doc.on('end', r));
  doc.text(text);
  const PLACEHOLDER = 9999999999;
  const sig = doc.ref({
    Type: 'Sig',
    Filter: 'Adobe.PPKLite',
    SubFilter: 'ETSI.CAdES.detached',
    ByteRange: [0, PLACEHOLDER, PLACEHOLDER, PLACEHOLDER],
    Contents: Buffer.alloc(8192),
    M: NOW,
    Name: new String('Mario Rossi'),
  });
  const widget = doc.ref({ Type: 'Annot', Subtype: 'Widget', FT: 'Sig', Rect: [0, 0, 0, 0], V: sig, T: new String('Firma1'), F: 4, P: doc.page.dictionary });
  doc.page.annotations.push(widget);
  doc.initForm(); // the AcroForm pdfkit ends with the document; our field goes in it
  const form = (doc as unknown as { _root: { data: { AcroForm: { data: { Fields: unknown[]; SigFlags?: number } } } } })._root.data.AcroForm;
  form.data.Fields.push(widget);
  form.data.SigFlags = 3;
  sig.end(undefined);
  widget.end(undefined);
  doc.end();
  await ended;
  const pdf = Buffer.concat(chunks);
  const brText = `/ByteRange [0 ${PLACEHOLDER} ${PLACEHOLDER} ${PLACEHOLDER}]`;
  const brAt = pdf.indexOf(brText);
  const start = pdf.indexOf('/Contents <', brAt) + '/Contents '.length;
  const end = pdf.indexOf('>', start) + 1;
  const br = `/ByteRange [0 ${start} ${end} ${pdf.length - end}]`.padEnd(brText.length, ' ');
  pdf.write(br, brAt, 'latin1');
  const signedBytes = Buffer.concat([pdf.subarray(0, start), pdf.subarray(end)]);
  const cms = await cades(signedBytes, signer, chain, { detached: true });
  const hex = cms.toString('hex');
  t.ok(hex.length <= end - start - 2, 'the CMS fits the placeholder');
  pdf.write(hex, start + 1, 'latin1');
  return pdf;
}

// ---------- fixtures ----------
const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');
const XML = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<ricevuta><iuv>01202500000004228</iuv></ricevuta>\n');
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4f90000000049454e44ae426082', 'hex');

const F = {
  pdf: { mime: 'application/pdf', label: 'PDF', suitability: 'IDONEO' },
  xml: { mime: 'application/xml', label: 'XML', suitability: 'IDONEO' },
  pades: { mime: 'application/pdf', label: 'PDF firmato (PAdES)', suitability: 'IDONEO', signed: 'pades' },
  cades: { mime: 'application/pkcs7-mime', label: 'Busta CAdES (.p7m)', suitability: 'IDONEO', signed: 'cades' },
  csvDeprecated: { mime: 'text/csv', label: 'CSV', suitability: 'DEPRECATO' },
} satisfies Record<string, ProfileFormat>;

function profile(over: Partial<ParsedProfile> = {}): ParsedProfile {
  return {
    id: 1,
    code: 'determina',
    name: 'Determina',
    tipologiaDocumentale: 'Determinazione',
    description: '',
    formats: [F.pdf, F.xml],
    requiredMetadata: ['Identificativo', 'TipologiaDocumentale', 'ModalitaDiFormazione', 'Oggetto', 'DataDocumento'],
    retentionYears: null,
    submitters: ['ente'],
    signatureRequired: false,
    active: true,
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    ...over,
  };
}

const META = { Identificativo: 'DET-2026-12', TipologiaDocumentale: 'Determinazione', ModalitaDiFormazione: 'a', Oggetto: 'Affidamento manutenzione', DataDocumento: TODAY };

function file(name: string, bytes: Buffer, over: Partial<SipFileInput> = {}): SipFileInput {
  return { name, role: 'principale', bytes, declaredSha256: sha(bytes), ...over };
}

const codes = (checks: CheckOutcome[]) => checks.filter((c) => c.outcome === 'NEGATIVO' || c.outcome === 'WARNING').map((c) => c.code).sort();
const find = (checks: CheckOutcome[], check: CheckOutcome['check'], file?: string) => checks.filter((c) => c.check === check && (file === undefined || c.file === file));

const ca = await makeCa('Test CA fidata');
const otherCa = await makeCa('Altra CA');
const mario = await makeSigner(ca, 'Mario Rossi', '0a1b2c', { from: -10, to: 365 });
const stranger = await makeSigner(otherCa, 'Ignoto Estraneo', '0d0e0f', { from: -10, to: 365 });
const expired = await makeSigner(ca, 'Scaduto Bianchi', '0bad01', { from: -100, to: -50 });
const anchors = [ca.pem];

// ---------- esito ----------
t.test('esitoOf: KO on any NEGATIVO, OK with warnings', async (t) => {
  t.equal(esitoOf([positive('hash', 'ok', 'a')]).code, 'OK');
  const w = esitoOf([positive('hash', 'ok'), warning('format', 'FORMAT_DEPRECATED', 'dep', 'a')]);
  t.equal(w.code, 'OK');
  t.match(w.message, /1 avviso/);
  const ko = esitoOf([positive('hash', 'ok'), negative('hash', 'HASH_MISMATCH', 'no', 'a'), warning('format', 'FORMAT_DEPRECATED', 'dep')]);
  t.equal(ko.code, 'KO');
  t.match(ko.message, /HASH_MISMATCH/);
  t.equal(ko.checks.length, 3, 'every check kept');
});

// ---------- format ----------
t.test('identifyFormat: from the bytes, not the name', async (t) => {
  t.match(await identifyFormat(PDF), { mime: 'application/pdf', label: 'PDF 1.7', puid: 'fmt/276' });
  t.match(await identifyFormat(XML), { mime: 'application/xml', puid: 'fmt/101' });
  t.match(await identifyFormat(Buffer.from('<ricevuta><iuv>1</iuv></ricevuta>')), { mime: 'application/xml' }, 'XML without declaration');
  t.equal(await identifyFormat(Buffer.from('<?xml version="1.0"?><a><b></a>')), null, 'malformed XML is not XML');
  t.equal(await identifyFormat(Buffer.from('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')), null, 'a DOCTYPE is refused');
  t.match(await identifyFormat(PNG), { mime: 'image/png' });
  t.match(await identifyFormat(Buffer.from('a;b;c\n1;2;3\n')), { mime: 'text/csv' });
  t.equal(await identifyFormat(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18])), null);
  const pdfa = Buffer.concat([PDF, Buffer.from('<rdf:Description xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" pdfaid:part="2" pdfaid:conformance="B"/>')]);
  t.match(await identifyFormat(pdfa), { mime: 'application/pdf', label: 'PDF/A-2b', puid: 'fmt/477' });
  const p7m = await cades(PDF, mario, [ca]);
  t.match(await identifyFormat(p7m), { mime: 'application/pkcs7-mime' });
  t.match(await identifyFormat(Buffer.from(p7m.toString('base64').replace(/.{64}/g, '$&\n'))), { mime: 'application/pkcs7-mime' }, 'base64 .p7m');
  t.match(await identifyFormat(await cades(PDF, mario, [ca], { detached: true })), { mime: 'application/pkcs7-signature' });
});

t.test('suitabilityFor', async (t) => {
  const xml = await identifyFormat(XML);
  t.equal(suitabilityFor([F.pdf, F.xml], xml), 'IDONEO');
  t.equal(suitabilityFor([{ ...F.xml, mime: 'text/xml', suitability: 'GESTITO' }], xml), 'GESTITO', 'text/xml = application/xml');
  t.equal(suitabilityFor([F.pdf], xml), null, 'not admitted');
  t.equal(suitabilityFor([F.csvDeprecated], await identifyFormat(Buffer.from('a,b\n1,2\n'))), 'DEPRECATO');
  t.equal(suitabilityFor([F.pdf], null), null);
});

// ---------- metadata ----------
t.test('metadata: missing and invalid values, one outcome each naming the field', async (t) => {
  const required = profile().requiredMetadata;
  t.same(
    validateMetadata(META, { required, now: NOW }).map((c) => [c.outcome, c.code]),
    [['POSITIVO', 'OK']],
  );
  const missing = validateMetadata({ Identificativo: 'X', Oggetto: '  ' }, { required, now: NOW });
  t.same(missing.map((c) => c.code), ['METADATA_MISSING', 'METADATA_MISSING', 'METADATA_MISSING', 'METADATA_MISSING']);
  for (const f of ['TipologiaDocumentale', 'ModalitaDiFormazione', 'Oggetto', 'DataDocumento']) t.ok(missing.some((c) => c.message.includes(`«${f}»`)), f);

  const tomorrow = romeDay(new Date(NOW.getTime() + 2 * DAY));
  const bad: Record<string, unknown> = {
    DataDocumento: '2025-02-30',
    ModalitaDiFormazione: 'e',
    TipologiaDiFlusso: 'X',
    TempoDiConservazione: 1.5,
    ParoleChiave: ['a', 'b', 'c', 'd', 'e', 'f'],
    Riservato: 'si',
    IUV: 'ABC',
    Soggetti: [{ ruolo: 'Capo', tipo: 'PG', denominazione: 'Ditta' }],
    Colore: 'blu',
    Oggetto: 'x'.repeat(1001),
  };
  for (const [field, value] of Object.entries(bad)) {
    const out = validateMetadata({ ...META, [field]: value }, { required, now: NOW });
    t.equal(out.length, 1, `${field}: one outcome`);
    t.equal(out[0]!.code, 'METADATA_INVALID', field);
    t.equal(out[0]!.outcome, 'NEGATIVO', field);
    t.match(out[0]!.message, field === 'Soggetti' ? /Soggetti\[/ : new RegExp(`«${field}`), `${field} named`);
  }
  t.equal(validateMetadata({ ...META, DataDocumento: tomorrow }, { required, now: NOW })[0]!.code, 'METADATA_INVALID', 'a future date');
  t.match(validateMetadata({ ...META, Soggetti: [{ ruolo: 'Autore', tipo: 'PF', cognome: 'Rossi', codiceFiscale: 'NONVALIDO' }] }, { required, now: NOW }), [
    { code: 'METADATA_INVALID', message: /Soggetti\[1\]\.codiceFiscale/ },
  ]);
  t.equal(validateMetadata({ ...META, TempoDiConservazione: 10000 }, { required, now: NOW })[0]!.code, 'METADATA_INVALID');
  // characters the PdA's XML index cannot carry, in any text field: refused at the door
  for (const [field, value] of [
    ['Oggetto', 'Determina \u0001 di spesa'],
    ['NumeroDocumento', '12\uFFFE'],
    ['Note', 'mezza coppia \uD83C fine'],
  ] as const) {
    t.match(validateMetadata({ ...META, [field]: value }, { required, now: NOW }), [{ code: 'METADATA_INVALID', message: new RegExp(`«${field}».*caratteri di controllo`) }], `${field}: not XML`);
  }
  t.match(validateMetadata({ ...META, ParoleChiave: ['ok', 'tab\u000Bverticale'] }, { required, now: NOW }), [{ code: 'METADATA_INVALID', message: /«ParoleChiave».*caratteri di controllo/ }]);
  t.match(validateMetadata({ ...META, Soggetti: [{ ruolo: 'Autore', tipo: 'PG', denominazione: 'Ditta\u0007' }] }, { required, now: NOW }), [
    { code: 'METADATA_INVALID', message: /Soggetti\[1\]\.denominazione.*caratteri di controllo/ },
  ]);
  t.same(validateMetadata({ ...META, Oggetto: 'Festa \u{1F389} con a capo\n e tab\t' }, { required, now: NOW }).map((c) => c.outcome), ['POSITIVO'], 'a whole emoji, a new line and a tab are fine');
  t.equal(validateMetadata([1], { required, now: NOW })[0]!.code, 'METADATA_INVALID', 'not an object');
  const good = {
    ...META,
    TipologiaDiFlusso: 'E',
    TempoDiConservazione: 10,
    ParoleChiave: ['pagoPA', 'ricevuta'],
    Riservato: false,
    IUV: '01202500000004228',
    Soggetti: [{ ruolo: 'Produttore', tipo: 'SW', nome: 'sael-pay' }, { ruolo: 'Autore', tipo: 'PAI', denominazione: 'Comune di Prova', ipa: 'c_b519' }],
  };
  t.same(validateMetadata(good, { required, now: NOW }).map((c) => c.outcome), ['POSITIVO']);
  t.ok(isPagoPaIuv('RF18539007547034'), 'RF creditor reference');
  t.notOk(isPagoPaIuv('RF19539007547034'), 'RF with a wrong check');
  t.ok(isPagoPaIuv('123456789012345'), 'aux 0 (15 digits)');
});

// ---------- checkSip: hash, format, size, package ----------
t.test('checkSip: a valid PdV reports every check, POSITIVO included', async (t) => {
  const r = await checkSip({ profile: profile(), metadata: META, files: [file('determina.pdf', PDF), file('prospetto.xml', XML, { role: 'allegato', declaredSha256: sha(XML).toUpperCase() })], now: NOW });
  t.equal(r.esito.code, 'OK', r.esito.message);
  for (const name of ['determina.pdf', 'prospetto.xml']) {
    t.same(r.esito.checks.filter((c) => c.file === name).map((c) => [c.check, c.outcome]), [
      ['size', 'POSITIVO'],
      ['hash', 'POSITIVO'],
      ['format', 'POSITIVO'],
      ['signature', 'DISABILITATO'],
    ], name);
  }
  t.same(find(r.esito.checks, 'metadata').map((c) => c.outcome), ['POSITIVO']);
  t.same(find(r.esito.checks, 'profile').map((c) => c.outcome), ['POSITIVO']);
  t.match(r.files, [
    { name: 'determina.pdf', actualSha256: sha(PDF), sizeBytes: PDF.length, mime: 'application/pdf', suitability: 'IDONEO', signature: null },
    { name: 'prospetto.xml', mime: 'application/xml', suitability: 'IDONEO' },
  ]);
  // the positional form B2 uses gives the same esito
  const p = await checkSip(profile(), META, [file('determina.pdf', PDF)], { now: NOW });
  t.equal(p.esito.code, 'OK');
});

t.test('checkSip: hash mismatch', async (t) => {
  const r = await checkSip({ profile: profile(), metadata: META, files: [file('determina.pdf', PDF, { declaredSha256: sha(XML) })], now: NOW });
  t.equal(r.esito.code, 'KO');
  const h = find(r.esito.checks, 'hash', 'determina.pdf');
  t.match(h, [{ outcome: 'NEGATIVO', code: 'HASH_MISMATCH', message: new RegExp(sha(PDF)) }]);
  const bad = await checkSip({ profile: profile(), metadata: META, files: [file('determina.pdf', PDF, { declaredSha256: 'xyz' })], now: NOW });
  t.same(codes(bad.esito.checks), ['HASH_MISMATCH']);
});

t.test('checkSip: wrong format, extension lie, unknown format, deprecated', async (t) => {
  const png = await checkSip({ profile: profile(), metadata: META, files: [file('scansione.png', PNG)], now: NOW });
  t.equal(png.esito.code, 'KO');
  t.match(find(png.esito.checks, 'format', 'scansione.png'), [{ outcome: 'NEGATIVO', code: 'FORMAT_NOT_ADMITTED' }]);
  t.equal(png.files[0]!.mime, 'image/png');
  t.equal(png.files[0]!.suitability, null);

  // PDF bytes named .xml: identified as PDF; in an XML-only profile not admitted, and the name is flagged
  const xmlOnly = profile({ formats: [F.xml] });
  const lie = await checkSip({ profile: xmlOnly, metadata: META, files: [file('ricevuta.xml', PDF)], now: NOW });
  t.equal(lie.esito.code, 'KO');
  t.same(codes(lie.esito.checks), ['FORMAT_MISMATCH', 'FORMAT_NOT_ADMITTED']);
  t.equal(lie.files[0]!.mime, 'application/pdf');
  // where PDF is admitted the lie is only a warning; a declared type that differs too
  const lie2 = await checkSip({ profile: profile(), metadata: META, files: [file('ricevuta.xml', PDF, { declaredMime: 'text/xml' })], now: NOW });
  t.equal(lie2.esito.code, 'OK');
  t.match(find(lie2.esito.checks, 'format', 'ricevuta.xml'), [{ outcome: 'POSITIVO' }, { outcome: 'WARNING', code: 'FORMAT_MISMATCH', message: /text\/xml|application\/xml/ }]);

  const broken = await checkSip({ profile: profile(), metadata: META, files: [file('rt.xml', Buffer.from('<?xml version="1.0"?><rt><iuv>1</rt>'))], now: NOW });
  t.same(codes(broken.esito.checks), ['FORMAT_UNKNOWN']);

  const dep = await checkSip({ profile: profile({ formats: [F.csvDeprecated] }), metadata: META, files: [file('giornale.csv', Buffer.from('data;importo\n2026-01-02;10,00\n'))], now: NOW });
  t.equal(dep.esito.code, 'OK');
  t.same(codes(dep.esito.checks), ['FORMAT_DEPRECATED']);
  t.equal(dep.files[0]!.suitability, 'DEPRECATO');
});

t.test('checkSip: empty and too large files, package structure, metadata', async (t) => {
  const empty = await checkSip({ profile: profile(), metadata: META, files: [file('vuoto.pdf', Buffer.alloc(0))], now: NOW });
  t.match(find(empty.esito.checks, 'size', 'vuoto.pdf'), [{ outcome: 'NEGATIVO', code: 'EMPTY_FILE' }]);
  t.equal(empty.esito.code, 'KO');
  const big = await checkSip({ profile: profile(), metadata: META, files: [file('grande.pdf', PDF)], now: NOW, maxFileBytes: 10 });
  t.match(find(big.esito.checks, 'size', 'grande.pdf'), [{ code: 'FILE_TOO_LARGE' }]);
  const two = await checkSip({ profile: profile(), metadata: META, files: [file('a.pdf', PDF), file('b.xml', XML)], now: NOW });
  t.same(codes(two.esito.checks), ['PACKAGE_INVALID']);
  const ctl = await checkSip({ profile: profile(), metadata: META, files: [file('a\u0001.pdf', PDF)], now: NOW });
  t.match(ctl.esito.checks.filter((c) => c.outcome === 'NEGATIVO'), [{ code: 'PACKAGE_INVALID', message: /nome di file contiene caratteri di controllo/ }], 'a file name XML cannot carry');
  const md = await checkSip({ profile: profile(), metadata: { ...META, Oggetto: undefined, ModalitaDiFormazione: 'z' }, files: [file('a.pdf', PDF)], now: NOW });
  t.same(codes(md.esito.checks), ['METADATA_INVALID', 'METADATA_MISSING']);
  t.equal(md.esito.code, 'KO');
});

// ---------- CAdES ----------
t.test('CAdES attached (.p7m): valid and trusted, untrusted, altered, expired, broken', async (t) => {
  const p7m = await cades(PDF, mario, [ca]);
  const ok = await verifyCades(p7m, { now: NOW, trustAnchors: anchors });
  t.equal(ok.outcome, 'POSITIVO', ok.message);
  t.equal(ok.format, 'CAdES');
  t.equal(ok.detached, false);
  t.ok(ok.content?.equals(PDF), 'the signed content is returned');
  t.match(ok.signers, [{ subject: 'Mario Rossi', issuer: 'Test CA fidata', serial: '0a1b2c', signingTime: String, kind: 'firma' }]);
  t.equal(ok.signers[0]!.notAfter, mario.cert.notAfter.value.toISOString());

  const untrusted = await verifyCades(await cades(PDF, stranger, [otherCa]), { now: NOW, trustAnchors: anchors });
  t.match(untrusted, { outcome: 'WARNING', code: 'SIGNATURE_UNTRUSTED' });
  t.match((await verifyCades(p7m, { now: NOW })).code, 'SIGNATURE_UNTRUSTED', 'no anchors configured');

  // one byte of the signed content changed inside the envelope
  const at = p7m.indexOf(PDF.subarray(0, 20));
  t.ok(at > 0);
  const altered = Buffer.from(p7m);
  altered[at + 5] = altered[at + 5]! ^ 0x01;
  const bad = await verifyCades(altered, { now: NOW, trustAnchors: anchors });
  t.match(bad, { outcome: 'NEGATIVO', code: 'SIGNATURE_INVALID', message: /alterato/ });

  const old = await verifyCades(await cades(PDF, expired, [ca]), { now: NOW, trustAnchors: anchors });
  t.match(old, { outcome: 'NEGATIVO', code: 'SIGNATURE_INVALID', message: /non era valido/ });

  t.match(await verifyCades(Buffer.from('non una busta'), { now: NOW }), { outcome: 'NEGATIVO', code: 'SIGNATURE_INVALID' });
  const future = await verifyCades(await cades(PDF, mario, [ca], { signingTime: new Date(NOW.getTime() + DAY) }), { now: NOW, trustAnchors: anchors });
  t.match(future, { outcome: 'NEGATIVO', message: /nel futuro/ }, 'a signing time after now');

  // a .p7m inside a .p7m: both levels verified, the innermost content returned
  const nested = await verifyCades(await cades(p7m, stranger, [otherCa]), { now: NOW, trustAnchors: anchors });
  t.equal(nested.outcome, 'WARNING', 'the outer signer is untrusted');
  t.equal(nested.signers.length, 2);
  t.ok(nested.content?.equals(PDF));
});

t.test('checkSip with .p7m: accepted, inner format checked, broken and altered rejected', async (t) => {
  const conv = profile({ formats: [F.pades, F.cades], signatureRequired: true });
  const p7m = await cades(PDF, mario, [ca]);
  const ok = await checkSip({ profile: conv, metadata: META, files: [file('convenzione.pdf.p7m', p7m)], now: NOW, trustAnchors: anchors });
  t.equal(ok.esito.code, 'OK', ok.esito.message);
  t.same(codes(ok.esito.checks), []);
  t.match(find(ok.esito.checks, 'format', 'convenzione.pdf.p7m'), [{ outcome: 'POSITIVO', message: /CAdES.*PDF/ }]);
  t.match(ok.files[0], { mime: 'application/pkcs7-mime', suitability: 'IDONEO', signature: { format: 'CAdES', outcome: 'POSITIVO', contentMime: 'application/pdf', signers: [{ subject: 'Mario Rossi' }] } });

  // binary garbage after a CMS-like header: neither a format nor a signature
  const garbage = Buffer.concat([Buffer.from('3080060992', 'hex'), Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x99, 0x01, 0x02, 0x8f, 0x00, 0x00, 0xc3, 0x28, 0x11, 0x22])]);
  const broken = await checkSip({ profile: conv, metadata: META, files: [file('convenzione.pdf.p7m', garbage)], now: NOW, trustAnchors: anchors });
  t.equal(broken.esito.code, 'KO');
  t.same(codes(broken.esito.checks), ['FORMAT_UNKNOWN', 'SIGNATURE_INVALID']);
  t.match(find(broken.esito.checks, 'signature', 'convenzione.pdf.p7m'), [{ message: /CMS SignedData/ }]);
  // text named .p7m: identified as text (not admitted, the name is flagged) and refused as a signature
  const text = await checkSip({ profile: conv, metadata: META, files: [file('convenzione.pdf.p7m', Buffer.from('MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwGggCSABIIBrokenBroken'))], now: NOW, trustAnchors: anchors });
  t.same(codes(text.esito.checks), ['FORMAT_MISMATCH', 'FORMAT_NOT_ADMITTED', 'SIGNATURE_INVALID']);

  const truncated = await checkSip({ profile: conv, metadata: META, files: [file('c.p7m', p7m.subarray(0, p7m.length - 40))], now: NOW, trustAnchors: anchors });
  t.equal(truncated.esito.code, 'KO', 'a truncated envelope');
  t.ok(codes(truncated.esito.checks).includes('SIGNATURE_INVALID'));

  const at = p7m.indexOf(PDF.subarray(0, 20));
  const altered = Buffer.from(p7m);
  altered[at + 5] = altered[at + 5]! ^ 0x01;
  const alt = await checkSip({ profile: conv, metadata: META, files: [file('convenzione.pdf.p7m', altered)], now: NOW, trustAnchors: anchors });
  t.same(codes(alt.esito.checks), ['SIGNATURE_INVALID']);

  // a signed PNG: the envelope is admitted, its content is not
  const png = await checkSip({ profile: conv, metadata: META, files: [file('foto.png.p7m', await cades(PNG, mario, [ca]))], now: NOW, trustAnchors: anchors });
  t.same(codes(png.esito.checks), ['FORMAT_NOT_ADMITTED']);

  const untrusted = await checkSip({ profile: conv, metadata: META, files: [file('c.pdf.p7m', await cades(PDF, stranger, [otherCa]))], now: NOW, trustAnchors: anchors });
  t.equal(untrusted.esito.code, 'OK', 'untrusted is a warning');
  t.same(codes(untrusted.esito.checks), ['SIGNATURE_UNTRUSTED']);
});

t.test('CAdES detached (.p7s): verified with the content, and inside a PdV', async (t) => {
  const p7s = await cades(PDF, mario, [ca], { detached: true });
  t.match(await verifyCades(p7s, { now: NOW, trustAnchors: anchors, content: PDF }), { outcome: 'POSITIVO', detached: true, content: null });
  const altered = Buffer.from(PDF);
  altered[10] = altered[10]! ^ 0x01;
  t.match(await verifyCades(p7s, { now: NOW, trustAnchors: anchors, content: altered }), { outcome: 'NEGATIVO', code: 'SIGNATURE_INVALID' });
  t.match(await verifyCades(p7s, { now: NOW, trustAnchors: anchors }), { outcome: 'NEGATIVO', message: /manca il file firmato/ });

  const conv = profile({ formats: [F.pdf, F.cades], signatureRequired: true });
  const ok = await checkSip({ profile: conv, metadata: META, files: [file('contratto.pdf', PDF), file('contratto.pdf.p7s', p7s, { role: 'annesso' })], now: NOW, trustAnchors: anchors });
  t.equal(ok.esito.code, 'OK', ok.esito.message);
  t.match(ok.files, [
    { name: 'contratto.pdf', signature: { outcome: 'POSITIVO', detachedIn: 'contratto.pdf.p7s' } },
    { name: 'contratto.pdf.p7s', mime: 'application/pkcs7-signature', suitability: 'IDONEO', signature: { outcome: 'POSITIVO', signedFile: 'contratto.pdf' } },
  ]);
  const bad = await checkSip({ profile: conv, metadata: META, files: [file('contratto.pdf', altered), file('contratto.pdf.p7s', p7s, { role: 'annesso' })], now: NOW, trustAnchors: anchors });
  t.equal(bad.esito.code, 'KO');
  t.same(codes(bad.esito.checks), ['SIGNATURE_INVALID', 'SIGNATURE_MISSING']);
});

// ---------- PAdES ----------
t.test('PAdES: a signed PDF made with pdfkit, verified; one byte changed or bytes appended → invalid', async (t) => {
  const pdf = await padesPdf(mario, [ca]);
  t.ok(hasPadesSignature(pdf));
  t.notOk(hasPadesSignature(PDF));
  t.equal(await verifyPades(PDF, { now: NOW }), null, 'unsigned PDF');
  const ok = await verifyPades(pdf, { now: NOW, trustAnchors: anchors });
  t.match(ok, { format: 'PAdES', outcome: 'POSITIVO', code: 'OK', signers: [{ subject: 'Mario Rossi', serial: '0a1b2c' }] }, ok?.message ?? 'no signature');

  const textAt = pdf.indexOf('/Type /Page');
  t.ok(textAt > 0);
  const altered = Buffer.from(pdf);
  altered[textAt + 7] = 'X'.charCodeAt(0); // /Type /PXge
  t.match(await verifyPades(altered, { now: NOW, trustAnchors: anchors }), { outcome: 'NEGATIVO', code: 'SIGNATURE_INVALID', message: /alterato/ });

  const appended = Buffer.concat([pdf, Buffer.from('\n1 0 obj\n<< >>\nendobj\n%%EOF\n')]);
  t.match(await verifyPades(appended, { now: NOW, trustAnchors: anchors }), { outcome: 'NEGATIVO', message: /successive all’ultima firma/ });

  t.match(await verifyPades(await padesPdf(stranger, [otherCa]), { now: NOW, trustAnchors: anchors }), { outcome: 'WARNING', code: 'SIGNATURE_UNTRUSTED' });

  const conv = profile({ formats: [F.pades, F.cades], signatureRequired: true });
  const r = await checkSip({ profile: conv, metadata: META, files: [file('convenzione.pdf', pdf)], now: NOW, trustAnchors: anchors });
  t.equal(r.esito.code, 'OK', r.esito.message);
  t.match(r.files[0], { mime: 'application/pdf', signature: { format: 'PAdES', outcome: 'POSITIVO' } });
  const unsigned = await checkSip({ profile: conv, metadata: META, files: [file('convenzione.pdf', PDF)], now: NOW, trustAnchors: anchors });
  t.same(codes(unsigned.esito.checks), ['SIGNATURE_MISSING']);
  // only signed PDFs admitted: an unsigned one is SIGNATURE_MISSING even where the profile does not require signatures
  const onlyPades = await checkSip({ profile: profile({ formats: [F.pades] }), metadata: META, files: [file('c.pdf', PDF)], now: NOW });
  t.same(codes(onlyPades.esito.checks), ['SIGNATURE_MISSING']);
  const altR = await checkSip({ profile: conv, metadata: META, files: [file('convenzione.pdf', altered)], now: NOW, trustAnchors: anchors });
  t.same(codes(altR.esito.checks), ['SIGNATURE_INVALID']);
});

t.test('on the checks\' thread (check-pool.ts): the same result as here, the caller\'s bytes untouched; a thread that stops: its PdV checked here', async (t) => {
  const conv = profile({ formats: [F.pades, F.cades, F.pdf, F.xml], signatureRequired: false });
  const p7m = await cades(PDF, mario, [ca]);
  // a view into a bigger buffer, as a request body part would be
  const body = Buffer.concat([Buffer.from('--boundary\r\n'), XML, Buffer.from('\r\n--boundary--')]);
  const xmlView = body.subarray(12, 12 + XML.length);
  const input = {
    profile: conv,
    metadata: META,
    files: [file('convenzione.pdf.p7m', p7m), file('allegato.xml', xmlView, { role: 'allegato' }), file('bad.pdf', PDF, { role: 'allegato', declaredSha256: sha(XML) })],
    now: NOW,
    trustAnchors: anchors,
  };
  const here = await checkSip(input);
  const there = await checkSipOffThread(input);
  t.same(there, here, 'the same esito and file reports');
  t.equal(there.esito.code, 'KO');
  t.same(codes(there.esito.checks), ['HASH_MISMATCH']);
  t.equal(xmlView.length, XML.length, 'the caller\'s buffer is not detached');
  t.same(Buffer.from(xmlView), XML);

  const pending = Promise.all([checkSipOffThread(input), checkSipOffThread(input)]);
  await stopCheckThread();
  t.same(await pending, [here, here], 'the PdV the stopped thread held were checked on the main thread');
  t.same(await checkSipOffThread(input), here, 'the next PdV starts a new thread');

  // checkSipFor: a PdV of OFF_THREAD_BYTES or more goes to the thread, a smaller one is checked here; the same esito
  const big = Buffer.concat([PDF, Buffer.alloc(OFF_THREAD_BYTES, 0x20)]);
  const large = { ...input, files: [file('grande.pdf', big)] };
  t.same(await checkSipFor(large), await checkSip(large));
  t.equal((await checkSipFor(large)).esito.code, 'OK');
  t.same(await checkSipFor(input), here);
  await stopCheckThread();
});
