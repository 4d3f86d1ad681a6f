/**
 * Leases of scheduled background tasks in `pagopa_schedules` (FdR download per ente, central
 * archive sender): a process runs a task only after claiming its row with one UPDATE that succeeds
 * when the lease is free or expired (and, optionally, the task is due), so two processes never run
 * the same task at once; a dead holder's lease simply expires.
 */
import { and, eq, lte, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { pagopaSchedules } from './schema.js';
import { affectedRows } from '../../db/client.js';

/** Claims the lease `name` for `owner` until now + leaseMs; with `onlyIfDue`, only when next_run_at ≤ now. */
export async function claimLease(db: Db, name: string, owner: string, leaseMs: number, opts: { now?: number; onlyIfDue?: boolean } = {}): Promise<boolean> {
  const now = opts.now ?? Date.now();
  await db.insert(pagopaSchedules).values({ name }).onConflictDoNothing();
  const row = (await db
      .update(pagopaSchedules)
      .set({ lockedBy: owner, lockedUntil: now + leaseMs, updatedAt: new Date(now).toISOString() })
      .where(and(eq(pagopaSchedules.name, name), lte(pagopaSchedules.lockedUntil, now), opts.onlyIfDue ? lte(pagopaSchedules.nextRunAt, now) : undefined))
      .returning({ name: pagopaSchedules.name }))[0]!;
  return !!row;
}

export async function renewLease(db: Db, name: string, owner: string, leaseMs: number): Promise<boolean> {
  const now = Date.now();
  return (
    affectedRows(await db
            .update(pagopaSchedules)
            .set({ lockedUntil: now + leaseMs, updatedAt: new Date(now).toISOString() })
            .where(and(eq(pagopaSchedules.name, name), eq(pagopaSchedules.lockedBy, owner)))) > 0
  );
}

export async function releaseLease(db: Db, name: string, owner: string, outcome: { nextRunAt: number; error?: string }): Promise<void> {
  const now = Date.now();
  await db.update(pagopaSchedules)
        .set({
          lockedBy: null,
          lockedUntil: 0,
          nextRunAt: outcome.nextRunAt,
          lastRunAt: now,
          lastError: outcome.error ?? null,
          failures: outcome.error ? sql`${pagopaSchedules.failures} + 1` : 0,
          updatedAt: new Date(now).toISOString(),
        })
        .where(and(eq(pagopaSchedules.name, name), eq(pagopaSchedules.lockedBy, owner)));
}
