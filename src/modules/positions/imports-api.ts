/**
 * CSV import through the API: `POST /api/v1/imports` with the file as the body (`text/csv`),
 * then `GET /api/v1/imports/{id}` for progress and report, `GET /api/v1/imports/{id}/errors.csv`.
 * Registered inside the positions API plugin, so the API key guard applies.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../../plugins/errors.js';
import { getServiceByCode } from '../enti/repository.js';
import { IMPORT_JOB, IMPORT_MODES, importStatus, loadImportJob, storeUpload, UploadTooLargeError, type ImportInput } from './import-job.js';
import { problemSchema } from './api-schemas.js';

const TAG = ['Importazione CSV'];
const statusOut = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    status: { type: 'string', enum: ['queued', 'running', 'done', 'failed'] },
    phase: { type: 'string' },
    done: { type: 'integer' },
    total: { type: 'integer' },
    percent: { type: 'integer' },
    fileName: { type: 'string' },
    mode: { type: 'string' },
    serviceCode: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    error: { type: ['string', 'null'] },
    result: {
      type: ['object', 'null'],
      properties: {
        outcome: { type: 'string', enum: ['refused', 'rejected', 'imported'] },
        rowCount: { type: 'integer' },
        validRows: { type: 'integer' },
        created: { type: 'integer' },
        unchanged: { type: 'integer' },
        errorCount: { type: 'integer', description: 'Errori trovati (una riga può averne più di uno)' },
        errorRows: { type: 'integer', description: 'Righe del file con almeno un errore' },
        rowsNotImported: { type: 'integer', description: 'Righe la cui posizione non è stata importata (per un errore su una delle sue righe)' },
        message: { type: 'string' },
        errors: {
          type: 'array',
          items: { type: 'object', properties: { row: { type: 'integer' }, iupd: { type: 'string' }, field: { type: 'string' }, message: { type: 'string' } } },
        },
      },
    },
  },
} as const;

export default async function importsApi(app: FastifyInstance) {
  app.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));

  app.post<{ Querystring: { mode: 'valid' | 'all'; serviceCode?: string; fileName?: string } }>(
    '/imports',
    {
      config: { csrf: false },
      schema: {
        tags: TAG,
        summary: 'Importa posizioni da un file CSV (corpo text/csv); l’elaborazione prosegue in background',
        security: [{ apiKey: [] }],
        consumes: ['text/csv'],
        querystring: {
          type: 'object',
          properties: {
            mode: { type: 'string', enum: [...IMPORT_MODES], default: 'valid', description: 'valid = importa le posizioni valide; all = tutto o niente' },
            serviceCode: { type: 'string', maxLength: 35, description: 'Servizio per le righe senza colonna «servizio»' },
            fileName: { type: 'string', maxLength: 200 },
          },
          additionalProperties: false,
        },
        response: { 202: statusOut, 400: problemSchema, 401: problemSchema, 413: problemSchema, 415: problemSchema },
      },
    },
    async (request, reply) => {
      if (!request.headers['content-type']?.startsWith('text/csv')) throw new HttpError(415, 'Invia il file CSV come corpo della richiesta con Content-Type: text/csv.');
      const enteId = request.apiClient!.enteId;
      const serviceCode = request.query.serviceCode?.toUpperCase() ?? null;
      if (serviceCode && !(await getServiceByCode(app.db, enteId, serviceCode))?.active) {
        throw new HttpError(400, 'Servizio inesistente o non attivo.', [{ field: 'querystring.serviceCode', message: 'servizio sconosciuto' }]);
      }
      let stored;
      try {
        stored = await storeUpload(app.config.dataDir, request.body as Readable, app.config.importMaxBytes);
      } catch (err) {
        if (err instanceof UploadTooLargeError) throw new HttpError(413, err.message);
        throw err;
      }
      if (stored.bytes === 0) {
        fs.rmSync(path.join(app.config.dataDir, stored.file), { force: true });
        throw new HttpError(400, 'Il file è vuoto.', [{ field: 'body', message: 'file vuoto' }]);
      }
      const input: ImportInput = {
        file: stored.file,
        sha256: stored.sha256,
        originalName: request.query.fileName ?? 'import.csv',
        mode: request.query.mode,
        serviceCode,
        maxRows: app.config.importMaxRows,
      };
      const id = await app.jobs.enqueue({ kind: IMPORT_JOB, enteId, requestedBy: `apikey:${request.apiClient!.keyId}`, input: { ...input } });
      return reply.code(202).header('location', `/api/v1/imports/${id}`).send(importStatus((await app.jobs.get(id))!));
    },
  );

  const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;

  app.get<{ Params: { id: number } }>(
    '/imports/:id',
    { schema: { tags: TAG, summary: 'Avanzamento ed esito di un’importazione', security: [{ apiKey: [] }], params: idParams, response: { 200: statusOut, 404: problemSchema } } },
    async (request) => importStatus(await loadImportJob(app, request.apiClient!.enteId, request.params.id)),
  );

  app.get<{ Params: { id: number } }>(
    '/imports/:id/errors.csv',
    { schema: { tags: TAG, summary: 'Rapporto completo degli errori (CSV)', security: [{ apiKey: [] }], params: idParams, produces: ['text/csv'] } },
    async (request, reply) => {
      const s = importStatus(await loadImportJob(app, request.apiClient!.enteId, request.params.id));
      if (!s.result?.reportFile) throw new HttpError(404, 'Questa importazione non ha errori da scaricare.');
      return reply.type('text/csv; charset=utf-8').send(fs.createReadStream(path.join(app.config.dataDir, s.result.reportFile)));
    },
  );
}
