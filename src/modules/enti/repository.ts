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
  const row = db.select({ id: enti.id }).from(enti).where(and(eq(enti.id, enteId), payableCondition(db))).get();
  return row !== undefined;
}

export function listEnti(db: DbLike, filter: EnteFilter = {}): Ente[] {
  const conditions = [];
  if (filter.q) {
    const pattern = `%${filter.q.replace(/[%_\\]/g, (c) => `\\${c}`)}%`;
    conditions.push(or(sql`${enti.name} LIKE ${pattern} ESCAPE '\\'`, like(enti.fiscalCode, pattern), like(enti.istatCode, pattern)));
  }
  if (filter.membersOnly) conditions.push(eq(enti.member, true));
  if (filter.kind) conditions.push(eq(enti.kind, filter.kind));
  if (filter.payable) conditions.push(payableCondition(db));
  return db
    .select()
    .from(enti)
    .where(and(...conditions))
    .orderBy(sql`${enti.kind} = 'comune'`, asc(enti.name))
    .all();
}

export function getEnte(db: DbLike, id: number): Ente | undefined {
  return db.select().from(enti).where(eq(enti.id, id)).get();
}

export function getEnteByFiscalCode(db: DbLike, fiscalCode: string): Ente | undefined {
  return db.select().from(enti).where(eq(enti.fiscalCode, fiscalCode)).get();
}

function checkEnteUnique(db: DbLike, input: EnteInput, exceptId?: number): void {
  for (const [field, column, value, label] of [
    ['fiscalCode', enti.fiscalCode, input.fiscalCode, 'codice fiscale'],
    ['ipaCode', enti.ipaCode, input.ipaCode, 'codice IPA'],
    ['istatCode', enti.istatCode, input.istatCode, 'codice ISTAT'],
  ] as const) {
    if (value === null) continue;
    const other = db.select({ id: enti.id, name: enti.name }).from(enti).where(eq(column, value)).get();
    if (other && other.id !== exceptId) throw new UniqueConflictError(field, `Il ${label} è già usato da ${other.name}.`);
  }
}

export function createEnte(db: Db, input: EnteInput, by: Actor): Ente {
  return db.transaction((tx) => {
    checkEnteUnique(tx, input);
    const row = tx.insert(enti).values(input).returning().get();
    recordAudit(tx, { ...by, action: 'create', entity: 'ente', entityId: row.id, enteId: row.id, after: row });
    return row;
  });
}

export function updateEnte(db: Db, id: number, input: EnteInput, by: Actor): Ente {
  return db.transaction((tx) => {
    const before = getEnte(tx, id);
    if (!before) throw new Error(`ente ${id} not found`);
    checkEnteUnique(tx, input, id);
    const after = tx
      .update(enti)
      .set({ ...input, updatedAt: new Date().toISOString() })
      .where(eq(enti.id, id))
      .returning()
      .get();
    recordAudit(tx, { ...by, action: 'update', entity: 'ente', entityId: id, enteId: id, before, after });
    return after;
  });
}

export function updateEnteLogo(db: Db, id: number, logoPath: string, by: Actor): void {
  db.transaction((tx) => {
    const before = getEnte(tx, id);
    if (!before) throw new Error(`ente ${id} not found`);
    tx.update(enti).set({ logoPath, updatedAt: new Date().toISOString() }).where(eq(enti.id, id)).run();
    recordAudit(tx, { ...by, action: 'update-logo', entity: 'ente', entityId: id, enteId: id, before: { logoPath: before.logoPath }, after: { logoPath } });
  });
}

export function listIbans(db: DbLike, enteId: number): EnteIban[] {
  return db.select().from(enteIbans).where(eq(enteIbans.enteId, enteId)).orderBy(asc(enteIbans.id)).all();
}

export function addIban(db: Db, enteId: number, input: IbanInput, by: Actor): EnteIban {
  return db.transaction((tx) => {
    const existing = tx
      .select()
      .from(enteIbans)
      .where(and(eq(enteIbans.enteId, enteId), eq(enteIbans.iban, input.iban)))
      .get();
    if (existing) throw new UniqueConflictError('iban', 'Questo IBAN è già registrato per l’ente.');
    const row = tx.insert(enteIbans).values({ enteId, ...input }).returning().get();
    recordAudit(tx, { ...by, action: 'create', entity: 'ente_iban', entityId: row.id, enteId, after: row });
    return row;
  });
}

/** IBANs are never deleted (transfers and receipts refer to them); they are deactivated. */
export function setIbanActive(db: Db, enteId: number, ibanId: number, active: boolean, by: Actor): EnteIban | undefined {
  return db.transaction((tx) => {
    const before = tx
      .select()
      .from(enteIbans)
      .where(and(eq(enteIbans.id, ibanId), eq(enteIbans.enteId, enteId)))
      .get();
    if (!before) return undefined;
    const after = tx.update(enteIbans).set({ active }).where(eq(enteIbans.id, ibanId)).returning().get();
    recordAudit(tx, { ...by, action: active ? 'activate' : 'deactivate', entity: 'ente_iban', entityId: ibanId, enteId, before, after });
    return after;
  });
}

export function listServices(db: DbLike, enteId: number, opts: { activeOnly?: boolean } = {}): PaymentService[] {
  return db
    .select()
    .from(paymentServices)
    .where(and(eq(paymentServices.enteId, enteId), opts.activeOnly ? eq(paymentServices.active, true) : undefined))
    .orderBy(asc(paymentServices.name))
    .all();
}

export function getService(db: DbLike, enteId: number, serviceId: number): PaymentService | undefined {
  return db
    .select()
    .from(paymentServices)
    .where(and(eq(paymentServices.id, serviceId), eq(paymentServices.enteId, enteId)))
    .get();
}

export function getServiceByCode(db: DbLike, enteId: number, code: string): PaymentService | undefined {
  return db
    .select()
    .from(paymentServices)
    .where(and(eq(paymentServices.enteId, enteId), eq(paymentServices.code, code)))
    .get();
}

function checkServiceCode(db: DbLike, enteId: number, input: Pick<ServiceInput, 'code' | 'pspServiceId'>, exceptId?: number): void {
  const other = db
    .select({ id: paymentServices.id })
    .from(paymentServices)
    .where(and(eq(paymentServices.enteId, enteId), eq(paymentServices.code, input.code)))
    .get();
  if (other && other.id !== exceptId) throw new UniqueConflictError('code', 'Esiste già un servizio con questo codice.');
  if (input.pspServiceId === null || input.pspServiceId === undefined) return;
  const sameId = db
    .select({ id: paymentServices.id, name: paymentServices.name })
    .from(paymentServices)
    .where(and(eq(paymentServices.enteId, enteId), eq(paymentServices.pspServiceId, input.pspServiceId)))
    .get();
  if (sameId && sameId.id !== exceptId) throw new UniqueConflictError('pspServiceId', `L’idServizio ${input.pspServiceId} è già usato dal servizio «${sameId.name}» di questo ente.`);
}

export interface PspPayableService {
  ente: Pick<Ente, 'id' | 'name' | 'fiscalCode'>;
  service: PaymentService;
}

/** Active services of member enti payable at a PSP (an idServizio in pagoPA's catalogue), by ente and service name. */
export async function listPspPayableServices(db: DbLike): Promise<PspPayableService[]> {
  const rows = db
    .select({ ente: { id: enti.id, name: enti.name, fiscalCode: enti.fiscalCode }, service: paymentServices })
    .from(paymentServices)
    .innerJoin(enti, eq(enti.id, paymentServices.enteId))
    .where(and(eq(enti.member, true), eq(paymentServices.active, true), isNotNull(paymentServices.pspServiceId)))
    .orderBy(asc(enti.name), asc(paymentServices.name))
    .all();
  return rows;
}

/** A payment service with its ente, by service id (the simulated PSP's form). */
export async function getServiceWithEnte(db: DbLike, serviceId: number): Promise<{ ente: Ente; service: PaymentService } | undefined> {
  return db
    .select({ ente: enti, service: paymentServices })
    .from(paymentServices)
    .innerJoin(enti, eq(enti.id, paymentServices.enteId))
    .where(eq(paymentServices.id, serviceId))
    .get();
}

export function createService(db: Db, enteId: number, input: ServiceInput, by: Actor): PaymentService {
  return db.transaction((tx) => {
    checkServiceCode(tx, enteId, input);
    const row = tx.insert(paymentServices).values({ enteId, ...input }).returning().get();
    recordAudit(tx, { ...by, action: 'create', entity: 'payment_service', entityId: row.id, enteId, after: row });
    return row;
  });
}

export function updateService(db: Db, enteId: number, serviceId: number, input: ServiceInput, by: Actor): PaymentService | undefined {
  return db.transaction((tx) => {
    const before = getService(tx, enteId, serviceId);
    if (!before) return undefined;
    checkServiceCode(tx, enteId, input, serviceId);
    const after = tx
      .update(paymentServices)
      .set({ ...input, updatedAt: new Date().toISOString() })
      .where(eq(paymentServices.id, serviceId))
      .returning()
      .get();
    recordAudit(tx, { ...by, action: 'update', entity: 'payment_service', entityId: serviceId, enteId, before, after });
    return after;
  });
}
