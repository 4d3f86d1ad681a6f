/**
 * Reconciliation rules as pure functions (reconciliation.md §3, §5, §6): the outcome of one
 * reporting-flow row given what the database holds for it, and the outcome of one treasury credit.
 * Decisions where the spec is silent are marked with *.
 */
import { ACCEPTED_OUTCOMES } from '../pagopa/flusso-xml.js';
import type { EntryState } from './schema.js';

/** Anomaly catalogue entries raised by the helpdesk (type, reference code, Italian label). */
export const RECON_ANOMALIES = {
  fdr_row_without_receipt: { code: '007101', label: 'Riga di rendicontazione senza ricevuta' },
  fdr_row_unknown_payment: { code: '007111', label: 'Pagamento senza RPT sconosciuto (esito 8/9)' },
  fdr_row_multiple_match: { code: '007102', label: 'Riga di rendicontazione associabile a più pagamenti' },
  fdr_row_amount_mismatch: { code: '007104', label: 'Importo della riga diverso dalla ricevuta' },
  fdr_row_revoked_amount: { code: '007112', label: 'Importo revocato diverso dal pagato' },
  fdr_row_unknown_outcome: { code: '007110', label: 'Codice esito sconosciuto' },
  fdr_row_duplicate: { code: '007115', label: 'Riga duplicata nel flusso' },
  fdr_row_already_reported: { code: '007115', label: 'Pagamento già rendicontato in un altro flusso' },
  fdr_row_other_ente: { code: '007116', label: 'Riga per un altro ente' },
  fdr_flow_other_ente: { code: '007116', label: 'Flusso destinato a un altro ente' },
  fdr_header_count: { code: '007107', label: 'Numero pagamenti del flusso errato' },
  fdr_header_sum: { code: '007106', label: 'Importo totale del flusso errato' },
  credit_flow_not_found: { code: 'IDF_NON_TROVATO', label: 'Accredito senza flusso di rendicontazione' },
  credit_amount_mismatch: { code: 'IMPORTO_ERRATO', label: 'Importo dell’accredito diverso dal flusso o dal pagamento' },
  credit_flow_already_credited: { code: 'FLUSSO_GIA_INCASSATO', label: 'Flusso già incassato da un altro movimento' },
  credit_flow_anomalous: { code: 'FR_ANOMALA', label: 'Accredito di un flusso anomalo' },
  credit_payment_not_found: { code: 'PAGAMENTO_NON_TROVATO', label: 'Accredito singolo senza pagamento' },
  credit_payment_ambiguous: { code: 'PAGAMENTO_NON_IDENTIFICATO', label: 'Accredito singolo associabile a più pagamenti' },
  credit_payment_already_credited: { code: 'PAGAMENTO_GIA_INCASSATO', label: 'Pagamento già incassato' },
  collected_not_credited: { code: 'RISCOSSA_NON_INCASSATA', label: 'Incassato ma non accreditato dal tesoriere' },
} as const;
export type ReconAnomalyType = keyof typeof RECON_ANOMALIES;

/** Labels of the anomaly types raised by the pagoPA module when receipts arrive. */
export const RECEIPT_ANOMALY_LABELS: Record<string, string> = {
  receipt_unknown_notice: 'Ricevuta per un avviso sconosciuto',
  receipt_cancelled_position: 'Ricevuta per una posizione annullata',
  receipt_expired_position: 'Ricevuta per una posizione scaduta',
  receipt_already_paid: 'Doppio pagamento',
  receipt_alternative_option: 'Doppio pagamento (unica soluzione e rate): rimborso da disporre',
  receipt_amount_mismatch: 'Importo della ricevuta non corrispondente',
  receipt_outcome_ko: 'Ricevuta con esito KO',
  receipt_draft_position: 'Ricevuta per una posizione in bozza',
  fdr_invalid_flow: 'Flusso dal nodo non conforme allo schema',
  fdr_download_failed: 'Flusso dal nodo non scaricabile',
};

export function anomalyLabel(type: string): string {
  return (RECON_ANOMALIES as Record<string, { label: string }>)[type]?.label ?? RECEIPT_ANOMALY_LABELS[type] ?? type;
}

export interface RowFacts {
  outcomeCode: string;
  /** As written in the flow (revocations may be stored negative). */
  amountCents: number;
  /** Receipt transfers of this ente with the row's (IUV, IUR, index). */
  candidates: { transferAmountCents: number }[];
  /** The same (IUV, IUR, index) appeared earlier in this flow. */
  duplicateInFlow: boolean;
  /** The matching transfer is already reported by another current flow. */
  reportedElsewhere: boolean;
  /** Receipts with this IUV + IUR exist, but only for other enti we serve. */
  otherEnteReceipts: number;
}

export interface RowDecision {
  state: EntryState;
  anomaly: ReconAnomalyType | null;
}

export function classifyFlowRow(f: RowFacts): RowDecision {
  if (!(ACCEPTED_OUTCOMES as readonly string[]).includes(f.outcomeCode)) return { state: 'unknown_outcome', anomaly: 'fdr_row_unknown_outcome' };
  if (f.duplicateInFlow) return { state: 'duplicate', anomaly: 'fdr_row_duplicate' };
  if (f.candidates.length > 1) return { state: 'multiple', anomaly: 'fdr_row_multiple_match' };
  if (f.candidates.length === 0) {
    if (f.otherEnteReceipts > 0) return { state: 'other_ente', anomaly: 'fdr_row_other_ente' };
    return { state: 'no_receipt', anomaly: f.outcomeCode === '8' || f.outcomeCode === '9' ? 'fdr_row_unknown_payment' : 'fdr_row_without_receipt' };
  }
  const paid = f.candidates[0]!.transferAmountCents;
  const amount = Math.abs(f.amountCents);
  // * A transfer reported again by a second current flow is not counted twice.
  if (f.reportedElsewhere) return { state: 'already_reported', anomaly: 'fdr_row_already_reported' };
  if (f.outcomeCode === '3') return amount === paid ? { state: 'revoked', anomaly: null } : { state: 'amount_mismatch', anomaly: 'fdr_row_revoked_amount' };
  if (amount !== paid) return { state: 'amount_mismatch', anomaly: 'fdr_row_amount_mismatch' };
  return { state: 'matched', anomaly: null };
}

export interface HeaderCheck {
  countOk: boolean;
  sumOk: boolean;
  computedCount: number;
  computedSumCents: number;
}

/** numeroTotalePagamenti and importoTotalePagamenti against the rows (revocations by absolute value). */
export function checkHeader(declared: { totalPayments: number; totalAmountCents: number }, rows: { amountCents: number }[]): HeaderCheck {
  const computedSumCents = rows.reduce((s, r) => s + Math.abs(r.amountCents), 0);
  return {
    countOk: declared.totalPayments === rows.length,
    sumOk: declared.totalAmountCents === computedSumCents,
    computedCount: rows.length,
    computedSumCents,
  };
}

export type CreditDecision =
  | { state: 'matched'; flowRowId?: number; receiptRowId?: number }
  | { state: 'parked'; code: 'IDF_NON_TROVATO' | 'PAGAMENTO_NON_TROVATO' }
  | { state: 'error'; anomaly: ReconAnomalyType; code: string };

function err(anomaly: ReconAnomalyType): CreditDecision {
  return { state: 'error', anomaly, code: RECON_ANOMALIES[anomaly].code };
}

/** A cumulative credit (`/PUR/LGPE-RIVERSAMENTO/URI/<id>`) against the current revision of its flow. */
export function decideFlowCredit(
  amountCents: number,
  movementRowId: number,
  flow: { flowRowId: number; state: 'accepted' | 'anomalous' | 'superseded'; totalAmountCents: number; creditMovementId: number | null } | null,
): CreditDecision {
  if (!flow) return { state: 'parked', code: 'IDF_NON_TROVATO' };
  if (flow.creditMovementId !== null && flow.creditMovementId !== movementRowId) return err('credit_flow_already_credited');
  if (flow.state === 'anomalous') return err('credit_flow_anomalous');
  if (flow.totalAmountCents !== amountCents) return err('credit_amount_mismatch');
  return { state: 'matched', flowRowId: flow.flowRowId };
}

/**
 * A single credit (`/RFB/<IUV>/…`, `/RFS/…`) against the receipts of the ente with that IUV; the
 * amount is what the ente received (Σ of its transfers in the receipt). * Not found → parked
 * (the receipt may still arrive), retried like a missing flow.
 */
export function decideReceiptCredit(
  amountCents: number,
  movementRowId: number,
  candidates: { receiptRowId: number; enteAmountCents: number; creditMovementId: number | null }[],
): CreditDecision {
  if (candidates.length === 0) return { state: 'parked', code: 'PAGAMENTO_NON_TROVATO' };
  if (candidates.length > 1) return err('credit_payment_ambiguous');
  const c = candidates[0]!;
  if (c.creditMovementId !== null && c.creditMovementId !== movementRowId) return err('credit_payment_already_credited');
  if (c.enteAmountCents !== amountCents) return err('credit_amount_mismatch');
  return { state: 'matched', receiptRowId: c.receiptRowId };
}
