/**
 * The form of a payment service payable at a PSP (paDemandPaymentNotice
 * `datiSpecificiServizioRequest`), as an XSD for pagoPA's services catalogue, GENERATED from the
 * one definition of the service's fields and amount rule (enti/service-fields.ts) that the
 * portal's spontaneous payment uses too: the debtor, each field of the service (required, its
 * length) and, when the payer chooses the amount, `importo` within the service's bounds.
 *
 * ```xml
 * <datiSpecificiServizio xmlns="urn:sael-pay:servizio:80000270064:00001">
 *   <debitore><tipo>F</tipo><codiceFiscale>…</codiceFiscale><nominativo>…</nominativo><email>…</email></debitore>
 *   <alunno>…</alunno><scuola>…</scuola>
 *   <importo>25.00</importo>
 * </datiSpecificiServizio>
 * ```
 *
 * The station validates each form against the XSD of that very service with the project's XSD
 * tooling (libxml2-wasm, xml/xsd.ts): the generated text is written once per content (file name
 * = its SHA-256) and compiled once per process. Also builds and reads such a form (the simulated
 * PSP and the station).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { centsToDecimalString } from '../../domain/money.js';
import { getXsdSchema, type XsdSchema } from '../../xml/xsd.js';
import type { Ente, PaymentService } from '../enti/repository.js';
import { amountRule, fieldsOf, normaliseFieldValue, type SpontaneousDebtor } from '../enti/service-fields.js';
import { amountToCents, child, el, escapeXml, text, xml } from './soap.js';

type FormService = Pick<PaymentService, 'code' | 'name' | 'pspServiceId' | 'amountMode' | 'fixedAmountCents' | 'minAmountCents' | 'maxAmountCents'>;
type FormEnte = Pick<Ente, 'fiscalCode' | 'name'>;

/** Root element of every service form. */
export const FORM_ROOT = 'datiSpecificiServizio';

/** Largest decoded form accepted (the whole SOAP message is at most MAX_SOAP_BYTES). */
export const MAX_FORM_BYTES = 64 * 1024;

/** The form's namespace: the ente and the service's idServizio in the catalogue. */
export function serviceFormNamespace(ente: Pick<Ente, 'fiscalCode'>, service: Pick<PaymentService, 'pspServiceId'>): string {
  if (!service.pspServiceId) throw new Error('the service is not payable at a PSP (no idServizio)');
  return `urn:sael-pay:servizio:${ente.fiscalCode}:${service.pspServiceId}`;
}

/** A decimal as XSD writes it, from cents ("25.00"). */
const decimal = (cents: number) => centsToDecimalString(cents);

/** The XSD of the service's form for pagoPA's services catalogue. */
export function serviceFormXsd(ente: FormEnte, service: FormService): string {
  const ns = serviceFormNamespace(ente, service);
  const rule = amountRule(service);
  const fields = fieldsOf(service);
  const doc = (s: string) => `<xs:annotation><xs:documentation xml:lang="it">${escapeXml(s)}</xs:documentation></xs:annotation>`;
  const token = (max: number, min = 1) =>
    `<xs:simpleType><xs:restriction base="xs:token"><xs:minLength value="${min}"/><xs:maxLength value="${max}"/></xs:restriction></xs:simpleType>`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<!-- ${escapeXml(ente.name)} – ${escapeXml(service.name)} (codice ${escapeXml(service.code)}, idServizio ${escapeXml(service.pspServiceId!)}). Generato da sael-pay: non modificare. -->`,
    `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="${ns}" xmlns:tns="${ns}" elementFormDefault="qualified" version="1.0">`,
    `  <xs:element name="${FORM_ROOT}">`,
    `    ${doc(`${service.name}: dati del pagamento presso un PSP (paDemandPaymentNotice, datiSpecificiServizioRequest).`)}`,
    '    <xs:complexType>',
    '      <xs:sequence>',
    '        <xs:element name="debitore" type="tns:debitore"/>',
    ...fields.map((f) => `        <xs:element name="${f.name}">${doc(f.label + (f.help ? ` ${f.help}` : ''))}${token(f.maxLength)}</xs:element>`),
    ...(rule.fixed
      ? []
      : [
          `        <xs:element name="importo">${doc(`Importo in euro con due decimali${rule.hint ? `. ${rule.hint}` : ''}`)}<xs:simpleType><xs:restriction base="xs:decimal"><xs:pattern value="\\d{1,9}\\.\\d{2}"/><xs:minInclusive value="${decimal(rule.min)}"/><xs:maxInclusive value="${decimal(rule.max)}"/></xs:restriction></xs:simpleType></xs:element>`,
        ]),
    '      </xs:sequence>',
    '    </xs:complexType>',
    '  </xs:element>',
    '  <xs:complexType name="debitore">',
    `    ${doc('Chi paga: persona fisica (F, codice fiscale di 16 caratteri) o giuridica (G, 11 cifre).')}`,
    '    <xs:sequence>',
    '      <xs:element name="tipo"><xs:simpleType><xs:restriction base="xs:string"><xs:enumeration value="F"/><xs:enumeration value="G"/></xs:restriction></xs:simpleType></xs:element>',
    '      <xs:element name="codiceFiscale"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]|[0-9]{11}"/></xs:restriction></xs:simpleType></xs:element>',
    `      <xs:element name="nominativo">${token(70)}</xs:element>`,
    '      <xs:element name="email" minOccurs="0"><xs:simpleType><xs:restriction base="xs:string"><xs:maxLength value="256"/><xs:pattern value="[a-zA-Z0-9_.+\\-]+@[a-zA-Z0-9\\-]+(\\.[a-zA-Z0-9\\-]+)*"/></xs:restriction></xs:simpleType></xs:element>',
    '    </xs:sequence>',
    '  </xs:complexType>',
    '</xs:schema>',
    '',
  ];
  return lines.join('\n');
}

let formDir: string | null = null;

/** The compiled XSD of the service's form (written and compiled once per content). */
export function serviceFormSchema(ente: FormEnte, service: FormService): XsdSchema {
  const text = serviceFormXsd(ente, service);
  const hash = crypto.createHash('sha256').update(text).digest('hex').slice(0, 32);
  formDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'sael-service-forms-'));
  const file = path.join(formDir, `${hash}.xsd`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, text);
  return getXsdSchema(file, { maxBytes: MAX_FORM_BYTES });
}

export interface ServiceFormData {
  debtor: SpontaneousDebtor;
  /** Field name → value. */
  fields: Record<string, string>;
  /** Present only for services whose payer chooses the amount. */
  amountCents?: number;
}

/** The form a PSP sends for this service (the simulated PSP; tests). Values are written as given. */
export function buildServiceForm(ente: Pick<Ente, 'fiscalCode'>, service: FormService, data: ServiceFormData): string {
  const ns = serviceFormNamespace(ente, service);
  const d = data.debtor;
  const body = xml([
    el('debitore', [el('tipo', d.type), el('codiceFiscale', d.fiscalCode), el('nominativo', d.fullName), el('email', d.email || undefined)]),
    ...fieldsOf(service).map((f) => el(f.name, data.fields[f.name] ?? '')),
    data.amountCents === undefined ? undefined : el('importo', decimal(data.amountCents)),
  ]);
  return `<?xml version="1.0" encoding="UTF-8"?><${FORM_ROOT} xmlns="${ns}">${body}</${FORM_ROOT}>`;
}

/** Reads a form that passed the service's XSD (so every required element is there). */
export function readServiceForm(root: Element, service: FormService): ServiceFormData {
  const debtor = child(root, 'debitore');
  const email = text(debtor, 'email');
  const fields: Record<string, string> = {};
  for (const f of fieldsOf(service)) fields[f.name] = normaliseFieldValue(text(root, f.name));
  const importo = text(root, 'importo');
  return {
    debtor: {
      type: text(debtor, 'tipo') === 'G' ? 'G' : 'F',
      fiscalCode: text(debtor, 'codiceFiscale') ?? '',
      fullName: normaliseFieldValue(text(debtor, 'nominativo')),
      ...(email ? { email } : {}),
    },
    fields,
    ...(importo === undefined ? {} : { amountCents: amountToCents(importo) }),
  };
}
