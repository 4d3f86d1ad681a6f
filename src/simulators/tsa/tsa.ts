/**
 * Built-in RFC 3161 Time-Stamp Authority (demo and tests only; production uses a real,
 * qualified TSA through its URL). {@link createTsa} is pure apart from the injected clock: it
 * answers a DER TimeStampReq with a DER TimeStampResp.
 *
 * - accepts SHA-256/384/512 imprints of the right length, version 1, no extensions, our policy or
 *   none; anything else gets status rejection with the RFC 3161 failInfo (badAlg, badRequest,
 *   badDataFormat, unacceptedPolicy, unacceptedExtension);
 * - TSTInfo: policy {@link TSA_POLICY}, unique serial numbers (random per-instance prefix and a
 *   counter), genTime from the clock to the second, accuracy 1 s, the nonce echoed;
 * - SignedData (SHA-256 with RSA) with content-type, message-digest and ESS signing-certificate-v2
 *   signed attributes; the TSA certificate included when certReq is true.
 */
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  OID_CONTENT_TYPE,
  OID_MESSAGE_DIGEST,
  OID_SHA256,
  OID_SIGNING_CERTIFICATE_V2,
  OID_TST_INFO,
  OID_SIGNED_DATA,
  cryptoEngine,
} from '../../modules/conservazione/timestamp.js';

/** Policy of the simulator (under the ITU-T "example" arc 2.999: not a real TSA policy). */
export const TSA_POLICY = '2.999.3161.1';

const HASH_LENGTHS: Record<string, number> = {
  [OID_SHA256]: 32,
  '2.16.840.1.101.3.4.2.2': 48,
  '2.16.840.1.101.3.4.2.3': 64,
};

export const FAIL = { badAlg: 0, badRequest: 2, badDataFormat: 5, unacceptedPolicy: 15, unacceptedExtension: 16, systemFailure: 25 } as const;

export interface TsaOptions {
  /** PKCS#8 PEM RSA private key of the TSA certificate. */
  key: string;
  /** PEM certificate of the TSA (critical id-kp-timeStamping). */
  certificate: string;
  clock: () => Date;
}

export interface Tsa {
  /** Answers a DER TimeStampReq with a DER TimeStampResp (never throws on bad input). */
  respond(request: Uint8Array): Promise<Buffer>;
}

function pemBody(pem: string, label: string): ArrayBuffer {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`).exec(pem);
  if (!m) throw new Error(`no ${label} in PEM`);
  const b = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** PKIFailureInfo as a DER BIT STRING (trailing zero bits dropped). */
function failInfoBits(bit: number): asn1js.BitString {
  const bytes = new Uint8Array((bit >> 3) + 1);
  bytes[bit >> 3] = 0x80 >> (bit & 7);
  return new asn1js.BitString({ valueHex: bytes.buffer, unusedBits: 7 - (bit & 7) });
}

function rejection(bit: number, text: string): Buffer {
  const resp = new pkijs.TimeStampResp({
    status: new pkijs.PKIStatusInfo({
      status: pkijs.PKIStatus.rejection,
      statusStrings: [new asn1js.Utf8String({ value: text })],
      failInfo: failInfoBits(bit),
    }),
  });
  return Buffer.from(resp.toSchema().toBER());
}

export function createTsa(options: TsaOptions): Tsa {
  const certDer = pemBody(options.certificate, 'CERTIFICATE');
  const cert = pkijs.Certificate.fromBER(certDer);
  const essCertHash = createHash('sha256').update(Buffer.from(certDer)).digest();
  const keyPromise = webcrypto.subtle.importKey(
    'pkcs8',
    pemBody(options.key, 'PRIVATE KEY'),
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const serialPrefix = randomBytes(8);
  serialPrefix[0] = (serialPrefix[0]! & 0x7f) | 0x01;
  let counter = 0n;

  function nextSerial(): asn1js.Integer {
    counter += 1n;
    const tail = Buffer.alloc(8);
    tail.writeBigUInt64BE(counter);
    return new asn1js.Integer({ valueHex: new Uint8Array(Buffer.concat([serialPrefix, tail])).buffer });
  }

  async function respond(request: Uint8Array): Promise<Buffer> {
    let req: pkijs.TimeStampReq;
    try {
      req = pkijs.TimeStampReq.fromBER(new Uint8Array(request).buffer);
    } catch {
      return rejection(FAIL.badDataFormat, 'TimeStampReq non valida (DER)');
    }
    if (req.version !== 1) return rejection(FAIL.badRequest, `versione ${req.version} non supportata`);
    const alg = req.messageImprint.hashAlgorithm.algorithmId;
    const expected = HASH_LENGTHS[alg];
    if (expected === undefined) return rejection(FAIL.badAlg, `algoritmo di hash ${alg} non accettato`);
    if (req.messageImprint.hashedMessage.valueBlock.valueHexView.byteLength !== expected) {
      return rejection(FAIL.badDataFormat, 'lunghezza dell’impronta errata');
    }
    if (req.reqPolicy !== undefined && req.reqPolicy !== TSA_POLICY) return rejection(FAIL.unacceptedPolicy, `policy ${req.reqPolicy} non accettata`);
    if (req.extensions?.length) return rejection(FAIL.unacceptedExtension, 'estensioni non supportate');

    try {
      const now = options.clock();
      const genTime = new Date(Math.floor(now.getTime() / 1000) * 1000);
      const tst = new pkijs.TSTInfo({
        version: 1,
        policy: TSA_POLICY,
        messageImprint: req.messageImprint,
        serialNumber: nextSerial(),
        genTime,
        accuracy: new pkijs.Accuracy({ seconds: 1 }),
        ...(req.nonce ? { nonce: req.nonce } : {}),
      });
      const tstDer = tst.toSchema().toBER();
      const signed = new pkijs.SignedData({
        version: 3,
        encapContentInfo: new pkijs.EncapsulatedContentInfo({
          eContentType: OID_TST_INFO,
          eContent: new asn1js.OctetString({ valueHex: tstDer }),
        }),
        signerInfos: [
          new pkijs.SignerInfo({
            version: 1,
            sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
            signedAttrs: new pkijs.SignedAndUnsignedAttributes({
              type: 0,
              attributes: [
                new pkijs.Attribute({ type: OID_CONTENT_TYPE, values: [new asn1js.ObjectIdentifier({ value: OID_TST_INFO })] }),
                new pkijs.Attribute({
                  type: OID_MESSAGE_DIGEST,
                  values: [new asn1js.OctetString({ valueHex: await cryptoEngine.digest({ name: 'SHA-256' }, tstDer) })],
                }),
                new pkijs.Attribute({
                  type: OID_SIGNING_CERTIFICATE_V2,
                  // SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2 { certHash (SHA-256 default) } }
                  values: [
                    new asn1js.Sequence({
                      value: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: new Uint8Array(essCertHash).buffer })] })] })],
                    }),
                  ],
                }),
              ],
            }),
          }),
        ],
        ...(req.certReq ? { certificates: [cert] } : {}),
      });
      await signed.sign(await keyPromise, 0, 'SHA-256', undefined, cryptoEngine);
      const resp = new pkijs.TimeStampResp({
        status: new pkijs.PKIStatusInfo({ status: pkijs.PKIStatus.granted }),
        timeStampToken: new pkijs.ContentInfo({ contentType: OID_SIGNED_DATA, content: signed.toSchema(true) }),
      });
      return Buffer.from(resp.toSchema().toBER());
    } catch (e) {
      return rejection(FAIL.systemFailure, `errore interno della TSA: ${(e as Error).message}`);
    }
  }

  return { respond };
}
