/**
 * "Sportello PSP" of the simulator: a page where a tester pays any notice (fiscal code of the
 * ente + notice number) as a PSP would, through the simulated node (real SOAP to our station),
 * with optional fault injection; "Paga un servizio" (/psp/servizi): pays a service payable at a
 * PSP without a notice — the tester picks an ente's service, fills its form (the fields of the
 * one service definition), and the node sends paDemandPaymentNotice, then paGetPayment(V2) and
 * paSendRT(V2) on the notice the ente answers with; and the central archive (ACA) `POST /aca/paCreatePosition`,
 * which checks the body (NewDebtPositionRequest), records it and answers 200 (fault injection for tests).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { parseEuroToCents } from '../../domain/money.js';
import { getServiceWithEnte, listPspPayableServices, type Ente, type PaymentService } from '../../modules/enti/repository.js';
import { amountRule, fieldsOf } from '../../modules/enti/service-fields.js';
import { buildServiceForm } from '../../modules/pagopa/demand-xsd.js';
import { HttpError } from '../../plugins/errors.js';
import { payNotice, payService, type ServicePayResult } from './node.js';

interface DeskBody {
  fiscalCode: string;
  noticeNumber: string;
  primitive?: 'v1' | 'v2';
  duplicates?: string;
  delay?: string;
}

export default async function pspSimulator(app: FastifyInstance) {
  app.get('/psp', { schema: { hide: true } }, async (_request, reply) => reply.page('simulators/pagopa/psp', { title: 'Sportello PSP (simulatore pagoPA)' }));

  app.post<{ Body: DeskBody }>(
    '/psp',
    {
      config: { csrf: false },
      schema: {
        hide: true,
        body: {
          type: 'object',
          required: ['fiscalCode', 'noticeNumber'],
          properties: {
            fiscalCode: { type: 'string', pattern: '^\\s*[0-9]{11}\\s*$' },
            noticeNumber: { type: 'string', pattern: '^[0-9 ]{18,24}$' },
            primitive: { type: 'string', enum: ['v1', 'v2'] },
            duplicates: { type: 'string', enum: ['', '0', '1', '3'] },
            delay: { type: 'string', enum: ['', 'on'] },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const result = await payNotice(app, {
        fiscalCode: b.fiscalCode.trim(),
        noticeNumber: b.noticeNumber.replace(/\s/g, ''),
        v2: b.primitive !== 'v1',
        faults: { duplicates: Number(b.duplicates || 0), delayMs: b.delay === 'on' ? 5000 : 0 },
      }).catch((e: Error) => ({ ok: false, step: 'verify' as const, faultCode: `errore di rete: ${e.message}`, sendOutcomes: {} }));
      return reply.page('simulators/pagopa/psp', {
        title: 'Sportello PSP (simulatore pagoPA)',
        result,
        form: { ...b },
        outcomes: Object.entries(result.sendOutcomes).map(([cf, outcome]) => ({ cf, outcome })),
      });
    },
  );

  // ---------------------------------------------------------------- pay a service without a notice

  const SERVICE_PAGE = 'simulators/pagopa/psp-service';
  const SERVICE_TITLE = 'Paga un servizio (simulatore pagoPA)';

  async function servicePage(
    reply: FastifyReply,
    chosen: { ente: Ente; service: PaymentService } | undefined,
    extra: { status?: number; form?: Record<string, string>; errors?: Record<string, string>; result?: ServicePayResult } = {},
  ) {
    const form = extra.form ?? { tipo: 'F' };
    const errors = extra.errors ?? {};
    const services = (await listPspPayableServices(app.db)).map((r) => ({
      id: r.service.id,
      label: `${r.ente.name} – ${r.service.name} (idServizio ${r.service.pspServiceId})`,
      selected: r.service.id === chosen?.service.id,
    }));
    const rule = chosen ? amountRule(chosen.service) : null;
    return reply.code(extra.status ?? 200).page(SERVICE_PAGE, {
      title: SERVICE_TITLE,
      services,
      chosen: chosen
        ? {
            id: chosen.service.id,
            ente: chosen.ente.name,
            name: chosen.service.name,
            pspServiceId: chosen.service.pspServiceId,
            fields: fieldsOf(chosen.service).map((f) => ({ ...f, value: form[`f_${f.name}`] ?? '', error: errors[`f_${f.name}`] })),
            fixed: rule!.fixed,
            hint: rule!.hint,
          }
        : null,
      form,
      errors,
      result: extra.result,
      outcomes: extra.result ? Object.entries(extra.result.sendOutcomes).map(([cf, outcome]) => ({ cf, outcome })) : [],
    });
  }

  async function payableService(serviceId: number): Promise<{ ente: Ente; service: PaymentService }> {
    const found = await getServiceWithEnte(app.db, serviceId);
    if (!found || !found.service.pspServiceId) throw new HttpError(404, 'Servizio non pagabile presso i PSP.');
    return found;
  }

  app.get<{ Querystring: { servizio?: number } }>(
    '/psp/servizi',
    { schema: { hide: true, querystring: { type: 'object', properties: { servizio: { type: 'integer', minimum: 1 } }, additionalProperties: false } } },
    async (request, reply) => servicePage(reply, request.query.servizio ? await payableService(request.query.servizio) : undefined),
  );

  app.post<{ Params: { serviceId: number }; Body: Record<string, string> }>(
    '/psp/servizi/:serviceId',
    {
      config: { csrf: false },
      schema: {
        hide: true,
        params: { type: 'object', properties: { serviceId: { type: 'integer', minimum: 1 } }, required: ['serviceId'] },
        body: { type: 'object', maxProperties: 20, additionalProperties: { type: 'string', maxLength: 300 } },
      },
    },
    async (request, reply) => {
      const chosen = await payableService(request.params.serviceId);
      const b = request.body;
      const errors: Record<string, string> = {};
      // The simulated PSP sends what the tester typed: the ente's station checks it against the service's XSD.
      let amountCents: number | undefined;
      if (!amountRule(chosen.service).fixed) {
        const typed = (b.importo ?? '').trim();
        const cents = typed ? parseEuroToCents(typed) : null;
        if (cents === null) errors.importo = 'Scrivi l’importo in euro, ad esempio 25,50.';
        else amountCents = cents;
      }
      if (Object.keys(errors).length > 0) return servicePage(reply, chosen, { status: 400, form: b, errors });
      const fields = Object.fromEntries(fieldsOf(chosen.service).map((f, i) => [f.name, b.invalid === 'on' && i === 0 ? '' : (b[`f_${f.name}`] ?? '')]));
      const formXml = buildServiceForm(chosen.ente, chosen.service, {
        debtor: { type: b.tipo === 'G' ? 'G' : 'F', fiscalCode: (b.codiceFiscale ?? '').replace(/\s/g, '').toUpperCase(), fullName: (b.nominativo ?? '').trim(), email: (b.email ?? '').trim() || undefined },
        fields,
        ...(amountCents === undefined ? {} : { amountCents }),
      });
      const result = await payService(app, { fiscalCode: chosen.ente.fiscalCode, idServizio: chosen.service.pspServiceId!, formXml, v2: b.primitive !== 'v1' }).catch(
        (e: Error): ServicePayResult => ({ ok: false, step: 'demand', faultCode: `errore di rete: ${e.message}`, sendOutcomes: {} }),
      );
      return servicePage(reply, chosen, { form: b, result });
    },
  );

  app.post<{ Body: Record<string, unknown> }>(
    '/aca/paCreatePosition',
    { config: { csrf: false }, schema: { hide: true, body: { type: 'object' } }, attachValidation: true },
    async (request, reply) => {
      if (request.headers['ocp-apim-subscription-key'] !== app.config.pagopa.subscriptionKey) {
        return reply.code(401).send({ statusCode: 401, message: 'Access denied due to invalid subscription key.' });
      }
      if (acaSimulator.failNext > 0) {
        acaSimulator.failNext--;
        return reply.code(acaSimulator.failStatus).type('application/problem+json').send({ type: 'about:blank', title: 'Simulated failure', status: acaSimulator.failStatus, detail: 'Errore simulato' });
      }
      const problem = checkAcaBody(request.body);
      if (problem) return reply.code(400).type('application/problem+json').send({ type: 'about:blank', title: 'Formally invalid input', status: 400, detail: problem });
      acaSimulator.received.push(request.body);
      if (acaSimulator.received.length > 1000) acaSimulator.received.splice(0, acaSimulator.received.length - 1000);
      return reply.code(200).send({ ...request.body, companyName: 'Ente creditore', status: Number(request.body.amount) === 0 ? 'INVALID' : 'VALID' });
    },
  );
}

/** What the simulated central archive received (tests), and fault injection. Process-wide, demo/test only. */
export const acaSimulator = {
  received: [] as Record<string, unknown>[],
  /** The next N calls answer `failStatus`. */
  failNext: 0,
  failStatus: 503,
};

/** The checks of NewDebtPositionRequest (paCreatePosition.json) the simulator applies; the message, or null. */
export function checkAcaBody(b: Record<string, unknown>): string | null {
  const str = (k: string, min: number, max: number) => typeof b[k] === 'string' && (b[k] as string).length >= min && (b[k] as string).length <= max;
  for (const [k, min, max] of [['paFiscalCode', 11, 11], ['entityFiscalCode', 2, 255], ['entityFullName', 1, 255], ['iuv', 1, 255], ['description', 1, 255], ['expirationDate', 1, 64]] as const) {
    if (!str(k, min, max)) return `${k} mancante o di lunghezza errata`;
  }
  if (b.entityType !== 'F' && b.entityType !== 'G') return 'entityType deve essere F o G';
  if (!Number.isInteger(b.amount) || (b.amount as number) < 0 || (b.amount as number) > 99999999999) return 'amount deve essere un intero di centesimi ≥ 0';
  if (b.nav !== undefined && !str('nav', 1, 255)) return 'nav non valido';
  for (const k of ['iban', 'postalIban']) if (b[k] !== undefined && !str(k, 27, 27)) return `${k} deve avere 27 caratteri`;
  for (const k of ['switchToExpired', 'payStandIn']) if (b[k] !== undefined && typeof b[k] !== 'boolean') return `${k} deve essere booleano`;
  return null;
}
