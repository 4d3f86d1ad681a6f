/**
 * Fixity audit (issue #16 item 6): every stored blob is re-read and re-hashed at least once every
 * `config.conservazione.auditCycleDays`; the SHA-256 must still equal its key.
 *
 * A run (cons_audit_runs) covers the blobs due when it started (not audited since `dueBefore` =
 * start − cycle; never audited; not discarded by scarto), in key order. Each call re-hashes at most
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
import { and, asc, count, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { DbTx } from '../../db/client.js';
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

/** Re-hashes up to `maxBlobs` due blobs (resumable), records each outcome, raises alerts and tickets on a mismatch. */
export function runFixityAudit(ctx: ConservazioneCtx, opts: { maxBlobs?: number; actor?: string } = {}): Promise<FixityPassResult> {
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

/** Blobs due in a run: not discarded, never audited or audited before `before`. */
function dueWhere(before: string) {
  return and(isNull(consBlobs.discardedAt), or(isNull(consBlobs.lastAuditAt), lt(consBlobs.lastAuditAt, before)));
}

/**
 * The same condition for a run's slices, walked in key order from the cursor. The unary `+` keeps
 * SQLite from choosing the cons_blobs_audit index: when most blobs are due (first run, a new
 * cycle) it would sort every due blob at each slice (quadratic); the key order of the primary
 * key index makes a whole run one linear walk.
 */
function sliceWhere(before: string) {
  return and(sql`+${consBlobs.discardedAt} IS NULL`, or(isNull(consBlobs.lastAuditAt), lt(consBlobs.lastAuditAt, before)));
}

/** How many blobs are due now (for the page). */
export async function countDueBlobs(ctx: ConservazioneCtx): Promise<number> {
  return ctx.db.select({ n: count() }).from(consBlobs).where(dueWhere(dueBefore(ctx, ctx.now()))).get()!.n;
}

async function openRun(ctx: ConservazioneCtx): Promise<typeof consAuditRuns.$inferSelect | null> {
  const unfinished = ctx.db
    .select()
    .from(consAuditRuns)
    .where(inArray(consAuditRuns.status, ['running', 'interrupted']))
    .orderBy(asc(consAuditRuns.id))
    .limit(1)
    .get();
  if (unfinished) {
    if (unfinished.status === 'interrupted') ctx.db.update(consAuditRuns).set({ status: 'running' }).where(eq(consAuditRuns.id, unfinished.id)).run();
    return { ...unfinished, status: 'running' };
  }
  const at = ctx.now();
  const before = dueBefore(ctx, at);
  const anyDue = ctx.db.select({ key: consBlobs.key }).from(consBlobs).where(dueWhere(before)).limit(1).get();
  if (!anyDue) return null;
  return ctx.db.insert(consAuditRuns).values({ startedAt: at.toISOString(), dueBefore: before, status: 'running' }).returning().get();
}

interface Checked {
  key: string;
  outcome: FixityOutcome;
  actual: string | null;
  at: string;
}

async function auditPass(ctx: ConservazioneCtx, opts: { maxBlobs?: number; actor?: string }): Promise<FixityPassResult> {
  const maxBlobs = Math.max(1, opts.maxBlobs ?? 2000);
  const run = await openRun(ctx);
  const result: FixityPassResult = { runId: run?.id ?? null, checked: 0, ok: 0, mismatches: 0, missing: 0, done: true };
  if (!run) return result;

  let cursor = run.cursor;
  const failures: Checked[] = [];
  try {
    let left = maxBlobs;
    while (left > 0) {
      const want = Math.min(CHUNK, left);
      const batch = ctx.db
        .select({ key: consBlobs.key })
        .from(consBlobs)
        .where(and(sliceWhere(run.dueBefore), cursor === null ? undefined : gt(consBlobs.key, cursor)))
        .orderBy(asc(consBlobs.key))
        .limit(want)
        .all()
        .map((r) => r.key);
      if (!batch.length) break;
      const checked = await rehashAll(ctx, batch);
      cursor = batch.at(-1)!;
      const tally = { ok: 0, mismatch: 0, missing: 0 };
      for (const c of checked) tally[c.outcome]++;
      ctx.db.transaction((tx) => {
        recordOutcomes(tx, run.id, checked);
        tx.update(consAuditRuns)
          .set({
            cursor,
            checked: sql`${consAuditRuns.checked} + ${checked.length}`,
            ok: sql`${consAuditRuns.ok} + ${tally.ok}`,
            mismatches: sql`${consAuditRuns.mismatches} + ${tally.mismatch}`,
            missing: sql`${consAuditRuns.missing} + ${tally.missing}`,
          })
          .where(eq(consAuditRuns.id, run.id))
          .run();
      });
      result.checked += checked.length;
      result.ok += tally.ok;
      result.mismatches += tally.mismatch;
      result.missing += tally.missing;
      failures.push(...checked.filter((c) => c.outcome !== 'ok'));
      left -= batch.length;
      if (batch.length < want) break;
    }
  } catch (e) {
    ctx.db.update(consAuditRuns).set({ status: 'interrupted' }).where(eq(consAuditRuns.id, run.id)).run();
    await alertAll(ctx, failures);
    throw e;
  }
  await alertAll(ctx, failures);

  const more = ctx.db
    .select({ key: consBlobs.key })
    .from(consBlobs)
    .where(and(dueWhere(run.dueBefore), cursor === null ? undefined : gt(consBlobs.key, cursor)))
    .limit(1)
    .get();
  result.done = !more;
  if (result.done) {
    const at = ctx.now();
    ctx.db.transaction((tx) => {
      const row = tx.update(consAuditRuns).set({ status: 'done', finishedAt: at.toISOString() }).where(eq(consAuditRuns.id, run.id)).returning().get();
      appendEventSync(
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
function recordOutcomes(tx: DbTx, runId: number, checked: Checked[]): void {
  const rows = JSON.stringify(checked.map((c) => [c.key, c.outcome, c.actual, c.at]));
  tx.run(sql`INSERT INTO ${consAuditResults} (run_id, blob_key, outcome, actual_sha256, checked_at)
    SELECT ${runId}, value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]' FROM json_each(${rows})`);
  tx.run(sql`UPDATE ${consBlobs} SET last_audit_outcome = r.value ->> '$[1]', last_audit_at = r.value ->> '$[3]'
    FROM json_each(${rows}) AS r WHERE ${consBlobs.key} = r.value ->> '$[0]'`);
}

/** Re-hashes the keys, CONCURRENCY at a time, keeping their order; yields to the event loop now and then. */
async function rehashAll(ctx: ConservazioneCtx, keys: string[]): Promise<Checked[]> {
  const out = new Array<Checked>(keys.length);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const i = next++;
      const key = keys[i]!;
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
      const actual = await ctx.store.rehash(key);
      out[i] = { key, actual, outcome: actual === null ? 'missing' : actual === key ? 'ok' : 'mismatch', at: ctx.now().toISOString() };
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, keys.length) }, worker));
  return out;
}

/** What uses a blob: the PdV files and PdA that name it (for the alert's message). */
function usersOf(ctx: ConservazioneCtx, key: string): string[] {
  const sips = ctx.db
    .select({ urn: consSips.urn, name: consSipFiles.name })
    .from(consSipFiles)
    .innerJoin(consSips, eq(consSips.id, consSipFiles.sipId))
    .where(eq(consSipFiles.storageKey, key))
    .limit(5)
    .all()
    .map((r) => `${r.urn} (${r.name})`);
  const aips = ctx.db
    .select({ urn: consAips.urn })
    .from(consAips)
    .where(or(eq(consAips.indexKey, key), eq(consAips.signatureKey, key), eq(consAips.timestampKey, key)))
    .limit(5)
    .all()
    .map((r) => r.urn);
  return [...sips, ...aips];
}

async function alertAll(ctx: ConservazioneCtx, failures: Checked[]): Promise<void> {
  for (const f of failures) {
    const subject = `blob:${f.key}`;
    const kind = f.outcome === 'missing' ? 'fixity_missing' : 'fixity_mismatch';
    const open = ctx.db
      .select({ id: consAlerts.id })
      .from(consAlerts)
      .where(and(eq(consAlerts.subject, subject), eq(consAlerts.kind, kind), isNull(consAlerts.acknowledgedAt)))
      .limit(1)
      .get();
    if (open) continue;
    const used = usersOf(ctx, f.key);
    const where = used.length ? ` Contenuto in: ${used.join(', ')}.` : '';
    const message =
      f.outcome === 'missing'
        ? `Verifica di integrità: il file ${f.key} non si trova più nell'archivio (${ctx.store.kind === 's3' ? 'bucket S3' : 'archivio su disco'}).${where}`
        : `Verifica di integrità: il file ${f.key} non corrisponde più alla sua impronta SHA-256 (impronta calcolata ${f.actual}).${where}`;
    await raiseAlert(ctx, { kind, enteId: null, subject, message, priority: 'critica' });
  }
}
