/**
 * REST API of an ente's catalogue data, authenticated by the ente's API key (as /api/v1/positions)
 * and scoped to that ente only (another ente's adesione or charge is a 404):
 * - GET /api/v1/adesioni            the ente's adesioni (filter by state)
 * - GET /api/v1/addebiti            the ente's charges (filter by state, incl. overdue, and year)
 * - GET /api/v1/addebiti/:id        one charge
 * Reading charges first syncs those paid by receipts. In the OpenAPI at /api/docs (tag "Servizi SAEL").
 */
import type { FastifyInstance } from 'fastify';
import { and, asc, eq } from 'drizzle-orm';
import { requireApiKey } from '../../plugins/api-key.js';
import { HttpError } from '../../plugins/errors.js';
import { withoutSessions } from '../../plugins/sessions/index.js';
import { problemSchema } from '../positions/api-schemas.js';
import { todayInItaly } from '../positions/service.js';
import { displayStatus } from './charge-plan.js';
import { provinceEnte } from './charges.js';
import { getChargeOfEnte, listCharges, syncPaidCharges, type ChargeListItem, type ChargeStatusFilter } from './charges-repository.js';
import { ADESIONE_STATUSES, adesioni, catalogueServices, type AdesioneStatus } from './schema.js';

const TAG = ['Adesioni e addebiti SAEL'];
const errors = { 400: problemSchema, 401: problemSchema, 404: problemSchema };
const nullableString = { type: ['string', 'null'] } as const;
const nullableDate = { type: ['string', 'null'], format: 'date' } as const;

const adesioneOut = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    serviceCode: { type: 'string', description: 'Codice del servizio nel catalogo (numero della scheda)' },
    serviceName: { type: 'string' },
    billing: { type: 'string', enum: ['free', 'one_off', 'annual', 'per_unit'] },
    status: { type: 'string', enum: [...ADESIONE_STATUSES] },
    quantity: { type: 'integer' },
    startDate: nullableDate,
    endDate: nullableDate,
    autoRenew: { type: 'boolean' },
    amountCents: { type: ['integer', 'null'], description: 'Importo dal listino fissato all’approvazione (centesimi): una tantum o per 12 mesi' },
    protocolNumber: nullableString,
    renewsId: { type: ['integer', 'null'] },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
  required: ['id', 'serviceCode', 'serviceName', 'billing', 'status', 'quantity', 'startDate', 'endDate', 'autoRenew', 'amountCents', 'createdAt', 'updatedAt'],
} as const;

const chargeOut = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    adesioneId: { type: 'integer' },
    serviceCode: { type: 'string' },
    serviceName: { type: 'string' },
    kind: { type: 'string', enum: ['one_off', 'annual', 'units'] },
    periodKey: { type: 'integer', description: 'Anno della quota annuale; 0 per una tantum e a consumo' },
    periodFrom: nullableDate,
    periodTo: nullableDate,
    description: { type: 'string' },
    amountCents: { type: 'integer', minimum: 1 },
    dueDate: { type: 'string', format: 'date' },
    status: { type: 'string', enum: ['issued', 'paid', 'cancelled'] },
    overdue: { type: 'boolean', description: 'Emesso e oltre la scadenza' },
    noticeNumber: { ...nullableString, description: 'Codice avviso pagoPA (18 cifre)' },
    creditor: {
      type: 'object',
      properties: { fiscalCode: { type: 'string' }, name: { type: 'string' } },
      required: ['fiscalCode', 'name'],
      description: 'L’ente creditore (la Provincia): con il codice avviso serve per pagare',
    },
    paidAt: nullableString,
    reminderCount: { type: 'integer' },
    lastReminderAt: nullableString,
    createdAt: { type: 'string' },
  },
  required: ['id', 'adesioneId', 'serviceCode', 'kind', 'periodKey', 'description', 'amountCents', 'dueDate', 'status', 'overdue', 'noticeNumber', 'creditor', 'paidAt'],
} as const;

const adesioniQuery = {
  type: 'object',
  properties: { status: { type: 'string', enum: [...ADESIONE_STATUSES] } },
  additionalProperties: false,
} as const;

const chargesQuery = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['issued', 'overdue', 'paid', 'cancelled'], description: '«overdue»: emessi e scaduti' },
    year: { type: 'integer', minimum: 2000, maximum: 2100, description: 'Anno della scadenza' },
  },
  additionalProperties: false,
} as const;

export default async function catalogueApi(app: FastifyInstance): Promise<void> {
  withoutSessions(app);
  if (!app.hasRequestDecorator('apiClient')) app.decorateRequest('apiClient', null);
  app.addHook('preHandler', requireApiKey);
  const now = () => app.catalogue.now();

  app.get<{ Querystring: { status?: AdesioneStatus } }>(
    '/api/v1/adesioni',
    {
      schema: {
        tags: TAG,
        summary: 'Adesioni dell’ente ai servizi del catalogo SAEL',
        security: [{ apiKey: [] }],
        querystring: adesioniQuery,
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: adesioneOut } }, required: ['items'] }, ...errors },
      },
    },
    async (request) => {
      const enteId = request.apiClient!.enteId;
      const rows = await app.db
              .select({ a: adesioni, serviceCode: catalogueServices.code, serviceName: catalogueServices.name, billing: catalogueServices.billing })
              .from(adesioni)
              .innerJoin(catalogueServices, eq(catalogueServices.id, adesioni.serviceId))
              .where(and(eq(adesioni.enteId, enteId), request.query.status ? eq(adesioni.status, request.query.status) : undefined))
              .orderBy(asc(adesioni.id));
      return {
        items: rows.map(({ a, serviceCode, serviceName, billing }) => ({
          id: a.id,
          serviceCode,
          serviceName,
          billing,
          status: a.status,
          quantity: a.quantity,
          startDate: a.startDate,
          endDate: a.endDate,
          autoRenew: a.autoRenew,
          amountCents: a.amountCents,
          protocolNumber: a.protocolNumber,
          renewsId: a.renewsId,
          createdAt: a.createdAt,
          updatedAt: a.updatedAt,
        })),
      };
    },
  );

  async function toApi(c: ChargeListItem, today: string) {
    const province = await provinceEnte(app.db);
    return {
      id: c.id,
      adesioneId: c.adesioneId,
      serviceCode: c.serviceCode,
      serviceName: c.serviceName,
      kind: c.kind,
      periodKey: c.periodKey,
      periodFrom: c.periodFrom,
      periodTo: c.periodTo,
      description: c.description,
      amountCents: c.amountCents,
      dueDate: c.dueDate,
      status: c.status,
      overdue: displayStatus(c, today) === 'overdue',
      noticeNumber: c.noticeNumber,
      creditor: { fiscalCode: province?.fiscalCode ?? '', name: province?.name ?? '' },
      paidAt: c.paidAt,
      reminderCount: c.reminderCount,
      lastReminderAt: c.lastReminderAt,
      createdAt: c.createdAt,
    };
  }

  app.get<{ Querystring: { status?: ChargeStatusFilter; year?: number } }>(
    '/api/v1/addebiti',
    {
      schema: {
        tags: TAG,
        summary: 'Addebiti dell’ente per i servizi SAEL (avvisi pagoPA della Provincia)',
        security: [{ apiKey: [] }],
        querystring: chargesQuery,
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: chargeOut } }, required: ['items'] }, ...errors },
      },
    },
    async (request) => {
      const enteId = request.apiClient!.enteId;
      const today = todayInItaly(now());
      await syncPaidCharges(app.db, enteId);
      const { items } = await listCharges(app.db, { enteId, status: request.query.status, year: request.query.year, today, limit: 10_000 });
      return { items: await Promise.all(items.map((c) => toApi(c, today))) };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/addebiti/:id',
    {
      schema: {
        tags: TAG,
        summary: 'Un addebito dell’ente',
        security: [{ apiKey: [] }],
        params: { type: 'object', properties: { id: { type: 'integer', minimum: 1, maximum: 2147483647 } }, required: ['id'], additionalProperties: false },
        response: { 200: chargeOut, ...errors },
      },
    },
    async (request) => {
      const enteId = request.apiClient!.enteId;
      await syncPaidCharges(app.db, enteId);
      const c = await getChargeOfEnte(app.db, enteId, request.params.id);
      if (!c) throw new HttpError(404, 'Addebito non trovato.');
      return toApi(c, todayInItaly(now()));
    },
  );
}
