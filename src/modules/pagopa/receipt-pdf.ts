/**
 * "Ricevuta di pagamento" PDF from a stored receipt: a pure renderer (no database, no clock: the
 * creation date comes from the receipt). Tagged PDF (headings, paragraphs, a table of the
 * transfers), lang it-IT, title displayed.
 */
import PDFDocument from 'pdfkit';
import { formatEuro } from '../../domain/money.js';

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
}

function itDateTime(iso: string | null): string {
  if (!iso) return '—';
  const d = new Date(/Z|[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat('it-IT', { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Rome' }).format(d);
}

export function renderReceiptPdf(r: ReceiptPdfData): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 56,
    pdfVersion: '1.7',
    tagged: true,
    lang: 'it-IT',
    displayTitle: true,
    info: { Title: `Ricevuta di pagamento - avviso ${r.noticeNumber}`, Author: r.companyName, Subject: 'Ricevuta di pagamento pagoPA', Creator: 'sael-pay', CreationDate: new Date(r.receivedAt) },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const root = doc.struct('Document');
  doc.addStructure(root);
  const add = (type: string, draw: () => void) => root.add(doc.struct(type, {}, draw));
  add('H1', () => doc.font('Helvetica-Bold').fontSize(20).text('Ricevuta di pagamento'));
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
  if (r.paymentMethod) line('Strumento di pagamento', r.paymentMethod);
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
