/**
 * Where the official pagoPA WSDL/XSD files are (the contract, kept unmodified), and the compiled
 * schemas built from them. Default: the unmodified copies shipped in `schemas/pagopa` (see
 * schemas/README.md); `PAGOPA_SPEC_DIR` overrides it.
 *
 * Whole SOAP messages are validated in one pass against a small generated entry schema that
 * imports the official SOAP 1.1 envelope schema (whose Body content is processed "lax") and the
 * official paForNode.xsd / nodeForPa.xsd: the operation element inside Body is then validated
 * against its global declaration whatever namespace prefix the sender used.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getXsdSchema, schemaScratchDir, type XsdSchema } from '../../xml/xsd.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export function pagopaSpecDir(): string {
  return process.env.PAGOPA_SPEC_DIR ?? path.resolve(here, '../../../schemas/pagopa');
}

export const specFile = {
  paForNodeXsd: () => path.join(pagopaSpecDir(), 'wsdl', 'xsd', 'paForNode.xsd'),
  nodeForPaXsd: () => path.join(pagopaSpecDir(), 'wsdl', 'xsd', 'nodeForPa.xsd'),
  nodeForPaWsdl: () => path.join(pagopaSpecDir(), 'wsdl', 'nodeForPa.wsdl'),
  envelopeXsd: () => path.join(pagopaSpecDir(), 'xsd-common', 'envelope.xsd'),
  flussoXsd: () => path.join(pagopaSpecDir(), 'xsd-common', 'FlussoRiversamento_1_0_4.xsd'),
};

/** Max size of a SOAP message we accept or validate (a paSendRTV2 with 5 stamps is ~20 KB). */
export const MAX_SOAP_BYTES = 512 * 1024;

let entryDir: string | null = null;

function entrySchema(name: string, imports: { ns: string; file: string }[]): string {
  entryDir ??= schemaScratchDir('sael-pagopa-xsd-');
  const file = path.join(entryDir, `${name}.xsd`);
  const body = imports
    .map((i) => `  <xs:import namespace="${i.ns}" schemaLocation="${pathToFileURL(i.file).href}"/>`)
    .join('\n');
  fs.writeFileSync(
    file,
    `<?xml version="1.0" encoding="UTF-8"?>\n<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:sael-pay:${name}">\n${body}\n</xs:schema>\n`,
  );
  return file;
}

export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const PA_FOR_NODE_NS = 'http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd';
export const NODE_FOR_PA_NS = 'http://ws.pagamenti.telematici.gov/';
export const FLUSSO_NS = 'http://www.digitpa.gov.it/schemas/2011/Pagamenti/';

let paForNodeSoap: XsdSchema | null = null;
let nodeForPaSoap: XsdSchema | null = null;

/** SOAP envelope + paForNode.xsd (requests from the node and our responses). */
export function paForNodeSoapSchema(): XsdSchema {
  paForNodeSoap ??= getXsdSchema(
    entrySchema('paForNode-soap', [
      { ns: SOAP_ENV_NS, file: specFile.envelopeXsd() },
      { ns: PA_FOR_NODE_NS, file: specFile.paForNodeXsd() },
    ]),
    { maxBytes: MAX_SOAP_BYTES },
  );
  return paForNodeSoap;
}

/** SOAP envelope + nodeForPa.xsd (nodoChiedi* requests and responses). */
export function nodeForPaSoapSchema(): XsdSchema {
  nodeForPaSoap ??= getXsdSchema(
    entrySchema('nodeForPa-soap', [
      { ns: SOAP_ENV_NS, file: specFile.envelopeXsd() },
      { ns: NODE_FOR_PA_NS, file: specFile.nodeForPaXsd() },
    ]),
    { maxBytes: 8 * 1024 * 1024 },
  );
  return nodeForPaSoap;
}

/** FlussoRiversamento 1.0.4 (decoded xmlRendicontazione). */
export function flussoSchema(): XsdSchema {
  return getXsdSchema(specFile.flussoXsd(), { maxBytes: 8 * 1024 * 1024 });
}
