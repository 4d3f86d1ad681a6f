/** The guard of the ente's catalogue pages (`/backoffice/enti/:enteId/…`): unknown ente 404, other enti 403. */
import type { FastifyRequest } from 'fastify';
import type { DbLike } from '../../db/client.js';
import { requireRole } from '../../plugins/auth.js';
import { getEnte } from '../enti/repository.js';

/** Resolves the `:enteId` route parameter to an existing ente (null → 404). */
export function enteFromParams(db: DbLike) {
  return async (request: FastifyRequest): Promise<number | null> => {
    const enteId = (request.params as { enteId: number }).enteId;
    return await getEnte(db, enteId) ? enteId : null;
  };
}

/** Readers of an ente's catalogue pages: its operators and referenti, the helpdesk, the SAEL admin. */
export function enteReaderGuard(db: DbLike) {
  return requireRole(['operator', 'helpdesk', 'sael_admin'], { ente: enteFromParams(db) });
}

/** Route params of the ente's pages: `:enteId`, and `:enteId` + `:id`. */
export const enteParams = { type: 'object', properties: { enteId: { type: 'integer', minimum: 1 } }, required: ['enteId'] } as const;
export const enteIdParams = {
  type: 'object',
  properties: { enteId: { type: 'integer', minimum: 1 }, id: { type: 'integer', minimum: 1 } },
  required: ['enteId', 'id'],
} as const;
