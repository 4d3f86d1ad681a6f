/** Reads and the SAEL admin's edits of the catalogue's services; every edit audited in its transaction. */
import { and, asc, desc, eq } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { auditLog } from '../../plugins/audit/schema.js';
import { catalogueServices, type ServiceArea, type ServiceKind } from './schema.js';

export type CatalogueService = typeof catalogueServices.$inferSelect;
export type ServiceUpdate = Omit<typeof catalogueServices.$inferInsert, 'id' | 'code' | 'createdAt' | 'updatedAt' | 'sortOrder'>;

export interface ServiceFilter {
  area?: ServiceArea;
  kind?: ServiceKind;
  /** Only services offered now (the default for public pages). */
  activeOnly?: boolean;
}

export const AREA_LABELS: Record<ServiceArea, string> = {
  amministrazione_digitale: 'Amministrazione digitale',
  consulenza_tecnica: 'Consulenza tecnica',
  altri_servizi: 'Altri servizi',
};

export const KIND_LABELS: Record<ServiceKind, string> = {
  base: 'Servizio di base gratuito',
  specialistico: 'Servizio specialistico a listino',
};

export const BILLING_LABELS = {
  free: 'Gratuito',
  one_off: 'Una tantum',
  annual: 'Canone annuale',
  per_unit: 'A unità',
} as const;

export async function getServiceByCode(db: DbLike, code: string): Promise<CatalogueService | null> {
  return (await db.select().from(catalogueServices).where(eq(catalogueServices.code, code)).limit(1))[0] ?? null;
}

export async function getServiceById(db: DbLike, id: number): Promise<CatalogueService | null> {
  return (await db.select().from(catalogueServices).where(eq(catalogueServices.id, id)).limit(1))[0] ?? null;
}

/** Services in catalogue order (area as the seed lists them, then the seed's order). */
export async function listServices(db: DbLike, filter: ServiceFilter = {}): Promise<CatalogueService[]> {
  const conditions = [];
  if (filter.area) conditions.push(eq(catalogueServices.area, filter.area));
  if (filter.kind) conditions.push(eq(catalogueServices.kind, filter.kind));
  if (filter.activeOnly) conditions.push(eq(catalogueServices.active, true));
  return await db
      .select()
      .from(catalogueServices)
      .where(and(...conditions))
      .orderBy(asc(catalogueServices.sortOrder), asc(catalogueServices.id));
}

/** Lines of a one-item-per-line text column, trimmed, blanks dropped. */
export function lines(text: string | null | undefined): string[] {
  return (text ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Updates a service and records before/after in audit_log in the same transaction. */
export async function updateService(
  db: DbLike,
  id: number,
  change: ServiceUpdate,
  actor: { actor: string; requestId?: string | null },
): Promise<CatalogueService | null> {
  return await db.transaction(async (tx) => {
      const before = (await tx.select().from(catalogueServices).where(eq(catalogueServices.id, id)).limit(1))[0];
      if (!before) return null;
      const after = (await tx
            .update(catalogueServices)
            .set({ ...change, updatedAt: new Date().toISOString() })
            .where(eq(catalogueServices.id, id))
            .returning())[0]!;
      const diffBefore: Record<string, unknown> = {};
      const diffAfter: Record<string, unknown> = {};
      for (const key of Object.keys(change) as (keyof ServiceUpdate)[]) {
        if (before[key] !== after[key]) {
          diffBefore[key] = before[key];
          diffAfter[key] = after[key];
        }
      }
      await recordAudit(tx, {
              actor: actor.actor,
              requestId: actor.requestId ?? null,
              action: 'catalogue_service.update',
              entity: 'catalogue_service',
              entityId: id,
              before: diffBefore,
              after: diffAfter,
            });
      return after;
    });
}

export interface ServiceHistoryEntry {
  at: string;
  actor: string;
  action: string;
  changes: { field: string; before: unknown; after: unknown }[];
}

/** The service's edits from audit_log, newest first. */
export async function serviceHistory(db: DbLike, id: number, limit = 50): Promise<ServiceHistoryEntry[]> {
  const rows = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entity, 'catalogue_service'), eq(auditLog.entityId, String(id))))
      .orderBy(desc(auditLog.id))
      .limit(limit);
  return rows.map((r) => {
    const before = (r.before ? JSON.parse(r.before) : {}) as Record<string, unknown>;
    const after = (r.after ? JSON.parse(r.after) : {}) as Record<string, unknown>;
    const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return { at: r.at, actor: r.actor, action: r.action, changes: fields.map((field) => ({ field, before: before[field], after: after[field] })) };
  });
}
