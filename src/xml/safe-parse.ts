/**
 * Safe parsing of untrusted XML (SAML messages, SOAP bodies, metadata) with @xmldom/xmldom.
 *
 * Rules: a size limit, UTF-8 only, no DOCTYPE / ENTITY / any markup declaration (so no DTD, no
 * entity expansion, no external entities, no "billion laughs"), every parser error or warning is
 * fatal. Failures throw {@link XmlSafeParseError} with a stable `code`.
 */
import { DOMParser } from '@xmldom/xmldom';

/** Default size limit for untrusted XML: 1 MiB. */
export const DEFAULT_MAX_XML_BYTES = 1024 * 1024;

export type XmlSafeParseErrorCode = 'TOO_LARGE' | 'DTD_FORBIDDEN' | 'ENCODING' | 'MALFORMED' | 'EMPTY';

/** Thrown by {@link parseXmlSafely} and {@link assertXmlTextIsSafe}. */
export class XmlSafeParseError extends Error {
  readonly code: XmlSafeParseErrorCode;
  constructor(code: XmlSafeParseErrorCode, message: string) {
    super(message);
    this.name = 'XmlSafeParseError';
    this.code = code;
  }
}

export interface SafeParseOptions {
  /** Maximum size in bytes (UTF-8). Default {@link DEFAULT_MAX_XML_BYTES}. */
  maxBytes?: number;
}

/**
 * Decodes `input` as UTF-8 (strict) and checks size and the absence of markup declarations.
 * Returns the text. Shared by the DOM parser below and by the XSD validator.
 */
export function assertXmlTextIsSafe(input: string | Uint8Array, options: SafeParseOptions = {}): string {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  let text: string;
  if (typeof input === 'string') {
    // Cheap bound first (a UTF-16 unit is at most 3 UTF-8 bytes), then the exact one.
    if (input.length > maxBytes || Buffer.byteLength(input, 'utf8') > maxBytes) {
      throw new XmlSafeParseError('TOO_LARGE', `XML larger than ${maxBytes} bytes`);
    }
    text = input;
  } else {
    if (input.byteLength > maxBytes) {
      throw new XmlSafeParseError('TOO_LARGE', `XML larger than ${maxBytes} bytes`);
    }
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new XmlSafeParseError('ENCODING', 'XML is not valid UTF-8');
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new XmlSafeParseError('EMPTY', 'empty XML');
  // Any "<!" that does not open a comment or a CDATA section is a markup declaration
  // (DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION) or a conditional section: refuse them all.
  if (/<!(?!--|\[CDATA\[)/.test(text)) {
    throw new XmlSafeParseError('DTD_FORBIDDEN', 'DOCTYPE and markup declarations are not allowed');
  }
  const decl = /^\s*<\?xml[^?]*encoding\s*=\s*["']([^"']+)["']/i.exec(text);
  if (decl && !/^utf-?8$/i.test(decl[1] ?? '')) {
    throw new XmlSafeParseError('ENCODING', `unsupported declared encoding ${decl[1]}`);
  }
  return text;
}

/**
 * Parses untrusted XML into an xmldom Document. Throws {@link XmlSafeParseError} on any problem.
 * The document has exactly one root element (xmldom enforces it; we check again).
 */
export function parseXmlSafely(input: string | Uint8Array, options: SafeParseOptions = {}): Document {
  const text = assertXmlTextIsSafe(input, options);
  const problems: string[] = [];
  let doc: Document;
  try {
    const parser = new DOMParser({
      onError: (level: string, message: string) => {
        problems.push(`${level}: ${message}`);
        // Turn every report into a ParseError: no recovery from malformed input.
        throw new Error(message);
      },
    });
    doc = parser.parseFromString(text, 'text/xml') as unknown as Document;
  } catch (e) {
    const msg = problems[0] ?? (e instanceof Error ? e.message : String(e));
    throw new XmlSafeParseError('MALFORMED', `malformed XML: ${msg}`);
  }
  if (problems.length > 0) throw new XmlSafeParseError('MALFORMED', `malformed XML: ${problems[0]}`);
  const root = doc.documentElement;
  if (!root) throw new XmlSafeParseError('MALFORMED', 'no root element');
  for (let n = doc.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 10 /* DOCUMENT_TYPE_NODE */) {
      throw new XmlSafeParseError('DTD_FORBIDDEN', 'DOCTYPE is not allowed');
    }
  }
  return doc;
}
