/** Placeholder (part D): queues the payment notifications (published positions, reminders, receipts). */
import type { NotificationsCtx } from './context.js';

export async function runPaymentTriggers(_ctx: NotificationsCtx, _at: Date): Promise<void> {}
