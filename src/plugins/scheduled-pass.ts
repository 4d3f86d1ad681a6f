/**
 * A module's scheduled pass (the catalogue's, the conservazione's): one pass at a time (a call
 * while one runs gets that one), errors logged and never thrown, and — when background workers run
 * — one pass at start-up and then every `everyMs`, stopped on close after the pass in progress
 * (the database closes after this hook). Tests call the returned function with their own clock.
 */
import type { FastifyInstance } from 'fastify';

export interface ScheduledPassOptions {
  name: string;
  everyMs: number;
  backgroundWorkers: boolean;
  now: () => Date;
  pass: (at: Date) => Promise<void>;
}

export function scheduledPass(app: FastifyInstance, opts: ScheduledPassOptions): (at?: Date) => Promise<void> {
  let running: Promise<void> | null = null;
  const tick = async (at: Date = opts.now()) => {
    if (running) return running;
    running = opts
      .pass(at)
      .catch((e: unknown) => app.log.error({ err: (e as Error).message }, `${opts.name} scheduled pass failed`))
      .finally(() => {
        running = null;
      });
    return running;
  };
  if (opts.backgroundWorkers) {
    let timer: NodeJS.Timeout | null = null;
    app.addHook('onReady', async () => {
      setImmediate(() => void tick());
      timer = setInterval(() => void tick(), opts.everyMs);
      timer.unref();
    });
    app.addHook('onClose', async () => {
      if (timer) clearInterval(timer);
      if (running) await running;
    });
  }
  return tick;
}
