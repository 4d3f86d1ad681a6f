/**
 * Reusable XSD validation on libxml2-wasm.
 *
 * - A schema is loaded from a main XSD file on disk; its relative `xs:import` / `xs:include`
 *   are resolved from disk next to the importing file; absolute URLs are never fetched: they must
 *   be mapped to a local file (`urlMap`; `http://www.w3.org/2001/xml.xsd` is mapped by default to
 *   an `xml.xsd` next to the main schema when present). Only `.xsd` files are served to libxml2.
 * - The compiled schema is cached per (path, urlMap) for the life of the process.
 * - Instance documents are checked with {@link assertXmlTextIsSafe} (size limit, no DOCTYPE /
 *   entities) and parsed with NONET + NO_XXE, then validated.
 *
 * ```ts
 * const md = getXsdSchema('schemas/spid/xsd/saml-schema-metadata-sp-spid-av29.xsd');
 * const { valid, errors } = md.validate(xml);
 * ```
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  ParseOption,
  XmlDocument,
  XmlParseError,
  XmlValidateError,
  XsdValidator,
  xmlRegisterInputProvider,
} from 'libxml2-wasm';
import { assertXmlTextIsSafe, DEFAULT_MAX_XML_BYTES, XmlSafeParseError } from './safe-parse.js';

/** Result of {@link XsdSchema.validate}. */
export interface XsdValidationResult {
  valid: boolean;
  /** Human-readable problems, `line:col message`; empty when valid. */
  errors: string[];
}

export interface XsdSchemaOptions {
  /** Absolute URL (as written in schemaLocation) → local file path. */
  urlMap?: Record<string, string>;
  /** Size limit for validated documents in bytes. Default 1 MiB. */
  maxBytes?: number;
}

/** A compiled schema. */
export interface XsdSchema {
  /** Absolute path of the main XSD. */
  readonly path: string;
  /** Validates an XML document (string or UTF-8 bytes). Never throws for bad input. */
  validate(xml: string | Uint8Array): XsdValidationResult;
  /** Validates a document already parsed by libxml2 (e.g. by lite-dom.ts); the caller disposes it. */
  validateDocument(doc: XmlDocument): XsdValidationResult;
}

const PARSE_OPTIONS = ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE;

// ---- input provider (registered once; serves only .xsd files, only while a schema compiles) ----

interface LoadContext {
  urlMap: Record<string, string>;
}
let activeLoad: LoadContext | null = null;
const openFiles = new Map<number, { buf: Buffer; pos: number }>();
let nextFd = 1;
let providerRegistered = false;

function resolveSchemaFile(name: string): string | null {
  if (!activeLoad) return null;
  const mapped = activeLoad.urlMap[name];
  if (mapped) return mapped;
  let p: string;
  if (name.startsWith('file://')) {
    try {
      p = fileURLToPath(name);
    } catch {
      return null;
    }
  } else if (path.isAbsolute(name)) {
    p = name;
  } else {
    return null; // http(s), ftp, relative without base: never served
  }
  return p.toLowerCase().endsWith('.xsd') ? p : null;
}

function ensureProvider(): void {
  if (providerRegistered) return;
  providerRegistered = xmlRegisterInputProvider({
    // Claim every resource while a schema compiles, so nothing falls through to another loader.
    match: () => activeLoad !== null,
    open: (name) => {
      const p = resolveSchemaFile(name);
      if (!p) return undefined;
      try {
        const buf = fs.readFileSync(p);
        const fd = nextFd++;
        openFiles.set(fd, { buf, pos: 0 });
        return fd;
      } catch {
        return undefined;
      }
    },
    read: (fd, out) => {
      const f = openFiles.get(fd as unknown as number);
      if (!f) return -1;
      const n = Math.min(out.byteLength, f.buf.length - f.pos);
      f.buf.copy(out, 0, f.pos, f.pos + n);
      f.pos += n;
      return n;
    },
    close: (fd) => openFiles.delete(fd as unknown as number),
  });
  if (!providerRegistered) throw new Error('libxml2-wasm: cannot register the XSD input provider');
}

function formatDetails(e: unknown): string[] {
  const details = (e as { details?: Array<{ message: string; line?: number; col?: number }> }).details;
  if (Array.isArray(details) && details.length > 0) {
    return details.map((d) => `${d.line ?? 0}:${d.col ?? 0} ${d.message.trim()}`);
  }
  return [e instanceof Error ? e.message.trim() : String(e)];
}

function compile(mainPath: string, urlMap: Record<string, string>): XsdValidator {
  ensureProvider();
  const buf = fs.readFileSync(mainPath);
  activeLoad = { urlMap };
  let doc: XmlDocument | undefined;
  try {
    doc = XmlDocument.fromBuffer(buf, { url: pathToFileURL(mainPath).href, option: PARSE_OPTIONS });
    return XsdValidator.fromDoc(doc);
  } catch (e) {
    throw new Error(`cannot compile XSD ${mainPath}: ${formatDetails(e).join('; ')}`);
  } finally {
    activeLoad = null;
    doc?.dispose();
  }
}

class CompiledSchema implements XsdSchema {
  constructor(
    readonly path: string,
    private readonly validator: XsdValidator,
    private readonly maxBytes: number,
  ) {}

  validate(xml: string | Uint8Array): XsdValidationResult {
    let text: string;
    try {
      text = assertXmlTextIsSafe(xml, { maxBytes: this.maxBytes });
    } catch (e) {
      if (e instanceof XmlSafeParseError) return { valid: false, errors: [`${e.code}: ${e.message}`] };
      throw e;
    }
    let doc: XmlDocument | undefined;
    try {
      doc = XmlDocument.fromString(text, { option: PARSE_OPTIONS });
    } catch (e) {
      return { valid: false, errors: formatDetails(e) };
    }
    try {
      return this.validateDocument(doc);
    } finally {
      doc.dispose();
    }
  }

  validateDocument(doc: XmlDocument): XsdValidationResult {
    try {
      this.validator.validate(doc);
      return { valid: true, errors: [] };
    } catch (e) {
      return { valid: false, errors: formatDetails(e) };
    }
  }
}

const cache = new Map<string, XsdSchema>();

/**
 * A temporary folder for schema files made at run time (an entry schema importing official ones,
 * a patched copy), removed when the process exits: every process used to leave one in /tmp.
 */
export function schemaScratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Loads (once) and returns the compiled schema whose main file is `xsdPath`.
 * Throws if the schema itself cannot be compiled (a programming/configuration error).
 */
export function getXsdSchema(xsdPath: string, options: XsdSchemaOptions = {}): XsdSchema {
  const abs = path.resolve(xsdPath);
  const urlMap: Record<string, string> = { ...options.urlMap };
  const localXml = path.join(path.dirname(abs), 'xml.xsd');
  if (!urlMap['http://www.w3.org/2001/xml.xsd'] && fs.existsSync(localXml)) {
    urlMap['http://www.w3.org/2001/xml.xsd'] = localXml;
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const key = JSON.stringify([abs, urlMap, maxBytes]);
  let schema = cache.get(key);
  if (!schema) {
    schema = new CompiledSchema(abs, compile(abs, urlMap), maxBytes);
    cache.set(key, schema);
  }
  return schema;
}

/** Shorthand: `getXsdSchema(xsdPath, options).validate(xml)`. */
export function validateXml(xsdPath: string, xml: string | Uint8Array, options?: XsdSchemaOptions): XsdValidationResult {
  return getXsdSchema(xsdPath, options).validate(xml);
}
