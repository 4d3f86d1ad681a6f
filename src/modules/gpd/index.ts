/**
 * The GPD-compatible face of the positions (`/gpd`): the debt-position paths of pagoPA's GPD API
 * (`schemas/pagopa/openapi/gpd.json`) — create, read, list, update, delete a draft, publish,
 * invalidate, the massive IBAN change of transfers — on the same positions as /api/v1 (one model,
 * two faces: every write goes through `preparePositionWrite` and the positions repository).
 *
 * - Authentication: the ente's API key, in `Ocp-Apim-Subscription-Key` (as GPD clients send it) or
 *   `Authorization: Bearer`; the organization fiscal code of the path must be the key's ente (403).
 * - Each option brings its own IUV: ente's segregation code + valid check digits (400), never
 *   issued before (409); the platform's counter skips it (positions/repository.ts).
 * - Answers and errors in GPD's shapes: ProblemJson `{title, status, detail}`; 401/403 as the API
 *   gateway answers them (`{statusCode, message}`); `X-Request-Id` echoed.
 * - Route schemas are the document's own, read at load time (openapi.ts).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiClient } from '../../plugins/api-key.js';
import { withoutSessions } from '../../plugins/sessions/index.js';
import { normaliseIban, isValidIban } from '../../domain/iban.js';
import { getEnte, type Ente } from '../enti/repository.js';
import { authenticateApiKey } from '../users/repository.js';
import {
  cancelPosition,
  createPosition,
  deleteDraftPosition,
  getPositionByIupd,
  IuvNotAvailableError,
  PositionConflictError,
  PositionNotFoundError,
  publishPosition,
  updatePosition,
  type PositionDetail,
} from '../positions/repository.js';
import { preparePositionWrite, registeredIbanChecker, todayInItaly } from '../positions/service.js';
import { gpdFieldName, gpdShapeErrors, ownCategory, toGpdBaseResponse, toGpdModel, toPositionBody, type GpdPosition, type GpdStatus } from './mapping.js';
import { gpdRouteSchema } from './openapi.js';
import { listGpdPositions, replaceTransferIban, serviceForCategory } from './queries.js';

/** An answer in GPD's ProblemJson shape. */
export class GpdProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'GpdProblem';
  }
}

/** The API gateway's own answers (GPD's 401/403 bodies). */
class GatewayRefusal extends Error {
  constructor(
    readonly statusCode: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

const badRequest = (detail: string) => new GpdProblem(400, TITLES[400]!, detail);
const notFound = (iupd: string, org: string) => new GpdProblem(404, TITLES[404]!, `No debt position found with IUPD ${iupd} for organization ${org}.`);

interface OrgParams {
  organizationfiscalcode: string;
}
interface IupdParams extends OrgParams {
  iupd: string;
}

export default async function gpdApi(app: FastifyInstance) {
  withoutSessions(app);
  const clients = new WeakMap<FastifyRequest, { client: ApiClient; ente: Ente }>();

  // Key first, as the gateway does (before the body is even read).
  app.addHook('onRequest', async (request) => {
    const header = request.headers['ocp-apim-subscription-key'];
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const key = (typeof header === 'string' && header.trim()) || bearer;
    if (!key) throw new GatewayRefusal(401, 'Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.');
    const client = await authenticateApiKey(app.db, key);
    if (!client) throw new GatewayRefusal(401, 'Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.');
    const org = (request.params as Partial<OrgParams>).organizationfiscalcode;
    if (org !== client.enteFiscalCode) throw new GatewayRefusal(403, 'You are not allowed to access this resource.');
    clients.set(request, { client, ente: (await getEnte(app.db, client.enteId))! });
  });

  app.addHook('onSend', async (request, reply) => {
    const id = request.headers['x-request-id'];
    reply.header('x-request-id', typeof id === 'string' && id ? id : request.id);
  });

  app.setErrorHandler((err: FastifyError | GpdProblem | GatewayRefusal, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof GatewayRefusal) return reply.code(err.statusCode).type('application/json').send({ statusCode: err.statusCode, message: err.message });
    let problem: { title: string; status: number; detail: string };
    if (err instanceof GpdProblem) problem = { title: err.title, status: err.status, detail: err.detail };
    else if ((err as FastifyError).validation) {
      const e = err as FastifyError;
      const detail = (e.validation ?? []).map((v) => `${e.validationContext ?? 'body'}${v.instancePath}${'missingProperty' in v.params ? `.${String(v.params.missingProperty)}` : ''} ${v.message ?? 'is invalid'}`);
      problem = { title: TITLES[400]!, status: 400, detail: detail.join('; ') };
    } else if ((err as FastifyError).statusCode && (err as FastifyError).statusCode! < 500) {
      const status = (err as FastifyError).statusCode!;
      problem = { title: TITLES[status] ?? 'Error', status, detail: err.message };
    } else {
      request.log.error({ err }, 'GPD API error');
      problem = { title: TITLES[500]!, status: 500, detail: 'An unexpected error occurred.' };
    }
    return reply.code(problem.status).type('application/json').send(problem);
  });

  function who(request: FastifyRequest) {
    const c = clients.get(request)!;
    return { ...c, by: { actor: `apikey:${c.client.keyId}`, requestId: request.id } };
  }

  /** The write of a GPD body: service by category, GPD-only checks, then the shared validation. */
  async function prepare(ente: Ente, body: GpdPosition, pathIupd?: string) {
    const shape = gpdShapeErrors(body, pathIupd);
    if (shape.length) throw badRequest(shape.join('; '));
    const category = ownCategory(body, ente.fiscalCode);
    const service = category ? await serviceForCategory(app.db, ente.id, category) : undefined;
    if (!service) {
      throw badRequest(
        `paymentOption[0].transfer[0].category: ${category ? `no active payment service of organization ${ente.fiscalCode} has category ${category}` : 'a payment option with a transfer is required'}`,
      );
    }
    const prepared = await preparePositionWrite(app.db, ente, toPositionBody(body, service.code, ente.fiscalCode), { externalIuvs: true });
    if (!prepared.ok) throw badRequest(prepared.errors.map((e) => `${gpdFieldName(e.field)}: ${e.message}`).join('; '));
    return prepared;
  }

  function domainError(err: unknown, iupd: string, org: string): never {
    if (err instanceof IuvNotAvailableError) throw new GpdProblem(409, TITLES[409]!, `The IUV ${err.iuv} was already issued for organization ${org}: ${err.message}`);
    if (err instanceof PositionNotFoundError) throw notFound(iupd, org);
    if (err instanceof PositionConflictError) throw new GpdProblem(409, TITLES[409]!, err.message);
    throw err;
  }

  const ORG = '/organizations/:organizationfiscalcode/debtpositions';

  app.get<{ Params: OrgParams; Querystring: Record<string, string | number | undefined> }>(
    ORG,
    { schema: gpdRouteSchema('getOrganizationDebtPositions') },
    async (request) => {
      const { ente } = who(request);
      const q = request.query as {
        limit: number;
        page: number;
        due_date_from?: string;
        due_date_to?: string;
        payment_date_from?: string;
        payment_date_to?: string;
        status?: GpdStatus;
        orderby: 'INSERTED_DATE' | 'IUPD' | 'STATUS' | 'COMPANY_NAME';
        ordering: 'ASC' | 'DESC';
      };
      const due = q.due_date_from !== undefined || q.due_date_to !== undefined;
      const paid = q.payment_date_from !== undefined || q.payment_date_to !== undefined;
      if (due && paid) throw badRequest('The due dates interval is mutually exclusive with the payment dates interval.');
      const [dueFrom, dueTo] = interval(q.due_date_from, q.due_date_to);
      const [paidFrom, paidTo] = interval(q.payment_date_from, q.payment_date_to);
      if ((dueFrom && dueTo && dueFrom > dueTo) || (paidFrom && paidTo && paidFrom > paidTo)) throw badRequest('The interval ends before it starts.');
      const today = todayInItaly();
      const { items, total } = await listGpdPositions(app.db, {
        enteId: ente.id,
        today,
        status: q.status,
        dueFrom,
        dueTo,
        paidFrom,
        paidTo,
        orderBy: q.orderby,
        ordering: q.ordering,
        page: q.page,
        limit: q.limit,
      });
      return {
        payment_position_list: items.map((p) => toGpdBaseResponse(p, ente, today)),
        page_info: { page: q.page, limit: q.limit, items_found: items.length, total_pages: Math.ceil(total / q.limit) },
      };
    },
  );

  app.post<{ Params: OrgParams; Querystring: { toPublish: boolean }; Body: GpdPosition }>(
    ORG,
    { config: { csrf: false }, schema: gpdRouteSchema('createPosition') },
    async (request, reply) => {
      const { ente, by } = who(request);
      const org = ente.fiscalCode;
      const prepared = await prepare(ente, request.body);
      let result;
      try {
        result = await createPosition(app.db, ente, prepared.service, prepared.write, { publish: request.query.toPublish }, by);
      } catch (err) {
        domainError(err, request.body.iupd, org);
      }
      // GPD is not idempotent on create: an existing iupd is a conflict whatever the content.
      if (!result.created) throw new GpdProblem(409, TITLES[409]!, `Debt Position with IUPD ${request.body.iupd} already exists for organization ${org}.`);
      return reply.code(201).send(toGpdModel(result.position, ente, todayInItaly()));
    },
  );

  app.patch<{ Params: OrgParams; Querystring: { oldIban: string; limit: number }; Body: { newIban: string } }>(
    `${ORG}/transfers`,
    { config: { csrf: false }, schema: gpdRouteSchema('updateTransferIbanMassive') },
    async (request) => {
      const { ente, by } = who(request);
      const oldIban = normaliseIban(request.query.oldIban);
      const newIban = normaliseIban(request.body.newIban);
      if (!isValidIban(newIban)) throw badRequest(`newIban: ${request.body.newIban} is not a valid IBAN.`);
      if (!(await registeredIbanChecker(app.db, [ente.fiscalCode]))(ente.fiscalCode, newIban)) {
        throw badRequest(`newIban: ${newIban} is not an active account registered for organization ${ente.fiscalCode}.`);
      }
      const updated = await replaceTransferIban(app.db, ente, oldIban, newIban, request.query.limit, by);
      return { description: `${updated} transfers moved from ${oldIban} to ${newIban}.`, updatedTransfers: updated };
    },
  );

  app.get<{ Params: IupdParams }>(`${ORG}/:iupd`, { schema: gpdRouteSchema('getOrganizationDebtPositionByIUPD') }, async (request) => {
    const { ente } = who(request);
    const p = await getPositionByIupd(app.db, ente.id, request.params.iupd);
    if (!p) throw notFound(request.params.iupd, ente.fiscalCode);
    return toGpdBaseResponse(p, ente, todayInItaly());
  });

  app.put<{ Params: IupdParams; Querystring: { toPublish: boolean }; Body: GpdPosition }>(
    `${ORG}/:iupd`,
    { config: { csrf: false }, schema: gpdRouteSchema('updatePosition') },
    async (request) => {
      const { ente, by } = who(request);
      const { iupd } = request.params;
      if (!await getPositionByIupd(app.db, ente.id, iupd)) throw notFound(iupd, ente.fiscalCode);
      const prepared = await prepare(ente, request.body, iupd);
      let p: PositionDetail;
      try {
        p = await updatePosition(app.db, ente, prepared.service, iupd, prepared.write, {}, by);
        if (request.query.toPublish && p.status === 'draft') p = await publishPosition(app.db, ente.id, iupd, by);
      } catch (err) {
        domainError(err, iupd, ente.fiscalCode);
      }
      return toGpdModel(p, ente, todayInItaly());
    },
  );

  app.delete<{ Params: IupdParams }>(`${ORG}/:iupd`, { config: { csrf: false }, schema: gpdRouteSchema('deletePosition') }, async (request, reply) => {
    const { ente, by } = who(request);
    try {
      await deleteDraftPosition(app.db, ente.id, request.params.iupd, by);
    } catch (err) {
      domainError(err, request.params.iupd, ente.fiscalCode);
    }
    // The document's answer is a JSON string (a string returned as such would go out as text/plain).
    return reply.type('application/json').send(JSON.stringify('OK'));
  });

  for (const [action, operation, allowed] of [
    ['publish', 'publishPosition', ['draft']],
    ['invalidate', 'invalidatePosition', ['published', 'expired']],
  ] as const) {
    app.post<{ Params: IupdParams }>(`${ORG}/:iupd/${action}`, { config: { csrf: false }, schema: gpdRouteSchema(operation) }, async (request) => {
      const { ente, by } = who(request);
      const { iupd } = request.params;
      const current = await getPositionByIupd(app.db, ente.id, iupd);
      if (!current) throw notFound(iupd, ente.fiscalCode);
      // A PUT keeps a published position published (GPD would take it back to DRAFT), so the GPD
      // client's usual next call, publish, finds it published already: answered as done when the
      // position changed since its publication (a second publish without a change is still 409).
      if (action === 'publish' && current.status === 'published' && current.publishedAt && current.updatedAt > current.publishedAt) {
        return toGpdModel(current, ente, todayInItaly());
      }
      if (!(allowed as readonly string[]).includes(current.status)) {
        throw new GpdProblem(409, TITLES[409]!, `Debt position ${iupd} is not in a ${action === 'publish' ? 'publishable' : 'invalidable'} state.`);
      }
      let p: PositionDetail;
      try {
        p = action === 'publish' ? await publishPosition(app.db, ente.id, iupd, by) : await cancelPosition(app.db, ente.id, iupd, by);
      } catch (err) {
        domainError(err, iupd, ente.fiscalCode);
      }
      return toGpdModel(p, ente, todayInItaly());
    });
  }
}

/** A GPD date interval: a missing end is 30 days from the other one (as the document says). */
function interval(from: string | undefined, to: string | undefined): [string | undefined, string | undefined] {
  const shift = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
  if (from && !to) return [from, shift(from, 30)];
  if (!from && to) return [shift(to, -30), to];
  return [from, to];
}
