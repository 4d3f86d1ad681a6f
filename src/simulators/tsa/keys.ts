/**
 * Keys of the built-in TSA: a self-signed "TSA CA" and the TSA certificate it issues (RSA 2048,
 * critical id-kp-timeStamping only), validity relative to the injected clock. Generated at first
 * use into a folder (`DATA_DIR/tsa-simulator` style, never committed): `ca.crt.pem` (what a
 * verifier trusts, e.g. `openssl ts -verify -CAfile`), `tsa.crt.pem`, `tsa.key.pem`. The CA key is
 * not kept. When the TSA certificate is no longer valid at the clock's time, a new pair is made.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { webcrypto } from 'node:crypto';
import { loadX509 } from '../../modules/spid/certificate.js';
import { OID_KP_TIME_STAMPING } from '../../modules/conservazione/timestamp.js';

export interface TsaKeys {
  /** PEM of the self-signed CA that issued the TSA certificate. */
  caCertPem: string;
  /** PEM of the TSA certificate. */
  certPem: string;
  /** PKCS#8 PEM of the TSA private key. */
  keyPem: string;
}

const DAY = 86_400_000;
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };

function serial(): string {
  const b = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)));
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

function pem(der: ArrayBuffer, label: string): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

/** A new CA + TSA certificate; `name` goes in the subjects. */
export async function generateTsaKeys(options: { clock: () => Date; name?: string; days?: number }): Promise<TsaKeys> {
  const x509 = await loadX509();
  const crypto = webcrypto as unknown as Crypto;
  const name = options.name ?? 'SAEL TSA simulator';
  const now = options.clock().getTime();
  const notBefore = new Date(now - DAY);
  const days = options.days ?? 3650;

  const caKeys = (await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const caName = `CN=${name} CA, O=SAEL (demo, not a real TSA), C=IT`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: caName,
      notBefore,
      notAfter: new Date(now + (days + 365) * DAY),
      keys: caKeys,
      signingAlgorithm: RSA,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  const tsaKeys = (await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const tsa = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: `CN=${name}, O=SAEL (demo, not a real TSA), C=IT`,
      issuer: ca.subject,
      notBefore,
      notAfter: new Date(now + days * DAY),
      publicKey: tsaKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: RSA,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
        new x509.ExtendedKeyUsageExtension([OID_KP_TIME_STAMPING], true),
        await x509.SubjectKeyIdentifierExtension.create(tsaKeys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return {
    caCertPem: ca.toString('pem') + '\n',
    certPem: tsa.toString('pem') + '\n',
    keyPem: pem(await webcrypto.subtle.exportKey('pkcs8', tsaKeys.privateKey), 'PRIVATE KEY'),
  };
}

/** Loads the keys from `dir`, or generates them there at first use (or when expired at the clock). */
export async function ensureTsaKeys(dir: string, clock: () => Date): Promise<TsaKeys> {
  const files = { caCertPem: 'ca.crt.pem', certPem: 'tsa.crt.pem', keyPem: 'tsa.key.pem' } as const;
  try {
    const keys: TsaKeys = {
      caCertPem: await fs.readFile(path.join(dir, files.caCertPem), 'utf8'),
      certPem: await fs.readFile(path.join(dir, files.certPem), 'utf8'),
      keyPem: await fs.readFile(path.join(dir, files.keyPem), 'utf8'),
    };
    const x509 = await loadX509();
    const cert = new x509.X509Certificate(keys.certPem);
    const now = clock();
    if (now >= cert.notBefore && now <= cert.notAfter) return keys;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const keys = await generateTsaKeys({ clock });
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  // all three written aside, then renamed: a crash never leaves a certificate without its key
  const written: [string, string][] = [];
  for (const [field, file] of Object.entries(files) as [keyof TsaKeys, string][]) {
    const tmp = path.join(dir, `${file}.tmp`);
    await fs.writeFile(tmp, keys[field], { mode: field === 'keyPem' ? 0o600 : 0o644 });
    written.push([tmp, path.join(dir, file)]);
  }
  for (const [tmp, final] of written) await fs.rename(tmp, final);
  return keys;
}
