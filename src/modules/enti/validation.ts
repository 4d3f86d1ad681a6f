/**
 * Validation of the admin forms for enti, IBANs and payment services: plain objects in,
 * normalised values or Italian messages per field out. Pure functions.
 */
import { isValidNumericFiscalCode } from '../../domain/fiscal-code.js';
import { isPostalIban, isValidIban, normaliseIban } from '../../domain/iban.js';
import { parseEuroToCents } from '../../domain/money.js';

export type FieldErrors = Record<string, string>;
export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

type Form = Record<string, unknown>;

function str(form: Form, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v.trim() : '';
}

function optional(form: Form, name: string): string | null {
  return str(form, name) || null;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface EnteInput {
  kind: 'provincia' | 'comune';
  name: string;
  fiscalCode: string;
  ipaCode: string;
  istatCode: string | null;
  segregationCode: string;
  slogan: string | null;
  zone: string | null;
  address: string | null;
  phone: string | null;
  email: string | null;
  pec: string | null;
  website: string | null;
  officeHours: string | null;
  member: boolean;
}

export function validateEnte(form: Form): Validated<EnteInput> {
  const errors: FieldErrors = {};
  const kind = str(form, 'kind');
  if (kind !== 'provincia' && kind !== 'comune') errors.kind = 'Scegli se è un comune o la provincia.';
  const name = str(form, 'name');
  if (name.length < 2 || name.length > 140) errors.name = 'Indica la denominazione (da 2 a 140 caratteri).';
  const fiscalCode = str(form, 'fiscalCode');
  if (!isValidNumericFiscalCode(fiscalCode))
    errors.fiscalCode = 'Il codice fiscale dell’ente deve avere 11 cifre con la cifra di controllo corretta.';
  const ipaCode = str(form, 'ipaCode').toLowerCase();
  if (!/^[a-z0-9_]{2,20}$/.test(ipaCode)) errors.ipaCode = 'Il codice IPA ha da 2 a 20 caratteri: lettere, cifre o _.';
  const istatCode = optional(form, 'istatCode');
  if (istatCode !== null && !/^[0-9]{6}$/.test(istatCode)) errors.istatCode = 'Il codice ISTAT ha 6 cifre.';
  const segregationCode = str(form, 'segregationCode');
  if (!/^[0-9]{2}$/.test(segregationCode) || Number(segregationCode) > 45)
    errors.segregationCode = 'Il codice di segregazione ha 2 cifre, da 00 a 45.';
  const email = optional(form, 'email');
  if (email !== null && !EMAIL.test(email)) errors.email = 'Indirizzo email non valido.';
  const pec = optional(form, 'pec');
  if (pec !== null && !EMAIL.test(pec)) errors.pec = 'Indirizzo PEC non valido.';
  const website = optional(form, 'website');
  if (website !== null && !/^https?:\/\/[^\s]+$/.test(website)) errors.website = 'Il sito deve iniziare con https://.';
  for (const [field, max] of [
    ['slogan', 200],
    ['zone', 80],
    ['address', 200],
    ['phone', 40],
    ['officeHours', 500],
  ] as const) {
    if (str(form, field).length > max) errors[field] = `Massimo ${max} caratteri.`;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      kind: kind as 'provincia' | 'comune',
      name,
      fiscalCode,
      ipaCode,
      istatCode,
      segregationCode,
      slogan: optional(form, 'slogan'),
      zone: optional(form, 'zone'),
      address: optional(form, 'address'),
      phone: optional(form, 'phone'),
      email,
      pec,
      website,
      officeHours: optional(form, 'officeHours'),
      member: form.member === 'on' || form.member === 'true' || form.member === true,
    },
  };
}

export interface IbanInput {
  iban: string;
  kind: 'bank' | 'postal';
  label: string;
}

export function validateIban(form: Form): Validated<IbanInput> {
  const errors: FieldErrors = {};
  const iban = normaliseIban(str(form, 'iban'));
  const label = str(form, 'label');
  if (!isValidIban(iban)) errors.iban = 'IBAN non valido: controlla le cifre (il codice di controllo non torna).';
  else if (!iban.startsWith('IT')) errors.iban = 'Per pagoPA l’IBAN di accredito deve essere italiano (IT…).';
  if (label.length < 2 || label.length > 80) errors.label = 'Indica una descrizione del conto (da 2 a 80 caratteri).';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: { iban, kind: isPostalIban(iban) ? 'postal' : 'bank', label } };
}

/** pagoPA taxonomy code: [prefix/]<tipo ente 2n><macro area 2n><tipologia servizio 3n><motivo giuridico>/ */
export const TAXONOMY_CODE = /^(?:[0-9]\/)?[0-9]{7}(?:IM|TS|SP|SA|AP)\/$/;

export interface ServiceInput {
  code: string;
  name: string;
  description: string | null;
  taxonomyCode: string;
  defaultIbanId: number | null;
  spontaneous: boolean;
  amountMode: 'fixed' | 'free';
  fixedAmountCents: number | null;
  minAmountCents: number | null;
  maxAmountCents: number | null;
  /**
   * idServizio in pagoPA's services catalogue: set, the service is payable at a PSP
   * (paDemandPaymentNotice); absent (undefined), an update leaves it as it is.
   */
  pspServiceId?: string | null;
  active: boolean;
}

/** idServizio of pagoPA's services catalogue (paForNode.xsd stIdentificativoServizio: 5 characters). */
export const PSP_SERVICE_ID = /^[0-9A-Za-z]{5}$/;

export function validateService(form: Form, ibanIds: number[]): Validated<ServiceInput> {
  const errors: FieldErrors = {};
  const code = str(form, 'code').toUpperCase();
  if (!/^[A-Z0-9_-]{2,35}$/.test(code)) errors.code = 'Il codice ha da 2 a 35 caratteri: lettere, cifre, - o _.';
  const name = str(form, 'name');
  if (name.length < 2 || name.length > 140) errors.name = 'Indica il nome del servizio (da 2 a 140 caratteri).';
  const description = optional(form, 'description');
  if (description !== null && description.length > 1000) errors.description = 'Massimo 1000 caratteri.';
  const taxonomyCode = str(form, 'taxonomyCode');
  if (!TAXONOMY_CODE.test(taxonomyCode))
    errors.taxonomyCode = 'Codice tassonomia pagoPA non valido (esempio: 9/0101101IM/).';
  const ibanRaw = str(form, 'defaultIbanId');
  let defaultIbanId: number | null = null;
  if (ibanRaw) {
    defaultIbanId = Number(ibanRaw);
    if (!ibanIds.includes(defaultIbanId)) errors.defaultIbanId = 'Scegli uno dei conti dell’ente.';
  }
  const amountMode = str(form, 'amountMode') || 'free';
  if (amountMode !== 'fixed' && amountMode !== 'free') errors.amountMode = 'Scegli importo fisso o libero.';
  const cents = (field: string): number | null => {
    const raw = str(form, field);
    if (!raw) return null;
    const value = parseEuroToCents(raw);
    if (value === null || value <= 0) errors[field] = 'Importo non valido (esempio: 25,00).';
    return value;
  };
  const fixedAmountCents = cents('fixedAmount');
  const minAmountCents = cents('minAmount');
  const maxAmountCents = cents('maxAmount');
  if (amountMode === 'fixed' && fixedAmountCents === null && !errors.fixedAmount)
    errors.fixedAmount = 'Con importo fisso indica l’importo.';
  if (minAmountCents !== null && maxAmountCents !== null && minAmountCents > maxAmountCents)
    errors.maxAmount = 'L’importo massimo non può essere minore del minimo.';
  const pspServiceId = optional(form, 'pspServiceId');
  if (pspServiceId !== null && !PSP_SERVICE_ID.test(pspServiceId))
    errors.pspServiceId = 'L’idServizio del catalogo dei servizi pagoPA ha esattamente 5 caratteri, lettere o cifre (esempio: 00001).';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      code,
      name,
      description,
      taxonomyCode,
      defaultIbanId,
      spontaneous: form.spontaneous === 'on' || form.spontaneous === 'true' || form.spontaneous === true,
      amountMode: amountMode as 'fixed' | 'free',
      fixedAmountCents: amountMode === 'fixed' ? fixedAmountCents : null,
      minAmountCents: amountMode === 'free' ? minAmountCents : null,
      maxAmountCents: amountMode === 'free' ? maxAmountCents : null,
      pspServiceId,
      active: form.active === 'on' || form.active === 'true' || form.active === true,
    },
  };
}
