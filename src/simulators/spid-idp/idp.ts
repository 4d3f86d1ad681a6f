/**
 * Built-in SPID **test** Identity Provider core (demo and tests only; never enable in production).
 *
 * - {@link generateTestIdpKeys}: its own RSA key and self-signed certificate.
 * - {@link buildTestIdpMetadata}: its signed IdP metadata (SSO/SLO for HTTP-POST and HTTP-Redirect).
 * - {@link readPostAuthnRequest} / {@link readRedirectAuthnRequest}: parse an incoming
 *   AuthnRequest and verify its signature with the SP's metadata certificates.
 * - {@link buildResponse}: a SAMLResponse (Assertion signed, Response signed) answering a request,
 *   or an error Response (ErrorCode nr19–30). The `variant` hooks let tests forge every
 *   conformance case (unsigned parts, a foreign key, DOM changes before signing, text changes after).
 */
import zlib from 'node:zlib';
import { DOMParser, XMLSerializer, type Node as XmldomNode } from '@xmldom/xmldom';
import { generateSelfSigned } from '../../modules/spid/certificate.js';
import {
  ATTRNAME_BASIC,
  BINDING,
  CM_BEARER,
  NAMEID_ENTITY,
  NAMEID_TRANSIENT,
  NS,
  STATUS,
  attr,
  childElements,
  escapeXml,
  levelFromClassRef,
  newSamlId,
  pemToBase64Der,
  samlInstant,
  signEnveloped,
  spidClassRef,
  textOf,
  verifyEnvelopedSignature,
  verifyRedirectSignature,
  type AuthnComparison,
  type SigningKeyPair,
  type SpidLevel,
} from '../../modules/spid/saml.js';
import { parseXmlSafely } from '../../xml/safe-parse.js';

export interface TestIdpConfig {
  /** e.g. `https://localhost:3000/spid-test-idp` */
  entityId: string;
  /** Base URL of its endpoints: SSO at `<baseUrl>/sso`, SLO at `<baseUrl>/slo`. */
  baseUrl: string;
  keys: SigningKeyPair;
}

/** RSA 2048 key and a self-signed certificate for the test IdP. */
export async function generateTestIdpKeys(entityId: string, options: { days?: number; notBefore?: Date } = {}): Promise<SigningKeyPair> {
  const pair = await generateSelfSigned({
    subject: [
      { '2.5.4.3': [{ utf8String: 'SAEL test IdP' }] },
      { '2.5.4.6': [{ printableString: 'IT' }] },
      { '2.5.4.10': [{ utf8String: 'SAEL (demo, not a real IdP)' }] },
      { '2.5.4.83': [{ utf8String: entityId }] },
    ],
    keySize: 2048,
    days: options.days ?? 3650,
    notBefore: options.notBefore,
  });
  return pair;
}

/** Signed IdP metadata of the test IdP. */
export function buildTestIdpMetadata(cfg: TestIdpConfig): string {
  const id = newSamlId();
  const e = escapeXml;
  const xml =
    `<md:EntityDescriptor xmlns:md="${NS.md}" xmlns:ds="${NS.ds}" entityID="${e(cfg.entityId)}" ID="${id}">` +
    `<md:IDPSSODescriptor protocolSupportEnumeration="${NS.samlp}" WantAuthnRequestsSigned="true">` +
    `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${pemToBase64Der(cfg.keys.certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    `<md:SingleLogoutService Binding="${BINDING.POST}" Location="${e(cfg.baseUrl)}/slo"/>` +
    `<md:SingleLogoutService Binding="${BINDING.REDIRECT}" Location="${e(cfg.baseUrl)}/slo"/>` +
    `<md:NameIDFormat>${NAMEID_TRANSIENT}</md:NameIDFormat>` +
    `<md:SingleSignOnService Binding="${BINDING.POST}" Location="${e(cfg.baseUrl)}/sso"/>` +
    `<md:SingleSignOnService Binding="${BINDING.REDIRECT}" Location="${e(cfg.baseUrl)}/sso"/>` +
    `</md:IDPSSODescriptor>` +
    `<md:Organization><md:OrganizationName xml:lang="it">SAEL test IdP</md:OrganizationName>` +
    `<md:OrganizationDisplayName xml:lang="it">SAEL test IdP (demo)</md:OrganizationDisplayName>` +
    `<md:OrganizationURL xml:lang="it">${e(cfg.baseUrl)}</md:OrganizationURL></md:Organization>` +
    `</md:EntityDescriptor>`;
  return signEnveloped(xml, cfg.keys, { id, localName: 'EntityDescriptor', placement: 'firstChild' });
}

// ---------------------------------------------------------------- incoming AuthnRequest

/** The fields of an AuthnRequest the IdP uses. */
export interface AuthnRequestInfo {
  id: string;
  issueInstant: string;
  version: string | null;
  destination: string | null;
  issuer: string;
  forceAuthn: boolean;
  isPassive: boolean | null;
  acsUrl: string | null;
  acsIndex: number | null;
  protocolBinding: string | null;
  attributeConsumingServiceIndex: number | null;
  level: SpidLevel | null;
  comparison: AuthnComparison;
}

/** Parses (safely) an AuthnRequest XML. Does not check its signature. */
export function parseAuthnRequest(xml: string): AuthnRequestInfo {
  const doc = parseXmlSafely(xml);
  const r = doc.documentElement!;
  if (r.namespaceURI !== NS.samlp || r.localName !== 'AuthnRequest') throw new Error('not an AuthnRequest');
  const issuer = childElements(r, NS.saml, 'Issuer')[0];
  const rac = childElements(r, NS.samlp, 'RequestedAuthnContext')[0];
  const classRef = rac ? childElements(rac, NS.saml, 'AuthnContextClassRef')[0] : undefined;
  const num = (v: string | null) => (v != null && /^\d+$/.test(v) ? Number(v) : null);
  const bool = (v: string | null) => (v == null ? null : v === 'true' || v === '1');
  return {
    id: attr(r, 'ID') ?? '',
    issueInstant: attr(r, 'IssueInstant') ?? '',
    version: attr(r, 'Version'),
    destination: attr(r, 'Destination'),
    issuer: issuer ? textOf(issuer) : '',
    forceAuthn: bool(attr(r, 'ForceAuthn')) ?? false,
    isPassive: bool(attr(r, 'IsPassive')),
    acsUrl: attr(r, 'AssertionConsumerServiceURL'),
    acsIndex: num(attr(r, 'AssertionConsumerServiceIndex')),
    protocolBinding: attr(r, 'ProtocolBinding'),
    attributeConsumingServiceIndex: num(attr(r, 'AttributeConsumingServiceIndex')),
    level: classRef ? levelFromClassRef(textOf(classRef)) : null,
    comparison: ((rac && attr(rac, 'Comparison')) || 'exact') as AuthnComparison,
  };
}

export type VerifiedRequest = { ok: true; xml: string; request: AuthnRequestInfo } | { ok: false; reason: string };

/** HTTP-POST binding: base64 `SAMLRequest`, enveloped signature verified with the SP's certs. */
export function readPostAuthnRequest(samlRequestB64: string, spCertsPem: string[]): VerifiedRequest {
  let xml: string;
  let request: AuthnRequestInfo;
  try {
    xml = Buffer.from(samlRequestB64, 'base64').toString('utf8');
    request = parseAuthnRequest(xml);
  } catch (e) {
    return { ok: false, reason: `unreadable request: ${(e as Error).message}` };
  }
  const root = parseXmlSafely(xml).documentElement!;
  const sigs = childElements(root, NS.ds, 'Signature');
  if (sigs.length !== 1) return { ok: false, reason: 'AuthnRequest not signed' };
  const v = verifyEnvelopedSignature(xml, sigs[0]!, request.id, spCertsPem);
  if (v.ok) return { ok: true, xml, request };
  return { ok: false, reason: 'AuthnRequest signature not valid for the SP metadata certificates' };
}

/**
 * HTTP-Redirect binding: `rawQuery` is the query string exactly as received (without `?`).
 * Verifies SigAlg/Signature over `SAMLRequest=..&RelayState=..&SigAlg=..` as sent (URL-encoded).
 */
export function readRedirectAuthnRequest(rawQuery: string, spCertsPem: string[]): VerifiedRequest & { relayState?: string } {
  const v = verifyRedirectSignature(rawQuery, 'SAMLRequest', spCertsPem);
  if (!v.ok) return v;
  try {
    const xml = zlib.inflateRawSync(Buffer.from(v.message, 'base64'), { maxOutputLength: 256 * 1024 }).toString('utf8');
    return { ok: true, xml, request: parseAuthnRequest(xml), relayState: v.relayState };
  } catch (e) {
    return { ok: false, reason: `unreadable request: ${(e as Error).message}` };
  }
}

// ---------------------------------------------------------------- Response

/** SPID attributes of a demo user; `fiscalNumber` without or with the `TINIT-` prefix. */
export interface TestUser {
  fiscalNumber: string;
  name?: string;
  familyName?: string;
  email?: string;
  /** Any other SPID attribute (spidCode, dateOfBirth, ...). */
  [attribute: string]: string | undefined;
}

/** Hooks to forge non-conformant Responses (tests only). */
export interface ResponseVariant {
  /** Default true. */
  signAssertion?: boolean;
  /** Default true. */
  signResponse?: boolean;
  /** Sign with these keys instead of the IdP's (e.g. a key not in the metadata). */
  signingKeys?: SigningKeyPair;
  /** Change the unsigned document before signing (the signatures then cover the change). */
  mutate?: (doc: Document) => void;
  /** Change the serialized XML after signing (usually breaks or bypasses signatures). */
  postSign?: (xml: string) => string;
  /** Leave out the NameFormat attribute of the Attributes. */
  omitNameFormat?: boolean;
  /** Fractional seconds in IssueInstant values (default true: toISOString). */
  milliseconds?: boolean;
}

export interface BuildResponseParams {
  /** The AuthnRequest (XML or parsed). */
  request: string | AuthnRequestInfo;
  /** ACS URL: needed when the request used AssertionConsumerServiceIndex. */
  acsUrl?: string;
  /** SP entityID (Audience); defaults to the request Issuer. */
  spEntityId?: string;
  user?: TestUser;
  /** Level authenticated; default = the requested one (or 2). */
  level?: SpidLevel;
  now: Date;
  /** SPID error (19–30): a Responder/AuthnFailed status with `ErrorCode nrNN` and no Assertion. */
  errorCode?: number;
  /** Attribute names to send; default: fiscalNumber, name, familyName, email (those present). */
  attributes?: string[];
  variant?: ResponseVariant;
}

export interface BuiltResponse {
  xml: string;
  /** base64 of `xml`: the `SAMLResponse` form field. */
  base64: string;
  responseId: string;
  assertionId: string | null;
  nameId: string | null;
  sessionIndex: string | null;
}

const DEFAULT_ATTRIBUTES = ['fiscalNumber', 'name', 'familyName', 'email'];

/** Builds a SAMLResponse (see {@link ResponseVariant} for forgeries). */
export function buildResponse(cfg: TestIdpConfig, p: BuildResponseParams): BuiltResponse {
  const req = typeof p.request === 'string' ? parseAuthnRequest(p.request) : p.request;
  const acsUrl = p.acsUrl ?? req.acsUrl;
  if (!acsUrl) throw new Error('ACS URL unknown: pass acsUrl when the request uses AssertionConsumerServiceIndex');
  const spEntityId = p.spEntityId ?? req.issuer;
  const v = p.variant ?? {};
  const fmt = (d: Date) => (v.milliseconds === false ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : samlInstant(d));
  const now = fmt(p.now);
  const responseId = newSamlId();
  const e = escapeXml;
  const issuer = `<saml:Issuer Format="${NAMEID_ENTITY}">${e(cfg.entityId)}</saml:Issuer>`;
  let assertionId: string | null = null;
  let nameId: string | null = null;
  let sessionIndex: string | null = null;
  let body: string;

  if (p.errorCode !== undefined) {
    body =
      `<samlp:Status><samlp:StatusCode Value="${STATUS.RESPONDER}"><samlp:StatusCode Value="${STATUS.AUTHN_FAILED}"/></samlp:StatusCode>` +
      `<samlp:StatusMessage>ErrorCode nr${p.errorCode}</samlp:StatusMessage></samlp:Status>`;
  } else {
    const level = p.level ?? req.level ?? 2;
    const user = p.user;
    if (!user) throw new Error('user is required for a successful Response');
    assertionId = newSamlId();
    nameId = newSamlId();
    sessionIndex = level === 1 ? newSamlId() : null;
    const reqInstant = Date.parse(req.issueInstant);
    const expiry = fmt(new Date((Number.isNaN(reqInstant) ? p.now.getTime() : Math.max(reqInstant, p.now.getTime())) + 5 * 60_000));
    const attrs = (p.attributes ?? DEFAULT_ATTRIBUTES)
      .map((name) => {
        let value = user[name];
        if (value === undefined) return '';
        if (name === 'fiscalNumber' && !value.startsWith('TINIT-')) value = `TINIT-${value}`;
        const type = name === 'dateOfBirth' || name === 'expirationDate' ? 'xs:date' : 'xs:string';
        const nf = v.omitNameFormat ? '' : ` NameFormat="${ATTRNAME_BASIC}"`;
        return `<saml:Attribute Name="${e(name)}"${nf}><saml:AttributeValue xsi:type="${type}">${e(value)}</saml:AttributeValue></saml:Attribute>`;
      })
      .join('');
    body =
      `<samlp:Status><samlp:StatusCode Value="${STATUS.SUCCESS}"/></samlp:Status>` +
      `<saml:Assertion xmlns:xs="${NS.xs}" xmlns:xsi="${NS.xsi}" ID="${assertionId}" IssueInstant="${now}" Version="2.0">` +
      issuer +
      `<saml:Subject><saml:NameID Format="${NAMEID_TRANSIENT}" NameQualifier="${e(cfg.entityId)}">${nameId}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="${CM_BEARER}"><saml:SubjectConfirmationData InResponseTo="${e(req.id)}" NotOnOrAfter="${expiry}" Recipient="${e(acsUrl)}"/></saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${now}" NotOnOrAfter="${expiry}"><saml:AudienceRestriction><saml:Audience>${e(spEntityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${now}"${sessionIndex ? ` SessionIndex="${sessionIndex}"` : ''}><saml:AuthnContext><saml:AuthnContextClassRef>${spidClassRef(level)}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      (attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : '') +
      `</saml:Assertion>`;
  }
  let xml =
    `<samlp:Response xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${responseId}" Version="2.0" IssueInstant="${now}" Destination="${e(acsUrl)}" InResponseTo="${e(req.id)}">` +
    issuer +
    body +
    `</samlp:Response>`;

  if (v.mutate) {
    const doc = new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
    v.mutate(doc);
    xml = new XMLSerializer().serializeToString(doc as unknown as XmldomNode);
  }
  const keys = v.signingKeys ?? cfg.keys;
  const finalAssertionId = assertionIdIn(xml);
  if (finalAssertionId && v.signAssertion !== false) {
    xml = signEnveloped(xml, keys, { id: finalAssertionId, localName: 'Assertion', placement: 'afterIssuer' });
  }
  const finalResponseId = /<samlp:Response\b[^>]*\sID="([^"]+)"/.exec(xml)?.[1];
  if (finalResponseId && v.signResponse !== false) {
    xml = signEnveloped(xml, keys, { id: finalResponseId, localName: 'Response', placement: 'afterIssuer' });
  }
  if (v.postSign) xml = v.postSign(xml);
  return { xml, base64: Buffer.from(xml, 'utf8').toString('base64'), responseId, assertionId, nameId, sessionIndex };
}

function assertionIdIn(xml: string): string | null {
  return /<saml:Assertion\b[^>]*\sID="([^"]+)"/.exec(xml)?.[1] ?? null;
}

