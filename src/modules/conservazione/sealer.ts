/**
 * The sealer the settings choose (interface in sealing.ts): the conservator's CAdES-BES detached
 * signature of a PdA index (cades.ts) and an RFC 3161 time stamp over the signature value.
 *
 * - Signer: the PEM key and certificate (+ chain) of CONSERVAZIONE_SIGNER_KEY_FILE / _CERT_FILE;
 *   in demo mode without them, a key and a self-signed "conservatore (demo)" certificate generated
 *   at first start into `DATA_DIR/conservazione/signer` (key 0600; a renewed certificate keeps the
 *   old ones there, so older PdA still verify).
 * - TSA: CONSERVAZIONE_TSA_URL with the pinned CONSERVAZIONE_TSA_CERT_FILE (requestTimestamp); in
 *   demo mode without them, the built-in TSA simulator in-process, with the keys the app serves at
 *   /simulators/tsa (`DATA_DIR/tsa-simulator`).
 * - Production without the signer or the TSA settings: null (no PdA can be sealed).
 *
 * verify(): the signature over the content, the signer certificate trusted (one of ours, or issued
 * by a certificate of the configured chain) and valid at the signing time and at the time stamp's
 * genTime, the token's imprint = SHA-256 of the signature value, the token itself (pinned TSA).
 */
import { createHash, createPublicKey, webcrypto } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import * as pkijs from 'pkijs';
import type { Config } from '../../config.js';
import { loadX509 } from '../spid/certificate.js';
import { createTsa } from '../../simulators/tsa/tsa.js';
import { ensureTsaKeys } from '../../simulators/tsa/keys.js';
import { CadesError, importRsaSigningKey, pemCertificates, signCadesDetached, verifyCadesDetached } from './cades.js';
import type { SealCheck, SealResult, Sealer } from './sealing.js';
import { buildTimestampRequest, cryptoEngine, requestTimestamp, TimestampError, verifyTimestampResponse, verifyTimestampToken } from './timestamp.js';

const DAY = 86_400_000;
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
/** A signing time may precede its time stamp by any amount, but follow it by at most this (clock skew). */
const MAX_SKEW_MS = 5 * 60_000;

export interface SignerMaterial {
  keyPem: string;
  /** The signer certificate first, then its chain. */
  certPem: string;
  /** Other certificates whose signatures verify (earlier demo certificates); DER. */
  previous?: Buffer[];
}

export type Timestamper = (digest: Uint8Array) => Promise<{ token: Buffer; genTime: Date }>;

export interface SealerParts {
  signer: SignerMaterial;
  timestamper: Timestamper;
  /** PEM of the TSA certificate, pinned for verification. */
  tsaCertPem: string;
  clock: () => Date;
}

function pem(der: ArrayBuffer | Uint8Array, label: string): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der as ArrayBuffer).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

function ab(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** A new RSA 2048 key and self-signed certificate for the demo conservator (never a real one). */
export async function generateSignerKeys(clock: () => Date, days = 3650): Promise<{ keyPem: string; certPem: string }> {
  const x509 = await loadX509();
  const crypto = webcrypto as unknown as Crypto;
  const now = clock().getTime();
  const keys = (await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)));
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: 'CN=Conservatore S.A.E.L. (demo), O=Provincia di Campobasso - S.A.E.L. (demo non qualificato), C=IT',
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + days * DAY),
      keys,
      signingAlgorithm: RSA,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { keyPem: pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'), certPem: cert.toString('pem') + '\n' };
}

/**
 * The demo signer in `dir` (signer.key.pem 0600, signer.crt.pem), generated at first use or when the
 * certificate is no longer valid at the clock's time; the replaced certificate is kept as
 * `signer.<serial>.crt.pem` so the PdA it signed still verify.
 */
export async function ensureSignerKeys(dir: string, clock: () => Date): Promise<SignerMaterial> {
  const keyFile = path.join(dir, 'signer.key.pem');
  const certFile = path.join(dir, 'signer.crt.pem');
  const previous = async () => {
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    const out: Buffer[] = [];
    for (const n of names.filter((x) => /^signer\.[0-9a-f]+\.crt\.pem$/.test(x)).sort()) out.push(...pemCertificates(await fs.readFile(path.join(dir, n), 'utf8')));
    return out;
  };
  let old: { certPem: string; serial: string } | null = null;
  try {
    const material = { keyPem: await fs.readFile(keyFile, 'utf8'), certPem: await fs.readFile(certFile, 'utf8') };
    const x509 = await loadX509();
    const cert = new x509.X509Certificate(material.certPem);
    const now = clock();
    if (now >= cert.notBefore && now <= cert.notAfter) return { ...material, previous: await previous() };
    old = { certPem: material.certPem, serial: cert.serialNumber.toLowerCase() };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const fresh = await generateSignerKeys(clock);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  if (old) await fs.writeFile(path.join(dir, `signer.${old.serial}.crt.pem`), old.certPem, { mode: 0o644 });
  // written aside then renamed: a crash never leaves a certificate without its key
  await fs.writeFile(`${keyFile}.tmp`, fresh.keyPem, { mode: 0o600 });
  await fs.writeFile(`${certFile}.tmp`, fresh.certPem, { mode: 0o644 });
  await fs.rename(`${keyFile}.tmp`, keyFile);
  await fs.rename(`${certFile}.tmp`, certFile);
  return { ...fresh, previous: await previous() };
}

/** A sealer from its parts (tests build one with their own TSA). */
export async function buildSealer(parts: SealerParts): Promise<Sealer> {
  const chain = pemCertificates(parts.signer.certPem);
  if (!chain.length) throw new CadesError('nessun certificato nel file del firmatario');
  const key = await importRsaSigningKey(parts.signer.keyPem);
  // the key must be the certificate's
  const x509 = await loadX509();
  const signerCert = new x509.X509Certificate(ab(chain[0]!));
  const keySpki = createPublicKey(parts.signer.keyPem).export({ type: 'spki', format: 'der' });
  if (!Buffer.from(signerCert.publicKey.rawData).equals(keySpki)) throw new CadesError('la chiave del firmatario non corrisponde al suo certificato');
  const trusted = [chain[0]!, ...(parts.signer.previous ?? [])];
  const issuers = chain.slice(1).map((d) => pkijs.Certificate.fromBER(ab(d)));
  const tsaCert = parts.tsaCertPem;

  async function isTrusted(certDer: Buffer): Promise<boolean> {
    if (trusted.some((t) => t.equals(certDer))) return true;
    const cert = pkijs.Certificate.fromBER(ab(certDer));
    for (const issuer of issuers) {
      if (!Buffer.from(issuer.subject.toSchema().toBER()).equals(Buffer.from(cert.issuer.toSchema().toBER()))) continue;
      if (await cert.verify(issuer, cryptoEngine).catch(() => false)) return true;
    }
    return false;
  }

  async function verifyTimestamp(token: Uint8Array, digest: Uint8Array) {
    try {
      const v = await verifyTimestampToken(token, { digest, tsaCertificate: tsaCert });
      return { ok: true, timestampedAt: v.genTime, message: `marca temporale valida (${v.genTime.toISOString()})` };
    } catch (e) {
      return { ok: false, timestampedAt: null, message: e instanceof TimestampError ? e.message : `marca temporale non verificabile: ${(e as Error).message}` };
    }
  }

  return {
    async seal(content: Uint8Array): Promise<SealResult> {
      const signature = await signCadesDetached(content, { key, certificates: chain }, parts.clock());
      const { signatureValue } = await verifyCadesDetached(content, signature);
      const digest = createHash('sha256').update(signatureValue).digest();
      const { token, genTime } = await parts.timestamper(digest);
      return { signature, timestampToken: token, timestampedAt: genTime, signerSubject: signerCert.subject };
    },

    async verify(content, signature, timestampToken): Promise<SealCheck> {
      const fail = (message: string, extra: Partial<SealCheck> = {}): SealCheck => ({
        ok: false,
        signatureOk: false,
        timestampOk: false,
        timestampedAt: null,
        signerSubject: null,
        message,
        ...extra,
      });
      let cades;
      try {
        cades = await verifyCadesDetached(content, signature);
      } catch (e) {
        return fail(e instanceof CadesError ? `firma non valida: ${e.message}` : `firma non verificabile: ${(e as Error).message}`);
      }
      const cert = new x509.X509Certificate(ab(cades.signerCertificate));
      const subject = cert.subject;
      const ts = await verifyTimestamp(timestampToken, createHash('sha256').update(cades.signatureValue).digest());
      const base = { signerSubject: subject, timestampOk: ts.ok, timestampedAt: ts.timestampedAt };
      if (!(await isTrusted(cades.signerCertificate))) return fail('firma non valida: il certificato del firmatario non è quello del conservatore', base);
      const validAt = (d: Date) => d >= cert.notBefore && d <= cert.notAfter;
      if (!validAt(cades.signingTime)) return fail(`firma non valida: il certificato del firmatario non era valido all'ora della firma (${cades.signingTime.toISOString()})`, base);
      if (!ts.ok) return { ...fail(ts.message, base), signatureOk: true };
      if (!validAt(ts.timestampedAt!)) return { ...fail(`il certificato del firmatario non era valido all'ora della marca temporale (${ts.timestampedAt!.toISOString()})`, base), signatureOk: true };
      if (cades.signingTime.getTime() > ts.timestampedAt!.getTime() + MAX_SKEW_MS) return { ...fail('l’ora di firma è successiva alla marca temporale', base), signatureOk: true };
      return { ok: true, signatureOk: true, timestampOk: true, timestampedAt: ts.timestampedAt, signerSubject: subject, message: `firma e marca temporale valide (${ts.timestampedAt!.toISOString()})` };
    },

    async timestamp(digest: Uint8Array) {
      const { token, genTime } = await parts.timestamper(digest);
      return { token, timestampedAt: genTime };
    },

    verifyTimestamp,
  };
}

/** The in-process TSA simulator as a timestamper (demo and tests). */
export function simulatorTimestamper(keys: { keyPem: string; certPem: string }, clock: () => Date): Timestamper {
  const tsa = createTsa({ key: keys.keyPem, certificate: keys.certPem, clock });
  return async (digest) => {
    const req = buildTimestampRequest(digest);
    const v = await verifyTimestampResponse(await tsa.respond(req.der), { digest, nonce: req.nonce, tsaCertificate: keys.certPem });
    return { token: v.token, genTime: v.genTime };
  };
}

/** Production: the CONSERVAZIONE_SIGNER_* key and the CONSERVAZIONE_TSA_URL; demo: generated keys + in-process TSA simulator; null when neither. */
export async function createSealer(config: Config, clock: () => Date): Promise<Sealer | null> {
  const c = config.conservazione;
  let signer: SignerMaterial;
  if (c.signerKeyFile && c.signerCertFile) {
    signer = { keyPem: await fs.readFile(c.signerKeyFile, 'utf8'), certPem: await fs.readFile(c.signerCertFile, 'utf8') };
  } else if (c.demoKeys) {
    signer = await ensureSignerKeys(path.join(c.dir, 'signer'), clock);
  } else return null;

  let timestamper: Timestamper;
  let tsaCertPem: string;
  if (c.tsaUrl && c.tsaCertFile) {
    const url = c.tsaUrl;
    tsaCertPem = await fs.readFile(c.tsaCertFile, 'utf8');
    const pinned = tsaCertPem;
    timestamper = async (digest) => {
      const v = await requestTimestamp(url, digest, { tsaCertificate: pinned });
      return { token: v.token, genTime: v.genTime };
    };
  } else if (c.demoKeys) {
    const keys = await ensureTsaKeys(path.join(config.dataDir, 'tsa-simulator'), clock);
    tsaCertPem = keys.certPem;
    timestamper = simulatorTimestamper(keys, clock);
  } else return null;

  return buildSealer({ signer, timestamper, tsaCertPem, clock });
}
