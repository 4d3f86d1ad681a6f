/**
 * Background jobs stored in the `jobs` table: any process may claim a queued job (or one whose
 * holder stopped reporting), run it and record progress, so a page can show a progress bar that
 * survives reloads and a crashed run is picked up again. Handlers must be safe to rerun.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import { and, eq, lt, or, sql } from 'drizzle-orm';
import { affectedRows, type Db } from '../../db/client.js';
import { dialectOf } from '../../db/raw.js';
import { jobs } from './schema.js';

export type JobRow = typeof jobs.$inferSelect;

/**
 * `SELECT … FOR UPDATE SKIP LOCKED`: the query builder on PostgreSQL has `.for()`; the tables are
 * typed as SQLite's, whose builder does not, hence the cast.
 */
function lockSkippingLocked<T>(query: PromiseLike<T>): PromiseLike<T> {
  return (query as unknown as { for(strength: 'update', config: { skipLocked: boolean }): PromiseLike<T> }).for('update', { skipLocked: true });
}

export interface JobContext {
  job: JobRow;
  input: Record<string, unknown>;
  /** Records progress (throttled); also the heartbeat that keeps the job ours. */
  progress(done: number, total?: number, force?: boolean): void;
}

export type JobHandler = (ctx: JobContext) => Promise<Record<string, unknown>>;

export interface EnqueueInput {
  kind: string;
  enteId: number | null;
  requestedBy: string;
  input: Record<string, unknown>;
}

export interface RunnerOptions {
  pollMs?: number;
  /** A running job whose heartbeat is older than this is considered abandoned. */
  staleMs?: number;
}

export class JobRunner {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly workerId = `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<boolean> | null = null;
  private stopped = false;
  private readonly pollMs: number;
  private readonly staleMs: number;

  constructor(
    private readonly db: Db,
    private readonly log: Pick<FastifyBaseLogger, 'info' | 'error'>,
    opts: RunnerOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 500;
    this.staleMs = opts.staleMs ?? 60_000;
  }

  register(kind: string, handler: JobHandler): void {
    this.handlers.set(kind, handler);
  }

  async enqueue(e: EnqueueInput): Promise<number> {
    return (await this.db
          .insert(jobs)
          .values({ kind: e.kind, enteId: e.enteId, requestedBy: e.requestedBy, input: JSON.stringify(e.input) })
          .returning({ id: jobs.id }))[0]!.id;
  }

  async get(id: number): Promise<JobRow | undefined> {
    return (await this.db.select().from(jobs).where(eq(jobs.id, id)).limit(1))[0];
  }

  /**
   * Atomically takes the oldest queued (or abandoned) job of a kind we handle. On SQLite the
   * immediate transaction holds the write lock from the read on; on PostgreSQL the candidate is
   * read `FOR UPDATE SKIP LOCKED`, so two processes claiming at once take different jobs instead of
   * waiting for each other, and the update repeats the condition in case the row changed after
   * the read.
   */
  async claimNext(): Promise<JobRow | undefined> {
    const kinds = [...this.handlers.keys()];
    if (kinds.length === 0) return undefined;
    const now = Date.now();
    const claimable = and(
      sql`${jobs.kind} IN (${sql.join(kinds.map((k) => sql`${k}`), sql`, `)})`,
      or(eq(jobs.status, 'queued'), and(eq(jobs.status, 'running'), lt(jobs.heartbeatAt, now - this.staleMs))),
    );
    return await this.db.transaction(
      async (tx) => {
        const query = tx.select({ id: jobs.id }).from(jobs).where(claimable).orderBy(jobs.id).limit(1);
        const candidate = (dialectOf(tx) === 'postgres' ? await lockSkippingLocked(query) : await query)[0];
        if (!candidate) return undefined;
        return (await tx
          .update(jobs)
          .set({ status: 'running', lockedBy: this.workerId, heartbeatAt: now, updatedAt: new Date(now).toISOString() })
          .where(and(eq(jobs.id, candidate.id), claimable))
          .returning())[0];
      },
      { behavior: 'immediate' },
    );
  }

  /** Claims and runs one job; false when there was none. */
  async runOnce(): Promise<boolean> {
    const job = await this.claimNext();
    if (!job) return false;
    const handler = this.handlers.get(job.kind)!;
    // The heartbeat runs on its own timer too, so a job whose steps are slow (a batch waiting on a
    // busy database) is not taken for abandoned and run a second time while this run goes on.
    const beat = setInterval(() => {
      void this.db
        .update(jobs)
        .set({ heartbeatAt: Date.now() })
        .where(and(eq(jobs.id, job.id), eq(jobs.lockedBy, this.workerId)))
        .catch((err: unknown) => this.log.error({ err, jobId: job.id }, 'job heartbeat failed'));
    }, Math.max(50, Math.floor(this.staleMs / 4)));
    beat.unref();
    // Handlers call progress() without awaiting it. The writes are chained, so on a pool (PostgreSQL)
    // they land in the order they were made, and the outcome is written after the last of them:
    // otherwise a late "done: n" could still be in flight when the job reads as finished.
    let lastWrite = 0;
    let writes: Promise<void> = Promise.resolve();
    const progress = (done: number, total?: number, force = false): void => {
      const now = Date.now();
      if (!force && now - lastWrite < 250) return;
      lastWrite = now;
      writes = writes
        .then(async () => {
          await this.db
            .update(jobs)
            .set({ done, ...(total !== undefined ? { total } : {}), heartbeatAt: now, updatedAt: new Date(now).toISOString() })
            .where(and(eq(jobs.id, job.id), eq(jobs.lockedBy, this.workerId)));
        })
        .catch((err: unknown) => this.log.error({ err, jobId: job.id }, 'job progress write failed'));
    };
    try {
      const result = await handler({ job, input: JSON.parse(job.input) as Record<string, unknown>, progress });
      await writes;
      await this.finish(job, { status: 'done', result: JSON.stringify(result), heartbeatAt: Date.now(), updatedAt: new Date().toISOString() });
    } catch (err) {
      this.log.error({ err, jobId: job.id, kind: job.kind }, 'job failed');
      await writes;
      await this.finish(job, { status: 'failed', error: 'Errore interno durante l’elaborazione: riprova o contatta l’assistenza.', updatedAt: new Date().toISOString() });
    } finally {
      clearInterval(beat);
    }
    return true;
  }

  /**
   * Records the outcome, only while the job is still ours: a run that stalled past the stale time
   * may have been taken over by another process, whose run then decides the outcome.
   */
  private async finish(job: JobRow, outcome: Partial<typeof jobs.$inferInsert>): Promise<void> {
    const changed = affectedRows(await this.db.update(jobs).set(outcome).where(and(eq(jobs.id, job.id), eq(jobs.lockedBy, this.workerId))));
    if (changed === 0) this.log.info({ jobId: job.id, kind: job.kind }, 'job taken over by another process: its outcome is theirs');
  }

  /** Runs jobs until none is left (tests, CLI). */
  async drain(): Promise<void> {
    while (await this.runOnce());
  }

  start(): void {
    this.stopped = false;
    const tick = async () => {
      if (this.stopped) return;
      this.running = this.runOnce().catch((err) => {
        this.log.error({ err }, 'job runner tick failed');
        return false;
      });
      const didWork = await this.running;
      this.running = null;
      if (!this.stopped) {
        this.timer = setTimeout(tick, didWork ? 0 : this.pollMs);
        this.timer.unref();
      }
    };
    this.timer = setTimeout(tick, this.pollMs);
    this.timer.unref();
  }

  /** Stops polling and waits for the job in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
