/** Route schemas, the role guard and the paging rules shared by the back-office pages of a comune. */
import type { FastifyInstance, FastifyRequest, FastifySchemaValidationError, preHandlerAsyncHookHandler } from 'fastify';
import { requireRole } from '../../plugins/auth.js';
import { inArray } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { fieldErrorsFromValidation, HttpError } from '../../plugins/errors.js';
import { getEnte } from '../enti/repository.js';
import { apiKeys, users } from '../users/schema.js';

export const enteParams = { type: 'object', properties: { enteId: { type: 'integer', minimum: 1 } }, required: ['enteId'] } as const;

export const jobParams = {
  type: 'object',
  properties: { enteId: { type: 'integer', minimum: 1 }, jobId: { type: 'integer', minimum: 1 } },
  required: ['enteId', 'jobId'],
} as const;

/** Guard: operator (or ente admin) of the ente in `:enteId`; 404 when that ente does not exist. */
export function operatorOfEnte(app: FastifyInstance): preHandlerAsyncHookHandler {
  return requireRole('operator', {
    ente: async (request: FastifyRequest) => {
      const id = (request.params as { enteId: number }).enteId;
      return await getEnte(app.db, id) ? id : null;
    },
  });
}

/**
 * Largest page number a list page accepts (25 rows a page: 2.5 million rows). Without a maximum
 * `?page=1e300` passes the integer check and SQLite refuses the OFFSET (HTTP 500).
 */
export const MAX_PAGE = 100_000;

/** The `page` query parameter of a list page: an integer from 1 to {@link MAX_PAGE}. */
export const pageParam = { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 1 } as const;

/** Query parameters that are page numbers. */
const PAGE_FIELD = /^\/(page|pagina)$/;

/**
 * Route option `schemaErrorFormatter` of list pages: a bad page number gets a sentence a person
 * understands ("La pagina «1e300» non esiste…") instead of the schema's wording; other fields keep
 * the usual field-by-field message. The answer is still 400 (HTML page or problem+json).
 */
export function listQueryErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const fields = fieldErrorsFromValidation(errors as Parameters<typeof fieldErrorsFromValidation>[0], dataVar);
  if (errors.every((e) => PAGE_FIELD.test(e.instancePath))) {
    // Only the page number is wrong: no form field to point at, the sentence says it all.
    return new HttpError(400, `Numero di pagina non valido: indica un numero intero da 1 a ${MAX_PAGE.toLocaleString('it-IT')}.`);
  }
  return new HttpError(400, `Dati non validi: ${fields.map((f) => `${f.field} (${f.message})`).join('; ')}`, fields);
}

/** The page to show: the one asked for, or the last one when it is past the end (at least 1). */
export function pageWithin(requested: number, total: number, pageSize: number): { page: number; pages: number; pastTheEnd: boolean } {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return requested > pages ? { page: pages, pages, pastTheEnd: true } : { page: requested, pages, pastTheEnd: false };
}

/** Names of the people and API keys behind audit actors (`user:<id>`, `apikey:<id>`). */
export interface ActorNames {
  users: ReadonlyMap<number, string>;
  apiKeys: ReadonlyMap<number, string>;
}

const FIXED_ACTORS: Record<string, string> = {
  'pagopa-node': 'Nodo pagoPA',
  cli: 'Riga di comando (amministratore)',
  system: 'Procedura automatica',
  'system:demo-seed': 'Dati dimostrativi',
  'system:catalogue-charges': 'Catalogo SAEL – addebiti delle adesioni',
  anonymous: 'Utente non autenticato',
};

/** What the history shows for an audit actor: a person's name, an API key's label, or what the system is. */
export function actorLabel(actor: string, names: ActorNames): string {
  const m = /^(user|apikey):(\d+)$/.exec(actor);
  if (m) {
    const id = Number(m[2]);
    if (m[1] === 'user') return names.users.get(id) ?? `Utente n. ${id}`;
    const key = names.apiKeys.get(id);
    return key ? `API – chiave «${key}»` : `API – chiave n. ${id}`;
  }
  return FIXED_ACTORS[actor] ?? (actor.startsWith('system') ? 'Procedura automatica' : actor);
}

/** Reads the names of the users and API keys among `actors` (two indexed queries, whatever the count). */
export async function loadActorNames(db: DbLike, actors: readonly string[]): Promise<ActorNames> {
  const ids = (kind: string) => [...new Set(actors.flatMap((a) => (a.startsWith(`${kind}:`) && /^\d+$/.test(a.slice(kind.length + 1)) ? [Number(a.slice(kind.length + 1))] : [])))];
  const userIds = ids('user');
  const keyIds = ids('apikey');
  const people = userIds.length === 0 ? [] : await await db.select({ id: users.id, name: users.name, familyName: users.familyName }).from(users).where(inArray(users.id, userIds));
  const keys = keyIds.length === 0 ? [] : await await db.select({ id: apiKeys.id, label: apiKeys.label }).from(apiKeys).where(inArray(apiKeys.id, keyIds));
  return {
    users: new Map(people.flatMap((u) => {
      const full = [u.name, u.familyName].filter(Boolean).join(' ').trim();
      return full ? [[u.id, full] as const] : [];
    })),
    apiKeys: new Map(keys.map((k) => [k.id, k.label] as const)),
  };
}
