/**
 * IdP metadata parsing and an in-memory registry (the shape the login/ACS/SLO code uses).
 *
 * Accepts one `md:EntityDescriptor` or an aggregate `md:EntitiesDescriptor` (AgID registry).
 * When `trustedSignerCerts` is given (AgID registry certificate, or the IdP's own pinned cert),
 * the root element must carry a valid enveloped signature (Reference `#<root ID>`) by one of them.
 * When `now` is given, a root `validUntil` that has passed makes the metadata unusable.
 * Loading from URLs/disk, refresh and last-good-copy live in `idp-sources.ts`.
 */
import {
  BINDING,
  NS,
  attr,
  base64DerToPem,
  childElements,
  descendantElements,
  parseSamlInstant,
  textOf,
  verifyEnvelopedSignature,
} from './saml.js';
import { parseXmlSafely } from '../../xml/safe-parse.js';

export interface IdpEntry {
  entityId: string;
  /** SingleSignOnService Location per binding. */
  sso: { post?: string; redirect?: string };
  /** SingleLogoutService Location (and ResponseLocation when given) per binding. */
  slo: { post?: string; redirect?: string; postResponse?: string; redirectResponse?: string };
  /** Signing certificates (PEM); several during a key rollover. */
  certificates: string[];
  wantAuthnRequestsSigned: boolean;
  /** OrganizationDisplayName (it) or OrganizationName, for the button. */
  displayName: string | null;
}

export interface ParseIdpMetadataOptions {
  /** If given, the metadata root must be signed by one of these (PEM or base64 DER). */
  trustedSignerCerts?: string[];
  /** Size limit, default 8 MiB (the AgID aggregate is large). */
  maxBytes?: number;
  /** Refuse metadata whose (signed) root `validUntil` is not after this instant. */
  now?: Date;
}

/** Thrown when metadata cannot be parsed or its signature is not valid. */
export class IdpMetadataError extends Error {
  override name = 'IdpMetadataError';
}

function entry(ed: Element): IdpEntry | null {
  const idp = childElements(ed, NS.md, 'IDPSSODescriptor')[0];
  if (!idp) return null;
  const entityId = attr(ed, 'entityID');
  if (!entityId) throw new IdpMetadataError('EntityDescriptor without entityID');
  const sso: IdpEntry['sso'] = {};
  for (const s of childElements(idp, NS.md, 'SingleSignOnService')) {
    const loc = attr(s, 'Location');
    if (!loc) continue;
    if (attr(s, 'Binding') === BINDING.POST) sso.post ??= loc;
    if (attr(s, 'Binding') === BINDING.REDIRECT) sso.redirect ??= loc;
  }
  const slo: IdpEntry['slo'] = {};
  for (const s of childElements(idp, NS.md, 'SingleLogoutService')) {
    const loc = attr(s, 'Location');
    if (!loc) continue;
    const resp = attr(s, 'ResponseLocation') ?? undefined;
    if (attr(s, 'Binding') === BINDING.POST && !slo.post) Object.assign(slo, { post: loc }, resp ? { postResponse: resp } : {});
    if (attr(s, 'Binding') === BINDING.REDIRECT && !slo.redirect) Object.assign(slo, { redirect: loc }, resp ? { redirectResponse: resp } : {});
  }
  const certificates: string[] = [];
  for (const kd of childElements(idp, NS.md, 'KeyDescriptor')) {
    const use = attr(kd, 'use');
    if (use !== null && use !== 'signing') continue;
    for (const c of descendantElements(kd, NS.ds, 'X509Certificate')) {
      const b64 = textOf(c).replace(/\s+/g, '');
      if (b64) certificates.push(base64DerToPem(b64));
    }
  }
  const org = childElements(ed, NS.md, 'Organization')[0];
  const pick = (name: string) => {
    if (!org) return null;
    const els = childElements(org, NS.md, name);
    const it = els.find((e) => e.getAttributeNS('http://www.w3.org/XML/1998/namespace', 'lang') === 'it') ?? els[0];
    return it ? textOf(it) : null;
  };
  return {
    entityId,
    sso,
    slo,
    certificates,
    wantAuthnRequestsSigned: attr(idp, 'WantAuthnRequestsSigned') === 'true',
    displayName: pick('OrganizationDisplayName') ?? pick('OrganizationName'),
  };
}

/** Parses IdP metadata (single or aggregate) into entries; only IdPs (IDPSSODescriptor) are kept. */
export function parseIdpMetadata(xml: string, options: ParseIdpMetadataOptions = {}): IdpEntry[] {
  let doc: Document;
  try {
    doc = parseXmlSafely(xml, { maxBytes: options.maxBytes ?? 8 * 1024 * 1024 });
  } catch (e) {
    throw new IdpMetadataError(`unreadable metadata: ${(e as Error).message}`);
  }
  let root = doc.documentElement!;
  if (root.namespaceURI !== NS.md || (root.localName !== 'EntityDescriptor' && root.localName !== 'EntitiesDescriptor')) {
    throw new IdpMetadataError(`not SAML metadata: ${root.localName}`);
  }
  if (options.trustedSignerCerts) {
    const sigs = childElements(root, NS.ds, 'Signature');
    if (sigs.length !== 1) throw new IdpMetadataError('metadata not signed');
    const certs = options.trustedSignerCerts.map((c) => (c.includes('BEGIN CERTIFICATE') ? c : base64DerToPem(c)));
    const v = verifyEnvelopedSignature(xml, sigs[0]!, attr(root, 'ID') ?? '', certs);
    if (!v.ok) throw new IdpMetadataError(`metadata signature: ${v.reason}`);
    root = parseXmlSafely(v.canonicalXml, { maxBytes: options.maxBytes ?? 8 * 1024 * 1024 }).documentElement!;
  }
  const validUntil = attr(root, 'validUntil');
  if (options.now && validUntil !== null) {
    const until = parseSamlInstant(validUntil) ?? Date.parse(validUntil);
    if (Number.isNaN(until)) throw new IdpMetadataError(`validUntil ${JSON.stringify(validUntil)} is not a date`);
    if (until <= options.now.getTime()) throw new IdpMetadataError(`metadata expired (validUntil ${validUntil})`);
  }
  const eds = root.localName === 'EntityDescriptor' ? [root] : descendantElements(root, NS.md, 'EntityDescriptor');
  return eds.map(entry).filter((e): e is IdpEntry => e !== null);
}

/** The trusted IdPs of one federation (SPID or CIE). */
export class IdpRegistry {
  private readonly byId = new Map<string, IdpEntry>();

  constructor(entries: Iterable<IdpEntry> = []) {
    for (const e of entries) this.add(e);
  }

  /** Adds or replaces an IdP. Entries without a signing certificate or an SSO URL are refused. */
  add(e: IdpEntry): void {
    const problem = IdpRegistry.unusable(e);
    if (problem) throw new IdpMetadataError(problem);
    this.byId.set(e.entityId, e);
  }

  /** Why an entry cannot be trusted for logins, or null when it can. */
  static unusable(e: IdpEntry): string | null {
    if (e.certificates.length === 0) return `IdP ${e.entityId} has no signing certificate`;
    if (!e.sso.post && !e.sso.redirect) return `IdP ${e.entityId} has no SingleSignOnService`;
    return null;
  }

  has(entityId: string): boolean {
    return this.byId.has(entityId);
  }

  get(entityId: string): IdpEntry | undefined {
    return this.byId.get(entityId);
  }

  list(): IdpEntry[] {
    return [...this.byId.values()];
  }

  /** The trust shape the ACS/SLO validators take. */
  trust(entityId: string): { entityId: string; certificates: string[] } | undefined {
    const e = this.byId.get(entityId);
    return e ? { entityId: e.entityId, certificates: e.certificates } : undefined;
  }
}
