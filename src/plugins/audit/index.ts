/** Writes audit_log rows. Call it inside the same transaction as the change it records. */
import type { FastifyRequest } from 'fastify';
import type { DbLike } from '../../db/client.js';
import { auditLog } from './schema.js';

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

export function recordAudit(db: DbLike, entry: AuditEntry): void {
  db.insert(auditLog)
    .values({
      actor: entry.actor,
      action: entry.action,
      entity: entry.entity,
      entityId: String(entry.entityId),
      enteId: entry.enteId ?? null,
      before: entry.before === undefined ? null : JSON.stringify(entry.before),
      after: entry.after === undefined ? null : JSON.stringify(entry.after),
      requestId: entry.requestId ?? null,
    })
    .run();
}

/** The actor and request id of an HTTP request, for audit entries. */
export function auditContext(request: FastifyRequest): { actor: string; requestId: string } {
  return { actor: request.user ? `user:${request.user.id}` : 'anonymous', requestId: request.id };
}
