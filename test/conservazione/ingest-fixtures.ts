/** Shared by the B2 ingest tests: a minimal PDF and XML, and a determina PdV. */
import { createHash } from 'node:crypto';
import type { IngestInput } from '../../src/modules/conservazione/ingest.js';

export const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');
export const XML = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<allegato><voce>Prospetto</voce></allegato>\n');
export const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function determina(enteId: number, key: string, over: Partial<IngestInput> = {}): IngestInput {
  return {
    enteId,
    profileCode: 'determina',
    objectKey: key,
    metadata: {
      Identificativo: key,
      TipologiaDocumentale: 'Determinazione',
      ModalitaDiFormazione: 'a',
      Oggetto: 'Affidamento del servizio di manutenzione',
      DataDocumento: '2026-03-01',
      NumeroDocumento: '12',
    },
    files: [
      { name: 'determina.pdf', role: 'principale', bytes: PDF, declaredSha256: sha(PDF), declaredMime: 'application/pdf' },
      { name: 'prospetto.xml', role: 'allegato', bytes: XML, declaredSha256: sha(XML) },
    ],
    source: 'api',
    ...over,
  };
}

