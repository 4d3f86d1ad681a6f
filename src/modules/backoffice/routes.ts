/**
 * Operator pages of a comune (role operator or ente_admin of that ente): positions list with
 * filters, paging and CSV export; create / edit / publish / cancel by form; detail with history.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { and, asc, eq } from 'drizzle-orm';
import { CSV_SAFE_CAST } from '../../domain/csv-safe.js';
import { auditContext } from '../../plugins/audit/index.js';
import { auditLog } from '../../plugins/audit/schema.js';
import { entiWithRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { getEnte, listEnti, listIbans, listServices, type Ente } from '../enti/repository.js';
import { formatNoticeNumber } from '../positions/numbers.js';
import { isPrintable } from '../positions/notice-data.js';
import { sendNoticePdf } from '../positions/notice-reply.js';
import { findByNoticeNumber } from '../positions/repository.js';
import {
  cancelPosition,
  createPosition,
  getPositionById,
  listPositions,
  PositionConflictError,
  positionsNewestFirst,
  publishPosition,
  STATUS_LABELS,
  updatePosition,
  type PositionDetail,
  type PositionFilter,
} from '../positions/repository.js';
import { POSITION_STATUSES, type PositionStatus } from '../positions/schema.js';
import { preparePositionWrite } from '../positions/service.js';
import { domainErrorsToForm, formToPositionBody, MAX_FORM_INSTALLMENTS, positionToForm, type PositionForm, type SecondBeneficiary, withServiceTaxonomy } from './position-form.js';
import { actorLabel, enteParams, listQueryErrorFormatter, loadActorNames, operatorOfEnte, pageParam, pageWithin } from './shared.js';

const PAGE_SIZE = 25;
/** Positions read per query by the CSV export. */
const EXPORT_CHUNK = 500;

const positionParams = {
  type: 'object',
  properties: { enteId: { type: 'integer', minimum: 1 }, positionId: { type: 'integer', minimum: 1 } },
  required: ['enteId', 'positionId'],
} as const;

const FILTER_FIELDS = ['status', 'service', 'debtor', 'dueFrom', 'dueTo', 'notice'] as const;
const listQuery = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['', ...POSITION_STATUSES] },
    service: { type: 'string', pattern: '^[0-9]*$', maxLength: 10 },
    debtor: { type: 'string', maxLength: 70 },
    dueFrom: { type: 'string', pattern: '^(\\d{4}-\\d{2}-\\d{2})?$' },
    dueTo: { type: 'string', pattern: '^(\\d{4}-\\d{2}-\\d{2})?$' },
    notice: { type: 'string', maxLength: 30 },
    page: pageParam,
  },
  additionalProperties: false,
} as const;

const FORM_FIELDS = [
  'serviceCode', 'debtorType', 'debtorFiscalCode', 'debtorName', 'debtorStreet', 'debtorCivic', 'debtorPostalCode',
  'debtorCity', 'debtorProvince', 'debtorEmail', 'description', 'validityDate', 'switchToExpired', 'taxonomyCode',
  'remittance', 'singleAmount', 'singleDue', 'secondPercent', 'secondTaxonomyCode', 'secondRemittance', 'version', 'publish',
  ...Array.from({ length: MAX_FORM_INSTALLMENTS }, (_, i) => [`inst${i + 1}Amount`, `inst${i + 1}Due`]).flat(),
];
const formBody = {
  type: 'object',
  properties: Object.fromEntries([['_csrf', { type: 'string', maxLength: 200 }], ...FORM_FIELDS.map((f) => [f, { type: 'string', maxLength: 200 }])]),
  additionalProperties: false,
} as const;

type ListQuery = { status?: string; service?: string; debtor?: string; dueFrom?: string; dueTo?: string; notice?: string; page: number };

export const STATUS_BADGES: Record<PositionStatus, string> = {
  draft: 'bg-secondary',
  published: 'bg-primary',
  partially_paid: 'bg-warning', // Bootstrap Italia's warning is dark amber: white text (text-dark fails contrast)
  paid: 'bg-success',
  expired: 'bg-dark',
  cancelled: 'bg-danger',
};

export default async function backofficeModule(app: FastifyInstance) {
  const operator = operatorOfEnte(app);
  const ente = async (request: FastifyRequest): Promise<Ente> => (await getEnte(app.db, (request.params as { enteId: number }).enteId))!;

  /** The province (or another ente) that may receive a share on the ente's notices, with its IBAN. */
  async function secondBeneficiary(): Promise<(SecondBeneficiary & { name: string }) | null> {
    const province = (await listEnti(app.db, { kind: 'provincia' }))[0];
    const iban = province ? (await listIbans(app.db, province.id)).find((i) => i.active && i.kind === 'bank') : undefined;
    return province && iban ? { fiscalCode: province.fiscalCode, iban: iban.iban, name: province.name } : null;
  }

  async function loadPosition(request: FastifyRequest): Promise<PositionDetail> {
    const { enteId, positionId } = request.params as { enteId: number; positionId: number };
    const p = await getPositionById(app.db, enteId, positionId);
    if (!p) throw new HttpError(404, 'Posizione non trovata per questo ente.');
    return p;
  }

  app.get('/backoffice', async (request, reply) => {
    if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per continuare.');
    const ids = entiWithRole(request.user, 'operator');
    if (ids.length === 1) return reply.redirect(`/backoffice/enti/${ids[0]}/posizioni`);
    const enti = (await Promise.all(ids.map(async (id) => (await getEnte(app.db, id))!))).sort((a, b) => a.name.localeCompare(b.name));
    return reply.page('backoffice/home', { title: 'Back office', enti });
  });

  function filterFrom(enteId: number, q: ListQuery, pageSize = PAGE_SIZE): PositionFilter {
    return {
      enteIds: [enteId],
      status: (q.status || undefined) as PositionStatus | undefined,
      serviceId: q.service ? Number(q.service) : undefined,
      debtor: q.debtor?.trim() || undefined,
      dueFrom: q.dueFrom || undefined,
      dueTo: q.dueTo || undefined,
      notice: q.notice?.trim() || undefined,
      page: q.page,
      pageSize,
    };
  }

  app.get<{ Querystring: ListQuery }>(
    '/backoffice/enti/:enteId/posizioni',
    { preHandler: operator, schema: { params: enteParams, querystring: listQuery }, schemaErrorFormatter: listQueryErrorFormatter },
    async (request, reply) => {
      const e = await ente(request);
      const services = await listServices(app.db, e.id);
      let { items, total } = await listPositions(app.db, filterFrom(e.id, request.query));
      // Past the last page (a stale link, a hand-typed number): the last page, with a word about it.
      const { page, pages, pastTheEnd } = pageWithin(request.query.page, total, PAGE_SIZE);
      if (pastTheEnd && total > 0) ({ items, total } = await listPositions(app.db, filterFrom(e.id, { ...request.query, page })));
      const qs = new URLSearchParams(
        FILTER_FIELDS.flatMap((f) => (request.query[f] ? [[f, String(request.query[f])]] : [])) as [string, string][],
      ).toString();
      const serviceName = new Map(services.map((s) => [s.id, s.name]));
      return reply.page('backoffice/list', {
        title: `Posizioni – ${e.name}`,
        ente: e,
        services: services.map((s) => ({ ...s, selected: String(s.id) === request.query.service })),
        statuses: POSITION_STATUSES.map((s) => ({ value: s, label: STATUS_LABELS[s], selected: s === request.query.status })),
        filter: request.query,
        items: items.map((p) => ({
          ...p,
          serviceName: serviceName.get(p.serviceId),
          statusLabel: STATUS_LABELS[p.status],
          badge: STATUS_BADGES[p.status],
          totalCents: p.options.filter((o) => o.kind === 'single').reduce((s, o) => s + o.amountCents, 0) || p.options.reduce((s, o) => s + o.amountCents, 0),
          optionsCount: p.options.length,
          firstDue: p.options.map((o) => o.dueDate).sort()[0],
        })),
        total,
        page,
        pages,
        pageNotice: pastTheEnd && total > 0 ? `La pagina ${request.query.page} non esiste: ecco l’ultima, la ${pages}.` : null,
        prev: page > 1 ? `?${qs}${qs ? '&' : ''}page=${page - 1}` : null,
        next: page < pages ? `?${qs}${qs ? '&' : ''}page=${page + 1}` : null,
        csvUrl: `/backoffice/enti/${e.id}/posizioni.csv${qs ? `?${qs}` : ''}`,
      });
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/backoffice/enti/:enteId/posizioni.csv',
    { preHandler: operator, schema: { params: enteParams, querystring: listQuery }, schemaErrorFormatter: listQueryErrorFormatter },
    async (request, reply) => {
      const e = await ente(request);
      const codes = new Map((await listServices(app.db, e.id)).map((s) => [s.id, s.code]));
      const filter = filterFrom(e.id, request.query);
      // Streamed in chunks, each from where the last ended: memory and time grow with the file, not faster.
      async function* records(): AsyncGenerator<string[]> {
        for await (const p of positionsNewestFirst(app.db, filter, EXPORT_CHUNK)) {
          for (const o of p.options) {
            yield [
              p.iupd, codes.get(p.serviceId) ?? '', p.status, p.debtorFiscalCode, p.debtorName, p.description,
              o.noticeNumber, o.iuv, o.kind === 'single' ? '' : String(o.installmentNumber), (o.amountCents / 100).toFixed(2).replace('.', ','),
              o.dueDate, o.status,
            ];
          }
        }
      }
      const csv = Readable.from(records()).pipe(
        stringify({
          delimiter: ';',
          bom: true,
          header: true,
          columns: ['iupd', 'servizio', 'stato_posizione', 'cf_debitore', 'nominativo_debitore', 'descrizione', 'codice_avviso', 'iuv', 'rata', 'importo', 'scadenza', 'stato_opzione'],
          cast: CSV_SAFE_CAST, // spreadsheets run cells starting with = + - @
        }),
      );
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="posizioni-${e.fiscalCode}.csv"`)
        .send(csv);
    },
  );

  async function renderForm(reply: FastifyReply, e: Ente, data: { form: PositionForm; errors: Record<string, string>; position?: PositionDetail }) {
    const second = await secondBeneficiary();
    return reply.page('backoffice/form', {
      title: data.position ? `Modifica posizione ${data.position.iupd}` : 'Nuova posizione',
      ente: e,
      services: (await listServices(app.db, e.id, { activeOnly: true })).map((s) => ({ ...s, selected: s.code === data.form.serviceCode })),
      second,
      form: data.form,
      errors: data.errors,
      hasErrors: Object.keys(data.errors).length > 0,
      errorList: Object.values(data.errors),
      position: data.position,
      installments: Array.from({ length: MAX_FORM_INSTALLMENTS }, (_, i) => ({
        n: i + 1,
        amount: data.form[`inst${i + 1}Amount`] ?? '',
        due: data.form[`inst${i + 1}Due`] ?? '',
        amountError: data.errors[`inst${i + 1}Amount`],
        dueError: data.errors[`inst${i + 1}Due`],
      })),
      action: data.position ? `/backoffice/enti/${e.id}/posizioni/${data.position.id}` : `/backoffice/enti/${e.id}/posizioni`,
    });
  }

  app.get('/backoffice/enti/:enteId/posizioni/nuova', { preHandler: operator, schema: { params: enteParams } }, async (request, reply) => {
    const e = await ente(request);
    const form = withServiceTaxonomy({ debtorType: 'F', secondRemittance: 'TEFA', secondTaxonomyCode: '9/0201101IM/' }, await listServices(app.db, e.id, { activeOnly: true }));
    return await renderForm(reply, e, { form, errors: {} });
  });

  /** Maps the form, prepares the write, and returns either the write or the per-field errors. */
  async function prepareFromForm(e: Ente, form: PositionForm) {
    const second = await secondBeneficiary();
    const mapping = formToPositionBody(withServiceTaxonomy(form, await listServices(app.db, e.id, { activeOnly: true })), second);
    const prepared = await preparePositionWrite(app.db, e, mapping.body);
    const errors = { ...mapping.errors, ...(prepared.ok ? {} : domainErrorsToForm(prepared.errors, mapping.optionFields)) };
    return { prepared, errors };
  }

  app.post<{ Body: PositionForm }>(
    '/backoffice/enti/:enteId/posizioni',
    { preHandler: operator, schema: { params: enteParams, body: formBody } },
    async (request, reply) => {
      const e = await ente(request);
      const { prepared, errors } = await prepareFromForm(e, request.body);
      if (!prepared.ok || Object.keys(errors).length > 0) return await renderForm(reply.code(400), e, { form: request.body, errors });
      const { position } = await createPosition(app.db, e, prepared.service, prepared.write, { publish: request.body.publish === 'true' }, auditContext(request));
      return reply.redirect(`/backoffice/enti/${e.id}/posizioni/${position.id}`, 303);
    },
  );

  app.get('/backoffice/enti/:enteId/posizioni/:positionId', { preHandler: operator, schema: { params: positionParams } }, async (request, reply) => {
    const e = await ente(request);
    const p = await loadPosition(request);
    const service = (await listServices(app.db, e.id)).find((s) => s.id === p.serviceId);
    const history = await app.db
          .select()
          .from(auditLog)
          .where(and(eq(auditLog.entity, 'position'), eq(auditLog.entityId, String(p.id)), eq(auditLog.enteId, e.id)))
          .orderBy(asc(auditLog.id));
    const names = await loadActorNames(app.db, history.map((h) => h.actor));
    return reply.page('backoffice/detail', {
      title: `Posizione ${p.iupd}`,
      ente: e,
      position: p,
      service,
      statusLabel: STATUS_LABELS[p.status],
      badge: STATUS_BADGES[p.status],
      canEdit: ['draft', 'published', 'partially_paid'].includes(p.status),
      canPublish: p.status === 'draft',
      canCancel: ['draft', 'published', 'partially_paid', 'expired'].includes(p.status),
      options: p.options.map((o) => ({ ...o, formattedNotice: formatNoticeNumber(o.noticeNumber), printable: isPrintable(p, o) })),
      history: history.map((h) => ({
        at: h.at,
        label: HISTORY_LABELS[h.action] ?? h.action,
        by: actorLabel(h.actor, names),
        // Positions written by a CSV import carry the job in their request id: link the import's report.
        importId: /^job:(\d+)$/.exec(h.requestId ?? '')?.[1] ?? null,
      })),
    });
  });

  app.get('/backoffice/enti/:enteId/posizioni/:positionId/modifica', { preHandler: operator, schema: { params: positionParams } }, async (request, reply) => {
    const e = await ente(request);
    const p = await loadPosition(request);
    const code = (await listServices(app.db, e.id)).find((s) => s.id === p.serviceId)?.code ?? '';
    const form = { ...positionToForm(p, code, (await secondBeneficiary())?.fiscalCode ?? null), version: String(p.version) };
    return await renderForm(reply, e, { form, errors: {}, position: p });
  });

  app.post<{ Body: PositionForm }>(
    '/backoffice/enti/:enteId/posizioni/:positionId',
    { preHandler: operator, schema: { params: positionParams, body: formBody } },
    async (request, reply) => {
      const e = await ente(request);
      const p = await loadPosition(request);
      const { prepared, errors } = await prepareFromForm(e, request.body);
      if (!prepared.ok || Object.keys(errors).length > 0) return await renderForm(reply.code(400), e, { form: request.body, errors, position: p });
      try {
        const version = Number(request.body.version);
        await updatePosition(app.db, e, prepared.service, p.iupd, prepared.write, { expectedVersion: Number.isInteger(version) && version > 0 ? version : undefined }, auditContext(request));
      } catch (err) {
        if (err instanceof PositionConflictError) return await renderForm(reply.code(409), e, { form: request.body, errors: { general: err.message }, position: p });
        throw err;
      }
      return reply.redirect(`/backoffice/enti/${e.id}/posizioni/${p.id}`, 303);
    },
  );

  app.get<{ Params: { enteId: number; noticeNumber: string } }>(
    '/backoffice/enti/:enteId/avvisi/:noticeNumber.pdf',
    {
      preHandler: operator,
      schema: {
        params: {
          type: 'object',
          properties: { enteId: { type: 'integer', minimum: 1 }, noticeNumber: { type: 'string', pattern: '^[0-9]{18}$' } },
          required: ['enteId', 'noticeNumber'],
        },
      },
    },
    async (request, reply) => {
      const e = await ente(request);
      const found = await findByNoticeNumber(app.db, e.id, request.params.noticeNumber);
      if (!found) throw new HttpError(404, 'Avviso non trovato per questo ente.');
      return sendNoticePdf(reply, {
        db: app.db,
        dataDir: app.config.dataDir,
        ente: e,
        position: found.position,
        option: found.option,
        fileName: `${found.position.debtorFiscalCode}_${found.option.noticeNumber}.pdf`,
      });
    },
  );

  for (const [path, run] of [
    ['annulla', cancelPosition],
    ['pubblica', publishPosition],
  ] as const) {
    app.post(
      `/backoffice/enti/:enteId/posizioni/:positionId/${path}`,
      { preHandler: operator, schema: { params: positionParams, body: { type: 'object', properties: { _csrf: { type: 'string' } }, additionalProperties: false } } },
      async (request, reply) => {
        const e = await ente(request);
        const p = await loadPosition(request);
        try {
          await run(app.db, e.id, p.iupd, auditContext(request));
        } catch (err) {
          if (err instanceof PositionConflictError) throw new HttpError(409, err.message);
          throw err;
        }
        return reply.redirect(`/backoffice/enti/${e.id}/posizioni/${p.id}`, 303);
      },
    );
  }
}

const HISTORY_LABELS: Record<string, string> = {
  create: 'Creata',
  update: 'Modificata',
  publish: 'Pubblicata',
  cancel: 'Annullata',
  expire: 'Scaduta',
  paid: 'Pagamento ricevuto',
  pay: 'Pagamento ricevuto', // the receipt's audit action (pagopa/receipts.ts)
};
