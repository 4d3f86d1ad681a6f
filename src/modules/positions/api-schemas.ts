/**
 * JSON schemas of the positions REST API (edge validation: types, lengths, unknown fields);
 * the domain rules (check digits, sums, dates) run after, in validation.ts. The OpenAPI document
 * at /api/docs is generated from these.
 */
const str = (maxLength: number, extra: Record<string, unknown> = {}) => ({ type: 'string', maxLength, ...extra }) as const;
const nullableStr = (maxLength: number, extra: Record<string, unknown> = {}) =>
  ({ type: ['string', 'null'], maxLength, ...extra }) as const;
const isoDate = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'Data ISO AAAA-MM-GG' } as const;
const nullableDate = { type: ['string', 'null'], pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
const cents = { type: 'integer', minimum: 1, maximum: 999999999, description: 'Importo in centesimi di euro' } as const;

const metadata = {
  type: 'array',
  maxItems: 10,
  items: {
    type: 'object',
    properties: { key: str(140), value: str(140) },
    required: ['key', 'value'],
    additionalProperties: false,
  },
} as const;

export const transferInput = {
  type: 'object',
  properties: {
    idTransfer: { type: 'integer', minimum: 1, maximum: 5 },
    fiscalCodePA: str(11, { description: 'Codice fiscale dell’ente beneficiario (predefinito: l’ente della chiave)' }),
    amountCents: cents,
    iban: nullableStr(34),
    postalIban: nullableStr(34),
    stamp: {
      type: ['object', 'null'],
      properties: { hashDocument: str(72), stampType: str(2), provincialResidence: str(2) },
      required: ['hashDocument', 'stampType', 'provincialResidence'],
      additionalProperties: false,
    },
    remittanceInformation: str(140),
    taxonomyCode: str(20, { description: 'Codice tassonomia pagoPA, es. 9/0101108TS/' }),
    metadata,
  },
  required: ['amountCents', 'remittanceInformation', 'taxonomyCode'],
  additionalProperties: false,
} as const;

export const optionInput = {
  type: 'object',
  properties: {
    isInstallment: { type: 'boolean', default: false },
    plan: str(35),
    installmentNumber: { type: 'integer', minimum: 1, maximum: 100 },
    description: nullableStr(140),
    amountCents: cents,
    dueDate: isoDate,
    retentionDate: nullableDate,
    transfers: { type: 'array', minItems: 1, maxItems: 5, items: transferInput },
  },
  required: ['amountCents', 'dueDate', 'transfers'],
  additionalProperties: false,
} as const;

export const debtorSchema = {
  type: 'object',
  properties: {
    type: { type: 'string', enum: ['F', 'G'] },
    fiscalCode: str(16),
    fullName: str(70),
    streetName: nullableStr(70),
    civicNumber: nullableStr(16),
    postalCode: nullableStr(16),
    city: nullableStr(35),
    province: nullableStr(35),
    country: nullableStr(2),
    email: nullableStr(256),
  },
  required: ['type', 'fiscalCode', 'fullName'],
  additionalProperties: false,
} as const;

const positionContent = {
  serviceCode: str(35, { description: 'Codice del servizio di pagamento dell’ente (es. TARI)' }),
  switchToExpired: { type: 'boolean', default: false, description: 'Dopo la scadenza dell’ultima opzione non è più pagabile' },
  debtor: debtorSchema,
  description: str(140),
  validityDate: nullableDate,
  paymentOptions: { type: 'array', minItems: 1, maxItems: 100, items: optionInput },
} as const;

export const createPositionBody = {
  type: 'object',
  properties: {
    iupd: str(35, { pattern: '^[A-Za-z0-9._-]{1,35}$', description: 'Identificativo esterno, univoco per ente; generato se assente' }),
    publish: { type: 'boolean', default: true, description: 'false = bozza (non pagabile)' },
    ...positionContent,
  },
  required: ['serviceCode', 'debtor', 'description', 'paymentOptions'],
  additionalProperties: false,
} as const;

export const patchPositionBody = {
  type: 'object',
  properties: {
    version: { type: 'integer', minimum: 1, description: 'Versione letta: se è cambiata nel frattempo la modifica è rifiutata (409)' },
    ...positionContent,
  },
  additionalProperties: false,
  minProperties: 1,
} as const;

const transferOut = {
  type: 'object',
  properties: {
    idTransfer: { type: 'integer' },
    fiscalCodePA: { type: 'string' },
    amountCents: { type: 'integer' },
    iban: { type: ['string', 'null'] },
    postalIban: { type: ['string', 'null'] },
    stamp: {
      type: ['object', 'null'],
      properties: { hashDocument: { type: 'string' }, stampType: { type: 'string' }, provincialResidence: { type: 'string' } },
    },
    remittanceInformation: { type: 'string' },
    taxonomyCode: { type: 'string' },
    metadata: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' }, value: { type: 'string' } } } },
  },
} as const;

export const positionOut = {
  type: 'object',
  properties: {
    iupd: { type: 'string' },
    status: { type: 'string', enum: ['draft', 'published', 'partially_paid', 'paid', 'expired', 'cancelled'] },
    version: { type: 'integer' },
    serviceCode: { type: 'string' },
    switchToExpired: { type: 'boolean' },
    debtor: {
      type: 'object',
      properties: Object.fromEntries(Object.keys(debtorSchema.properties).map((k) => [k, { type: ['string', 'null'] }])),
    },
    description: { type: 'string' },
    validityDate: { type: ['string', 'null'] },
    publishedAt: { type: ['string', 'null'] },
    cancelledAt: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    paymentOptions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          iuv: { type: 'string' },
          noticeNumber: { type: 'string' },
          kind: { type: 'string', enum: ['single', 'installment'] },
          plan: { type: ['string', 'null'] },
          installmentNumber: { type: ['integer', 'null'] },
          installmentCount: { type: ['integer', 'null'] },
          description: { type: ['string', 'null'] },
          amountCents: { type: 'integer' },
          dueDate: { type: 'string' },
          retentionDate: { type: ['string', 'null'] },
          status: { type: 'string', enum: ['unpaid', 'paid', 'cancelled'] },
          paidAt: { type: ['string', 'null'] },
          transfers: { type: 'array', items: transferOut },
        },
      },
    },
  },
} as const;

export const problemSchema = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, pointer: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;

export const listQuery = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['draft', 'published', 'partially_paid', 'paid', 'expired', 'cancelled'] },
    serviceCode: str(35),
    debtor: str(70, { description: 'Codice fiscale (esatto) o parte del nominativo' }),
    dueFrom: isoDate,
    dueTo: isoDate,
    notice: str(20, { description: 'Codice avviso o IUV, anche parziale' }),
    // Bounded: without a maximum `page=1e300` is an integer to the schema and an OFFSET SQLite refuses (500).
    // A page past the last answers 200 with no items.
    page: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 1, description: 'Pagina (1–1 000 000); oltre l’ultima l’elenco è vuoto' },
    pageSize: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
  },
  additionalProperties: false,
} as const;

export const iupdParams = {
  type: 'object',
  properties: { iupd: str(35, { pattern: '^[A-Za-z0-9._-]{1,35}$' }) },
  required: ['iupd'],
} as const;
