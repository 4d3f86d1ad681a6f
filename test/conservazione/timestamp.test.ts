/**
 * RFC 3161 client (src/modules/conservazione/timestamp.ts) against the built-in TSA: a token
 * verifies; one changed byte, another digest, another nonce, another TSA's certificate, a
 * certificate without the critical timeStamping EKU and a rejection are each reported as such.
 */
import { createHash, webcrypto } from 'node:crypto';
import t, { type Test } from 'tap';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  TimestampError,
  buildTimestampRequest,
  verifyTimestampResponse,
  verifyTimestampToken,
  type TimestampErrorCode,
} from '../../src/modules/conservazione/timestamp.js';
import { loadX509 } from '../../src/modules/spid/certificate.js';
import { generateTsaKeys } from '../../src/simulators/tsa/keys.js';
import { TSA_POLICY, createTsa } from '../../src/simulators/tsa/tsa.js';
import { tsaFixture } from '../simulators/tsa-fixtures.js';

const NOW = new Date(Date.now() - 3_600_000 + 456); // an hour ago, with milliseconds
const clock = () => NOW;
const { keys } = await tsaFixture();
const tsa = createTsa({ key: keys.keyPem, certificate: keys.certPem, clock });
const digest = createHash('sha256').update('indice SInCRO del PdA 1').digest();

async function stamp(d: Uint8Array = digest, opts: Parameters<typeof buildTimestampRequest>[1] = {}) {
  const req = buildTimestampRequest(d, opts);
  return { req, resp: await tsa.respond(req.der) };
}

async function rejects(t: Test, p: Promise<unknown>, code: TimestampErrorCode): Promise<TimestampError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof TimestampError, `throws a TimestampError (${String(err)})`);
  t.equal((err as TimestampError).code, code);
  return err as TimestampError;
}

t.test('a token from the simulator verifies: imprint, nonce, genTime from the clock, policy, accuracy', async (t) => {
  const { req, resp } = await stamp();
  const v = await verifyTimestampResponse(resp, { digest, nonce: req.nonce, tsaCertificate: keys.certPem });
  t.equal(v.genTime.toISOString(), new Date(Math.floor(NOW.getTime() / 1000) * 1000).toISOString());
  t.equal(v.nonce, req.nonce);
  t.equal(v.policy, TSA_POLICY);
  t.equal(v.accuracyMs, 1000);
  t.match(v.serialNumber, /^[0-9a-f]+$/);
  // the stored token alone verifies again (what conservazione:verify will do)
  const again = await verifyTimestampToken(v.token, { digest, tsaCertificate: keys.certPem });
  t.equal(again.serialNumber, v.serialNumber);
});

t.test('without certReq the token carries no certificate and still verifies with the pinned one', async (t) => {
  const { req, resp } = await stamp(digest, { certReq: false });
  const token = pkijs.TimeStampResp.fromBER(new Uint8Array(resp).buffer).timeStampToken!;
  t.equal(new pkijs.SignedData({ schema: token.content }).certificates, undefined);
  const v = await verifyTimestampResponse(resp, { digest, nonce: req.nonce, tsaCertificate: keys.certPem });
  t.equal(v.nonce, req.nonce);
});

t.test('serial numbers are unique', async (t) => {
  const serials = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const { req, resp } = await stamp();
    serials.add((await verifyTimestampResponse(resp, { digest, nonce: req.nonce, tsaCertificate: keys.certPem })).serialNumber);
  }
  t.equal(serials.size, 5);
});

t.test('every single changed byte of the token makes it fail', async (t) => {
  const { resp } = await stamp();
  const { token } = await verifyTimestampResponse(resp, { digest, tsaCertificate: keys.certPem });
  const survivors: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const bad = Buffer.from(token);
    bad[i] = bad[i]! ^ 0x01;
    const ok = await verifyTimestampToken(bad, { digest, tsaCertificate: keys.certPem }).then(
      () => true,
      (e: unknown) => {
        if (!(e instanceof TimestampError)) throw e;
        return false;
      },
    );
    if (ok) survivors.push(i);
  }
  t.same(survivors.map((i) => `${i}: …${token.subarray(Math.max(0, i - 4), i + 4).toString('hex')}…`), [], `all ${token.length} one-byte alterations rejected`);
});

t.test('another digest is an imprint mismatch', async (t) => {
  const { req, resp } = await stamp();
  const other = createHash('sha256').update('un altro documento').digest();
  await rejects(t, verifyTimestampResponse(resp, { digest: other, nonce: req.nonce, tsaCertificate: keys.certPem }), 'imprint_mismatch');
});

t.test('another nonce is a nonce mismatch', async (t) => {
  const { resp } = await stamp();
  const other = buildTimestampRequest(digest).nonce;
  await rejects(t, verifyTimestampResponse(resp, { digest, nonce: other, tsaCertificate: keys.certPem }), 'nonce_mismatch');
});

t.test("another TSA's certificate does not verify the token", async (t) => {
  const other = await generateTsaKeys({ clock, name: 'Altra TSA' });
  const { req, resp } = await stamp();
  const e = await rejects(t, verifyTimestampResponse(resp, { digest, nonce: req.nonce, tsaCertificate: other.certPem }), 'signature_invalid');
  t.match(e.message, /firma/);
  // and a token signed by the other TSA's key with our certificate's name does not pass as ours
  const forger = createTsa({ key: other.keyPem, certificate: keys.certPem, clock });
  const forged = await forger.respond(req.der);
  await rejects(t, verifyTimestampResponse(forged, { digest, nonce: req.nonce, tsaCertificate: keys.certPem }), 'signature_invalid');
});

t.test('a TSA certificate without the critical id-kp-timeStamping usage is refused', async (t) => {
  const x509 = await loadX509();
  const cert = new x509.X509Certificate(keys.certPem);
  t.ok(cert.getExtension(x509.ExtendedKeyUsageExtension)?.critical, 'the simulator certificate has it, critical');
  // a certificate issued with a non-critical EKU (same key): the signature checks pass, the usage check does not
  const key = await webcrypto.subtle.importKey(
    'pkcs8',
    Buffer.from(keys.keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'),
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    true,
    ['sign'],
  );
  const pub = await cert.publicKey.export(webcrypto as unknown as Crypto);
  const weak = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: 'CN=TSA debole',
      notBefore: new Date(NOW.getTime() - 86_400_000),
      notAfter: new Date(NOW.getTime() + 86_400_000),
      keys: { privateKey: key, publicKey: pub },
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      extensions: [new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.8'], false)],
    },
    webcrypto as unknown as Crypto,
  );
  const weakTsa = createTsa({ key: keys.keyPem, certificate: weak.toString('pem'), clock });
  const req = buildTimestampRequest(digest);
  const e = await rejects(t, verifyTimestampResponse(await weakTsa.respond(req.der), { digest, nonce: req.nonce, tsaCertificate: weak.toString('pem') }), 'certificate_invalid');
  t.match(e.message, /timeStamping/);
});

t.test('a genTime outside the certificate validity is refused', async (t) => {
  const late = createTsa({ key: keys.keyPem, certificate: keys.certPem, clock: () => new Date(NOW.getTime() + 20 * 365 * 86_400_000) });
  const req = buildTimestampRequest(digest);
  await rejects(t, verifyTimestampResponse(await late.respond(req.der), { digest, nonce: req.nonce, tsaCertificate: keys.certPem }), 'certificate_invalid');
});

t.test('a response with status rejection is reported as such, with its failInfo', async (t) => {
  const req = buildTimestampRequest(digest, { policy: '1.2.3.4' });
  const e = await rejects(t, verifyTimestampResponse(await tsa.respond(req.der), { digest, nonce: req.nonce, tsaCertificate: keys.certPem }), 'rejected');
  t.equal(e.details.status, 'rejection');
  t.same(e.details.failInfo, ['unacceptedPolicy']);
  t.match(e.message, /rifiutato/);

  const garbage = await rejects(t, verifyTimestampResponse(await tsa.respond(Buffer.from('not DER')), { digest, tsaCertificate: keys.certPem }), 'rejected');
  t.same(garbage.details.failInfo, ['badDataFormat']);

  // SHA-1 imprint: badAlg
  const sha1 = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: '1.3.14.3.2.26' }),
      hashedMessage: new asn1js.OctetString({ valueHex: new Uint8Array(createHash('sha1').update('x').digest()).buffer }),
    }),
  });
  const bad = await rejects(t, verifyTimestampResponse(await tsa.respond(Buffer.from(sha1.toSchema().toBER())), { digest, tsaCertificate: keys.certPem }), 'rejected');
  t.same(bad.details.failInfo, ['badAlg']);
});

t.test('a response that is not a TimeStampResp is malformed; a digest of the wrong length is refused', async (t) => {
  await rejects(t, verifyTimestampResponse(Buffer.from('<html>'), { digest, tsaCertificate: keys.certPem }), 'malformed');
  t.throws(() => buildTimestampRequest(Buffer.alloc(20)), RangeError);
  const { req, resp } = await stamp();
  await rejects(t, verifyTimestampResponse(resp, { digest, nonce: req.nonce, tsaCertificate: 'not a certificate' }), 'certificate_invalid');
});
