/** Placeholder (part D): claims due notifications and sends each through its channel. */
import type { NotificationsCtx } from './context.js';

export async function runDispatch(_ctx: NotificationsCtx, _at: Date): Promise<void> {}
