/**
 * Worker thread of {@link NoticeRenderPool}: warms up (renders a sample notice `workerData.warmup`
 * times), says `ready`, then renders batches of notices, answering each notice as soon as it is
 * done with its PDF as a transferred ArrayBuffer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { NoticeDataError, renderNoticePdf, type NoticeData } from './notice-pdf.js';
import type { RenderBatch, WorkerMessage } from './notice-pool.js';

const port = parentPort!;

/** NAV with aux digit 3, segregation code 00 and valid check digits. */
function sampleNav(base: number): string {
  const prefix = `300${String(base).padStart(13, '0')}`;
  return prefix + (BigInt(prefix) % 93n).toString().padStart(2, '0');
}

/**
 * Warm-up notices, never sent anywhere: mostly the common kind (rata unica with its Bollettino
 * Postale PA, one page), and every fourth one goes through the rest of the renderer (three
 * installments, each with its bollettino, on a second page).
 */
function sampleNotice(i: number): NoticeData {
  const full = i % 4 === 3;
  return {
    creditor: { name: 'Comune di Esempio', fiscalCode: '00000000000', sector: 'Servizio Tributi', info: 'www.comune.esempio.it · tel. 0874 000000', cbillCode: 'AAAAA', onlineChannel: 'website' },
    debtor: { fullName: `Cittadino Esempio ${i}`, fiscalCode: 'XXXXXX00X00X000X', address: 'Via Roma', buildingNumber: String(i), postalCode: '86100', city: 'Campobasso', province: 'CB' },
    subject: 'Tassa sui rifiuti (TARI) – avviso di esempio',
    singlePayment: { noticeNumber: sampleNav(i * 4), amountCents: 30000 + i, dueDate: '2030-12-31' },
    installments: full ? [1, 2, 3].map((n) => ({ installmentNumber: n, noticeNumber: sampleNav(i * 4 + n), amountCents: 10000 + n, dueDate: `2030-0${n}-28` })) : undefined,
    postalAccount: { accountNumber: '1234567', holderName: 'Comune di Esempio', authorization: 'AUT. DB/… da richiedere a Poste Italiane' },
  };
}

/** An ArrayBuffer holding exactly the bytes of `pdf`, safe to transfer. */
function ownBuffer(pdf: Buffer): ArrayBuffer {
  const ab = pdf.buffer;
  if (ab instanceof ArrayBuffer && pdf.byteOffset === 0 && pdf.byteLength === ab.byteLength) return ab;
  return new Uint8Array(pdf).buffer as ArrayBuffer;
}

async function renderBatch(batch: RenderBatch): Promise<void> {
  for (const task of batch.tasks) {
    let msg: WorkerMessage;
    try {
      const pdf = await renderNoticePdf(task.notice, { generatedAt: task.generatedAt });
      const ab = ownBuffer(pdf);
      port.postMessage({ type: 'done', id: task.id, pdf: ab } satisfies WorkerMessage, [ab]);
      continue;
    } catch (err) {
      msg = err instanceof NoticeDataError
        ? { type: 'failed', id: task.id, message: err.message, field: err.field }
        : { type: 'failed', id: task.id, message: (err as Error).message };
    }
    port.postMessage(msg);
  }
}

// Batches are rendered one after the other, in the order they came.
let chain: Promise<void> = (async () => {
  const rounds = Number((workerData as { warmup?: number }).warmup ?? 0);
  try {
    for (let i = 0; i < rounds; i++) await renderNoticePdf(sampleNotice(i), { generatedAt: '2030-01-01T00:00:00Z' });
  } catch {
    // A warm-up failure is not fatal: the real notices report their own errors.
  }
  port.postMessage({ type: 'ready' } satisfies WorkerMessage);
})();

port.on('message', (batch: RenderBatch) => {
  // Every task answers for itself; nothing may stop the batches after it.
  chain = chain.then(() => renderBatch(batch)).catch(() => undefined);
});
