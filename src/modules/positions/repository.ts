/**
 * Positions in the database: creation with IUV allocation, reading, listing with filters and
 * paging, edits allowed by state, publication, cancellation, expiry. Every write runs in one
 * IMMEDIATE transaction (so concurrent writers queue instead of failing) and records an audit row.
 */
import { constraintViolation } from '../../db/errors.js';
import crypto from 'node:crypto';
import { and, asc, count, desc, eq, gte, inArray, like, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Db, DbLike, DbTx } from '../../db/client.js';
import { dialectOf, lockForTransaction, sqlAll, sqlGet, sqlRun } from '../../db/raw.js';
import { insertId } from './insert-id.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enqueueAcaSync, enqueueAcaSyncMany, type AcaPosition } from './aca-outbox.js';
import type { Actor } from '../users/repository.js';
import type { Ente, PaymentService } from '../enti/repository.js';
import { buildIuv, iuvSequence, noticeNumberFromIuv } from './numbers.js';
import { paymentOptions, positions, transfers, type PositionStatus } from './schema.js';
import type { ValidPaymentOption, ValidPosition, ValidTransfer } from './validation.js';

export type PositionRow = typeof positions.$inferSelect;
export type OptionRow = typeof paymentOptions.$inferSelect;
export type TransferRow = typeof transfers.$inferSelect;

export interface OptionDetail extends OptionRow {
  transfers: (Omit<TransferRow, 'metadata'> & { metadata: { key: string; value: string }[] })[];
}

export interface PositionDetail extends PositionRow {
  options: OptionDetail[];
}

/** A write refused because of the position's state or a different body for the same iupd (HTTP 409). */
export class PositionConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PositionConflictError';
  }
}

export interface PositionWrite {
  value: ValidPosition;
  switchToExpired: boolean;
}

/**
 * An IUV brought by the caller (GPD API) that was already issued — by the platform's counter, to
 * another position, or to a deleted draft (HTTP 409).
 */
export class IuvNotAvailableError extends PositionConflictError {
  constructor(readonly iuv: string) {
    super(`Lo IUV ${iuv} è già stato emesso per questo ente e non può essere riusato.`);
    this.name = 'IuvNotAvailableError';
  }
}

/** SHA-256 of a canonical JSON of what defines a position (service + normalised content). */
export function positionPayloadHash(serviceCode: string, write: PositionWrite, publish: boolean): string {
  return sha256Hex(canonicalPositionJson(serviceCode, publish, write.switchToExpired, write.value));
}

/** Hex SHA-256 of UTF-8 text: one-shot `crypto.hash` where Node has it (≥ 20.12), else a Hash object. */
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text).digest('hex');

/**
 * JSON with object keys sorted (same text as a recursive canonical writer, a few times faster).
 * The reference for {@link canonicalPositionJson}.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/**
 * `canonicalJson({ serviceCode, publish, switchToExpired, ...value })` for the shape of a validated
 * position: a copy with the keys inserted in sorted order at every level, serialised by a single
 * JSON.stringify (which keeps insertion order and leaves out undefined members, as the generic
 * writer does). The same text without sorting keys or calling a replacer for every value: it is
 * the hot path of bulk imports (one hash per row); a test checks it against {@link canonicalJson}.
 */
export function canonicalPositionJson(serviceCode: string, publish: boolean, switchToExpired: boolean, v: ValidPosition): string {
  return JSON.stringify({
    debtor: sortedDebtor(v.debtor),
    description: v.description,
    iupd: v.iupd,
    paymentOptions: mapArray(v.paymentOptions, sortedOption),
    publish,
    serviceCode,
    switchToExpired,
    validityDate: v.validityDate,
  });
}

/** `list.map(fn)`, keeping null and undefined as they are (JSON.stringify writes null, or leaves the member out). */
function mapArray<T, U>(list: readonly T[] | null | undefined, fn: (item: T) => U): U[] | null | undefined {
  return list === null || list === undefined ? list : list.map(fn);
}

function sortedDebtor(d: ValidPosition['debtor']) {
  if (d === undefined || d === null) return d;
  return {
    city: d.city,
    civicNumber: d.civicNumber,
    country: d.country,
    email: d.email,
    fiscalCode: d.fiscalCode,
    fullName: d.fullName,
    postalCode: d.postalCode,
    province: d.province,
    streetName: d.streetName,
    type: d.type,
  };
}

function sortedOption(o: ValidPaymentOption) {
  if (o === undefined || o === null) return o;
  return {
    amountCents: o.amountCents,
    description: o.description,
    dueDate: o.dueDate,
    installmentCount: o.installmentCount,
    installmentNumber: o.installmentNumber,
    iuv: o.iuv,
    kind: o.kind,
    plan: o.plan,
    retentionDate: o.retentionDate,
    transfers: mapArray(o.transfers, sortedTransfer),
  };
}

function sortedTransfer(t: ValidTransfer) {
  if (t === undefined || t === null) return t;
  return {
    amountCents: t.amountCents,
    fiscalCodePA: t.fiscalCodePA,
    iban: t.iban,
    idTransfer: t.idTransfer,
    metadata: mapArray(t.metadata, (m) => (m === undefined || m === null ? m : { key: m.key, value: m.value })),
    postalIban: t.postalIban,
    remittanceInformation: t.remittanceInformation,
    stamp: t.stamp && { hashDocument: t.stamp.hashDocument, provincialResidence: t.stamp.provincialResidence, stampType: t.stamp.stampType },
    taxonomyCode: t.taxonomyCode,
  };
}

/**
 * Reserves `n` IUV bases for the ente; the counter only moves forward. Bases taken by IUVs the
 * ente's software brought (external_iuvs, GPD API) are skipped, so an issued IUV never collides
 * with one of theirs; without such IUVs in the range the bases are consecutive.
 *
 * Several processes (PostgreSQL): the counter is moved before it is read, so the first statement
 * on it takes its row lock and a concurrent creation in another process waits for this
 * transaction to end; the range read afterwards is the one this transaction moved the counter
 * past, and the external IUVs recorded by a transaction that held the lock before are committed
 * and seen (READ COMMITTED: every statement sees what was committed before it started).
 */
async function allocateSequences(tx: DbTx, enteId: number, n: number): Promise<number[]> {
  if (n === 0) return [];
  const sqlite = dialectOf(tx) === 'sqlite';
  if (sqlite) await sqlRun(tx, 'INSERT OR IGNORE INTO iuv_sequences (ente_id, next_value) VALUES (?, 1)', enteId);
  const out: number[] = [];
  for (let wanted = n; wanted > 0; ) {
    let next: number;
    if (sqlite) {
      // UPDATE … RETURNING read with .get() costs ~300 µs in better-sqlite3 (the statement is run to
      // completion on reset); a separate SELECT in the same transaction costs ~15 µs. The IMMEDIATE
      // transaction already holds the database's write lock.
      await sqlRun(tx, 'UPDATE iuv_sequences SET next_value = next_value + ? WHERE ente_id = ?', wanted, enteId);
      next = (await sqlGet<{ next_value: number }>(tx, 'SELECT next_value FROM iuv_sequences WHERE ente_id = ?', enteId))!.next_value;
    } else {
      // One statement: creates the counter or moves it, holding its row lock to the end of the transaction.
      next = (await sqlGet<{ next_value: number }>(
        tx,
        `INSERT INTO iuv_sequences (ente_id, next_value) VALUES (?, 1 + CAST(? AS BIGINT))
         ON CONFLICT (ente_id) DO UPDATE SET next_value = iuv_sequences.next_value + excluded.next_value - 1 RETURNING next_value`,
        enteId,
        wanted,
      ))!.next_value;
    }
    const first = next - wanted;
    // One indexed range lookup (cached statement: this is the hot path of every creation).
    const taken = new Set(
      (await sqlAll<{ sequence: number }>(tx, 'SELECT sequence FROM external_iuvs WHERE ente_id = ? AND sequence >= ? AND sequence < ?', enteId, first, next)).map(
        (r) => r.sequence,
      ),
    );
    for (let seq = first; seq < next; seq++) if (!taken.has(seq)) out.push(seq);
    wanted = n - out.length;
  }
  return out;
}

/**
 * Claims the IUVs the caller brought (GPD API) for the ente: each must never have been issued —
 * not by the counter (its base is below the next value), not to any option, not to a deleted draft
 * (external_iuvs) — except those in `own` (the draft being replaced already holds them). Throws
 * {@link IuvNotAvailableError}; records the new ones.
 *
 * The counter is read with its row lock (PostgreSQL: `FOR UPDATE`, after creating it if missing;
 * SQLite: the IMMEDIATE transaction), so no other process can issue these bases between the check
 * and the commit of the external_iuvs rows that reserve them.
 */
async function claimExternalIuvs(tx: DbTx, ente: Ente, options: readonly ValidPaymentOption[], own: ReadonlySet<string> = new Set()): Promise<void> {
  let next: number | undefined;
  for (const o of options) {
    const iuv = o.iuv;
    if (iuv === undefined || own.has(iuv)) continue;
    next ??= await lockedNextValue(tx, ente.id);
    const sequence = Number(iuvSequence(iuv));
    if (
      sequence < next ||
      (await sqlGet(tx, 'SELECT id FROM external_iuvs WHERE ente_id = ? AND iuv = ?', ente.id, iuv)) ||
      (await sqlGet(tx, 'SELECT id FROM payment_options WHERE ente_id = ? AND iuv = ?', ente.id, iuv))
    ) {
      throw new IuvNotAvailableError(iuv);
    }
    await sqlRun(tx, 'INSERT INTO external_iuvs (ente_id, iuv, sequence) VALUES (?, ?, ?)', ente.id, iuv, sequence);
  }
}

/** The ente's next counter value, the counter's row locked until the transaction ends (1 before any IUV). */
async function lockedNextValue(tx: DbTx, enteId: number): Promise<number> {
  if (dialectOf(tx) === 'sqlite') {
    return (await sqlGet<{ next_value: number }>(tx, 'SELECT next_value FROM iuv_sequences WHERE ente_id = ?', enteId))?.next_value ?? 1;
  }
  // A no-op update of the counter (created at 1 if missing): takes the row lock and returns the value.
  return (await sqlGet<{ next_value: number }>(
    tx,
    'INSERT INTO iuv_sequences (ente_id, next_value) VALUES (?, 1) ON CONFLICT (ente_id) DO UPDATE SET next_value = iuv_sequences.next_value RETURNING next_value',
    enteId,
  ))!.next_value;
}

/** The platform's sequences for the options that bring no IUV of their own, in option order. */
async function sequencesFor(tx: DbTx, enteId: number, options: readonly ValidPaymentOption[]): Promise<(number | null)[]> {
  const issued = await allocateSequences(tx, enteId, options.filter((o) => o.iuv === undefined).length);
  let k = 0;
  return options.map((o) => (o.iuv === undefined ? issued[k++]! : null));
}

const INSERT_POSITION = `INSERT INTO positions (ente_id, service_id, iupd, debtor_type, debtor_fiscal_code, debtor_name, debtor_street, debtor_civic,
  debtor_postal_code, debtor_city, debtor_province, debtor_country, debtor_email, description, validity_date, switch_to_expired,
  status, payload_hash, version, published_at, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`;
const INSERT_OPTION = `INSERT INTO payment_options (position_id, ente_id, ordinal, kind, plan, installment_number, installment_count,
  description, amount_cents, due_date, retention_date, iuv, notice_number, status, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'unpaid', ?)`;
const INSERT_TRANSFER = `INSERT INTO transfers (option_id, id_transfer, fiscal_code_pa, amount_cents, iban, postal_iban,
  stamp_hash_document, stamp_type, stamp_provincial_residence, remittance_information, taxonomy_code, metadata)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Inserts an option with a new IUV (the caller's own when it brought one, else from `sequence`)
 * and its transfers; returns the stored option (without reading it back).
 */
async function insertOption(tx: DbTx, positionId: number, ente: Ente, ordinal: number, o: ValidPaymentOption, sequence: number | null, now: string): Promise<OptionDetail> {
  const iuv = o.iuv ?? buildIuv(ente.segregationCode, sequence!);
  const noticeNumber = noticeNumberFromIuv(iuv);
  const id = await insertId(
    tx, INSERT_OPTION,
    positionId, ente.id, ordinal, o.kind, o.plan, o.installmentNumber, o.installmentCount,
    o.description, o.amountCents, o.dueDate, o.retentionDate, iuv, noticeNumber, now,
  );
  return {
    id, positionId, enteId: ente.id, position: ordinal, kind: o.kind, plan: o.plan, installmentNumber: o.installmentNumber,
    installmentCount: o.installmentCount, description: o.description, amountCents: o.amountCents, dueDate: o.dueDate,
    retentionDate: o.retentionDate, iuv, noticeNumber, status: 'unpaid', paidAt: null, createdAt: now,
    transfers: await insertTransfers(tx, id, o),
  };
}

async function insertTransfers(tx: DbTx, optionId: number, o: ValidPaymentOption): Promise<OptionDetail['transfers']> {
  const out: OptionDetail['transfers'] = [];
  for (const t of o.transfers) {
    const metadata = JSON.stringify(t.metadata);
    const id = await insertId(
      tx, INSERT_TRANSFER,
      optionId, t.idTransfer, t.fiscalCodePA, t.amountCents, t.iban, t.postalIban, t.stamp?.hashDocument ?? null,
      t.stamp?.stampType ?? null, t.stamp?.provincialResidence ?? null, t.remittanceInformation, t.taxonomyCode, metadata,
    );
    out.push({
      id, optionId, idTransfer: t.idTransfer, fiscalCodePA: t.fiscalCodePA, amountCents: t.amountCents, iban: t.iban,
      postalIban: t.postalIban, stampHashDocument: t.stamp?.hashDocument ?? null, stampType: t.stamp?.stampType ?? null,
      stampProvincialResidence: t.stamp?.provincialResidence ?? null, remittanceInformation: t.remittanceInformation,
      taxonomyCode: t.taxonomyCode, metadata: t.metadata,
    });
  }
  return out;
}

function debtorColumns(v: ValidPosition) {
  return {
    debtorType: v.debtor.type,
    debtorFiscalCode: v.debtor.fiscalCode,
    debtorName: v.debtor.fullName,
    debtorStreet: v.debtor.streetName,
    debtorCivic: v.debtor.civicNumber,
    debtorPostalCode: v.debtor.postalCode,
    debtorCity: v.debtor.city,
    debtorProvince: v.debtor.province,
    debtorCountry: v.debtor.country,
    debtorEmail: v.debtor.email,
  };
}

export function generateIupd(): string {
  return `SAEL-${new Date().getFullYear()}-${crypto.randomBytes(9).toString('base64url')}`;
}

/**
 * Creations of one ente queue on this lock (PostgreSQL) before they look their iupds up, so two
 * processes given the same iupd at once never both insert it: the second sees the first's position
 * (replay or 409). They queue on the ente's IUV counter a few statements later anyway.
 */
const CREATE_LOCK = 'sael-pay:positions:create';

export interface CreateResult {
  position: PositionDetail;
  /** False when the same iupd with the same content already existed (idempotent replay). */
  created: boolean;
}

/**
 * Creates the position with one IUV per option. With the iupd of an existing position: same
 * payload → the existing one (created=false); different payload → PositionConflictError.
 */
export async function createPosition(
  db: Db,
  ente: Ente,
  service: PaymentService,
  write: PositionWrite,
  opts: { publish: boolean },
  by: Actor,
): Promise<CreateResult> {
  return await db.transaction(async (tx) => await createPositionInTx(tx, ente, service, write, opts, by), { behavior: 'immediate' });
}

/** The body of {@link createPosition}, for callers that batch several creations in one transaction. */
export async function createPositionInTx(
  tx: DbTx,
  ente: Ente,
  service: PaymentService,
  write: PositionWrite,
  opts: { publish: boolean },
  by: Actor,
): Promise<CreateResult> {
  const payloadHash = positionPayloadHash(service.code, write, opts.publish);
  const iupd = write.value.iupd ?? generateIupd();
  await lockForTransaction(tx, CREATE_LOCK, ente.id);
  const existing = await sqlGet<{ id: number; payload_hash: string }>(tx, 'SELECT id, payload_hash FROM positions WHERE ente_id = ? AND iupd = ?', ente.id, iupd);
  if (existing) {
    if (existing.payload_hash !== payloadHash) {
      throw new PositionConflictError(`Esiste già una posizione con iupd ${iupd} e contenuto diverso.`);
    }
    return { position: (await getPositionById(tx, ente.id, existing.id))!, created: false };
  }
  // Plain prepared statements (the same as the bulk creation below).
  const now = new Date().toISOString();
  const d = debtorColumns(write.value);
  const row: PositionRow = {
    id: 0,
    enteId: ente.id,
    serviceId: service.id,
    iupd,
    ...d,
    description: write.value.description,
    validityDate: write.value.validityDate,
    switchToExpired: write.switchToExpired,
    status: opts.publish ? 'published' : 'draft',
    payloadHash,
    version: 1,
    publishedAt: opts.publish ? now : null,
    cancelledAt: null,
    createdAt: now,
    updatedAt: now,
  };
  row.id = await insertId(
    tx, INSERT_POSITION,
    row.enteId, row.serviceId, iupd, d.debtorType, d.debtorFiscalCode, d.debtorName, d.debtorStreet, d.debtorCivic,
    d.debtorPostalCode, d.debtorCity, d.debtorProvince, d.debtorCountry, d.debtorEmail, row.description, row.validityDate,
    row.switchToExpired ? 1 : 0, row.status, payloadHash, row.publishedAt, now, now,
  );
  await claimExternalIuvs(tx, ente, write.value.paymentOptions);
  const sequences = await sequencesFor(tx, ente.id, write.value.paymentOptions);
  const options: OptionDetail[] = [];
  for (const [i, o] of write.value.paymentOptions.entries()) options.push(await insertOption(tx, row.id, ente, i, o, sequences[i]!, now));
  const detail: PositionDetail = { ...row, options };
  await recordAudit(tx, { ...by, action: 'create', entity: 'position', entityId: row.id, enteId: ente.id, after: summary(detail) });
  if (opts.publish) await enqueueAcaSync(tx, detail);
  return { position: detail, created: true };
}

/** One position of {@link createPositionsInTx}. */
export interface BulkPosition {
  service: PaymentService;
  write: PositionWrite;
}

/** What became of one position of a bulk creation (see {@link createPositionInTx} for the rules). */
export type BulkOutcome = 'created' | 'unchanged' | 'conflict';

/** iupds looked up per SELECT (the list is padded to this length, so one statement serves all). */
const LOOKUP_CHUNK = 100;
const LOOKUP_EXISTING = `SELECT iupd, payload_hash FROM positions WHERE ente_id = ? AND iupd IN (${Array.from({ length: LOOKUP_CHUNK }, () => '?').join(', ')})`;

/**
 * Creates many positions of one ente in the caller's IMMEDIATE transaction (the CSV import): per
 * position the same rows as {@link createPositionInTx} — IUVs from the ente's counter in input
 * order, one audit row naming the position, one outbox row per option when published — and the
 * same outcome for an iupd that exists (same payload: unchanged; different: conflict, nothing
 * written). What it saves: one lookup of the existing iupds and one counter update per batch, no
 * ente lookup per outbox row, and no detail objects built, read back or returned. The timestamps
 * (created, updated, published) are the batch's.
 *
 * Rows go in one at a time on cached statements, like the single creation: multi-row INSERTs
 * measured slower (SQLite keeps a statement journal for them, a temporary file written page by
 * page).
 */
export async function createPositionsInTx(tx: DbTx, ente: Ente, items: readonly BulkPosition[], opts: { publish: boolean }, by: Actor): Promise<BulkOutcome[]> {
  const outcomes: BulkOutcome[] = [];
  if (items.length === 0) return outcomes;
  const hashes: string[] = [];
  const iupds: string[] = [];
  for (const item of items) {
    hashes.push(positionPayloadHash(item.service.code, item.write, opts.publish));
    iupds.push(item.write.value.iupd ?? generateIupd());
  }

  // Which iupds exist already (payload hash of each); an iupd twice in the batch meets its first copy.
  await lockForTransaction(tx, CREATE_LOCK, ente.id);
  const known = new Map<string, string>();
  for (let start = 0; start < iupds.length; start += LOOKUP_CHUNK) {
    const chunk = iupds.slice(start, start + LOOKUP_CHUNK);
    while (chunk.length < LOOKUP_CHUNK) chunk.push(chunk[0]!);
    for (const r of await sqlAll<{ iupd: string; payload_hash: string }>(tx, LOOKUP_EXISTING, ente.id, ...chunk)) known.set(r.iupd, r.payload_hash);
  }
  const fresh: number[] = [];
  let optionCount = 0;
  for (let i = 0; i < items.length; i++) {
    const existing = known.get(iupds[i]!);
    if (existing !== undefined) {
      outcomes.push(existing === hashes[i] ? 'unchanged' : 'conflict');
      continue;
    }
    known.set(iupds[i]!, hashes[i]!);
    outcomes.push('created');
    fresh.push(i);
    optionCount += items[i]!.write.value.paymentOptions.length;
  }
  if (fresh.length === 0) return outcomes;

  // The CSV import brings no IUVs: every option takes one of the counter's.
  const sequences = await allocateSequences(tx, ente.id, optionCount);
  let next = 0;
  const now = new Date().toISOString();
  const status: PositionStatus = opts.publish ? 'published' : 'draft';
  const publishedAt = opts.publish ? now : null;
  const published: AcaPosition[] = [];
  for (const i of fresh) {
    const { write, service } = items[i]!;
    const v = write.value;
    const d = v.debtor;
    const iupd = iupds[i]!;
    const id = await insertId(
      tx, INSERT_POSITION,
      ente.id, service.id, iupd, d.type, d.fiscalCode, d.fullName, d.streetName, d.civicNumber, d.postalCode, d.city, d.province,
      d.country, d.email, v.description, v.validityDate, write.switchToExpired ? 1 : 0, status, hashes[i], publishedAt, now, now,
    );
    const options: (AcaPosition['options'][number] & SummarySource['options'][number])[] = [];
    for (let k = 0; k < v.paymentOptions.length; k++) {
      const o = v.paymentOptions[k]!;
      const iuv = buildIuv(ente.segregationCode, sequences[next++]!);
      const noticeNumber = noticeNumberFromIuv(iuv, { verifyCheckDigit: false }); // built just above
      const optionId = await insertId(
        tx, INSERT_OPTION,
        id, ente.id, k, o.kind, o.plan, o.installmentNumber, o.installmentCount, o.description, o.amountCents, o.dueDate, o.retentionDate,
        iuv, noticeNumber, now,
      );
      for (const t of o.transfers) {
        await sqlRun(
          tx, INSERT_TRANSFER,
          optionId, t.idTransfer, t.fiscalCodePA, t.amountCents, t.iban, t.postalIban, t.stamp?.hashDocument ?? null, t.stamp?.stampType ?? null,
          t.stamp?.provincialResidence ?? null, t.remittanceInformation, t.taxonomyCode, JSON.stringify(t.metadata),
        );
      }
      options.push({ iuv, noticeNumber, status: 'unpaid', amountCents: o.amountCents, description: o.description, dueDate: o.dueDate, transfers: o.transfers });
    }
    const created = {
      enteId: ente.id, iupd, status, version: 1, publishedAt, debtorType: d.type, debtorFiscalCode: d.fiscalCode, debtorName: d.fullName,
      description: v.description, switchToExpired: write.switchToExpired, options,
    };
    await recordAudit(tx, { actor: by.actor, requestId: by.requestId, action: 'create', entity: 'position', entityId: id, enteId: ente.id, after: summary(created) });
    if (opts.publish) published.push(created);
  }
  await enqueueAcaSyncMany(tx, ente.id, ente.fiscalCode, published, Date.now());
  return outcomes;
}

/** What {@link summary} reads: a stored position, or one that a bulk import is creating. */
interface SummarySource {
  iupd: string;
  status: PositionStatus;
  version: number;
  debtorFiscalCode: string;
  description: string;
  options: readonly {
    iuv: string;
    amountCents: number;
    dueDate: string;
    status: OptionRow['status'];
    transfers: readonly { idTransfer: number; fiscalCodePA: string; amountCents: number; iban: string | null }[];
  }[];
}

/** What the audit log keeps of a position: state and money, not the whole row. */
function summary(p: SummarySource) {
  return {
    iupd: p.iupd,
    status: p.status,
    version: p.version,
    debtorFiscalCode: p.debtorFiscalCode,
    description: p.description,
    options: p.options.map((o) => ({
      iuv: o.iuv,
      amountCents: o.amountCents,
      dueDate: o.dueDate,
      status: o.status,
      transfers: o.transfers.map((t) => ({ id: t.idTransfer, cf: t.fiscalCodePA, amountCents: t.amountCents, iban: t.iban })),
    })),
  };
}

async function loadDetail(db: DbLike, row: PositionRow): Promise<PositionDetail> {
  return (await loadDetails(db, [row]))[0]!;
}

/** Loads options and transfers for many positions with two queries. */
export async function loadDetails(db: DbLike, rows: PositionRow[]): Promise<PositionDetail[]> {
  if (rows.length === 0) return [];
  const options = await db
      .select()
      .from(paymentOptions)
      .where(inArray(paymentOptions.positionId, rows.map((r) => r.id)))
      .orderBy(asc(paymentOptions.positionId), asc(paymentOptions.position));
  const transferRows = options.length
    ? await db.select().from(transfers).where(inArray(transfers.optionId, options.map((o) => o.id))).orderBy(asc(transfers.idTransfer))
    : [];
  const byOption = new Map<number, OptionDetail['transfers']>();
  for (const t of transferRows) {
    const list = byOption.get(t.optionId) ?? [];
    list.push({ ...t, metadata: JSON.parse(t.metadata) as { key: string; value: string }[] });
    byOption.set(t.optionId, list);
  }
  const byPosition = new Map<number, OptionDetail[]>();
  for (const o of options) {
    const list = byPosition.get(o.positionId) ?? [];
    list.push({ ...o, transfers: byOption.get(o.id) ?? [] });
    byPosition.set(o.positionId, list);
  }
  return rows.map((r) => ({ ...r, options: byPosition.get(r.id) ?? [] }));
}

export async function getPositionByIupd(db: DbLike, enteId: number, iupd: string): Promise<PositionDetail | undefined> {
  const row = (await db
      .select()
      .from(positions)
      .where(and(eq(positions.enteId, enteId), eq(positions.iupd, iupd))).limit(1))[0];
  return row ? await loadDetail(db, row) : undefined;
}

export async function getPositionById(db: DbLike, enteId: number, id: number): Promise<PositionDetail | undefined> {
  const row = (await db
      .select()
      .from(positions)
      .where(and(eq(positions.enteId, enteId), eq(positions.id, id))).limit(1))[0];
  return row ? await loadDetail(db, row) : undefined;
}

/** The option with this notice number at the ente with this fiscal code, with its position. */
export async function findByNoticeNumber(
  db: DbLike,
  enteId: number,
  noticeNumber: string,
): Promise<{ position: PositionDetail; option: OptionDetail } | undefined> {
  const opt = (await db
      .select({ positionId: paymentOptions.positionId })
      .from(paymentOptions)
      .where(and(eq(paymentOptions.enteId, enteId), eq(paymentOptions.noticeNumber, noticeNumber))).limit(1))[0];
  if (!opt) return undefined;
  const row = (await db.select().from(positions).where(eq(positions.id, opt.positionId)).limit(1))[0]!;
  const position = await loadDetail(db, row);
  return { position, option: position.options.find((o) => o.noticeNumber === noticeNumber)! };
}

export interface PositionFilter {
  enteIds: number[];
  status?: PositionStatus;
  serviceId?: number;
  /** Fiscal code (exact) or part of the name. */
  debtor?: string;
  dueFrom?: string;
  dueTo?: string;
  /** Notice number or IUV, also partial. */
  notice?: string;
  /** Only positions with a smaller id (see {@link listPositionsChunk}). */
  beforeId?: number;
  page: number;
  pageSize: number;
}

/** The WHERE clause of a filter (every condition uses an index but the partial notice and name searches). */
function positionWhere(f: Omit<PositionFilter, 'page' | 'pageSize'>): SQL | undefined {
  const conditions: (SQL | undefined)[] = [inArray(positions.enteId, f.enteIds)];
  if (f.status) conditions.push(eq(positions.status, f.status));
  if (f.serviceId) conditions.push(eq(positions.serviceId, f.serviceId));
  if (f.debtor) {
    const term = f.debtor.trim();
    const code = term.toUpperCase();
    // A whole fiscal code or partita IVA is looked up by the index; anything else is also a part of the name.
    if (/^[A-Z0-9]{16}$/.test(code) || /^[0-9]{11}$/.test(code)) conditions.push(eq(positions.debtorFiscalCode, code));
    // lower() on both sides: LIKE ignores (ASCII) case on SQLite, not on PostgreSQL.
    else conditions.push(or(eq(positions.debtorFiscalCode, code), sql`lower(${positions.debtorName}) LIKE ${`%${escapeLike(term).toLowerCase()}%`}`));
  }
  const optionConds: SQL[] = [];
  if (f.dueFrom) optionConds.push(gte(paymentOptions.dueDate, f.dueFrom));
  if (f.dueTo) optionConds.push(lte(paymentOptions.dueDate, f.dueTo));
  if (f.notice) {
    const digits = f.notice.replace(/\D/g, '');
    // A whole notice number (18 digits, longer than any IUV) by the index; a part of one by scanning.
    if (digits.length === 18) optionConds.push(eq(paymentOptions.noticeNumber, digits));
    else if (digits) optionConds.push(or(like(paymentOptions.noticeNumber, `%${digits}%`), like(paymentOptions.iuv, `%${digits}%`))!);
  }
  if (optionConds.length) {
    // Positions with one option meeting every condition, found through the options' own indexes.
    conditions.push(
      sql`${positions.id} IN (SELECT ${paymentOptions.positionId} FROM ${paymentOptions} WHERE ${and(inArray(paymentOptions.enteId, f.enteIds), ...optionConds)})`,
    );
  }
  if (f.beforeId !== undefined) conditions.push(lt(positions.id, f.beforeId));
  return and(...conditions);
}

export async function listPositions(db: DbLike, f: PositionFilter): Promise<{ items: PositionDetail[]; total: number }> {
  if (f.enteIds.length === 0) return { items: [], total: 0 };
  const where = positionWhere(f);
  const total = (await db.select({ n: count() }).from(positions).where(where).limit(1))[0]!.n;
  const rows = await db
      .select()
      .from(positions)
      .where(where)
      .orderBy(desc(positions.id))
      .limit(f.pageSize)
      .offset((f.page - 1) * f.pageSize);
  return { items: await loadDetails(db, rows), total };
}

/**
 * Up to `limit` positions of the filter, newest first, older than `f.beforeId` when given: a long
 * list (the CSV export) is walked this way, each chunk from where the last one ended, without
 * counting or skipping rows.
 */
export async function listPositionsChunk(db: DbLike, f: Omit<PositionFilter, 'page' | 'pageSize'>, limit: number): Promise<PositionDetail[]> {
  if (f.enteIds.length === 0) return [];
  const rows = await db.select().from(positions).where(positionWhere(f)).orderBy(desc(positions.id)).limit(limit);
  return await loadDetails(db, rows);
}

/** Every position of the filter, newest first, read `chunk` at a time with {@link listPositionsChunk}. */
export async function* positionsNewestFirst(db: DbLike, f: Omit<PositionFilter, 'page' | 'pageSize' | 'beforeId'>, chunk: number): AsyncGenerator<PositionDetail> {
  for (let beforeId: number | undefined; ; ) {
    const items = await listPositionsChunk(db, { ...f, beforeId }, chunk);
    yield* items;
    if (items.length < chunk) return;
    beforeId = items[items.length - 1]!.id;
  }
}

function escapeLike(s: string): string {
  return s.replace(/[%_]/g, '');
}

const EDITABLE: PositionStatus[] = ['draft', 'published', 'partially_paid'];

/**
 * Replaces the content of a position. Drafts may change anything (new IUVs for new options);
 * published positions keep their options (same count, kind and plan, same IUVs) and may change
 * debtor, description and unpaid options; a paid option must stay exactly as it is.
 */
export async function updatePosition(
  db: Db,
  ente: Ente,
  service: PaymentService,
  iupd: string,
  write: PositionWrite,
  opts: { expectedVersion?: number },
  by: Actor,
): Promise<PositionDetail> {
  return await db.transaction(
      async (tx) => {
        const before = await getPositionByIupd(tx, ente.id, iupd);
        if (!before) throw new PositionNotFoundError();
        if (!EDITABLE.includes(before.status)) {
          throw new PositionConflictError(`La posizione è ${STATUS_LABELS[before.status]} e non può essere modificata.`);
        }
        if (opts.expectedVersion !== undefined && opts.expectedVersion !== before.version) {
          throw new PositionConflictError('La posizione è stata modificata da qualcun altro nel frattempo: ricarica e riprova.');
        }
        const v = { ...write.value, iupd };
        const payloadHash = positionPayloadHash(service.code, { ...write, value: v }, before.status !== 'draft');
        await tx.update(positions)
                    .set({
                      serviceId: service.id,
                      ...debtorColumns(v),
                      description: v.description,
                      validityDate: v.validityDate,
                      switchToExpired: write.switchToExpired,
                      payloadHash,
                      version: before.version + 1,
                      updatedAt: new Date().toISOString(),
                    })
                    .where(eq(positions.id, before.id));
        if (before.status === 'draft') {
          // An option edited without an IUV (form, /api/v1) keeps the one the ente's software brought
          // for it (GPD): its numbering stays the client's, and the client's IUVs stay valid.
          const options: ValidPaymentOption[] = [];
          for (const [i, o] of v.paymentOptions.entries()) {
            const old = before.options[i]?.iuv;
            const external = o.iuv === undefined && old !== undefined && (await sqlGet(tx, 'SELECT id FROM external_iuvs WHERE ente_id = ? AND iuv = ?', ente.id, old));
            options.push(external ? { ...o, iuv: old } : o);
          }
          await tx.delete(paymentOptions).where(eq(paymentOptions.positionId, before.id));
          await claimExternalIuvs(tx, ente, options, new Set(before.options.map((o) => o.iuv)));
          const sequences = await sequencesFor(tx, ente.id, options);
          const now = new Date().toISOString();
          for (const [i, o] of options.entries()) await insertOption(tx, before.id, ente, i, o, sequences[i]!, now);
        } else {
          if (v.paymentOptions.length !== before.options.length) {
            throw new PositionConflictError('Una posizione pubblicata mantiene le sue opzioni di pagamento: non se ne possono aggiungere o togliere.');
          }
          for (const [i, o] of v.paymentOptions.entries()) {
            const old = before.options[i]!;
            if (o.kind !== old.kind || o.plan !== old.plan || o.installmentNumber !== old.installmentNumber) {
              throw new PositionConflictError(`L’opzione di pagamento n. ${i + 1} non può cambiare tipo o rata dopo la pubblicazione.`);
            }
            if (o.iuv !== undefined && o.iuv !== old.iuv) {
              throw new PositionConflictError(`L’opzione di pagamento n. ${i + 1} mantiene lo IUV ${old.iuv} dopo la pubblicazione.`);
            }
            if (old.status !== 'unpaid') {
              if (!sameOption(o, old)) throw new PositionConflictError(`L’opzione di pagamento n. ${i + 1} è già pagata e non può cambiare.`);
              continue;
            }
            await tx.update(paymentOptions)
                          .set({ description: o.description, amountCents: o.amountCents, dueDate: o.dueDate, retentionDate: o.retentionDate, installmentCount: o.installmentCount })
                          .where(eq(paymentOptions.id, old.id));
            await tx.delete(transfers).where(eq(transfers.optionId, old.id));
            insertTransfers(tx, old.id, o);
          }
        }
        const after = (await getPositionByIupd(tx, ente.id, iupd))!;
        await recordAudit(tx, { ...by, action: 'update', entity: 'position', entityId: before.id, enteId: ente.id, before: summary(before), after: summary(after) });
        await enqueueAcaSync(tx, after);
        return after;
      },
      { behavior: 'immediate' },
    );
}

function sameOption(o: ValidPaymentOption, old: OptionDetail): boolean {
  return (
    o.amountCents === old.amountCents &&
    o.dueDate === old.dueDate &&
    o.transfers.length === old.transfers.length &&
    o.transfers.every((t, i) => {
      const ot = old.transfers[i]!;
      return t.amountCents === ot.amountCents && t.fiscalCodePA === ot.fiscalCodePA && t.iban === ot.iban && t.postalIban === ot.postalIban;
    })
  );
}

export class PositionNotFoundError extends Error {
  constructor() {
    super('Posizione non trovata.');
    this.name = 'PositionNotFoundError';
  }
}

export const STATUS_LABELS: Record<PositionStatus, string> = {
  draft: 'in bozza',
  published: 'pubblicata',
  partially_paid: 'pagata in parte',
  paid: 'pagata',
  expired: 'scaduta',
  cancelled: 'annullata',
};

async function transition(
  db: Db,
  enteId: number,
  iupd: string,
  action: string,
  allowed: PositionStatus[],
  apply: (tx: DbTx, p: PositionDetail, now: string) => void,
  by: Actor,
): Promise<PositionDetail> {
  return await db.transaction(
      async (tx) => {
        const before = await getPositionByIupd(tx, enteId, iupd);
        if (!before) throw new PositionNotFoundError();
        if (!allowed.includes(before.status)) {
          throw new PositionConflictError(`La posizione è ${STATUS_LABELS[before.status]}: operazione non consentita.`);
        }
        // One instant for the transition and updated_at (a publication's published_at equals it,
        // so "changed since its publication" is updated_at > published_at: gpd/index.ts).
        const now = new Date().toISOString();
        apply(tx, before, now);
        await tx.update(positions)
                    .set({ version: before.version + 1, updatedAt: now })
                    .where(eq(positions.id, before.id));
        const after = (await getPositionByIupd(tx, enteId, iupd))!;
        await recordAudit(tx, { ...by, action, entity: 'position', entityId: before.id, enteId, before: summary(before), after: summary(after) });
        await enqueueAcaSync(tx, after);
        return after;
      },
      { behavior: 'immediate' },
    );
}

/**
 * Deletes a draft (never published, so never payable): its rows go, the audit row stays. Its IUVs
 * are not issued again (the counter only moves forward; brought IUVs stay in external_iuvs).
 */
export async function deleteDraftPosition(db: Db, enteId: number, iupd: string, by: Actor): Promise<void> {
  await db.transaction(
        async (tx) => {
          const before = await getPositionByIupd(tx, enteId, iupd);
          if (!before) throw new PositionNotFoundError();
          if (before.status !== 'draft') {
            throw new PositionConflictError(`La posizione è ${STATUS_LABELS[before.status]}: si possono eliminare solo le bozze (le altre si annullano).`);
          }
          try {
            await tx.delete(positions).where(eq(positions.id, before.id));
          } catch (err) {
            // A record elsewhere (a catalogue charge, a payment attempt) still points at the draft.
            if (constraintViolation(err) === 'foreign_key') throw new PositionConflictError('La bozza è collegata ad altri dati e non può essere eliminata: annullala.');
            throw err;
          }
          await recordAudit(tx, { ...by, action: 'delete', entity: 'position', entityId: before.id, enteId, before: summary(before) });
        },
        { behavior: 'immediate' },
      );
}

export async function publishPosition(db: Db, enteId: number, iupd: string, by: Actor): Promise<PositionDetail> {
  return await transition(db, enteId, iupd, 'publish', ['draft'], async (tx, p, now) => {
      await tx.update(positions).set({ status: 'published', publishedAt: now }).where(eq(positions.id, p.id));
    }, by);
}

/** Cancels a position: unpaid options become cancelled (their IUVs are never reused); paid ones stay. */
export async function cancelPosition(db: Db, enteId: number, iupd: string, by: Actor): Promise<PositionDetail> {
  return await transition(db, enteId, iupd, 'cancel', ['draft', 'published', 'partially_paid', 'expired'], async (tx, p) => {
      await tx.update(paymentOptions)
              .set({ status: 'cancelled' })
              .where(and(eq(paymentOptions.positionId, p.id), eq(paymentOptions.status, 'unpaid')));
      await tx.update(positions).set({ status: 'cancelled', cancelledAt: new Date().toISOString() }).where(eq(positions.id, p.id));
    }, by);
}

/**
 * Marks as expired the published positions with switchToExpired whose unpaid options are all
 * past due on `today` (ISO date). Returns how many changed.
 */
export async function expirePositions(db: Db, today: string, by: Actor): Promise<number> {
  return await db.transaction(
      async (tx) => {
        const due = await tx
                .select({ id: positions.id, enteId: positions.enteId })
                .from(positions)
                .where(
                  and(
                    eq(positions.switchToExpired, true),
                    inArray(positions.status, ['published', 'partially_paid']),
                    sql`NOT EXISTS (SELECT 1 FROM ${paymentOptions} WHERE ${paymentOptions.positionId} = ${positions.id}
                 AND ${paymentOptions.status} = 'unpaid' AND ${paymentOptions.dueDate} >= ${today})`,
                  ),
                );
        for (const p of due) {
          await tx.update(positions).set({ status: 'expired', updatedAt: new Date().toISOString() }).where(eq(positions.id, p.id));
          await recordAudit(tx, { ...by, action: 'expire', entity: 'position', entityId: p.id, enteId: p.enteId, after: { status: 'expired', today } });
        }
        return due.length;
      },
      { behavior: 'immediate' },
    );
}
