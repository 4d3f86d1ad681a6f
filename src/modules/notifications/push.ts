/** Placeholder (part C): the Web Push channel (VAPID, web-push). */
import type { NotificationsCtx } from './context.js';

export async function registerPushChannel(_ctx: NotificationsCtx): Promise<void> {}
