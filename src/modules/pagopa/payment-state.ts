/**
 * Whether a payment option can be paid now, as the pagoPA fault the node expects (pagopa.md §4).
 * Pure: the caller loads the position and passes today's Italian date.
 *
 * | position / option                                             | answer                     |
 * |---------------------------------------------------------------|----------------------------|
 * | no such notice, position in draft, validity date in the future | PAA_PAGAMENTO_SCONOSCIUTO  |
 * | position cancelled                                             | PAA_PAGAMENTO_ANNULLATO    |
 * | position expired; or switchToExpired and the option past due   | PAA_PAGAMENTO_SCADUTO      |
 * | position paid; option paid; option closed because another      | PAA_PAGAMENTO_DUPLICATO    |
 * | option of the position was paid (see receipts.ts)              |                            |
 * | otherwise (published / partially paid, option unpaid)          | payable                    |
 */
import type { OptionDetail, PositionDetail } from '../positions/repository.js';

export type NotPayableCode =
  | 'PAA_PAGAMENTO_SCONOSCIUTO'
  | 'PAA_PAGAMENTO_ANNULLATO'
  | 'PAA_PAGAMENTO_SCADUTO'
  | 'PAA_PAGAMENTO_DUPLICATO';

export interface NotPayable {
  code: NotPayableCode;
  /** Italian, no personal data. */
  message: string;
}

export function checkPayable(
  found: { position: PositionDetail; option: OptionDetail } | undefined,
  today: string,
): NotPayable | null {
  if (!found) return { code: 'PAA_PAGAMENTO_SCONOSCIUTO', message: 'Avviso sconosciuto all’ente creditore' };
  const { position, option } = found;
  switch (position.status) {
    case 'draft':
      return { code: 'PAA_PAGAMENTO_SCONOSCIUTO', message: 'Avviso non ancora pubblicato' };
    case 'cancelled':
      return { code: 'PAA_PAGAMENTO_ANNULLATO', message: 'Posizione debitoria annullata' };
    case 'expired':
      return { code: 'PAA_PAGAMENTO_SCADUTO', message: 'Posizione debitoria scaduta' };
    case 'paid':
      return { code: 'PAA_PAGAMENTO_DUPLICATO', message: 'Posizione debitoria già pagata' };
    case 'published':
    case 'partially_paid':
      break;
  }
  if (position.validityDate && position.validityDate > today) {
    return { code: 'PAA_PAGAMENTO_SCONOSCIUTO', message: 'Avviso non ancora valido' };
  }
  if (option.status === 'paid') return { code: 'PAA_PAGAMENTO_DUPLICATO', message: 'Avviso già pagato' };
  if (option.status === 'cancelled') {
    return { code: 'PAA_PAGAMENTO_DUPLICATO', message: 'Avviso chiuso: la posizione è già in pagamento con un’altra opzione' };
  }
  if (position.switchToExpired && option.dueDate < today) {
    return { code: 'PAA_PAGAMENTO_SCADUTO', message: 'Avviso scaduto e non più pagabile' };
  }
  return null;
}

/**
 * The options of one position are alternatives: the single payment OR one plan of installments.
 * Two options conflict when they belong to the same position and are not installments of the same
 * plan (installments of one plan may be paid together). Paying both would collect the debt twice.
 */
export interface OptionRef {
  positionId: number;
  optionId: number;
  kind: 'single' | 'installment';
  plan: string | null;
}

export function optionsConflict(a: OptionRef, b: OptionRef): boolean {
  if (a.positionId !== b.positionId || a.optionId === b.optionId) return false;
  return !(a.kind === 'installment' && b.kind === 'installment' && (a.plan ?? '') === (b.plan ?? ''));
}

/** Pairs of indexes [i, j] (i < j) of options that must not be paid together. */
export function conflictingPairs(options: readonly OptionRef[]): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < options.length; i++) {
    for (let j = i + 1; j < options.length; j++) if (optionsConflict(options[i]!, options[j]!)) pairs.push([i, j]);
  }
  return pairs;
}

/** Italian name of an option for messages: "in unica soluzione" or "rata 2 di 3". */
export function optionKindLabel(o: { kind: string; installmentNumber?: number | null; installmentCount?: number | null }): string {
  if (o.kind !== 'installment') return 'in unica soluzione';
  if (!o.installmentNumber) return 'a rate';
  return o.installmentCount ? `rata ${o.installmentNumber} di ${o.installmentCount}` : `rata ${o.installmentNumber}`;
}
