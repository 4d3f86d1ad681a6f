/**
 * The node side of the simulator: pays a notice the way the pagoPA node does, calling our
 * station over real HTTP with SOAP — paVerifyPaymentNotice → paGetPayment(V2) → paSendRT(V2) to
 * the owner and to every other ente we serve that appears in the transfers (multi-beneficiary
 * broadcast). Fault injection: duplicate sendRT, delayed sendRT, retries after an error.
 * Pays a service without a notice too (payService): paDemandPaymentNotice with the PSP's form,
 * then the same paGetPayment(V2) → paSendRT(V2) on the notice the ente answers with.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { and, eq, inArray } from 'drizzle-orm';
import { enti } from '../../modules/enti/schema.js';
import { STATION_PATH } from '../../modules/pagopa/station-routes.js';
import {
  DEMO_PSP,
  demandRequest,
  getPaymentRequest,
  newReceiptId,
  readAnswer,
  readDemandAnswer,
  readPaymentData,
  sendRtRequest,
  verifyRequest,
  type Identity,
  type Psp,
  type DemandAnswer,
  type DemandParams,
  type StationAnswer,
} from './node-messages.js';
import { simPayments } from './schema.js';

/** The station URL the simulated node calls: this very process when it listens, else PUBLIC_URL. */
export function stationUrl(app: FastifyInstance): string {
  const addr = app.server.listening ? (app.server.address() as AddressInfo | null) : null;
  if (addr && typeof addr === 'object') {
    const host = addr.family === 'IPv6' ? (addr.address === '::' ? '[::1]' : `[${addr.address}]`) : addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address;
    return `http://${host}:${addr.port}${STATION_PATH}`;
  }
  return `${app.config.publicUrl}${STATION_PATH}`;
}

export async function postSoap(url: string, action: string, xml: string, timeoutMs = 7000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${action}"` },
    body: xml,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, body: await res.text() };
}

export interface PayOptions {
  fiscalCode: string;
  noticeNumber: string;
  v2?: boolean;
  /** Checkout puts the cart id here. */
  paymentNote?: string;
  /** Ask postal accounts (transferType=POSTAL), as Checkout does when allCCP. */
  postal?: boolean;
  psp?: Psp;
  skipVerify?: boolean;
  faults?: {
    /** Send the same receipt this many extra times. */
    duplicates?: number;
    /** Send the receipt after this delay (the call returns before). */
    delayMs?: number;
    /** Retries (1 s apart in tests; the node waits 1 h) when the station does not answer OK. */
    retries?: number;
    retryDelayMs?: number;
  };
}

export interface PayResult {
  ok: boolean;
  /** Where it stopped: demand (payService only), verify, getPayment, sendRT, or done. */
  step: 'demand' | 'verify' | 'getPayment' | 'sendRT' | 'done';
  faultCode?: string;
  receiptId?: string;
  amountCents?: number;
  /** Outcome of each sendRT to each ente (fiscal code → OK / fault code / error). */
  sendOutcomes: Record<string, string>;
}

function identityFor(app: FastifyInstance, idPA: string): Identity {
  return { idPA, idBrokerPA: app.config.pagopa.brokerId, idStation: app.config.pagopa.stationId };
}

async function call(app: FastifyInstance, action: string, xml: string): Promise<StationAnswer> {
  const res = await postSoap(stationUrl(app), action, xml);
  return readAnswer(res.body);
}

export async function payNotice(app: FastifyInstance, o: PayOptions): Promise<PayResult> {
  const v2 = o.v2 ?? true;
  const qr = { fiscalCode: o.fiscalCode, noticeNumber: o.noticeNumber };
  const id = identityFor(app, o.fiscalCode);
  const sendOutcomes: Record<string, string> = {};
  if (!o.skipVerify) {
    const v = await call(app, 'paVerifyPaymentNotice', verifyRequest(id, qr));
    if (v.outcome !== 'OK') return { ok: false, step: 'verify', faultCode: v.faultCode, sendOutcomes };
  }
  const g = await call(
    app,
    v2 ? 'paGetPaymentV2' : 'paGetPayment',
    getPaymentRequest(id, qr, { v2, paymentNote: o.paymentNote, transferType: o.postal ? 'POSTAL' : undefined }),
  );
  if (g.outcome !== 'OK') return { ok: false, step: 'getPayment', faultCode: g.faultCode, sendOutcomes };
  const data = readPaymentData(g);
  const psp = o.psp ?? DEMO_PSP;
  const receiptId = newReceiptId();
  const paidAt = new Date();
  const receiptParams = { v2, receiptId, noticeNumber: o.noticeNumber, fiscalCode: o.fiscalCode, data, psp, paymentNote: o.paymentNote, paymentDateTime: paidAt };

  await app.db
        .insert(simPayments)
        .values({
          fiscalCode: o.fiscalCode,
          noticeNumber: o.noticeNumber,
          iuv: data.creditorReferenceId,
          receiptId,
          pspId: psp.idPSP,
          amountCents: data.paymentAmountCents,
          transfers: JSON.stringify(
            data.transfers.map((t) => ({ idTransfer: t.idTransfer, fiscalCodePA: t.fiscalCodePA, amountCents: t.amountCents, iban: t.iban ?? null, stamp: !!t.stamp })),
          ),
          paidAt: paidAt.toISOString(),
        });

  // Receivers: the owner first, then every other ente of the transfers that this station serves.
  const others = [...new Set(data.transfers.map((t) => t.fiscalCodePA))].filter((cf) => cf !== o.fiscalCode);
  const served = others.length
    ? (await app.db.select({ cf: enti.fiscalCode }).from(enti).where(and(inArray(enti.fiscalCode, others), eq(enti.member, true)))).map((r) => r.cf)
    : [];
  const receivers = [o.fiscalCode, ...served];

  const sendAll = async () => {
    for (const idPA of receivers) {
      const xml = sendRtRequest(identityFor(app, idPA), receiptParams);
      const action = v2 ? 'paSendRTV2' : 'paSendRT';
      const attempts = 1 + (o.faults?.retries ?? 0);
      for (let a = 0; a < attempts; a++) {
        try {
          const r = await call(app, action, xml);
          sendOutcomes[idPA] = r.outcome === 'OK' ? 'OK' : (r.faultCode ?? 'KO');
          if (r.outcome === 'OK') break;
        } catch (e) {
          sendOutcomes[idPA] = `errore: ${(e as Error).message}`;
        }
        if (a + 1 < attempts) await new Promise((r) => setTimeout(r, o.faults?.retryDelayMs ?? 1000));
      }
      for (let d = 0; d < (o.faults?.duplicates ?? 0); d++) {
        try {
          await call(app, action, xml);
        } catch {
          /* a lost duplicate is fine */
        }
      }
    }
    await app.db.update(simPayments).set({ sendOutcome: sendOutcomes[o.fiscalCode] ?? 'non inviata' }).where(eq(simPayments.receiptId, receiptId));
  };

  if (o.faults?.delayMs) {
    setTimeout(() => void sendAll().catch((e: Error) => app.log.warn({ err: e.message }, 'simulated delayed sendRT failed')), o.faults.delayMs).unref();
    return { ok: true, step: 'done', receiptId, amountCents: data.paymentAmountCents, sendOutcomes };
  }
  await sendAll();
  const ok = sendOutcomes[o.fiscalCode] === 'OK';
  return { ok, step: ok ? 'done' : 'sendRT', faultCode: ok ? undefined : sendOutcomes[o.fiscalCode], receiptId, amountCents: data.paymentAmountCents, sendOutcomes };
}

export interface ServicePayOptions extends DemandParams {
  /** Fiscal code of the ente (idPA). */
  fiscalCode: string;
  v2?: boolean;
  psp?: Psp;
}

export type ServicePayResult = PayResult & { demand?: DemandAnswer; faultDescription?: string };

/**
 * A payment of a service started at a PSP: paDemandPaymentNotice with the form, then, as the node
 * does after activatePaymentNotice, paGetPayment(V2) and paSendRT(V2) on the notice the ente
 * created (no paVerifyPaymentNotice: the demand answer already gave the amount).
 */
export async function payService(app: FastifyInstance, o: ServicePayOptions): Promise<ServicePayResult> {
  const d = await call(app, 'paDemandPaymentNotice', demandRequest(identityFor(app, o.fiscalCode), o));
  if (d.outcome !== 'OK') return { ok: false, step: 'demand', faultCode: d.faultCode, faultDescription: d.faultDescription, sendOutcomes: {} };
  const demand = readDemandAnswer(d);
  const paid = await payNotice(app, { fiscalCode: demand.fiscalCode, noticeNumber: demand.noticeNumber, v2: o.v2, psp: o.psp, skipVerify: true });
  return { ...paid, demand };
}
