/**
 * The texts of the payment notifications (pure): a position published for its debtor, a reminder
 * before a due date, a receipt. One neutral message, then its shape for each channel: the App IO
 * `NewMessage` (subject 10–120 characters without personal data, markdown 80–10 000, payment_data
 * and due_date), an e-mail {to, subject, body}, a Web Push {title, body, url, tag}.
 */
import { formatEuro } from '../../domain/money.js';

export interface PaymentRef {
  amountCents: number;
  noticeNumber: string;
  /** YYYY-MM-DD */
  dueDate: string;
  invalidAfterDueDate: boolean;
  /** The creditor ente's fiscal code (11 digits). */
  payeeFiscalCode: string;
}

export interface NeutralMessage {
  subject: string;
  /** Markdown for IO (headings, bold, lists only). */
  markdown: string;
  /** Plain text for e-mail. */
  text: string;
  /** Short text for a push notification. */
  short: string;
  /** Absolute URL to open. */
  url: string;
  payment?: PaymentRef;
}

export interface OptionInfo {
  id: number;
  amountCents: number;
  dueDate: string;
  noticeNumber: string;
  kind: 'single' | 'installment';
  installmentNumber: number | null;
  installmentCount: number | null;
}

export interface PositionInfo {
  positionId: number;
  enteName: string;
  enteFiscalCode: string;
  serviceName: string;
  description: string;
  switchToExpired: boolean;
  /** The unpaid options, in their order. */
  options: OptionInfo[];
}

export interface ReceiptInfo {
  receiptId: number;
  enteName: string;
  description: string;
  amountCents: number;
  noticeNumber: string;
  paidAt: string | null;
  pspName: string;
  positionId: number | null;
}

const DATE_IT = new Intl.DateTimeFormat('it-IT', { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC' });
const DATETIME_IT = new Intl.DateTimeFormat('it-IT', { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Rome' });
/** `2030-03-20` → `20/03/2030`. */
export const dayIt = (day: string) => DATE_IT.format(new Date(`${day}T00:00:00Z`));
const euro = (cents: number) => formatEuro(cents);
/** Keeps a subject within IO's 10–120 characters. */
const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);
/** Text from our data inside markdown: no markup of its own. */
const md = (s: string) => s.replace(/[\\`*_[\]]/g, (c) => `\\${c}`);

function optionLabel(o: OptionInfo): string {
  if (o.kind === 'installment' && o.installmentNumber && o.installmentCount) return `rata ${o.installmentNumber} di ${o.installmentCount}`;
  return o.kind === 'installment' ? 'rata' : 'unica soluzione';
}

/** The option whose data go into payment_data: the single payment if any, else the first instalment. */
export function primaryOption(p: PositionInfo): OptionInfo | undefined {
  return p.options.find((o) => o.kind === 'single') ?? p.options[0];
}

const payment = (p: PositionInfo, o: OptionInfo): PaymentRef => ({
  amountCents: o.amountCents,
  noticeNumber: o.noticeNumber,
  dueDate: o.dueDate,
  invalidAfterDueDate: p.switchToExpired,
  payeeFiscalCode: p.enteFiscalCode,
});

export function positionPublishedMessage(p: PositionInfo, publicUrl: string): NeutralMessage | null {
  const main = primaryOption(p);
  if (!main) return null;
  const url = `${publicUrl}/area-personale/posizioni/${p.positionId}`;
  const lines = p.options.map((o) => `- ${optionLabel(o)}: **${euro(o.amountCents)}** entro il ${dayIt(o.dueDate)} (codice avviso ${o.noticeNumber})`);
  const textLines = p.options.map((o) => `- ${optionLabel(o)}: ${euro(o.amountCents)} entro il ${dayIt(o.dueDate)} (codice avviso ${o.noticeNumber})`);
  return {
    subject: clip(`Nuovo avviso di pagamento: ${p.serviceName}`, 120),
    markdown:
      `Il **${md(p.enteName)}** ti ha inviato un avviso di pagamento pagoPA.\n\n` +
      `**${md(p.description)}**\n\n${lines.join('\n')}\n\n` +
      `Puoi pagare da qui con pagoPA, oppure dall'area personale del portale dei pagamenti: ${url}`,
    text:
      `Il ${p.enteName} ti ha inviato un avviso di pagamento pagoPA.\n\n${p.description}\n\n${textLines.join('\n')}\n\n` +
      `Paga online dall'area personale: ${url}\n`,
    short: `${p.enteName}: ${p.serviceName}, ${euro(main.amountCents)} entro il ${dayIt(main.dueDate)}`,
    url,
    payment: payment(p, main),
  };
}

export function reminderMessage(p: PositionInfo, o: OptionInfo, publicUrl: string, daysLeft: number): NeutralMessage {
  const url = `${publicUrl}/area-personale/posizioni/${p.positionId}`;
  const when = daysLeft <= 0 ? 'oggi' : daysLeft === 1 ? 'domani' : `tra ${daysLeft} giorni`;
  return {
    subject: clip(`Promemoria: scadenza ${p.serviceName}`, 120),
    markdown:
      `Ti ricordiamo che ${when}, il **${dayIt(o.dueDate)}**, scade il pagamento di **${euro(o.amountCents)}** ` +
      `(${optionLabel(o)}) per il **${md(p.enteName)}**.\n\n**${md(p.description)}**\n\nCodice avviso: ${o.noticeNumber}\n\n` +
      `Se hai già pagato, non considerare questo messaggio. Area personale: ${url}`,
    text:
      `Ti ricordiamo che ${when}, il ${dayIt(o.dueDate)}, scade il pagamento di ${euro(o.amountCents)} (${optionLabel(o)}) per il ${p.enteName}.\n\n` +
      `${p.description}\nCodice avviso: ${o.noticeNumber}\n\nPaga online dall'area personale: ${url}\nSe hai già pagato, non considerare questo messaggio.\n`,
    short: `Scade il ${dayIt(o.dueDate)}: ${p.serviceName}, ${euro(o.amountCents)}`,
    url,
    payment: payment(p, o),
  };
}

export function receiptMessage(r: ReceiptInfo, publicUrl: string): NeutralMessage {
  const url = r.positionId ? `${publicUrl}/area-personale/posizioni/${r.positionId}` : `${publicUrl}/area-personale/storico`;
  const when = r.paidAt ? ` il ${DATETIME_IT.format(new Date(r.paidAt))}` : '';
  return {
    subject: clip(`Pagamento ricevuto dal ${r.enteName}`, 120),
    markdown:
      `Il **${md(r.enteName)}** ha ricevuto il tuo pagamento di **${euro(r.amountCents)}**${when} tramite ${md(r.pspName)}.\n\n` +
      `**${md(r.description)}**\n\nCodice avviso: ${r.noticeNumber}\n\nLa ricevuta è disponibile nell'area personale: ${url}`,
    text:
      `Il ${r.enteName} ha ricevuto il tuo pagamento di ${euro(r.amountCents)}${when} tramite ${r.pspName}.\n\n${r.description}\n` +
      `Codice avviso: ${r.noticeNumber}\n\nRicevuta nell'area personale: ${url}\n`,
    short: `Pagamento di ${euro(r.amountCents)} ricevuto dal ${r.enteName}`,
    url,
  };
}

/** IO's due_date: the due day at midnight UTC (the app shows that calendar day). */
export const ioDueDate = (day: string) => `${day}T00:00:00.000Z`;

/** The App IO `NewMessage` body (POST /messages, fiscal code in the body). */
export function toIoMessage(fiscalCode: string, m: NeutralMessage): Record<string, unknown> {
  const markdown = m.markdown.length >= 80 ? m.markdown : m.markdown.padEnd(80, ' ');
  const content: Record<string, unknown> = { subject: m.subject, markdown: markdown.slice(0, 10_000) };
  if (m.payment) {
    content.due_date = ioDueDate(m.payment.dueDate);
    content.payment_data = {
      amount: m.payment.amountCents,
      notice_number: m.payment.noticeNumber,
      invalid_after_due_date: m.payment.invalidAfterDueDate,
      payee: { fiscal_code: m.payment.payeeFiscalCode },
    };
  }
  return { fiscal_code: fiscalCode, content };
}

/** The e-mail of a message; its footer links the one-click unsubscribe (the address's token) and the choices page. */
export function toEmail(to: string, m: NeutralMessage, unsubscribeToken: string): { to: string; subject: string; body: string; listUnsubscribe: string } {
  const portal = m.url.replace(/\/area-personale\/.*$/, '');
  const listUnsubscribe = `${portal}/notifiche/disiscrizione?token=${unsubscribeToken}`;
  return {
    to,
    subject: m.subject,
    body:
      `${m.text}\n--\nPortale dei pagamenti del S.A.E.L. – messaggio automatico, non rispondere.\n` +
      `Per non ricevere più questi messaggi per e-mail: ${listUnsubscribe}\n` +
      `Per scegliere come riceverli: ${portal}/area-personale/notifiche\n`,
    listUnsubscribe,
  };
}

export function toPush(m: NeutralMessage, tag: string): { title: string; body: string; url: string; tag: string } {
  return { title: m.subject, body: m.short, url: m.url, tag };
}
