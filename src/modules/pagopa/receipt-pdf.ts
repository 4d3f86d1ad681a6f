/**
 * "Ricevuta di pagamento" PDF from a stored receipt: a pure renderer (no database, no clock: the
 * creation date comes from the receipt). Tagged PDF (headings, paragraphs, a table of the
 * transfers), lang it-IT, title displayed. The header carries the ente's stemma (its uploaded
 * PNG/JPEG, else the generic emblem) and name, and the pagoPA mark; the payment method is in
 * Italian.
 */
import { taggedPdf } from '../../pdf/tagged-pdf.js';
import { loadSvgToPdfkit } from '../../lazy-packages.js';
import { formatEuro } from '../../domain/money.js';

/**
 * Italian names of the payment methods the node writes in `paymentMethod` (free text35): the
 * receipt's names (`creditCard`, `bancomatPay`…) and the platform's codes (`CP`, `PPAL`, `BBT`…).
 * An unknown value is printed as it came.
 */
const PAYMENT_METHODS: Record<string, string> = {
  creditcard: 'Carta di credito o debito',
  card: 'Carta di credito o debito',
  cp: 'Carta di credito o debito',
  debitcard: 'Carta di debito',
  prepaidcard: 'Carta prepagata',
  paypal: 'PayPal',
  ppal: 'PayPal',
  bancomatpay: 'BANCOMAT Pay',
  bpay: 'BANCOMAT Pay',
  banktransfer: 'Bonifico bancario',
  bbt: 'Bonifico bancario',
  mybank: 'MyBank',
  mybk: 'MyBank',
  ad: 'Addebito diretto in conto',
  directdebit: 'Addebito diretto in conto',
  po: 'Pagamento presso il prestatore (sportello o punto vendita)',
  cash: 'Contanti',
  contanti: 'Contanti',
  applepay: 'Apple Pay',
  appl: 'Apple Pay',
  googlepay: 'Google Pay',
  goog: 'Google Pay',
  satispay: 'Satispay',
  saty: 'Satispay',
  postepay: 'PostePay',
  bpp: 'BancoPosta / PostePay',
  rbpp: 'BancoPosta / PostePay',
  rbpr: 'Conto BancoPosta',
  rbpb: 'Conto BancoPosta Impresa',
  rbps: 'SCRIGNO Internet Banking',
  rico: 'Conto Intesa Sanpaolo',
  klrn: 'Klarna',
  jif: 'BANCOMAT Pay',
  other: 'Altro strumento',
};

export function paymentMethodLabel(method: string | null | undefined): string | null {
  if (!method) return null;
  return PAYMENT_METHODS[method.replace(/[\s_-]/g, '').toLowerCase()] ?? method;
}

/** The generic emblem of the portal (public/img/stemma.svg), for enti without an uploaded stemma. */
const GENERIC_STEMMA =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 76"><path d="M4 4h56v34c0 18-14 30-28 34C18 68 4 56 4 38z" fill="#fff" stroke="#0066cc" stroke-width="4"/><path d="M16 24h32M16 36h32M16 48h32" stroke="#0066cc" stroke-width="4"/></svg>';

export interface ReceiptPdfData {
  companyName: string;
  fiscalCode: string;
  noticeNumber: string;
  iuv: string;
  receiptId: string;
  description: string;
  amountCents: number;
  feeCents: number | null;
  paymentDateTime: string | null;
  receivedAt: string;
  debtorName: string;
  debtorFiscalCode: string;
  payerName: string | null;
  pspName: string;
  paymentMethod: string | null;
  transfers: { idTransfer: number; fiscalCodePA: string; companyName: string | null; amountCents: number; remittanceInformation: string }[];
  /** The ente's uploaded stemma (PNG or JPEG bytes); without it the generic emblem is drawn. */
  logo?: Buffer;
}

function itDateTime(iso: string | null): string {
  if (!iso) return '—';
  const d = new Date(/Z|[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat('it-IT', { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Rome' }).format(d);
}

export async function renderReceiptPdf(r: ReceiptPdfData): Promise<Buffer> {
  const SVGtoPDF = await loadSvgToPdfkit();
  const { doc, done, root, add } = await taggedPdf({ Title: `Ricevuta di pagamento - avviso ${r.noticeNumber}`, Author: r.companyName, Subject: 'Ricevuta di pagamento pagoPA', CreationDate: new Date(r.receivedAt) }, 56);
  // Header: stemma and name of the ente on the left, the pagoPA mark on the right, a blue rule.
  const top = doc.page.margins.top;
  const left = doc.page.margins.left;
  const right = doc.page.width - doc.page.margins.right;
  const artifact = (draw: () => void) => {
    doc.markContent('Artifact', { type: 'Layout' });
    draw();
    doc.endMarkedContent();
  };
  if (r.logo) {
    try {
      root.add(doc.struct('Figure', { alt: `Stemma di ${r.companyName}` }, () => doc.image(r.logo!, left, top, { fit: [40, 48] })));
    } catch {
      artifact(() => SVGtoPDF(doc, GENERIC_STEMMA, left, top, { width: 40, height: 48 }));
    }
  } else {
    artifact(() => SVGtoPDF(doc, GENERIC_STEMMA, left, top, { width: 40, height: 48 }));
  }
  add('P', () => doc.font('Helvetica-Bold').fontSize(14).fillColor('#17324d').text(r.companyName, left + 52, top + 8, { width: right - left - 52 - 110 }));
  add('P', () => doc.font('Helvetica').fontSize(9).fillColor('#5c6f82').text(`Codice fiscale ${r.fiscalCode}`, left + 52, doc.y + 2, { width: right - left - 52 - 110 }));
  add('P', () => doc.font('Helvetica-Bold').fontSize(18).fillColor('#0066cc').text('pagoPA', right - 100, top + 10, { width: 100, align: 'right' }));
  artifact(() => doc.moveTo(left, top + 58).lineTo(right, top + 58).lineWidth(2).strokeColor('#0066cc').stroke());
  doc.fillColor('black').strokeColor('black');
  doc.x = left;
  doc.y = top + 72;
  add('H1', () => doc.font('Helvetica-Bold').fontSize(20).text('Ricevuta di pagamento', left, doc.y));
  add('P', () => doc.font('Helvetica').fontSize(10).fillColor('#444').text('Pagamento eseguito con pagoPA. La ricevuta attesta il pagamento ricevuto dall’ente creditore.').fillColor('black'));
  doc.moveDown();
  const line = (label: string, value: string) =>
    add('P', () => doc.font('Helvetica-Bold').fontSize(11).text(`${label}: `, { continued: true }).font('Helvetica').text(value));
  add('H2', () => doc.font('Helvetica-Bold').fontSize(14).text('Ente creditore'));
  line('Ente', r.companyName);
  line('Codice fiscale', r.fiscalCode);
  doc.moveDown(0.5);
  add('H2', () => doc.font('Helvetica-Bold').fontSize(14).text('Pagamento'));
  line('Oggetto', r.description);
  line('Codice avviso', r.noticeNumber);
  line('Codice IUV', r.iuv);
  line('Identificativo della ricevuta', r.receiptId);
  line('Importo pagato', formatEuro(r.amountCents));
  if (r.feeCents !== null) line('Commissione applicata dal PSP', formatEuro(r.feeCents));
  line('Data e ora del pagamento', itDateTime(r.paymentDateTime));
  line('Prestatore del servizio (PSP)', r.pspName);
  const method = paymentMethodLabel(r.paymentMethod);
  if (method) line('Strumento di pagamento', method);
  doc.moveDown(0.5);
  add('H2', () => doc.font('Helvetica-Bold').fontSize(14).text('Debitore'));
  line('Nome', r.debtorName);
  line('Codice fiscale', r.debtorFiscalCode);
  if (r.payerName) line('Pagato da', r.payerName);
  doc.moveDown(0.5);
  add('H2', () => doc.font('Helvetica-Bold').fontSize(14).text('Ripartizione dell’importo'));
  const table = doc.struct('Table');
  root.add(table);
  for (const t of r.transfers) {
    const row = doc.struct('TR');
    table.add(row);
    row.add(doc.struct('TD', {}, () => {
      doc.font('Helvetica').fontSize(10).text(`${t.idTransfer}. ${t.companyName ?? t.fiscalCodePA} (${t.fiscalCodePA}) – ${t.remittanceInformation} – ${formatEuro(t.amountCents)}`);
    }));
    row.end();
  }
  table.end();
  root.end();
  doc.end();
  return done;
}
