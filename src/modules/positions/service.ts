/**
 * From a request body (form, CSV group or API JSON) to a position write: resolves the payment
 * service, fills the service's default IBAN where a transfer to the ente names none, and runs the
 * domain validation with the database facts (registered IBANs, today's date).
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { enteIbans, enti } from '../enti/schema.js';
import { getServiceByCode, type Ente, type PaymentService } from '../enti/repository.js';
import type { PositionWrite } from './repository.js';
import { validatePosition, type FieldError, type PositionInput, type TransferInput } from './validation.js';

export interface PositionBody extends PositionInput {
  serviceCode?: unknown;
  switchToExpired?: unknown;
}

export type PreparedWrite = { ok: true; service: PaymentService; write: PositionWrite } | { ok: false; errors: FieldError[] };

/** Today in Italy as YYYY-MM-DD (due dates are Italian calendar dates). */
const ITALIAN_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Rome', year: 'numeric', month: '2-digit', day: '2-digit' });

let todayCache = { minute: NaN, date: '' };

/**
 * Today's date in Italy (YYYY-MM-DD). Formatting with a time zone costs ~15 µs and the station
 * and the portal ask on every request: the answer is kept for the UTC minute (Rome's day always
 * starts on a whole minute).
 */
export function todayInItaly(now = new Date()): string {
  const minute = Math.floor(now.getTime() / 60_000);
  if (minute !== todayCache.minute) todayCache = { minute, date: ITALIAN_DATE.format(now) };
  return todayCache.date;
}

/**
 * IBAN check for the validation: an IBAN credited to an ente we serve must be one of its active
 * registered accounts; for enti we do not serve we cannot know, and the node checks it.
 */
export async function registeredIbanChecker(db: DbLike, fiscalCodes?: Iterable<string>): Promise<(fiscalCodePA: string, iban: string) => boolean> {
  // Read up front (the validation that calls the checker is synchronous): every ente, or the ones
  // named, with its active accounts; an ente with none refuses every IBAN.
  const codes = fiscalCodes ? [...new Set(fiscalCodes)] : undefined;
  const rows = await db
    .select({ fiscalCode: enti.fiscalCode, iban: enteIbans.iban })
    .from(enti)
    .leftJoin(enteIbans, and(eq(enteIbans.enteId, enti.id), eq(enteIbans.active, true)))
    .where(codes ? inArray(enti.fiscalCode, codes) : undefined);
  const byEnte = new Map<string, Set<string>>();
  for (const r of rows) {
    let set = byEnte.get(r.fiscalCode);
    if (!set) byEnte.set(r.fiscalCode, (set = new Set()));
    if (r.iban) set.add(r.iban);
  }
  return (fiscalCodePA, iban) => {
    const known = byEnte.get(fiscalCodePA);
    return known === undefined ? true : known.has(iban);
  };
}

async function defaultIbanOf(db: DbLike, service: PaymentService): Promise<string | null> {
  if (!service.defaultIbanId) return null;
  return (await db.select({ iban: enteIbans.iban }).from(enteIbans).where(eq(enteIbans.id, service.defaultIbanId)).limit(1))[0]?.iban ?? null;
}

/**
 * `opts.externalIuvs`: every option brings its own IUV (the GPD API), checked for the ente's
 * segregation code and check digits here and for having never been issued by the repository.
 */
export async function preparePositionWrite(db: DbLike, ente: Ente, body: PositionBody, opts: { today?: string; externalIuvs?: boolean } = {}): Promise<PreparedWrite> {
  const code = typeof body.serviceCode === 'string' ? body.serviceCode.trim().toUpperCase() : '';
  const service = code ? await getServiceByCode(db, ente.id, code) : undefined;
  const errors: FieldError[] = [];
  if (!service || !service.active) {
    errors.push({ field: 'serviceCode', message: code ? `Servizio «${code}» inesistente o non attivo per questo ente.` : 'Indica il servizio di pagamento.' });
  }
  const defaultIban = service ? await defaultIbanOf(db, service) : null;
  const input: PositionInput = {
    ...body,
    paymentOptions: body.paymentOptions?.map((o) => ({
      ...o,
      transfers: o.transfers?.map((t): TransferInput => {
        const ownEnte = t.fiscalCodePA === undefined || t.fiscalCodePA === '' || t.fiscalCodePA === ente.fiscalCode;
        const noAccount = !t.iban && !t.postalIban && !t.stamp;
        return ownEnte && noAccount && defaultIban ? { ...t, iban: defaultIban } : t;
      }),
    })),
  };
  // Only the beneficiaries this position names (as written and as the validation normalises them).
  const beneficiaries = (input.paymentOptions ?? []).flatMap((o) => (o.transfers ?? []).map((t) => (typeof t.fiscalCodePA === 'string' ? t.fiscalCodePA : '')));
  const result = validatePosition(input, {
    enteFiscalCode: ente.fiscalCode,
    today: opts.today ?? todayInItaly(),
    isRegisteredIban: await registeredIbanChecker(db, [ente.fiscalCode, ...beneficiaries, ...beneficiaries.map((c) => c.trim().toUpperCase())]),
    ...(opts.externalIuvs ? { externalIuvSegregationCode: ente.segregationCode } : {}),
  });
  if (!result.ok) errors.push(...result.errors);
  if (errors.length > 0 || !result.ok || !service) return { ok: false, errors };
  return { ok: true, service, write: { value: result.value, switchToExpired: body.switchToExpired === true } };
}
