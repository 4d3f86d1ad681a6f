/**
 * The daily conservazione job (issue #16 items 2, 4, 11): for every ente whose adesione to the
 * catalogue service '17' (pagoPA e conservazione digitale a norma) is active or expiring on `day`:
 *
 * 1. each receipt the ente received that Italian day (receipts.receivedAt) goes into a PdV of the
 *    profile `ricevuta-pagopa`: the raw paSendRT(V2) envelope as received (principale) and the
 *    receipt PDF the portal gives the citizen (allegato, pagopa/receipt-pdf.ts);
 * 2. each reporting flow of the ente downloaded until that day's end (fdr_flows.rawXml) not yet
 *    preserved goes into a PdV of the profile `flusso-rendicontazione`;
 *    every source object at most once (cons_source_links; an accepted PdV of the same object key
 *    found without its link — a crash between the two — is linked, not sent again);
 * 3. the ente's accepted documents in no PdA yet (these and those sent by API or upload) go into
 *    PdA, per profile, at most 5000 per PdA (pda.ts).
 *
 * Idempotent per (day, ente) through cons_daily_runs: a run that is done or running is skipped —
 * except a run that finished before the day was over (`conservazione:run --date <today>`): the
 * next one takes what arrived since; a failed one is retried only when asked (`retryFailed`, the
 * CLI's default), so the scheduled
 * pass every ten minutes does not open a ticket each time. A failing ente (an exception, or PdV
 * rejected) gets status failed, its message and the alert 'daily_job_failed' (ticket); the others
 * continue.
 */
import { and, asc, eq, gte, inArray, isNull, lt, lte, notExists, or } from 'drizzle-orm';
import { adesioni, catalogueServices } from '../catalogue/schema.js';
import { enti } from '../enti/schema.js';
import { fdrFlows, receipts } from '../pagopa/schema.js';
import { renderReceiptPdf } from '../pagopa/receipt-pdf.js';
import { receiptPdfData } from '../pagopa/receipt-routes.js';
import { raiseAlert } from './alerts.js';
import type { ConservazioneCtx } from './context.js';
import { romeDay, romeHour } from './dates.js';
import { ingestSip, type IngestInput } from './ingest.js';
import { buildPda, MAX_PDA_DOCUMENTS, PDA_CONCURRENCY, PdaIndexError } from './pda.js';
import { PIndexInputError } from './pindex.js';
import { consAipDocuments, consDailyRuns, consProfiles, consSips, consSourceLinks } from './schema.js';
import { createHash } from 'node:crypto';
import { affectedRows } from '../../db/client.js';

/** The catalogue service of the conservazione. */
export const CONSERVAZIONE_SERVICE_CODE = '17';
const RECEIPT_PROFILE = 'ricevuta-pagopa';
const FLOW_PROFILE = 'flusso-rendicontazione';
const PAGOPA = { ruolo: 'Mittente', tipo: 'PG', denominazione: 'PagoPA S.p.A. – Nodo dei Pagamenti', codiceFiscale: '15376371009' } as const;

export interface DailyJobResult {
  day: string;
  enti: { enteId: number; sips: number; rejected: number; aips: number; status: 'done' | 'failed' | 'skipped'; message?: string }[];
}

type Ente = typeof enti.$inferSelect;
type Receipt = typeof receipts.$inferSelect;
type Flow = typeof fdrFlows.$inferSelect;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The UTC instants [start, end) of an Italian calendar day (23, 24 or 25 hours). */
export function romeDayBounds(day: string): { start: string; end: string } {
  const startOf = (d: string) => {
    // Italian midnight is 22:00 or 23:00 UTC of the day before
    for (const h of [22, 23]) {
      const prev = new Date(`${d}T00:00:00Z`);
      prev.setUTCDate(prev.getUTCDate() - 1);
      const t = new Date(`${prev.toISOString().slice(0, 10)}T${h}:00:00Z`);
      if (romeDay(t) === d && romeHour(t) === 0) return t;
    }
    throw new Error(`no Italian midnight for ${d}`);
  };
  const next = new Date(`${day}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return { start: startOf(day).toISOString(), end: startOf(next.toISOString().slice(0, 10)).toISOString() };
}

/** Enti whose adesione to service 17 is active or expiring and covers `day`. */
export async function entiWithConservazione(ctx: ConservazioneCtx, day: string): Promise<Ente[]> {
  const ids = (await ctx.db
      .selectDistinct({ enteId: adesioni.enteId })
      .from(adesioni)
      .innerJoin(catalogueServices, eq(catalogueServices.id, adesioni.serviceId))
      .where(
        and(
          eq(catalogueServices.code, CONSERVAZIONE_SERVICE_CODE),
          inArray(adesioni.status, ['active', 'expiring']),
          or(isNull(adesioni.startDate), lte(adesioni.startDate, day)),
          or(isNull(adesioni.endDate), gte(adesioni.endDate, day)),
        ),
      ))
    .map((r) => r.enteId);
  if (!ids.length) return [];
  return await ctx.db.select().from(enti).where(inArray(enti.id, ids)).orderBy(asc(enti.id));
}

/** The document date of a receipt: the payment's day (Italian), else the day it was received. */
function receiptDate(r: Receipt): string {
  if (r.paymentDateTime && /^\d{4}-\d{2}-\d{2}/.test(r.paymentDateTime)) {
    // without an offset it is Italian local time (pagoPA's convention): its date is the day
    if (!/[zZ]|[+-]\d{2}:?\d{2}$/.test(r.paymentDateTime)) return r.paymentDateTime.slice(0, 10);
    const d = new Date(r.paymentDateTime);
    if (!Number.isNaN(d.getTime())) return romeDay(d);
  }
  return romeDay(new Date(r.receivedAt));
}

/** The PdV of a receipt: raw envelope + receipt PDF, Allegato 5 metadata. */
export function receiptSip(ente: Ente, r: Receipt, pdf: Uint8Array): IngestInput {
  const xml = Buffer.from(r.rawXml, 'utf8');
  const date = receiptDate(r);
  return {
    enteId: ente.id,
    profileCode: RECEIPT_PROFILE,
    objectKey: `receipt:${r.id}`,
    source: 'auto',
    metadata: {
      Identificativo: `${r.fiscalCode}-${r.iuv}-${r.receiptId}`.slice(0, 200),
      TipologiaDocumentale: 'Ricevuta telematica pagoPA',
      ModalitaDiFormazione: 'c',
      Oggetto: `Ricevuta di pagamento pagoPA (${r.primitive}) dell’avviso ${r.noticeNumber}: ${r.description}`.slice(0, 1000),
      DataDocumento: date,
      NumeroDocumento: r.receiptId.slice(0, 100),
      TipologiaDiFlusso: 'E',
      IUV: r.iuv,
      Soggetti: [{ ...PAGOPA }, { ruolo: 'Destinatario', tipo: 'PAI', denominazione: ente.name, ipa: ente.ipaCode }],
      ParoleChiave: ['pagoPA', 'ricevuta telematica', r.outcome === 'OK' ? 'pagamento eseguito' : 'pagamento non eseguito'],
    },
    files: [
      { name: `ricevuta-telematica-${r.iuv}-${r.receiptId}.xml`.replace(/[^A-Za-z0-9._-]/g, '_'), role: 'principale', bytes: xml, declaredSha256: sha256(xml), declaredMime: 'application/xml' },
      { name: `ricevuta-${r.noticeNumber}.pdf`.replace(/[^A-Za-z0-9._-]/g, '_'), role: 'allegato', bytes: pdf, declaredSha256: sha256(pdf), declaredMime: 'application/pdf' },
    ],
  };
}

/** The PdV of a reporting flow. */
export function flowSip(ente: Ente, f: Flow): IngestInput {
  const xml = Buffer.from(f.rawXml, 'utf8');
  const date = /^\d{4}-\d{2}-\d{2}$/.test(f.settlementDate) ? f.settlementDate : romeDay(new Date(f.downloadedAt));
  return {
    enteId: ente.id,
    profileCode: FLOW_PROFILE,
    objectKey: `fdr:${f.id}`,
    source: 'auto',
    metadata: {
      Identificativo: `${f.flowId}@${f.flowDateTime}`.slice(0, 200),
      TipologiaDocumentale: 'Flusso di rendicontazione (FdR)',
      ModalitaDiFormazione: 'b',
      Oggetto: `Flusso di rendicontazione ${f.flowId} del PSP ${f.pspName ?? f.pspId}: ${f.totalPayments} pagamenti, regolamento ${f.settlementId}`.slice(0, 1000),
      DataDocumento: date,
      NumeroDocumento: f.flowId.slice(0, 100),
      TipologiaDiFlusso: 'E',
      Soggetti: [{ ...PAGOPA }, { ruolo: 'Destinatario', tipo: 'PAI', denominazione: ente.name, ipa: ente.ipaCode }],
      ParoleChiave: ['pagoPA', 'rendicontazione'],
    },
    files: [{ name: `fdr-${f.flowId}.xml`.replace(/[^A-Za-z0-9._-]/g, '_'), role: 'principale', bytes: xml, declaredSha256: sha256(xml), declaredMime: 'application/xml' }],
  };
}

/**
 * PdV sent at once: several in flight overlap the store's waits (a file's fsync, an S3 put's round
 * trip) with the checks of the others, and the PdV whose files were written together commit in
 * one transaction (ingest.ts, group commit). 10 000 receipts (bench/conservazione-ingest.bench.ts,
 * BENCH_CONS_CONCURRENCY): 16 in flight took 2.25 ms a receipt where 4 took 2.54.
 */
export const INGEST_CONCURRENCY = 16;

/** Runs `fn` over `items` with at most `limit` at once; the first failure is thrown once all have stopped. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw failure;
}

interface Counts {
  sips: number;
  rejected: number;
  aips: number;
  messages: string[];
}

/** Sends one source object unless it is linked already; links it when accepted. */
async function preserve(ctx: ConservazioneCtx, sourceType: 'receipt' | 'fdr_flow', sourceId: number, enteId: number, input: () => Promise<IngestInput>, actor: string, counts: Counts): Promise<void> {
  const profileId = (await ctx.db.select({ id: consProfiles.id }).from(consProfiles).where(eq(consProfiles.code, sourceType === 'receipt' ? RECEIPT_PROFILE : FLOW_PROFILE)).limit(1))[0]?.id;
  const objectKey = `${sourceType === 'receipt' ? 'receipt' : 'fdr'}:${sourceId}`;
  const orphan =
    profileId === undefined
      ? undefined
      : (await ctx.db
                    .select({ id: consSips.id })
                    .from(consSips)
                    .where(and(eq(consSips.enteId, enteId), eq(consSips.profileId, profileId), eq(consSips.objectKey, objectKey), eq(consSips.status, 'accepted'))).limit(1))[0];
  if (orphan) {
    // accepted by an earlier run that stopped before linking it (PdV sent before the link was
    // written with them): linked now, not sent again
    await ctx.db.insert(consSourceLinks).values({ sourceType, sourceId, enteId, sipId: orphan.id }).onConflictDoNothing();
    return;
  }
  // the link is written in the PdV's own transaction when it is accepted
  const r = await ingestSip(ctx, { ...(await input()), sourceLink: { sourceType, sourceId } }, actor);
  if (r.status !== 'accepted' || r.sipId === null) {
    counts.rejected++;
    counts.messages.push(`${objectKey} rifiutato: ${r.esito.message}`);
    return;
  }
  counts.sips++;
}

async function runForEnte(ctx: ConservazioneCtx, ente: Ente, day: string, actor: string, counts: Counts): Promise<void> {
  const { start, end } = romeDayBounds(day);
  const linked = (type: 'receipt' | 'fdr_flow', id: typeof receipts.id | typeof fdrFlows.id) =>
    notExists(
      ctx.db
        .select({ one: consSourceLinks.id })
        .from(consSourceLinks)
        .where(and(eq(consSourceLinks.sourceType, type), eq(consSourceLinks.sourceId, id))),
    );
  const dayReceipts = await ctx.db
      .select()
      .from(receipts)
      .where(and(eq(receipts.enteId, ente.id), gte(receipts.receivedAt, start), lt(receipts.receivedAt, end), linked('receipt', receipts.id)))
      .orderBy(asc(receipts.id));
  await forEachLimited(dayReceipts, INGEST_CONCURRENCY, (r) =>
    preserve(ctx, 'receipt', r.id, ente.id, async () => receiptSip(ente, r, await renderReceiptPdf(await receiptPdfData(ctx.db, r, ctx.config.dataDir))), actor, counts),
  );
  const flows = await ctx.db
      .select()
      .from(fdrFlows)
      .where(and(eq(fdrFlows.enteId, ente.id), lt(fdrFlows.downloadedAt, end), linked('fdr_flow', fdrFlows.id)))
      .orderBy(asc(fdrFlows.id));
  await forEachLimited(flows, INGEST_CONCURRENCY, (f) => preserve(ctx, 'fdr_flow', f.id, ente.id, async () => flowSip(ente, f), actor, counts));
  try {
    counts.aips += await archivePending(ctx, ente.id, actor);
  } catch (e) {
    if (e instanceof PdaBatchesError) counts.aips += e.made;
    throw e;
  }
}

/** PdA of the ente's accepted documents in no PdA yet, per profile, at most 5000 each; returns how many PdA. */
export async function archivePending(ctx: ConservazioneCtx, enteId: number, actor: string): Promise<number> {
  const pending = await ctx.db
      .select({ id: consSips.id, profileId: consSips.profileId })
      .from(consSips)
      .where(
        and(
          eq(consSips.enteId, enteId),
          eq(consSips.status, 'accepted'),
          notExists(ctx.db.select({ one: consAipDocuments.id }).from(consAipDocuments).where(eq(consAipDocuments.sipId, consSips.id))),
        ),
      )
      .orderBy(asc(consSips.profileId), asc(consSips.id));
  const byProfile = new Map<number, number[]>();
  for (const p of pending) byProfile.set(p.profileId, [...(byProfile.get(p.profileId) ?? []), p.id]);
  const batches: { profileId: number; sipIds: number[] }[] = [];
  for (const [profileId, ids] of byProfile) {
    for (let i = 0; i < ids.length; i += MAX_PDA_DOCUMENTS) batches.push({ profileId, sipIds: ids.slice(i, i + MAX_PDA_DOCUMENTS) });
  }
  // as many at once as buildPda seals at once: two indexes built on two cores. A batch that fails
  // does not stop the others (each is its own PdA); the failures are reported together after.
  let made = 0;
  const failures: string[] = [];
  const build = async (b: { profileId: number; sipIds: number[] }): Promise<void> => {
    try {
      await buildPda(ctx, { enteId, ...b, actor });
      made++;
    } catch (e) {
      if (b.sipIds.length > 1 && (e instanceof PIndexInputError || e instanceof PdaIndexError)) {
        // One document's data breaks the index (accepted before the ingest checked for it): the
        // halves on their own, down to that document, so that the others are not held back
        // night after night with it.
        const half = Math.ceil(b.sipIds.length / 2);
        await build({ profileId: b.profileId, sipIds: b.sipIds.slice(0, half) });
        await build({ profileId: b.profileId, sipIds: b.sipIds.slice(half) });
        return;
      }
      failures.push(`PdA di ${b.sipIds.length} documenti (PdV ${b.sipIds[0]}–${b.sipIds[b.sipIds.length - 1]}) non creato: ${(e as Error).message}`);
    }
  };
  await forEachLimited(batches, PDA_CONCURRENCY, build);
  if (failures.length) throw new PdaBatchesError(made, failures);
  return made;
}

/** Some of archivePending's PdA failed; `made` were created. */
export class PdaBatchesError extends Error {
  constructor(
    readonly made: number,
    failures: string[],
  ) {
    super(`${made} PdA creati, ${failures.length} non riusciti: ${failures.join('; ')}`);
    this.name = 'PdaBatchesError';
  }
}

/** Preserves `day`'s receipts and flows of every ente with the conservazione service active, then builds the PdA. Idempotent per (day, ente). */
export async function runDailyJob(ctx: ConservazioneCtx, opts: { day: string; actor?: string; retryFailed?: boolean }): Promise<DailyJobResult> {
  const actor = opts.actor ?? 'system';
  const retryFailed = opts.retryFailed ?? actor === 'cli';
  const result: DailyJobResult = { day: opts.day, enti: [] };
  const dayEnd = romeDayBounds(opts.day).end;
  for (const ente of await entiWithConservazione(ctx, opts.day)) {
    const startedAt = ctx.now().toISOString();
    const claimed = affectedRows(await ctx.db.insert(consDailyRuns).values({ day: opts.day, enteId: ente.id, status: 'running', startedAt }).onConflictDoNothing()) === 1;
    if (!claimed) {
      // again: a failed run when asked; a run that finished before the day was over (what came later)
      const again = or(
        retryFailed ? eq(consDailyRuns.status, 'failed') : undefined,
        and(eq(consDailyRuns.status, 'done'), lt(consDailyRuns.finishedAt, dayEnd)),
      );
      const retried =
        affectedRows(await ctx.db
                    .update(consDailyRuns)
                    .set({ status: 'running', startedAt, finishedAt: null, message: null })
                    .where(and(eq(consDailyRuns.day, opts.day), eq(consDailyRuns.enteId, ente.id), again))) === 1;
      if (!retried) {
        const row = (await ctx.db.select().from(consDailyRuns).where(and(eq(consDailyRuns.day, opts.day), eq(consDailyRuns.enteId, ente.id))).limit(1))[0]!;
        result.enti.push({ enteId: ente.id, sips: 0, rejected: 0, aips: 0, status: 'skipped', message: `già eseguito (${row.status})` });
        continue;
      }
    }
    const counts: Counts = { sips: 0, rejected: 0, aips: 0, messages: [] };
    let error: string | null = null;
    try {
      await runForEnte(ctx, ente, opts.day, actor, counts);
    } catch (e) {
      error = (e as Error).message;
    }
    const failed = error !== null || counts.rejected > 0;
    const message = [error, counts.rejected ? `${counts.rejected} PdV rifiutati` : null, ...counts.messages.slice(0, 5)].filter(Boolean).join('; ') || null;
    await ctx.db
            .update(consDailyRuns)
            .set({ status: failed ? 'failed' : 'done', sips: counts.sips, rejected: counts.rejected, aips: counts.aips, message: message?.slice(0, 2000) ?? null, finishedAt: ctx.now().toISOString() })
            .where(and(eq(consDailyRuns.day, opts.day), eq(consDailyRuns.enteId, ente.id)));
    if (failed) {
      try {
        await raiseAlert(ctx, {
          kind: 'daily_job_failed',
          enteId: ente.id,
          subject: `daily-run:${opts.day}:${ente.id}`,
          message: `Versamento giornaliero del ${opts.day} in conservazione non riuscito per ${ente.name}: ${message ?? 'errore'}`.slice(0, 2000),
        });
      } catch {
        // the run row says failed already; the alert is best effort
      }
    }
    result.enti.push({ enteId: ente.id, sips: counts.sips, rejected: counts.rejected, aips: counts.aips, status: failed ? 'failed' : 'done', ...(message ? { message } : {}) });
  }
  return result;
}
