/**
 * Central archive sync (Archivio Centralizzato Avvisi, pagopa.md §11): every position we answer
 * for is also published to pagoPA with `POST /paCreatePosition` (idempotent upsert per IUV,
 * amount 0 closes). openapi: schemas/pagopa/openapi/paCreatePosition.json (official copy).
 *
 * Enqueue: `enqueueAcaSync(tx, position)` is called by the position writes (create published,
 * publish, update, cancel) and by the receipt code when a payment is applied, inside THEIR
 * transaction: the outbox rows commit or roll back with the change. One row per payment option:
 * - position published / partially paid and option unpaid → the option's amount;
 * - otherwise (option paid or closed, position paid, cancelled or expired) → amount 0 (close);
 * - a position never published (draft, or a draft cancelled) → nothing (the archive never heard of it).
 *
 * Send: `AcaSender` (started with the background workers) posts the due rows in enqueue order.
 * Only one process sends at a time (lease `aca-outbox` in pagopa_schedules), so the archive
 * receives the changes of one IUV in the order they happened; within a batch only the newest
 * row of an IUV is posted (older ones are marked sent as superseded). Failures:
 * - network, timeout, HTTP 401/403/408/429/5xx → the row stays pending (attempts + 1, last
 *   error) and the sender backs off (2 s, 4 s … capped at 15 min, with jitter) before the next
 *   pass, which starts again from the oldest pending row;
 * - any other 4xx (400/404/409/422: the archive refuses this body) → `failed`, for the helpdesk.
 * The operator never waits for the archive: enqueueing is one INSERT per option.
 */
import { formatOffset, italianOffsetMinutes } from '../../domain/italian-time.js';
import type { FastifyBaseLogger } from 'fastify';
import crypto from 'node:crypto';
import os from 'node:os';
import { and, asc, eq, lte, sql } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { sqlGet, sqlRun } from '../../db/raw.js';
import type { PagopaSettings } from '../../config.js';
import { claimLease, releaseLease } from '../pagopa/leases.js';
import { pagopaSchedules } from '../pagopa/schema.js';
import { acaOutbox } from './outbox-schema.js';
import type { OptionStatus, PositionStatus } from './schema.js';

/** NewDebtPositionRequest of paCreatePosition.json. */
export interface PaCreatePositionBody {
  paFiscalCode: string;
  entityType: 'F' | 'G';
  entityFiscalCode: string;
  entityFullName: string;
  iuv: string;
  nav: string;
  /** Euro cents; 0 closes the position in the archive. */
  amount: number;
  description: string;
  /** RFC 3339 date-time (openapi `format: date-time`): end of the due day in Italy, e.g. `2026-03-31T23:59:59+02:00`. */
  expirationDate: string;
  iban?: string;
  postalIban?: string;
  switchToExpired: boolean;
  payStandIn: boolean;
}

/** Due dates repeat across the options of a bulk import: formatToParts costs a few µs each time. */
const endOfDayCache = new Map<string, string>();

/** `YYYY-MM-DDT23:59:59+01:00|+02:00`: the end of an Italian calendar day with its offset. */
export function endOfItalianDay(date: string): string {
  const cached = endOfDayCache.get(date);
  if (cached !== undefined) return cached;
  const value = `${date}T23:59:59${formatOffset(italianOffsetMinutes(Date.parse(`${date}T12:00:00Z`)))}`;
  if (endOfDayCache.size >= 4096) endOfDayCache.clear();
  endOfDayCache.set(date, value);
  return value;
}

/** At most `max` code points. */
function clip(s: string, max: number): string {
  if (s.length <= max) return s; // no more code points than UTF-16 units
  const points = [...s];
  return points.length > max ? points.slice(0, max).join('') : s;
}

/**
 * What a paCreatePosition body is made of: a stored position (the repository's `PositionDetail`
 * is one) or one that a bulk import is creating (built from the validated input, without reading
 * it back). Declared here, not taken from the repository: the repository imports this file to
 * enqueue in its transactions, so the outbox must not import the repository back.
 */
export interface AcaPosition {
  enteId: number;
  publishedAt: string | null;
  status: PositionStatus;
  debtorType: 'F' | 'G';
  debtorFiscalCode: string;
  debtorName: string;
  description: string;
  switchToExpired: boolean;
  options: readonly {
    iuv: string;
    noticeNumber: string;
    status: OptionStatus;
    amountCents: number;
    description: string | null;
    dueDate: string;
    transfers: readonly { fiscalCodePA: string; iban: string | null; postalIban: string | null }[];
  }[];
}

/** The paCreatePosition bodies of a position as it is now (one per payment option). */
export function acaBodies(enteFiscalCode: string, p: AcaPosition): PaCreatePositionBody[] {
  if (!p.publishedAt) return [];
  const open = p.status === 'published' || p.status === 'partially_paid';
  return p.options.map((o) => {
    const own = o.transfers.find((t) => t.fiscalCodePA === enteFiscalCode) ?? o.transfers[0];
    const body: PaCreatePositionBody = {
      paFiscalCode: enteFiscalCode,
      entityType: p.debtorType,
      entityFiscalCode: p.debtorFiscalCode,
      entityFullName: clip(p.debtorName, 255),
      iuv: o.iuv,
      nav: o.noticeNumber,
      amount: open && o.status === 'unpaid' ? o.amountCents : 0,
      description: clip(o.description || p.description, 255),
      expirationDate: endOfItalianDay(o.dueDate),
      switchToExpired: p.switchToExpired,
      payStandIn: true,
    };
    if (own?.iban && own.iban.length === 27) body.iban = own.iban;
    if (own?.postalIban && own.postalIban.length === 27) body.postalIban = own.postalIban;
    return body;
  });
}

const OUTBOX_ROWS_PER_INSERT = 32;
const outboxInserts: string[] = [];
/** The INSERT of `rows` outbox rows (one text per count, so each is prepared once). */
function insertOutbox(rows: number): string {
  return (outboxInserts[rows] ??= `INSERT INTO aca_outbox (ente_id, iuv, payload, status, attempts, next_attempt_at) VALUES ${Array(rows).fill("(?, ?, ?, 'pending', 0, ?)").join(', ')}`);
}

/**
 * Queues the archive update of this position in the caller's transaction. Returns the rows
 * written (0 for a draft that was never published).
 */
export async function enqueueAcaSync(tx: DbLike, position: AcaPosition, now = Date.now()): Promise<number> {
  if (!position.publishedAt) return 0;
  const cf = (await sqlGet<{ fiscal_code: string }>(tx, 'SELECT fiscal_code FROM enti WHERE id = ?', position.enteId))?.fiscal_code;
  if (!cf) return 0;
  return await enqueueAcaSyncMany(tx, position.enteId, cf, [position], now);
}

/**
 * {@link enqueueAcaSync} for many positions of one ente (bulk import): the same rows, in the same
 * order, for an ente whose fiscal code the caller already has (no lookup per position).
 */
export async function enqueueAcaSyncMany(tx: DbLike, enteId: number, enteFiscalCode: string, positions: readonly AcaPosition[], now = Date.now()): Promise<number> {
  const bodies = positions.flatMap((p) => acaBodies(enteFiscalCode, p));
  // Up to OUTBOX_ROWS_PER_INSERT rows a statement: on PostgreSQL each statement is a round trip
  // (a receipt for a position of four options wrote four).
  for (let i = 0; i < bodies.length; i += OUTBOX_ROWS_PER_INSERT) {
    const chunk = bodies.slice(i, i + OUTBOX_ROWS_PER_INSERT);
    await sqlRun(tx, insertOutbox(chunk.length), ...chunk.flatMap((b) => [enteId, b.iuv, JSON.stringify(b), now]));
  }
  return bodies.length;
}

// ---- sender --------------------------------------------------------------------------------

export const ACA_LEASE = 'aca-outbox';

type Log = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;

export interface AcaPassResult {
  /** False when another process holds the lease or the sender is backing off. */
  ran: boolean;
  sent: number;
  superseded: number;
  failed: number;
  /** Rows left pending after a retryable error (the pass stops there). */
  retryLater: number;
  error?: string;
}

export interface AcaSenderOptions {
  batchSize?: number;
  /** Parallel requests within a batch (never two for the same IUV). Default 4. */
  concurrency?: number;
  timeoutMs?: number;
  /** Poll interval when idle. Default 2 s. */
  pollMs?: number;
  /** First backoff after a failed pass; doubles, capped by maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  leaseMs?: number;
  fetch?: typeof fetch;
}

type SendOutcome = { ok: true } | { ok: false; retryable: boolean; error: string };

export class AcaSender {
  readonly owner = `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(
    private readonly db: Db,
    private readonly settings: PagopaSettings,
    private readonly log: Log,
    private readonly opts: AcaSenderOptions = {},
  ) {}

  private async post(body: string): Promise<SendOutcome> {
    const f = this.opts.fetch ?? fetch;
    try {
      const res = await f(`${this.settings.acaUrl}/paCreatePosition`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'Ocp-Apim-Subscription-Key': this.settings.subscriptionKey },
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      const text = await res.text().catch(() => '');
      if (res.ok) return { ok: true };
      const retryable = res.status >= 500 || [401, 403, 408, 429].includes(res.status);
      let detail = '';
      try {
        const j = JSON.parse(text) as { detail?: string; title?: string };
        detail = String(j.detail ?? j.title ?? '');
      } catch {
        /* not JSON */
      }
      return { ok: false, retryable, error: `HTTP ${res.status}${detail ? `: ${detail.slice(0, 200)}` : ''}` };
    } catch (e) {
      const err = e as Error;
      return { ok: false, retryable: true, error: err.name === 'TimeoutError' ? 'timeout' : `errore di rete: ${err.message.slice(0, 120)}` };
    }
  }

  /** One pass: claims the lease (when due), sends batches until none is left or an error asks to wait. */
  async pass(): Promise<AcaPassResult> {
    const result: AcaPassResult = { ran: false, sent: 0, superseded: 0, failed: 0, retryLater: 0 };
    if (!await claimLease(this.db, ACA_LEASE, this.owner, this.opts.leaseMs ?? 120_000, { onlyIfDue: true })) return result;
    result.ran = true;
    let error: string | undefined;
    try {
      for (;;) {
        const batch = await this.db
                  .select()
                  .from(acaOutbox)
                  .where(and(eq(acaOutbox.status, 'pending'), lte(acaOutbox.nextAttemptAt, Date.now())))
                  .orderBy(asc(acaOutbox.nextAttemptAt), asc(acaOutbox.id))
                  .limit(this.opts.batchSize ?? 100);
        if (batch.length === 0) break;
        // Newest row per (ente, IUV) in this batch; the older ones are superseded.
        const latest = new Map<string, (typeof batch)[number]>();
        for (const r of batch) latest.set(`${r.enteId}|${r.iuv}`, r);
        const keep = new Set([...latest.values()].map((r) => r.id));
        const stale = batch.filter((r) => !keep.has(r.id)).map((r) => r.id);
        if (stale.length) {
          const at = new Date().toISOString();
          await this.db.transaction(async (tx) => {
                        for (const id of stale) await tx.update(acaOutbox).set({ status: 'sent', sentAt: at, lastError: 'sostituita da una richiesta più recente' }).where(eq(acaOutbox.id, id));
                      });
          result.superseded += stale.length;
        }
        const todo = batch.filter((r) => keep.has(r.id));
        let stop = false;
        const concurrency = Math.max(1, this.opts.concurrency ?? 4);
        for (let i = 0; i < todo.length && !stop; i += concurrency) {
          const slice = todo.slice(i, i + concurrency);
          const outcomes = await Promise.all(slice.map((r) => this.post(r.payload)));
          for (const [k, r] of slice.entries()) {
            const o = outcomes[k]!;
            if (o.ok) {
              await this.db.update(acaOutbox).set({ status: 'sent', sentAt: new Date().toISOString(), attempts: r.attempts + 1, lastError: null }).where(eq(acaOutbox.id, r.id));
              result.sent++;
            } else if (!o.retryable) {
              await this.db.update(acaOutbox).set({ status: 'failed', attempts: r.attempts + 1, lastError: o.error }).where(eq(acaOutbox.id, r.id));
              result.failed++;
              this.log.warn({ aca: { enteId: r.enteId, iuv: r.iuv, error: o.error } }, 'central archive refused the position');
            } else {
              await this.db.update(acaOutbox).set({ attempts: r.attempts + 1, lastError: o.error }).where(eq(acaOutbox.id, r.id));
              result.retryLater++;
              error ??= o.error;
              stop = true;
            }
          }
        }
        if (stop) break;
      }
    } catch (e) {
      error = (e as Error).message.slice(0, 300);
      this.log.error({ err: e }, 'central archive sender failed');
    }
    const failures = error ? ((await this.db.select({ f: pagopaSchedules.failures }).from(pagopaSchedules).where(eq(pagopaSchedules.name, ACA_LEASE)).limit(1))[0]?.f ?? 0) : 0;
    const cap = this.opts.maxBackoffMs ?? 15 * 60_000;
    const backoff = error ? Math.round(Math.min(cap, (this.opts.baseBackoffMs ?? 2000) * 2 ** Math.min(20, failures)) * (0.5 + Math.random() / 2)) : 0;
    await releaseLease(this.db, ACA_LEASE, this.owner, { nextRunAt: Date.now() + backoff, error });
    if (error) {
      result.error = error;
      this.log.warn({ aca: { error, retryInMs: backoff } }, 'central archive unavailable: will retry');
    }
    return result;
  }

  start(): void {
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.pass().catch((err) => this.log.error({ err }, 'central archive sender tick failed'));
      await this.running;
      this.running = null;
      if (!this.stopped) {
        this.timer = setTimeout(loop, this.opts.pollMs ?? 2000);
        this.timer.unref();
      }
    };
    this.timer = setTimeout(loop, this.opts.pollMs ?? 2000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}

/** Counts by status (CLI, health). */
export async function acaOutboxCounts(db: Db): Promise<Record<'pending' | 'sent' | 'failed', number>> {
  const out = { pending: 0, sent: 0, failed: 0 };
  for (const r of await db.select({ status: acaOutbox.status, n: sql<number>`count(*)` }).from(acaOutbox).groupBy(acaOutbox.status)) out[r.status] = r.n;
  return out;
}
