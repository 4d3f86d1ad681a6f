/**
 * The filled request form ("Modulo di richiesta di adesione") of an adesione as a PDF: a pure
 * renderer (no database, no clock: every date comes in the data). Tagged PDF, lang it-IT, title
 * displayed, the Province's emblem and a blue rule like the receipts (receipt-pdf.ts).
 */
import { taggedPdf } from '../../pdf/tagged-pdf.js';
import { loadSvgToPdfkit } from '../../lazy-packages.js';

const EMBLEM =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 76"><path d="M4 4h56v34c0 18-14 30-28 34C18 68 4 56 4 38z" fill="#fff" stroke="#0066cc" stroke-width="4"/><path d="M16 24h32M16 36h32M16 48h32" stroke="#0066cc" stroke-width="4"/></svg>';

export interface ModuloPdfData {
  provinceName: string;
  adesioneId: number;
  protocolNumber: string | null;
  statusLabel: string;
  enteName: string;
  enteFiscalCode: string;
  serviceCode: string;
  serviceName: string;
  referenteName: string;
  referenteRole: string;
  email: string;
  phone: string;
  quantity: number;
  unitLabel: string | null;
  startDate: string | null;
  endDate: string | null;
  autoRenew: boolean;
  notes: string;
  /** When the modulo was sent (ISO instant) or null for a draft. */
  submittedAt: string | null;
  /** When the PDF is produced (ISO instant): shown and used as creation date. */
  generatedAt: string;
}

function itDate(iso: string | null): string {
  if (!iso) return '—';
  const [y, m, d] = iso.slice(0, 10).split('-');
  return `${d}/${m}/${y}`;
}

function itDateTime(iso: string): string {
  return new Intl.DateTimeFormat('it-IT', { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Rome' }).format(new Date(iso));
}

export async function renderModuloPdf(m: ModuloPdfData): Promise<Buffer> {
  const SVGtoPDF = await loadSvgToPdfkit();
  const { doc, done, root, add } = await taggedPdf({ Title: `Richiesta di adesione n. ${m.adesioneId} - ${m.serviceName}`, Author: m.enteName, Subject: 'Modulo di richiesta di adesione ai servizi SAEL', CreationDate: new Date(m.generatedAt) }, 56);
  const top = doc.page.margins.top;
  const left = doc.page.margins.left;
  const right = doc.page.width - doc.page.margins.right;
  doc.markContent('Artifact', { type: 'Layout' });
  SVGtoPDF(doc, EMBLEM, left, top, { width: 40, height: 48 });
  doc.endMarkedContent();
  add('P', () => doc.font('Helvetica-Bold').fontSize(14).fillColor('#17324d').text(m.provinceName, left + 52, top + 8, { width: right - left - 52 }));
  add('P', () => doc.font('Helvetica').fontSize(9).fillColor('#5c6f82').text('S.A.E.L. – Servizio Assistenza Enti Locali', left + 52, doc.y + 2, { width: right - left - 52 }));
  doc.markContent('Artifact', { type: 'Layout' });
  doc.moveTo(left, top + 58).lineTo(right, top + 58).lineWidth(2).strokeColor('#0066cc').stroke();
  doc.endMarkedContent();
  doc.fillColor('black').strokeColor('black');
  doc.x = left;
  doc.y = top + 72;
  add('H1', () => doc.font('Helvetica-Bold').fontSize(18).text('Richiesta di adesione ai servizi SAEL', left, doc.y));
  add('P', () =>
    doc
      .font('Helvetica')
      .fontSize(10)
      .fillColor('#444')
      .text(`Adesione n. ${m.adesioneId}${m.protocolNumber ? ` – protocollo ${m.protocolNumber}` : ' – bozza non ancora inviata'} – stato: ${m.statusLabel}`)
      .fillColor('black'),
  );
  doc.moveDown();
  const line = (label: string, value: string) => add('P', () => doc.font('Helvetica-Bold').fontSize(11).text(`${label}: `, { continued: true }).font('Helvetica').text(value || '—'));
  add('H2', () => doc.font('Helvetica-Bold').fontSize(13).text('Ente richiedente'));
  line('Ente', m.enteName);
  line('Codice fiscale', m.enteFiscalCode);
  doc.moveDown(0.5);
  add('H2', () => doc.font('Helvetica-Bold').fontSize(13).text('Servizio richiesto'));
  line('Servizio', `${m.serviceCode} – ${m.serviceName}`);
  line('Quantità', m.unitLabel ? `${m.quantity} (${m.unitLabel})` : String(m.quantity));
  line('Decorrenza richiesta', itDate(m.startDate));
  if (m.endDate) line('Scadenza', itDate(m.endDate));
  line('Rinnovo automatico', m.autoRenew ? 'Sì' : 'No');
  doc.moveDown(0.5);
  add('H2', () => doc.font('Helvetica-Bold').fontSize(13).text('Referente dell’ente'));
  line('Nome e cognome', m.referenteName);
  line('Ruolo', m.referenteRole);
  line('E-mail', m.email);
  line('Telefono', m.phone);
  doc.moveDown(0.5);
  add('H2', () => doc.font('Helvetica-Bold').fontSize(13).text('Note'));
  add('P', () => doc.font('Helvetica').fontSize(11).text(m.notes || '—'));
  doc.moveDown();
  add('P', () =>
    doc
      .font('Helvetica')
      .fontSize(9)
      .fillColor('#5c6f82')
      .text(`${m.submittedAt ? `Inviata il ${itDateTime(m.submittedAt)}. ` : ''}Documento generato il ${itDateTime(m.generatedAt)} dalla piattaforma dei servizi SAEL.`)
      .fillColor('black'),
  );
  root.end();
  doc.end();
  return done;
}
