/**
 * CSV import pages of the back office: upload (service, mode), the list of imports of the ente,
 * a progress page that survives reloads (server-side state; a small script polls the status
 * when JavaScript is on), the downloadable error report, the layout page ("Tracciato", rendered
 * from csv-layout.ts) and the template with example rows for the ente.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, desc, eq } from 'drizzle-orm';
import { HttpError } from '../../plugins/errors.js';
import { jobs } from '../../plugins/jobs/schema.js';
import { getEnte, getServiceByCode, listEnti, listIbans, listServices, type Ente } from '../enti/repository.js';
import { CSV_COLUMN_DOCS, CSV_LAYOUT_RULES, CSV_MAX_TRANSFERS, CSV_TEMPLATE_EXAMPLE_ROWS, csvTemplateWithExamples, type CsvTemplateContext } from '../positions/csv-layout.js';
import { todayInItaly } from '../positions/service.js';
import { IMPORT_JOB, IMPORT_MODES, importStatus, loadImportJob, storeUpload, UploadTooLargeError, type ImportInput } from '../positions/import-job.js';
import { enteParams, jobParams, operatorOfEnte } from './shared.js';


export default async function backofficeImports(app: FastifyInstance) {
  const operator = operatorOfEnte(app);
  const ente = async (request: FastifyRequest): Promise<Ente> => (await getEnte(app.db, (request.params as { enteId: number }).enteId))!;

  async function listPage(e: Ente, extra: Record<string, unknown> = {}) {
    const recent = (await app.db
          .select()
          .from(jobs)
          .where(and(eq(jobs.enteId, e.id), eq(jobs.kind, IMPORT_JOB)))
          .orderBy(desc(jobs.id))
          .limit(20))
      .map(importStatus);
    return {
      title: `Importazione CSV – ${e.name}`,
      ente: e,
      services: await listServices(app.db, e.id, { activeOnly: true }),
      recent,
      csrf: true,
      ...extra,
    };
  }

  app.get('/backoffice/enti/:enteId/importazioni', { preHandler: operator, schema: { params: enteParams } }, async (request, reply) =>
    reply.page('backoffice/imports', await listPage(await ente(request))),
  );

  /** What the template's example rows take from the ente: TARI (or its first service), its account, the province's TEFA account. */
  async function templateContext(e: Ente): Promise<CsvTemplateContext> {
    const services = await listServices(app.db, e.id, { activeOnly: true });
    const service = services.find((x) => x.code === 'TARI') ?? services[0] ?? null;
    const ibans = (await listIbans(app.db, e.id)).filter((i) => i.active);
    const iban = ibans.find((i) => i.id === service?.defaultIbanId) ?? ibans.find((i) => i.kind === 'bank') ?? ibans[0];
    const province = (await listEnti(app.db, { kind: 'provincia' })).find((p) => p.id !== e.id);
    const provinceIban = province ? (await listIbans(app.db, province.id)).find((i) => i.active && i.kind === 'bank') : undefined;
    return {
      today: todayInItaly(),
      service: service ? { code: service.code, name: service.name, taxonomyCode: service.taxonomyCode } : null,
      iban: iban?.iban ?? null,
      city: e.name.replace(/^Comune di /i, ''),
      province: province && provinceIban ? { fiscalCode: province.fiscalCode, iban: provinceIban.iban } : null,
    };
  }

  app.get('/backoffice/enti/:enteId/importazioni/tracciato', { preHandler: operator, schema: { params: enteParams } }, async (request, reply) => {
    const e = await ente(request);
    const ctx = await templateContext(e);
    return reply.page('backoffice/csv-layout', {
      title: `Tracciato CSV – ${e.name}`,
      ente: e,
      rules: CSV_LAYOUT_RULES,
      columns: CSV_COLUMN_DOCS,
      maxTransfers: CSV_MAX_TRANSFERS,
      services: await listServices(app.db, e.id, { activeOnly: true }),
      exampleRows: CSV_TEMPLATE_EXAMPLE_ROWS,
      tefa: ctx.service?.code === 'TARI' && ctx.province !== null,
    });
  });

  app.get('/backoffice/enti/:enteId/importazioni/modello.csv', { preHandler: operator, schema: { params: enteParams } }, async (request, reply) =>
    reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="modello-posizioni.csv"')
      .send(csvTemplateWithExamples(await templateContext(await ente(request)))),
  );

  app.post(
    '/backoffice/enti/:enteId/importazioni',
    {
      preHandler: operator,
      config: { upload: true },
      schema: { params: enteParams },
    },
    async (request, reply) => {
      const e = await ente(request);
      const fail = async (message: string) => reply.code(400).page('backoffice/imports', await listPage(e, { uploadError: message }));
      if (!request.isMultipart()) return await fail('Invia il file con il modulo di caricamento.');
      let stored: { file: string; sha256: string; bytes: number } | null = null;
      let originalName = '';
      const fields: Record<string, string> = {};
      try {
        for await (const part of request.parts()) {
          if (part.type === 'file') {
            if (stored) {
              part.file.resume();
              continue;
            }
            originalName = part.filename.slice(0, 200);
            stored = await storeUpload(app.config.dataDir, part.file, app.config.importMaxBytes);
            if (part.file.truncated) throw new UploadTooLargeError();
          } else if (typeof part.value === 'string') {
            fields[part.fieldname] = part.value.slice(0, 100);
          }
        }
      } catch (err) {
        if (stored) fs.rmSync(path.join(app.config.dataDir, stored.file), { force: true });
        if (err instanceof UploadTooLargeError || (err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
          return await fail(`Il file supera la dimensione massima di ${Math.round(app.config.importMaxBytes / 1048576)} MB: dividilo in più file.`);
        }
        throw err;
      }
      const mode = fields.mode as (typeof IMPORT_MODES)[number];
      const serviceCode = fields.serviceCode ? fields.serviceCode.toUpperCase() : null;
      const problems: string[] = [];
      if (!stored || stored.bytes === 0) problems.push('Scegli un file CSV non vuoto.');
      if (!IMPORT_MODES.includes(mode)) problems.push('Scegli come importare: solo le righe valide oppure tutto o niente.');
      if (serviceCode && !(await getServiceByCode(app.db, e.id, serviceCode))?.active) problems.push('Servizio inesistente o non attivo.');
      if (problems.length > 0) {
        if (stored) fs.rmSync(path.join(app.config.dataDir, stored.file), { force: true });
        return await fail(problems.join(' '));
      }
      const input: ImportInput = {
        file: stored!.file,
        sha256: stored!.sha256,
        originalName: originalName || 'file.csv',
        mode,
        serviceCode,
        maxRows: app.config.importMaxRows,
      };
      const id = await app.jobs.enqueue({ kind: IMPORT_JOB, enteId: e.id, requestedBy: `user:${request.user!.id}`, input: { ...input } });
      return reply.redirect(`/backoffice/enti/${e.id}/importazioni/${id}`, 303);
    },
  );

  app.get<{ Params: { enteId: number; jobId: number } }>(
    '/backoffice/enti/:enteId/importazioni/:jobId',
    { preHandler: operator, schema: { params: jobParams } },
    async (request, reply) => {
      const e = await ente(request);
      const status = importStatus(await loadImportJob(app, e.id, request.params.jobId));
      return reply.page('backoffice/import-status', {
        title: `Importazione ${status.fileName}`,
        ente: e,
        job: status,
        inProgress: status.status === 'queued' || status.status === 'running',
        statusUrl: `/backoffice/enti/${e.id}/importazioni/${status.id}/stato.json`,
      });
    },
  );

  app.get<{ Params: { enteId: number; jobId: number } }>(
    '/backoffice/enti/:enteId/importazioni/:jobId/stato.json',
    { preHandler: operator, schema: { params: jobParams } },
    async (request) => {
      const s = importStatus(await loadImportJob(app, request.params.enteId, request.params.jobId));
      return { id: s.id, status: s.status, phase: s.phase, done: s.done, total: s.total, percent: s.percent };
    },
  );

  app.get<{ Params: { enteId: number; jobId: number } }>(
    '/backoffice/enti/:enteId/importazioni/:jobId/errori.csv',
    { preHandler: operator, schema: { params: jobParams } },
    async (request, reply) => {
      const s = importStatus(await loadImportJob(app, request.params.enteId, request.params.jobId));
      if (!s.result?.reportFile) throw new HttpError(404, 'Questa importazione non ha errori da scaricare.');
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="errori-importazione-${s.id}.csv"`)
        .send(fs.createReadStream(path.join(app.config.dataDir, s.result.reportFile)));
    },
  );
}
