/**
 * `POST /api/v1/tesoreria/giornale-di-cassa`: a page of the treasurer's OPI Giornale di Cassa sent
 * by the ente's software (body: the XML, `Content-Type: application/xml`), with the ente's API key
 * (`Authorization: Bearer`), like the rest of /api/v1: the journal must be of the key's ente.
 * Same rules as the helpdesk upload (opi-import.ts): 200 with the outcome (journal imported, or
 * page kept until the others arrive, or page already received); 422 refused page, 409 conflict
 * with what is stored, each with the reasons in `errors`.
 */
import type { FastifyInstance } from 'fastify';
import { requireApiKey } from '../../plugins/api-key.js';
import { HttpError } from '../../plugins/errors.js';
import { withoutSessions } from '../../plugins/sessions/index.js';
import { problemSchema } from '../positions/api-schemas.js';
import { importOpiPage } from './opi-import.js';
import { MAX_OPI_BYTES, OPI_VERSIONS, type OpiVersion } from './opi-journal.js';
import { ReconError } from './reconcile.js';

const TAG = ['Tesoreria'];

const outcome = {
  type: 'object',
  properties: {
    esito: { type: 'string', enum: ['importato', 'in_attesa_di_pagine', 'pagina_gia_ricevuta'], description: 'importato: il giornale è completo ed è stato importato e riconciliato; in_attesa_di_pagine: pagina valida conservata finché arrivano le altre; pagina_gia_ricevuta: nulla è cambiato' },
    identificativoFlusso: { type: 'string', description: 'identificativo_flusso_BT del giornale' },
    versione: { type: 'string', enum: [...OPI_VERSIONS] },
    pagina: { type: 'integer' },
    pagineTotali: { type: 'integer' },
    pagineRicevute: { type: 'array', items: { type: 'integer' } },
    pagineMancanti: { type: 'array', items: { type: 'integer' } },
    importazione: {
      type: ['object', 'null'],
      description: 'Importazione del giornale completo (null finché mancano pagine)',
      properties: {
        id: { type: 'integer' },
        movimenti: { type: 'integer', description: 'Movimenti in entrata importabili del giornale' },
        nuovi: { type: 'integer' },
        giaPresenti: { type: 'integer', description: 'Già importati con gli stessi dati: ignorati' },
        abbinati: { type: 'integer' },
        inSospeso: { type: 'integer' },
        conErrore: { type: 'integer' },
      },
    },
    nonImportati: {
      type: 'array',
      description: 'Movimenti non importati di proposito (uscite, altri documenti, storni, regolarizzazioni, ripetuti) con il motivo',
      items: { type: 'object', properties: { movimento: { type: 'integer', description: 'Posizione nel giornale (da 1)' }, motivo: { type: 'string' } } },
    },
  },
} as const;

export default async function opiApi(app: FastifyInstance) {
  withoutSessions(app);
  if (!app.hasRequestDecorator('apiClient')) app.decorateRequest('apiClient', null);
  app.addHook('preHandler', requireApiKey);
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'buffer', bodyLimit: MAX_OPI_BYTES }, (_request, body, done) => done(null, body));

  app.post<{ Querystring: { versione?: OpiVersion; fileName?: string } }>(
    '/tesoreria/giornale-di-cassa',
    {
      bodyLimit: MAX_OPI_BYTES,
      config: { csrf: false },
      schema: {
        tags: TAG,
        summary: 'Invia una pagina del Giornale di Cassa OPI (SIOPE+) del tesoriere',
        description:
          `Corpo: il file XML della pagina (Content-Type: application/xml), versioni ${OPI_VERSIONS.join(', ')}, al massimo ${MAX_OPI_BYTES / 1048576} MB. ` +
          'La pagina è validata con lo schema XSD della sua versione (riconosciuta dal contenuto, oppure indicata con «versione») e deve essere dell’ente della chiave API. ' +
          'Le pagine di un giornale (stesso identificativo_flusso_BT, «pagina» di «pagine_totali») si inviano una per richiesta, in qualunque ordine: quando arriva l’ultima il giornale è importato per intero. ' +
          'Si importano le entrate eseguite (sospesi di entrata e reversali) e si riconciliano con la causale (identificativo del flusso di rendicontazione o IUV); i movimenti già importati con gli stessi dati sono ignorati. ' +
          'Una pagina non valida è rifiutata per intero (422), un conflitto con quanto già ricevuto dà 409: in entrambi i casi non si salva nulla e «errors» ne elenca i motivi.',
        security: [{ apiKey: [] }],
        consumes: ['application/xml'],
        querystring: {
          type: 'object',
          properties: {
            versione: { type: 'string', enum: [...OPI_VERSIONS], description: 'Versione OPI dichiarata (se assente è riconosciuta dal file)' },
            fileName: { type: 'string', maxLength: 200, description: 'Nome del file, per il registro' },
          },
          additionalProperties: false,
        },
        response: { 200: outcome, 400: problemSchema, 401: problemSchema, 409: problemSchema, 413: problemSchema, 415: problemSchema, 422: problemSchema },
      },
    },
    async (request) => {
      if (!/^(application|text)\/xml\b/.test(request.headers['content-type'] ?? '')) throw new HttpError(415, 'Invia la pagina del giornale come corpo della richiesta con Content-Type: application/xml.');
      const bytes = request.body as Buffer;
      if (!bytes?.length) throw new HttpError(400, 'Il corpo della richiesta è vuoto.', [{ field: 'body', message: 'file vuoto' }]);
      const client = request.apiClient!;
      try {
        const res = await importOpiPage(
          { db: app.db },
          { enteId: client.enteId, bytes, fileName: request.query.fileName ?? 'giornale-di-cassa.xml', actor: `apikey:${client.keyId}`, requestId: request.id, version: request.query.versione },
        );
        const x = res.result;
        return {
          esito: res.status === 'imported' ? 'importato' : res.status === 'waiting' ? 'in_attesa_di_pagine' : 'pagina_gia_ricevuta',
          identificativoFlusso: res.flowId,
          versione: res.version,
          pagina: res.page,
          pagineTotali: res.totalPages,
          pagineRicevute: res.pagesReceived,
          pagineMancanti: res.missingPages,
          importazione: x ? { id: x.importId, movimenti: x.movements, nuovi: x.newMovements, giaPresenti: x.alreadyKnown, abbinati: x.matched, inSospeso: x.parked, conErrore: x.errors } : null,
          nonImportati: (x?.skipped ?? res.skipped).map((s) => ({ movimento: s.line, motivo: s.reason })),
        };
      } catch (e) {
        if (e instanceof ReconError) {
          throw new HttpError(
            e.status,
            e.message,
            e.problems.slice(0, 500).map((p) => ({ field: p.line ? `${p.field} (riga/movimento ${p.line})` : p.field, message: p.message })),
          );
        }
        throw e;
      }
    },
  );
}
