/**
 * The SAML Service Provider as the routes use it, built once at start-up from the configuration:
 * signing key and Avviso 29 v3 certificate (`ensureSpCertificate`: loaded from `SPID_CERT_DIR`,
 * generated there at first start), the signed SPID and CIE metadata (cached strings), and the
 * trusted IdPs of each federation:
 *
 * - SPID: the AgID registry (`SPID_REGISTRY_URL`, on by default in production, signature checked
 *   with `SPID_REGISTRY_CERT_FILE`; `idp-sources.ts`), plus every `*.xml` in
 *   `SPID_IDP_METADATA_DIR` (an entityID present in the registry keeps the registry's metadata);
 * - CIE: `CIE_IDP_METADATA_URL` (signed, refreshed like the registry) and/or `CIE_IDP_METADATA_FILE`;
 * - in demo also the built-in test IdP, in both.
 *
 * `registries` is an immutable snapshot per federation; `refreshIdps()` downloads the remote
 * metadata again and replaces a federation's snapshot in one assignment when its list changed.
 * A request keeps the snapshot it read (the ACS reads it once, after looking the IdP up again by
 * the entityID stored with the AuthnRequest, so a rotated certificate is the one checked).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Config, SpidSettings } from '../../config.js';
import { getXsdSchema } from '../../xml/xsd.js';
import { describeCertificate, ensureSpCertificate } from './certificate.js';
import { IdpRegistry, parseIdpMetadata, type IdpEntry } from './idp-registry.js';
import { RemoteIdpMetadata, pemCertificatesOf, type RefreshOutcome } from './idp-sources.js';
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
  /** The trusted IdPs of each federation now (a snapshot: never changed, only replaced). */
  readonly registries: Readonly<Record<Federation, IdpRegistry>>;
  /** Entity IDs of test IdPs (shown with a "prova" label; never present in production). */
  testIdps: ReadonlySet<string>;
  /** Remote metadata (AgID registry, CIE metadata URL); empty when none is configured. */
  readonly idpSources: readonly RemoteIdpMetadata[];
  /**
   * Downloads the given remote sources (default all) again and swaps in the IdP list of each
   * federation whose copy changed. A refused copy keeps the last good one. Never throws.
   */
  refreshIdps(sources?: readonly RemoteIdpMetadata[]): Promise<RefreshOutcome[]>;
}

export interface LoadSpOptions {
  log?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
  /** IdPs trusted in both federations in demo mode (the built-in test IdP). Refused in production. */
  testIdps?: IdpEntry[];
}

async function readCertFile(file: string, what: string): Promise<string[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`${what} ${file}: ${(e as Error).message}`);
  }
  return pemCertificatesOf(text, `${what} ${file}`);
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
  // The registry is on by default in production (config.ts); without its certificate nothing it
  // serves could be trusted. Checked here, before anything is generated.
  if (s.registryUrl && !s.registryCertFile) {
    throw new Error(
      'SPID_REGISTRY_CERT_FILE manca: gli IdP SPID vengono dal registro AgID ' +
        `(${s.registryUrl}), la cui firma si verifica con il certificato AgID; in alternativa SPID_REGISTRY_URL=off e gli IdP in SPID_IDP_METADATA_DIR`,
    );
  }

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

  const log = opts.log ?? { info: () => {}, warn: () => {}, error: () => {} };
  const signer = s.idpMetadataSignerCert ? await readCertFile(s.idpMetadataSignerCert, 'SPID_IDP_METADATA_SIGNER_CERT') : undefined;
  const local: Record<Federation, IdpEntry[]> = { spid: [], cie: [] };
  if (s.idpMetadataDir) local.spid = await readIdpDir(s.idpMetadataDir, signer);
  if (s.cieIdpMetadataFile) local.cie = await readIdpFile(s.cieIdpMetadataFile, undefined);
  // Local files are configuration: an unusable entry stops the start (remote ones are left out).
  for (const e of [...local.spid, ...local.cie]) {
    const problem = IdpRegistry.unusable(e);
    if (problem) throw new Error(`IdP metadata: ${problem}`);
  }

  const sources: RemoteIdpMetadata[] = [];
  if (s.registryUrl && s.registryCertFile) {
    sources.push(
      new RemoteIdpMetadata(
        {
          federation: 'spid',
          label: 'SPID registry',
          url: s.registryUrl,
          signerCerts: await readCertFile(s.registryCertFile, 'SPID_REGISTRY_CERT_FILE'),
          cacheFile: path.join(s.metadataCacheDir, 'spid-registry.xml'),
          timeoutMs: s.metadataTimeoutMs,
          refreshMs: s.metadataRefreshMs,
        },
        log,
      ),
    );
  }
  if (s.cieIdpMetadataUrl && s.cieIdpMetadataCertFile) {
    sources.push(
      new RemoteIdpMetadata(
        {
          federation: 'cie',
          label: 'CIE metadata',
          url: s.cieIdpMetadataUrl,
          signerCerts: await readCertFile(s.cieIdpMetadataCertFile, 'CIE_IDP_METADATA_CERT_FILE'),
          cacheFile: path.join(s.metadataCacheDir, 'cie-idp.xml'),
          timeoutMs: s.metadataTimeoutMs,
          refreshMs: s.metadataRefreshMs,
        },
        log,
      ),
    );
  }
  await Promise.all(sources.map((src) => src.start()));

  const testEntries = opts.testIdps ?? [];
  const testIdps = new Set(testEntries.map((e) => e.entityId));
  /** Remote entries first (they win), then the local files, then the test IdP. */
  const compose = (federation: Federation): IdpRegistry => {
    const reg = new IdpRegistry();
    for (const src of sources) if (src.federation === federation) for (const e of src.entries ?? []) reg.add(e);
    for (const e of local[federation]) {
      if (reg.has(e.entityId)) {
        log.warn({ federation, idp: e.entityId }, 'local IdP metadata ignored: the entityID is in the signed remote metadata');
        continue;
      }
      reg.add(e);
    }
    for (const e of testEntries) reg.add(e);
    return reg;
  };
  let current: Readonly<Record<Federation, IdpRegistry>> = Object.freeze({ spid: compose('spid'), cie: compose('cie') });

  if (config.isProduction && current.spid.list().length === 0) {
    if (!sources.some((src) => src.federation === 'spid')) throw new Error(`no SPID IdP found in SPID_IDP_METADATA_DIR (${s.idpMetadataDir ?? 'unset'})`);
    // First start with the registry unreachable and no copy on disk yet: serve the rest of the
    // portal; the refresher (background workers) tries again soon.
    log.error({ url: s.registryUrl }, 'no SPID IdP yet: the AgID registry could not be loaded and there is no copy on disk; SPID login is unavailable until it is');
  }
  log.info({ spidIdps: current.spid.list().length, cieIdps: current.cie.list().length, remoteSources: sources.length }, 'SAML service provider ready');

  async function refreshIdps(which: readonly RemoteIdpMetadata[] = sources): Promise<RefreshOutcome[]> {
    const outcomes = await Promise.all(which.map((src) => src.refresh()));
    const changed = new Set(outcomes.filter((o) => o.changed).map((o) => o.federation));
    if (changed.size) {
      const next = { ...current };
      for (const federation of changed) next[federation] = compose(federation);
      current = Object.freeze(next);
      log.info({ federations: [...changed], spidIdps: current.spid.list().length, cieIdps: current.cie.list().length }, 'trusted IdP list replaced');
    }
    return outcomes;
  }

  return {
    settings: s,
    publicUrl: config.publicUrl,
    entityIds: { spid: s.entityId, cie: s.cieEntityId },
    acsUrl,
    sloUrl,
    keys,
    metadata,
    get registries() {
      return current;
    },
    testIdps,
    idpSources: sources,
    refreshIdps,
  };
}
