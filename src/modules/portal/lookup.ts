/**
 * "Paga un avviso" without login: a typed notice number + the creditor ente (picked from the list
 * or typed as its fiscal code) → what the notice asks for now, or a clear Italian message.
 *
 * Payability is decided by `checkPayable` (pagopa/payment-state.ts), the same function the station
 * uses for paVerifyPaymentNotice, so the portal and the node always agree. Nothing about the debtor
 * is shown: knowing a notice number lets anyone pay it (as at any PSP), not read whose it is.
 */
import type { DbLike } from '../../db/client.js';
import { formatEuro } from '../../domain/money.js';
import { getEnte, getEnteByFiscalCode, type Ente } from '../enti/repository.js';
import { checkPayable, optionsConflict, type NotPayableCode } from '../pagopa/payment-state.js';
import { optionDescription } from '../pagopa/payment-xml.js';
import { formatNoticeNumber, parseNoticeNumber } from '../positions/numbers.js';
import { findByNoticeNumber, type OptionDetail, type PositionDetail } from '../positions/repository.js';
import { todayInItaly } from '../positions/service.js';

export interface LookupInput {
  codiceAvviso?: string;
  ente?: number;
  cfEnte?: string;
}

export interface NoticeSummary {
  enteId: number;
  enteName: string;
  enteFiscalCode: string;
  noticeNumber: string;
  noticeNumberDisplay: string;
  description: string;
  amountCents: number;
  amount: string;
  dueDate: string;
  overdue: boolean;
  installment: string | null;
  /** The other ways to pay the same position (single payment vs installments), when there are: they are alternatives. */
  alternatives: string | null;
}

export type LookupResult =
  | { ok: true; notice: NoticeSummary }
  | {
      ok: false;
      status: 400 | 404 | 409;
      /** Field the message belongs to (for aria-describedby), or null for the notice as a whole. */
      field: 'codiceAvviso' | 'ente' | null;
      message: string;
      code?: NotPayableCode;
    };

/** Citizen wording of the payability faults (the station's own messages are for operators). */
export function notPayableMessage(code: NotPayableCode, detail: string, ente: Pick<Ente, 'name'>): string {
  switch (code) {
    case 'PAA_PAGAMENTO_SCONOSCIUTO':
      return detail === 'Avviso non ancora valido'
        ? `L’avviso non è ancora pagabile: ${ente.name} lo renderà pagabile più avanti.`
        : `Non risulta nessun avviso con questo codice presso ${ente.name}. Controlla il codice avviso e l’ente creditore indicati sull’avviso.`;
    case 'PAA_PAGAMENTO_DUPLICATO':
      return detail.startsWith('Avviso chiuso')
        ? 'Questo avviso non è più pagabile: la posizione è già stata pagata con un’altra modalità (in unica soluzione o a rate). Non serve pagarlo.'
        : 'Questo avviso risulta già pagato: non serve pagarlo di nuovo. La ricevuta è disponibile nell’area personale del debitore.';
    case 'PAA_PAGAMENTO_SCADUTO':
      return `L’avviso è scaduto e non è più pagabile. Contatta ${ente.name} per sapere come regolarizzare il pagamento.`;
    case 'PAA_PAGAMENTO_ANNULLATO':
      return `L’avviso è stato annullato da ${ente.name}: non va pagato.`;
  }
}

export function installmentLabel(option: Pick<OptionDetail, 'kind' | 'installmentNumber' | 'installmentCount'>): string | null {
  if (option.kind !== 'installment' || !option.installmentNumber) return null;
  return option.installmentCount ? `Rata ${option.installmentNumber} di ${option.installmentCount}` : `Rata ${option.installmentNumber}`;
}

export function summarise(ente: Ente, position: PositionDetail, option: OptionDetail, today: string): NoticeSummary {
  return {
    enteId: ente.id,
    enteName: ente.name,
    enteFiscalCode: ente.fiscalCode,
    noticeNumber: option.noticeNumber,
    noticeNumberDisplay: formatNoticeNumber(option.noticeNumber),
    description: optionDescription(position, option),
    amountCents: option.amountCents,
    amount: formatEuro(option.amountCents),
    dueDate: option.dueDate,
    overdue: option.dueDate < today,
    installment: installmentLabel(option),
    alternatives: alternativesNote(position, option),
  };
}

/** "You can also pay this position …: choose one way", for an option whose position has payable alternatives. */
export function alternativesNote(position: PositionDetail, option: OptionDetail): string | null {
  const ref = (o: OptionDetail) => ({ positionId: position.id, optionId: o.id, kind: o.kind, plan: o.plan });
  const others = position.options.filter((o) => o.status === 'unpaid' && optionsConflict(ref(option), ref(o)));
  if (!others.length) return null;
  const single = others.find((o) => o.kind === 'single');
  const installments = others.filter((o) => o.kind === 'installment');
  const ways = [
    single ? `in unica soluzione (${formatEuro(single.amountCents)}, avviso ${formatNoticeNumber(single.noticeNumber)})` : null,
    installments.length ? `a rate (${installments.length === 1 ? '1 rata' : `${installments.length} rate`} da pagare)` : null,
  ].filter(Boolean);
  return `Questa posizione si può pagare anche ${ways.join(' oppure ')}: i modi sono alternativi, scegline uno solo. Chi paga in unica soluzione non paga le rate, e viceversa.`;
}

/** Resolves the ente of the form: the typed fiscal code wins over the picked comune. */
export async function resolveEnte(db: DbLike, input: LookupInput): Promise<{ ente: Ente } | { error: string }> {
  const cf = input.cfEnte?.replace(/\s/g, '') ?? '';
  if (cf) {
    if (!/^[0-9]{11}$/.test(cf)) return { error: 'Il codice fiscale dell’ente creditore è composto da 11 cifre: lo trovi sull’avviso, accanto al codice avviso.' };
    const ente = await getEnteByFiscalCode(db, cf);
    if (!ente || !ente.member) {
      return { error: `L’ente con codice fiscale ${cf} non usa questo portale: paga l’avviso sul sito pagoPA (checkout.pagopa.it) o presso un prestatore di servizi di pagamento.` };
    }
    return { ente };
  }
  if (input.ente) {
    const ente = await getEnte(db, input.ente);
    if (ente?.member) return { ente };
  }
  return { error: 'Scegli il comune che ha emesso l’avviso oppure inserisci il codice fiscale dell’ente creditore.' };
}

export async function lookupNotice(db: DbLike, input: LookupInput, now = new Date()): Promise<LookupResult> {
  const parsed = parseNoticeNumber(input.codiceAvviso ?? '');
  if (!parsed.ok) return { ok: false, status: 400, field: 'codiceAvviso', message: parsed.message };
  const resolved = await resolveEnte(db, input);
  if ('error' in resolved) return { ok: false, status: 400, field: 'ente', message: resolved.error };
  const { ente } = resolved;
  const today = todayInItaly(now);
  const found = await findByNoticeNumber(db, ente.id, parsed.noticeNumber);
  const notPayable = checkPayable(found, today);
  if (notPayable) {
    // Drafts are answered as unknown, as the station does: nothing leaks about unpublished positions.
    return {
      ok: false,
      status: notPayable.code === 'PAA_PAGAMENTO_SCONOSCIUTO' ? 404 : 409,
      field: null,
      message: notPayableMessage(notPayable.code, notPayable.message, ente),
      code: notPayable.code,
    };
  }
  return { ok: true, notice: summarise(ente, found!.position, found!.option, today) };
}
