/**
 * RFC 3161 time stamps (marca temporale), client side (conservazione.md §6):
 *
 * - {@link buildTimestampRequest}: a DER TimeStampReq for a SHA-256 digest (random nonce, certReq);
 * - {@link requestTimestamp}: sends it to a TSA over HTTP (`application/timestamp-query`) and
 *   verifies the answer;
 * - {@link verifyTimestampResponse} / {@link verifyTimestampToken}: parse and VERIFY a
 *   TimeStampResp or a stored token (ContentInfo/SignedData, the `.tst` kept next to an index):
 *   status granted, message imprint = the digest, nonce echoed, the CMS signature verified with the
 *   pinned TSA certificate (signer id, content-type, message-digest and ESS signing-certificate
 *   attributes), the certificate carrying only a critical id-kp-timeStamping extended key usage and
 *   valid at genTime.
 *
 * ASN.1 and CMS through PKI.js/asn1js; certificates through @peculiar/x509. Pure apart from
 * {@link requestTimestamp}'s HTTP call.
 */
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { loadX509 } from '../spid/certificate.js';

export const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
export const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
export const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
export const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
export const OID_SIGNING_CERTIFICATE = '1.2.840.113549.1.9.16.2.12';
export const OID_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';
export const OID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';
export const OID_EXT_KEY_USAGE = '2.5.29.37';

/** Node's WebCrypto behind PKI.js (passed explicitly: no global engine state). */
export const cryptoEngine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto });

/** PKIFailureInfo bit names (RFC 3161 §2.4.2). */
export const FAIL_INFO_BITS: Record<number, string> = {
  0: 'badAlg',
  2: 'badRequest',
  5: 'badDataFormat',
  14: 'timeNotAvailable',
  15: 'unacceptedPolicy',
  16: 'unacceptedExtension',
  17: 'addInfoNotAvailable',
  25: 'systemFailure',
};

const STATUS_NAMES = ['granted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification'];

export type TimestampErrorCode =
  | 'http' // the TSA could not be reached or answered non-200 / wrong content type
  | 'malformed' // not a TimeStampResp / token
  | 'rejected' // PKIStatus other than granted(0) / grantedWithMods(1)
  | 'imprint_mismatch'
  | 'nonce_mismatch'
  | 'signature_invalid'
  | 'certificate_invalid';

export class TimestampError extends Error {
  override name = 'TimestampError';
  constructor(
    readonly code: TimestampErrorCode,
    message: string,
    readonly details: { status?: string; failInfo?: string[]; statusText?: string } = {},
  ) {
    super(message);
  }
}

export interface VerifiedTimestamp {
  /** The TimeStampToken (DER ContentInfo), to store as `.tst` next to the index. */
  token: Buffer;
  genTime: Date;
  /** TSTInfo serial number, lowercase hex. */
  serialNumber: string;
  policy: string;
  /** Accuracy in milliseconds, when the TSA states it. */
  accuracyMs?: number;
  /** Echoed nonce, lowercase hex without leading zeros. */
  nonce?: string;
}

export interface TimestampRequest {
  der: Buffer;
  /** Nonce sent, lowercase hex without leading zeros (pass it to the verification). */
  nonce: string;
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function intHex(i: asn1js.Integer): string {
  return Buffer.from(i.valueBlock.valueHexView).toString('hex').replace(/^(00)+/, '') || '0';
}

function assertSha256(digest: Uint8Array): void {
  if (digest.length !== 32) throw new RangeError(`a SHA-256 digest has 32 bytes, got ${digest.length}`);
}

/** A DER TimeStampReq (version 1) for a SHA-256 digest, with a random 64-bit nonce. */
export function buildTimestampRequest(digest: Uint8Array, options: { certReq?: boolean; policy?: string; nonce?: Uint8Array } = {}): TimestampRequest {
  assertSha256(digest);
  const nonceBytes = Buffer.from(options.nonce ?? randomBytes(8));
  nonceBytes[0] = (nonceBytes[0]! & 0x7f) | 0x01; // positive, no leading zero byte (DER)
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: toArrayBuffer(digest) }),
    }),
    nonce: new asn1js.Integer({ valueHex: toArrayBuffer(nonceBytes) }),
    certReq: options.certReq ?? true,
    ...(options.policy ? { reqPolicy: options.policy } : {}),
  });
  return { der: Buffer.from(req.toSchema().toBER()), nonce: nonceBytes.toString('hex') };
}

export interface VerifyOptions {
  /** The SHA-256 digest that was time-stamped. */
  digest: Uint8Array;
  /** The nonce sent (hex), when there was one: the token must echo it. */
  nonce?: string;
  /** The TSA's certificate (PEM or DER): the token must be signed with its key. */
  tsaCertificate: string | Uint8Array;
}

/** Parses and verifies a DER TimeStampResp; throws {@link TimestampError} on any failure. */
export async function verifyTimestampResponse(der: Uint8Array, options: VerifyOptions): Promise<VerifiedTimestamp> {
  let resp: pkijs.TimeStampResp;
  try {
    resp = pkijs.TimeStampResp.fromBER(toArrayBuffer(der));
  } catch (e) {
    throw new TimestampError('malformed', `risposta TSA non valida (TimeStampResp): ${(e as Error).message}`);
  }
  const status = resp.status.status;
  if (status !== pkijs.PKIStatus.granted && status !== pkijs.PKIStatus.grantedWithMods) {
    const failInfo = failInfoNames(resp.status.failInfo);
    const statusText = (resp.status.statusStrings ?? []).map((s) => s.valueBlock.value).join('; ');
    const name = STATUS_NAMES[status] ?? String(status);
    throw new TimestampError(
      'rejected',
      `la TSA ha rifiutato la richiesta (stato ${name}${failInfo.length ? `, ${failInfo.join(', ')}` : ''}${statusText ? `: ${statusText}` : ''})`,
      { status: name, failInfo, statusText },
    );
  }
  if (!resp.timeStampToken) throw new TimestampError('malformed', 'risposta TSA senza marca temporale');
  return verifyTimestampToken(Buffer.from(resp.timeStampToken.toSchema().toBER()), options);
}

function failInfoNames(bits?: asn1js.BitString): string[] {
  if (!bits) return [];
  const bytes = bits.valueBlock.valueHexView;
  const names: string[] = [];
  for (let i = 0; i < bytes.length * 8; i++) {
    if (bytes[i >> 3]! & (0x80 >> (i & 7))) names.push(FAIL_INFO_BITS[i] ?? `bit${i}`);
  }
  return names;
}

/** Verifies a TimeStampToken (DER ContentInfo with SignedData over a TSTInfo). */
export async function verifyTimestampToken(token: Uint8Array, options: VerifyOptions): Promise<VerifiedTimestamp> {
  assertSha256(options.digest);
  const pinned = await pinnedCertificate(options.tsaCertificate).catch((e: Error) => {
    throw new TimestampError('certificate_invalid', `certificato della TSA illeggibile: ${e.message}`);
  });

  let signed: pkijs.SignedData;
  let tst: pkijs.TSTInfo;
  try {
    const ci = pkijs.ContentInfo.fromBER(toArrayBuffer(token));
    if (ci.contentType !== OID_SIGNED_DATA) throw new Error(`content type ${ci.contentType}`);
    signed = new pkijs.SignedData({ schema: ci.content });
    if (signed.encapContentInfo.eContentType !== OID_TST_INFO || !signed.encapContentInfo.eContent) {
      throw new Error('the content is not a TSTInfo');
    }
    tst = pkijs.TSTInfo.fromBER(signed.encapContentInfo.eContent.getValue());
    // DER only: a token that does not re-encode to the same bytes was altered or is not DER
    const rebuilt = new pkijs.ContentInfo({ contentType: ci.contentType, content: signed.toSchema(true) });
    if (!Buffer.from(rebuilt.toSchema().toBER()).equals(Buffer.from(token))) throw new Error('not DER-encoded');
  } catch (e) {
    throw new TimestampError('malformed', `marca temporale non valida: ${(e as Error).message}`);
  }

  // What was stamped
  const imprint = tst.messageImprint;
  if (imprint.hashAlgorithm.algorithmId !== OID_SHA256 || !Buffer.from(imprint.hashedMessage.valueBlock.valueHexView).equals(Buffer.from(options.digest))) {
    throw new TimestampError('imprint_mismatch', 'la marca temporale non si riferisce a questo documento (impronta diversa)');
  }
  const nonce = tst.nonce ? intHex(tst.nonce) : undefined;
  if (options.nonce !== undefined && nonce !== options.nonce.toLowerCase().replace(/^(00)+/, '')) {
    throw new TimestampError('nonce_mismatch', 'la marca temporale non risponde a questa richiesta (nonce diverso)');
  }

  await verifySignature(signed, pinned.cert, pinned.der);
  checkTsaCertificate(pinned, tst.genTime);

  const accuracyMs = tst.accuracy
    ? (tst.accuracy.seconds ?? 0) * 1000 + (tst.accuracy.millis ?? 0) + (tst.accuracy.micros ?? 0) / 1000
    : undefined;
  return {
    token: Buffer.from(token),
    genTime: tst.genTime,
    serialNumber: intHex(tst.serialNumber),
    policy: tst.policy,
    ...(accuracyMs !== undefined ? { accuracyMs } : {}),
    ...(nonce !== undefined ? { nonce } : {}),
  };
}

interface PinnedCertificate {
  der: Buffer;
  cert: pkijs.Certificate;
  /** RFC 3161 §2.3: exactly one extended key usage, id-kp-timeStamping, marked critical. */
  timeStampingOnly: boolean;
  notBefore: Date;
  notAfter: Date;
}

/** Parsed TSA certificates (a handful per process; parsing costs ~4 ms of an ~11 ms verification). */
const pinnedCache = new Map<string, Promise<PinnedCertificate>>();

function pinnedCertificate(input: string | Uint8Array): Promise<PinnedCertificate> {
  const key = typeof input === 'string' ? input : Buffer.from(input).toString('base64');
  let entry = pinnedCache.get(key);
  if (!entry) {
    entry = (async () => {
      const x509 = await loadX509();
      const parsed = new x509.X509Certificate(typeof input === 'string' ? input : toArrayBuffer(input));
      const der = Buffer.from(parsed.rawData);
      const eku = parsed.extensions.filter((e) => e.type === OID_EXT_KEY_USAGE);
      const ext = eku[0] ? new x509.ExtendedKeyUsageExtension(eku[0].rawData) : undefined;
      return {
        der,
        cert: pkijs.Certificate.fromBER(toArrayBuffer(der)),
        timeStampingOnly: eku.length === 1 && !!ext && ext.critical && ext.usages.length === 1 && ext.usages[0] === OID_KP_TIME_STAMPING,
        notBefore: parsed.notBefore,
        notAfter: parsed.notAfter,
      };
    })();
    entry.catch(() => pinnedCache.delete(key));
    if (pinnedCache.size >= 32) pinnedCache.delete(pinnedCache.keys().next().value!);
    pinnedCache.set(key, entry);
  }
  return entry;
}

/** RSA (PKCS#1 v1.5: rsaEncryption, sha256/384/512WithRSA) and ECDSA with SHA-2: what TSAs use. */
const SIGNATURE_ALGORITHMS = new Set([
  '1.2.840.113549.1.1.1',
  '1.2.840.113549.1.1.11',
  '1.2.840.113549.1.1.12',
  '1.2.840.113549.1.1.13',
  '1.2.840.10045.4.3.2',
  '1.2.840.10045.4.3.3',
  '1.2.840.10045.4.3.4',
]);

/** The CMS signature (RFC 5652 §5.4) with the pinned TSA certificate, and RFC 3161's ESS attribute. */
async function verifySignature(signed: pkijs.SignedData, tsaCert: pkijs.Certificate, tsaCertDer: Buffer): Promise<void> {
  const bad = (why: string) => new TimestampError('signature_invalid', `firma della marca temporale non valida: ${why}`);
  if (signed.signerInfos.length !== 1) throw bad(`${signed.signerInfos.length} firmatari invece di uno`);
  const si = signed.signerInfos[0]!;
  const der = (o: { toSchema(): asn1js.AsnType }) => Buffer.from(o.toSchema().toBER());
  if (
    !(si.sid instanceof pkijs.IssuerAndSerialNumber) ||
    !der(si.sid.issuer).equals(der(tsaCert.issuer)) ||
    !Buffer.from(si.sid.serialNumber.toBER()).equals(Buffer.from(tsaCert.serialNumber.toBER()))
  ) {
    throw bad('non è firmata con il certificato della TSA');
  }
  // fields outside the signed attributes: only the values RFC 5652 / 3161 allow
  if (signed.version !== 3 || si.version !== 1) throw bad('versione SignedData/SignerInfo errata');
  // certificates carried in the token, if any, must include exactly the TSA's (no substitute)
  const certs = signed.certificates ?? [];
  if (certs.length && !certs.some((c) => c instanceof pkijs.Certificate && Buffer.from(c.toSchema().toBER()).equals(tsaCertDer))) {
    throw bad('il certificato allegato differisce da quello della TSA');
  }
  if (!SIGNATURE_ALGORITHMS.has(si.signatureAlgorithm.algorithmId)) throw bad(`algoritmo di firma ${si.signatureAlgorithm.algorithmId} non ammesso`);
  const plain = (a: pkijs.AlgorithmIdentifier) => a.algorithmParams === undefined || a.algorithmParams instanceof asn1js.Null;
  if (
    !plain(si.digestAlgorithm) ||
    !plain(si.signatureAlgorithm) ||
    !signed.digestAlgorithms.every(plain) ||
    !signed.digestAlgorithms.some((a) => a.algorithmId === si.digestAlgorithm.algorithmId)
  ) {
    throw bad('algoritmi di hash o di firma dichiarati in modo errato');
  }
  const hash = cryptoEngine.getAlgorithmByOID(si.digestAlgorithm.algorithmId);
  if (!('name' in hash) || !/^SHA-(256|384|512)$/i.test(hash.name)) throw bad(`algoritmo di hash ${si.digestAlgorithm.algorithmId} non ammesso`);
  if (!si.signedAttrs) throw bad('attributi firmati assenti');

  const attr = (oid: string) => {
    const found = si.signedAttrs!.attributes.filter((a) => a.type === oid);
    if (found.length > 1 || (found[0] && found[0].values.length !== 1)) throw bad(`attributo ${oid} ripetuto`);
    return found[0]?.values[0];
  };
  const contentType = attr(OID_CONTENT_TYPE);
  if (!(contentType instanceof asn1js.ObjectIdentifier) || contentType.valueBlock.toString() !== OID_TST_INFO) throw bad('attributo content-type errato');
  const messageDigest = attr(OID_MESSAGE_DIGEST);
  const eContent = Buffer.from(signed.encapContentInfo.eContent!.getValue());
  const actual = Buffer.from(await cryptoEngine.digest({ name: hash.name }, eContent));
  if (!(messageDigest instanceof asn1js.OctetString) || !Buffer.from(messageDigest.valueBlock.valueHexView).equals(actual)) {
    throw bad('il contenuto è stato alterato (message-digest diverso)');
  }
  checkEssCertId(attr(OID_SIGNING_CERTIFICATE_V2), attr(OID_SIGNING_CERTIFICATE), tsaCertDer, bad);

  const ok = await cryptoEngine.verifyWithPublicKey(
    si.signedAttrs.encodedValue,
    si.signature,
    tsaCert.subjectPublicKeyInfo,
    si.signatureAlgorithm,
    hash.name,
  );
  if (!ok) throw bad('la firma non corrisponde');
}

/** RFC 3161 §2.4.2 / RFC 5035: the first ESSCertID(v2) must be the hash of the TSA certificate. */
function checkEssCertId(v2: unknown, v1: unknown, certDer: Buffer, bad: (why: string) => TimestampError): void {
  const first = (attr: unknown) => {
    // SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), ... }
    const certs = attr instanceof asn1js.Sequence ? attr.valueBlock.value[0] : undefined;
    const id = certs instanceof asn1js.Sequence ? certs.valueBlock.value[0] : undefined;
    if (!(id instanceof asn1js.Sequence)) throw bad('attributo signing-certificate malformato');
    return id.valueBlock.value;
  };
  if (v2 !== undefined) {
    const parts = first(v2);
    let alg = OID_SHA256;
    let i = 0;
    if (parts[0] instanceof asn1js.Sequence) {
      alg = new pkijs.AlgorithmIdentifier({ schema: parts[0] }).algorithmId;
      i = 1;
    }
    const hashName = { [OID_SHA256]: 'sha256', '2.16.840.1.101.3.4.2.2': 'sha384', '2.16.840.1.101.3.4.2.3': 'sha512' }[alg];
    const certHash = parts[i];
    if (!hashName || !(certHash instanceof asn1js.OctetString)) throw bad('attributo signing-certificate-v2 malformato');
    if (!Buffer.from(certHash.valueBlock.valueHexView).equals(createHash(hashName).update(certDer).digest())) {
      throw bad('signing-certificate-v2 non corrisponde al certificato della TSA');
    }
    return;
  }
  if (v1 !== undefined) {
    const certHash = first(v1)[0];
    if (!(certHash instanceof asn1js.OctetString) || !Buffer.from(certHash.valueBlock.valueHexView).equals(createHash('sha1').update(certDer).digest())) {
      throw bad('signing-certificate non corrisponde al certificato della TSA');
    }
    return;
  }
  throw bad('attributo signing-certificate(-v2) assente');
}

/** RFC 3161 §2.3: only id-kp-timeStamping, critical; valid at genTime. */
function checkTsaCertificate(pinned: PinnedCertificate, genTime: Date): void {
  if (!pinned.timeStampingOnly) {
    throw new TimestampError('certificate_invalid', 'il certificato della TSA non ha il solo utilizzo id-kp-timeStamping marcato critico');
  }
  if (genTime < pinned.notBefore || genTime > pinned.notAfter) {
    throw new TimestampError('certificate_invalid', `il certificato della TSA non era valido all'ora della marca (${genTime.toISOString()})`);
  }
}

export interface RequestTimestampOptions {
  tsaCertificate: string | Uint8Array;
  /** Milliseconds before giving up on the TSA (default 15 000). */
  timeoutMs?: number;
  policy?: string;
  fetch?: typeof fetch;
}

/** Time-stamps a SHA-256 digest at `url` (RFC 3161 over HTTP) and verifies the answer. */
export async function requestTimestamp(url: string, digest: Uint8Array, options: RequestTimestampOptions): Promise<VerifiedTimestamp> {
  const req = buildTimestampRequest(digest, options.policy ? { policy: options.policy } : {});
  let body: Buffer;
  try {
    const res = await (options.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
      body: new Uint8Array(req.der),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
    body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    const type = res.headers.get('content-type') ?? '';
    if (!/^application\/timestamp-reply\b/i.test(type)) throw new Error(`content-type ${type || 'assente'}`);
  } catch (e) {
    throw new TimestampError('http', `TSA ${url} non raggiungibile o risposta non valida: ${(e as Error).message}`);
  }
  return verifyTimestampResponse(body, { digest, nonce: req.nonce, tsaCertificate: options.tsaCertificate });
}
