/**
 * Bearer API keys for comune software: `Authorization: Bearer <key>`. The key is looked up by its
 * SHA-256; a key belongs to one ente and every API query is scoped to that ente.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticateApiKey } from '../modules/users/repository.js';
import { HttpError } from './errors.js';

export interface ApiClient {
  keyId: number;
  enteId: number;
  enteFiscalCode: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiClient: ApiClient | null;
  }
}

/** preHandler for /api routes: sets request.apiClient or answers 401. */
export async function requireApiKey(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const header = request.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  const client = m ? await authenticateApiKey(request.server.db, m[1]!) : null;
  if (!client) {
    reply.header('www-authenticate', 'Bearer realm="sael-pay"');
    throw new HttpError(401, m ? 'Chiave API non valida o revocata.' : 'Manca l’intestazione Authorization: Bearer <chiave API>.');
  }
  request.apiClient = client;
}
