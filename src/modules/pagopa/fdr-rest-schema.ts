/**
 * The FdR 3 organizations API contract, read from the official, unmodified
 * `schemas/pagopa/openapi/fdr_organization.json` (OpenAPI 3.0.1): its `components` are one schema
 * (id `fdr`) in Ajv (strict mode off for `example`; the formats it names — date-time, date, int32,
 * int64, double — from ajv-formats), and each operation's parameters, security and response schemas
 * are read from `paths`, so nothing is restated by hand. The REST client checks every answer with
 * it; the simulator checks every request with it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { pagopaSpecDir } from './spec-files.js';

// CommonJS default export as NodeNext sees it (as config.ts does).
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export const fdrOrganizationOpenApiFile = () => path.join(pagopaSpecDir(), 'openapi', 'fdr_organization.json');

export type FdrOperationId = 'IOrganizationsController_getAllPublishedFlows' | 'IOrganizationsController_getSinglePublishedFlow' | 'IOrganizationsController_getPaymentsFromPublishedFlow';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Record<string, unknown>;
}

export interface FdrOperation {
  operationId: FdrOperationId;
  method: 'GET';
  /** Path template, e.g. `/organizations/{organizationId}/fdrs`. */
  path: string;
  parameters: Parameter[];
}

export interface FdrOpenApi {
  version: string;
  /** Default server URL of the document. */
  server: string;
  /** Header carrying the subscription key (apiKeyHeader). */
  apiKeyHeader: string;
  operation(id: FdrOperationId): FdrOperation;
  /** Problems of a request's path and query parameters (strings as received); empty: valid. */
  validateRequest(id: FdrOperationId, req: { params: Record<string, string>; query: Record<string, string | undefined> }): string[];
  /** Problems of an answer against the schema the document gives for that status; empty: valid. */
  validateResponse(id: FdrOperationId, status: number, body: unknown): string[];
}

function messages(errors: ErrorObject[] | null | undefined, where: string): string[] {
  return (errors ?? []).slice(0, 5).map((e) => `${where}${e.instancePath || ''} ${e.message ?? 'non valido'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`);
}

let cached: FdrOpenApi | undefined;

export function loadFdrOpenApi(): FdrOpenApi {
  if (cached) return cached;
  const doc = JSON.parse(fs.readFileSync(fdrOrganizationOpenApiFile(), 'utf8')) as {
    info: { version: string };
    servers: { url: string }[];
    paths: Record<string, Record<string, { operationId: string; parameters?: Parameter[]; responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> }>>;
    components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; name: string; in: string }> };
  };
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  ajv.addSchema({ components: doc.components }, 'fdr');
  // Query and path parameters arrive as text: coerced to the parameter's type before the check.
  const params = addFormats(new Ajv({ strict: false, allErrors: true, coerceTypes: true }));
  params.addSchema({ components: doc.components }, 'fdr');
  const rewrite = (schema: Record<string, unknown>) => JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"fdr#/components/')) as Record<string, unknown>;

  const operations = new Map<string, FdrOperation & { responses: Map<number, ValidateFunction>; paramValidators: Map<string, ValidateFunction> }>();
  for (const [p, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const responses = new Map<number, ValidateFunction>();
      for (const [status, r] of Object.entries(op.responses)) {
        const schema = r.content?.['application/json']?.schema;
        if (schema) responses.set(Number(status), ajv.compile(rewrite(schema)));
      }
      const parameters = op.parameters ?? [];
      // Each parameter inside an object, so coercion has a place to write to.
      const paramValidators = new Map(parameters.map((x) => [x.name, params.compile(rewrite({ type: 'object', properties: { v: x.schema } }))] as const));
      operations.set(op.operationId, { operationId: op.operationId as FdrOperationId, method: method.toUpperCase() as 'GET', path: p, parameters, responses, paramValidators });
    }
  }
  const operation = (id: FdrOperationId) => {
    const op = operations.get(id);
    if (!op) throw new Error(`operation ${id} not in fdr_organization.json`);
    return op;
  };
  const header = Object.values(doc.components.securitySchemes).find((s) => s.in === 'header');

  cached = {
    version: doc.info.version,
    server: doc.servers[0]!.url,
    apiKeyHeader: header?.name ?? 'Ocp-Apim-Subscription-Key',
    operation,
    validateRequest(id, req) {
      const op = operation(id);
      const problems: string[] = [];
      for (const p of op.parameters) {
        const raw = p.in === 'path' ? req.params[p.name] : p.in === 'query' ? req.query[p.name] : undefined;
        if (raw === undefined || raw === '') {
          if (p.required) problems.push(`${p.in} ${p.name} mancante`);
          continue;
        }
        const check = op.paramValidators.get(p.name)!;
        if (!check({ v: raw })) problems.push(...messages(check.errors, `${p.in} ${p.name}`).map((m) => m.replace(' /v ', ' ')));
      }
      return problems;
    },
    validateResponse(id, status, body) {
      const v = operation(id).responses.get(status);
      if (!v) return [`stato HTTP ${status} non previsto dal documento`];
      return v(body) ? [] : messages(v.errors, 'risposta');
    },
  };
  return cached;
}
