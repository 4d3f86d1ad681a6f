/**
 * A module's scheduled pass (the catalogue's, the conservazione's): one pass at a time (a call
 * while one runs gets that one), errors logged and never thrown, and — when background workers run
 * — one pass at start-up and then every `everyMs`, stopped on close after the pass in progress
 * (the database closes after this hook). Tests call the returned function with their own clock.
 *
 * Several processes on one database run each pass once: a pass runs under the lease
 * `pass:<name>` in pagopa_schedules (pagopa/leases.ts), renewed while it runs, and a timer's pass
 * runs only when the last one, by any process, is `everyMs` old. A process that dies mid-pass
 * leaves a lease that expires after LEASE_MS; the next due pass then runs elsewhere.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/client.js';
import { claimLease, releaseLease, renewLease } from '../modules/pagopa/leases.js';

const LEASE_MS = 5 * 60_000;
const OWNER = `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;

export interface ScheduledPassOptions {
  name: string;
  everyMs: number;
  backgroundWorkers: boolean;
  now: () => Date;
  pass: (at: Date) => Promise<void>;
}

/**
 * Runs `fn` under the lease `name` (pagopa_schedules), renewed while it runs and released with the
 * outcome and the next due time (`everyMs` on, a second early so that the interval timer that
 * started it finds it due). With `onlyIfDue`, only when the last run, by any process, is due. False
 * when another process holds it (or, with onlyIfDue, it is not due). `fn`'s error is recorded on
 * the lease and thrown.
 */
export async function underLease(db: Db, name: string, opts: { everyMs: number; onlyIfDue: boolean }, fn: () => Promise<unknown>): Promise<boolean> {
  if (!(await claimLease(db, name, OWNER, LEASE_MS, { onlyIfDue: opts.onlyIfDue }))) return false;
  const renew = setInterval(() => void renewLease(db, name, OWNER, LEASE_MS).catch(() => undefined), LEASE_MS / 3);
  renew.unref();
  let error: string | undefined;
  try {
    await fn();
    return true;
  } catch (e) {
    error = (e as Error).message;
    throw e;
  } finally {
    clearInterval(renew);
    await releaseLease(db, name, OWNER, { nextRunAt: Date.now() + opts.everyMs - 1000, error });
  }
}

export function scheduledPass(app: FastifyInstance, opts: ScheduledPassOptions): (at?: Date) => Promise<void> {
  let running: Promise<void> | null = null;
  const leased = async (at: Date, onlyIfDue: boolean): Promise<void> => {
    await underLease(app.db, `pass:${opts.name}`, { everyMs: opts.everyMs, onlyIfDue }, () => opts.pass(at));
  };
  const run = (at: Date, onlyIfDue: boolean) => {
    if (running) return running;
    running = leased(at, onlyIfDue)
      .catch((e: unknown) => app.log.error({ err: (e as Error).message }, `${opts.name} scheduled pass failed`))
      .finally(() => {
        running = null;
      });
    return running;
  };
  // A call (tests, the CLI) runs the pass now unless another process holds it; the timer's only
  // when it is due.
  const tick = (at: Date = opts.now()) => run(at, false);
  const timerTick = () => run(opts.now(), true);
  if (opts.backgroundWorkers) {
    let timer: NodeJS.Timeout | null = null;
    app.addHook('onReady', async () => {
      setImmediate(() => void timerTick());
      timer = setInterval(() => void timerTick(), opts.everyMs);
      timer.unref();
    });
    app.addHook('onClose', async () => {
      if (timer) clearInterval(timer);
      if (running) await running;
    });
  }
  return tick;
}
