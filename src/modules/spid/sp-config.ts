/**
 * The SAML Service Provider as the routes use it, built once at start-up from the configuration:
 * signing key and Avviso 29 v3 certificate (`ensureSpCertificate`: loaded from `SPID_CERT_DIR`,
 * generated there at first start), the signed SPID and CIE metadata (cached strings), and the
 * trusted IdPs of each federation (SPID: every `*.xml` in `SPID_IDP_METADATA_DIR`; CIE:
 * `CIE_IDP_METADATA_FILE`; in demo also the built-in test IdP). Nothing is fetched from the
 * network here.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Config, SpidSettings } from '../../config.js';
import { getXsdSchema } from '../../xml/xsd.js';
import { describeCertificate, ensureSpCertificate } from './certificate.js';
import { IdpRegistry, parseIdpMetadata, type IdpEntry } from './idp-registry.js';
import { buildCieSpMetadata, buildSpidSpMetadata, spEndpoints, type SpMetadataConfig } from './metadata.js';
import { XSD, newSamlId, type SigningKeyPair } from './saml.js';
import type { Federation } from './state.js';

export interface SpRuntime {
  settings: SpidSettings;
  publicUrl: string;
  /** entityID per federation (usually the same). */
  entityIds: Record<Federation, string>;
  acsUrl: string;
  sloUrl: string;
  keys: SigningKeyPair;
  /** Signed metadata, built once. */
  metadata: Record<Federation, string>;
  registries: Record<Federation, IdpRegistry>;
  /** Entity IDs of test IdPs (shown with a "prova" label; never present in production). */
  testIdps: ReadonlySet<string>;
}

export interface LoadSpOptions {
  log?: Pick<FastifyBaseLogger, 'info' | 'warn'>;
  /** IdPs trusted in both federations in demo mode (the built-in test IdP). Refused in production. */
  testIdps?: IdpEntry[];
}

async function readIdpFile(file: string, signerCerts: string[] | undefined): Promise<IdpEntry[]> {
  const xml = await fs.readFile(file, 'utf8');
  try {
    return parseIdpMetadata(xml, signerCerts ? { trustedSignerCerts: signerCerts } : {});
  } catch (e) {
    throw new Error(`IdP metadata ${file}: ${(e as Error).message}`);
  }
}

/** Every `*.xml` of the folder, in name order. */
async function readIdpDir(dir: string, signerCerts: string[] | undefined): Promise<IdpEntry[]> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => n.toLowerCase().endsWith('.xml')).sort();
  } catch (e) {
    throw new Error(`SPID_IDP_METADATA_DIR ${dir}: ${(e as Error).message}`);
  }
  const out: IdpEntry[] = [];
  for (const n of names) out.push(...(await readIdpFile(path.join(dir, n), signerCerts)));
  return out;
}

export async function loadSpRuntime(config: Config, opts: LoadSpOptions = {}): Promise<SpRuntime> {
  const s = config.spid;
  if (config.isProduction && opts.testIdps?.length) throw new Error('the test IdP cannot be trusted in production');

  // Fail at start, not at the first login, when the SAML protocol XSD is missing.
  getXsdSchema(XSD.protocol());

  const cert = await ensureSpCertificate(s.certDir, {
    commonName: s.organizationDisplayName,
    organizationName: s.organizationName,
    ipaCode: s.ipaCode,
    localityName: s.locality,
    entityId: s.entityId,
  });
  if (cert.generated) {
    opts.log?.[config.isProduction ? 'warn' : 'info'](
      { certPath: cert.certPath },
      'generated a new self-signed SP certificate (Avviso 29 v3): its metadata must be registered again with AgID',
    );
  } else {
    const info = await describeCertificate(cert.certPem);
    if (info.entityId !== s.entityId) {
      opts.log?.warn({ certPath: cert.certPath }, 'the SP certificate uri (2.5.4.83) differs from SPID_ENTITY_ID');
    }
    if (info.notAfter.getTime() < Date.now()) opts.log?.warn({ certPath: cert.certPath }, 'the SP certificate has expired');
  }
  const keys = { keyPem: cert.keyPem, certPem: cert.certPem };
  const { acsUrl, sloUrl } = spEndpoints({ publicUrl: config.publicUrl });

  const base: Omit<SpMetadataConfig, 'entityId'> = {
    publicUrl: config.publicUrl,
    organization: { name: s.organizationName, displayName: s.organizationDisplayName, url: s.organizationUrl },
    ipaCode: s.ipaCode,
    contact: { email: s.contactEmail, ...(s.contactPhone ? { phone: s.contactPhone } : {}) },
    keys,
  };
  const metadata = {
    spid: buildSpidSpMetadata({ ...base, entityId: s.entityId, id: newSamlId() }),
    cie: buildCieSpMetadata({
      ...base,
      entityId: s.cieEntityId,
      id: newSamlId(),
      cie: { municipality: s.cieMunicipality, province: s.cieProvince },
    }),
  };

  const signer = s.idpMetadataSignerCert ? [await fs.readFile(s.idpMetadataSignerCert, 'utf8')] : undefined;
  const spid = new IdpRegistry();
  const cie = new IdpRegistry();
  if (s.idpMetadataDir) for (const e of await readIdpDir(s.idpMetadataDir, signer)) spid.add(e);
  if (s.cieIdpMetadataFile) for (const e of await readIdpFile(s.cieIdpMetadataFile, undefined)) cie.add(e);
  const testIdps = new Set<string>();
  for (const e of opts.testIdps ?? []) {
    spid.add(e);
    cie.add(e);
    testIdps.add(e.entityId);
  }
  if (config.isProduction && spid.list().length === 0) throw new Error(`no SPID IdP found in ${s.idpMetadataDir}`);
  opts.log?.info({ spidIdps: spid.list().length, cieIdps: cie.list().length }, 'SAML service provider ready');

  return {
    settings: s,
    publicUrl: config.publicUrl,
    entityIds: { spid: s.entityId, cie: s.cieEntityId },
    acsUrl,
    sloUrl,
    keys,
    metadata,
    registries: { spid, cie },
    testIdps,
  };
}
