/**
 * Untrusted XML parsed by libxml2 (wasm, the parser that also validates against the XSDs) into a
 * small read-only tree with the DOM properties our SOAP readers use: nodeType, localName,
 * namespaceURI, firstChild, nextSibling, textContent, documentElement. For the station's hot
 * path: one C parse serves both the XSD validation and the reading (xmldom took ~3x longer per
 * message than libxml2 and the message was parsed twice). The same rules as safe-parse.ts apply
 * (size limit, UTF-8 only, no DOCTYPE or markup declarations; then NONET and no external
 * entities in libxml2); every failure is an XmlSafeParseError. xmldom stays where a full DOM is
 * needed (SAML and XML signatures).
 */
import { ParseOption, XmlCData, XmlDocument, XmlElement, XmlText, type XmlTreeNode } from 'libxml2-wasm';
import { assertXmlTextIsSafe, XmlSafeParseError, type SafeParseOptions } from './safe-parse.js';

const PARSE_OPTIONS = ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE;

class LiteNode {
  firstChild: LiteNode | null = null;
  nextSibling: LiteNode | null = null;
  #text: string | undefined;
  constructor(
    readonly nodeType: 1 | 3 | 4,
    readonly localName: string | null,
    readonly namespaceURI: string | null,
    text?: string,
  ) {
    this.#text = text;
  }

  /** Concatenated text of the descendants (as the DOM's textContent), computed once when asked. */
  get textContent(): string {
    if (this.#text === undefined) {
      let s = '';
      for (let c = this.firstChild; c; c = c.nextSibling) s += c.textContent;
      this.#text = s;
    }
    return this.#text;
  }
}

function convert(el: XmlElement): LiteNode {
  const out = new LiteNode(1, el.name, el.namespaceUri || null);
  let prev: LiteNode | null = null;
  for (let c: XmlTreeNode | null = el.firstChild; c; c = c.next) {
    let node: LiteNode | null = null;
    if (c instanceof XmlElement) node = convert(c);
    else if (c instanceof XmlText) node = new LiteNode(3, null, null, c.content);
    else if (c instanceof XmlCData) node = new LiteNode(4, null, null, c.content);
    // Comments and processing instructions are not part of the data (nor of textContent).
    if (!node) continue;
    if (prev) prev.nextSibling = node;
    else out.firstChild = node;
    prev = node;
  }
  return out;
}

export interface LiteDocument {
  /** The root element, typed as a DOM Element for the readers (only the properties above exist). */
  documentElement: Element;
  /** The libxml2 document, for XSD validation of the very same parse; call dispose() when done. */
  native: XmlDocument;
  dispose(): void;
}

/** Parses untrusted XML; throws {@link XmlSafeParseError}. The caller must dispose() the result. */
export function parseXmlLite(input: string | Uint8Array, options: SafeParseOptions = {}): LiteDocument {
  const text = assertXmlTextIsSafe(input, options);
  let native: XmlDocument;
  try {
    native = XmlDocument.fromString(text, { option: PARSE_OPTIONS });
  } catch (e) {
    const detail = (e as { details?: { message: string }[] }).details?.[0]?.message ?? (e as Error).message;
    throw new XmlSafeParseError('MALFORMED', `malformed XML: ${String(detail).trim()}`);
  }
  try {
    const documentElement = convert(native.root) as unknown as Element;
    return { documentElement, native, dispose: () => native.dispose() };
  } catch (e) {
    native.dispose();
    throw e;
  }
}
