/**
 * Validation of requests against the official App IO document `schemas/io/io-services-api.yaml`
 * (swagger 2.0, copied unmodified from pagopa/io-functions-services). How: the YAML is parsed with
 * `yaml`; its `definitions` are one schema (id `io`) in an Ajv for JSON Schema draft 4 (swagger 2.0
 * schema objects are draft 4: boolean `exclusiveMaximum`), strict mode off for the `x-*` vendor
 * keywords; the formats it names (FiscalCode, OrganizationFiscalCode, UTCISODateFromString, Ulid,
 * EmailString, …) are added with the meaning their x-import packages (@pagopa/ts-commons) give
 * them. Each operation's own parameters (body → its schema; path → a schema made of the parameter's
 * type, pattern and lengths; `$ref: #/parameters/…` resolved) and its security (the
 * `Ocp-Apim-Subscription-Key` header) are read from `paths`, so nothing is restated by hand.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvDraft04Module from 'ajv-draft-04';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

// CommonJS default exports as NodeNext sees them (as config.ts does for ajv-formats).
const AjvDraft04 = AjvDraft04Module as unknown as new (opts: Record<string, unknown>) => Ajv;
const addFormats = addFormatsModule as unknown as (ajv: Ajv, formats: string[]) => Ajv;

export const IO_OPENAPI_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../schemas/io/io-services-api.yaml');

interface Parameter {
  name: string;
  in: 'body' | 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Record<string, unknown>;
  type?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  format?: string;
  $ref?: string;
}

interface Operation {
  operationId: string;
  method: string;
  path: string;
  parameters: Parameter[];
  security: string[];
}

export interface RequestToCheck {
  params?: Record<string, string>;
  body?: unknown;
  headers: Record<string, string | string[] | undefined>;
}

export interface IoOpenApi {
  version: string;
  operation(operationId: string): Operation;
  /** The problems of a request for this operation (empty: valid). */
  validate(operationId: string, req: RequestToCheck): string[];
  /** A validator for any definition (tests check responses with it). */
  definition(name: string): ValidateFunction;
}

/** @pagopa/ts-commons FiscalCode: a natural person's code (omocodia letters allowed). */
const FISCAL_CODE = /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/;

function formatErrors(errors: ErrorObject[] | null | undefined, where: string): string[] {
  return (errors ?? []).map((e) => `${where}${e.instancePath || ''} ${e.message ?? 'non valido'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`);
}

let cached: IoOpenApi | undefined;

export function loadIoOpenApi(file = IO_OPENAPI_FILE): IoOpenApi {
  if (cached && file === IO_OPENAPI_FILE) return cached;
  const doc = parse(fs.readFileSync(file, 'utf8')) as {
    info: { version: string };
    paths: Record<string, Record<string, { operationId?: string; parameters?: Parameter[]; security?: Record<string, unknown>[] }>>;
    parameters: Record<string, Parameter>;
    definitions: Record<string, unknown>;
    securityDefinitions: Record<string, { type: string; name: string; in: string }>;
  };
  const ajv = new AjvDraft04({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv, ['email', 'uri', 'byte', 'int32']);
  ajv.addFormat('FiscalCode', FISCAL_CODE);
  ajv.addFormat('OrganizationFiscalCode', /^[0-9]{11}$/);
  ajv.addFormat('EmailString', /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
  ajv.addFormat('Ulid', /^[0-9A-HJKMNP-TV-Z]{26}$/);
  // ts-commons UTCISODateFromString: an ISO 8601 instant with its zone (UTC "Z" or an offset).
  ajv.addFormat('UTCISODateFromString', {
    type: 'string',
    validate: (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)),
  });
  ajv.addSchema({ definitions: doc.definitions }, 'io');

  const resolve = (p: Parameter): Parameter => (p.$ref ? doc.parameters[p.$ref.replace('#/parameters/', '')]! : p);
  const operation = (operationId: string): Operation => {
    const op = operations.get(operationId);
    if (!op) throw new Error(`operation ${operationId} not in the IO document`);
    return op;
  };
  const operations = new Map<string, Operation>();
  for (const [p, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!op.operationId) continue;
      operations.set(op.operationId, {
        operationId: op.operationId,
        method: method.toUpperCase(),
        path: p,
        parameters: (op.parameters ?? []).map(resolve),
        security: (op.security ?? []).flatMap((s) => Object.keys(s)),
      });
    }
  }

  const validators = new Map<string, ValidateFunction>();
  const compile = (key: string, schema: Record<string, unknown>): ValidateFunction => {
    let v = validators.get(key);
    if (!v) {
      // `#/definitions/X` inside the document → `io#/definitions/X` in Ajv.
      const rewritten = JSON.parse(JSON.stringify(schema).replace(/"#\/definitions\//g, '"io#/definitions/')) as Record<string, unknown>;
      v = ajv.compile(rewritten);
      validators.set(key, v);
    }
    return v;
  };

  const api: IoOpenApi = {
    version: doc.info.version,
    operation,
    validate(operationId, req) {
      const op = operation(operationId);
      const problems: string[] = [];
      for (const name of op.security) {
        const def = doc.securityDefinitions[name];
        if (def?.in === 'header') {
          const v = req.headers[def.name.toLowerCase()];
          if (typeof v !== 'string' || v.trim() === '') problems.push(`header ${def.name} mancante`);
        }
      }
      for (const p of op.parameters) {
        if (p.in === 'body') {
          if (req.body === undefined || req.body === null) {
            if (p.required) problems.push(`body ${p.name} mancante`);
            continue;
          }
          const v = compile(`${operationId}:body`, p.schema ?? {});
          if (!v(req.body)) problems.push(...formatErrors(v.errors, p.name));
        } else if (p.in === 'path') {
          const value = req.params?.[p.name];
          const schema: Record<string, unknown> = { type: p.type ?? 'string' };
          for (const k of ['pattern', 'minLength', 'maxLength', 'format'] as const) if (p[k] !== undefined) schema[k] = p[k];
          const v = compile(`${operationId}:path:${p.name}`, schema);
          if (value === undefined) problems.push(`parametro ${p.name} mancante`);
          else if (!v(value)) problems.push(...formatErrors(v.errors, p.name));
        }
      }
      return problems;
    },
    definition(name) {
      return compile(`definition:${name}`, { $ref: `#/definitions/${name}` });
    },
  };
  if (file === IO_OPENAPI_FILE) cached = api;
  return api;
}
