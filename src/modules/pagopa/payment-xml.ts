/**
 * The XML content of paVerifyPaymentNotice and paGetPayment(V2) answers, built from a position
 * as it is at this moment. Read-only: nothing here writes to the database.
 */
import type { DbLike } from '../../db/client.js';
import { centsToDecimalString } from '../../domain/money.js';
import type { Ente } from '../enti/repository.js';
import type { OptionDetail, PositionDetail } from '../positions/repository.js';
import { clip, el, type XmlContent } from './soap.js';
import { beneficiaryByFiscalCode, serviceNameById, stationQueries } from './station-queries.js';

const EMAIL = /^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*$/;
/** ABI of Poste Italiane: an IBAN with it is a postal account. */
const POSTE_ABI = '07601';

export function isPostalIban(iban: string | null | undefined): boolean {
  return !!iban && /^IT\d{2}[A-Z]/.test(iban) && iban.slice(5, 10) === POSTE_ABI;
}

interface Beneficiary {
  name: string;
  postalIban: string | null;
}

/** Names and postal accounts of the beneficiary enti we know (for V2 companyName and POSTAL). */
export async function loadBeneficiaries(db: DbLike, fiscalCodes: string[]): Promise<Map<string, Beneficiary>> {
  const out = new Map<string, Beneficiary>();
  if (fiscalCodes.length === 0) return out;
  const q = stationQueries(db);
  for (const cf of fiscalCodes) {
    const r = await beneficiaryByFiscalCode(q, cf);
    if (r) out.set(r.cf, { name: r.name, postalIban: r.postalIban });
  }
  return out;
}

/** The name of the position's service (already read with the position by the station's lookup). */
export async function serviceName(db: DbLike, position: { serviceId: number; serviceName?: string }): Promise<string | undefined> {
  return position.serviceName ?? await serviceNameById(stationQueries(db), position.serviceId);
}

type Transfer = OptionDetail['transfers'][number];

/** The postal account a transfer can be credited to, if any. */
function postalAccountOf(t: Transfer, beneficiaries: Map<string, Beneficiary>): string | null {
  if (t.stampHashDocument) return null;
  if (t.postalIban) return t.postalIban;
  if (isPostalIban(t.iban)) return t.iban;
  return beneficiaries.get(t.fiscalCodePA)?.postalIban ?? null;
}

/** allCCP: every transfer can be credited to a postal account. */
export function allCcp(option: OptionDetail, beneficiaries: Map<string, Beneficiary>): boolean {
  return option.transfers.length > 0 && option.transfers.every((t) => postalAccountOf(t, beneficiaries) !== null);
}

export function optionDescription(position: PositionDetail, option: OptionDetail): string {
  return clip(option.description ?? position.description, 140) ?? 'Pagamento';
}

function detailDescription(option: OptionDetail): string | undefined {
  if (option.kind !== 'installment' || !option.installmentNumber) return undefined;
  return option.installmentCount ? `Rata ${option.installmentNumber} di ${option.installmentCount}` : `Rata ${option.installmentNumber}`;
}

/** Body of a positive paVerifyPaymentNoticeRes (after <outcome>OK</outcome>). */
export async function verifyContent(db: DbLike, ente: Ente, position: PositionDetail, option: OptionDetail): Promise<XmlContent> {
  const beneficiaries = await loadBeneficiaries(db, [...new Set(option.transfers.map((t) => t.fiscalCodePA))]);
  return [
    el(
      'paymentList',
      el('paymentOptionDescription', [
        el('amount', centsToDecimalString(option.amountCents)),
        el('options', 'EQ'),
        el('dueDate', option.dueDate),
        el('detailDescription', detailDescription(option)),
        el('allCCP', allCcp(option, beneficiaries) ? 'true' : 'false'),
      ]),
    ),
    el('paymentDescription', optionDescription(position, option)),
    el('fiscalCodePA', ente.fiscalCode),
    el('companyName', clip(ente.name, 140)),
    el('officeName', clip(await serviceName(db, position), 140)),
  ];
}

function metadataXml(entries: { key: string; value: string }[]): XmlContent {
  const valid = entries.filter((m) => m.key && m.value).slice(0, 15);
  if (valid.length === 0) return undefined;
  return el(
    'metadata',
    valid.map((m) => el('mapEntry', [el('key', clip(m.key, 140)), el('value', clip(m.value, 140))])),
  );
}

export function subjectXml(name: string, s: {
  type: string;
  fiscalCode: string;
  fullName: string;
  street?: string | null;
  civic?: string | null;
  postalCode?: string | null;
  city?: string | null;
  province?: string | null;
  country?: string | null;
  email?: string | null;
}): XmlContent {
  return el(name, [
    el('uniqueIdentifier', [el('entityUniqueIdentifierType', s.type), el('entityUniqueIdentifierValue', s.fiscalCode)]),
    el('fullName', clip(s.fullName, 70)),
    el('streetName', clip(s.street, 70)),
    el('civicNumber', clip(s.civic, 16)),
    el('postalCode', clip(s.postalCode, 16)),
    el('city', clip(s.city, 35)),
    el('stateProvinceRegion', clip(s.province, 35)),
    el('country', s.country && /^[A-Z]{2}$/.test(s.country) ? s.country : undefined),
    el('e-mail', s.email && EMAIL.test(s.email) && s.email.length <= 256 ? s.email : undefined),
  ]);
}

export class StampNeedsV2Error extends Error {
  constructor() {
    super('L’avviso contiene una marca da bollo digitale: serve paGetPaymentV2');
    this.name = 'StampNeedsV2Error';
  }
}

/**
 * Body of a positive paGetPayment(V2) answer: `<data>…</data>`.
 * With transferType=POSTAL each transfer that has a postal account is credited to it, and the
 * other account is given as metadata IBANAPPOGGIO (pagopa.md §8).
 */
export async function paymentDataContent(
  db: DbLike,
  ente: Ente,
  position: PositionDetail,
  option: OptionDetail,
  opts: { v2: boolean; postal: boolean },
): Promise<XmlContent> {
  const beneficiaries = await loadBeneficiaries(db, [...new Set(option.transfers.map((t) => t.fiscalCodePA))]);
  const transfers = option.transfers.map((t) => {
    if (t.stampHashDocument && !opts.v2) throw new StampNeedsV2Error();
    let account: XmlContent;
    let metadata = t.metadata;
    if (t.stampHashDocument) {
      account = el('richiestaMarcaDaBollo', [
        el('hashDocumento', t.stampHashDocument),
        el('tipoBollo', t.stampType ?? '01'),
        el('provinciaResidenza', t.stampProvincialResidence),
      ]);
    } else {
      const postal = opts.postal ? postalAccountOf(t, beneficiaries) : null;
      const bank = t.iban && !isPostalIban(t.iban) ? t.iban : null;
      const iban = postal ?? t.iban ?? t.postalIban ?? '';
      const alternate = postal && bank !== postal ? bank : null;
      account = el('IBAN', iban);
      if (opts.postal && alternate && !metadata.some((m) => m.key === 'IBANAPPOGGIO')) {
        metadata = [...metadata, { key: 'IBANAPPOGGIO', value: alternate }];
      }
    }
    return el('transfer', [
      el('idTransfer', t.idTransfer),
      el('transferAmount', centsToDecimalString(t.amountCents)),
      el('fiscalCodePA', t.fiscalCodePA),
      opts.v2 ? el('companyName', clip(beneficiaries.get(t.fiscalCodePA)?.name, 140)) : undefined,
      account,
      el('remittanceInformation', clip(t.remittanceInformation, 140) ?? optionDescription(position, option)),
      el('transferCategory', t.taxonomyCode),
      metadataXml(metadata),
    ]);
  });
  return el('data', [
    el('creditorReferenceId', option.iuv),
    el('paymentAmount', centsToDecimalString(option.amountCents)),
    el('dueDate', option.dueDate),
    el('description', optionDescription(position, option)),
    el('companyName', clip(ente.name, 140)),
    el('officeName', clip(await serviceName(db, position), 140)),
    subjectXml('debtor', {
      type: position.debtorType,
      fiscalCode: position.debtorFiscalCode,
      fullName: position.debtorName,
      street: position.debtorStreet,
      civic: position.debtorCivic,
      postalCode: position.debtorPostalCode,
      city: position.debtorCity,
      province: position.debtorProvince,
      country: position.debtorCountry,
      email: position.debtorEmail,
    }),
    el('transferList', transfers),
  ]);
}
