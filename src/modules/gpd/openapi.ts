/**
 * The GPD (Gestione Posizioni Debitorie) contract, read at load time from the official, unmodified
 * `schemas/pagopa/openapi/gpd.json` (OpenAPI 3.0.1): each route's querystring, params, body and
 * response schemas are taken from its operation, with the `$ref`s to `components` inlined, so
 * nothing is restated by hand. What Fastify's Ajv cannot take as written is adapted:
 * - `example`, `readOnly` and the `int32`/`int64` formats are dropped (annotations / integer ranges
 *   Ajv does not know);
 * - the path patterns `[\w*\h-]+` use PCRE's `\h` (horizontal space), written `[\w* \t-]+` here;
 * - request `date-time` values are accepted with or without a zone (GPD clients built on Java's
 *   LocalDateTime send `2026-12-31T23:59:59.999`); answers carry a zone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pagopaSpecDir } from '../pagopa/spec-files.js';

export const gpdOpenApiFile = () => path.join(pagopaSpecDir(), 'openapi', 'gpd.json');

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Json;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: { 'application/json': { schema: Json } } };
  responses: Record<string, { content?: { 'application/json'?: { schema?: Json } } }>;
}

export interface GpdDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json> };
}

export type GpdOperationId =
  | 'getOrganizationDebtPositions'
  | 'createPosition'
  | 'updateTransferIbanMassive'
  | 'getOrganizationDebtPositionByIUPD'
  | 'updatePosition'
  | 'deletePosition'
  | 'invalidatePosition'
  | 'publishPosition';

const LENIENT_DATE_TIME = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$';

/** Deep copy with `$ref`s inlined and the adaptations of the module comment. */
function adapt(doc: GpdDocument, node: unknown, mode: 'request' | 'response'): unknown {
  if (Array.isArray(node)) return node.map((n) => adapt(doc, n, mode));
  if (!node || typeof node !== 'object') return node;
  const src = node as Json;
  if (typeof src.$ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec(src.$ref)?.[1];
    if (!name || !doc.components.schemas[name]) throw new Error(`gpd.json: unresolved $ref ${src.$ref}`);
    return adapt(doc, doc.components.schemas[name], mode);
  }
  const out: Json = {};
  for (const [key, value] of Object.entries(src)) {
    if (key === 'example' || key === 'readOnly') continue;
    if (key === 'format' && (value === 'int32' || value === 'int64')) continue;
    if (key === 'format' && value === 'date-time' && mode === 'request') {
      out.pattern = LENIENT_DATE_TIME;
      continue;
    }
    if (key === 'pattern' && typeof value === 'string') {
      out.pattern = value.replace(/\\h/g, ' \\t');
      continue;
    }
    out[key] = key === 'properties' ? Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, adapt(doc, v, mode)])) : adapt(doc, value, mode);
  }
  return out;
}

let cachedDoc: GpdDocument | undefined;

export function loadGpdDocument(): GpdDocument {
  cachedDoc ??= JSON.parse(fs.readFileSync(gpdOpenApiFile(), 'utf8')) as GpdDocument;
  return cachedDoc;
}

/** The operation with this id, with its path template and method. */
export function gpdOperation(id: GpdOperationId): { path: string; method: string; op: Operation } {
  const doc = loadGpdDocument();
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (op && typeof op === 'object' && (op as Operation).operationId === id) return { path: p, method, op: op as Operation };
    }
  }
  throw new Error(`gpd.json: no operation ${id}`);
}

/** A component schema, adapted for answers (see the module comment). */
export function gpdComponent(name: string): Json {
  const doc = loadGpdDocument();
  return adapt(doc, { $ref: `#/components/schemas/${name}` }, 'response') as Json;
}

/** Problem details body of the 401 and 403 answers (the document's example: statusCode + message). */
const GATEWAY_ERROR = { type: 'object', properties: { statusCode: { type: 'integer' }, message: { type: 'string' } } };

/**
 * The Fastify route schema of an operation: params and querystring from its parameters, body from
 * its request body, and each documented answer's JSON schema (401/403 as the gateway's body).
 */
export function gpdRouteSchema(id: GpdOperationId): Json {
  const doc = loadGpdDocument();
  const { op } = gpdOperation(id);
  const schema: Json = { tags: ['GPD (Gestione Posizioni Debitorie)'], operationId: id, security: [{ apiKey: [] }] };
  for (const where of ['path', 'query'] as const) {
    const params = (op.parameters ?? []).filter((p) => p.in === where);
    if (params.length === 0) continue;
    schema[where === 'path' ? 'params' : 'querystring'] = {
      type: 'object',
      properties: Object.fromEntries(params.map((p) => [p.name, adapt(doc, p.schema, 'request')])),
      required: params.filter((p) => p.required).map((p) => p.name),
    };
  }
  const body = op.requestBody?.content['application/json'].schema;
  if (body) schema.body = adapt(doc, body, 'request');
  const response: Json = {};
  for (const [status, r] of Object.entries(op.responses)) {
    const s = r.content?.['application/json']?.schema;
    if (s) response[status] = adapt(doc, s, 'response');
    else if (status === '401' || status === '403') response[status] = GATEWAY_ERROR;
  }
  schema.response = response;
  return schema;
}
