/**
 * Makes the SP signing key and self-signed certificate (Avviso SPID n.29 v3, public SP).
 *
 *   npx tsx certs/make-sp-cert.ts --out <dir> --entity-id https://… --ipa-code <code> \
 *     --org "Provincia di Campobasso" [--cn "<display name>"] [--locality Campobasso] \
 *     [--bits 3072] [--hash sha256|sha512] [--days 730] [--force]
 *
 * Writes <dir>/key.pem (mode 0600) and <dir>/crt.pem. Refuses to overwrite without --force.
 * Equivalent to AgID's gencert-public.sh (spid-compliant-certificates).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeCertificate, ensureSpCertificate, OID } from '../src/modules/spid/certificate.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    'entity-id': { type: 'string' },
    'ipa-code': { type: 'string' },
    org: { type: 'string' },
    cn: { type: 'string' },
    locality: { type: 'string', default: 'Campobasso' },
    bits: { type: 'string', default: '3072' },
    hash: { type: 'string', default: 'sha256' },
    days: { type: 'string', default: '730' },
    force: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

function usage(msg?: string): never {
  if (msg) console.error(`error: ${msg}`);
  console.error('usage: npx tsx certs/make-sp-cert.ts --out <dir> --entity-id <https URL> --ipa-code <code> --org <legal name> [--cn <name>] [--locality <city>] [--bits 2048|3072|4096] [--hash sha256|sha512] [--days N] [--force]');
  process.exit(msg ? 2 : 0);
}
if (values.help) usage();
const out = values.out ?? usage('--out is required');
const entityId = values['entity-id'] ?? usage('--entity-id is required');
const ipaCode = values['ipa-code'] ?? usage('--ipa-code is required');
const org = values.org ?? usage('--org is required');
const bits = Number(values.bits);
if (bits !== 2048 && bits !== 3072 && bits !== 4096) usage('--bits must be 2048, 3072 or 4096');
const hash = values.hash === 'sha512' ? 'SHA-512' : values.hash === 'sha256' ? 'SHA-256' : usage('--hash must be sha256 or sha512');
const days = Number(values.days);
if (!Number.isInteger(days) || days < 1) usage('--days must be a positive integer');

if (values.force) {
  for (const f of ['key.pem', 'crt.pem']) fs.rmSync(path.join(out, f), { force: true });
}
const res = await ensureSpCertificate(out, {
  commonName: values.cn ?? org,
  organizationName: org,
  ipaCode,
  localityName: values.locality!,
  entityId,
  keySize: bits,
  hash,
  days,
});
const info = await describeCertificate(res.certPem);
console.log(`${res.generated ? 'created' : 'already present (use --force to replace)'}: ${res.keyPath}, ${res.certPath}`);
console.log(`subject organizationIdentifier=${info.subject[OID.organizationIdentifier]?.[0]} uri=${info.entityId}`);
console.log(`valid ${info.notBefore.toISOString()} → ${info.notAfter.toISOString()}, RSA ${info.publicKeyBits}`);
