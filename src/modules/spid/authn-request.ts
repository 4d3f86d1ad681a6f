/**
 * SPID/CIE AuthnRequest (spid.md §2): builder for the HTTP-POST binding (signed XML, Signature
 * right after Issuer, auto-submit form with a CSP nonce) and the HTTP-Redirect binding (deflate +
 * base64 + query-string signature).
 *
 * Route usage (sketch):
 * ```ts
 * const relayState = newRelayState();
 * const req = buildPostAuthnRequest({ sp, idpSsoUrl: idp.sso.post, level: 2, now: new Date() });
 * await saveRequestState({ id: req.id, issueInstant: req.issueInstant, idp: idp.entityId, level: 2,
 *   comparison: req.comparison, acsUrl, relayState, target });          // DB, short TTL
 * reply.type('text/html').send(renderAutoSubmitForm({ action: req.destination,
 *   fields: { SAMLRequest: req.samlRequest, RelayState: relayState }, nonce: reply.cspNonce.script }));
 * ```
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import {
  ALG,
  BINDING,
  NAMEID_ENTITY,
  NAMEID_TRANSIENT,
  NS,
  escapeXml,
  newSamlId,
  rsaSha256Sign,
  samlInstant,
  signEnveloped,
  spidClassRef,
  type AuthnComparison,
  type SigningKeyPair,
  type SpidLevel,
} from './saml.js';

/** The SP as seen by the request builders. */
export interface SpSigner {
  entityId: string;
  keys: SigningKeyPair;
}

export interface AuthnRequestParams {
  sp: SpSigner;
  /** The IdP SingleSignOnService Location for the binding used (= Destination). */
  idpSsoUrl: string;
  level: SpidLevel;
  /** Default `minimum`. */
  comparison?: AuthnComparison;
  /**
   * ACS reference: `{ index }` (default `{ index: 0 }`) or `{ url }` (then ProtocolBinding
   * HTTP-POST is added); never both.
   */
  acs?: { index: number } | { url: string };
  /** Default 0. */
  attributeConsumingServiceIndex?: number;
  now: Date;
  /** Default a fresh random ID. */
  id?: string;
}

export interface BuiltAuthnRequest {
  id: string;
  issueInstant: string;
  destination: string;
  level: SpidLevel;
  comparison: AuthnComparison;
  /** The XML sent (signed for POST, unsigned for Redirect). */
  xml: string;
}

/** The unsigned AuthnRequest XML. */
export function authnRequestXml(p: AuthnRequestParams): { id: string; issueInstant: string; xml: string } {
  const id = p.id ?? newSamlId();
  const issueInstant = samlInstant(p.now);
  const e = escapeXml;
  const acs = p.acs ?? { index: 0 };
  const acsAttrs =
    'url' in acs
      ? ` AssertionConsumerServiceURL="${e(acs.url)}" ProtocolBinding="${BINDING.POST}"`
      : ` AssertionConsumerServiceIndex="${acs.index}"`;
  const force = p.level >= 2 ? ' ForceAuthn="true"' : '';
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${id}" Version="2.0" IssueInstant="${issueInstant}"` +
    ` Destination="${e(p.idpSsoUrl)}"${force}${acsAttrs} AttributeConsumingServiceIndex="${p.attributeConsumingServiceIndex ?? 0}">` +
    `<saml:Issuer Format="${NAMEID_ENTITY}" NameQualifier="${e(p.sp.entityId)}">${e(p.sp.entityId)}</saml:Issuer>` +
    `<samlp:NameIDPolicy Format="${NAMEID_TRANSIENT}"/>` +
    `<samlp:RequestedAuthnContext Comparison="${p.comparison ?? 'minimum'}"><saml:AuthnContextClassRef>${spidClassRef(p.level)}</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>` +
    `</samlp:AuthnRequest>`;
  return { id, issueInstant, xml };
}

/** HTTP-POST binding: signed XML (Signature right after Issuer) and its base64 `SAMLRequest`. */
export function buildPostAuthnRequest(p: AuthnRequestParams): BuiltAuthnRequest & { samlRequest: string } {
  const { id, issueInstant, xml } = authnRequestXml(p);
  const signed = signEnveloped(xml, p.sp.keys, { id, localName: 'AuthnRequest', placement: 'afterIssuer' });
  return {
    id,
    issueInstant,
    destination: p.idpSsoUrl,
    level: p.level,
    comparison: p.comparison ?? 'minimum',
    xml: signed,
    samlRequest: Buffer.from(signed, 'utf8').toString('base64'),
  };
}

/**
 * HTTP-Redirect binding URL (SAML bindings §3.4.4.1): DEFLATE + base64 + URL-encode the message,
 * sign `SAMLRequest=..&RelayState=..&SigAlg=..` (or `SAMLResponse=..`) with RSA-SHA256.
 */
export function redirectBindingUrl(
  endpoint: string,
  xml: string,
  keyPem: string,
  relayState?: string,
  param: 'SAMLRequest' | 'SAMLResponse' = 'SAMLRequest',
): string {
  const encoded = encodeURIComponent(zlib.deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'));
  let query = `${param}=${encoded}`;
  if (relayState !== undefined) query += `&RelayState=${encodeURIComponent(relayState)}`;
  query += `&SigAlg=${encodeURIComponent(ALG.RSA_SHA256)}`;
  const signature = rsaSha256Sign(query, keyPem);
  return `${endpoint}${endpoint.includes('?') ? '&' : '?'}${query}&Signature=${encodeURIComponent(signature)}`;
}

/** HTTP-Redirect binding: the unsigned XML and the signed URL to send with a 302/303. */
export function buildRedirectAuthnRequest(p: AuthnRequestParams, relayState: string): BuiltAuthnRequest & { url: string } {
  const { id, issueInstant, xml } = authnRequestXml(p);
  return {
    id,
    issueInstant,
    destination: p.idpSsoUrl,
    level: p.level,
    comparison: p.comparison ?? 'minimum',
    xml,
    url: redirectBindingUrl(p.idpSsoUrl, xml, p.sp.keys.keyPem, relayState),
  };
}

/** An opaque RelayState: 32 random bytes, base64url (never a URL). */
export function newRelayState(): string {
  return crypto.randomBytes(32).toString('base64url');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface AutoSubmitFormParams {
  /** Form action (IdP SSO/SLO URL, or our ACS for the test IdP). */
  action: string;
  /** Hidden fields, e.g. `{ SAMLRequest, RelayState }`. */
  fields: Record<string, string>;
  /** CSP nonce for the inline auto-submit script. */
  nonce: string;
  title?: string;
}

/** A complete HTML page that POSTs the form at load (script with the CSP nonce; button in noscript). */
export function renderAutoSubmitForm(p: AutoSubmitFormParams): string {
  const inputs = Object.entries(p.fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('\n      ');
  return `<!doctype html>
<html lang="it">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>${escapeHtml(p.title ?? 'Reindirizzamento in corso…')}</title>
  </head>
  <body>
    <form id="saml-form" method="post" action="${escapeHtml(p.action)}">
      ${inputs}
      <noscript>
        <p>JavaScript è disattivato: premi il pulsante per continuare.</p>
        <button type="submit">Continua</button>
      </noscript>
    </form>
    <script nonce="${escapeHtml(p.nonce)}">document.getElementById('saml-form').submit();</script>
  </body>
</html>
`;
}
