/**
 * What goes on the printed notice of a position: the ente, the debtor, the subject, the single
 * payment and the installments of the same plan, and the Bollettino Postale PA when the ente has
 * an active postal account. Reads the database; the drawing is notice-pdf.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DbLike } from '../../db/client.js';
import { postalAccountNumber } from '../../domain/iban.js';
import { listIbans, type Ente } from '../enti/repository.js';
import type { OptionDetail, PositionDetail } from './repository.js';
import type { NoticeData } from '../notices/notice-pdf.js';

/** Printed when the ente has not configured its Poste authorisation yet. */
export const POSTE_AUTHORIZATION_PLACEHOLDER = 'AUT. DB/… da richiedere a Poste Italiane';

export class NoticeNotPrintableError extends Error {}

/** Options that can be printed: not paid, not cancelled, of a published (or partially paid) position. */
export function isPrintable(position: PositionDetail, option: OptionDetail): boolean {
  return option.status === 'unpaid' && (position.status === 'published' || position.status === 'partially_paid' || position.status === 'expired');
}

export interface NoticeDataOptions {
  /**
   * The data directory (`DATA_DIR`): with it the ente's uploaded stemma (`/stemmi/<file>`, stored
   * under `DATA_DIR/stemmi`) is printed as the logo of the notice when the file is there.
   */
  dataDir?: string;
}

export async function noticeDataFor(db: DbLike, ente: Ente, position: PositionDetail, requested?: OptionDetail, options: NoticeDataOptions = {}): Promise<NoticeData> {
  return (await noticeDataBuilder(db, ente, options))(position, requested);
}

/** The file of the ente's uploaded stemma, when there is one and it can be found. */
export function stemmaFile(ente: Ente, dataDir: string | undefined): string | undefined {
  const m = /^\/stemmi\/([0-9]+-[0-9a-f]{12}\.(?:png|jpg))$/.exec(ente.logoPath ?? '');
  if (!m || !dataDir) return undefined;
  const file = path.join(dataDir, 'stemmi', m[1]!);
  return fs.existsSync(file) ? file : undefined;
}

/**
 * {@link noticeDataFor} for many positions of one ente (bulk printing): what belongs to the ente
 * (its active postal account, its stemma) is looked up once, not once per notice.
 */
export async function noticeDataBuilder(db: DbLike, ente: Ente, options: NoticeDataOptions = {}): Promise<(position: PositionDetail, requested?: OptionDetail) => NoticeData> {
  const logoPath = stemmaFile(ente, options.dataDir);
  const postal = (await listIbans(db, ente.id)).find((i) => i.active && i.kind === 'postal');
  const postalAccount = postal
    ? { accountNumber: postalAccountNumber(postal.iban), holderName: ente.name.slice(0, 50), authorization: POSTE_AUTHORIZATION_PLACEHOLDER }
    : undefined;
  const creditor = {
    name: ente.name.slice(0, 50),
    fiscalCode: ente.fiscalCode,
    info: [ente.website, ente.email, ente.phone].filter(Boolean).join(' · ').slice(0, 100) || undefined,
    ...(logoPath ? { logoPath } : {}),
  };
  return (position, requested) => {
    const unpaid = position.options.filter((o) => isPrintable(position, o));
    if (unpaid.length === 0 || (requested && !isPrintable(position, requested))) {
      throw new NoticeNotPrintableError('Questo avviso non è stampabile: la posizione è pagata, annullata o ancora in bozza.');
    }
    const plan = requested?.kind === 'installment' ? requested.plan : unpaid.find((o) => o.kind === 'installment')?.plan;
    const single = unpaid.find((o) => o.kind === 'single' && (!requested || requested.kind === 'installment' || o.id === requested.id));
    const installments = unpaid.filter((o) => o.kind === 'installment' && o.plan === plan);
    return {
      creditor: { ...creditor },
      debtor: {
        fullName: position.debtorName,
        fiscalCode: position.debtorFiscalCode,
        address: position.debtorStreet ?? undefined,
        buildingNumber: position.debtorCivic ?? undefined,
        postalCode: position.debtorPostalCode ?? undefined,
        city: position.debtorCity ?? undefined,
        province: position.debtorProvince ?? undefined,
      },
      subject: position.description.slice(0, 90),
      singlePayment: single ? { noticeNumber: single.noticeNumber, amountCents: single.amountCents, dueDate: single.dueDate } : undefined,
      installments: installments.length
        ? installments.map((o) => ({ installmentNumber: o.installmentNumber ?? 1, noticeNumber: o.noticeNumber, amountCents: o.amountCents, dueDate: o.dueDate }))
        : undefined,
      postalAccount: postalAccount ? { ...postalAccount } : undefined,
    };
  };
}
