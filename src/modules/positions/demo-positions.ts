/**
 * Demo positions for a demo database without any position (called from app.ts after
 * seedDemoData): 48 positions across the six member comuni, written through the real code paths
 * so everything downstream (notices, IUVs, audit, central-archive outbox, receipts, FdR) is real:
 *
 * - each demo citizen (demoCitizenProfiles) owes a TARI (single payment or 3 installments, TARI to
 *   the comune + TEFA to the province) in two comuni, plus school meals and secretarial fees in
 *   others — so a cart with notices of two comuni is possible;
 * - other debtors (demo fiscal codes of valid format) owe TARI, canone unico and fines;
 * - some are already paid or partially paid: the receipt is a paSendRTV2 built with the
 *   simulator's message builders from our own paGetPaymentV2 answer and handled by the station
 *   (XSD validation → storeReceipt), to the owner and to the province for the TEFA share, and
 *   recorded as issued by the simulated node (so its reporting flows include them);
 * - some are expired (switchToExpired, due dates in the past: created with the validation's
 *   "today" moved back, then expirePositions) and some cancelled (cancelPosition).
 * Due dates are relative to today. Everything runs in one transaction: all or nothing.
 */
import type { FastifyBaseLogger } from 'fastify';
import { count } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import type { PagopaSettings } from '../../config.js';
import { personalCheckChar } from '../../domain/fiscal-code.js';
import { demoCitizenProfiles } from '../enti/demo-seed.js';
import { listEnti, listIbans, type Ente } from '../enti/repository.js';
import { handleStationRequest } from '../pagopa/station.js';
import { getPaymentRequest, newReceiptId, readAnswer, readPaymentData, sendRtRequest, DEMO_PSP, type Identity } from '../../simulators/pagopa/node-messages.js';
import { simPayments } from '../../simulators/pagopa/schema.js';
import { cancelPosition, createPosition, expirePositions, type PositionDetail } from './repository.js';
import { positions } from './schema.js';
import { preparePositionWrite, todayInItaly, type PositionBody } from './service.js';

const ACTOR = { actor: 'system:demo-seed' };

/** Member comuni in the order of the demo seed (Campobasso, Termoli, Bojano, Larino, Riccia, Trivento). */
const COMUNI_ISTAT = ['070006', '070078', '070003', '070031', '070057', '070081'];

/** Other debtors: [first 15 CF characters, full name, street, city]. */
const OTHERS: [string, string, string, string][] = [
  ['MRNGNN60B12B519', 'Giovanni Marinelli', 'Via Garibaldi', 'Campobasso'],
  ['PTRFNC72H55L113', 'Francesca Petrella', 'Corso Nazionale', 'Termoli'],
  ['DLCSTF81S20A930', 'Stefano Di Lucia', 'Via Roma', 'Bojano'],
  ['CRLNNA66E47E456', 'Anna Carlone', 'Piazza Duomo', 'Larino'],
  ['FSCLGU77M03H272', 'Luigi Fusco', 'Via Vittorio Veneto', 'Riccia'],
  ['SNTMRA90P68L435', 'Maria Santoro', 'Via San Nicola', 'Trivento'],
];

function addDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

interface Debtor {
  fiscalCode: string;
  fullName: string;
  email?: string;
  streetName: string;
  city: string;
}

interface Plan {
  key: string;
  ente: Ente;
  body: PositionBody;
  switchToExpired?: boolean;
  /** Create as if today were this many days ago (past due dates for expired positions). */
  createdDaysAgo?: number;
  /** Option ordinals to pay, with the receipt dated `days` ago. */
  pay?: { option: number; daysAgo: number }[];
  cancel?: boolean;
}

function debtorOf(d: Debtor, cap: string) {
  return { type: 'F', fiscalCode: d.fiscalCode, fullName: d.fullName, streetName: d.streetName, civicNumber: String(1 + (d.fiscalCode.charCodeAt(3) % 60)), postalCode: cap, city: d.city, province: 'CB', email: d.email };
}

/** Seeds the demo positions when the database has none; returns how many were created. */
export async function seedDemoPositions(db: Db, settings: PagopaSettings, log?: Pick<FastifyBaseLogger, 'info'>): Promise<number> {
  if (((await db.select({ n: count() }).from(positions).limit(1))[0]?.n ?? 0) > 0) return 0;
  const members = await listEnti(db, { kind: 'comune', membersOnly: true });
  const comuni = COMUNI_ISTAT.map((istat) => members.find((e) => e.istatCode === istat)).filter((e): e is Ente => !!e);
  const province = (await listEnti(db, { kind: 'provincia', membersOnly: true }))[0];
  if (comuni.length < 2 || !province) return 0;
  const provinceIban = (await listIbans(db, province.id)).find((i) => i.active)?.iban;
  if (!provinceIban) return 0;

  const today = todayInItaly();
  const year = today.slice(0, 4);
  const citizens: Debtor[] = demoCitizenProfiles().map((c, i) => ({
    fiscalCode: c.fiscalCode,
    fullName: `${c.name} ${c.familyName}`,
    email: c.email,
    streetName: ['Via Mazzini', 'Via XX Settembre', 'Corso Umberto I'][i % 3]!,
    city: ['Campobasso', 'Termoli', 'Campobasso'][i % 3]!,
  }));
  const others: Debtor[] = OTHERS.map(([first15, fullName, streetName, city]) => ({ fiscalCode: first15 + personalCheckChar(first15), fullName, streetName, city }));

  const tari = (ente: Ente, d: Debtor, n: number, totalCents: number, withPlan: boolean, due0 = 30): PositionBody => {
    const tefa = Math.round(totalCents * 0.05);
    const split = (amount: number, share: number, label: string) => [
      { idTransfer: 1, amountCents: amount - share, remittanceInformation: `TARI ${year} ${label}`.trim(), taxonomyCode: '9/0101108TS/' },
      { idTransfer: 2, fiscalCodePA: province.fiscalCode, iban: provinceIban, amountCents: share, remittanceInformation: `TEFA ${year} ${label}`.trim(), taxonomyCode: '9/0201101IM/' },
    ];
    const rata = Math.floor(totalCents / 3);
    const rate = [rata, rata, totalCents - 2 * rata];
    const rateTefa = [Math.floor(tefa / 3), Math.floor(tefa / 3), tefa - 2 * Math.floor(tefa / 3)];
    return {
      iupd: `DEMO-TARI-${ente.istatCode}-${n}`,
      serviceCode: 'TARI',
      debtor: debtorOf(d, ente.istatCode === '070078' ? '86039' : '86100'),
      description: `TARI ${year} – tassa sui rifiuti`,
      paymentOptions: [
        { isInstallment: false, description: `TARI ${year} in unica soluzione`, amountCents: totalCents, dueDate: addDays(today, due0), transfers: split(totalCents, tefa, '') },
        ...(withPlan
          ? [0, 1, 2].map((k) => ({
              isInstallment: true,
              installmentNumber: k + 1,
              description: `TARI ${year} rata ${k + 1} di 3`,
              amountCents: rate[k]!,
              dueDate: addDays(today, due0 + 60 * k),
              transfers: split(rate[k]!, rateTefa[k]!, `rata ${k + 1}`),
            }))
          : []),
      ],
    };
  };
  const simple = (ente: Ente, d: Debtor, code: string, n: number, description: string, amountCents: number, dueInDays: number, taxonomyCode: string, base = today): PositionBody => ({
    iupd: `DEMO-${code}-${ente.istatCode}-${n}`,
    serviceCode: code,
    debtor: debtorOf(d, '86100'),
    description,
    paymentOptions: [{ isInstallment: false, description, amountCents, dueDate: addDays(base, dueInDays), transfers: [{ idTransfer: 1, amountCents, remittanceInformation: description.slice(0, 140), taxonomyCode }] }],
  });

  const plans: Plan[] = [];
  comuni.forEach((ente, i) => {
    const c1 = citizens[i % citizens.length]!;
    const c2 = citizens[(i + 1) % citizens.length]!;
    const c3 = citizens[(i + 2) % citizens.length]!;
    const o1 = others[i % others.length]!;
    const o2 = others[(i + 1) % others.length]!;
    const o3 = others[(i + 3) % others.length]!;
    const name = ente.name.replace(/^Comune di /, '');
    // Citizens: a TARI with a plan here (the first installment already paid in two comuni), school meals, fees.
    plans.push({ key: `tari-c-${i}`, ente, body: tari(ente, c1, 1, 24000 + 1500 * i, true), pay: i === 1 || i === 4 ? [{ option: 1, daysAgo: 5 + i }] : undefined });
    plans.push({ key: `mensa-${i}`, ente, body: simple(ente, c2, 'MENSA', 1, `Mensa scolastica ${name} – ricarica trimestrale`, 4500 + 500 * i, 20 + i, '9/0201133IM/'), pay: i % 2 === 0 ? [{ option: 0, daysAgo: 3 + i }] : undefined });
    plans.push({ key: `diritti-${i}`, ente, body: simple(ente, c3, 'DIRITTI', 1, `Diritti di segreteria – certificato (${name})`, 1000, 15, '9/0201102IM/') });
    // Other debtors.
    plans.push({ key: `tari-o-${i}`, ente, body: tari(ente, o1, 2, 18000 + 2000 * i, i % 2 === 1), pay: i % 3 === 0 ? [{ option: 0, daysAgo: 4 + i }] : undefined });
    plans.push({ key: `tari-o2-${i}`, ente, body: tari(ente, o2, 3, 31000 + 700 * i, true) });
    plans.push({ key: `cup-${i}`, ente, body: simple(ente, o3, 'CUP', 1, `Canone unico patrimoniale ${year} – passo carrabile`, 8600 + 300 * i, 45, '9/0101109IM/'), cancel: i === 1 || i === 4 });
    plans.push({
      key: `sanz-old-${i}`,
      ente,
      body: simple(ente, o2, 'SANZIONI', 1, `Sanzione codice della strada – verbale n. ${1200 + i}/${year}`, 4200, 30, '9/0301101SP/', addDays(today, -120)),
      switchToExpired: i === 0 || i === 3,
      createdDaysAgo: 120,
    });
    plans.push({ key: `sanz-${i}`, ente, body: simple(ente, o1, 'SANZIONI', 2, `Sanzione codice della strada – verbale n. ${2400 + i}/${year}`, 8700, 60, '9/0301101SP/'), pay: i === 2 ? [{ option: 0, daysAgo: 2 }] : undefined });
  });

  const ctx = { db, settings };
  const ids = (idPA: string): Identity => ({ idPA, idBrokerPA: settings.brokerId, idStation: settings.stationId });
  const served = new Set((await listEnti(db, { membersOnly: true })).map((e) => e.fiscalCode));

  const pay = async (ente: Ente, p: PositionDetail, ordinal: number, daysAgo: number) => {
    const option = p.options[ordinal]!;
    const qr = { fiscalCode: ente.fiscalCode, noticeNumber: option.noticeNumber };
    const got = await handleStationRequest(ctx, { body: getPaymentRequest(ids(ente.fiscalCode), qr, { v2: true }), soapAction: 'paGetPaymentV2' });
    if (got.outcome !== 'OK') throw new Error(`demo payment: paGetPaymentV2 ${got.faultCode}`);
    const data = readPaymentData(readAnswer(got.xml));
    const paidAt = new Date(Date.now() - daysAgo * 86_400_000);
    const receiptId = newReceiptId();
    const params = { v2: true, receiptId, noticeNumber: option.noticeNumber, fiscalCode: ente.fiscalCode, data, paymentDateTime: paidAt };
    await db.insert(simPayments)
            .values({
              fiscalCode: ente.fiscalCode,
              noticeNumber: option.noticeNumber,
              iuv: data.creditorReferenceId,
              receiptId,
              pspId: DEMO_PSP.idPSP,
              amountCents: data.paymentAmountCents,
              transfers: JSON.stringify(data.transfers.map((t) => ({ idTransfer: t.idTransfer, fiscalCodePA: t.fiscalCodePA, amountCents: t.amountCents, iban: t.iban ?? null, stamp: !!t.stamp }))),
              paidAt: paidAt.toISOString(),
              sendOutcome: 'OK',
            });
    const receivers = [ente.fiscalCode, ...new Set(data.transfers.map((t) => t.fiscalCodePA).filter((cf) => cf !== ente.fiscalCode && served.has(cf)))];
    for (const idPA of receivers) {
      const r = await handleStationRequest(ctx, { body: sendRtRequest(ids(idPA), params), soapAction: 'paSendRTV2' });
      if (r.outcome !== 'OK') throw new Error(`demo payment: paSendRTV2 to ${idPA} ${r.faultCode}`);
    }
  };

  let created = 0;
  await db.transaction(async () => {
        for (const plan of plans) {
          const base = plan.createdDaysAgo ? addDays(today, -plan.createdDaysAgo) : today;
          const prepared = await preparePositionWrite(db, plan.ente, { ...plan.body, switchToExpired: plan.switchToExpired === true }, { today: base });
          if (!prepared.ok) throw new Error(`demo position ${plan.key}: ${prepared.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
          const { position } = await createPosition(db, plan.ente, prepared.service, prepared.write, { publish: true }, ACTOR);
          created++;
          for (const p of plan.pay ?? []) await pay(plan.ente, position, p.option, p.daysAgo);
          if (plan.cancel) await cancelPosition(db, plan.ente.id, position.iupd, ACTOR);
        }
        await expirePositions(db, today, ACTOR);
      });
  log?.info({ positions: created }, 'demo positions seeded');
  return created;
}
