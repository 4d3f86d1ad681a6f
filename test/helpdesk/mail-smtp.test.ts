/**
 * The mail outbox (helpdesk/mail.ts) through a real SMTP server (smtp-server, on loopback): queued
 * mails are delivered by nodemailer; a mail to a list carries the RFC 8058 one-click headers
 * (List-Unsubscribe with its URL, List-Unsubscribe-Post), any other mail none; a mail the server
 * refuses stays queued and is retried, and fails after five attempts; the demo mailbox's mails are
 * never sent.
 */
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { SMTPServer } from 'smtp-server';
import { sqlAll } from '../../src/db/raw.js';
import { enqueueMail, flushOutbox, smtpSender } from '../../src/modules/helpdesk/mail.js';
import { buildTestApp } from '../helpers.js';

/** The header lines of a raw message, unfolded (RFC 5322 §2.2.3), by lowercase name. */
function headersOf(raw: string): Map<string, string> {
  const head = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  const out = new Map<string, string>();
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return out;
}

t.test('the mail outbox through a real SMTP server', async (t) => {
  const received: { to: string[]; raw: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith('rifiuta@')) cb(Object.assign(new Error('casella inesistente'), { responseCode: 550 }));
      else cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();

  const app = await buildTestApp(t);
  const unsubscribe = 'https://pagamenti.example.it/notifiche/disiscrizione?token=AbCdEfGhIjKlMnOpQrStUvWx';
  await enqueueMail(app.db, { to: 'cittadino@example.org', subject: 'Nuovo avviso di pagamento', body: 'Hai un nuovo avviso.', mailbox: false, listUnsubscribe: unsubscribe });
  await enqueueMail(app.db, { to: 'ufficio@example.org', subject: '[Ticket #1] Risposta', body: 'Risposta al ticket.', mailbox: false });
  await enqueueMail(app.db, { to: 'rifiuta@example.org', subject: 'Non arriverà', body: '…', mailbox: false });
  await enqueueMail(app.db, { to: 'demo@example.org', subject: 'Solo nella casella demo', body: '…', mailbox: true });

  const sender = smtpSender(`smtp://127.0.0.1:${port}/?ignoreTLS=true`, 'S.A.E.L. <noreply@example.it>');
  t.equal(await flushOutbox(app.db, sender), 2, 'two delivered');
  t.same(received.map((m) => m.to), [['cittadino@example.org'], ['ufficio@example.org']]);

  const list = headersOf(received[0]!.raw);
  t.equal(list.get('list-unsubscribe'), `<${unsubscribe}>`, 'List-Unsubscribe: the one-click URL');
  t.equal(list.get('list-unsubscribe-post'), 'List-Unsubscribe=One-Click', 'List-Unsubscribe-Post (RFC 8058)');
  t.match(list.get('subject'), /Nuovo avviso di pagamento|=\?UTF-8\?/);
  const ticket = headersOf(received[1]!.raw);
  t.notOk(ticket.has('list-unsubscribe'), 'a mail to one person: no list headers');
  t.notOk(ticket.has('list-unsubscribe-post'));

  const state = async () =>
    Object.fromEntries((await sqlAll<{ to: string; status: string; attempts: number }>(app.db, 'SELECT to_address AS "to", status, attempts FROM mail_outbox ORDER BY id')).map((r) => [r.to, `${r.status}/${r.attempts}`]));
  t.same(await state(), { 'cittadino@example.org': 'sent/1', 'ufficio@example.org': 'sent/1', 'rifiuta@example.org': 'queued/1', 'demo@example.org': 'mailbox/0' });
  for (let i = 0; i < 4; i++) await flushOutbox(app.db, sender);
  t.same((await state())['rifiuta@example.org'], 'failed/5', 'refused five times: failed');
  const error = (await sqlAll<{ e: string }>(app.db, "SELECT last_error AS e FROM mail_outbox WHERE to_address = 'rifiuta@example.org'"))[0]!.e;
  t.match(error, /550|casella inesistente/, 'the server’s answer kept');
  t.equal(await flushOutbox(app.db, sender), 0, 'nothing left to send');
  t.equal(received.length, 2, 'nothing sent twice, the demo mailbox never');
});
