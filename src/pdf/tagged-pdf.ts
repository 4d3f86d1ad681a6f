/**
 * An accessible (tagged, PDF/UA-minded) A4 document as every PDF of the platform starts it:
 * PDF 1.7, tagged, Italian, the title shown in the viewer's title bar, a Document structure root,
 * and the bytes collected into one Buffer. Callers draw with `doc` and `add`, then `doc.end()`
 * and await `done`. pdfkit is loaded at the first document (lazy-packages.ts).
 */
import { loadPdfkit } from '../lazy-packages.js';

export interface TaggedPdfInfo {
  Title: string;
  Author: string;
  Subject: string;
  CreationDate: Date;
}

export interface TaggedPdf {
  doc: PDFKit.PDFDocument;
  /** Resolves with the whole file once `doc.end()` has been called. */
  done: Promise<Buffer>;
  root: PDFKit.PDFStructureElement;
  /** Adds a structure element of `type` (P, H1, Table, …) drawn by `draw` under the root. */
  add: (type: string, draw: () => void) => void;
}

export async function taggedPdf(info: TaggedPdfInfo, margin: number): Promise<TaggedPdf> {
  const PDFDocument = await loadPdfkit();
  const doc = new PDFDocument({ size: 'A4', margin, pdfVersion: '1.7', tagged: true, lang: 'it-IT', displayTitle: true, info: { ...info, Creator: 'sael-pay' } });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const root = doc.struct('Document');
  doc.addStructure(root);
  const add = (type: string, draw: () => void) => {
    root.add(doc.struct(type, {}, draw));
  };
  return { doc, done, root, add };
}
