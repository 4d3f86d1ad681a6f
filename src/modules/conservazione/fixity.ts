/**
 * Fixity audit (issue #16 item 6): every stored blob is re-read and re-hashed at least once every
 * `config.conservazione.auditCycleDays`; the SHA-256 must still equal its key.
 *
 * A run (cons_audit_runs) covers the blobs due when it started (not audited since `dueBefore` =
 * start − cycle; never audited; not discarded by scarto), in storage (rowid) order. Each call re-hashes at most
 * `maxBlobs` of them and moves the run's `cursor`: the scheduled pass calls it every ten minutes,
 * so a run of millions of blobs spreads over many passes. A run is resumed until no due blob is
 * left after its cursor; a run stopped by an error (store unreachable) is marked `interrupted` and
 * resumed by the next call. When the last run is done, a new one starts only if some blob is due.
 *
 * Outcomes are written in chunks, one transaction each (results + cons_blobs.lastAudit* + the run's
 * counts and cursor): a crash loses at most one chunk of work, which is then done again. A
 * mismatch or a missing blob raises an alert (alerts.ts: alert row, event and helpdesk ticket),
 * unless an alert for that blob is still open. Each finished run appends an 'audit' event with
 * its counts.
 */
import { and, asc, count, eq, gt, gte, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { DbTx } from '../../db/client.js';
import { dialectOf, sqlRun } from '../../db/raw.js';
import type { ConservazioneCtx } from './context.js';
import { raiseAlert } from './alerts.js';
import { appendEventSync } from './events.js';
import { consAips, consAlerts, consAuditResults, consAuditRuns, consBlobs, consSipFiles, consSips } from './schema.js';

export interface FixityPassResult {
  runId: number | null;
  checked: number;
  ok: number;
  mismatches: number;
  missing: number;
  /** True when the run finished in this pass (or there was nothing to audit). */
  done: boolean;
}

export type FixityOutcome = 'ok' | 'mismatch' | 'missing';

/** Blobs re-hashed at once (file reads overlap with hashing). */
const CONCURRENCY = 4;
/** Outcomes written per transaction. */
const CHUNK = 2000;
/** Blobs re-hashed between two yields to the event loop (small files are read synchronously). */
const YIELD_EVERY = 64;

/** One audit at a time per context (the scheduled pass and the "verify now" button). */
const inFlight = new WeakMap<ConservazioneCtx, Promise<FixityPassResult>>();

export interface FixityOptions {
  maxBlobs?: number;
  actor?: string;
  /**
   * A new run covers every stored blob, however recently audited (the responsabile's "Avvia
   * verifica ora"); an unfinished run is resumed first either way.
   */
  full?: boolean;
}

/** Re-hashes up to `maxBlobs` due blobs (resumable), records each outcome, raises alerts and tickets on a mismatch. */
export function runFixityAudit(ctx: ConservazioneCtx, opts: FixityOptions = {}): Promise<FixityPassResult> {
  const current = inFlight.get(ctx);
  if (current) return current;
  const p = auditPass(ctx, opts).finally(() => inFlight.delete(ctx));
  inFlight.set(ctx, p);
  return p;
}

/** Whether an audit pass is running now in this process. */
export function fixityAuditRunning(ctx: ConservazioneCtx): boolean {
  return inFlight.has(ctx);
}

function dueBefore(ctx: ConservazioneCtx, at: Date): string {
  return new Date(at.getTime() - ctx.config.conservazione.auditCycleDays * 86_400_000).toISOString();
}

/** SQLite's rowid of cons_blobs (the order rows were stored in). */
const rowid = sql<number>`${consBlobs}.rowid`;

/**
 * The walk's order: the rowid on SQLite (see auditPass); PostgreSQL has none, it walks the primary
 * key (the blob key) instead. `pos` is the position a cursor is compared with.
 */
function walkOrder(ctx: ConservazioneCtx) {
  return dialectOf(ctx.db) === 'postgres' ? { pos: sql<number | string>`${consBlobs.key}`, pg: true } : { pos: sql<number | string>`${consBlobs}.rowid`, pg: false };
}

/** Blobs due in a run: not discarded, never audited or audited before `before`. */
function dueWhere(before: string) {
  return and(isNull(consBlobs.discardedAt), or(isNull(consBlobs.lastAuditAt), lt(consBlobs.lastAuditAt, before)));
}

/**
 * The same condition for a run's slices, walked in rowid order from the cursor. The unary `+`
 * keeps SQLite from choosing the cons_blobs_audit index: when most blobs are due (first run, a new
 * cycle) it would sort every due blob at each slice (quadratic); the rowid walk makes a whole run
 * one linear pass.
 */
function sliceWhere(before: string, pg: boolean) {
  if (pg) return dueWhere(before);
  return and(sql`+${consBlobs.discardedAt} IS NULL`, or(isNull(consBlobs.lastAuditAt), lt(consBlobs.lastAuditAt, before)));
}

/** How many blobs are due now (for the page). */
export async function countDueBlobs(ctx: ConservazioneCtx): Promise<number> {
  return (await ctx.db.select({ n: count() }).from(consBlobs).where(dueWhere(dueBefore(ctx, ctx.now()))).limit(1))[0]!.n;
}

async function openRun(ctx: ConservazioneCtx, full: boolean): Promise<typeof consAuditRuns.$inferSelect | null> {
  const unfinished = (await ctx.db
      .select()
      .from(consAuditRuns)
      .where(inArray(consAuditRuns.status, ['running', 'interrupted']))
      .orderBy(asc(consAuditRuns.id))
      .limit(1))[0];
  if (unfinished) {
    if (unfinished.status === 'interrupted') await ctx.db.update(consAuditRuns).set({ status: 'running' }).where(eq(consAuditRuns.id, unfinished.id));
    return { ...unfinished, status: 'running' };
  }
  const at = ctx.now();
  // A full run: every blob audited up to now (that is, every one) is due.
  const before = full ? new Date(at.getTime() + 1).toISOString() : dueBefore(ctx, at);
  const anyDue = (await ctx.db.select({ key: consBlobs.key }).from(consBlobs).where(dueWhere(before)).limit(1))[0];
  if (!anyDue) return null;
  return (await ctx.db.insert(consAuditRuns).values({ startedAt: at.toISOString(), dueBefore: before, status: 'running' }).returning())[0]!;
}

interface Checked {
  rowid: number | string;
  key: string;
  outcome: FixityOutcome;
  actual: string | null;
  at: string;
}

async function auditPass(ctx: ConservazioneCtx, opts: FixityOptions): Promise<FixityPassResult> {
  const maxBlobs = Math.max(1, opts.maxBlobs ?? 2000);
  const run = await openRun(ctx, opts.full === true);
  const result: FixityPassResult = { runId: run?.id ?? null, checked: 0, ok: 0, mismatches: 0, missing: 0, done: true };
  if (!run) return result;

  let cursor = run.cursor;
  // The walk goes in rowid (= storage) order: each chunk's updates then touch neighbouring pages
  // of cons_blobs and of its audit index, where key order dirtied most pages of the table at
  // every commit (a 4 MB WAL commit per 2 000 blobs at 100 000 blobs). The cursor is the key of
  // the last blob checked; blobs are never deleted, so its rowid is always there.
  const { pos, pg } = walkOrder(ctx);
  let after: number | string = pg ? (cursor ?? '') : cursor === null ? 0 : ((await ctx.db.select({ r: rowid }).from(consBlobs).where(eq(consBlobs.key, cursor)).limit(1))[0]?.r ?? 0);
  try {
    let left = maxBlobs;
    while (left > 0) {
      const want = Math.min(CHUNK, left);
      const batch = await ctx.db
              .select({ rowid: pos, key: consBlobs.key })
              .from(consBlobs)
              .where(and(gt(pos, after), sliceWhere(run.dueBefore, pg)))
              .orderBy(pos)
              .limit(want);
      if (!batch.length) break;
      const checked = await rehashAll(ctx, batch);
      cursor = batch.at(-1)!.key;
      after = batch.at(-1)!.rowid;
      const tally = { ok: 0, mismatch: 0, missing: 0 };
      for (const c of checked) tally[c.outcome]++;
      await ctx.db.transaction(async (tx) => {
                await recordOutcomes(tx, run.id, checked);
                await tx.update(consAuditRuns)
                            .set({
                              cursor,
                              checked: sql`${consAuditRuns.checked} + ${checked.length}`,
                              ok: sql`${consAuditRuns.ok} + ${tally.ok}`,
                              mismatches: sql`${consAuditRuns.mismatches} + ${tally.mismatch}`,
                              missing: sql`${consAuditRuns.missing} + ${tally.missing}`,
                            })
                            .where(eq(consAuditRuns.id, run.id));
              });
      result.checked += checked.length;
      result.ok += tally.ok;
      result.mismatches += tally.mismatch;
      result.missing += tally.missing;
      left -= batch.length;
      if (batch.length < want) break;
    }
  } catch (e) {
    await ctx.db.update(consAuditRuns).set({ status: 'interrupted' }).where(eq(consAuditRuns.id, run.id));
    await alertFailures(ctx, run.id);
    throw e;
  }
  await alertFailures(ctx, run.id);

  const more = (await ctx.db
      .select({ key: consBlobs.key })
      .from(consBlobs)
      .where(and(gt(pos, after), dueWhere(run.dueBefore)))
      .limit(1))[0];
  result.done = !more;
  if (result.done) {
    const at = ctx.now();
    await ctx.db.transaction(async (tx) => {
            const row = (await tx.update(consAuditRuns).set({ status: 'done', finishedAt: at.toISOString() }).where(eq(consAuditRuns.id, run.id)).returning())[0]!;
            await appendEventSync(
                      tx,
                      {
                        kind: 'audit',
                        enteId: null,
                        actor: opts.actor ?? 'system',
                        subject: `audit-run:${run.id}`,
                        details: { run: run.id, startedAt: row.startedAt, dueBefore: row.dueBefore, checked: row.checked, ok: row.ok, mismatches: row.mismatches, missing: row.missing },
                      },
                      at,
                    );
          });
  }
  return result;
}

/**
 * Writes a chunk of outcomes: one cons_audit_results row per blob and its cons_blobs.lastAudit*.
 * The rows travel as one JSON array read by SQLite's json_each, two statements per chunk: a
 * statement per row (drizzle builds each query's SQL anew) cost more than reading and hashing a
 * small file (fixity bench).
 */
async function recordOutcomes(tx: DbTx, runId: number, checked: Checked[]): Promise<void> {
  if (dialectOf(tx) === 'postgres') {
    // The same two statements over arrays (one parameter per column).
    const col = <K extends keyof Checked>(k: K) => checked.map((c) => c[k]);
    await sqlRun(
      tx,
      `INSERT INTO cons_audit_results (run_id, blob_key, outcome, actual_sha256, checked_at)
        SELECT ?, r.k, r.o, r.a, r.t FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) AS r(k, o, a, t)`,
      runId, col('key'), col('outcome'), col('actual'), col('at'),
    );
    await sqlRun(
      tx,
      `UPDATE cons_blobs SET last_audit_outcome = r.o, last_audit_at = r.t
        FROM unnest(?::text[], ?::text[], ?::text[]) AS r(k, o, t) WHERE cons_blobs.key = r.k`,
      col('key'), col('outcome'), col('at'),
    );
    return;
  }
  const rows = JSON.stringify(checked.map((c) => [c.key, c.outcome, c.actual, c.at, c.rowid]));
  tx.run(sql`INSERT INTO ${consAuditResults} (run_id, blob_key, outcome, actual_sha256, checked_at)
    SELECT ${runId}, value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]' FROM json_each(${rows})`);
  tx.run(sql`UPDATE ${consBlobs} SET last_audit_outcome = r.value ->> '$[1]', last_audit_at = r.value ->> '$[3]'
    FROM json_each(${rows}) AS r WHERE ${consBlobs}.rowid = r.value ->> '$[4]'`);
}

/** Re-hashes the keys, CONCURRENCY at a time, keeping their order; yields to the event loop now and then. */
async function rehashAll(ctx: ConservazioneCtx, blobs: { rowid: number | string; key: string }[]): Promise<Checked[]> {
  const out = new Array<Checked>(blobs.length);
  let next = 0;
  const worker = async () => {
    while (next < blobs.length) {
      const i = next++;
      const { key, rowid: id } = blobs[i]!;
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
      const actual = await ctx.store.rehash(key);
      out[i] = { rowid: id, key, actual, outcome: actual === null ? 'missing' : actual === key ? 'ok' : 'mismatch', at: ctx.now().toISOString() };
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, blobs.length) }, worker));
  return out;
}

/** What uses a blob: the PdV files and PdA that name it (for the alert's message). */
async function usersOf(ctx: ConservazioneCtx, key: string): Promise<string[]> {
  const sips = (await ctx.db
      .select({ urn: consSips.urn, name: consSipFiles.name })
      .from(consSipFiles)
      .innerJoin(consSips, eq(consSips.id, consSipFiles.sipId))
      .where(eq(consSipFiles.storageKey, key))
      .limit(5))
    .map((r) => `${r.urn} (${r.name})`);
  const aips = (await ctx.db
      .select({ urn: consAips.urn })
      .from(consAips)
      .where(or(eq(consAips.indexKey, key), eq(consAips.signatureKey, key), eq(consAips.timestampKey, key)))
      .limit(5))
    .map((r) => r.urn);
  return [...sips, ...aips];
}

/**
 * Raises the alerts of a run's failed outcomes, read back from cons_audit_results (so a pass that
 * stopped after writing its outcomes and before alerting is made good by the next one): one per
 * failure, except when an alert for that blob is still open or was raised after that outcome.
 */
async function alertFailures(ctx: ConservazioneCtx, runId: number): Promise<void> {
  const failed = await ctx.db
      .select({ key: consAuditResults.blobKey, outcome: consAuditResults.outcome, actual: consAuditResults.actualSha256, at: consAuditResults.checkedAt })
      .from(consAuditResults)
      .where(and(eq(consAuditResults.runId, runId), inArray(consAuditResults.outcome, ['mismatch', 'missing'])));
  for (const f of failed) {
    const subject = `blob:${f.key}`;
    const kind = f.outcome === 'missing' ? 'fixity_missing' : 'fixity_mismatch';
    const known = (await ctx.db
          .select({ id: consAlerts.id })
          .from(consAlerts)
          .where(and(eq(consAlerts.subject, subject), eq(consAlerts.kind, kind), or(isNull(consAlerts.acknowledgedAt), gte(consAlerts.createdAt, f.at))))
          .limit(1))[0];
    if (known) continue;
    const used = await usersOf(ctx, f.key);
    const where = used.length ? ` Contenuto in: ${used.join(', ')}.` : '';
    const message =
      f.outcome === 'missing'
        ? `Verifica di integrità: il file ${f.key} non si trova più nell'archivio (${ctx.store.kind === 's3' ? 'bucket S3' : 'archivio su disco'}).${where}`
        : `Verifica di integrità: il file ${f.key} non corrisponde più alla sua impronta SHA-256 (impronta calcolata ${f.actual}).${where}`;
    await raiseAlert(ctx, { kind, enteId: null, subject, message, priority: 'critica' });
  }
}
