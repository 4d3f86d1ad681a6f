/**
 * What every part of the events module works with: the database, the settings and the clock
 * (injected: tests pass their own). `kickAlerts()` asks the alerts pass to run soon (after a first
 * publication), without waiting for its timer.
 */
import type { Config } from '../../config.js';
import type { Db } from '../../db/client.js';

export interface EventsCtx {
  db: Db;
  config: Config;
  /** The clock: `new Date()` in the server, a fixed or moving clock in tests. */
  now: () => Date;
  /** Runs the alerts pass (queue the Web Push / e-mail alerts of newly published events) soon. */
  kickAlerts: () => void;
}
