/**
 * Versamento in conservazione (issue #16 item 2) on the web:
 * - REST for the ente's software, authenticated by the ente's API key like every /api/v1 route:
 *   `POST /api/v1/conservazione/pdv` (JSON with the files in base64; 201 + esito + RdV when
 *   accepted, 422 + esito when rejected), `GET /api/v1/conservazione/pdv/:id` (the key's own
 *   ente only: any other id is 404) and `GET /api/v1/conservazione/pdv/:id/rdv` (the RdV XML).
 *   Body limit {@link PDV_JSON_MAX_BYTES} (40 MiB: base64 inflates by 4/3, so about 29 MiB of
 *   files per PdV; larger documents are split into annexes or sent by the back office).
 * - The back-office upload `/backoffice/enti/:enteId/conservazione/versamento`: a form (profile,
 *   Allegato 5 metadata, main file + annexes), multipart POST (the SHA-256 is computed here, on
 *   the bytes received) → result page with the esito table and the RdV download
 *   (`…/versamento/:id/rdv.xml`). For the ente's operators and referenti, and the SAEL admin.
 * Every RdV download is an 'access' event of the conservazione log.
 */
import { createHash } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireApiKey } from '../../plugins/api-key.js';
import { hasRole, requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { withoutSessions } from '../../plugins/sessions/index.js';
import { enteFromParams } from '../catalogue/ente-guard.js';
import { getEnte } from '../enti/repository.js';
import { CHECK_KINDS, CHECK_OUTCOMES, ESITO_CODES, type Esito } from './checks/esito.js';
import { appendEvent } from './events.js';
import { ingestSip, type IngestResult, type SipFileInput, type SipFileRole } from './ingest.js';
import { MODALITA_DI_FORMAZIONE } from './pindex.js';
import { listProfiles } from './profiles.js';
import { consRdv, consSipFiles, consSips, consProfiles, type Submitter } from './schema.js';
import { problemSchema } from '../positions/api-schemas.js';
import { newPdaVersion, PdaError } from './pda.js';

const TAG = ['Conservazione'];
/** JSON body limit of POST /api/v1/conservazione/pdv. */
export const PDV_JSON_MAX_BYTES = 40 * 1024 * 1024;
/** Back-office upload: per file, and files per PdV (main + annexes). */
export const PDV_UPLOAD_FILE_MAX_BYTES = 25 * 1024 * 1024;
export const PDV_MAX_FILES = 20;
const ROLES = ['principale', 'allegato', 'annesso'] as const;

const codesDoc = Object.entries(ESITO_CODES)
  .map(([c, d]) => `- \`${c}\`: ${d}`)
  .join('\n');


const esitoSchema = {
  type: 'object',
  description: `Esito dei controlli, un elemento per controllo. Codici:\n${codesDoc}`,
  properties: {
    code: { type: 'string', enum: ['OK', 'KO'] },
    message: { type: 'string' },
    checks: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          check: { type: 'string', enum: [...CHECK_KINDS] },
          outcome: { type: 'string', enum: [...CHECK_OUTCOMES] },
          code: { type: 'string', enum: Object.keys(ESITO_CODES) },
          message: { type: 'string' },
          file: { type: 'string' },
        },
        required: ['check', 'outcome', 'code', 'message'],
      },
    },
  },
  required: ['code', 'message', 'checks'],
} as const;

const fileOut = {
  type: 'object',
  properties: {
    ordinale: { type: 'integer' },
    nome: { type: 'string' },
    ruolo: { type: 'string', enum: [...ROLES] },
    impronta: { type: 'string', description: 'SHA-256 ricalcolato (esadecimale)' },
    improntaDichiarata: { type: 'string' },
    dimensione: { type: 'integer' },
    mime: { type: ['string', 'null'], description: 'Formato riconosciuto dal contenuto' },
    idoneita: { type: ['string', 'null'], enum: ['IDONEO', 'GESTITO', 'DEPRECATO', null] },
    firma: { type: ['object', 'null'], additionalProperties: true },
    conservato: { type: 'boolean' },
  },
} as const;

const pdvOut = {
  type: 'object',
  properties: {
    id: { type: ['integer', 'null'] },
    urn: { type: ['string', 'null'] },
    stato: { type: 'string', enum: ['accepted', 'rejected'] },
    profilo: { type: 'string' },
    identificativo: { type: 'string' },
    ricevutoIl: { type: 'string' },
    metadati: { type: 'object', additionalProperties: true },
    esito: esitoSchema,
    files: { type: 'array', items: fileOut },
    rdv: {
      type: ['object', 'null'],
      properties: { urn: { type: 'string' }, url: { type: 'string' }, xml: { type: 'string', description: 'Il rapporto di versamento (XML, ParER RapportoVersamento)' } },
    },
    ticketId: { type: ['integer', 'null'], description: 'Segnalazione aperta al terzo rifiuto dello stesso documento' },
  },
} as const;

const pdvBody = {
  type: 'object',
  required: ['profilo', 'identificativo', 'metadati', 'files'],
  additionalProperties: false,
  properties: {
    profilo: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,49}$', description: 'Codice del profilo di conservazione (es. determina)' },
    identificativo: { type: 'string', minLength: 1, maxLength: 200, description: 'Identificativo del documento nell’ente (chiave per i tentativi ripetuti)' },
    metadati: {
      type: 'object',
      maxProperties: 50,
      additionalProperties: true,
      description: 'Metadati Allegato 5 (Identificativo, TipologiaDocumentale, ModalitaDiFormazione a|b|c|d, Oggetto, DataDocumento AAAA-MM-GG, NumeroDocumento, …)',
    },
    files: {
      type: 'array',
      minItems: 1,
      maxItems: PDV_MAX_FILES,
      items: {
        type: 'object',
        required: ['nome', 'ruolo', 'impronta', 'contenuto'],
        additionalProperties: false,
        properties: {
          nome: { type: 'string', minLength: 1, maxLength: 200 },
          ruolo: { type: 'string', enum: [...ROLES] },
          impronta: { type: 'string', pattern: '^[0-9a-fA-F]{64}$', description: 'SHA-256 del file (esadecimale)' },
          mime: { type: 'string', maxLength: 100 },
          contenuto: { type: 'string', description: 'Il file in base64' },
        },
      },
    },
  },
} as const;

interface PdvBody {
  profilo: string;
  identificativo: string;
  metadati: Record<string, unknown>;
  files: { nome: string; ruolo: SipFileRole; impronta: string; mime?: string; contenuto: string }[];
}

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}\s*$/;

function decodeFiles(body: PdvBody): SipFileInput[] {
  const errors = body.files.flatMap((f, i) => (BASE64.test(f.contenuto) ? [] : [{ field: `body.files[${i}].contenuto`, message: 'non è base64 valido' }]));
  const principali = body.files.filter((f) => f.ruolo === 'principale').length;
  if (principali !== 1) errors.push({ field: 'body.files', message: `serve esattamente un file con ruolo «principale» (trovati ${principali})` });
  if (errors.length) throw new HttpError(400, `Richiesta non valida: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors);
  // The main file first, then annexes in the order given.
  const ordered = [...body.files.filter((f) => f.ruolo === 'principale'), ...body.files.filter((f) => f.ruolo !== 'principale')];
  return ordered.map((f) => ({ name: f.nome, role: f.ruolo, bytes: Buffer.from(f.contenuto, 'base64'), declaredSha256: f.impronta.toLowerCase(), ...(f.mime ? { declaredMime: f.mime } : {}) }));
}

/** A stored PdV in the API shape (null when not of this ente). */
async function pdvView(app: FastifyInstance, enteId: number, id: number) {
  const row = (await app.db
      .select({ sip: consSips, profileCode: consProfiles.code })
      .from(consSips)
      .innerJoin(consProfiles, eq(consProfiles.id, consSips.profileId))
      .where(and(eq(consSips.id, id), eq(consSips.enteId, enteId))).limit(1))[0];
  if (!row) return null;
  const files = await app.db.select().from(consSipFiles).where(eq(consSipFiles.sipId, id)).orderBy(asc(consSipFiles.ordinal));
  const rdv = (await app.db.select({ urn: consRdv.urn, xml: consRdv.xml }).from(consRdv).where(eq(consRdv.sipId, id)).limit(1))[0];
  return {
    id: row.sip.id,
    urn: row.sip.urn,
    stato: row.sip.status,
    profilo: row.profileCode,
    identificativo: row.sip.objectKey,
    ricevutoIl: row.sip.receivedAt,
    metadati: JSON.parse(row.sip.metadata) as Record<string, unknown>,
    esito: JSON.parse(row.sip.esito) as Esito,
    files: files.map((f) => ({
      ordinale: f.ordinal,
      nome: f.name,
      ruolo: f.role,
      impronta: f.actualSha256,
      improntaDichiarata: f.declaredSha256,
      dimensione: f.sizeBytes,
      mime: f.mime,
      idoneita: f.suitability,
      firma: f.signature ? (JSON.parse(f.signature) as Record<string, unknown>) : null,
      conservato: f.storageKey !== null,
    })),
    rdv: rdv ? { urn: rdv.urn, url: `/api/v1/conservazione/pdv/${id}/rdv` } : null,
    ticketId: row.sip.ticketId,
  };
}

/** The RdV of a PdV of this ente, logged as an 'access' event; 404 otherwise. */
async function rdvFor(app: FastifyInstance, enteId: number, sipId: number, actor: string): Promise<{ urn: string; xml: string }> {
  const rdv = (await app.db
      .select({ urn: consRdv.urn, xml: consRdv.xml })
      .from(consRdv)
      .innerJoin(consSips, eq(consSips.id, consRdv.sipId))
      .where(and(eq(consRdv.sipId, sipId), eq(consSips.enteId, enteId))).limit(1))[0];
  if (!rdv) throw new HttpError(404, 'Rapporto di versamento non trovato: il pacchetto non esiste, non è di questo ente o è stato rifiutato.');
  await appendEvent(app.db, { kind: 'access', enteId, actor, subject: `sip:${sipId}`, details: { what: 'rdv', urn: rdv.urn } }, app.conservazione.now());
  return rdv;
}

const rdvFileName = (urn: string) => `${urn.replace(/[^A-Za-z0-9._-]+/g, '_')}.xml`;

// ---------------------------------------------------------------- back-office form

const ALLEGATO5_FIELDS = ['identificativo', 'oggetto', 'dataDocumento', 'numeroDocumento', 'modalita', 'flusso', 'paroleChiave', 'riservato', 'note', 'profilo'] as const;
type UploadForm = Partial<Record<(typeof ALLEGATO5_FIELDS)[number] | '_csrf', string>>;

interface UploadedFile {
  field: string;
  name: string;
  mime: string;
  bytes: Buffer;
}

interface UploadData {
  fields: UploadForm;
  files: UploadedFile[];
  tooLarge: string[];
  tooMany: boolean;
}

async function readUpload(request: FastifyRequest): Promise<UploadData> {
  if (!request.isMultipart()) throw new HttpError(400, 'Invia il modulo con i file (multipart/form-data).');
  const out: UploadData = { fields: {}, files: [], tooLarge: [], tooMany: false };
  // throwFileSizeLimit (read per request by @fastify/multipart, missing from its option type): a file
  // over the limit is marked truncated, so the form comes back with the message instead of a bare 413.
  const options = { limits: { fileSize: PDV_UPLOAD_FILE_MAX_BYTES, files: PDV_MAX_FILES + 1, fields: 20 }, throwFileSizeLimit: false };
  for await (const part of request.parts(options)) {
    if (part.type === 'file') {
      const chunks: Buffer[] = [];
      for await (const c of part.file) chunks.push(c as Buffer);
      if (part.file.truncated) out.tooLarge.push(part.filename || part.fieldname);
      else if (chunks.length && part.filename) {
        if (out.files.length >= PDV_MAX_FILES) out.tooMany = true;
        else out.files.push({ field: part.fieldname, name: part.filename, mime: part.mimetype, bytes: Buffer.concat(chunks) });
      }
    } else if (typeof part.value === 'string' && (ALLEGATO5_FIELDS as readonly string[]).concat('_csrf').includes(part.fieldname)) {
      (out.fields as Record<string, string>)[part.fieldname] = part.value.slice(0, 5000);
    }
  }
  return out;
}

const MODALITA_OPTIONS = Object.entries(MODALITA_DI_FORMAZIONE).map(([value, text]) => ({ value, label: `${value}) ${text.length > 90 ? `${text.slice(0, 87)}…` : text}` }));
const FLUSSO_OPTIONS = [
  { value: '', label: 'Non indicato' },
  { value: 'E', label: 'E – in entrata' },
  { value: 'U', label: 'U – in uscita' },
  { value: 'I', label: 'I – interno' },
];

/** Validates the form; returns Italian messages per field, or the ingest input pieces. */
function validateUpload(data: UploadData, profileCodes: string[]) {
  const f = data.fields;
  const errors: Record<string, string> = {};
  const t = (s: string | undefined) => (s ?? '').trim();
  if (!profileCodes.includes(t(f.profilo))) errors.profilo = 'Scegli il profilo di conservazione.';
  if (!t(f.identificativo)) errors.identificativo = 'Indica l’identificativo del documento (es. il numero di protocollo o di registro).';
  else if (t(f.identificativo).length > 200) errors.identificativo = 'L’identificativo può avere al massimo 200 caratteri.';
  if (!t(f.oggetto)) errors.oggetto = 'Indica l’oggetto del documento.';
  else if (t(f.oggetto).length > 1000) errors.oggetto = 'L’oggetto può avere al massimo 1000 caratteri.';
  const date = t(f.dataDocumento);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date) {
    errors.dataDocumento = 'Indica la data del documento (giorno, mese e anno).';
  }
  if (t(f.numeroDocumento).length > 50) errors.numeroDocumento = 'Il numero può avere al massimo 50 caratteri.';
  if (!(t(f.modalita) in MODALITA_DI_FORMAZIONE)) errors.modalita = 'Scegli la modalità di formazione del documento.';
  if (t(f.flusso) && !['E', 'U', 'I'].includes(t(f.flusso))) errors.flusso = 'Scegli il tipo di flusso fra quelli proposti.';
  const keywords = t(f.paroleChiave)
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (keywords.length > 5) errors.paroleChiave = 'Indica al massimo 5 parole chiave, separate da virgole.';
  if (t(f.note).length > 2000) errors.note = 'Le note possono avere al massimo 2000 caratteri.';
  const main = data.files.filter((x) => x.field === 'principale');
  if (data.tooLarge.length) errors.principale = `File troppo grande (${data.tooLarge.join(', ')}): ogni file può avere al massimo ${PDV_UPLOAD_FILE_MAX_BYTES / 1048576} MB.`;
  else if (main.length !== 1) errors.principale = 'Scegli il file del documento principale.';
  if (data.tooMany) errors.allegati = `Al massimo ${PDV_MAX_FILES} file per versamento.`;
  return { errors, keywords, date };
}

export default async function routes(app: FastifyInstance): Promise<void> {
  // ---------------------------------------------------------------- REST API (ente API key)
  await app.register(async (api) => {
    withoutSessions(api);
    if (!api.hasRequestDecorator('apiClient')) api.decorateRequest('apiClient', null);
    api.addHook('preHandler', requireApiKey);
    const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;

    api.post<{ Body: PdvBody }>(
      '/api/v1/conservazione/pdv',
      {
        bodyLimit: PDV_JSON_MAX_BYTES,
        config: { csrf: false },
        schema: {
          tags: TAG,
          summary: 'Versa un pacchetto di versamento (PdV) in conservazione',
          description: `Il PdV (metadati Allegato 5 + file in base64 con la loro impronta SHA-256) è controllato: impronta ricalcolata, formato riconosciuto dal contenuto e ammesso dal profilo, metadati obbligatori, firme digitali. Accettato: 201 con l’esito e il rapporto di versamento (URN e XML). Rifiutato: 422 con l’esito strutturato; al terzo rifiuto dello stesso identificativo si apre una segnalazione all’helpdesk. Corpo al massimo ${PDV_JSON_MAX_BYTES / 1048576} MiB (circa ${Math.floor((PDV_JSON_MAX_BYTES * 3) / 4 / 1048576)} MiB di file).\n\nCodici di esito:\n${codesDoc}`,
          security: [{ apiKey: [] }],
          body: pdvBody,
          response: { 201: pdvOut, 400: problemSchema, 401: problemSchema, 413: problemSchema, 422: pdvOut },
        },
      },
      async (request, reply) => {
        const enteId = request.apiClient!.enteId;
        const files = decodeFiles(request.body);
        const metadata = { ...request.body.metadati };
        if (metadata.Identificativo === undefined) metadata.Identificativo = request.body.identificativo;
        else if (metadata.Identificativo !== request.body.identificativo) {
          throw new HttpError(400, 'metadati.Identificativo è diverso da identificativo: indica lo stesso valore, oppure omettilo nei metadati.', [
            { field: 'body.metadati.Identificativo', message: 'diverso da identificativo' },
          ]);
        }
        const result = await ingestSip(
          app.conservazione,
          { enteId, profileCode: request.body.profilo, objectKey: request.body.identificativo, metadata, files, source: 'api', submitter: 'ente' },
          `apikey:${request.apiClient!.keyId}`,
        );
        const view = result.sipId ? await pdvView(app, enteId, result.sipId) : null;
        const out = view
          ? { ...view, rdv: result.rdv ? { ...view.rdv!, xml: result.rdv.xml } : null }
          : { id: null, urn: null, stato: result.status, profilo: request.body.profilo, identificativo: request.body.identificativo, esito: result.esito, files: [], rdv: null, ticketId: null };
        if (result.sipId) reply.header('location', `/api/v1/conservazione/pdv/${result.sipId}`);
        return reply.code(result.status === 'accepted' ? 201 : 422).send(out);
      },
    );

    api.get<{ Params: { id: number } }>(
      '/api/v1/conservazione/pdv/:id',
      { schema: { tags: TAG, summary: 'Stato ed esito di un pacchetto di versamento dell’ente', security: [{ apiKey: [] }], params: idParams, response: { 200: pdvOut, 401: problemSchema, 404: problemSchema } } },
      async (request) => {
        const view = await pdvView(app, request.apiClient!.enteId, request.params.id);
        if (!view) throw new HttpError(404, 'Pacchetto di versamento non trovato.');
        return view;
      },
    );

    api.put<{ Params: { id: number }; Body: { metadati: Record<string, unknown> } }>(
      '/api/v1/conservazione/pdv/:id/metadati',
      {
        config: { csrf: false },
        schema: {
          tags: TAG,
          summary: 'Corregge i metadati di un documento già conservato: nuova versione del PdA',
          description:
            'I metadati Allegato 5 di un documento già in un pacchetto di archiviazione (PdA) si correggono con una nuova versione del PdA, legata alla precedente (PIndexSource e PreviousHash nell’indice), firmata e marcata; i file restano quelli versati e l’Identificativo non cambia. Un documento non ancora in un PdA (il versamento giornaliero lo forma la notte successiva) risponde 409.',
          security: [{ apiKey: [] }],
          params: idParams,
          body: { type: 'object', required: ['metadati'], additionalProperties: false, properties: { metadati: { type: 'object', minProperties: 1, maxProperties: 40 } } },
          response: {
            200: {
              type: 'object',
              properties: { pda: { type: 'object', properties: { id: { type: 'integer' }, urn: { type: 'string' }, versione: { type: 'integer' }, documenti: { type: 'integer' } } } },
            },
            400: problemSchema,
            401: problemSchema,
            404: problemSchema,
            409: problemSchema,
            422: problemSchema,
            503: problemSchema,
          },
        },
      },
      async (request) => {
        const enteId = request.apiClient!.enteId;
        const sip = (await app.db.select().from(consSips).where(and(eq(consSips.id, request.params.id), eq(consSips.enteId, enteId), eq(consSips.status, 'accepted'))).limit(1))[0];
        if (!sip) throw new HttpError(404, 'Documento non trovato tra quelli conservati dell’ente.');
        const metadata = { ...request.body.metadati };
        if (metadata.Identificativo === undefined) metadata.Identificativo = sip.objectKey;
        else if (metadata.Identificativo !== sip.objectKey) {
          throw new HttpError(400, 'L’Identificativo di un documento conservato non cambia.', [{ field: 'body.metadati.Identificativo', message: `deve restare ${sip.objectKey}` }]);
        }
        if (!(await app.conservazione.sealer())) throw new HttpError(503, 'La conservazione non è configurata per firmare i pacchetti di archiviazione: riprova più tardi.');
        try {
          const r = await newPdaVersion(app.conservazione, { sipId: sip.id, metadata, actor: `apikey:${request.apiClient!.keyId}` });
          return { pda: { id: r.aipId, urn: r.urn, versione: r.version, documenti: r.documents } };
        } catch (e) {
          if (e instanceof PdaError) {
            const status = e.status === 404 ? 409 : e.status;
            const message = e.status === 404 ? 'Il documento non è ancora in un pacchetto di archiviazione: il versamento giornaliero lo forma la notte successiva; riprova dopo.' : e.message;
            throw new HttpError(status, message.charAt(0).toUpperCase() + message.slice(1));
          }
          throw e;
        }
      },
    );

    api.get<{ Params: { id: number } }>(
      '/api/v1/conservazione/pdv/:id/rdv',
      {
        schema: {
          tags: TAG,
          summary: 'Scarica il rapporto di versamento (XML) di un pacchetto accettato',
          security: [{ apiKey: [] }],
          params: idParams,
          produces: ['application/xml'],
          response: { 200: { type: 'string', description: 'RapportoVersamento (schema ParER WSResponseVersamento)' }, 401: problemSchema, 404: problemSchema },
        },
      },
      async (request, reply) => {
        const rdv = await rdvFor(app, request.apiClient!.enteId, request.params.id, `apikey:${request.apiClient!.keyId}`);
        return reply.type('application/xml; charset=utf-8').header('content-disposition', `attachment; filename="${rdvFileName(rdv.urn)}"`).send(rdv.xml);
      },
    );
  });

  // ---------------------------------------------------------------- back-office upload
  const enteParams = { type: 'object', properties: { enteId: { type: 'integer', minimum: 1 } }, required: ['enteId'] } as const;
  const sipParams = { type: 'object', properties: { enteId: { type: 'integer', minimum: 1 }, id: { type: 'integer', minimum: 1 } }, required: ['enteId', 'id'] } as const;
  const uploader = requireRole(['operator', 'sael_admin'], { ente: enteFromParams(app.db) });
  const reader = requireRole(['operator', 'helpdesk', 'sael_admin'], { ente: enteFromParams(app.db) });

  /** The submitter kind of a signed-in user for this ente: its own staff are 'ente', the SAEL admin otherwise 'sael'. */
  const submitterOf = (request: FastifyRequest, enteId: number): Submitter => (hasRole(request.user, 'operator', enteId) ? 'ente' : 'sael');

  const profileOptions = async (submitter: Submitter, selected?: string) =>
    (await listProfiles(app.db, { activeOnly: true }))
      .filter((p) => p.submitters.includes(submitter))
      .map((p) => ({ value: p.code, label: p.name, selected: p.code === selected, required: p.requiredMetadata.join(', '), formats: [...new Set(p.formats.map((f) => f.label))].join(', '), signatureRequired: p.signatureRequired }));

  const renderForm = async (request: FastifyRequest, reply: FastifyReply, enteId: number, form: UploadForm, errors: Record<string, string> = {}) => {
    const ente = (await getEnte(app.db, enteId))!;
    const profiles = await profileOptions(submitterOf(request, enteId), form.profilo);
    return reply.page('conservazione/ingest-form', {
      title: `Versamento in conservazione – ${ente.name}`,
      ente,
      form,
      errors,
      errorList: Object.values(errors),
      profiles,
      modalita: MODALITA_OPTIONS.map((o) => ({ ...o, selected: o.value === (form.modalita ?? 'a') })),
      flussi: FLUSSO_OPTIONS.map((o) => ({ ...o, selected: o.value === (form.flusso ?? '') })),
      maxMb: PDV_UPLOAD_FILE_MAX_BYTES / 1048576,
      maxFiles: PDV_MAX_FILES,
      action: `/backoffice/enti/${enteId}/conservazione/versamento`,
    });
  };

  app.get<{ Params: { enteId: number } }>('/backoffice/enti/:enteId/conservazione/versamento', { preHandler: uploader, schema: { params: enteParams } }, async (request, reply) =>
    renderForm(request, reply, request.params.enteId, {}),
  );

  app.post<{ Params: { enteId: number } }>(
    '/backoffice/enti/:enteId/conservazione/versamento',
    { preHandler: uploader, config: { upload: true }, schema: { params: enteParams } },
    async (request, reply) => {
      const enteId = request.params.enteId;
      const data = await readUpload(request);
      const submitter = submitterOf(request, enteId);
      const profiles = (await listProfiles(app.db, { activeOnly: true })).filter((p) => p.submitters.includes(submitter));
      const { errors, keywords, date } = validateUpload(data, profiles.map((p) => p.code));
      const profile = profiles.find((p) => p.code === data.fields.profilo?.trim());
      const t = (s: string | undefined) => (s ?? '').trim();
      if (!errors.numeroDocumento && profile?.requiredMetadata.includes('NumeroDocumento') && !t(data.fields.numeroDocumento)) {
        errors.numeroDocumento = `Il profilo «${profile.name}» richiede il numero del documento.`;
      }
      if (Object.keys(errors).length) return renderForm(request, reply.code(400), enteId, { ...data.fields, _csrf: undefined }, errors);
      const metadata: Record<string, unknown> = {
        Identificativo: t(data.fields.identificativo),
        TipologiaDocumentale: profile!.tipologiaDocumentale,
        ModalitaDiFormazione: t(data.fields.modalita),
        Oggetto: t(data.fields.oggetto),
        DataDocumento: date,
        ...(t(data.fields.numeroDocumento) ? { NumeroDocumento: t(data.fields.numeroDocumento) } : {}),
        ...(t(data.fields.flusso) ? { TipologiaDiFlusso: t(data.fields.flusso) } : {}),
        ...(keywords.length ? { ParoleChiave: keywords } : {}),
        Riservato: data.fields.riservato === 'on',
        ...(t(data.fields.note) ? { Note: t(data.fields.note) } : {}),
      };
      const main = data.files.find((x) => x.field === 'principale')!;
      const annexes = data.files.filter((x) => x !== main);
      const files: SipFileInput[] = [main, ...annexes].map((x) => ({
        name: x.name,
        role: x === main ? 'principale' : 'allegato',
        bytes: x.bytes,
        // Uploads: the impronta is computed here on the bytes received (the browser declares none).
        declaredSha256: createHash('sha256').update(x.bytes).digest('hex'),
        declaredMime: x.mime,
      }));
      const result = await ingestSip(app.conservazione, { enteId, profileCode: profile!.code, objectKey: t(data.fields.identificativo), metadata, files, source: 'upload', submitter }, `user:${request.user!.id}`);
      return renderResult(reply.code(result.status === 'accepted' ? 200 : 422), enteId, result);
    },
  );

  const OUTCOME_BADGE: Record<string, string> = { POSITIVO: 'bg-success', NEGATIVO: 'bg-danger', WARNING: 'bg-warning text-dark', DISABILITATO: 'bg-secondary' };
  const CHECK_LABELS: Record<string, string> = { hash: 'Impronta', format: 'Formato', metadata: 'Metadati', signature: 'Firma', profile: 'Profilo', size: 'Dimensione' };

  const renderResult = async (reply: FastifyReply, enteId: number, result: IngestResult) => {
    const ente = (await getEnte(app.db, enteId))!;
    const view = result.sipId ? await pdvView(app, enteId, result.sipId) : null;
    return reply.page('conservazione/ingest-result', {
      title: `Esito del versamento – ${ente.name}`,
      ente,
      accepted: result.status === 'accepted',
      result,
      view,
      checks: result.esito.checks.map((c) => ({ ...c, label: CHECK_LABELS[c.check] ?? c.check, badge: OUTCOME_BADGE[c.outcome] ?? 'bg-secondary' })),
      rdvUrl: result.rdv && result.sipId ? `/backoffice/enti/${enteId}/conservazione/versamento/${result.sipId}/rdv.xml` : null,
      detailUrl: result.sipId ? `/backoffice/enti/${enteId}/conservazione/pdv/${result.sipId}` : null,
    });
  };

  app.get<{ Params: { enteId: number; id: number } }>('/backoffice/enti/:enteId/conservazione/versamento/:id/rdv.xml', { preHandler: reader, schema: { params: sipParams } }, async (request, reply) => {
    const rdv = await rdvFor(app, request.params.enteId, request.params.id, `user:${request.user!.id}`);
    return reply.type('application/xml; charset=utf-8').header('content-disposition', `attachment; filename="${rdvFileName(rdv.urn)}"`).send(rdv.xml);
  });
}
