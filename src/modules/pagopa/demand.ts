/**
 * paDemandPaymentNotice: a payment started at a PSP without a notice (pagoPA's services
 * catalogue). The node forwards the PSP's form for one of the ente's services payable at a PSP
 * (`payment_services.psp_service_id` = `idServizio`); the station
 * 1. finds the active service of the ente with that idServizio
 *    (none → PAA_PAGAMENTO_SCONOSCIUTO, inactive → PAA_SEMANTICA);
 * 2. decodes `datiSpecificiServizioRequest` and validates it against THAT service's generated XSD
 *    (demand-xsd.ts) → PAA_SINTASSI_XSD;
 * 3. checks it with the one definition of the service's fields and amount (enti/service-fields.ts)
 *    and the position rules (debtor's fiscal code, IBAN of the service) → PAA_SEMANTICA;
 * 4. creates a PUBLISHED position for the debtor of the form (one option, one transfer to the
 *    ente, due in SPONTANEOUS_DUE_DAYS, switch-to-expired) — the same position a spontaneous
 *    payment from the portal makes — and answers with the notice (qrCode), the amount
 *    (paymentList), the description and the ente. The payment then goes on with the usual
 *    paGetPayment(V2) / paSendRT(V2) on that notice.
 * `idSoggettoServizio` is required by the XSD and not used. Each call creates a new position: an
 * unpaid one (the PSP gave up, or the node retried) expires after its due date.
 */
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { XmlSafeParseError } from '../../xml/safe-parse.js';
import { parseXmlLite } from '../../xml/lite-dom.js';
import type { Ente, PaymentService } from '../enti/repository.js';
import { paymentServices } from '../enti/schema.js';
import { amountError, amountRule, checkFieldValues, SPONTANEOUS_DUE_DAYS, spontaneousPositionBody } from '../enti/service-fields.js';
import { createPosition } from '../positions/repository.js';
import { preparePositionWrite, todayInItaly } from '../positions/service.js';
import { FORM_ROOT, MAX_FORM_BYTES, readServiceForm, serviceFormNamespace, serviceFormSchema } from './demand-xsd.js';
import { verifyContent } from './payment-xml.js';
import { el, text, type XmlContent } from './soap.js';

export type DemandFault = 'PAA_SINTASSI_XSD' | 'PAA_PAGAMENTO_SCONOSCIUTO' | 'PAA_SEMANTICA';

export type DemandOutcome =
  | { ok: true; content: XmlContent; noticeNumber: string }
  | { ok: false; code: DemandFault; description: string };

/** The ente's service with this idServizio in pagoPA's services catalogue. */
async function serviceByPspId(db: Db, enteId: number, pspServiceId: string): Promise<PaymentService | undefined> {
  return (await db
      .select()
      .from(paymentServices)
      .where(and(eq(paymentServices.enteId, enteId), eq(paymentServices.pspServiceId, pspServiceId))).limit(1))[0];
}

const fail = (code: DemandFault, description: string): DemandOutcome => ({ ok: false, code, description });

/** The whole primitive after the envelope, XSD and identity checks of the station. */
export async function demandPaymentNotice(db: Db, ente: Ente, payload: Element, now: Date = new Date()): Promise<DemandOutcome> {
  const idServizio = text(payload, 'idServizio') ?? '';
  const service = await serviceByPspId(db, ente.id, idServizio);
  if (!service) return fail('PAA_PAGAMENTO_SCONOSCIUTO', `Nessun servizio dell’ente ${ente.fiscalCode} con idServizio «${idServizio}» è pagabile presso i PSP`);
  if (!service.active) return fail('PAA_SEMANTICA', `Il servizio «${service.name}» (idServizio ${idServizio}) non è attivo: non è pagabile presso i PSP`);

  // The form: base64 (checked by the request XSD) → XML → the service's XSD.
  const raw = Buffer.from(text(payload, 'datiSpecificiServizioRequest') ?? '', 'base64');
  if (raw.length === 0) return fail('PAA_SINTASSI_XSD', 'datiSpecificiServizioRequest vuoto');
  if (raw.length > MAX_FORM_BYTES) return fail('PAA_SINTASSI_XSD', `datiSpecificiServizioRequest oltre ${MAX_FORM_BYTES} byte`);
  let doc: ReturnType<typeof parseXmlLite>;
  try {
    doc = parseXmlLite(raw, { maxBytes: MAX_FORM_BYTES });
  } catch (e) {
    if (!(e instanceof XmlSafeParseError)) throw e;
    return fail('PAA_SINTASSI_XSD', `datiSpecificiServizioRequest non è XML valido: ${e.message}`.slice(0, 400));
  }
  let form: ReturnType<typeof readServiceForm>;
  try {
    const root = doc.documentElement;
    const ns = serviceFormNamespace(ente, service);
    if (root.localName !== FORM_ROOT || root.namespaceURI !== ns) {
      return fail('PAA_SINTASSI_XSD', `datiSpecificiServizioRequest: atteso l’elemento ${FORM_ROOT} nel namespace ${ns} (XSD del servizio nel catalogo)`);
    }
    const check = serviceFormSchema(ente, service).validateDocument(doc.native);
    if (!check.valid) return fail('PAA_SINTASSI_XSD', `datiSpecificiServizioRequest non valido per l’XSD del servizio: ${check.errors.slice(0, 3).join(' | ')}`);
    form = readServiceForm(root, service);
  } finally {
    doc.dispose();
  }

  // The same checks as the portal's spontaneous payment (one definition), then the position rules.
  const { values, errors } = checkFieldValues(service, form.fields);
  const rule = amountRule(service);
  const cents = rule.fixed ? rule.min : form.amountCents;
  const amountProblem = cents === undefined ? 'importo mancante' : amountError(rule, cents);
  if (amountProblem) errors.importo = amountProblem;
  if (Object.keys(errors).length > 0) return fail('PAA_SEMANTICA', Object.values(errors).join(' '));
  const today = todayInItaly(now);
  const due = todayInItaly(new Date(now.getTime() + SPONTANEOUS_DUE_DAYS * 86_400_000));
  const prepared = await preparePositionWrite(db, ente, spontaneousPositionBody(service, form.debtor, values, cents!, due), { today });
  if (!prepared.ok) return fail('PAA_SEMANTICA', prepared.errors.map((e) => e.message).join(' ').slice(0, 900));

  const { position } = await createPosition(db, ente, prepared.service, prepared.write, { publish: true }, { actor: `pagopa:paDemandPaymentNotice:${idServizio}` });
  const option = position.options[0]!;
  const found = { ...position, serviceName: service.name };
  return {
    ok: true,
    noticeNumber: option.noticeNumber,
    content: [el('qrCode', [el('fiscalCode', ente.fiscalCode), el('noticeNumber', option.noticeNumber)]), await verifyContent(db, ente, found, option)],
  };
}
