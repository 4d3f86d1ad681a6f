/**
 * The infopoint's blank paper forms (seed item 10, "modulistica istituzionale per l'adesione al
 * S.A.E.L. e per la richiesta dei servizi specialistici"): a pure renderer, no database, no clock.
 * Each form has labelled lines and boxes to fill in by hand, the services as tick boxes, and the
 * office to send it to. Tagged PDF (headings and paragraphs; the lines and boxes are artifacts),
 * lang it-IT, title displayed.
 */
import { taggedPdf } from '../../pdf/tagged-pdf.js';

export interface ModuloService {
  code: string;
  name: string;
  kindLabel: string;
}

export interface ModuloOffice {
  name: string;
  address: string;
  email: string | null;
  pec: string | null;
}

const BLUE = '#0066cc';
const DARK = '#17324d';
const GREY = '#5c6f82';

async function start(title: string, subject: string) {
  const { doc, done, add } = await taggedPdf({ Title: title, Author: 'Provincia di Campobasso – S.A.E.L.', Subject: subject, CreationDate: new Date(0) }, 50);
  const left = doc.page.margins.left;
  const right = doc.page.width - doc.page.margins.right;
  const bottom = () => doc.page.height - doc.page.margins.bottom;
  const artifact = (draw: () => void) => {
    doc.markContent('Artifact', { type: 'Layout' });
    draw();
    doc.endMarkedContent();
  };
  /** Room for `h` points more, else a new page. */
  const need = (h: number) => {
    if (doc.y + h > bottom()) {
      doc.addPage();
      doc.y = doc.page.margins.top;
    }
  };
  const header = (heading: string, intro: string) => {
    const top = doc.page.margins.top;
    add('P', () => doc.font('Helvetica-Bold').fontSize(13).fillColor(DARK).text('Provincia di Campobasso', left, top));
    add('P', () => doc.font('Helvetica').fontSize(9).fillColor(GREY).text('Servizio Assistenza Enti Locali (S.A.E.L.)'));
    artifact(() => doc.moveTo(left, doc.y + 6).lineTo(right, doc.y + 6).lineWidth(2).strokeColor(BLUE).stroke());
    doc.fillColor('black').strokeColor('black').lineWidth(0.6);
    doc.x = left;
    doc.y += 18;
    add('H1', () => doc.font('Helvetica-Bold').fontSize(17).text(heading, left, doc.y));
    add('P', () => doc.font('Helvetica').fontSize(9.5).fillColor('#333').text(intro, { width: right - left }).fillColor('black'));
    doc.moveDown(0.6);
  };
  /** A label followed by a line to write on (`width` share of the line: 1 = to the right margin). */
  const field = (label: string, opts: { x?: number; width?: number; sameRow?: boolean } = {}) => {
    need(26);
    const x = opts.x ?? left;
    const w = (right - left) * (opts.width ?? 1);
    const y = doc.y;
    add('P', () => doc.font('Helvetica').fontSize(9).fillColor(GREY).text(label, x, y, { width: w - 8 }).fillColor('black'));
    // The writing line sits 12 pt under the label, however many lines the label took.
    const lineY = Math.max(doc.y + 12, y + 22);
    artifact(() =>
      doc
        .moveTo(x, lineY)
        .lineTo(x + w - 8, lineY)
        .strokeColor('#999')
        .stroke()
        .strokeColor('black'),
    );
    if (!opts.sameRow) {
      doc.x = left;
      doc.y = lineY + 6;
    }
    return lineY + 6;
  };
  /** Two or three fields on one row. */
  const row = (labels: string[]) => {
    need(30);
    const y = doc.y;
    const share = 1 / labels.length;
    let end = y + 28;
    labels.forEach((l, i) => {
      doc.y = y;
      end = Math.max(end, field(l, { x: left + (right - left) * share * i, width: share, sameRow: true }));
    });
    doc.x = left;
    doc.y = end;
  };
  const box = (x: number, y: number) => artifact(() => doc.rect(x, y, 9, 9).strokeColor('#333').stroke().strokeColor('black'));
  /** Tick boxes, one per item; with `quantity` a "quantità ____" column on the right. */
  const checks = (items: string[], opts: { quantity?: boolean } = {}) => {
    const qty = opts.quantity ? 96 : 0;
    for (const it of items) {
      need(18);
      const y = doc.y;
      box(left, y);
      add('P', () => doc.font('Helvetica').fontSize(9.5).text(it, left + 16, y, { width: right - left - 16 - qty }));
      const end = doc.y;
      if (qty) add('P', () => doc.font('Helvetica').fontSize(9).fillColor(GREY).text('quantità ______', right - qty + 8, y, { width: qty - 8 }).fillColor('black'));
      doc.x = left;
      doc.y = Math.max(end, y + 14) + 3;
    }
  };
  const writingBox = (label: string, lines: number) => {
    need(20 + lines * 20);
    add('P', () => doc.font('Helvetica').fontSize(9).fillColor(GREY).text(label, left, doc.y).fillColor('black'));
    const y = doc.y + 4;
    artifact(() => {
      doc.rect(left, y, right - left, lines * 20).strokeColor('#999').stroke();
      for (let i = 1; i < lines; i++) doc.moveTo(left + 6, y + i * 20).lineTo(right - 6, y + i * 20).strokeColor('#ddd').stroke();
      doc.strokeColor('black');
    });
    doc.x = left;
    doc.y = y + lines * 20 + 10;
  };
  const h2 = (text: string) => {
    need(40);
    doc.moveDown(0.4);
    add('H2', () => doc.font('Helvetica-Bold').fontSize(12).fillColor(DARK).text(text, left, doc.y).fillColor('black'));
    doc.moveDown(0.3);
  };
  const note = (text: string) => {
    need(30);
    add('P', () => doc.font('Helvetica').fontSize(8.5).fillColor('#333').text(text, left, doc.y, { width: right - left }).fillColor('black'));
    doc.moveDown(0.4);
  };
  const signature = () => {
    need(70);
    doc.moveDown(0.6);
    row(['Luogo e data', 'Timbro dell’ente e firma (legale rappresentante o delegato)']);
  };
  const sendTo = (office: ModuloOffice | null) => {
    if (!office) return;
    const contacts = [office.pec ? `PEC ${office.pec}` : null, office.email ? `e-mail ${office.email}` : null].filter(Boolean).join(', ');
    note(`Inviare il modulo compilato e firmato a: ${office.name}, ${office.address}${contacts ? ` – ${contacts}` : ''}.`);
  };
  return { doc, done, field, row, checks, writingBox, h2, note, header, signature, sendTo };
}

/** "Modulo di adesione ai servizi del S.A.E.L.": the ente, its referente, the services ticked. */
export async function renderAdesioneModulo(services: ModuloService[], office: ModuloOffice | null): Promise<Buffer> {
  const f = await start('Modulo di adesione ai servizi del S.A.E.L.', 'Adesione di un ente ai servizi del Servizio Assistenza Enti Locali');
  f.header(
    'Modulo di adesione ai servizi del S.A.E.L.',
    'L’ente indicato chiede di aderire ai servizi del Servizio Assistenza Enti Locali della Provincia di Campobasso segnati qui sotto. I servizi specialistici a listino richiedono la convenzione con la Provincia in vigore e l’approvazione del S.A.E.L.; il prezzo è quello del listino in vigore alla data dell’approvazione. Gli enti con accesso all’area riservata possono inviare la stessa richiesta online dalla pagina di ciascun servizio.',
  );
  f.h2('Ente richiedente');
  f.field('Denominazione dell’ente');
  f.row(['Codice fiscale', 'Codice IPA', 'Abitanti']);
  f.field('Indirizzo della sede');
  f.h2('Referente per il S.A.E.L.');
  f.row(['Nome e cognome', 'Qualifica o ufficio']);
  f.row(['Telefono', 'E-mail', 'PEC dell’ente']);
  f.h2('Servizi richiesti');
  f.note('Segna i servizi; per quelli a unità (caselle PEC, kit di firma, certificati…) scrivi accanto la quantità.');
  f.checks(
    services.map((s) => `${s.code}) ${s.name} – ${s.kindLabel}`),
    { quantity: true },
  );
  f.h2('Atto dell’ente');
  f.row(['Delibera o determina n.', 'del (data)', 'Convenzione con la Provincia: sì / no']);
  f.writingBox('Note', 3);
  f.signature();
  f.sendTo(office);
  f.note('I dati personali sono trattati dalla Provincia di Campobasso solo per gestire l’adesione e i servizi richiesti (Regolamento UE 2016/679).');
  f.doc.end();
  return f.done;
}

/** "Modulo di richiesta di un servizio specialistico": one request under an adesione. */
export async function renderRichiestaModulo(services: ModuloService[], office: ModuloOffice | null): Promise<Buffer> {
  const f = await start('Modulo di richiesta di intervento o servizio specialistico', 'Richiesta di un ente aderente al S.A.E.L.');
  f.header(
    'Modulo di richiesta di intervento o servizio specialistico',
    'Per gli enti che hanno un’adesione attiva al servizio. La richiesta diventa un ticket dell’helpdesk con i tempi di servizio (presa in carico e risoluzione) del servizio scelto e conta fra le unità incluse nell’adesione. Chi ha accesso all’area riservata può aprirla online dalla pagina del servizio, con il numero del ticket subito.',
  );
  f.h2('Ente e referente');
  f.field('Denominazione dell’ente');
  f.row(['Nome e cognome del richiedente', 'Ufficio']);
  f.row(['Telefono', 'E-mail']);
  f.h2('Servizio');
  f.note('Segna un solo servizio, fra quelli a cui l’ente ha aderito.');
  f.checks(services.map((s) => `${s.code}) ${s.name}`));
  f.field('Tipo di richiesta (per esempio: intervento hardware, installazione software, parere)');
  f.h2('Richiesta');
  f.field('Oggetto');
  f.writingBox('Descrizione: che cosa serve, dove (ufficio, postazione), a chi rivolgersi e quando', 8);
  f.note('Priorità:');
  f.checks(['Bassa', 'Media', 'Alta']);
  f.signature();
  f.sendTo(office);
  f.doc.end();
  return f.done;
}
