/**
 * Validation of a SInCRO v2 PIndex (built by pindex.ts, or read back from a PdA):
 * 1. the whole index against the official UNI 11386:2020 schema
 *    (schemas/conservazione/Unisincro_PIndex_v2.0.xsd, unmodified);
 * 2. each MoreInfo/EmbeddedMetadata against the schema its `xmlSchema` names: that XSD's
 *    `xs:any processContents="lax"` skips elements it has no declaration for, so the ParER
 *    MoreInfo elements are validated on their own, against their own unmodified XSDs (the two
 *    ParER files both declare `TokenNonVuotoType` in no namespace, so they cannot share one
 *    schema set); the Allegato 5 block (no official XSD shipped) is checked for its required
 *    elements, in order.
 * Every MoreInfo must name a known schema.
 *
 * One libxml2 parse serves everything (the XSD validation and the walk); the ParER blocks of one
 * schema are validated together, as children of one `Lotto` document whose schema (ours, in
 * schemas/wrappers/) includes the official XSD unmodified — one validation instead of one per
 * file (a PdA of 5000 documents has 10 000 of them). Only when a batch is invalid are its blocks
 * validated one by one, to say which file each error belongs to.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParseOption, XmlDocument, XmlElement, type XmlTreeNode } from 'libxml2-wasm';
import { getXsdSchema, type XsdValidationResult } from '../../xml/xsd.js';
import { assertXmlTextIsSafe, XmlSafeParseError } from '../../xml/safe-parse.js';
import { ALLEGATO5_SCHEMA, MOREINFO_FILE_SCHEMA, MOREINFO_PVOLUME_SCHEMA, SINCRO_NS } from './pindex.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CONSERVAZIONE_SCHEMA_DIR = path.resolve(here, '../../../schemas/conservazione');
export const PINDEX_XSD = path.join(CONSERVAZIONE_SCHEMA_DIR, 'Unisincro_PIndex_v2.0.xsd');
const WRAPPER_DIR = path.resolve(here, '../../../schemas/wrappers/conservazione');

/** A PdA of a few thousand files stays well below this. */
export const MAX_PINDEX_BYTES = 32 * 1024 * 1024;

const PARSE_OPTIONS = ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE;

/** MoreInfo schema → [official XSD, batch wrapper XSD]. */
const MOREINFO_XSD: Record<string, [string, string]> = {
  [MOREINFO_PVOLUME_SCHEMA]: [path.join(CONSERVAZIONE_SCHEMA_DIR, 'ParER_Unisincro_MoreInfoPVolume_v2.0.xsd'), path.join(WRAPPER_DIR, 'ParER_Unisincro_MoreInfoPVolume_v2.0.batch.xsd')],
  [MOREINFO_FILE_SCHEMA]: [path.join(CONSERVAZIONE_SCHEMA_DIR, 'ParER_Unisincro_MoreInfoFile_v1.1.xsd'), path.join(WRAPPER_DIR, 'ParER_Unisincro_MoreInfoFile_v1.1.batch.xsd')],
};

/** Allegato 5 elements that must be present, in this order (spec digest §5). */
const ALLEGATO5_REQUIRED = [
  'IdDoc',
  'ModalitaDiFormazione',
  'TipologiaDocumentale',
  'DatiDiRegistrazione',
  'Soggetti',
  'ChiaveDescrittiva',
  'Allegati',
  'Riservato',
  'IdentificativoDelFormato',
  'Verifica',
  'NomeDelDocumento',
  'VersioneDelDocumento',
];

function elementChildren(e: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (let c: XmlTreeNode | null = e.firstChild; c; c = c.next) if (c instanceof XmlElement) out.push(c);
  return out;
}

/** Path of an element for messages (`PIndex/FileGroup[ID]/File[ID]/MoreInfo`); computed only for errors. */
function where(e: XmlElement): string {
  const parts: string[] = [];
  for (let n: XmlElement | null = e; n; n = n.parent) {
    const idEl = elementChildren(n).find((c) => c.name === 'ID' && c.namespaceUri === SINCRO_NS);
    parts.unshift(idEl ? `${n.name}[${idEl.content}]` : n.name);
  }
  return parts.join('/');
}

function checkAllegato5(doc: XmlElement, at: () => string): string[] {
  if (doc.name !== 'DocumentoAmministrativoInformatico' || doc.namespaceUri) {
    return [`${at()}: atteso DocumentoAmministrativoInformatico, trovato ${doc.name}`];
  }
  const children = elementChildren(doc);
  const names = children.map((c) => c.name);
  const errors: string[] = [];
  let last = -1;
  for (const req of ALLEGATO5_REQUIRED) {
    const i = names.indexOf(req);
    if (i < 0) errors.push(`${at()}: manca l'elemento obbligatorio ${req} (Allegato 5)`);
    else if (i < last) errors.push(`${at()}: ${req} fuori ordine (Allegato 5)`);
    else last = i;
  }
  const riservato = children.find((c) => c.name === 'Riservato')?.content;
  if (riservato !== undefined && !['true', 'false'].includes(riservato)) errors.push(`${at()}: Riservato non booleano`);
  return errors;
}

function xmlSchemaOf(mi: XmlElement): string {
  for (const a of mi.attrs) if (a.name === 'xmlSchema' && a.namespaceUri === SINCRO_NS) return a.content;
  return '';
}

/** Validates a PIndex; never throws for bad input. */
export function validatePIndex(xml: string | Uint8Array): XsdValidationResult {
  let text: string;
  try {
    text = assertXmlTextIsSafe(xml, { maxBytes: MAX_PINDEX_BYTES });
  } catch (e) {
    if (e instanceof XmlSafeParseError) return { valid: false, errors: [`${e.code}: ${e.message}`] };
    throw e;
  }
  let doc: XmlDocument;
  try {
    // From bytes: libxml2-wasm's string path encodes UTF-8 in JavaScript, a character at a time
    // (a third of the parse of a 5000-document index), where Buffer.from copies natively.
    doc = XmlDocument.fromBuffer(typeof xml === 'string' ? Buffer.from(text, 'utf8') : xml, { option: PARSE_OPTIONS });
  } catch (e) {
    const details = (e as { details?: Array<{ message: string; line?: number; col?: number }> }).details;
    return { valid: false, errors: details?.length ? details.map((d) => `${d.line ?? 0}:${d.col ?? 0} ${d.message.trim()}`) : [String((e as Error).message)] };
  }
  try {
    const main = getXsdSchema(PINDEX_XSD, { maxBytes: MAX_PINDEX_BYTES }).validateDocument(doc);
    if (!main.valid) return main;
    const errors: string[] = [];
    const batches = new Map<string, { mi: XmlElement; xml: string }[]>();
    for (const node of doc.find('//s:MoreInfo', { s: SINCRO_NS })) {
      const mi = node as XmlElement;
      const at = () => where(mi);
      const schema = xmlSchemaOf(mi);
      const embedded = elementChildren(mi)[0]!;
      if (embedded.name !== 'EmbeddedMetadata') {
        errors.push(`${at()}: ExternalMetadata non gestiti`);
        continue;
      }
      const content = elementChildren(embedded)[0]!;
      if (schema === ALLEGATO5_SCHEMA) {
        errors.push(...checkAllegato5(content, at));
        continue;
      }
      if (!MOREINFO_XSD[schema]) {
        errors.push(`${at()}: schema MoreInfo sconosciuto "${schema}"`);
        continue;
      }
      let list = batches.get(schema);
      if (!list) batches.set(schema, (list = []));
      list.push({ mi, xml: content.toString() });
    }
    for (const [schema, list] of batches) {
      const [officialXsd, batchXsd] = MOREINFO_XSD[schema]!;
      const batch = getXsdSchema(batchXsd, { maxBytes: MAX_PINDEX_BYTES }).validate(`<Lotto>${list.map((x) => x.xml).join('')}</Lotto>`);
      if (batch.valid) continue;
      // Which blocks: one by one against the official schema (rare: our builder writes valid ones).
      const single = getXsdSchema(officialXsd, { maxBytes: MAX_PINDEX_BYTES });
      for (const x of list) {
        const r = single.validate(x.xml);
        if (!r.valid) errors.push(...r.errors.map((e) => `${where(x.mi)} (${schema}): ${e}`));
      }
      if (errors.length === 0) errors.push(...batch.errors.map((e) => `MoreInfo (${schema}): ${e}`));
    }
    return { valid: errors.length === 0, errors };
  } finally {
    doc.dispose();
  }
}
