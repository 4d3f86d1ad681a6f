/**
 * Scheduled download of the reporting flows (FdR) of every member ente, every
 * `PAGOPA_FDR_INTERVAL_MINUTES`, and the same download on demand (CLI `fdr:download`).
 *
 * Two processes never download for the same ente at once: a run first claims the lease row
 * `fdr:<enteId>` of `pagopa_schedules` with one UPDATE that succeeds only when the lease is free
 * or expired (and, for scheduled runs, the ente is due); the lease is renewed after every flow and
 * released with the next due time. A process that dies mid-run leaves a lease that expires after
 * `leaseMs`; flows already stored stay (one transaction each) and are skipped by the next run.
 *
 * Per ente and run: list the flows (nodoChiediElencoFlussiRendicontazione, or with
 * `PAGOPA_FDR_API=rest` the FdR 3 organizations API: fdr-rest-client.ts), skip those already
 * stored (ente, flow id, listed date-time; REST: flow id + revision), download the others one by
 * one, validate and store each in its own transaction (fdr-store.ts; a newer revision supersedes
 * the older ones there). A flow that fails the XSD, or a REST answer that does not conform to
 * fdr_organization.json, is not stored: it is logged (ente, flow id, first errors; no personal
 * data) and becomes a helpdesk anomaly. Unreachable or failing services: retried by the client,
 * then the run's error is kept on the lease row with a backoff (same for both paths).
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import type { PagopaSettings } from '../../config.js';
import { listEnti, type Ente } from '../enti/repository.js';
import { createNodeForPaClient, NodeForPaError, type NodeForPaClient } from './fdr-client.js';
import { createFdrRestClient, type FdrRestClientOptions } from './fdr-rest-client.js';
import { flagFlow, isFlowStored, parseFlussoRiversamento, storeFlow } from './fdr-store.js';
import { claimLease, releaseLease, renewLease } from './leases.js';
import { pagopaSchedules } from './schema.js';

type Log = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;

export interface FdrEnteResult {
  enteFiscalCode: string;
  /** False when another process holds the lease (nothing done). */
  ran: boolean;
  listed: number;
  stored: number;
  alreadyStored: number;
  invalid: number;
  failed: number;
  error?: string;
}

export function leaseName(enteId: number): string {
  return `fdr:${enteId}`;
}

// ---- one ente ------------------------------------------------------------------------------

/** Downloads and stores the flows of one ente with an already-built client (the lease is the caller's). */
export async function downloadEnteFlows(db: Db, client: NodeForPaClient, ente: Ente, log: Log, onFlow: () => void = () => {}): Promise<Omit<FdrEnteResult, 'ran'>> {
  const r = { enteFiscalCode: ente.fiscalCode, listed: 0, stored: 0, alreadyStored: 0, invalid: 0, failed: 0 } as Omit<FdrEnteResult, 'ran'>;
  const listed = await client.listFlows(ente.fiscalCode);
  r.listed = listed.length;
  const errors: string[] = [];
  for (const f of listed) {
    onFlow();
    if (await isFlowStored(db, ente.id, f)) {
      r.alreadyStored++;
      continue;
    }
    let xml: string;
    try {
      xml = await client.getFlow(ente.fiscalCode, f.flowId, f);
    } catch (e) {
      const err = e instanceof NodeForPaError ? e : new NodeForPaError((e as Error).message, true);
      if (err.invalidAnswer) {
        r.invalid++;
        log.warn({ fdr: { ente: ente.fiscalCode, flowId: f.flowId, revision: f.revision, errors: [err.message.slice(0, 300)] } }, 'FdR flow invalid: not stored');
        await flagFlow(db, ente.id, 'fdr_invalid_flow', f, `Risposta dell’API FdR non conforme a fdr_organization.json, flusso non acquisito: ${err.message}`);
        continue;
      }
      r.failed++;
      errors.push(err.message);
      log.warn({ fdr: { ente: ente.fiscalCode, flowId: f.flowId, faultCode: err.faultCode, retryable: err.retryable } }, 'FdR download failed');
      if (!err.retryable) await flagFlow(db, ente.id, 'fdr_download_failed', f, `Il nodo non ha consegnato il flusso: ${err.message}`);
      continue;
    }
    const parsed = parseFlussoRiversamento(xml);
    let problems = parsed.ok ? [] : parsed.errors;
    if (parsed.ok && parsed.flow.flowId !== f.flowId) problems = [`identificativoFlusso ${parsed.flow.flowId} diverso da quello elencato ${f.flowId}`];
    if (parsed.ok && parsed.flow.receiverFiscalCode !== ente.fiscalCode) problems = [`istitutoRicevente ${parsed.flow.receiverFiscalCode} diverso dall’ente ${ente.fiscalCode}`];
    if (!parsed.ok || problems.length) {
      r.invalid++;
      log.warn({ fdr: { ente: ente.fiscalCode, flowId: f.flowId, flowDateTime: f.flowDateTime, errors: problems.slice(0, 3) } }, 'FdR flow invalid: not stored');
      await flagFlow(db, ente.id, 'fdr_invalid_flow', f, `Flusso di rendicontazione non valido (FlussoRiversamento 1.0.4), non acquisito: ${problems.join(' | ')}`);
      continue;
    }
    const outcome = await storeFlow(db, ente.id, f, parsed.flow, xml);
    if (outcome === 'stored') r.stored++;
    else r.alreadyStored++;
  }
  if (errors.length) r.error = errors.slice(0, 3).join(' | ');
  return r;
}

// ---- scheduler -----------------------------------------------------------------------------

export interface FdrSchedulerOptions {
  /** Minutes between two downloads of the same ente (0 = only on demand). */
  intervalMinutes: number;
  /** How often due enti are looked for. Default 60 s. */
  tickMs?: number;
  /** First tick after start. Default 5 s (the server is listening by then). */
  firstTickMs?: number;
  /** Lease length, renewed after every flow. Default 10 min. */
  leaseMs?: number;
  /** Options of the client the settings choose (SOAP ignores the REST-only ones). */
  client?: FdrRestClientOptions;
  /** Tests inject a client. */
  clientFactory?: () => Promise<NodeForPaClient>;
}

export class FdrScheduler {
  readonly owner = `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;
  /** Set by stop(): a pass in progress finishes its current ente and ends. */
  private stopping = false;
  private readonly leaseMs: number;

  constructor(
    private readonly db: Db,
    private readonly settings: PagopaSettings,
    private readonly log: Log,
    private readonly opts: FdrSchedulerOptions,
  ) {
    this.leaseMs = opts.leaseMs ?? 10 * 60_000;
  }

  private client(): Promise<NodeForPaClient> {
    if (this.opts.clientFactory) return this.opts.clientFactory();
    return this.settings.fdrApi === 'rest' ? createFdrRestClient(this.settings, this.opts.client) : createNodeForPaClient(this.settings, this.opts.client);
  }

  private async members(enteFiscalCode?: string): Promise<Ente[]> {
    return (await listEnti(this.db, { membersOnly: true })).filter((e) => !enteFiscalCode || e.fiscalCode === enteFiscalCode);
  }

  /** Runs the download for one ente under its lease. */
  private async runEnte(client: NodeForPaClient, ente: Ente, onlyIfDue: boolean): Promise<FdrEnteResult> {
    const name = leaseName(ente.id);
    const empty = { enteFiscalCode: ente.fiscalCode, listed: 0, stored: 0, alreadyStored: 0, invalid: 0, failed: 0 };
    if (!await claimLease(this.db, name, this.owner, this.leaseMs, { onlyIfDue })) return { ...empty, ran: false };
    const intervalMs = Math.max(1, this.opts.intervalMinutes) * 60_000;
    try {
      const r = await downloadEnteFlows(this.db, client, ente, this.log, async () => await renewLease(this.db, name, this.owner, this.leaseMs));
      await releaseLease(this.db, name, this.owner, { nextRunAt: Date.now() + intervalMs, error: r.error });
      if (r.stored || r.invalid || r.failed) this.log.info({ fdr: r }, 'FdR download');
      return { ...r, ran: true };
    } catch (e) {
      // drizzle on PostgreSQL wraps the database's error ("Failed query: …"): its cause says what went wrong.
      const err = e as Error & { cause?: Error };
      const message = (err.cause?.message ?? err.message).slice(0, 300);
      const row = (await this.db.select({ failures: pagopaSchedules.failures }).from(pagopaSchedules).where(eq(pagopaSchedules.name, name)).limit(1))[0];
      // Back off on failure (1, 2, 4 … minutes), never later than the normal interval.
      const backoff = Math.min(intervalMs, 60_000 * 2 ** Math.min(10, row?.failures ?? 0));
      await releaseLease(this.db, name, this.owner, { nextRunAt: Date.now() + backoff, error: message });
      this.log.warn({ fdr: { ente: ente.fiscalCode, error: message } }, 'FdR download failed');
      return { ...empty, ran: true, error: message };
    }
  }

  /** Scheduled pass: every member ente that is due and not leased elsewhere. */
  async tick(): Promise<FdrEnteResult[]> {
    const due = await this.members();
    if (due.length === 0) return [];
    let client: NodeForPaClient;
    try {
      client = await this.client();
    } catch (e) {
      this.log.error({ err: (e as Error).message, api: this.settings.fdrApi }, 'FdR client unavailable');
      return [];
    }
    const out: FdrEnteResult[] = [];
    for (const ente of due) {
      if (this.stopping) break;
      out.push(await this.runEnte(client, ente, true));
    }
    return out;
  }

  /** On demand (CLI): now, whatever the schedule, still respecting the lease. */
  async runNow(enteFiscalCode?: string): Promise<FdrEnteResult[]> {
    const client = await this.client();
    const out: FdrEnteResult[] = [];
    for (const ente of await this.members(enteFiscalCode)) out.push(await this.runEnte(client, ente, false));
    return out;
  }

  start(): void {
    if (this.opts.intervalMinutes <= 0) return;
    this.stopped = false;
    this.stopping = false;
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.tick().catch((err) => this.log.error({ err }, 'FdR scheduler tick failed'));
      await this.running;
      this.running = null;
      if (!this.stopped) {
        this.timer = setTimeout(loop, this.opts.tickMs ?? 60_000);
        this.timer.unref();
      }
    };
    this.timer = setTimeout(loop, this.opts.firstTickMs ?? 5_000);
    this.timer.unref();
  }

  /** Stops the timer and waits for the pass in progress (its current flow finishes and is stored whole). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}

/** One-shot download for the CLI / tests: member enti (or one), respecting leases. */
export async function downloadFlowsNow(db: Db, settings: PagopaSettings, log: Log, opts: { enteFiscalCode?: string; client?: FdrRestClientOptions } = {}): Promise<FdrEnteResult[]> {
  const s = new FdrScheduler(db, settings, log, { intervalMinutes: settings.fdrIntervalMinutes, client: opts.client });
  return s.runNow(opts.enteFiscalCode);
}
