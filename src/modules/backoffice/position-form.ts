/**
 * The operator's position form, without JavaScript: a single payment and/or up to 12
 * installments (rows left empty are ignored), and an optional second beneficiary that receives a
 * percentage of every option (e.g. TEFA to the province on a TARI notice). Pure mapping between
 * the flat form fields and the position input the domain validation expects, both ways.
 */
import { parseEuroToCents, formatEuro } from '../../domain/money.js';
import type { FieldError } from '../positions/validation.js';
import type { PositionBody } from '../positions/service.js';
import type { PositionDetail } from '../positions/repository.js';

export const MAX_FORM_INSTALLMENTS = 12;

export type PositionForm = Record<string, string | undefined>;

export interface SecondBeneficiary {
  fiscalCode: string;
  iban: string;
}

const FIELD_LABELS: Record<string, string> = {
  'debtor.fiscalCode': 'debtorFiscalCode',
  'debtor.fullName': 'debtorName',
  'debtor.type': 'debtorType',
  'debtor.email': 'debtorEmail',
  'debtor.postalCode': 'debtorPostalCode',
  'debtor.province': 'debtorProvince',
  'debtor.city': 'debtorCity',
  'debtor.streetName': 'debtorStreet',
  'debtor.civicNumber': 'debtorCivic',
  description: 'description',
  validityDate: 'validityDate',
  serviceCode: 'serviceCode',
};

function text(form: PositionForm, name: string): string {
  return (form[name] ?? '').trim();
}

/** Splits `amountCents` between the ente and the second beneficiary (percentage with 2 decimals, rounded half up). */
export function splitShare(amountCents: number, percent: number): [number, number] {
  const second = Math.round((amountCents * Math.round(percent * 100)) / 10000);
  return [amountCents - second, second];
}

export interface FormMapping {
  body: PositionBody;
  /** Errors of the form itself (before the domain validation), keyed by form field name. */
  errors: Record<string, string>;
  /** Form field of each option index, to place domain errors next to the right row. */
  optionFields: string[];
}

export function formToPositionBody(form: PositionForm, second: SecondBeneficiary | null): FormMapping {
  const errors: Record<string, string> = {};
  const optionFields: string[] = [];
  const rows: { isInstallment: boolean; amount: string; due: string; field: string; n?: number }[] = [];
  if (text(form, 'singleAmount') || text(form, 'singleDue')) {
    rows.push({ isInstallment: false, amount: text(form, 'singleAmount'), due: text(form, 'singleDue'), field: 'single' });
  }
  let n = 0;
  for (let i = 1; i <= MAX_FORM_INSTALLMENTS; i++) {
    const amount = text(form, `inst${i}Amount`);
    const due = text(form, `inst${i}Due`);
    if (!amount && !due) continue;
    n++;
    rows.push({ isInstallment: true, amount, due, field: `inst${i}`, n });
  }
  if (rows.length === 0) errors.single = 'Indica l’importo e la scadenza della rata unica oppure almeno due rate.';

  let percent = 0;
  const percentText = text(form, 'secondPercent');
  if (second && percentText) {
    const p = Number(percentText.replace(',', '.'));
    if (!Number.isFinite(p) || p <= 0 || p >= 100) errors.secondPercent = 'Percentuale non valida: un numero tra 0 e 100, es. 5.';
    else percent = p;
  }
  const remittance = text(form, 'remittance') || text(form, 'description');
  const taxonomy = text(form, 'taxonomyCode');

  const paymentOptions = rows.map((row) => {
    optionFields.push(row.field);
    const cents = parseEuroToCents(row.amount);
    if (cents === null || cents <= 0) errors[`${row.field}Amount`] = 'Importo non valido (es. 120,50).';
    const amountCents = cents ?? 0;
    const label = row.isInstallment ? `${remittance} rata ${row.n}` : remittance;
    const [own, other] = percent > 0 ? splitShare(amountCents, percent) : [amountCents, 0];
    const transfers: Record<string, unknown>[] = [
      { idTransfer: 1, amountCents: own, remittanceInformation: label.slice(0, 140), taxonomyCode: taxonomy },
    ];
    if (other > 0 && second) {
      transfers.push({
        idTransfer: 2,
        fiscalCodePA: second.fiscalCode,
        iban: second.iban,
        amountCents: other,
        remittanceInformation: `${text(form, 'secondRemittance') || 'Quota'} ${row.isInstallment ? `rata ${row.n}` : ''}`.trim().slice(0, 140),
        taxonomyCode: text(form, 'secondTaxonomyCode'),
      });
    }
    return {
      isInstallment: row.isInstallment,
      installmentNumber: row.n,
      description: row.isInstallment ? `Rata ${row.n} di ${n}` : 'Unica soluzione',
      amountCents,
      dueDate: row.due,
      transfers,
    };
  });

  const body: PositionBody = {
    serviceCode: text(form, 'serviceCode'),
    switchToExpired: form.switchToExpired === 'on',
    debtor: {
      type: text(form, 'debtorType') || 'F',
      fiscalCode: text(form, 'debtorFiscalCode').toUpperCase(),
      fullName: text(form, 'debtorName'),
      streetName: text(form, 'debtorStreet') || null,
      civicNumber: text(form, 'debtorCivic') || null,
      postalCode: text(form, 'debtorPostalCode') || null,
      city: text(form, 'debtorCity') || null,
      province: text(form, 'debtorProvince').toUpperCase() || null,
      email: text(form, 'debtorEmail') || null,
    },
    description: text(form, 'description'),
    validityDate: text(form, 'validityDate') || null,
    paymentOptions,
  };
  return { body, errors, optionFields };
}

/**
 * The form with the taxonomy code of its service when the operator left it empty: the chosen
 * service's, or on a new form (no service chosen yet) the first one's, which the select shows.
 */
export function withServiceTaxonomy(form: PositionForm, services: readonly { code: string; taxonomyCode: string }[]): PositionForm {
  if (text(form, 'taxonomyCode')) return form;
  const code = text(form, 'serviceCode');
  const service = code ? services.find((s) => s.code === code) : services[0];
  return service ? { ...form, serviceCode: service.code, taxonomyCode: service.taxonomyCode } : form;
}

/** Puts domain errors (paths like `paymentOptions[2].dueDate`) next to the form fields. */
export function domainErrorsToForm(errors: FieldError[], optionFields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) {
    const m = /^paymentOptions\[(\d+)\](?:\.(\w+))?/.exec(e.field);
    let key: string;
    if (m) {
      const row = optionFields[Number(m[1])] ?? 'single';
      key = m[2] === 'dueDate' ? `${row}Due` : m[2] === 'amountCents' || m[2] === 'amountEuro' ? `${row}Amount` : e.field.includes('taxonomyCode') ? (e.field.includes('transfers[1]') ? 'secondTaxonomyCode' : 'taxonomyCode') : `${row}Amount`;
    } else {
      key = FIELD_LABELS[e.field] ?? (e.field === 'paymentOptions' ? 'single' : 'general');
    }
    out[key] = out[key] ? `${out[key]} ${e.message}` : e.message;
  }
  return out;
}

function euroField(cents: number): string {
  return formatEuro(cents).replace(/\s?€/, '').trim();
}

/** The form fields of an existing position, for the edit page. */
export function positionToForm(p: PositionDetail, serviceCode: string, secondFiscalCode: string | null): PositionForm {
  const form: PositionForm = {
    serviceCode,
    debtorType: p.debtorType,
    debtorFiscalCode: p.debtorFiscalCode,
    debtorName: p.debtorName,
    debtorStreet: p.debtorStreet ?? '',
    debtorCivic: p.debtorCivic ?? '',
    debtorPostalCode: p.debtorPostalCode ?? '',
    debtorCity: p.debtorCity ?? '',
    debtorProvince: p.debtorProvince ?? '',
    debtorEmail: p.debtorEmail ?? '',
    description: p.description,
    validityDate: p.validityDate ?? '',
    switchToExpired: p.switchToExpired ? 'on' : undefined,
  };
  const first = p.options[0]?.transfers[0];
  form.taxonomyCode = first?.taxonomyCode ?? '';
  form.remittance = first?.remittanceInformation.replace(/ rata \d+$/, '') ?? '';
  const withSecond = p.options.find((o) => o.transfers[1]);
  if (withSecond && secondFiscalCode && withSecond.transfers[1]!.fiscalCodePA === secondFiscalCode) {
    form.secondPercent = String(Math.round((withSecond.transfers[1]!.amountCents * 10000) / withSecond.amountCents) / 100).replace('.', ',');
    form.secondTaxonomyCode = withSecond.transfers[1]!.taxonomyCode;
    form.secondRemittance = withSecond.transfers[1]!.remittanceInformation.replace(/ rata \d+$/, '');
  }
  let i = 0;
  for (const o of p.options) {
    if (o.kind === 'single') {
      form.singleAmount = euroField(o.amountCents);
      form.singleDue = o.dueDate;
    } else {
      i++;
      form[`inst${i}Amount`] = euroField(o.amountCents);
      form[`inst${i}Due`] = o.dueDate;
    }
  }
  return form;
}
