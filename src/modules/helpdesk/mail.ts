/**
 * E-mail outbox: notifications are rows of `mail_outbox` written in the same transaction as the
 * change they announce; a periodic task sends the queued ones through SMTP (nodemailer, setting
 * SMTP_URL). Without SMTP (the demo default) they stay in the local mailbox page
 * `/helpdesk/posta` (status `mailbox`). Addresses and bodies are never logged.
 */
import type { Transporter } from 'nodemailer';
import type { DbLike } from '../../db/client.js';
import { sqlAll, sqlRun } from '../../db/raw.js';

/** Queues one mail; `db` may be the transaction of the change the mail announces. */
export async function enqueueMail(db: DbLike, m: { to: string; subject: string; body: string; ticketId?: number | null; mailbox: boolean; listUnsubscribe?: string }): Promise<void> {
  await sqlRun(
    db,
    'INSERT INTO mail_outbox (to_address, subject, body, status, ticket_id, list_unsubscribe) VALUES (?,?,?,?,?,?)',
    m.to.slice(0, 320),
    m.subject.slice(0, 250),
    m.body.slice(0, 20000),
    m.mailbox ? 'mailbox' : 'queued',
    m.ticketId ?? null,
    m.listUnsubscribe ?? null,
  );
}

export interface MailSender {
  /** `listUnsubscribe`: a mail to a list, with its one-click unsubscribe URL (RFC 8058). */
  send(to: string, subject: string, text: string, opts?: { listUnsubscribe?: string | null }): Promise<void>;
}

/**
 * Through SMTP with nodemailer. A mail with a one-click unsubscribe URL carries `List-Unsubscribe:
 * <url>` (nodemailer's `list`) and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, so that
 * mail clients offer their own unsubscribe button and POST to the URL (RFC 8058; the routes that
 * answer take that POST without a session or CSRF token).
 */
export function smtpSender(url: string, from: string): MailSender {
  // nodemailer loads with the first mail (most starts never send one: demo, tests, CLI).
  let transport: Promise<Transporter> | undefined;
  return {
    async send(to, subject, text, opts = {}) {
      transport ??= import('nodemailer').then((m) => m.default.createTransport(url));
      const list = opts.listUnsubscribe ? { list: { unsubscribe: opts.listUnsubscribe }, headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } } : {};
      await (await transport).sendMail({ from, to, subject, text, ...list });
    },
  };
}

/** Sends up to `limit` queued mails; failures are retried up to 5 times. Returns how many were sent. */
export async function flushOutbox(db: DbLike, sender: MailSender, limit = 50): Promise<number> {
  const rows = await sqlAll<{ id: number; to: string; subject: string; body: string; listUnsubscribe: string | null }>(
    db,
    "SELECT id, to_address AS \"to\", subject, body, list_unsubscribe AS \"listUnsubscribe\" FROM mail_outbox WHERE status = 'queued' ORDER BY id LIMIT ?",
    limit,
  );
  let sent = 0;
  for (const m of rows) {
    try {
      await sender.send(m.to, m.subject, m.body, { listUnsubscribe: m.listUnsubscribe });
      await sqlRun(db, "UPDATE mail_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?", new Date().toISOString(), m.id);
      sent++;
    } catch (e) {
      await sqlRun(db, "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, status = CASE WHEN attempts + 1 >= 5 THEN 'failed' ELSE 'queued' END WHERE id = ?", String((e as Error).message).slice(0, 500), m.id);
    }
  }
  return sent;
}
