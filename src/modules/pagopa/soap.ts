/**
 * SOAP 1.1 plumbing shared by the station (paForNode), the nodeForPa client and the simulator:
 * reading an envelope without depending on namespace prefixes, reading unqualified children,
 * and writing XML with escaping. Pure functions, no I/O.
 */
import type { XmlDocument } from 'libxml2-wasm';
import { parseXmlLite } from '../../xml/lite-dom.js';
import { parseXmlSafely } from '../../xml/safe-parse.js';
import { SOAP_ENV_NS } from './spec-files.js';

export const SOAP12_ENV_NS = 'http://www.w3.org/2003/05/soap-envelope';

export class SoapEnvelopeError extends Error {
  constructor(
    readonly code: 'MALFORMED' | 'NOT_SOAP' | 'VERSION' | 'NO_BODY',
    message: string,
  ) {
    super(message);
    this.name = 'SoapEnvelopeError';
  }
}

/** Element children of `el` (text, comments and processing instructions skipped). */
export function elementChildren(el: Element): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n as Element);
  return out;
}

/** First child element with this local name, whatever its prefix or namespace. */
export function child(el: Element | undefined, localName: string): Element | undefined {
  if (!el) return undefined;
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === localName) return n as Element;
  }
  return undefined;
}

export function children(el: Element | undefined, localName: string): Element[] {
  return el ? elementChildren(el).filter((c) => c.localName === localName) : [];
}

/** Text of the descendant reached by `path` ("qrCode/noticeNumber"), trimmed; undefined when absent. */
export function text(el: Element | undefined, path: string): string | undefined {
  let cur: Element | undefined = el;
  for (const part of path.split('/')) cur = child(cur, part);
  if (!cur) return undefined;
  return (cur.textContent ?? '').trim();
}

export interface ParsedEnvelope {
  doc: Document;
  /** The single element inside soap:Body (the operation element). */
  payload: Element;
}

/**
 * Parses a SOAP 1.1 message (safe parser: size limit, no DTD) into a full xmldom DOM and returns
 * the element inside Body. Throws SoapEnvelopeError (or XmlSafeParseError from the parser).
 */
export function parseEnvelope(xml: string | Uint8Array, maxBytes: number): ParsedEnvelope {
  const doc = parseXmlSafely(xml, { maxBytes });
  return { doc, payload: envelopePayload(doc.documentElement!) };
}

export interface LiteEnvelope {
  /** The single element inside soap:Body, in a read-only lite tree (lite-dom.ts). */
  payload: Element;
  /** The libxml2 parse of the same message, for XSD validation; the caller disposes it. */
  native: XmlDocument;
}

/**
 * The station's parse: libxml2 once for reading (lite tree) and for the XSD check, same rules
 * and errors as {@link parseEnvelope}. The caller must dispose `native`.
 */
export function parseEnvelopeLite(xml: string | Uint8Array, maxBytes: number): LiteEnvelope {
  const doc = parseXmlLite(xml, { maxBytes });
  try {
    return { payload: envelopePayload(doc.documentElement), native: doc.native };
  } catch (e) {
    doc.dispose();
    throw e;
  }
}

function envelopePayload(root: Element): Element {
  if (root.localName !== 'Envelope') throw new SoapEnvelopeError('NOT_SOAP', 'the root element is not a SOAP Envelope');
  if (root.namespaceURI === SOAP12_ENV_NS) throw new SoapEnvelopeError('VERSION', 'SOAP 1.2 is not supported: use SOAP 1.1');
  if (root.namespaceURI !== SOAP_ENV_NS) throw new SoapEnvelopeError('NOT_SOAP', 'the Envelope is not in the SOAP 1.1 namespace');
  const body = elementChildren(root).find((c) => c.localName === 'Body' && c.namespaceURI === SOAP_ENV_NS);
  if (!body) throw new SoapEnvelopeError('NO_BODY', 'the SOAP Envelope has no Body');
  const parts = elementChildren(body);
  if (parts.length !== 1) throw new SoapEnvelopeError('NO_BODY', `the SOAP Body must contain exactly one element (found ${parts.length})`);
  return parts[0]!;
}

/** The value of a SOAPAction header without quotes ("" and absent → undefined). */
export function soapActionOf(header: string | string[] | undefined): string | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined) return undefined;
  const s = v.trim().replace(/^"(.*)"$/, '$1').trim();
  if (!s) return undefined;
  // Some clients send a URI ending with the operation name.
  return s.split(/[/#]/).pop() || undefined;
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Content of an element: text, nested elements (strings already XML) or nothing. */
export type XmlContent = string | number | boolean | null | undefined | XmlNode | XmlContent[];

/** Already-serialised XML (not escaped again). */
export class XmlNode {
  constructor(readonly xml: string) {}
}

function render(content: XmlContent): string {
  if (content === null || content === undefined) return '';
  if (content instanceof XmlNode) return content.xml;
  if (Array.isArray(content)) return content.map(render).join('');
  return escapeXml(String(content));
}

/**
 * `<name>content</name>`; omitted entirely (empty string) when content is null/undefined, so
 * optional elements can be written inline.
 */
export function el(name: string, content: XmlContent, attrs = ''): XmlNode | undefined {
  if (content === null || content === undefined) return undefined;
  return new XmlNode(`<${name}${attrs}>${render(content)}</${name}>`);
}

export function xml(content: XmlContent): string {
  return render(content);
}

/** A SOAP 1.1 envelope around a payload (already XML). */
export function soapEnvelope(payload: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP_ENV_NS}"><soapenv:Header/><soapenv:Body>${payload}</soapenv:Body></soapenv:Envelope>`;
}

/** A SOAP 1.1 Fault (for messages that cannot be answered with an operation response). */
export function soapFault(faultCode: 'Client' | 'Server' | 'VersionMismatch', faultString: string, detail?: string): string {
  return soapEnvelope(
    `<soapenv:Fault><faultcode>soapenv:${faultCode}</faultcode><faultstring>${escapeXml(faultString)}</faultstring>${
      detail ? `<detail>${detail}</detail>` : ''
    }</soapenv:Fault>`,
  );
}

/** Truncates to at most `max` characters (XSD length limits on free text). */
export function clip(s: string | null | undefined, max: number): string | undefined {
  if (s === null || s === undefined) return undefined;
  const t = s.trim();
  if (!t) return undefined;
  return [...t].length > max ? [...t].slice(0, max).join('') : t;
}

/** "12.50" → 1250 cents; undefined for anything not matching stAmount. */
export function amountToCents(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d+)\.(\d{2})$/.exec(s.trim());
  if (!m) return undefined;
  const cents = Number(m[1]) * 100 + Number(m[2]);
  return Number.isSafeInteger(cents) ? cents : undefined;
}
