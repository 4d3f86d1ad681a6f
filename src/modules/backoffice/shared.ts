/** Route schemas and the role guard shared by the back-office pages of a comune. */
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { requireRole } from '../../plugins/auth.js';
import { getEnte } from '../enti/repository.js';

export const enteParams = { type: 'object', properties: { enteId: { type: 'integer', minimum: 1 } }, required: ['enteId'] } as const;

export const jobParams = {
  type: 'object',
  properties: { enteId: { type: 'integer', minimum: 1 }, jobId: { type: 'integer', minimum: 1 } },
  required: ['enteId', 'jobId'],
} as const;

/** Guard: operator (or ente admin) of the ente in `:enteId`; 404 when that ente does not exist. */
export function operatorOfEnte(app: FastifyInstance): preHandlerAsyncHookHandler {
  return requireRole('operator', {
    ente: (request: FastifyRequest) => {
      const id = (request.params as { enteId: number }).enteId;
      return getEnte(app.db, id) ? id : null;
    },
  });
}
