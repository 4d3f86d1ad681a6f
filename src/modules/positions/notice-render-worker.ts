/** Worker thread: renders notice PDFs on request ({ id, notice } → { id, pdf } or { id, error }). */
import { parentPort } from 'node:worker_threads';
import { renderNoticePdf, type NoticeData } from './notice-pdf.js';

parentPort!.on('message', (msg: { id: number; notice: NoticeData; generatedAt?: string }) => {
  renderNoticePdf(msg.notice, { generatedAt: msg.generatedAt }).then(
    (pdf) => {
      const bytes = new Uint8Array(pdf.buffer, pdf.byteOffset, pdf.byteLength);
      parentPort!.postMessage({ id: msg.id, pdf: bytes });
    },
    (err: Error) => parentPort!.postMessage({ id: msg.id, error: err.message }),
  );
});
