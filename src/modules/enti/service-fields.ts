/**
 * What a citizen tells the ente when paying a payment service without a notice: the service's
 * fields and its amount rule. ONE definition for both channels that create such a payment:
 * the portal's spontaneous payment (portal/spontaneous.ts) and the payment started at a PSP
 * (pagopa/demand.ts, whose form XSD for pagoPA's services catalogue is generated from it by
 * pagopa/demand-xsd.ts). Pure functions, no I/O.
 */
import { formatEuro } from '../../domain/money.js';
import { MAX_AMOUNT_CENTS } from '../positions/validation.js';
import type { PaymentService } from './repository.js';

export interface ServiceField {
  /** Name of the form field and of the element in the PSP form (an XML NCName). */
  name: string;
  label: string;
  help?: string;
  maxLength: number;
}

const CAUSALE: ServiceField = { name: 'causale', label: 'Causale del pagamento', help: 'Per che cosa paghi, ad esempio il numero della pratica.', maxLength: 100 };

export const SERVICE_FIELDS: Record<string, ServiceField[]> = {
  MENSA: [
    { name: 'alunno', label: 'Nome e cognome dell’alunno o dell’alunna', maxLength: 60 },
    { name: 'scuola', label: 'Scuola e classe', help: 'Ad esempio: Primaria «G. Pascoli», classe 3ª B.', maxLength: 60 },
  ],
  DIRITTI: [{ name: 'pratica', label: 'Documento o pratica richiesta', help: 'Ad esempio: certificato di destinazione urbanistica, prot. 1234/2026.', maxLength: 80 }],
};

/** Days a position created by a payment without a notice stays payable. */
export const SPONTANEOUS_DUE_DAYS = 30;

export function fieldsOf(service: Pick<PaymentService, 'code'>): ServiceField[] {
  return SERVICE_FIELDS[service.code] ?? [CAUSALE];
}

export interface AmountRule {
  /** The fixed amount as shown ("10,00 €"), or null when the payer chooses it. */
  fixed: string | null;
  min: number;
  max: number;
  hint: string;
}

export function amountRule(service: Pick<PaymentService, 'amountMode' | 'fixedAmountCents' | 'minAmountCents' | 'maxAmountCents'>): AmountRule {
  if (service.amountMode === 'fixed' && service.fixedAmountCents) {
    return { fixed: formatEuro(service.fixedAmountCents), min: service.fixedAmountCents, max: service.fixedAmountCents, hint: '' };
  }
  const min = service.minAmountCents ?? 1;
  const max = service.maxAmountCents ?? MAX_AMOUNT_CENTS;
  const hint =
    service.minAmountCents && service.maxAmountCents
      ? `Da ${formatEuro(min)} a ${formatEuro(max)}.`
      : service.minAmountCents
        ? `Almeno ${formatEuro(min)}.`
        : service.maxAmountCents
          ? `Al massimo ${formatEuro(max)}.`
          : '';
  return { fixed: null, min, max, hint };
}

/** Whitespace collapsed and trimmed, as both channels read a field (XSD `xs:token`). */
export function normaliseFieldValue(v: string | undefined): string {
  return (v ?? '').replace(/\s+/g, ' ').trim();
}

/**
 * The service's field values checked with the definition: each required, at most its length.
 * Returns the values in definition order, or Italian messages per field.
 */
export function checkFieldValues(service: Pick<PaymentService, 'code'>, raw: Record<string, string | undefined>): { values: string[]; errors: Record<string, string> } {
  const values: string[] = [];
  const errors: Record<string, string> = {};
  for (const f of fieldsOf(service)) {
    const v = normaliseFieldValue(raw[f.name]);
    if (!v) errors[f.name] = `Compila il campo «${f.label}».`;
    else if ([...v].length > f.maxLength) errors[f.name] = `Il campo «${f.label}» può contenere al massimo ${f.maxLength} caratteri.`;
    else values.push(v);
  }
  return { values, errors };
}

/** Why this amount is refused for the service, or null when it is within the rule. */
export function amountError(rule: AmountRule, cents: number): string | null {
  if (!Number.isSafeInteger(cents) || cents < 1) return 'Importo non valido: scrivilo in euro, ad esempio 25,50.';
  if (cents < rule.min) return `L’importo minimo per questo servizio è ${formatEuro(rule.min)}.`;
  if (cents > rule.max) return `L’importo massimo per questo servizio è ${formatEuro(rule.max)}.`;
  return null;
}

/** The causale of the position and of its transfer: the service name and the field values. */
export function spontaneousCausale(service: Pick<PaymentService, 'name'>, values: string[]): string {
  return `${service.name}: ${values.join(' – ')}`.slice(0, 140);
}

export interface SpontaneousDebtor {
  type: 'F' | 'G';
  fiscalCode: string;
  fullName: string;
  email?: string;
}

/** The position body both channels create: one option, one transfer to the ente, published by the caller. */
export function spontaneousPositionBody(
  service: Pick<PaymentService, 'code' | 'name' | 'taxonomyCode'>,
  debtor: SpontaneousDebtor,
  values: string[],
  cents: number,
  dueDate: string,
) {
  const causale = spontaneousCausale(service, values);
  return {
    serviceCode: service.code,
    switchToExpired: true,
    debtor: { type: debtor.type, fiscalCode: debtor.fiscalCode, fullName: debtor.fullName, ...(debtor.email ? { email: debtor.email } : {}) },
    description: causale,
    paymentOptions: [
      {
        isInstallment: false,
        amountCents: cents,
        dueDate,
        transfers: [{ idTransfer: 1, amountCents: cents, remittanceInformation: causale, taxonomyCode: service.taxonomyCode }],
      },
    ],
  };
}
