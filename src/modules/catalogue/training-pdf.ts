/**
 * "Attestato di partecipazione" of a training session: a pure renderer (no database, no clock:
 * the issue date is passed in). Tagged PDF, lang it-IT, title displayed, so screen readers and
 * text extraction (pdftotext) read it in order. Only attended enrolments get one (the routes
 * check it); the certificate number is the enrolment's.
 */
import { taggedPdf } from '../../pdf/tagged-pdf.js';

export interface CertificateData {
  certificateNumber: string;
  participantName: string;
  participantRole: string | null;
  enteName: string;
  title: string;
  topic: string;
  speakers: string;
  /** "martedì 15 dicembre 2026, 09:30–13:00" */
  when: string;
  where: string;
  hours: number;
  issuedAt: Date;
  provinceName: string;
}

const DATE_IT = new Intl.DateTimeFormat('it-IT', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/Rome' });

/** Duration in hours with one decimal at most, the Italian way ("3,5"). */
export function hoursLabel(hours: number): string {
  return new Intl.NumberFormat('it-IT', { maximumFractionDigits: 1 }).format(hours);
}

export async function renderCertificatePdf(c: CertificateData): Promise<Buffer> {
  const { doc, done, root, add } = await taggedPdf({ Title: `Attestato di partecipazione n. ${c.certificateNumber}`, Author: `S.A.E.L. – ${c.provinceName}`, Subject: c.title, CreationDate: c.issuedAt }, 64);
  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;
  doc.markContent('Artifact', { type: 'Layout' });
  doc.rect(32, 32, doc.page.width - 64, doc.page.height - 64).lineWidth(3).strokeColor('#0066cc').stroke();
  doc.endMarkedContent();
  doc.fillColor('#17324d');
  add('P', () => doc.font('Helvetica-Bold').fontSize(13).text(c.provinceName, left, 80, { width, align: 'center' }));
  add('P', () => doc.font('Helvetica').fontSize(11).text('S.A.E.L. – Servizio Assistenza Enti Locali', { width, align: 'center' }));
  doc.moveDown(3);
  add('H1', () => doc.font('Helvetica-Bold').fontSize(26).fillColor('#0066cc').text('Attestato di partecipazione', { width, align: 'center' }));
  add('P', () => doc.font('Helvetica').fontSize(10).fillColor('#5c6f82').text(`Attestato n. ${c.certificateNumber}`, { width, align: 'center' }));
  doc.fillColor('black').moveDown(2.5);
  add('P', () => doc.font('Helvetica').fontSize(12).text('Si attesta che', { width, align: 'center' }));
  doc.moveDown(0.6);
  add('P', () => doc.font('Helvetica-Bold').fontSize(20).text(c.participantName, { width, align: 'center' }));
  doc.moveDown(0.4);
  add('P', () =>
    doc
      .font('Helvetica')
      .fontSize(12)
      .text(`${c.participantRole ? `${c.participantRole} – ` : ''}${c.enteName}`, { width, align: 'center' }),
  );
  doc.moveDown(1.2);
  add('P', () => doc.font('Helvetica').fontSize(12).text('ha partecipato alla sessione di formazione', { width, align: 'center' }));
  doc.moveDown(0.6);
  add('P', () => doc.font('Helvetica-Bold').fontSize(16).text(c.title, { width, align: 'center' }));
  doc.moveDown(2);
  const line = (label: string, value: string) => add('P', () => doc.font('Helvetica-Bold').fontSize(11).text(`${label}: `, left + 40, doc.y, { continued: true, width: width - 80 }).font('Helvetica').text(value));
  line('Argomento', c.topic);
  line('Data', c.when);
  if (c.where) line('Luogo', c.where);
  line('Durata', `${hoursLabel(c.hours)} ore`);
  if (c.speakers) line('Relatori', c.speakers);
  doc.moveDown(3);
  add('P', () => doc.font('Helvetica').fontSize(11).text(`Campobasso, ${DATE_IT.format(c.issuedAt)}`, left, doc.y, { width, align: 'left' }));
  doc.moveDown(0.4);
  add('P', () => doc.font('Helvetica').fontSize(11).text('Il responsabile del S.A.E.L.', { width, align: 'right' }));
  add('P', () =>
    doc
      .font('Helvetica')
      .fontSize(8)
      .fillColor('#5c6f82')
      .text('Attestato generato dalla piattaforma SAEL sulla base del registro presenze; il numero identifica la partecipazione registrata.', left, doc.page.height - 110, { width, align: 'center' }),
  );
  root.end();
  doc.end();
  return done;
}
