/**
 * Shared SAML/SPID vocabulary and small helpers used by the SP modules and the test IdP:
 * namespaces, URIs, levels, IDs, strict xs:dateTime handling, PEM/DER, XML escaping,
 * enveloped signing with xml-crypto, DOM helpers and the XSD locations.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOMParser } from '@xmldom/xmldom';
import { ExclusiveCanonicalization, SignedXml } from 'xml-crypto';

export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xs: 'http://www.w3.org/2001/XMLSchema',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  spid: 'https://spid.gov.it/saml-extensions',
  cie: 'https://www.cartaidentita.interno.gov.it/saml-extensions',
} as const;

export const BINDING = {
  POST: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
  REDIRECT: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  SOAP: 'urn:oasis:names:tc:SAML:2.0:bindings:SOAP',
} as const;

export const NAMEID_TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
export const NAMEID_ENTITY = 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity';
export const CM_BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
export const ATTRNAME_BASIC = 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic';
export const STATUS = {
  SUCCESS: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  REQUESTER: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  RESPONDER: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  AUTHN_FAILED: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
  PARTIAL_LOGOUT: 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout',
} as const;

export const ALG = {
  RSA_SHA256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  RSA_SHA512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  SHA256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  SHA512: 'http://www.w3.org/2001/04/xmlenc#sha512',
  EXC_C14N: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  ENVELOPED: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const;

/** Signature algorithms accepted on incoming messages (no SHA-1, no HMAC). */
export const ACCEPTED_SIGNATURE_ALGS: ReadonlySet<string> = new Set([ALG.RSA_SHA256, ALG.RSA_SHA512]);
export const ACCEPTED_DIGEST_ALGS: ReadonlySet<string> = new Set([ALG.SHA256, ALG.SHA512]);

/** SPID authentication levels. */
export type SpidLevel = 1 | 2 | 3;
export type AuthnComparison = 'exact' | 'minimum' | 'better' | 'maximum';

export function spidClassRef(level: SpidLevel): string {
  return `https://www.spid.gov.it/SpidL${level}`;
}

/** Level of an AuthnContextClassRef, or null when it is not one of the three SPID values. */
export function levelFromClassRef(value: string): SpidLevel | null {
  const m = /^https:\/\/www\.spid\.gov\.it\/SpidL([123])$/.exec(value.trim());
  return m ? (Number(m[1]) as SpidLevel) : null;
}

/** A fresh SAML ID: `_` + 32 hex chars (a valid xs:ID, never starting with a digit). */
export function newSamlId(): string {
  return '_' + crypto.randomBytes(16).toString('hex');
}

/** `2026-11-26T10:00:00.000Z` */
export function samlInstant(d: Date): string {
  return d.toISOString();
}

const XS_DATETIME_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|\+00:00)$/;

/**
 * Strict xs:dateTime in UTC (`Z` or `+00:00`), as SAML requires. Returns epoch ms or null.
 * Rejects `2018-09-04`, `2018/09/10`, `10-09-2018`, `2018-09-06 16:00`, impossible dates.
 */
export function parseSamlInstant(value: string | null | undefined): number | null {
  if (value == null) return null;
  const m = XS_DATETIME_UTC.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23) return null;
  return ms + (frac ? Math.floor(Number(frac) * 1000) : 0);
}

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Base64 DER body of the first certificate in a PEM (no headers, no newlines). */
export function pemToBase64Der(pem: string): string {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  return (m ? m[1]! : pem).replace(/\s+/g, '');
}

/** PEM from a base64 DER certificate (whitespace tolerated). */
export function base64DerToPem(b64: string): string {
  const body = b64.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
}

/** Signing material of one party. */
export interface SigningKeyPair {
  /** PKCS#8 (or PKCS#1) PEM private key. */
  keyPem: string;
  /** PEM certificate published in the metadata. */
  certPem: string;
}

export interface EnvelopedSignOptions {
  /** The ID attribute value of the element to sign. */
  id: string;
  /** Local name of the element carrying that ID (e.g. `Assertion`, `Response`, `EntityDescriptor`). */
  localName: string;
  /**
   * Where the ds:Signature goes: after that element's direct child `Issuer` (SAML protocol and
   * assertion XSDs), or as its first child (metadata XSD), which is also the fallback when there is
   * no Issuer.
   */
  placement: 'afterIssuer' | 'firstChild';
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
}

/**
 * Enveloped XML signature (exc-c14n, rsa-sha256 / sha256 by default), Reference `#<id>`, KeyInfo
 * with the X509 certificate. Returns the signed XML.
 */
export function signEnveloped(xml: string, keys: SigningKeyPair, opts: EnvelopedSignOptions): string {
  if (!/^[A-Za-z_][\w.-]*$/.test(opts.id)) throw new Error(`not an xs:ID: ${opts.id}`);
  const target = `//*[local-name(.)='${opts.localName}' and @ID='${opts.id}']`;
  const sig = new SignedXml({
    privateKey: keys.keyPem,
    publicCert: keys.certPem,
    signatureAlgorithm: opts.signatureAlgorithm ?? ALG.RSA_SHA256,
    canonicalizationAlgorithm: ALG.EXC_C14N,
  });
  sig.addReference({
    xpath: target,
    transforms: [ALG.ENVELOPED, ALG.EXC_C14N],
    digestAlgorithm: opts.digestAlgorithm ?? ALG.SHA256,
  });
  let hasIssuer = false;
  if (opts.placement === 'afterIssuer') {
    const doc = new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
    const el = descendantOrSelfWithId(doc, opts.localName, opts.id);
    hasIssuer = !!el && childElements(el, NS.saml, 'Issuer').length > 0;
  }
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: hasIssuer
      ? { reference: `${target}/*[local-name(.)='Issuer']`, action: 'after' }
      : { reference: target, action: 'prepend' },
  });
  return sig.getSignedXml();
}

/** Signs `data` with RSA-SHA256 (HTTP-Redirect binding), base64. */
export function rsaSha256Sign(data: string, keyPem: string): string {
  return crypto.createSign('RSA-SHA256').update(data, 'utf8').sign(keyPem, 'base64');
}

// ---- DOM helpers (xmldom nodes are typed as the DOM lib types) ----

/** Direct element children with this namespace and local name. */
export function childElements(parent: Node, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === localName) {
      out.push(n as Element);
    }
  }
  return out;
}

/** All descendant elements (document order) with this namespace and local name. */
export function descendantElements(root: Node, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  const walk = (n: Node): void => {
    for (let c = n.firstChild; c; c = c.nextSibling) {
      if (c.nodeType !== 1) continue;
      const el = c as Element;
      if (el.namespaceURI === ns && el.localName === localName) out.push(el);
      walk(el);
    }
  };
  walk(root);
  return out;
}

function descendantOrSelfWithId(doc: Document, localName: string, id: string): Element | null {
  const walk = (el: Element): Element | null => {
    if (el.localName === localName && el.getAttribute('ID') === id) return el;
    for (let c = el.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 1) {
        const found = walk(c as Element);
        if (found) return found;
      }
    }
    return null;
  };
  return doc.documentElement ? walk(doc.documentElement) : null;
}

/** Attribute value, or null when the attribute is absent (empty string stays ""). */
export function attr(el: Element, name: string): string | null {
  return el.hasAttribute(name) ? el.getAttribute(name) : null;
}

/** Trimmed text content (all text nodes; comments are not text). */
export function textOf(el: Element): string {
  return (el.textContent ?? '').trim();
}

// ---- schemas ----

const here = path.dirname(fileURLToPath(import.meta.url));
/**
 * Folder of the SAML/SPID XSDs. `SPID_XSD_DIR` overrides it; the default is the copy of the
 * official files shipped in the repository (`schemas/spid/xsd`).
 */
export function spidXsdDir(): string {
  return process.env.SPID_XSD_DIR ?? path.resolve(here, '../../../schemas/spid/xsd');
}
export const XSD = {
  protocol: () => path.join(spidXsdDir(), 'saml-schema-protocol-2.0.xsd'),
  spMetadataSpid: () => path.join(spidXsdDir(), 'saml-schema-metadata-sp-spid-av29.xsd'),
  metadata: () => path.join(spidXsdDir(), 'saml-schema-metadata-2.0.xsd'),
  spMetadataCie: () => path.join(spidXsdDir(), 'cie', 'saml-schema-metadata-sp-cie.xsd'),
};

// ---- signature verification (shared by the ACS, SLO and registry code) ----

export type SignatureCheck = { ok: true; canonicalXml: string } | { ok: false; reason: string };

/** Attribute names xml-crypto resolves a `#id` Reference against (its signature-wrapping guard counts all three). */
const ID_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(['Id', 'ID', 'id']);

/**
 * Every `Id`/`ID`/`id` attribute (any namespace) of the document whose value is `id`, with its
 * element: what xml-crypto's three `//*[@*[local-name(.)='…']='…']` lookups count (an element with
 * two such attributes counts twice, as there), found in one walk of the tree. Stops at `limit`.
 */
function elementsCarryingId(root: Node, id: string, limit = 2): { el: Element; attrName: string }[] {
  const out: { el: Element; attrName: string }[] = [];
  const stack: Node[] = [root];
  while (stack.length > 0 && out.length < limit) {
    const n = stack.pop()!;
    if (n.nodeType === 1) {
      const attrs = (n as Element).attributes;
      for (let i = 0; i < attrs.length; i++) {
        const a = attrs[i]!;
        if (a.value === id && ID_ATTRIBUTE_NAMES.has(a.localName ?? a.name)) out.push({ el: n as Element, attrName: a.localName ?? a.name });
      }
    }
    for (let c = n.lastChild; c; c = c.previousSibling) if (c.nodeType === 1) stack.push(c);
  }
  return out;
}

const MAX_CACHED_KEYS = 256;
const publicKeys = new Map<string, crypto.KeyObject>();

/**
 * The public key of a trusted certificate (PEM or base64 DER), parsed once per process: an IdP
 * certificate is the same string on every login, so it is not re-imported for every Response.
 */
export function certificatePublicKey(cert: string): crypto.KeyObject {
  let key = publicKeys.get(cert);
  if (!key) {
    const pem = cert.includes('-----BEGIN CERTIFICATE-----') ? cert : base64DerToPem(cert);
    key = new crypto.X509Certificate(pem).publicKey;
    if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.delete(publicKeys.keys().next().value!);
    publicKeys.set(cert, key);
  }
  return key;
}

/**
 * Puts first the certificate whose key verifies the SignatureValue over our own exc-c14n of the
 * SignedInfo (key rollover: several certificates per IdP), so xml-crypto does its full check once
 * instead of once per certificate. Only an ordering hint: xml-crypto still decides, and when no
 * key matches here every certificate is still tried.
 */
function orderKeysBySignedInfo(signedInfo: Element, signature: Element, sigAlg: string, keys: crypto.KeyObject[]): crypto.KeyObject[] {
  if (keys.length < 2) return keys;
  try {
    const valueEl = childElements(signature, NS.ds, 'SignatureValue')[0];
    if (!valueEl) return keys;
    const value = Buffer.from((valueEl.textContent ?? '').replace(/\s+/g, ''), 'base64');
    const canon = new ExclusiveCanonicalization().process(signedInfo.cloneNode(true) as Element, {}).toString();
    const hash = sigAlg === ALG.RSA_SHA512 ? 'RSA-SHA512' : 'RSA-SHA256';
    const i = keys.findIndex((k) => crypto.createVerify(hash).update(canon).verify(k, value));
    return i > 0 ? [keys[i]!, ...keys.slice(0, i), ...keys.slice(i + 1)] : keys;
  } catch {
    return keys;
  }
}

/**
 * Verifies one enveloped ds:Signature with the trusted certificates only (KeyInfo is ignored:
 * xml-crypto 6 has no getCertFromKeyInfo by default). Enforces: exc-c14n, rsa-sha256/512,
 * exactly one Reference with URI `#<expectedId>`, only enveloped-signature + exc-c14n transforms,
 * sha256/512 digest, exactly one element of the document carrying that ID (in an `Id`, `ID` or
 * `id` attribute, as xml-crypto's wrapping guard counts them) and the Signature a child of it.
 * On success returns the canonical XML of the signed element as xml-crypto authenticated it
 * (`getSignedReferences()`): read values from that, never from the document.
 *
 * `signature` must belong to the parsed form of `xml`. The duplicate-ID guard runs here, in one
 * walk of that tree, so xml-crypto is told the one attribute name to resolve the Reference with
 * (one XPath scan of its own copy of the document instead of three); certificate keys are cached.
 */
export function verifyEnvelopedSignature(xml: string, signature: Element, expectedId: string, certsPem: string[]): SignatureCheck {
  const no = (reason: string): SignatureCheck => ({ ok: false, reason });
  const signedInfo = childElements(signature, NS.ds, 'SignedInfo');
  if (signedInfo.length !== 1) return no('SignedInfo missing or repeated');
  const si = signedInfo[0]!;
  const c14n = childElements(si, NS.ds, 'CanonicalizationMethod')[0];
  if (!c14n || attr(c14n, 'Algorithm') !== ALG.EXC_C14N) return no('CanonicalizationMethod must be exc-c14n');
  const sm = childElements(si, NS.ds, 'SignatureMethod')[0];
  const sigAlg = sm ? attr(sm, 'Algorithm') : null;
  if (!sigAlg || !ACCEPTED_SIGNATURE_ALGS.has(sigAlg)) return no(`SignatureMethod ${sigAlg} not allowed`);
  const refs = childElements(si, NS.ds, 'Reference');
  if (refs.length !== 1) return no(`exactly one Reference expected, found ${refs.length}`);
  const ref = refs[0]!;
  if (!expectedId || attr(ref, 'URI') !== `#${expectedId}`) return no(`Reference URI ${attr(ref, 'URI')} is not #${expectedId}`);
  const dm = childElements(ref, NS.ds, 'DigestMethod')[0];
  const digestAlg = dm ? attr(dm, 'Algorithm') : null;
  if (!digestAlg || !ACCEPTED_DIGEST_ALGS.has(digestAlg)) return no(`DigestMethod ${digestAlg} not allowed`);
  const transformsEl = childElements(ref, NS.ds, 'Transforms')[0];
  const transforms = transformsEl ? childElements(transformsEl, NS.ds, 'Transform').map((t) => attr(t, 'Algorithm')) : [];
  if (!transforms.includes(ALG.ENVELOPED) || transforms.length > 2 || transforms.some((t) => t !== ALG.ENVELOPED && t !== ALG.EXC_C14N)) {
    return no(`only the enveloped-signature and exc-c14n transforms are allowed (got ${transforms.join(', ')})`);
  }
  const doc = signature.ownerDocument;
  if (!doc) return no('signature not attached to a document');
  const targets = elementsCarryingId(doc, expectedId);
  if (targets.length !== 1) {
    return no(targets.length === 0 ? `no element carries the ID ${expectedId}` : `several elements (or ID attributes) carry the ID ${expectedId} (signature wrapping?)`);
  }
  const target = targets[0]!;
  if (signature.parentNode !== target.el) return no(`the Signature is not a child of the element ${expectedId} it signs`);
  let keys: crypto.KeyObject[];
  try {
    keys = certsPem.map(certificatePublicKey);
  } catch (e) {
    return no(`trusted certificate not readable: ${(e as Error).message}`);
  }
  keys = orderKeysBySignedInfo(si, signature, sigAlg, keys);
  let lastError = 'no certificate matched';
  for (const key of keys) {
    const sx = new SignedXml({ publicCert: key });
    sx.idAttributes = [target.attrName];
    try {
      sx.loadSignature(signature);
      if (sx.checkSignature(xml)) {
        const signed = sx.getSignedReferences();
        if (signed.length === 1 && signed[0]) return { ok: true, canonicalXml: signed[0] };
        lastError = `unexpected number of signed references (${signed.length})`;
      }
    } catch (e) {
      lastError = (e as Error).message;
    }
  }
  return no(`signature not valid with the trusted certificates (${lastError.slice(0, 200)})`);
}

/**
 * Checks, without parsing it, that canonical XML (exc-c14n output, as `getSignedReferences()`
 * returns it) has as its root `{ns}localName` with `ID="id"`: reads the first start tag, whose
 * attribute values c14n always writes in double quotes with `"` escaped, and whose own namespace
 * declaration exc-c14n always writes on it.
 */
export function canonicalRootIs(canonicalXml: string, ns: string, localName: string, id: string): boolean {
  const m = /^<(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)((?:\s+[^\s=<>"]+="[^"]*")*)\s*\/?>/.exec(canonicalXml);
  if (!m || m[2] !== localName) return false;
  const attrs = new Map<string, string>();
  for (const a of m[3]!.matchAll(/\s+([^\s=<>"]+)="([^"]*)"/g)) attrs.set(a[1]!, a[2]!);
  const nsDecl = m[1] ? `xmlns:${m[1]}` : 'xmlns';
  return attrs.get(nsDecl) === c14nAttrValue(ns) && attrs.get('ID') === c14nAttrValue(id);
}

/** An attribute value escaped as c14n writes it. */
function c14nAttrValue(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;').replace(/\t/g, '&#x9;').replace(/\n/g, '&#xA;').replace(/\r/g, '&#xD;');
}

/** Verifies an HTTP-Redirect binding query signature (`rawQuery` exactly as received, no `?`). */
export function verifyRedirectSignature(
  rawQuery: string,
  param: 'SAMLRequest' | 'SAMLResponse',
  certsPem: string[],
): { ok: true; message: string; relayState?: string } | { ok: false; reason: string } {
  const parts = new Map<string, string>();
  for (const kv of rawQuery.replace(/^\?/, '').split('&')) {
    const i = kv.indexOf('=');
    if (i > 0 && !parts.has(kv.slice(0, i))) parts.set(kv.slice(0, i), kv.slice(i + 1));
  }
  const msg = parts.get(param);
  const sigAlg = parts.get('SigAlg');
  const signature = parts.get('Signature');
  if (!msg || !sigAlg || !signature) return { ok: false, reason: `${param}, SigAlg and Signature are required` };
  let alg: string;
  try {
    alg = decodeURIComponent(sigAlg);
  } catch {
    return { ok: false, reason: 'bad SigAlg encoding' };
  }
  if (!ACCEPTED_SIGNATURE_ALGS.has(alg)) return { ok: false, reason: `SigAlg ${alg} not allowed` };
  const relay = parts.get('RelayState');
  const signed = `${param}=${msg}${relay !== undefined ? `&RelayState=${relay}` : ''}&SigAlg=${sigAlg}`;
  let sigBytes: Buffer;
  try {
    sigBytes = Buffer.from(decodeURIComponent(signature), 'base64');
  } catch {
    return { ok: false, reason: 'bad Signature encoding' };
  }
  const hash = alg === ALG.RSA_SHA512 ? 'RSA-SHA512' : 'RSA-SHA256';
  const good = certsPem.some((cert) => {
    try {
      return crypto.createVerify(hash).update(signed, 'utf8').verify(certificatePublicKey(cert), sigBytes);
    } catch {
      return false;
    }
  });
  if (!good) return { ok: false, reason: 'query signature not valid with the trusted certificates' };
  try {
    return { ok: true, message: decodeURIComponent(msg), relayState: relay !== undefined ? decodeURIComponent(relay) : undefined };
  } catch {
    return { ok: false, reason: 'bad message encoding' };
  }
}
