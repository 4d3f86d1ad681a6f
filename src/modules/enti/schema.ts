/** Enti (the province and the comuni), their IBANs and their payment services. */
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { bool, createdAt, updatedAt } from '../../db/columns.js';

export const ENTE_KINDS = ['provincia', 'comune'] as const;

export const enti = sqliteTable(
  'enti',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind', { enum: ENTE_KINDS }).notNull(),
    name: text('name').notNull(),
    /** 11-digit fiscal code (idPA / idDominio in pagoPA). */
    fiscalCode: text('fiscal_code').notNull().unique(),
    ipaCode: text('ipa_code').notNull().unique(),
    istatCode: text('istat_code').unique(),
    cadastralCode: text('cadastral_code'),
    population: integer('population'),
    /** pagoPA segregation code (2 digits, 00–45) for IUVs with aux digit 3. */
    segregationCode: text('segregation_code').notNull(),
    /** Path of the stemma under /static or DATA_DIR/files; null shows a generic emblem. */
    logoPath: text('logo_path'),
    slogan: text('slogan'),
    zone: text('zone'),
    address: text('address'),
    phone: text('phone'),
    email: text('email'),
    pec: text('pec'),
    website: text('website'),
    officeHours: text('office_hours'),
    /** Active member of the SAEL platform (its services are payable on the portal). */
    member: bool('member').notNull().default(false),
    /** Codes are demo values of valid format (seeded demo data), not the real IndicePA ones. */
    isDemo: bool('is_demo').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('enti_name').on(t.name)],
);

export const IBAN_KINDS = ['bank', 'postal'] as const;

export const enteIbans = sqliteTable(
  'ente_ibans',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    iban: text('iban').notNull(),
    kind: text('kind', { enum: IBAN_KINDS }).notNull(),
    label: text('label').notNull(),
    active: bool('active').notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('ente_ibans_unique').on(t.enteId, t.iban)],
);

export const AMOUNT_MODES = ['fixed', 'free'] as const;

export const paymentServices = sqliteTable(
  'payment_services',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    code: text('code').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    /** pagoPA taxonomy code (transferCategory), e.g. 9/0101101IM/. */
    taxonomyCode: text('taxonomy_code').notNull(),
    defaultIbanId: integer('default_iban_id').references(() => enteIbans.id, { onDelete: 'restrict' }),
    /** Citizens may start a spontaneous payment for this service from the portal. */
    spontaneous: bool('spontaneous').notNull().default(false),
    amountMode: text('amount_mode', { enum: AMOUNT_MODES }).notNull().default('free'),
    fixedAmountCents: integer('fixed_amount_cents'),
    minAmountCents: integer('min_amount_cents'),
    maxAmountCents: integer('max_amount_cents'),
    /**
     * The service's code in pagoPA's services catalogue (`idServizio`): set, the service is
     * payable at a PSP without a notice (paDemandPaymentNotice); its form is the spontaneous one.
     */
    pspServiceId: text('psp_service_id'),
    active: bool('active').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('payment_services_code').on(t.enteId, t.code), uniqueIndex('payment_services_psp_service').on(t.enteId, t.pspServiceId)],
);
