/**
 * GPD's JSON shapes ⇄ the platform's one position model. Pure functions, no I/O.
 *
 * In: a `PaymentPositionModel` becomes the body `preparePositionWrite` validates (the same path as
 * /api/v1, the form and the CSV import), each option with the IUV the caller brings.
 * Out: a stored position becomes `PaymentPositionModel` (create, update, publish, invalidate) or
 * `PaymentPositionModelBaseResponse` (read, list). Members without a value are left out (GPD's
 * schemas type them as plain strings, never null).
 *
 * Dates: pagoPA due dates are calendar dates. From a GPD `date-time` the date as written is kept
 * (`2026-12-31T23:59:59.999Z` → 31/12/2026; time and zone are not converted); answers give the end
 * of that day in Italian time (`2026-12-31T23:59:59+01:00`).
 */
import { formatOffset, italianOffsetMinutes } from '../../domain/italian-time.js';
import type { Ente } from '../enti/repository.js';
import type { PositionStatus } from '../positions/schema.js';
import type { OptionDetail, PositionDetail } from '../positions/repository.js';
import type { PositionBody } from '../positions/service.js';
import { debtorOut } from '../positions/debtor.js';

export const GPD_STATUSES = ['DRAFT', 'PUBLISHED', 'VALID', 'INVALID', 'EXPIRED', 'PARTIALLY_PAID', 'PAID', 'REPORTED'] as const;
export type GpdStatus = (typeof GPD_STATUSES)[number];

export interface GpdStamp {
  hashDocument: string;
  stampType: string;
  provincialResidence: string;
}

export interface GpdTransfer {
  idTransfer: string;
  amount: number;
  organizationFiscalCode?: string;
  remittanceInformation: string;
  category: string;
  iban?: string;
  postalIban?: string;
  stamp?: GpdStamp;
  companyName?: string;
  transferMetadata?: { key: string; value: string }[];
}

export interface GpdPaymentOption {
  nav?: string;
  iuv: string;
  amount: number;
  description: string;
  isPartialPayment: boolean;
  dueDate: string;
  retentionDate?: string;
  fee?: number;
  transfer?: GpdTransfer[];
  paymentOptionMetadata?: { key: string; value: string }[];
}

export interface GpdPosition {
  iupd: string;
  type: 'F' | 'G';
  payStandIn?: boolean;
  fiscalCode: string;
  fullName: string;
  streetName?: string;
  civicNumber?: string;
  postalCode?: string;
  city?: string;
  province?: string;
  region?: string;
  country?: string;
  email?: string;
  phone?: string;
  switchToExpired: boolean;
  companyName: string;
  officeName?: string;
  validityDate?: string;
  paymentOption?: GpdPaymentOption[];
}

/** `YYYY-MM-DD` of a GPD date-time as written (unchanged when it does not start with one: validation names it). */
export function datePart(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return /^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(value) ? value.slice(0, 10) : value;
}

/** Italy's offset on a calendar day, by date (asking Intl costs ~10 µs; a position has a few dates, repeated). */
const offsets = new Map<string, string>();

/** A time of an Italian calendar day as an ISO date-time with Italy's offset that day. */
function italianDateTime(date: string, time: string): string {
  let offset = offsets.get(date);
  if (offset === undefined) {
    const [y, m, d] = date.split('-').map(Number) as [number, number, number];
    offset = formatOffset(italianOffsetMinutes(Date.UTC(y, m - 1, d, 12)));
    if (offsets.size >= 4096) offsets.clear();
    offsets.set(date, offset);
  }
  return `${date}T${time}${offset}`;
}

/** The end of an Italian calendar day (a due date: payable through it). */
export const italianEndOfDay = (date: string) => italianDateTime(date, '23:59:59');

/** The start of an Italian calendar day (a validity date: payable from it). */
export const italianStartOfDay = (date: string) => italianDateTime(date, '00:00:00');

/** The GPD status of a position: a published one is PUBLISHED until its validity date, then VALID. */
export function gpdStatus(p: Pick<PositionDetail, 'status' | 'validityDate'>, today: string): GpdStatus {
  switch (p.status) {
    case 'draft':
      return 'DRAFT';
    case 'published':
      return p.validityDate && p.validityDate > today ? 'PUBLISHED' : 'VALID';
    case 'partially_paid':
      return 'PARTIALLY_PAID';
    case 'paid':
      return 'PAID';
    case 'expired':
      return 'EXPIRED';
    case 'cancelled':
      return 'INVALID';
  }
}

/** Our statuses a GPD status filter selects (REPORTED: none, see the README). */
export const STATUS_FILTER: Record<GpdStatus, PositionStatus | null> = {
  DRAFT: 'draft',
  PUBLISHED: 'published',
  VALID: 'published',
  INVALID: 'cancelled',
  EXPIRED: 'expired',
  PARTIALLY_PAID: 'partially_paid',
  PAID: 'paid',
  REPORTED: null,
};

/** The position's own description: the first option's, else its first causale, else the company. */
function positionDescription(m: GpdPosition): string | undefined {
  const first = m.paymentOption?.[0];
  const text = first?.description?.trim() || first?.transfer?.[0]?.remittanceInformation?.trim() || m.companyName?.trim();
  return text ? text.slice(0, 140) : undefined;
}

/** The taxonomy code (category) of the first transfer to the organization itself: it picks the payment service. */
export function ownCategory(m: GpdPosition, organizationFiscalCode: string): string | undefined {
  const transfers = m.paymentOption?.[0]?.transfer ?? [];
  const own = transfers.find((t) => !t.organizationFiscalCode || t.organizationFiscalCode === organizationFiscalCode) ?? transfers[0];
  return own?.category?.trim().toUpperCase();
}

/** A GPD position as the body of the platform's write path (`preparePositionWrite` with external IUVs). */
export function toPositionBody(m: GpdPosition, serviceCode: string, organizationFiscalCode: string): PositionBody {
  return {
    iupd: m.iupd,
    serviceCode,
    switchToExpired: m.switchToExpired,
    debtor: {
      type: m.type,
      fiscalCode: m.fiscalCode,
      fullName: m.fullName,
      streetName: m.streetName,
      civicNumber: m.civicNumber,
      postalCode: m.postalCode,
      city: m.city,
      province: m.province,
      country: m.country,
      email: m.email,
    },
    description: positionDescription(m),
    validityDate: datePart(m.validityDate),
    paymentOptions: (m.paymentOption ?? []).map((o) => ({
      iuv: o.iuv,
      isInstallment: o.isPartialPayment,
      description: o.description,
      amountCents: o.amount,
      dueDate: datePart(o.dueDate),
      retentionDate: datePart(o.retentionDate),
      transfers: (o.transfer ?? []).map((t) => ({
        idTransfer: Number(t.idTransfer),
        fiscalCodePA: t.organizationFiscalCode || organizationFiscalCode,
        amountCents: t.amount,
        iban: t.iban,
        postalIban: t.postalIban || undefined,
        stamp: t.stamp ?? null,
        remittanceInformation: t.remittanceInformation,
        taxonomyCode: t.category,
        metadata: t.transferMetadata ?? [],
      })),
    })),
  };
}

/** Problems GPD's shape has that the platform's validation cannot see (the notice number). */
export function gpdShapeErrors(m: GpdPosition, pathIupd?: string): string[] {
  const errors: string[] = [];
  if (pathIupd !== undefined && m.iupd !== pathIupd) errors.push(`iupd: the body's iupd (${m.iupd}) differs from the path's (${pathIupd})`);
  (m.paymentOption ?? []).forEach((o, i) => {
    if (o.nav !== undefined && o.nav !== '' && o.nav !== `3${o.iuv}`) errors.push(`paymentOption[${i}].nav: must be 3 followed by the iuv (${`3${o.iuv}`})`);
  });
  return errors;
}

/** Our field paths (`paymentOptions[0].transfers[1].amountCents`) in GPD's names (`paymentOption[0].transfer[1].amount`). */
export function gpdFieldName(field: string): string {
  return field
    .replace(/^debtor\./, '')
    .replace(/paymentOptions/g, 'paymentOption')
    .replace(/\.transfers/g, '.transfer')
    .replace(/\.amountCents$/, '.amount')
    .replace(/\.isInstallment$/, '.isPartialPayment')
    .replace(/\.taxonomyCode$/, '.category')
    .replace(/\.fiscalCodePA$/, '.organizationFiscalCode')
    .replace(/\.metadata(\b|\[)/, '.transferMetadata$1')
    .replace(/^serviceCode$/, 'paymentOption[0].transfer[0].category');
}

/** Drops null and undefined members (GPD types them as strings). */
function compact<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === null || o[k] === undefined) delete o[k];
  return o;
}

function transferOut(t: OptionDetail['transfers'][number]) {
  return compact({
    idTransfer: String(t.idTransfer),
    amount: t.amountCents,
    organizationFiscalCode: t.fiscalCodePA,
    remittanceInformation: t.remittanceInformation,
    category: t.taxonomyCode,
    iban: t.iban,
    postalIban: t.postalIban,
    stamp: t.stampHashDocument ? { hashDocument: t.stampHashDocument, stampType: t.stampType ?? '01', provincialResidence: t.stampProvincialResidence ?? '' } : null,
    transferMetadata: t.metadata,
  });
}

/** `PaymentPositionModel`: the answer of create, update, publish and invalidate. */
export function toGpdModel(p: PositionDetail, ente: Pick<Ente, 'name'>, today: string) {
  return compact({
    iupd: p.iupd,
    ...debtorOut(p),
    payStandIn: true,
    switchToExpired: p.switchToExpired,
    companyName: ente.name,
    validityDate: p.validityDate ? italianStartOfDay(p.validityDate) : null,
    paymentDate: paymentDate(p),
    status: gpdStatus(p, today),
    paymentOption: p.options.map((o) =>
      compact({
        ...optionCore(o),
        fee: 0,
        notificationFee: 0,
        transfer: o.transfers.map(transferOut),
        paymentOptionMetadata: [],
      }),
    ),
  });
}

/** The fields every GPD shape of a payment option has. */
function optionCore(o: OptionDetail) {
  return {
    nav: o.noticeNumber,
    iuv: o.iuv,
    amount: o.amountCents,
    description: o.description ?? '',
    isPartialPayment: o.kind === 'installment',
    dueDate: italianEndOfDay(o.dueDate),
    retentionDate: o.retentionDate ? italianEndOfDay(o.retentionDate) : null,
  };
}

/** When the position was paid in full: the last option's payment (only for PAID). */
function paymentDate(p: PositionDetail): string | null {
  if (p.status !== 'paid') return null;
  const paid = p.options.map((o) => o.paidAt).filter((d): d is string => !!d).sort();
  return paid.at(-1) ?? null;
}

/** `PaymentPositionModelBaseResponse`: the answer of read and of each list item. */
export function toGpdBaseResponse(p: PositionDetail, ente: Pick<Ente, 'name' | 'fiscalCode'>, today: string) {
  return compact({
    iupd: p.iupd,
    organizationFiscalCode: ente.fiscalCode,
    type: p.debtorType,
    companyName: ente.name,
    insertedDate: p.createdAt,
    publishDate: p.publishedAt,
    validityDate: p.validityDate ? italianStartOfDay(p.validityDate) : null,
    paymentDate: paymentDate(p),
    status: gpdStatus(p, today),
    lastUpdatedDate: p.updatedAt,
    paymentOption: p.options.map((o) =>
      compact({
        ...optionCore(o),
        organizationFiscalCode: ente.fiscalCode,
        paymentDate: o.paidAt,
        insertedDate: o.createdAt,
        fee: 0,
        notificationFee: 0,
        status: o.status === 'paid' ? 'PO_PAID' : 'PO_UNPAID',
        lastUpdatedDate: p.updatedAt,
        paymentOptionMetadata: [],
        transfer: o.transfers.map((t) => ({ ...transferOut(t), insertedDate: o.createdAt, status: 'T_UNREPORTED', lastUpdatedDate: p.updatedAt })),
      }),
    ),
  });
}
