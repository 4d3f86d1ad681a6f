/** Placeholder (part C): queues the Web Push / e-mail alerts of newly published events. */
import type { EventsCtx } from './context.js';

export async function runEventAlerts(_ctx: EventsCtx, _at: Date): Promise<void> {}
