/** Bulk printing of notices from the back office: start a job for the current list filter, follow it, download the ZIP. */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { and, eq } from 'drizzle-orm';
import { HttpError } from '../../plugins/errors.js';
import { jobs } from '../../plugins/jobs/schema.js';
import { getEnte } from '../enti/repository.js';
import { BULK_PRINT_JOB, SKIP_REASONS, type BulkPrintFilter, type BulkPrintResult, type SkipReason } from '../positions/bulk-print-job.js';
import { POSITION_STATUSES, type PositionStatus } from '../positions/schema.js';
import { enteParams, jobParams, operatorOfEnte } from './shared.js';


export default async function backofficePrints(app: FastifyInstance) {
  const operator = operatorOfEnte(app);

  async function loadJob(enteId: number, jobId: number) {
    const job = (await app.db.select().from(jobs).where(and(eq(jobs.id, jobId), eq(jobs.enteId, enteId), eq(jobs.kind, BULK_PRINT_JOB))).limit(1))[0];
    if (!job) throw new HttpError(404, 'Stampa non trovata per questo ente.');
    return { job, result: job.result ? (JSON.parse(job.result) as BulkPrintResult) : null };
  }

  app.post<{ Params: { enteId: number }; Body: Record<string, string | undefined> }>(
    '/backoffice/enti/:enteId/stampe',
    {
      preHandler: operator,
      schema: {
        params: enteParams,
        body: {
          type: 'object',
          properties: {
            _csrf: { type: 'string', maxLength: 200 },
            status: { type: 'string', enum: ['', ...POSITION_STATUSES] },
            service: { type: 'string', pattern: '^[0-9]*$', maxLength: 10 },
            debtor: { type: 'string', maxLength: 70 },
            dueFrom: { type: 'string', pattern: '^(\\d{4}-\\d{2}-\\d{2})?$' },
            dueTo: { type: 'string', pattern: '^(\\d{4}-\\d{2}-\\d{2})?$' },
            notice: { type: 'string', maxLength: 30 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const filter: BulkPrintFilter = {
        status: (b.status || undefined) as PositionStatus | undefined,
        serviceId: b.service ? Number(b.service) : undefined,
        debtor: b.debtor?.trim() || undefined,
        dueFrom: b.dueFrom || undefined,
        dueTo: b.dueTo || undefined,
        notice: b.notice?.trim() || undefined,
      };
      const id = await app.jobs.enqueue({ kind: BULK_PRINT_JOB, enteId: request.params.enteId, requestedBy: `user:${request.user!.id}`, input: { filter } });
      return reply.redirect(`/backoffice/enti/${request.params.enteId}/stampe/${id}`, 303);
    },
  );

  app.get<{ Params: { enteId: number; jobId: number } }>(
    '/backoffice/enti/:enteId/stampe/:jobId',
    { preHandler: operator, schema: { params: jobParams } },
    async (request, reply) => {
      const ente = (await getEnte(app.db, request.params.enteId))!;
      const { job, result } = await loadJob(ente.id, request.params.jobId);
      const inProgress = job.status === 'queued' || job.status === 'running';
      const percent = job.status === 'done' ? 100 : job.total > 0 ? Math.min(99, Math.floor((job.done * 100) / job.total)) : 0;
      const skipped = result?.skipped ?? {};
      const skippedTotal = Object.values(skipped).reduce((n, k) => n + (k ?? 0), 0);
      return reply.page('backoffice/print-status', {
        title: 'Stampa massiva degli avvisi',
        ente,
        job: { id: job.id, status: job.status, done: job.done, total: job.total, percent, error: job.error, phase: inProgress ? 'in corso' : job.status === 'done' ? 'completata' : 'non riuscita' },
        result,
        // Why positions of the filter have no notice in the ZIP: each reason with its count, then the first ones by name.
        skippedTotal,
        skippedReasons: (Object.keys(SKIP_REASONS) as SkipReason[]).filter((r) => skipped[r]).map((r) => ({ count: skipped[r], why: SKIP_REASONS[r].why })),
        skippedList: (result?.skippedList ?? []).map((p) => ({ ...p, reasonLabel: SKIP_REASONS[p.reason].one })),
        skippedMore: skippedTotal > (result?.skippedList?.length ?? 0),
        paidNote: result?.paidOptionsLeftOut
          ? `Negli avvisi delle posizioni pagate in parte ${result.paidOptionsLeftOut === 1 ? 'non compare 1 opzione già pagata' : `non compaiono ${result.paidOptionsLeftOut} opzioni già pagate`}: l’avviso riporta solo quelle ancora da pagare.`
          : null,
        inProgress,
        statusUrl: `/backoffice/enti/${ente.id}/stampe/${job.id}/stato.json`,
      });
    },
  );

  app.get<{ Params: { enteId: number; jobId: number } }>(
    '/backoffice/enti/:enteId/stampe/:jobId/stato.json',
    { preHandler: operator, schema: { params: jobParams } },
    async (request) => {
      const { job } = await loadJob(request.params.enteId, request.params.jobId);
      const percent = job.status === 'done' ? 100 : job.total > 0 ? Math.min(99, Math.floor((job.done * 100) / job.total)) : 0;
      return { id: job.id, status: job.status, phase: job.status, done: job.done, total: job.total, percent };
    },
  );

  app.get<{ Params: { enteId: number; jobId: number } }>(
    '/backoffice/enti/:enteId/stampe/:jobId/avvisi.zip',
    { preHandler: operator, schema: { params: jobParams } },
    async (request, reply) => {
      const { result } = await loadJob(request.params.enteId, request.params.jobId);
      if (!result?.file) throw new HttpError(404, 'Il file non è (ancora) disponibile.');
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="${path.basename(result.file)}"`)
        .send(fs.createReadStream(path.join(app.config.dataDir, result.file)));
    },
  );
}
