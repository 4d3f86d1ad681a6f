/**
 * Charges of an adesione as payment positions of the Province (issue #15 item 5).
 *
 * Each charge is a published position of the Province (ente kind 'provincia') on its payment
 * service for SAEL charges (setting `charges_service_code`, default 'SAEL'), whose debtor is the
 * comune (legal person 'G', its fiscal code, name, PEC or email). The position goes through the
 * positions module's own write path (preparePositionWrite + createPositionInTx: IUV and notice
 * number, transfer to the Province's IBAN, audit, ACA outbox, the debtor cache's triggers), and the
 * catalogue_charges row is written in the same transaction. One charge per (adesione, kind, period
 * key): a second call creates nothing. The iupd is deterministic (`SAEL-A<adesione>-<kind>-<key>`).
 *
 * The Province's payment service: in demo mode it is created when missing (with the Province's
 * first active IBAN); in production a missing service is an error recorded in the settings
 * (`charges_error`, shown on /admin/catalogo/addebiti) and nothing is issued: the scheduled pass
 * tries again once the SAEL admin has configured it.
 */
import { and, asc, eq } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { getServiceByCode, type Ente, type PaymentService } from '../enti/repository.js';
import { enteIbans, enti, paymentServices } from '../enti/schema.js';
import { createPositionInTx } from '../positions/repository.js';
import { preparePositionWrite, todayInItaly } from '../positions/service.js';
import { chargeDueDate, dueCharges, planCharges, type PlannedCharge } from './charge-plan.js';
import { CHARGEABLE_STATUSES, chargesError, chargesSettings, clearSetting, setSetting, type ChargesSettings } from './charges-repository.js';
import type { CatalogueCtx } from './context.js';
import { adesioni, catalogueCharges, catalogueServices } from './schema.js';

const ACTOR = { actor: 'system:catalogue-charges' };

export class ChargesConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChargesConfigError';
  }
}

/** The Province (the creditor of every charge). */
export async function provinceEnte(db: DbLike): Promise<Ente | undefined> {
  return (await db.select().from(enti).where(eq(enti.kind, 'provincia')).orderBy(asc(enti.id)).limit(1))[0];
}

/**
 * The Province's payment service for SAEL charges. Demo mode: created when missing (idempotent:
 * the unique (ente, code) index decides). Production: a missing or inactive service, or one
 * without a default IBAN, is a ChargesConfigError.
 */
export async function ensureChargesService(ctx: Pick<CatalogueCtx, 'db' | 'config'>, province: Ente, settings: ChargesSettings): Promise<PaymentService> {
  const existing = await getServiceByCode(ctx.db, province.id, settings.serviceCode);
  if (existing && existing.active && existing.defaultIbanId) return existing;
  if (ctx.config.isProduction) {
    throw new ChargesConfigError(
      existing
        ? `Il servizio di pagamento «${settings.serviceCode}» della ${province.name} non è attivo o non ha un IBAN predefinito: gli addebiti SAEL non possono essere emessi.`
        : `Manca il servizio di pagamento «${settings.serviceCode}» della ${province.name} per gli addebiti SAEL: crealo nella scheda dell’ente (Amministrazione › Enti) con un IBAN predefinito.`,
    );
  }
  const iban = (await ctx.db
      .select({ id: enteIbans.id })
      .from(enteIbans)
      .where(and(eq(enteIbans.enteId, province.id), eq(enteIbans.active, true)))
      .orderBy(asc(enteIbans.id)).limit(1))[0];
  if (!iban) throw new ChargesConfigError(`La ${province.name} non ha un IBAN attivo: gli addebiti SAEL non possono essere emessi.`);
  await ctx.db.transaction(async (tx) => {
        if (existing) {
          await tx.update(paymentServices).set({ active: true, defaultIbanId: existing.defaultIbanId ?? iban.id, updatedAt: new Date().toISOString() }).where(eq(paymentServices.id, existing.id));
          return;
        }
        const row = (await tx
              .insert(paymentServices)
              .values({
                enteId: province.id,
                code: settings.serviceCode,
                name: 'Servizi SAEL ai Comuni',
                description: 'Corrispettivi dei servizi specialistici del S.A.E.L. (catalogo dei servizi agli enti locali)',
                taxonomyCode: settings.taxonomyCode,
                defaultIbanId: iban.id,
                spontaneous: false,
                amountMode: 'free',
              })
              .onConflictDoNothing()
              .returning())[0]!;
        if (row) await recordAudit(tx, { ...ACTOR, action: 'create', entity: 'payment_service', entityId: row.id, enteId: province.id, after: row });
      });
  return (await getServiceByCode(ctx.db, province.id, settings.serviceCode))!;
}

function chargeDescription(serviceName: string, c: PlannedCharge): string {
  const name = serviceName.length > 90 ? `${serviceName.slice(0, 89)}…` : serviceName;
  switch (c.kind) {
    case 'annual':
      return `SAEL – ${name} – quota ${c.periodKey}`;
    case 'units':
      return `SAEL – ${name} – unità richieste`;
    case 'one_off':
      return `SAEL – ${name} – attivazione`;
  }
}

function snapshotTotal(json: string | null): number | null {
  if (!json) return null;
  try {
    const s = JSON.parse(json) as { totalCents?: unknown };
    return typeof s.totalCents === 'number' && Number.isInteger(s.totalCents) ? s.totalCents : null;
  } catch {
    return null;
  }
}

/**
 * Issues the charges due when an adesione becomes active (or is renewed): the one-off charge, or
 * the annual slice(s) of its period that are due by `now`. Idempotent (one charge per adesione,
 * kind and period key). Returns the ids of the charges created. Call it once the adesione's status
 * is 'active' (or later): before activation nothing is owed. A configuration problem (no Province,
 * no payment service in production) is recorded for the SAEL admin and nothing is issued.
 */
export async function issueChargesForAdesione(ctx: CatalogueCtx, adesioneId: number, now: Date): Promise<number[]> {
  const row = (await ctx.db
      .select({ a: adesioni, service: { name: catalogueServices.name, billing: catalogueServices.billing } })
      .from(adesioni)
      .innerJoin(catalogueServices, eq(catalogueServices.id, adesioni.serviceId))
      .where(eq(adesioni.id, adesioneId)).limit(1))[0];
  if (!row) return [];
  const { a, service } = row;
  if (service.billing === 'free' || !(CHARGEABLE_STATUSES as readonly string[]).includes(a.status)) return [];
  const today = todayInItaly(now);
  let due: PlannedCharge[];
  try {
    due = dueCharges(
      planCharges(
        { billing: service.billing, startDate: a.startDate, endDate: a.endDate, amountCents: a.amountCents, quantity: a.quantity, snapshotTotalCents: snapshotTotal(a.priceSnapshot) },
        today,
      ),
      today,
    );
  } catch (e) {
    await recordError(ctx.db, `Adesione n. ${adesioneId}: ${(e as Error).message}`, adesioneId, now, false);
    return [];
  }
  // A withdrawn adesione owes what started before its withdrawal date (recesso), nothing after.
  if (a.status === 'withdrawn') due = a.withdrawalDate ? due.filter((c) => c.dueFrom < a.withdrawalDate!) : [];
  if (!due.length) return [];
  const existing = new Set(
    (await ctx.db
            .select({ kind: catalogueCharges.kind, key: catalogueCharges.periodKey })
            .from(catalogueCharges)
            .where(eq(catalogueCharges.adesioneId, adesioneId)))
      .map((c) => `${c.kind}:${c.key}`),
  );
  const missing = due.filter((c) => !existing.has(`${c.kind}:${c.periodKey}`));
  if (!missing.length) return [];

  const comune = (await ctx.db.select().from(enti).where(eq(enti.id, a.enteId)).limit(1))[0];
  let province: Ente | undefined;
  let service_: PaymentService;
  const settings = await chargesSettings(ctx.db);
  try {
    province = await provinceEnte(ctx.db);
    if (!province) throw new ChargesConfigError('Nel sistema non c’è la Provincia (ente di tipo «provincia»): gli addebiti SAEL non possono essere emessi.');
    if (!comune) throw new ChargesConfigError(`L’ente dell’adesione n. ${adesioneId} non esiste.`);
    if (comune.id === province.id) throw new ChargesConfigError('La Provincia non addebita servizi a sé stessa.');
    service_ = await ensureChargesService(ctx, province, settings);
  } catch (e) {
    if (!(e instanceof ChargesConfigError)) throw e;
    await recordError(ctx.db, e.message, adesioneId, now, true);
    return [];
  }

  const created: number[] = [];
  const problems: string[] = [];
  for (const c of missing) {
    try {
      const id = await issueOne(ctx.db, { adesioneId, comune: comune!, province, service: service_, serviceName: service.name, charge: c, today, dueDays: settings.dueDays });
      if (id !== null) created.push(id);
    } catch (e) {
      problems.push(`${chargeDescription(service.name, c)}: ${(e as Error).message}`);
    }
  }
  if (problems.length) await recordError(ctx.db, `Adesione n. ${adesioneId}: ${problems.join('; ')}`, adesioneId, now, false);
  else {
    // Solved: a configuration problem (it stopped every charge) or this adesione's own problem.
    const last = await chargesError(ctx.db);
    if (last && (last.config || last.adesioneId === adesioneId)) await clearSetting(ctx.db, 'charges_error');
  }
  if (created.length) await notifyIssued(ctx, comune!, created.length);
  return created;
}

interface IssueArgs {
  adesioneId: number;
  comune: Ente;
  province: Ente;
  service: PaymentService;
  serviceName: string;
  charge: PlannedCharge;
  today: string;
  dueDays: number;
}

/** One charge and its position in one IMMEDIATE transaction; null when it already existed. */
async function issueOne(db: Db, x: IssueArgs): Promise<number | null> {
  return await db.transaction(
      async (tx) => {
        const already = (await tx
                .select({ id: catalogueCharges.id })
                .from(catalogueCharges)
                .where(and(eq(catalogueCharges.adesioneId, x.adesioneId), eq(catalogueCharges.kind, x.charge.kind), eq(catalogueCharges.periodKey, x.charge.periodKey))).limit(1))[0];
        if (already) return null;
        const description = chargeDescription(x.serviceName, x.charge);
        const dueDate = chargeDueDate(x.today, x.dueDays);
        const iupd = `SAEL-A${x.adesioneId}-${x.charge.kind.toUpperCase()}-${x.charge.periodKey}`;
        const prepared = await preparePositionWrite(
                tx,
                x.province,
                {
                  serviceCode: x.service.code,
                  iupd,
                  debtor: {
                    type: 'G',
                    fiscalCode: x.comune.fiscalCode,
                    fullName: x.comune.name.slice(0, 70),
                    email: x.comune.pec ?? x.comune.email ?? null,
                  },
                  description,
                  paymentOptions: [
                    {
                      isInstallment: false,
                      description,
                      amountCents: x.charge.amountCents,
                      dueDate,
                      transfers: [{ idTransfer: 1, amountCents: x.charge.amountCents, remittanceInformation: description.slice(0, 140), taxonomyCode: x.service.taxonomyCode }],
                    },
                  ],
                },
                { today: x.today },
              );
        if (!prepared.ok) throw new Error(prepared.errors.map((e) => `${e.field}: ${e.message}`).join('; '));
        const { position } = await createPositionInTx(tx, x.province, prepared.service, prepared.write, { publish: true }, ACTOR);
        const option = position.options[0]!;
        const charge = (await tx
                .insert(catalogueCharges)
                .values({
                  adesioneId: x.adesioneId,
                  enteId: x.comune.id,
                  kind: x.charge.kind,
                  periodKey: x.charge.periodKey,
                  periodFrom: x.charge.periodFrom,
                  periodTo: x.charge.periodTo,
                  description,
                  amountCents: x.charge.amountCents,
                  dueDate,
                  status: 'issued',
                  positionId: position.id,
                  iupd: position.iupd,
                  noticeNumber: option.noticeNumber,
                })
                .returning({ id: catalogueCharges.id }))[0]!;
        await recordAudit(tx, {
                    ...ACTOR,
                    action: 'issue',
                    entity: 'catalogue_charge',
                    entityId: charge.id,
                    enteId: x.comune.id,
                    after: { adesioneId: x.adesioneId, kind: x.charge.kind, periodKey: x.charge.periodKey, amountCents: x.charge.amountCents, dueDate, positionId: position.id, noticeNumber: option.noticeNumber },
                  });
        return charge.id;
      },
      { behavior: 'immediate' },
    );
}

async function recordError(db: DbLike, message: string, adesioneId: number | null, now: Date, config: boolean): Promise<void> {
  await setSetting(db, 'charges_error', { at: now.toISOString(), message, adesioneId, config });
}

async function notifyIssued(ctx: CatalogueCtx, comune: Ente, n: number): Promise<void> {
  const to = comune.pec ?? comune.email;
  if (!to) return;
  await ctx.mail({
        to,
        subject: n === 1 ? 'Nuovo addebito per i servizi SAEL' : `${n} nuovi addebiti per i servizi SAEL`,
        body: [
          `Gentile ${comune.name},`,
          '',
          n === 1
            ? 'è stato emesso un nuovo avviso di pagamento pagoPA della Provincia per i servizi SAEL a cui l’ente ha aderito.'
            : `sono stati emessi ${n} nuovi avvisi di pagamento pagoPA della Provincia per i servizi SAEL a cui l’ente ha aderito.`,
          `Li trova, con l’avviso in PDF e il collegamento per pagarli, in ${ctx.config.publicUrl}/backoffice/enti/${comune.id}/addebiti`,
          '',
          'S.A.E.L. – Servizio Assistenza Enti Locali',
        ].join('\n'),
      });
}
