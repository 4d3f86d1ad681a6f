/** Writes audit_log rows. Call it inside the same transaction as the change it records. */
import type { FastifyRequest } from 'fastify';
import type { DbLike } from '../../db/client.js';
import { sqlRun } from '../../db/raw.js';

export interface AuditEntry {
  actor: string;
  action: string;
  entity: string;
  entityId: string | number;
  enteId?: number | null;
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
}

export async function recordAudit(db: DbLike, entry: AuditEntry): Promise<void> {
  await sqlRun(
    db,
    'INSERT INTO audit_log (actor, action, entity, entity_id, ente_id, before, after, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    entry.actor,
    entry.action,
    entry.entity,
    String(entry.entityId),
    entry.enteId ?? null,
    entry.before === undefined ? null : JSON.stringify(entry.before),
    entry.after === undefined ? null : JSON.stringify(entry.after),
    entry.requestId ?? null,
  );
}

/** The actor and request id of an HTTP request, for audit entries. */
export function auditContext(request: FastifyRequest): { actor: string; requestId: string } {
  return { actor: request.user ? `user:${request.user.id}` : 'anonymous', requestId: request.id };
}
