/**
 * SP metadata for the SPID federation (public SP, Avviso 29 v3) and for the CIE federation.
 * Both are signed (enveloped ds:Signature as the first child of EntityDescriptor, rsa-sha256,
 * exc-c14n, Reference `#<ID>`), valid against `saml-schema-metadata-sp-spid-av29.xsd` and
 * `cie/saml-schema-metadata-sp-cie.xsd` respectively.
 *
 * Route usage: `reply.type('application/samlmetadata+xml').send(buildSpidSpMetadata(cfg))`
 * (build once at start-up and cache: the signature is stable for a given ID).
 */
import {
  BINDING,
  NAMEID_TRANSIENT,
  NS,
  escapeXml,
  newSamlId,
  pemToBase64Der,
  signEnveloped,
  type SigningKeyPair,
} from './saml.js';

export interface SpMetadataConfig {
  /** HTTPS, no port, no query (= `uri` of the certificate). */
  entityId: string;
  /** Public base URL of the server (no trailing slash), e.g. `https://pagamenti.provincia.campobasso.it`. */
  publicUrl: string;
  /** Default `/spid/acs` (the CIE metadata uses the same ACS unless `cieAcsPath` is given). */
  acsPath?: string;
  /** Default `/spid/slo`. */
  sloPath?: string;
  organization: {
    /** Full legal name, exactly as in the certificate `O` (e.g. "Provincia di Campobasso"). */
    name: string;
    /** Name shown by the IdP (= certificate CN). */
    displayName: string;
    /** Institutional web site. */
    url: string;
  };
  /** IPA code of the body (spid:IPACode / cie:IPACode). */
  ipaCode: string;
  contact: {
    /** Institutional address (not a person's). */
    email: string;
    /** `+39...` without spaces. */
    phone?: string;
  };
  keys: SigningKeyPair;
  /** Requested attributes of AttributeConsumingService index 0. */
  attributes?: string[];
  /** md:ServiceName of the AttributeConsumingService (xml:lang="it"). */
  serviceName?: string;
  /** Fixed ID of the EntityDescriptor (default random). */
  id?: string;
  /** CIE only: the body's municipality code (codice catastale, e.g. `B519`) and province (`CB`). */
  cie?: { municipality: string; province?: string; attributes?: string[] };
}

/** SPID index 0 attribute set for the payments portal. */
export const SPID_DEFAULT_ATTRIBUTES = ['fiscalNumber', 'name', 'familyName', 'email'] as const;
/** CIE may request only name, familyName, dateOfBirth, fiscalNumber. */
export const CIE_ALLOWED_ATTRIBUTES = ['name', 'familyName', 'dateOfBirth', 'fiscalNumber'] as const;

/** The ACS and SLO URLs announced in the metadata (the validator compares them literally). */
export function spEndpoints(cfg: Pick<SpMetadataConfig, 'publicUrl' | 'acsPath' | 'sloPath'>): { acsUrl: string; sloUrl: string } {
  const base = cfg.publicUrl.replace(/\/+$/, '');
  return { acsUrl: base + (cfg.acsPath ?? '/spid/acs'), sloUrl: base + (cfg.sloPath ?? '/spid/slo') };
}

function checkConfig(cfg: SpMetadataConfig): void {
  if (!/^https:\/\/[^/:?#]+(\/[^?#]*)?$/.test(cfg.entityId)) {
    throw new RangeError(`entityID must be an HTTPS URL without port and query: ${cfg.entityId}`);
  }
  if (cfg.contact.phone !== undefined && !/^\+39\d{6,12}$/.test(cfg.contact.phone)) {
    throw new RangeError(`TelephoneNumber must start with +39 and contain no spaces: ${cfg.contact.phone}`);
  }
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(cfg.contact.email)) throw new RangeError(`invalid EmailAddress ${cfg.contact.email}`);
  if (!cfg.ipaCode.trim()) throw new RangeError('IPA code required');
}

function spSsoDescriptor(cfg: SpMetadataConfig, attributes: readonly string[]): string {
  const e = escapeXml;
  const { acsUrl, sloUrl } = spEndpoints(cfg);
  return (
    `<md:SPSSODescriptor protocolSupportEnumeration="${NS.samlp}" AuthnRequestsSigned="true" WantAssertionsSigned="true">` +
    `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${pemToBase64Der(cfg.keys.certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    `<md:SingleLogoutService Binding="${BINDING.POST}" Location="${e(sloUrl)}"/>` +
    `<md:SingleLogoutService Binding="${BINDING.REDIRECT}" Location="${e(sloUrl)}"/>` +
    `<md:NameIDFormat>${NAMEID_TRANSIENT}</md:NameIDFormat>` +
    `<md:AssertionConsumerService index="0" isDefault="true" Binding="${BINDING.POST}" Location="${e(acsUrl)}"/>` +
    `<md:AttributeConsumingService index="0"><md:ServiceName xml:lang="it">${e(cfg.serviceName ?? 'Servizi di pagamento pagoPA')}</md:ServiceName>` +
    attributes.map((a) => `<md:RequestedAttribute Name="${e(a)}"/>`).join('') +
    `</md:AttributeConsumingService>` +
    `</md:SPSSODescriptor>`
  );
}

function organization(cfg: SpMetadataConfig): string {
  const e = escapeXml;
  return (
    `<md:Organization>` +
    `<md:OrganizationName xml:lang="it">${e(cfg.organization.name)}</md:OrganizationName>` +
    `<md:OrganizationDisplayName xml:lang="it">${e(cfg.organization.displayName)}</md:OrganizationDisplayName>` +
    `<md:OrganizationURL xml:lang="it">${e(cfg.organization.url)}</md:OrganizationURL>` +
    `</md:Organization>`
  );
}

function sign(xml: string, id: string, keys: SigningKeyPair): string {
  return signEnveloped(xml, keys, { id, localName: 'EntityDescriptor', placement: 'firstChild' });
}

/** Signed SPID SP metadata (public SP: ContactPerson "other" with spid:IPACode and spid:Public). */
export function buildSpidSpMetadata(cfg: SpMetadataConfig): string {
  checkConfig(cfg);
  const e = escapeXml;
  const id = cfg.id ?? newSamlId();
  const xml =
    `<md:EntityDescriptor xmlns:md="${NS.md}" xmlns:ds="${NS.ds}" xmlns:spid="${NS.spid}" entityID="${e(cfg.entityId)}" ID="${id}">` +
    spSsoDescriptor(cfg, cfg.attributes ?? SPID_DEFAULT_ATTRIBUTES) +
    organization(cfg) +
    `<md:ContactPerson contactType="other">` +
    `<md:Extensions><spid:IPACode>${e(cfg.ipaCode)}</spid:IPACode><spid:Public/></md:Extensions>` +
    `<md:EmailAddress>${e(cfg.contact.email)}</md:EmailAddress>` +
    (cfg.contact.phone ? `<md:TelephoneNumber>${e(cfg.contact.phone)}</md:TelephoneNumber>` : '') +
    `</md:ContactPerson>` +
    `</md:EntityDescriptor>`;
  return sign(xml, id, cfg.keys);
}

/**
 * Signed CIE SP metadata: `cie:` extensions in a ContactPerson "administrative" (cie:Public,
 * cie:IPACode, cie:Municipality, cie:Province), Company required, attributes limited to
 * {@link CIE_ALLOWED_ATTRIBUTES} (default fiscalNumber, name, familyName).
 */
export function buildCieSpMetadata(cfg: SpMetadataConfig): string {
  checkConfig(cfg);
  if (!cfg.cie) throw new RangeError('cie.municipality is required for the CIE metadata');
  const attributes = cfg.cie.attributes ?? ['fiscalNumber', 'name', 'familyName'];
  const bad = attributes.filter((a) => !(CIE_ALLOWED_ATTRIBUTES as readonly string[]).includes(a));
  if (bad.length) throw new RangeError(`CIE cannot provide: ${bad.join(', ')}`);
  const e = escapeXml;
  const id = cfg.id ?? newSamlId();
  const xml =
    `<md:EntityDescriptor xmlns:md="${NS.md}" xmlns:ds="${NS.ds}" xmlns:cie="${NS.cie}" entityID="${e(cfg.entityId)}" ID="${id}">` +
    spSsoDescriptor(cfg, attributes) +
    organization(cfg) +
    `<md:ContactPerson contactType="administrative">` +
    `<md:Extensions><cie:Public/><cie:IPACode>${e(cfg.ipaCode)}</cie:IPACode>` +
    `<cie:Municipality>${e(cfg.cie.municipality)}</cie:Municipality>` +
    (cfg.cie.province ? `<cie:Province>${e(cfg.cie.province)}</cie:Province>` : '') +
    `</md:Extensions>` +
    `<md:Company>${e(cfg.organization.name)}</md:Company>` +
    `<md:EmailAddress>${e(cfg.contact.email)}</md:EmailAddress>` +
    (cfg.contact.phone ? `<md:TelephoneNumber>${e(cfg.contact.phone)}</md:TelephoneNumber>` : '') +
    `</md:ContactPerson>` +
    `</md:EntityDescriptor>`;
  return sign(xml, id, cfg.keys);
}
