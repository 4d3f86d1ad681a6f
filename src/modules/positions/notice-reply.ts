/**
 * One notice as a PDF answer, the same for every face that offers it (back office, REST API,
 * personal area, the catalogue's charges): the notice data of the option, rendered, sent inline and
 * never cached; a notice that can no longer be printed (paid, cancelled, expired) is a 409.
 */
import type { FastifyReply } from 'fastify';
import type { DbLike } from '../../db/client.js';
import { HttpError } from '../../plugins/errors.js';
import type { Ente } from '../enti/repository.js';
import { renderNoticePdf } from '../notices/notice-pdf.js';
import { noticeDataFor, NoticeNotPrintableError } from './notice-data.js';
import type { OptionDetail, PositionDetail } from './repository.js';

export interface NoticeReply {
  db: DbLike;
  dataDir: string;
  ente: Ente;
  position: PositionDetail;
  option: OptionDetail;
  fileName: string;
  /** The 409's message; default: the renderer's own reason. */
  notPrintableMessage?: string;
}

export async function sendNoticePdf(reply: FastifyReply, n: NoticeReply): Promise<FastifyReply> {
  let pdf: Buffer;
  try {
    pdf = await renderNoticePdf(await noticeDataFor(n.db, n.ente, n.position, n.option, { dataDir: n.dataDir }));
  } catch (err) {
    if (err instanceof NoticeNotPrintableError) throw new HttpError(409, n.notPrintableMessage ?? err.message);
    throw err;
  }
  return reply.type('application/pdf').header('content-disposition', `inline; filename="${n.fileName}"`).header('cache-control', 'private, no-store').send(pdf);
}
