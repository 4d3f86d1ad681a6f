/**
 * The e-mail channel: the row's payload {to, subject, body, listUnsubscribe?} goes to the existing mail outbox
 * (helpdesk/mail.ts: SMTP when SMTP_URL is set, else the demo mailbox page /helpdesk/posta), which
 * sends it with its own retries. Reported as sent once handed over.
 */
import { enqueueMail } from '../helpdesk/mail.js';
import type { ChannelResult, ChannelSender, NotificationRow, NotificationsCtx } from './context.js';

export function emailSender(ctx: NotificationsCtx): ChannelSender {
  return async (row: NotificationRow): Promise<ChannelResult> => {
    const m = JSON.parse(row.payload) as { to?: unknown; subject?: unknown; body?: unknown; listUnsubscribe?: unknown };
    if (typeof m.to !== 'string' || typeof m.subject !== 'string' || typeof m.body !== 'string' || !m.to.includes('@')) {
      return { status: 'failed', error: 'messaggio e-mail non valido' };
    }
    const mailbox = !ctx.config.helpdesk.smtpUrl;
    // the one-click unsubscribe URL of payment and event-alert e-mails (RFC 8058 headers)
    const listUnsubscribe = typeof m.listUnsubscribe === 'string' && /^https?:\/\//.test(m.listUnsubscribe) ? m.listUnsubscribe : undefined;
    await enqueueMail(ctx.db, { to: m.to, subject: m.subject, body: m.body, mailbox, ...(listUnsubscribe ? { listUnsubscribe } : {}) });
    return { status: 'sent', deliveryState: mailbox ? 'mailbox' : 'smtp_queued' };
  };
}
