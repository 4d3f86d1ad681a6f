/**
 * SPID Single Logout (spid.md §5), both directions, HTTP-POST and HTTP-Redirect bindings.
 *
 * SP-initiated: end the local session, then {@link buildPostLogoutRequest} /
 * {@link buildRedirectLogoutRequest} (NameID and SessionIndex as received at login) to the IdP SLO;
 * the IdP answers at our SLO URL: {@link validateLogoutResponse} (signature with the IdP metadata
 * certificates, InResponseTo, Destination, Issuer, Status Success or PartialLogout).
 *
 * IdP-initiated: {@link validateIdpLogoutRequest} (signature, Issuer, Destination, NameID), end the
 * matching session, answer {@link buildPostLogoutResponse} / {@link buildRedirectLogoutResponse}
 * (signed, InResponseTo = its ID, Status Success).
 *
 * The builders are generic in the signer, so the test IdP uses them too.
 */
import zlib from 'node:zlib';
import { redirectBindingUrl } from './authn-request.js';
import {
  NAMEID_ENTITY,
  NAMEID_TRANSIENT,
  NS,
  STATUS,
  attr,
  base64DerToPem,
  childElements,
  escapeXml,
  newSamlId,
  parseSamlInstant,
  samlInstant,
  signEnveloped,
  textOf,
  verifyEnvelopedSignature,
  verifyRedirectSignature,
  type SigningKeyPair,
} from './saml.js';
import { parseXmlSafely } from '../../xml/safe-parse.js';

/** Whoever signs the message (our SP, or the test IdP). */
export interface SamlSigner {
  entityId: string;
  keys: SigningKeyPair;
}

export interface LogoutRequestParams {
  signer: SamlSigner;
  /** SLO Location of the receiver (= Destination). */
  destination: string;
  /** NameID exactly as received at login. */
  nameId: string;
  /** NameQualifier of that NameID (the IdP entityID). */
  nameQualifier: string;
  /** SessionIndex as received (only SpidL1 logins have one). */
  sessionIndex?: string | null;
  now: Date;
  id?: string;
}

export interface BuiltMessage {
  id: string;
  issueInstant: string;
  xml: string;
}

function issuerXml(entityId: string): string {
  const e = escapeXml(entityId);
  return `<saml:Issuer Format="${NAMEID_ENTITY}" NameQualifier="${e}">${e}</saml:Issuer>`;
}

/** Unsigned LogoutRequest XML. */
export function logoutRequestXml(p: LogoutRequestParams): BuiltMessage {
  const id = p.id ?? newSamlId();
  const issueInstant = samlInstant(p.now);
  const e = escapeXml;
  const xml =
    `<samlp:LogoutRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${id}" Version="2.0" IssueInstant="${issueInstant}" Destination="${e(p.destination)}">` +
    issuerXml(p.signer.entityId) +
    `<saml:NameID Format="${NAMEID_TRANSIENT}" NameQualifier="${e(p.nameQualifier)}">${e(p.nameId)}</saml:NameID>` +
    (p.sessionIndex ? `<samlp:SessionIndex>${e(p.sessionIndex)}</samlp:SessionIndex>` : '') +
    `</samlp:LogoutRequest>`;
  return { id, issueInstant, xml };
}

/** HTTP-POST: signed LogoutRequest (Signature after Issuer) and its base64 `SAMLRequest`. */
export function buildPostLogoutRequest(p: LogoutRequestParams): BuiltMessage & { samlRequest: string } {
  const m = logoutRequestXml(p);
  const xml = signEnveloped(m.xml, p.signer.keys, { id: m.id, localName: 'LogoutRequest', placement: 'afterIssuer' });
  return { ...m, xml, samlRequest: Buffer.from(xml, 'utf8').toString('base64') };
}

/** HTTP-Redirect: unsigned XML, signed query string. */
export function buildRedirectLogoutRequest(p: LogoutRequestParams, relayState?: string): BuiltMessage & { url: string } {
  const m = logoutRequestXml(p);
  return { ...m, url: redirectBindingUrl(p.destination, m.xml, p.signer.keys.keyPem, relayState, 'SAMLRequest') };
}

export interface LogoutResponseParams {
  signer: SamlSigner;
  /** The receiver's SLO ResponseLocation (or Location). */
  destination: string;
  /** ID of the LogoutRequest answered. */
  inResponseTo: string;
  /** Default success. */
  status?: 'success' | 'partial' | 'requester' | 'responder';
  now: Date;
  id?: string;
}

/** Unsigned LogoutResponse XML. */
export function logoutResponseXml(p: LogoutResponseParams): BuiltMessage {
  const id = p.id ?? newSamlId();
  const issueInstant = samlInstant(p.now);
  const e = escapeXml;
  const st = p.status ?? 'success';
  const status =
    st === 'success'
      ? `<samlp:StatusCode Value="${STATUS.SUCCESS}"/>`
      : st === 'partial'
        ? `<samlp:StatusCode Value="${STATUS.REQUESTER}"><samlp:StatusCode Value="${STATUS.PARTIAL_LOGOUT}"/></samlp:StatusCode>`
        : `<samlp:StatusCode Value="${st === 'requester' ? STATUS.REQUESTER : STATUS.RESPONDER}"/>`;
  const xml =
    `<samlp:LogoutResponse xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${id}" Version="2.0" IssueInstant="${issueInstant}" Destination="${e(p.destination)}" InResponseTo="${e(p.inResponseTo)}">` +
    issuerXml(p.signer.entityId) +
    `<samlp:Status>${status}</samlp:Status>` +
    `</samlp:LogoutResponse>`;
  return { id, issueInstant, xml };
}

/** HTTP-POST: signed LogoutResponse and its base64 `SAMLResponse`. */
export function buildPostLogoutResponse(p: LogoutResponseParams): BuiltMessage & { samlResponse: string } {
  const m = logoutResponseXml(p);
  const xml = signEnveloped(m.xml, p.signer.keys, { id: m.id, localName: 'LogoutResponse', placement: 'afterIssuer' });
  return { ...m, xml, samlResponse: Buffer.from(xml, 'utf8').toString('base64') };
}

/** HTTP-Redirect: signed query string. */
export function buildRedirectLogoutResponse(p: LogoutResponseParams, relayState?: string): BuiltMessage & { url: string } {
  const m = logoutResponseXml(p);
  return { ...m, url: redirectBindingUrl(p.destination, m.xml, p.signer.keys.keyPem, relayState, 'SAMLResponse') };
}

// ---------------------------------------------------------------- inbound

/** An inbound SLO message as the route received it. */
export type InboundMessage =
  | { binding: 'POST'; /** base64 form field */ message: string; relayState?: string }
  | { binding: 'REDIRECT'; /** query string exactly as received (`req.raw.url` after `?`) */ rawQuery: string };

export type LogoutFailureCode =
  | 'MALFORMED'
  | 'WRONG_MESSAGE'
  | 'SIGNATURE_INVALID'
  | 'VERSION'
  | 'ISSUE_INSTANT'
  | 'IN_RESPONSE_TO'
  | 'DESTINATION'
  | 'ISSUER'
  | 'NAMEID'
  | 'EXPIRED'
  | 'STATUS';

export interface LogoutFailure {
  ok: false;
  code: LogoutFailureCode;
  reason: string;
}

interface Trust {
  /** IdP entityID. */
  entityId: string;
  /** IdP metadata signing certificates (PEM or base64 DER). */
  certificates: string[];
}

const MAX_SLO_BYTES = 64 * 1024;

/** Decodes, verifies the binding's signature and parses. Returns the root element. */
function readInbound(input: InboundMessage, param: 'SAMLRequest' | 'SAMLResponse', certs: string[], rootName: string): Element | LogoutFailure {
  const pem = certs.map((c) => (c.includes('BEGIN CERTIFICATE') ? c : base64DerToPem(c)));
  let xml: string;
  let signedByQuery = false;
  try {
    if (input.binding === 'POST') {
      xml = Buffer.from(input.message.replace(/\s+/g, ''), 'base64').toString('utf8');
    } else {
      const v = verifyRedirectSignature(input.rawQuery, param, pem);
      if (!v.ok) return { ok: false, code: 'SIGNATURE_INVALID', reason: v.reason };
      signedByQuery = true;
      xml = zlib.inflateRawSync(Buffer.from(v.message, 'base64'), { maxOutputLength: MAX_SLO_BYTES }).toString('utf8');
    }
  } catch (e) {
    return { ok: false, code: 'MALFORMED', reason: `cannot decode: ${(e as Error).message}` };
  }
  let root: Element;
  try {
    root = parseXmlSafely(xml, { maxBytes: MAX_SLO_BYTES }).documentElement!;
  } catch (e) {
    return { ok: false, code: 'MALFORMED', reason: (e as Error).message };
  }
  if (root.namespaceURI !== NS.samlp || root.localName !== rootName) {
    return { ok: false, code: 'WRONG_MESSAGE', reason: `expected ${rootName}, got ${root.localName}` };
  }
  if (!signedByQuery) {
    const sigs = childElements(root, NS.ds, 'Signature');
    if (sigs.length !== 1) return { ok: false, code: 'SIGNATURE_INVALID', reason: `${rootName} not signed` };
    const v = verifyEnvelopedSignature(xml, sigs[0]!, attr(root, 'ID') ?? '', pem);
    if (!v.ok) return { ok: false, code: 'SIGNATURE_INVALID', reason: v.reason };
    // Read the values from the signed canonical form.
    root = parseXmlSafely(v.canonicalXml).documentElement!;
  }
  return root;
}

function commonChecks(root: Element, idp: Trust, destination: string, now: number, skew: number): LogoutFailure | null {
  if (attr(root, 'Version') !== '2.0') return { ok: false, code: 'VERSION', reason: `Version ${attr(root, 'Version')}` };
  const t = parseSamlInstant(attr(root, 'IssueInstant'));
  if (t === null || t > now + skew) return { ok: false, code: 'ISSUE_INSTANT', reason: `IssueInstant ${attr(root, 'IssueInstant')}` };
  if (attr(root, 'Destination') !== destination) {
    return { ok: false, code: 'DESTINATION', reason: `Destination ${attr(root, 'Destination')} is not ${destination}` };
  }
  const issuer = childElements(root, NS.saml, 'Issuer')[0];
  const format = issuer ? attr(issuer, 'Format') : null;
  if (!issuer || textOf(issuer) !== idp.entityId || (format !== null && format !== NAMEID_ENTITY)) {
    return { ok: false, code: 'ISSUER', reason: `Issuer ${issuer ? textOf(issuer) : '(none)'} is not ${idp.entityId}` };
  }
  return null;
}

export interface LogoutResponseExpected {
  /** ID of our LogoutRequest (stored in the session / DB when sent). */
  requestId: string;
  /** Our SLO URL (Destination). */
  sloUrl: string;
}

/** Validates the IdP's answer to our LogoutRequest. `partial` = PartialLogout (show "logout parziale"). */
export function validateLogoutResponse(
  input: InboundMessage,
  expected: LogoutResponseExpected,
  idp: Trust,
  options: { now: Date; clockSkewMs?: number },
): { ok: true; partial: boolean; inResponseTo: string } | LogoutFailure {
  const root = readInbound(input, 'SAMLResponse', idp.certificates, 'LogoutResponse');
  if ('ok' in root) return root;
  const bad = commonChecks(root, idp, expected.sloUrl, options.now.getTime(), options.clockSkewMs ?? 60_000);
  if (bad) return bad;
  const irt = attr(root, 'InResponseTo');
  if (!irt || irt !== expected.requestId) return { ok: false, code: 'IN_RESPONSE_TO', reason: `InResponseTo ${irt} is not ${expected.requestId}` };
  const status = childElements(root, NS.samlp, 'Status')[0];
  const code = status ? childElements(status, NS.samlp, 'StatusCode')[0] : undefined;
  const value = code ? attr(code, 'Value') : null;
  if (value === STATUS.SUCCESS) return { ok: true, partial: false, inResponseTo: irt };
  const sub = code ? childElements(code, NS.samlp, 'StatusCode')[0] : undefined;
  if (sub && attr(sub, 'Value') === STATUS.PARTIAL_LOGOUT) return { ok: true, partial: true, inResponseTo: irt };
  return { ok: false, code: 'STATUS', reason: `Status ${value}` };
}

export interface IdpLogoutRequest {
  ok: true;
  /** ID to put in our LogoutResponse InResponseTo. */
  id: string;
  nameId: string;
  nameQualifier: string | null;
  sessionIndexes: string[];
  relayState?: string;
}

/** Validates an IdP-initiated LogoutRequest arriving at our SLO URL. */
export function validateIdpLogoutRequest(
  input: InboundMessage,
  expected: { sloUrl: string },
  idp: Trust,
  options: { now: Date; clockSkewMs?: number },
): IdpLogoutRequest | LogoutFailure {
  const root = readInbound(input, 'SAMLRequest', idp.certificates, 'LogoutRequest');
  if ('ok' in root) return root;
  const now = options.now.getTime();
  const skew = options.clockSkewMs ?? 60_000;
  const bad = commonChecks(root, idp, expected.sloUrl, now, skew);
  if (bad) return bad;
  const id = attr(root, 'ID');
  if (!id) return { ok: false, code: 'MALFORMED', reason: 'LogoutRequest without ID' };
  const noa = attr(root, 'NotOnOrAfter');
  if (noa !== null) {
    const t = parseSamlInstant(noa);
    if (t === null || t <= now - skew) return { ok: false, code: 'EXPIRED', reason: `NotOnOrAfter ${noa}` };
  }
  const nameIdEl = childElements(root, NS.saml, 'NameID')[0];
  if (!nameIdEl || !textOf(nameIdEl)) return { ok: false, code: 'NAMEID', reason: 'NameID missing or empty' };
  let relayState: string | undefined;
  if (input.binding === 'POST') relayState = input.relayState;
  else {
    const m = /(?:^|&)RelayState=([^&]*)/.exec(input.rawQuery.replace(/^\?/, ''));
    relayState = m ? decodeURIComponent(m[1]!) : undefined;
  }
  return {
    ok: true,
    id,
    nameId: textOf(nameIdEl),
    nameQualifier: attr(nameIdEl, 'NameQualifier'),
    sessionIndexes: childElements(root, NS.samlp, 'SessionIndex').map(textOf),
    ...(relayState !== undefined ? { relayState } : {}),
  };
}

/**
 * Unverified peek at an inbound SLO message: which kind it is and who sent it, so the route can
 * pick the IdP certificates. Trust nothing here.
 */
export function peekSloMessage(input: InboundMessage): { kind: 'LogoutRequest' | 'LogoutResponse'; issuer: string | null } | null {
  try {
    let xml: string;
    if (input.binding === 'POST') xml = Buffer.from(input.message, 'base64').toString('utf8');
    else {
      const m = /(?:^|&)(SAMLRequest|SAMLResponse)=([^&]*)/.exec(input.rawQuery.replace(/^\?/, ''));
      if (!m) return null;
      xml = zlib.inflateRawSync(Buffer.from(decodeURIComponent(m[2]!), 'base64'), { maxOutputLength: MAX_SLO_BYTES }).toString('utf8');
    }
    const root = parseXmlSafely(xml, { maxBytes: MAX_SLO_BYTES }).documentElement!;
    if (root.namespaceURI !== NS.samlp || (root.localName !== 'LogoutRequest' && root.localName !== 'LogoutResponse')) return null;
    const issuer = childElements(root, NS.saml, 'Issuer')[0];
    return { kind: root.localName, issuer: issuer ? textOf(issuer) : null };
  } catch {
    return null;
  }
}
