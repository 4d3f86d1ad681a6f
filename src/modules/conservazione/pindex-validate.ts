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
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLSerializer, type Node as XmldomNode } from '@xmldom/xmldom';
import { getXsdSchema, type XsdValidationResult } from '../../xml/xsd.js';
import { parseXmlSafely } from '../../xml/safe-parse.js';
import { ALLEGATO5_SCHEMA, MOREINFO_FILE_SCHEMA, MOREINFO_PVOLUME_SCHEMA, SINCRO_NS } from './pindex.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CONSERVAZIONE_SCHEMA_DIR = path.resolve(here, '../../../schemas/conservazione');
export const PINDEX_XSD = path.join(CONSERVAZIONE_SCHEMA_DIR, 'Unisincro_PIndex_v2.0.xsd');

/** A PdA of a few thousand files stays well below this. */
export const MAX_PINDEX_BYTES = 32 * 1024 * 1024;

const MOREINFO_XSD: Record<string, string> = {
  [MOREINFO_PVOLUME_SCHEMA]: path.join(CONSERVAZIONE_SCHEMA_DIR, 'ParER_Unisincro_MoreInfoPVolume_v2.0.xsd'),
  [MOREINFO_FILE_SCHEMA]: path.join(CONSERVAZIONE_SCHEMA_DIR, 'ParER_Unisincro_MoreInfoFile_v1.1.xsd'),
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

function elementChildren(e: Element): Element[] {
  const out: Element[] = [];
  for (let c = e.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) out.push(c as Element);
  return out;
}

function where(e: Element): string {
  const parts: string[] = [];
  for (let n: Node | null = e; n && n.nodeType === 1; n = n.parentNode) {
    const el = n as Element;
    const idEl = elementChildren(el).find((c) => c.localName === 'ID' && c.namespaceURI === SINCRO_NS);
    parts.unshift(idEl ? `${el.localName}[${idEl.textContent}]` : el.localName!);
  }
  return parts.join('/');
}

function checkAllegato5(doc: Element, at: string): string[] {
  if (doc.localName !== 'DocumentoAmministrativoInformatico' || doc.namespaceURI) {
    return [`${at}: atteso DocumentoAmministrativoInformatico, trovato ${doc.localName}`];
  }
  const names = elementChildren(doc).map((c) => c.localName);
  const errors: string[] = [];
  let last = -1;
  for (const req of ALLEGATO5_REQUIRED) {
    const i = names.indexOf(req);
    if (i < 0) errors.push(`${at}: manca l'elemento obbligatorio ${req} (Allegato 5)`);
    else if (i < last) errors.push(`${at}: ${req} fuori ordine (Allegato 5)`);
    else last = i;
  }
  const riservato = elementChildren(doc).find((c) => c.localName === 'Riservato')?.textContent;
  if (riservato !== undefined && !['true', 'false'].includes(riservato)) errors.push(`${at}: Riservato non booleano`);
  return errors;
}

/** Validates a PIndex; never throws for bad input. */
export function validatePIndex(xml: string | Uint8Array): XsdValidationResult {
  const main = getXsdSchema(PINDEX_XSD, { maxBytes: MAX_PINDEX_BYTES }).validate(xml);
  if (!main.valid) return main;
  const errors: string[] = [];
  const doc = parseXmlSafely(xml, { maxBytes: MAX_PINDEX_BYTES });
  const serializer = new XMLSerializer();
  const moreInfos = doc.getElementsByTagNameNS(SINCRO_NS, 'MoreInfo');
  for (let i = 0; i < moreInfos.length; i++) {
    const mi = moreInfos.item(i)!;
    const at = where(mi);
    const schema = mi.getAttributeNS(SINCRO_NS, 'xmlSchema') ?? '';
    const embedded = elementChildren(mi)[0]!;
    if (embedded.localName !== 'EmbeddedMetadata') {
      errors.push(`${at}: ExternalMetadata non gestiti`);
      continue;
    }
    const content = elementChildren(embedded)[0]!;
    if (schema === ALLEGATO5_SCHEMA) {
      errors.push(...checkAllegato5(content, at));
      continue;
    }
    const xsd = MOREINFO_XSD[schema];
    if (!xsd) {
      errors.push(`${at}: schema MoreInfo sconosciuto "${schema}"`);
      continue;
    }
    const r = getXsdSchema(xsd, { maxBytes: MAX_PINDEX_BYTES }).validate(serializer.serializeToString(content as unknown as XmldomNode));
    errors.push(...r.errors.map((e) => `${at} (${schema}): ${e}`));
  }
  return { valid: errors.length === 0, errors };
}
