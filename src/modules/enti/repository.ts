/** Queries and writes for enti, their IBANs and payment services; every write is audited in its transaction. */
import { and, asc, eq, exists, isNotNull, like, or, sql } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import type { Actor } from '../users/repository.js';
import { enteIbans, enti, paymentServices } from './schema.js';
import type { EnteInput, IbanInput, ServiceInput } from './validation.js';

export type Ente = typeof enti.$inferSelect;
export type EnteIban = typeof enteIbans.$inferSelect;
export type PaymentService = typeof paymentServices.$inferSelect;

export class UniqueConflictError extends Error {
  constructor(public readonly field: string, message: string) {
    super(message);
  }
}

export interface EnteFilter {
  q?: string;
  membersOnly?: boolean;
  kind?: 'provincia' | 'comune';
  /** Only enti citizens can pay on the portal (see `payableCondition`). */
  payable?: boolean;
}

/**
 * An ente is listed among the "Comuni aderenti" (and offered in "Paga un avviso") only once it is
 * a member AND has at least one active payment service AND one active IBAN: a member just added
 * by the SAEL, not yet configured, is not shown as if citizens could pay it.
 */
function payableCondition(db: DbLike) {
  const one = { one: sql`1` };
  return and(
    eq(enti.member, true),
    exists(db.select(one).from(paymentServices).where(and(eq(paymentServices.enteId, enti.id), eq(paymentServices.active, true)))),
    exists(db.select(one).from(enteIbans).where(and(eq(enteIbans.enteId, enti.id), eq(enteIbans.active, true)))),
  );
}

/** Whether the ente is payable on the portal: member with an active service and an active IBAN. */
export async function isPayableEnte(db: DbLike, enteId: number): Promise<boolean> {
  const row = (await db.select({ id: enti.id }).from(enti).where(and(eq(enti.id, enteId), payableCondition(db))).limit(1))[0];
  return row !== undefined;
}

export async function listEnti(db: DbLike, filter: EnteFilter = {}): Promise<Ente[]> {
  const conditions = [];
  if (filter.q) {
    const pattern = `%${filter.q.replace(/[%_\\]/g, (c) => `\\${c}`)}%`;
    conditions.push(or(sql`lower(${enti.name}) LIKE lower(CAST(${pattern} AS TEXT)) ESCAPE '\\'`, sql`lower(${enti.fiscalCode}) LIKE lower(CAST(${pattern} AS TEXT)) ESCAPE '\\'`, like(enti.istatCode, pattern)));
  }
  if (filter.membersOnly) conditions.push(eq(enti.member, true));
  if (filter.kind) conditions.push(eq(enti.kind, filter.kind));
  if (filter.payable) conditions.push(payableCondition(db));
  return await db
      .select()
      .from(enti)
      .where(and(...conditions))
      .orderBy(sql`${enti.kind} = 'comune'`, asc(enti.name));
}

export async function getEnte(db: DbLike, id: number): Promise<Ente | undefined> {
  return (await db.select().from(enti).where(eq(enti.id, id)).limit(1))[0];
}

export async function getEnteByFiscalCode(db: DbLike, fiscalCode: string): Promise<Ente | undefined> {
  return (await db.select().from(enti).where(eq(enti.fiscalCode, fiscalCode)).limit(1))[0];
}

async function checkEnteUnique(db: DbLike, input: EnteInput, exceptId?: number): Promise<void> {
  for (const [field, column, value, label] of [
    ['fiscalCode', enti.fiscalCode, input.fiscalCode, 'codice fiscale'],
    ['ipaCode', enti.ipaCode, input.ipaCode, 'codice IPA'],
    ['istatCode', enti.istatCode, input.istatCode, 'codice ISTAT'],
  ] as const) {
    if (value === null) continue;
    const other = (await db.select({ id: enti.id, name: enti.name }).from(enti).where(eq(column, value)).limit(1))[0];
    if (other && other.id !== exceptId) throw new UniqueConflictError(field, `Il ${label} è già usato da ${other.name}.`);
  }
}

export async function createEnte(db: Db, input: EnteInput, by: Actor): Promise<Ente> {
  return await db.transaction(async (tx) => {
      await checkEnteUnique(tx, input);
      const row = (await tx.insert(enti).values(input).returning())[0]!;
      await recordAudit(tx, { ...by, action: 'create', entity: 'ente', entityId: row.id, enteId: row.id, after: row });
      return row;
    });
}

export async function updateEnte(db: Db, id: number, input: EnteInput, by: Actor): Promise<Ente> {
  return await db.transaction(async (tx) => {
      const before = await getEnte(tx, id);
      if (!before) throw new Error(`ente ${id} not found`);
      await checkEnteUnique(tx, input, id);
      const after = (await tx
            .update(enti)
            .set({ ...input, updatedAt: new Date().toISOString() })
            .where(eq(enti.id, id))
            .returning())[0]!;
      await recordAudit(tx, { ...by, action: 'update', entity: 'ente', entityId: id, enteId: id, before, after });
      return after;
    });
}

export async function updateEnteLogo(db: Db, id: number, logoPath: string, by: Actor): Promise<void> {
  await db.transaction(async (tx) => {
        const before = await getEnte(tx, id);
        if (!before) throw new Error(`ente ${id} not found`);
        await tx.update(enti).set({ logoPath, updatedAt: new Date().toISOString() }).where(eq(enti.id, id));
        await recordAudit(tx, { ...by, action: 'update-logo', entity: 'ente', entityId: id, enteId: id, before: { logoPath: before.logoPath }, after: { logoPath } });
      });
}

export async function listIbans(db: DbLike, enteId: number): Promise<EnteIban[]> {
  return await db.select().from(enteIbans).where(eq(enteIbans.enteId, enteId)).orderBy(asc(enteIbans.id));
}

export async function addIban(db: Db, enteId: number, input: IbanInput, by: Actor): Promise<EnteIban> {
  return await db.transaction(async (tx) => {
      const existing = (await tx
            .select()
            .from(enteIbans)
            .where(and(eq(enteIbans.enteId, enteId), eq(enteIbans.iban, input.iban))).limit(1))[0];
      if (existing) throw new UniqueConflictError('iban', 'Questo IBAN è già registrato per l’ente.');
      const row = (await tx.insert(enteIbans).values({ enteId, ...input }).returning())[0]!;
      await recordAudit(tx, { ...by, action: 'create', entity: 'ente_iban', entityId: row.id, enteId, after: row });
      return row;
    });
}

/** IBANs are never deleted (transfers and receipts refer to them); they are deactivated. */
export async function setIbanActive(db: Db, enteId: number, ibanId: number, active: boolean, by: Actor): Promise<EnteIban | undefined> {
  return await db.transaction(async (tx) => {
      const before = (await tx
            .select()
            .from(enteIbans)
            .where(and(eq(enteIbans.id, ibanId), eq(enteIbans.enteId, enteId))).limit(1))[0];
      if (!before) return undefined;
      const after = (await tx.update(enteIbans).set({ active }).where(eq(enteIbans.id, ibanId)).returning())[0]!;
      await recordAudit(tx, { ...by, action: active ? 'activate' : 'deactivate', entity: 'ente_iban', entityId: ibanId, enteId, before, after });
      return after;
    });
}

export async function listServices(db: DbLike, enteId: number, opts: { activeOnly?: boolean } = {}): Promise<PaymentService[]> {
  return await db
      .select()
      .from(paymentServices)
      .where(and(eq(paymentServices.enteId, enteId), opts.activeOnly ? eq(paymentServices.active, true) : undefined))
      .orderBy(asc(paymentServices.name));
}

export async function getService(db: DbLike, enteId: number, serviceId: number): Promise<PaymentService | undefined> {
  return (await db
      .select()
      .from(paymentServices)
      .where(and(eq(paymentServices.id, serviceId), eq(paymentServices.enteId, enteId))).limit(1))[0];
}

export async function getServiceByCode(db: DbLike, enteId: number, code: string): Promise<PaymentService | undefined> {
  return (await db
      .select()
      .from(paymentServices)
      .where(and(eq(paymentServices.enteId, enteId), eq(paymentServices.code, code))).limit(1))[0];
}

async function checkServiceCode(db: DbLike, enteId: number, input: Pick<ServiceInput, 'code' | 'pspServiceId'>, exceptId?: number): Promise<void> {
  const other = (await db
      .select({ id: paymentServices.id })
      .from(paymentServices)
      .where(and(eq(paymentServices.enteId, enteId), eq(paymentServices.code, input.code))).limit(1))[0];
  if (other && other.id !== exceptId) throw new UniqueConflictError('code', 'Esiste già un servizio con questo codice.');
  if (input.pspServiceId === null || input.pspServiceId === undefined) return;
  const sameId = (await db
      .select({ id: paymentServices.id, name: paymentServices.name })
      .from(paymentServices)
      .where(and(eq(paymentServices.enteId, enteId), eq(paymentServices.pspServiceId, input.pspServiceId))).limit(1))[0];
  if (sameId && sameId.id !== exceptId) throw new UniqueConflictError('pspServiceId', `L’idServizio ${input.pspServiceId} è già usato dal servizio «${sameId.name}» di questo ente.`);
}

export interface PspPayableService {
  ente: Pick<Ente, 'id' | 'name' | 'fiscalCode'>;
  service: PaymentService;
}

/** Active services of member enti payable at a PSP (an idServizio in pagoPA's catalogue), by ente and service name. */
export async function listPspPayableServices(db: DbLike): Promise<PspPayableService[]> {
  const rows = await db
      .select({ ente: { id: enti.id, name: enti.name, fiscalCode: enti.fiscalCode }, service: paymentServices })
      .from(paymentServices)
      .innerJoin(enti, eq(enti.id, paymentServices.enteId))
      .where(and(eq(enti.member, true), eq(paymentServices.active, true), isNotNull(paymentServices.pspServiceId)))
      .orderBy(asc(enti.name), asc(paymentServices.name));
  return rows;
}

/** A payment service with its ente, by service id (the simulated PSP's form). */
export async function getServiceWithEnte(db: DbLike, serviceId: number): Promise<{ ente: Ente; service: PaymentService } | undefined> {
  return (await db
      .select({ ente: enti, service: paymentServices })
      .from(paymentServices)
      .innerJoin(enti, eq(enti.id, paymentServices.enteId))
      .where(eq(paymentServices.id, serviceId)).limit(1))[0];
}

export async function createService(db: Db, enteId: number, input: ServiceInput, by: Actor): Promise<PaymentService> {
  return await db.transaction(async (tx) => {
      await checkServiceCode(tx, enteId, input);
      const row = (await tx.insert(paymentServices).values({ enteId, ...input }).returning())[0]!;
      await recordAudit(tx, { ...by, action: 'create', entity: 'payment_service', entityId: row.id, enteId, after: row });
      return row;
    });
}

export async function updateService(db: Db, enteId: number, serviceId: number, input: ServiceInput, by: Actor): Promise<PaymentService | undefined> {
  return await db.transaction(async (tx) => {
      const before = await getService(tx, enteId, serviceId);
      if (!before) return undefined;
      await checkServiceCode(tx, enteId, input, serviceId);
      const after = (await tx
            .update(paymentServices)
            .set({ ...input, updatedAt: new Date().toISOString() })
            .where(eq(paymentServices.id, serviceId))
            .returning())[0]!;
      await recordAudit(tx, { ...by, action: 'update', entity: 'payment_service', entityId: serviceId, enteId, before, after });
      return after;
    });
}
