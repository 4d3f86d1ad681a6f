/**
 * CAdES-BES detached signatures (ETSI EN 319 122-1) of a PdA index, with PKI.js: a CMS SignedData
 * (RFC 5652) without the content, one SignerInfo (RSA PKCS#1 v1.5 with SHA-256) whose signed
 * attributes are content-type (id-data), message-digest (SHA-256 of the index), signing-time and
 * ESS signing-certificate-v2 (RFC 5035: SHA-256 of the signer certificate), and the signer
 * certificate (plus its chain, if any) in `certificates`.
 *
 * {@link verifyCadesDetached} checks the structure (DER only: a signature that does not re-encode to
 * the same bytes was altered), the message digest against the content, the signing-certificate-v2
 * against the embedded certificate and the RSA signature over the signed attributes. Trust (which
 * certificate may sign) and validity at a trusted time are the caller's (sealer.ts).
 */
import { createHash, createPrivateKey, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID_CONTENT_TYPE, OID_MESSAGE_DIGEST, OID_SHA256, OID_SIGNED_DATA, OID_SIGNING_CERTIFICATE_V2, cryptoEngine } from './timestamp.js';

export const OID_DATA = '1.2.840.113549.1.7.1';
export const OID_SIGNING_TIME = '1.2.840.113549.1.9.5';
export const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
export const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';

export interface CadesSigner {
  /** WebCrypto RSASSA-PKCS1-v1_5/SHA-256 private key. */
  key: CryptoKey;
  /** The signer certificate, then its chain (DER). */
  certificates: Buffer[];
}

export class CadesError extends Error {
  override name = 'CadesError';
}

function ab(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** Every `CERTIFICATE` block of a PEM text, as DER, in order. */
export function pemCertificates(pem: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g)) out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  return out;
}

/** An RSA private key from PEM (PKCS#8 or PKCS#1), imported for RSASSA-PKCS1-v1_5 with SHA-256. */
export async function importRsaSigningKey(pem: string): Promise<CryptoKey> {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'rsa') throw new CadesError(`chiave del firmatario di tipo ${key.asymmetricKeyType ?? 'sconosciuto'}: serve una chiave RSA`);
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', ab(der), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']) as Promise<CryptoKey>;
}

/** SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 { certHash (SHA-256: default algorithm, omitted) } } */
function signingCertificateV2(certDer: Buffer): asn1js.Sequence {
  const hash = createHash('sha256').update(certDer).digest();
  return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: ab(hash) })] })] })] });
}

/** A detached CAdES-BES signature (DER ContentInfo) of `content`, signed at `signingTime`. */
export async function signCadesDetached(content: Uint8Array, signer: CadesSigner, signingTime: Date): Promise<Buffer> {
  const certDer = signer.certificates[0];
  if (!certDer) throw new CadesError('certificato del firmatario mancante');
  const cert = pkijs.Certificate.fromBER(ab(certDer));
  const digest = createHash('sha256').update(content).digest();
  const time = new Date(Math.floor(signingTime.getTime() / 1000) * 1000);
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID_DATA }),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({
          type: 0,
          attributes: [
            new pkijs.Attribute({ type: OID_CONTENT_TYPE, values: [new asn1js.ObjectIdentifier({ value: OID_DATA })] }),
            new pkijs.Attribute({ type: OID_SIGNING_TIME, values: [time.getUTCFullYear() < 2050 ? new asn1js.UTCTime({ valueDate: time }) : new asn1js.GeneralizedTime({ valueDate: time })] }),
            new pkijs.Attribute({ type: OID_MESSAGE_DIGEST, values: [new asn1js.OctetString({ valueHex: ab(digest) })] }),
            new pkijs.Attribute({ type: OID_SIGNING_CERTIFICATE_V2, values: [signingCertificateV2(certDer)] }),
          ],
        }),
      }),
    ],
    certificates: signer.certificates.map((d) => pkijs.Certificate.fromBER(ab(d))),
  });
  await signed.sign(signer.key, 0, 'SHA-256', undefined, cryptoEngine);
  const ci = new pkijs.ContentInfo({ contentType: OID_SIGNED_DATA, content: signed.toSchema(true) });
  return Buffer.from(ci.toSchema().toBER());
}

export interface CadesVerification {
  /** DER of the certificate the SignerInfo names (found among the embedded certificates). */
  signerCertificate: Buffer;
  /** Every embedded certificate (DER). */
  certificates: Buffer[];
  signingTime: Date;
  /** The SignerInfo signature value (what the RFC 3161 time stamp covers). */
  signatureValue: Buffer;
}

/** Verifies a detached CAdES-BES signature of `content`; throws {@link CadesError} (Italian message) on any failure. */
export async function verifyCadesDetached(content: Uint8Array, signature: Uint8Array): Promise<CadesVerification> {
  let signed: pkijs.SignedData;
  try {
    const ci = pkijs.ContentInfo.fromBER(ab(signature));
    if (ci.contentType !== OID_SIGNED_DATA) throw new Error(`content type ${ci.contentType}`);
    signed = new pkijs.SignedData({ schema: ci.content });
    const rebuilt = new pkijs.ContentInfo({ contentType: ci.contentType, content: signed.toSchema(true) });
    if (!Buffer.from(rebuilt.toSchema().toBER()).equals(Buffer.from(signature))) throw new Error('codifica non DER');
  } catch (e) {
    throw new CadesError(`firma non leggibile (CMS SignedData): ${(e as Error).message}`);
  }
  if (signed.encapContentInfo.eContentType !== OID_DATA || signed.encapContentInfo.eContent) throw new CadesError('la firma non è di tipo detached su dati (id-data)');
  if (signed.signerInfos.length !== 1) throw new CadesError(`${signed.signerInfos.length} firmatari invece di uno`);
  const si = signed.signerInfos[0]!;
  if (si.version !== 1 || !(si.sid instanceof pkijs.IssuerAndSerialNumber)) throw new CadesError('identificativo del firmatario non previsto');
  const der = (o: { toSchema(): asn1js.AsnType }) => Buffer.from(o.toSchema().toBER());
  const certs = (signed.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  const sid = si.sid;
  const cert = certs.find((c) => der(c.issuer).equals(der(sid.issuer)) && Buffer.from(c.serialNumber.toBER()).equals(Buffer.from(sid.serialNumber.toBER())));
  if (!cert) throw new CadesError('il certificato del firmatario non è nella firma');
  const certDer = der(cert);
  // fields outside the signed attributes: only the values this profile writes
  const plain = (a: pkijs.AlgorithmIdentifier) => a.algorithmParams === undefined || a.algorithmParams instanceof asn1js.Null;
  if (signed.version !== 1) throw new CadesError('versione SignedData non prevista');
  if (signed.digestAlgorithms.length !== 1 || signed.digestAlgorithms[0]!.algorithmId !== OID_SHA256 || !plain(signed.digestAlgorithms[0]!)) throw new CadesError('algoritmi di hash dichiarati in modo errato');
  if (si.digestAlgorithm.algorithmId !== OID_SHA256 || !plain(si.digestAlgorithm)) throw new CadesError(`algoritmo di hash ${si.digestAlgorithm.algorithmId} non ammesso (serve SHA-256)`);
  if (!plain(si.signatureAlgorithm)) throw new CadesError('parametri dell’algoritmo di firma non previsti');
  if (si.unsignedAttrs) throw new CadesError('attributi non firmati non previsti');
  if (signed.crls?.length) throw new CadesError('elenchi di revoca non previsti nella firma');
  if (![OID_SHA256_WITH_RSA, OID_RSA_ENCRYPTION].includes(si.signatureAlgorithm.algorithmId)) throw new CadesError(`algoritmo di firma ${si.signatureAlgorithm.algorithmId} non ammesso`);
  if (!si.signedAttrs) throw new CadesError('attributi firmati assenti (non è una firma CAdES)');
  const attr = (oid: string) => {
    const found = si.signedAttrs!.attributes.filter((a) => a.type === oid);
    if (found.length > 1 || (found[0] && found[0].values.length !== 1)) throw new CadesError(`attributo ${oid} ripetuto`);
    return found[0]?.values[0];
  };
  const contentType = attr(OID_CONTENT_TYPE);
  if (!(contentType instanceof asn1js.ObjectIdentifier) || contentType.valueBlock.toString() !== OID_DATA) throw new CadesError('attributo content-type errato');
  const md = attr(OID_MESSAGE_DIGEST);
  const digest = createHash('sha256').update(content).digest();
  if (!(md instanceof asn1js.OctetString) || !Buffer.from(md.valueBlock.valueHexView).equals(digest)) throw new CadesError('il contenuto firmato è stato alterato (impronta diversa)');
  const st = attr(OID_SIGNING_TIME);
  if (!(st instanceof asn1js.UTCTime || st instanceof asn1js.GeneralizedTime)) throw new CadesError('attributo signing-time assente');
  const signingTime = st.toDate();
  const scv2 = attr(OID_SIGNING_CERTIFICATE_V2);
  const certHash = scv2 instanceof asn1js.Sequence ? scv2.valueBlock.value[0] : undefined;
  const first = certHash instanceof asn1js.Sequence ? certHash.valueBlock.value[0] : undefined;
  const parts = first instanceof asn1js.Sequence ? first.valueBlock.value : [];
  const hashPart = parts[0] instanceof asn1js.Sequence ? undefined : parts[0];
  if (!(hashPart instanceof asn1js.OctetString)) throw new CadesError('attributo signing-certificate-v2 assente o non SHA-256 (CAdES-BES)');
  if (!Buffer.from(hashPart.valueBlock.valueHexView).equals(createHash('sha256').update(certDer).digest())) throw new CadesError('signing-certificate-v2 non corrisponde al certificato del firmatario');
  const ok = await cryptoEngine.verifyWithPublicKey(si.signedAttrs.encodedValue, si.signature, cert.subjectPublicKeyInfo, si.signatureAlgorithm, 'SHA-256');
  if (!ok) throw new CadesError('la firma non corrisponde agli attributi firmati');
  return {
    signerCertificate: certDer,
    certificates: certs.map(der),
    signingTime,
    signatureValue: Buffer.from(si.signature.valueBlock.valueHexView),
  };
}

/** The SignerInfo signature value of a CAdES signature (what the time stamp covers), without verifying. */
export function cadesSignatureValue(signature: Uint8Array): Buffer {
  const ci = pkijs.ContentInfo.fromBER(ab(signature));
  const signed = new pkijs.SignedData({ schema: ci.content });
  return Buffer.from(signed.signerInfos[0]!.signature.valueBlock.valueHexView);
}
