/**
 * Spontaneous payments ("pagamenti spontanei") for the services of a comune that allow them
 * (`payment_services.spontaneous`): a form with the fields of the service and the amount (fixed,
 * or free within the service's bounds) creates a published position whose debtor is the logged-in
 * citizen, then pays it on Checkout.
 *
 * - GET  /comuni/:ipa/servizi/:code      the form (anonymous: what the service is + login buttons)
 * - POST /comuni/:ipa/servizi/:code      validation → position (preparePositionWrite + createPosition) → Checkout
 *
 * The extra fields of each service and its amount rule come from enti/service-fields.ts, the one
 * definition the payments started at a PSP (paDemandPaymentNotice) use too.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseEuroToCents } from '../../domain/money.js';
import { HttpError } from '../../plugins/errors.js';
import { auditContext } from '../../plugins/audit/index.js';
import { eq } from 'drizzle-orm';
import { getServiceByCode, type Ente, type PaymentService } from '../enti/repository.js';
import { enti } from '../enti/schema.js';
import { CheckoutError, startCheckout } from '../pagopa/checkout.js';
import { createPosition } from '../positions/repository.js';
import { preparePositionWrite, todayInItaly } from '../positions/service.js';
import { amountError, amountRule, checkFieldValues, fieldsOf, SPONTANEOUS_DUE_DAYS, spontaneousPositionBody } from '../enti/service-fields.js';
import { cartCount } from './cart.js';

// The service's fields and amount rule: one definition shared with the payments started at a PSP.
export { amountRule, fieldsOf, SERVICE_FIELDS, type ServiceField } from '../enti/service-fields.js';

const IPA = { type: 'string', pattern: '^[a-z0-9_]{2,20}$' } as const;
const params = { type: 'object', properties: { ipa: IPA, code: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,35}$' } }, required: ['ipa', 'code'] } as const;

/** A member ente by IPA code (case-insensitive), or undefined. */
export async function enteByIpa(app: FastifyInstance, ipa: string): Promise<Ente | undefined> {
  return (await app.db.select().from(enti).where(eq(enti.ipaCode, ipa.toLowerCase())).limit(1))[0];
}

export default async function spontaneousRoutes(app: FastifyInstance) {
  async function resolve(request: FastifyRequest<{ Params: { ipa: string; code: string } }>): Promise<{ ente: Ente; service: PaymentService }> {
    const ente = await enteByIpa(app, request.params.ipa);
    if (!ente || !ente.member) throw new HttpError(404, 'Comune non trovato tra gli enti aderenti.');
    const service = await getServiceByCode(app.db, ente.id, request.params.code.toUpperCase());
    if (!service || !service.active || !service.spontaneous) throw new HttpError(404, 'Questo servizio non prevede pagamenti spontanei dal portale.');
    return { ente, service };
  }

  function formPage(
    request: FastifyRequest,
    reply: FastifyReply,
    ente: Ente,
    service: PaymentService,
    extra: { status?: number; values?: Record<string, string>; errors?: Record<string, string>; error?: string } = {},
  ) {
    const values = extra.values ?? {};
    const errors = extra.errors ?? {};
    const rule = amountRule(service);
    return reply.code(extra.status ?? 200).page('portal/spontaneous', {
      title: service.name,
      csrf: true,
      cartCount: cartCount(request),
      ente,
      service,
      rule,
      loginHref: `/accesso?next=${encodeURIComponent(request.url.split('?', 1)[0]!)}`,
      fields: fieldsOf(service).map((f) => ({ ...f, value: values[f.name] ?? '', error: errors[f.name] })),
      amount: values.importo ?? '',
      amountError: errors.importo,
      privacyError: errors.privacy,
      errorList: Object.entries(errors).map(([field, message]) => ({ field: field === 'importo' ? 'importo' : field === 'privacy' ? 'privacy' : `f-${field}`, message })),
      error: extra.error,
    });
  }

  app.get<{ Params: { ipa: string; code: string } }>('/comuni/:ipa/servizi/:code', { schema: { params } }, async (request, reply) => {
    const { ente, service } = await resolve(request);
    return formPage(request, reply, ente, service);
  });

  app.post<{ Params: { ipa: string; code: string }; Body: Record<string, string> }>(
    '/comuni/:ipa/servizi/:code',
    {
      schema: {
        params,
        body: { type: 'object', maxProperties: 12, additionalProperties: { type: 'string', maxLength: 200 } },
      },
    },
    async (request, reply) => {
      if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per fare un pagamento spontaneo.');
      const user = request.user;
      const { ente, service } = await resolve(request);
      const body = request.body;
      const { values: parts, errors } = checkFieldValues(service, body);
      const rule = amountRule(service);
      let cents: number | null = rule.fixed ? rule.min : null;
      if (!rule.fixed) {
        const typed = (body.importo ?? '').trim();
        cents = typed ? parseEuroToCents(typed) : null;
        if (!typed) errors.importo = 'Indica l’importo da pagare.';
        else {
          const problem = amountError(rule, cents ?? 0);
          if (problem) errors.importo = problem;
        }
      }
      if (body.privacy !== 'si') errors.privacy = 'Per proseguire conferma di aver letto l’informativa sulla privacy.';
      if (Object.keys(errors).length > 0) return formPage(request, reply, ente, service, { status: 400, values: body, errors });

      const due = new Date(Date.now() + SPONTANEOUS_DUE_DAYS * 86_400_000);
      const debtor = {
        type: 'F' as const,
        fiscalCode: user.fiscalCode,
        fullName: [user.name, user.familyName].filter(Boolean).join(' ') || user.fiscalCode,
        ...(user.email ? { email: user.email } : {}),
      };
      const prepared = await preparePositionWrite(app.db, ente, spontaneousPositionBody(service, debtor, parts, cents!, todayInItaly(due)));
      if (!prepared.ok) {
        request.log.warn({ fields: prepared.errors.map((e) => e.field) }, 'spontaneous payment refused by the position rules');
        return formPage(request, reply, ente, service, { status: 422, values: body, error: `Il pagamento non può essere creato: ${prepared.errors.map((e) => e.message).join(' ')}` });
      }
      const { position } = await createPosition(app.db, ente, prepared.service, prepared.write, { publish: true }, auditContext(request));
      try {
        const { cartId, redirectUrl } = await startCheckout(
          app.db,
          { notices: [{ enteId: ente.id, noticeNumber: position.options[0]!.noticeNumber }], ...(user.email ? { email: user.email } : {}), returnBase: app.config.publicUrl, actor: `user:${user.id}`, requestId: request.id },
          app.config.pagopa,
        );
        request.session.portalPayments = [cartId, ...(request.session.portalPayments ?? [])].slice(0, 10);
        return reply.header('cache-control', 'no-store').redirect(redirectUrl, 303);
      } catch (err) {
        if (!(err instanceof CheckoutError)) throw err;
        return formPage(request, reply, ente, service, {
          status: 409,
          values: body,
          error: `${err.message} Il pagamento è stato registrato e lo trovi tra le posizioni «Da pagare» della tua area personale.`,
        });
      }
    },
  );
}
