/** Shared fixtures for the SPID tests: a test IdP, an SP identity, a request, DOM helpers. */
import { generateTestIdpKeys, type AuthnRequestInfo, type TestIdpConfig } from '../../src/simulators/spid-idp/idp.js';
import { signEnveloped, type SigningKeyPair } from '../../src/modules/spid/saml.js';
import { generateSelfSigned } from '../../src/modules/spid/certificate.js';

export const SP_ENTITY_ID = 'https://pagamenti.provincia.campobasso.it';
export const ACS_URL = `${SP_ENTITY_ID}/spid/acs`;
export const SLO_URL = `${SP_ENTITY_ID}/spid/slo`;
export const IDP_ENTITY_ID = 'https://idp.test.sael.example';
export const REQUEST_INSTANT = '2026-11-26T10:00:00.000Z';
export const NOW = new Date('2026-11-26T10:00:20.000Z');
/** A valid personal codice fiscale (check letter correct). */
export const CITIZEN = { fiscalNumber: 'RSSMRA80A01B519K', name: 'Mario', familyName: 'Rossi', email: 'mario.rossi@example.org' };

let cached: Promise<{ idp: TestIdpConfig; evil: SigningKeyPair; sp: SigningKeyPair }> | undefined;
/** Keys generated once per test process. */
export function fixtures() {
  cached ??= (async () => {
    const keys = await generateTestIdpKeys(IDP_ENTITY_ID);
    const evil = await generateTestIdpKeys(IDP_ENTITY_ID);
    const sp = await generateSelfSigned({ subject: `CN=SP test, 2.5.4.83=${SP_ENTITY_ID}`, keySize: 2048 });
    return { idp: { entityId: IDP_ENTITY_ID, baseUrl: IDP_ENTITY_ID, keys }, evil, sp };
  })();
  return cached;
}

export function makeRequest(level: 1 | 2 | 3 = 2, id = '_req0123456789abcdef0123456789abcd'): AuthnRequestInfo {
  return {
    id,
    issueInstant: REQUEST_INSTANT,
    version: '2.0',
    destination: `${IDP_ENTITY_ID}/sso`,
    issuer: SP_ENTITY_ID,
    forceAuthn: level > 1,
    isPassive: null,
    acsUrl: null,
    acsIndex: 0,
    protocolBinding: null,
    attributeConsumingServiceIndex: 0,
    level,
    comparison: 'minimum',
  };
}

/** First child element with that local name along a path from the document element (whose name is the first step). */
export function at(doc: Document, ...path: string[]): Element {
  let el: Element = doc.documentElement!;
  if (el.localName !== path[0]) throw new Error(`root is ${el.localName}`);
  for (const step of path.slice(1)) {
    let next: Element | undefined;
    for (let c = el.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 1 && (c as Element).localName === step) {
        next = c as Element;
        break;
      }
    }
    if (!next) throw new Error(`no ${step} under ${el.localName}`);
    el = next;
  }
  return el;
}

export const remove = (el: Element) => el.parentNode!.removeChild(el);
export function setAttr(el: Element, name: string, value: string | null) {
  if (value === null) el.removeAttribute(name);
  else el.setAttribute(name, value);
}
export function setText(el: Element, value: string) {
  while (el.firstChild) el.removeChild(el.firstChild);
  el.appendChild(el.ownerDocument.createTextNode(value));
}
export function empty(el: Element) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

// ---------------------------------------------------------------- AgID-style IdP registry

export interface RegistryIdp {
  entityId: string;
  /** PEM certificates published as signing keys (several during a rollover). */
  certs: string[];
  displayName?: string;
}

/** One IdP EntityDescriptor as the AgID aggregate lists it (unsigned; the aggregate is signed). */
function registryEntity(idp: RegistryIdp, realistic = false): string {
  const keys = idp.certs
    .map((c) => `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${c.replace(/-----[A-Z ]+-----|\s/g, '')}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
    .join('');
  return (
    `<md:EntityDescriptor entityID="${idp.entityId}" ID="_${Buffer.from(idp.entityId).toString('hex').slice(0, 40)}">` +
    `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="true">` +
    keys +
    `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${idp.entityId}/slo"/>` +
    `<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>` +
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${idp.entityId}/sso"/>` +
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${idp.entityId}/sso"/>` +
    (realistic
      ? `\n            <saml2:Attribute xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" FriendlyName="Codice identificativo SPID" Name="spidCode"/>` +
        `\n            <saml2:Attribute xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" FriendlyName="Codice fiscale" Name="fiscalNumber"/>\n        `
      : '') +
    `</md:IDPSSODescriptor>` +
    `<md:Organization><md:OrganizationName xml:lang="it">${idp.displayName ?? idp.entityId}</md:OrganizationName>` +
    `<md:OrganizationDisplayName xml:lang="it">${idp.displayName ?? idp.entityId}</md:OrganizationDisplayName>` +
    `<md:OrganizationURL xml:lang="it">${idp.entityId}</md:OrganizationURL></md:Organization>` +
    `</md:EntityDescriptor>`
  );
}

/**
 * An aggregate `md:EntitiesDescriptor` like https://registry.spid.gov.it/metadata/idp/spid-entities-idps.xml,
 * signed (enveloped, exc-c14n, rsa-sha256) with `signer` unless `signer` is null.
 */
export function buildRegistry(
  idps: RegistryIdp[],
  signer: SigningKeyPair | null,
  opts: { validUntil?: string; extra?: string; /** XML declaration, comments, indentation, saml:Attribute elements as in the real file */ realistic?: boolean } = {},
): string {
  const id = `_reg${Date.now().toString(16)}${Math.random().toString(16).slice(2, 10)}`;
  const r = opts.realistic ?? false;
  const xml =
    (r ? '<?xml version="1.0" encoding="UTF-8" standalone="no"?>' : '') +
    `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ` +
    (r ? 'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' : '') +
    `ID="${id}" Name="https://idps.spid.gov.it"${opts.validUntil ? ` validUntil="${opts.validUntil}"` : ''}>` +
    idps.map((idp) => (r ? `\n    <!-- ${idp.displayName ?? idp.entityId} *start* -->\n    ${registryEntity(idp, true)}\n    <!-- *end* -->` : registryEntity(idp))).join('') +
    (r ? '\n' : '') +
    (opts.extra ?? '') +
    `</md:EntitiesDescriptor>`;
  return signer ? signEnveloped(xml, signer, { id, localName: 'EntitiesDescriptor', placement: 'firstChild' }) : xml;
}
