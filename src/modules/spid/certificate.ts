/**
 * Signing key and self-signed certificate of a **public** SPID Service Provider, per Avviso SPID
 * n.29 v3 (a PA may self-sign, Avviso 28/2020):
 *
 * - subject: commonName, countryName IT, localityName, organizationIdentifier `PA:IT-<IPA code>`,
 *   organizationName, uri (2.5.4.83) = entityID;
 * - certificatePolicies (not critical): 1.3.76.16.6 (agIDcert, userNotice "agIDcert") and
 *   1.3.76.16.4.2.1 (spid-publicsector-SP, userNotice "cert_SP_Pub");
 * - keyUsage critical digitalSignature + nonRepudiation; basicConstraints CA:FALSE (not critical);
 * - RSA 3072 (AgID's tool default; 2048/4096 allowed), sha256 or sha512, validity in days (730).
 *
 * Also a generic self-signed generator (used for the test IdP) and {@link ensureSpCertificate}.
 */
import { webcrypto } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type * as X509 from '@peculiar/x509';

let x509Module: Promise<typeof X509> | undefined;
/** Loads @peculiar/x509, which (through tsyringe) needs the reflect-metadata polyfill first. */
export function loadX509(): Promise<typeof X509> {
  x509Module ??= import('reflect-metadata').then(() => import('@peculiar/x509'));
  return x509Module;
}

export const OID = {
  commonName: '2.5.4.3',
  surname: '2.5.4.4',
  countryName: '2.5.4.6',
  localityName: '2.5.4.7',
  organizationName: '2.5.4.10',
  name: '2.5.4.41',
  givenName: '2.5.4.42',
  initials: '2.5.4.43',
  pseudonym: '2.5.4.65',
  uri: '2.5.4.83',
  organizationIdentifier: '2.5.4.97',
  agIDcert: '1.3.76.16.6',
  spidPublicSectorSP: '1.3.76.16.4.2.1',
  userNotice: '1.3.6.1.5.5.7.2.2',
  certificatePolicies: '2.5.29.32',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
} as const;

export interface SpCertificateParams {
  /** = OrganizationDisplayName in the metadata (e.g. "Provincia di Campobasso"). */
  commonName: string;
  /** = OrganizationName, exact case and accents. */
  organizationName: string;
  /** IPA code of the body; becomes organizationIdentifier `PA:IT-<ipaCode>`. */
  ipaCode: string;
  /** City of the legal seat (e.g. "Campobasso"). */
  localityName: string;
  /** SP entityID (HTTPS URL); becomes the `uri` attribute. */
  entityId: string;
  /** Default 3072. */
  keySize?: 2048 | 3072 | 4096;
  /** Default SHA-256. */
  hash?: 'SHA-256' | 'SHA-512';
  /** Validity in days, default 730. */
  days?: number;
  /** Start of validity, default now. */
  notBefore?: Date;
}

export interface KeyAndCertificate {
  /** PKCS#8 PEM. */
  keyPem: string;
  certPem: string;
}

// ---- minimal DER encoder (for the certificatePolicies value with userNotice qualifiers) ----

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}
function tlv(tag: number, content: number[]): number[] {
  return [tag, ...derLength(content.length), ...content];
}
function derOid(oid: string): number[] {
  const arcs = oid.split('.').map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const stack = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) stack.unshift((v & 0x7f) | 0x80);
    out.push(...stack);
  }
  return tlv(0x06, out);
}
const derSeq = (...items: number[][]): number[] => tlv(0x30, items.flat());
const derUtf8 = (s: string): number[] => tlv(0x0c, [...Buffer.from(s, 'utf8')]);

/** DER of CertificatePolicies with one userNotice explicitText per policy. */
export function certificatePoliciesDer(policies: Array<{ oid: string; explicitText: string }>): Uint8Array {
  return Uint8Array.from(
    derSeq(
      ...policies.map((p) =>
        derSeq(derOid(p.oid), derSeq(derSeq(derOid(OID.userNotice), derSeq(derUtf8(p.explicitText))))),
      ),
    ),
  );
}

const RSA_ALG = (hash: string, modulusLength: number) => ({
  name: 'RSASSA-PKCS1-v1_5',
  hash,
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength,
});

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

export interface SelfSignedParams {
  /** Subject (= issuer), as @peculiar/x509 JSON name or string. */
  subject: X509.JsonNameParams | string;
  keySize?: 2048 | 3072 | 4096;
  hash?: 'SHA-256' | 'SHA-512';
  days?: number;
  notBefore?: Date;
  extensions?: X509.Extension[];
}

/** Generic RSA key + self-signed certificate. */
export async function generateSelfSigned(params: SelfSignedParams): Promise<KeyAndCertificate> {
  const x509 = await loadX509();
  const hash = params.hash ?? 'SHA-256';
  const alg = RSA_ALG(hash, params.keySize ?? 3072);
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = params.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (params.days ?? 730) * 86_400_000);
  const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)));
  serial[0] = serial[0]! & 0x7f; // positive
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: new x509.Name(params.subject),
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: alg,
      extensions: params.extensions ?? [],
    },
    webcrypto as unknown as Crypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: toPem(pkcs8, 'PRIVATE KEY'), certPem: cert.toString('pem') + '\n' };
}

/** Subject of an Avviso 29 v3 public-SP certificate. */
export function spSubject(p: SpCertificateParams): X509.JsonNameParams {
  if (!/^\S{1,16}$/.test(p.ipaCode)) throw new RangeError(`invalid IPA code: ${p.ipaCode}`);
  return [
    { [OID.commonName]: [{ utf8String: p.commonName }] },
    { [OID.countryName]: [{ printableString: 'IT' }] },
    { [OID.localityName]: [{ utf8String: p.localityName }] },
    { [OID.organizationIdentifier]: [{ utf8String: `PA:IT-${p.ipaCode}` }] },
    { [OID.organizationName]: [{ utf8String: p.organizationName }] },
    { [OID.uri]: [{ utf8String: p.entityId }] },
  ];
}

/** Extensions required by Avviso 29 v3 for a public SP. */
export async function spExtensions(): Promise<X509.Extension[]> {
  const x509 = await loadX509();
  return [
    new x509.BasicConstraintsExtension(false, undefined, false),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
    new x509.Extension(
      OID.certificatePolicies,
      false,
      certificatePoliciesDer([
        { oid: OID.agIDcert, explicitText: 'agIDcert' },
        { oid: OID.spidPublicSectorSP, explicitText: 'cert_SP_Pub' },
      ]).slice().buffer as ArrayBuffer,
    ),
  ];
}

/** Generates the SP key (RSA 3072 by default) and its Avviso 29 v3 self-signed certificate. */
export async function generateSpCertificate(p: SpCertificateParams): Promise<KeyAndCertificate> {
  if (!/^https:\/\/[^/:?#]+(\/[^?#]*)?$/.test(p.entityId)) {
    throw new RangeError(`entityID must be an HTTPS URL without port or query: ${p.entityId}`);
  }
  return generateSelfSigned({
    subject: spSubject(p),
    keySize: p.keySize ?? 3072,
    hash: p.hash ?? 'SHA-256',
    days: p.days ?? 730,
    notBefore: p.notBefore,
    extensions: await spExtensions(),
  });
}

export interface EnsuredCertificate extends KeyAndCertificate {
  keyPath: string;
  certPath: string;
  /** True when the files were created by this call. */
  generated: boolean;
}

/**
 * Loads `<dir>/key.pem` and `<dir>/crt.pem`; when both are absent, generates them (key mode 0600).
 * When exactly one of them exists, throws (never overwrite half of a pair).
 */
export async function ensureSpCertificate(dir: string, params: SpCertificateParams): Promise<EnsuredCertificate> {
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'crt.pem');
  const exists = async (p: string) => fs.access(p).then(() => true, () => false);
  const [hasKey, hasCert] = await Promise.all([exists(keyPath), exists(certPath)]);
  if (hasKey && hasCert) {
    const [keyPem, certPem] = await Promise.all([fs.readFile(keyPath, 'utf8'), fs.readFile(certPath, 'utf8')]);
    return { keyPem, certPem, keyPath, certPath, generated: false };
  }
  if (hasKey || hasCert) {
    throw new Error(`incomplete SP key pair in ${dir}: both key.pem and crt.pem are needed`);
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const pair = await generateSpCertificate(params);
  await fs.writeFile(keyPath, pair.keyPem, { mode: 0o600, flag: 'wx' });
  await fs.chmod(keyPath, 0o600);
  await fs.writeFile(certPath, pair.certPem, { mode: 0o644, flag: 'wx' });
  return { ...pair, keyPath, certPath, generated: true };
}

/** Fields of a certificate relevant to SPID, read back with @peculiar/x509. */
const SUBJECT_OIDS = [
  OID.commonName, OID.surname, OID.countryName, OID.localityName, OID.organizationName, OID.name, OID.givenName,
  OID.initials, OID.pseudonym, OID.uri, OID.organizationIdentifier, '1.2.840.113549.1.9.1',
];

export interface CertificateInfo {
  /** Subject attributes by OID (only the OIDs SPID cares about). */
  subject: Record<string, string[]>;
  notBefore: Date;
  notAfter: Date;
  publicKeyBits: number | null;
  entityId: string | null;
}

export async function describeCertificate(certPem: string): Promise<CertificateInfo> {
  const x509 = await loadX509();
  const cert = new x509.X509Certificate(certPem);
  const subject: Record<string, string[]> = {};
  for (const oid of SUBJECT_OIDS) {
    const values = cert.subjectName.getField(oid);
    if (values.length) subject[oid] = values;
  }
  const alg = cert.publicKey.algorithm as { modulusLength?: number };
  return {
    subject,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    publicKeyBits: alg.modulusLength ?? null,
    entityId: subject[OID.uri]?.[0] ?? null,
  };
}
