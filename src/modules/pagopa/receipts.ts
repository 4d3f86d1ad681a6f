/**
 * Receipts (paSendRT / paSendRTV2): reading the ctReceipt, storing it with its transfers and the
 * raw XML in ONE immediate transaction keyed by (idPA, fiscalCode, IUV, receiptId), and applying
 * the payment to the position in the same transaction — all before the station answers OK.
 *
 * Rules (pagopa.md §3, §5; decisions where the spec is silent are marked *):
 * - A replay (same key) changes nothing; the station answers OK or PAA_RECEIPT_DUPLICATA
 *   (setting PAGOPA_RECEIPT_REPLAY_ANSWER).
 * - We are a secondary beneficiary when receipt.fiscalCode ≠ idPA: the copy is stored
 *   (`secondary`) and no position changes (the owner's own copy does that).
 * - Receipts are never refused: unknown notice, draft*, cancelled position, option already paid
 *   or closed, outcome KO → stored as `flagged` with an open anomaly, no state change.
 * - Expired position*: the money was collected, so the option is marked paid as usual, plus an
 *   anomaly for the helpdesk.
 * - Amounts that do not add up (Σ transfers ≠ paymentAmount, or paymentAmount ≠ the option
 *   amount)*: the payment is applied (the node took the amount from our paGetPayment) and an
 *   anomaly is raised.
 * - Plans*: paying the single option pays the position and closes (status `cancelled`, IUVs never
 *   reused) every other unpaid option, plan installments included; paying an installment closes
 *   the single option and the other plans' installments, and the position is `partially_paid`
 *   until every installment of that plan is paid, then `paid`. Closed options answer
 *   PAA_PAGAMENTO_DUPLICATO to the node (payment-state.ts).
 * - Checkout carts whose notices are all paid become `paid`.
 */
import { constraintViolation } from '../../db/errors.js';
import type { Db, DbLike } from '../../db/client.js';
import { createGroupCommit } from '../../db/group-commit.js';
import { dialectOf, sqlAll, sqlGet, sqlRun } from '../../db/raw.js';
import { recordAudit } from '../../plugins/audit/index.js';
import type { Ente } from '../enti/repository.js';
import { getEnteByFiscalCode } from '../enti/repository.js';
import { enqueueAcaSync, enqueueAcaSyncMany } from '../positions/aca-outbox.js';
import { insertIdOrNone } from '../positions/insert-id.js';
import type { OptionDetail, PositionDetail } from '../positions/repository.js';
import { formatEuro } from '../../domain/money.js';
import { formatOffset, italianOffsetMinutes } from '../../domain/italian-time.js';
import { optionKindLabel } from './payment-state.js';
import { amountToCents, child, children, text } from './soap.js';
import { findForStation, stationQueries } from './station-queries.js';
import type { AnomalyType } from './schema.js';

export interface Subject {
  type: string;
  fiscalCode: string;
  fullName: string;
  streetName?: string;
  civicNumber?: string;
  postalCode?: string;
  city?: string;
  stateProvinceRegion?: string;
  country?: string;
  email?: string;
}

export interface ReceiptTransferIn {
  idTransfer: number;
  amountCents: number;
  fiscalCodePA: string;
  companyName?: string;
  iban?: string;
  mbdAttachment?: string;
  remittanceInformation: string;
  transferCategory: string;
  metadata: { key: string; value: string }[];
}

export interface ReceiptIn {
  receiptId: string;
  noticeNumber: string;
  fiscalCode: string;
  outcome: 'OK' | 'KO';
  creditorReferenceId: string;
  paymentAmountCents: number;
  description: string;
  companyName: string;
  officeName?: string;
  debtor: Subject;
  transfers: ReceiptTransferIn[];
  idPSP: string;
  pspFiscalCode?: string;
  pspPartitaIva?: string;
  pspCompanyName: string;
  idChannel: string;
  channelDescription: string;
  payer?: Subject;
  paymentMethod?: string;
  paymentNote?: string;
  feeCents?: number;
  primaryCiIncurredFeeCents?: number;
  idBundle?: string;
  idCiBundle?: string;
  paymentDateTime?: string;
  applicationDate?: string;
  transferDate?: string;
  metadata: { key: string; value: string }[];
  standIn: boolean;
}

function metadataOf(el: Element | undefined): { key: string; value: string }[] {
  return children(child(el, 'metadata'), 'mapEntry').map((m) => ({ key: text(m, 'key') ?? '', value: text(m, 'value') ?? '' }));
}

function subjectOf(el: Element | undefined): Subject | undefined {
  if (!el) return undefined;
  const opt = (n: string) => text(el, n) || undefined;
  return {
    type: text(el, 'uniqueIdentifier/entityUniqueIdentifierType') ?? '',
    fiscalCode: (text(el, 'uniqueIdentifier/entityUniqueIdentifierValue') ?? '').toUpperCase(),
    fullName: text(el, 'fullName') ?? '',
    streetName: opt('streetName'),
    civicNumber: opt('civicNumber'),
    postalCode: opt('postalCode'),
    city: opt('city'),
    stateProvinceRegion: opt('stateProvinceRegion'),
    country: opt('country'),
    email: opt('e-mail'),
  };
}

/**
 * A date-time of the node as an ISO string with its offset. The node writes Italian local time
 * without an offset (the SANP examples, e.g. `2021-10-01T17:48:22`, and the receipts of the
 * platform are in the Europe/Rome zone), so a value without `Z` or `±hh:mm` is read as Italian time
 * and gets the offset in force at that moment (`+01:00` or `+02:00`); the wall time is kept, so
 * its first 10 characters stay the Italian date. Values with an offset, or not a date-time, are kept.
 */
export function nodeDateTime(value: string | undefined): string | undefined {
  if (!value) return value;
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?$/.exec(value);
  if (!m) return value;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  // The offset at the instant (two passes settle the DST changes; an hour that does not exist gets the later offset).
  let offset = italianOffsetMinutes(wall - 60 * 60_000);
  offset = italianOffsetMinutes(wall - offset * 60_000);
  return `${value}${formatOffset(offset)}`;
}

/** Reads a ctReceipt / ctReceiptV2 element already validated against the XSD. */
export function readReceipt(receipt: Element): ReceiptIn {
  const req = (n: string) => text(receipt, n) ?? '';
  const opt = (n: string) => text(receipt, n) || undefined;
  return {
    receiptId: req('receiptId'),
    noticeNumber: req('noticeNumber'),
    fiscalCode: req('fiscalCode'),
    outcome: req('outcome') === 'KO' ? 'KO' : 'OK',
    creditorReferenceId: req('creditorReferenceId'),
    paymentAmountCents: amountToCents(req('paymentAmount')) ?? 0,
    description: req('description'),
    companyName: req('companyName'),
    officeName: opt('officeName'),
    debtor: subjectOf(child(receipt, 'debtor'))!,
    transfers: children(child(receipt, 'transferList'), 'transfer').map((t) => ({
      idTransfer: Number(text(t, 'idTransfer')),
      amountCents: amountToCents(text(t, 'transferAmount')) ?? 0,
      fiscalCodePA: text(t, 'fiscalCodePA') ?? '',
      companyName: text(t, 'companyName') || undefined,
      iban: text(t, 'IBAN') || undefined,
      mbdAttachment: text(t, 'MBDAttachment') || undefined,
      remittanceInformation: text(t, 'remittanceInformation') ?? '',
      transferCategory: text(t, 'transferCategory') ?? '',
      metadata: metadataOf(t),
    })),
    idPSP: req('idPSP'),
    pspFiscalCode: opt('pspFiscalCode'),
    pspPartitaIva: opt('pspPartitaIVA'),
    pspCompanyName: req('PSPCompanyName'),
    idChannel: req('idChannel'),
    channelDescription: req('channelDescription'),
    payer: subjectOf(child(receipt, 'payer')),
    paymentMethod: opt('paymentMethod'),
    paymentNote: opt('paymentNote'),
    feeCents: amountToCents(opt('fee')),
    primaryCiIncurredFeeCents: amountToCents(opt('primaryCiIncurredFee')),
    idBundle: opt('idBundle'),
    idCiBundle: opt('idCiBundle'),
    paymentDateTime: nodeDateTime(opt('paymentDateTime')),
    applicationDate: opt('applicationDate'),
    transferDate: opt('transferDate'),
    metadata: metadataOf(receipt),
    standIn: opt('standIn') === 'true' || opt('standIn') === '1',
  };
}

export type StoreOutcome =
  | { kind: 'stored'; receiptRowId: number; processing: 'applied' | 'secondary' | 'flagged'; anomalies: AnomalyType[] }
  | { kind: 'duplicate'; receiptRowId: number };

export interface StoreInput {
  receiver: Ente;
  primitive: 'paSendRT' | 'paSendRTV2';
  receipt: ReceiptIn;
  rawXml: string;
  requestId?: string;
  /** Italian date of today (expiry checks are not repeated here; only the position state counts). */
  now?: Date;
}

const ACTOR = 'pagopa-node';

async function existing(tx: DbLike, idPA: string, r: ReceiptIn): Promise<number | undefined> {
  const row = await sqlGet<{ id: number }>(tx, 'SELECT id FROM receipts WHERE id_pa = ? AND fiscal_code = ? AND iuv = ? AND receipt_id = ?', idPA, r.fiscalCode, r.creditorReferenceId, r.receiptId);
  return row?.id;
}

function isUniqueViolation(err: unknown): boolean {
  return constraintViolation(err) === 'unique';
}

/**
 * Stores the receipt and applies it, in one IMMEDIATE transaction. Idempotent on the receipt key
 * (a concurrent duplicate that loses the race is reported as `duplicate`, never an error).
 */
export async function storeReceipt(db: Db, input: StoreInput): Promise<StoreOutcome> {
  try {
    return await db.transaction(async (tx) => storeInTx(tx, input), { behavior: 'immediate' });
  } catch (err) {
    if (isUniqueViolation(err)) {
      const id = await existing(db, input.receiver.fiscalCode, input.receipt);
      if (id !== undefined) return { kind: 'duplicate', receiptRowId: id };
    }
    throw err;
  }
}

/**
 * Group commit for the station (db/group-commit.ts): receipts that arrive together (the node sends
 * many at once) are stored in ONE immediate transaction, each inside its own savepoint, and every
 * caller gets its outcome only after that transaction commits. A receipt that fails rolls back
 * alone; a duplicate key raced by another process is answered as a duplicate; if the commit itself
 * fails, every receipt of the group gets the error (none of them was stored).
 */
export interface ReceiptBatcher {
  store(input: StoreInput): Promise<StoreOutcome>;
}

export function createReceiptBatcher(db: Db): ReceiptBatcher {
  const commits = createGroupCommit(db, { maxGroup: 64, behavior: 'immediate' });
  return {
    store: (input) =>
      commits.run<StoreOutcome>({
        work: (sp) => storeInTx(sp, input),
        recover: async (tx, err) => {
          const id = isUniqueViolation(err) ? await existing(tx, input.receiver.fiscalCode, input.receipt) : undefined;
          return id !== undefined ? { kind: 'duplicate', receiptRowId: id } : undefined;
        },
      }),
  };
}

/** findByNoticeNumber on the station's cached statements. */
async function lookup(tx: DbLike, enteId: number, noticeNumber: string) {
  return await findForStation(stationQueries(tx), enteId, noticeNumber);
}

/**
 * The position a receipt pays, locked to the end of the transaction (PostgreSQL; on SQLite the
 * IMMEDIATE transaction holds the database's write lock already): two receipts for the same
 * notice in two processes are applied one after the other, the second reading the first's
 * result (READ COMMITTED: a statement sees what was committed before it started), so it is
 * flagged as a double payment instead of paying the option again.
 */
async function lockPosition(tx: DbLike, enteId: number, noticeNumber: string): Promise<void> {
  if (dialectOf(tx) === 'sqlite') return;
  await sqlGet(
    tx,
    'SELECT p.id FROM positions p JOIN payment_options o ON o.position_id = p.id WHERE o.ente_id = ? AND o.notice_number = ? FOR UPDATE OF p',
    enteId,
    noticeNumber,
  );
}

const INSERT_RECEIPT = `INSERT INTO receipts (ente_id, id_pa, fiscal_code, iuv, receipt_id, notice_number, primitive, outcome, payment_amount_cents, description,
       company_name, office_name, debtor_type, debtor_fiscal_code, debtor_name, debtor, payer_fiscal_code, payer, id_psp, psp_fiscal_code,
       psp_partita_iva, psp_company_name, id_channel, channel_description, payment_method, payment_note, fee_cents, primary_ci_incurred_fee_cents,
       id_bundle, id_ci_bundle, payment_date_time, application_date, transfer_date, metadata, stand_in, position_id, option_id, processing,
       raw_xml, request_id)
     VALUES (${Array(40).fill('?').join(', ')})
     ON CONFLICT (id_pa, fiscal_code, iuv, receipt_id) DO NOTHING`;

/**
 * Idempotent through the receipts' unique key, not by looking first: the INSERT … ON CONFLICT DO
 * NOTHING is the first write, and when it writes nothing (a replay, or the same receipt stored
 * meanwhile by another process: PostgreSQL makes the INSERT wait for that transaction and then
 * skips the row) the receipt already stored is the answer and nothing else is written.
 */
async function storeInTx(tx: DbLike, input: StoreInput): Promise<StoreOutcome> {
  const { receiver, receipt: r } = input;
  if (r.fiscalCode === receiver.fiscalCode) await lockPosition(tx, receiver.id, r.noticeNumber);

  const raised: { type: AnomalyType; detail: string }[] = [];
  let processing: 'applied' | 'secondary' | 'flagged';
  let found: { position: PositionDetail; option: OptionDetail } | undefined;

  const transfersSum = r.transfers.reduce((s, t) => s + t.amountCents, 0);
  if (transfersSum !== r.paymentAmountCents) {
    raised.push({ type: 'receipt_amount_mismatch', detail: `Somma dei versamenti ${transfersSum} ≠ importo pagato ${r.paymentAmountCents} (centesimi)` });
  }

  if (r.fiscalCode !== receiver.fiscalCode) {
    processing = 'secondary';
    const owner = await getEnteByFiscalCode(tx, r.fiscalCode);
    if (owner?.member) found = await lookup(tx, owner.id, r.noticeNumber);
    if (!r.transfers.some((t) => t.fiscalCodePA === receiver.fiscalCode)) {
      raised.push({ type: 'receipt_unknown_notice', detail: 'Ricevuta inviata all’ente come beneficiario secondario, ma nessun versamento è a suo favore' });
      processing = 'flagged';
    } else if (!owner?.member) {
      // Stored (the money for our transfer is real), but nobody here can check the notice it pays.
      raised.push({
        type: 'receipt_unknown_notice',
        detail: `Ricevuta come beneficiario secondario per un avviso dell’ente ${r.fiscalCode}, non servito da questa stazione: verificare con l’ente titolare che l’avviso e il versamento siano dovuti`,
      });
    } else if (!found || found.option.iuv !== r.creditorReferenceId) {
      raised.push({ type: 'receipt_unknown_notice', detail: `Ricevuta come beneficiario secondario per un avviso sconosciuto a ${owner.name}` });
    }
  } else {
    found = await lookup(tx, receiver.id, r.noticeNumber);
    processing = 'applied';
    if (r.outcome !== 'OK') {
      raised.push({ type: 'receipt_outcome_ko', detail: 'Ricevuta con esito KO' });
      processing = 'flagged';
    } else if (!found) {
      raised.push({ type: 'receipt_unknown_notice', detail: 'Ricevuta per un avviso sconosciuto all’ente' });
      processing = 'flagged';
    } else if (found.option.iuv !== r.creditorReferenceId) {
      raised.push({ type: 'receipt_unknown_notice', detail: `IUV della ricevuta diverso da quello dell’avviso` });
      processing = 'flagged';
    } else {
      const { position, option } = found;
      if (position.status === 'draft') {
        raised.push({ type: 'receipt_draft_position', detail: 'Ricevuta per una posizione in bozza (mai pubblicata)' });
        processing = 'flagged';
      } else if (position.status === 'cancelled') {
        raised.push({ type: 'receipt_cancelled_position', detail: 'Ricevuta per una posizione annullata: valutare il rimborso' });
        processing = 'flagged';
      } else if (option.status === 'cancelled') {
        // Another option of the position (single payment vs installments) was paid first: the debt is now paid twice.
        raised.push({ type: 'receipt_alternative_option', detail: alternativeDetail(position, option, r.paymentAmountCents) });
        processing = 'flagged';
      } else if (option.status !== 'unpaid' || position.status === 'paid') {
        raised.push({ type: 'receipt_already_paid', detail: `Avviso già pagato con un’altra ricevuta: doppio pagamento, disporre il rimborso di ${formatEuro(r.paymentAmountCents)} al pagatore` });
        processing = 'flagged';
      } else {
        if (position.status === 'expired') raised.push({ type: 'receipt_expired_position', detail: 'Ricevuta per una posizione scaduta: pagamento applicato' });
        if (r.paymentAmountCents !== option.amountCents) {
          raised.push({ type: 'receipt_amount_mismatch', detail: `Importo pagato ${r.paymentAmountCents} ≠ importo dell’avviso ${option.amountCents} (centesimi)` });
        }
      }
    }
  }

  const receiptRowId = await insertIdOrNone(
    tx,
    INSERT_RECEIPT,
    receiver.id,
    receiver.fiscalCode,
    r.fiscalCode,
    r.creditorReferenceId,
    r.receiptId,
    r.noticeNumber,
    input.primitive,
    r.outcome,
    r.paymentAmountCents,
    r.description,
    r.companyName,
    r.officeName ?? null,
    r.debtor.type,
    r.debtor.fiscalCode,
    r.debtor.fullName,
    JSON.stringify(r.debtor),
    r.payer?.fiscalCode ?? null,
    r.payer ? JSON.stringify(r.payer) : null,
    r.idPSP,
    r.pspFiscalCode ?? null,
    r.pspPartitaIva ?? null,
    r.pspCompanyName,
    r.idChannel,
    r.channelDescription,
    r.paymentMethod ?? null,
    r.paymentNote ?? null,
    r.feeCents ?? null,
    r.primaryCiIncurredFeeCents ?? null,
    r.idBundle ?? null,
    r.idCiBundle ?? null,
    r.paymentDateTime ?? null,
    r.applicationDate ?? null,
    r.transferDate ?? null,
    JSON.stringify(r.metadata),
    r.standIn ? 1 : 0,
    found?.position.id ?? null,
    found?.option.id ?? null,
    processing,
    input.rawXml,
    input.requestId ?? null,
  );
  if (receiptRowId === undefined) return { kind: 'duplicate', receiptRowId: (await existing(tx, receiver.fiscalCode, r))! };
  for (const t of r.transfers) {
    await sqlRun(
      tx,
      `INSERT INTO receipt_transfers (receipt_row_id, id_transfer, amount_cents, fiscal_code_pa, company_name, iban, mbd_attachment, remittance_information, transfer_category, metadata)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      receiptRowId,
      t.idTransfer,
      t.amountCents,
      t.fiscalCodePA,
      t.companyName ?? null,
      t.iban ?? null,
      t.mbdAttachment ?? null,
      t.remittanceInformation,
      t.transferCategory,
      JSON.stringify(t.metadata),
    );
  }

  for (const a of raised) {
    const refs = {
      receiptRowId,
      receiptId: r.receiptId,
      fiscalCode: r.fiscalCode,
      noticeNumber: r.noticeNumber,
      iuv: r.creditorReferenceId,
      positionId: found?.position.id ?? null,
      optionId: found?.option.id ?? null,
    };
    await sqlRun(tx, 'INSERT INTO anomalies (type, ente_id, refs, amount_cents, detail) VALUES (?, ?, ?, ?, ?)', a.type, receiver.id, JSON.stringify(refs), r.paymentAmountCents, a.detail);
  }

  if (processing === 'applied' && found) await applyPayment(tx, found, receiptRowId, input, r);
  await recordAudit(tx, {
        actor: ACTOR,
        action: 'receipt',
        entity: 'receipt',
        entityId: receiptRowId,
        enteId: receiver.id,
        after: { iuv: r.creditorReferenceId, receiptId: r.receiptId, fiscalCode: r.fiscalCode, amountCents: r.paymentAmountCents, processing, anomalies: raised.map((a) => a.type) },
        requestId: input.requestId ?? null,
      });
  return { kind: 'stored', receiptRowId, processing, anomalies: raised.map((a) => a.type) };
}

function optionLabel(o: OptionDetail): string {
  return `${optionKindLabel(o)} (avviso ${o.noticeNumber}, ${formatEuro(o.amountCents)})`;
}

/** The helpdesk's text for a receipt of an option closed because an alternative option was paid. */
function alternativeDetail(position: PositionDetail, option: OptionDetail, paidCents: number): string {
  const paid = position.options.filter((o) => o.status === 'paid');
  const first = paid.length ? paid.map(optionLabel).join(', ') : 'un’altra opzione';
  return `Pagata l’opzione ${optionLabel(option)} della posizione ${position.iupd}, già saldata con ${first}: il debito è stato pagato due volte. Disporre il rimborso di ${formatEuro(paidCents)} al pagatore.`;
}

async function applyPayment(tx: DbLike, found: { position: PositionDetail; option: OptionDetail }, receiptRowId: number, input: StoreInput, r: ReceiptIn): Promise<void> {
  const { position, option } = found;
  const paidAt = r.paymentDateTime ?? (input.now ?? new Date()).toISOString();
  await sqlRun(tx, "UPDATE payment_options SET status = 'paid', paid_at = ? WHERE id = ?", paidAt, option.id);

  const others = position.options.filter((o) => o.id !== option.id);
  let closeIds: number[];
  let newStatus: 'paid' | 'partially_paid';
  if (option.kind === 'single') {
    closeIds = others.filter((o) => o.status === 'unpaid').map((o) => o.id);
    newStatus = 'paid';
  } else {
    const samePlan = (o: OptionDetail) => o.kind === 'installment' && (o.plan ?? '') === (option.plan ?? '');
    closeIds = others.filter((o) => o.status === 'unpaid' && !samePlan(o)).map((o) => o.id);
    const planOpen = others.some((o) => samePlan(o) && o.status === 'unpaid');
    newStatus = planOpen ? 'partially_paid' : 'paid';
  }
  // One statement for the options it closes.
  if (closeIds.length > 0) {
    await sqlRun(tx, `UPDATE payment_options SET status = 'cancelled' WHERE status = 'unpaid' AND id IN (${closeIds.map(() => '?').join(', ')})`, ...closeIds);
  }
  await sqlRun(tx, 'UPDATE positions SET status = ?, version = ?, updated_at = ? WHERE id = ?', newStatus, position.version + 1, new Date().toISOString(), position.id);
  await recordAudit(tx, {
        actor: ACTOR,
        action: 'pay',
        entity: 'position',
        entityId: position.id,
        enteId: position.enteId,
        before: { status: position.status, option: { iuv: option.iuv, status: option.status } },
        after: { status: newStatus, option: { iuv: option.iuv, status: 'paid' }, closedOptions: closeIds.length, receiptRowId },
        requestId: input.requestId ?? null,
      });
  await markCartsPaid(tx, option.id);
  // The position as these statements left it, for the central archive (no second read).
  const closed = new Set(closeIds);
  const after = {
    ...position,
    status: newStatus,
    options: position.options.map((o) => (o.id === option.id ? { ...o, status: 'paid' as const } : closed.has(o.id) ? { ...o, status: 'cancelled' as const } : o)),
  };
  if (position.enteId === input.receiver.id) await enqueueAcaSyncMany(tx, position.enteId, input.receiver.fiscalCode, [after]);
  else await enqueueAcaSync(tx, after);
}

/** Carts containing this option become `paid` when every notice in them is paid. */
async function markCartsPaid(tx: DbLike, optionId: number): Promise<void> {
  const carts = await sqlAll<{ cartId: string }>(
    tx,
    `SELECT DISTINCT i.cart_id AS "cartId" FROM checkout_cart_items i JOIN checkout_carts c ON c.id = i.cart_id WHERE i.option_id = ? AND c.status <> 'paid'`,
    optionId,
  );
  for (const { cartId } of carts) {
    const open = (await sqlGet<{ n: number }>(
      tx,
      "SELECT count(*) AS n FROM checkout_cart_items i JOIN payment_options o ON o.id = i.option_id WHERE i.cart_id = ? AND o.status <> 'paid'",
      cartId,
    ))!;
    if (open.n === 0) await sqlRun(tx, "UPDATE checkout_carts SET status = 'paid', updated_at = ? WHERE id = ?", new Date().toISOString(), cartId);
  }
}
