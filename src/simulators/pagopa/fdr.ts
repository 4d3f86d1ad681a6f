/**
 * Simulated nodeForPa: `nodoChiediElencoFlussiRendicontazione` and `nodoChiediFlussoRendicontazione`
 * answering with reporting flows (FlussoRiversamento 1.0.4, valid against the XSD) built from the
 * receipts the simulator issued: one flow per (beneficiary ente, settlement date, PSP), one row per
 * transfer credited to that ente (stamps excluded). Fault injection for the client's tests.
 */
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { asc } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { centsToDecimalString } from '../../domain/money.js';
import { el, parseEnvelope, soapEnvelope, soapFault, text, xml, type XmlContent } from '../../modules/pagopa/soap.js';
import { FLUSSO_NS, NODE_FOR_PA_NS, nodeForPaSoapSchema } from '../../modules/pagopa/spec-files.js';
import { simPayments } from './schema.js';

/** Switches the tests flip to exercise the client (process-wide, demo/test only). */
export const fdrSimFaults = {
  /** The next N nodoChiediFlussoRendicontazione calls answer HTTP 503. */
  failNextDownloads: 0,
  /** Flow ids whose XML is sent XSD-invalid. */
  invalidFlowIds: new Set<string>(),
  /** Delay before answering any nodoChiedi* call (timeouts). */
  delayMs: 0,
};

export interface SimFlow {
  flowId: string;
  flowDateTime: string;
  receiverFiscalCode: string;
  xml: string;
}

interface Row {
  iuv: string;
  iur: string;
  index: number;
  amountCents: number;
  date: string;
}

/** Every flow the simulated node can report for this ente (deterministic for the same receipts). */
export function buildFlows(db: DbLike, fiscalCode: string): SimFlow[] {
  const groups = new Map<string, { date: string; psp: string; rows: Row[] }>();
  for (const p of db.select().from(simPayments).orderBy(asc(simPayments.id)).all()) {
    const transfers = JSON.parse(p.transfers) as { idTransfer: number; fiscalCodePA: string; amountCents: number; stamp?: boolean }[];
    const date = p.paidAt.slice(0, 10);
    for (const t of transfers) {
      if (t.fiscalCodePA !== fiscalCode || t.stamp) continue;
      const key = `${date}|${p.pspId}`;
      const g = groups.get(key) ?? { date, psp: p.pspId, rows: [] };
      g.rows.push({ iuv: p.iuv, iur: p.receiptId, index: t.idTransfer, amountCents: t.amountCents, date });
      groups.set(key, g);
    }
  }
  return [...groups.values()].map((g, i) => {
    const flowId = `${g.date}${g.psp}-${String(i + 1).padStart(10, '0')}`;
    const flowDateTime = `${g.date}T23:00:00`;
    const total = g.rows.reduce((s, r) => s + r.amountCents, 0);
    const trn = crypto.createHash('sha256').update(flowId + fiscalCode).digest('hex').slice(0, 20).toUpperCase();
    const body: XmlContent = [
      el('pay_i:versioneOggetto', '1.0'),
      el('pay_i:identificativoFlusso', flowId),
      el('pay_i:dataOraFlusso', flowDateTime),
      el('pay_i:identificativoUnivocoRegolamento', `SIM${trn}`),
      el('pay_i:dataRegolamento', g.date),
      el('pay_i:istitutoMittente', [
        el('pay_i:identificativoUnivocoMittente', [el('pay_i:tipoIdentificativoUnivoco', 'B'), el('pay_i:codiceIdentificativoUnivoco', g.psp)]),
        el('pay_i:denominazioneMittente', 'PSP simulato S.p.A.'),
      ]),
      el('pay_i:codiceBicBancaDiRiversamento', 'SIMPITM1XXX'),
      el('pay_i:istitutoRicevente', [
        el('pay_i:identificativoUnivocoRicevente', [el('pay_i:tipoIdentificativoUnivoco', 'G'), el('pay_i:codiceIdentificativoUnivoco', fiscalCode)]),
      ]),
      el('pay_i:numeroTotalePagamenti', g.rows.length),
      el('pay_i:importoTotalePagamenti', centsToDecimalString(total)),
      g.rows.map((r) =>
        el('pay_i:datiSingoliPagamenti', [
          el('pay_i:identificativoUnivocoVersamento', r.iuv),
          el('pay_i:identificativoUnivocoRiscossione', r.iur),
          el('pay_i:indiceDatiSingoloPagamento', r.index),
          el('pay_i:singoloImportoPagato', centsToDecimalString(r.amountCents)),
          el('pay_i:codiceEsitoSingoloPagamento', '0'),
          el('pay_i:dataEsitoSingoloPagamento', r.date),
        ]),
      ),
    ];
    const doc = `<?xml version="1.0" encoding="UTF-8"?>${xml(el('pay_i:FlussoRiversamento', body, ` xmlns:pay_i="${FLUSSO_NS}"`))}`;
    return { flowId, flowDateTime, receiverFiscalCode: fiscalCode, xml: doc };
  });
}

function answer(name: string, content: XmlContent): string {
  return soapEnvelope(xml(el(`nfpa:${name}`, content, ` xmlns:nfpa="${NODE_FOR_PA_NS}"`)));
}

function fault(name: string, code: string, description: string): string {
  return answer(name, el('fault', [el('faultCode', code), el('faultString', description), el('id', 'NodoDeiPagamentiSPC'), el('description', description)]));
}

export default async function nodeForPaSimulator(app: FastifyInstance) {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
    scope.post('/nodo/node-for-pa', { config: { csrf: false }, schema: { hide: true } }, async (request, reply) => {
      if (fdrSimFaults.delayMs) await new Promise((r) => setTimeout(r, fdrSimFaults.delayMs));
      const body = typeof request.body === 'string' ? request.body : '';
      const send = (status: number, x: string) => reply.code(status).type('text/xml; charset=utf-8').send(x);
      let payload: Element;
      try {
        payload = parseEnvelope(body, 1024 * 1024).payload;
      } catch (e) {
        return send(500, soapFault('Client', `PPT_SINTASSI_EXTRAXSD: ${(e as Error).message}`));
      }
      const op = payload.localName;
      const resName = `${op}Risposta`;
      if (op !== 'nodoChiediElencoFlussiRendicontazione' && op !== 'nodoChiediFlussoRendicontazione') {
        return send(500, soapFault('Client', `operazione sconosciuta ${op}`));
      }
      if (request.headers['ocp-apim-subscription-key'] !== app.config.pagopa.subscriptionKey) {
        return reply.code(401).type('application/json').send({ statusCode: 401, message: 'Access denied due to invalid subscription key.' });
      }
      const check = nodeForPaSoapSchema().validate(body);
      if (!check.valid) return send(200, fault(resName, 'PPT_SINTASSI_XSD', check.errors[0] ?? 'XSD'));
      const s = app.config.pagopa;
      if (text(payload, 'identificativoIntermediarioPA') !== s.brokerId || text(payload, 'identificativoStazioneIntermediarioPA') !== s.stationId) {
        return send(200, fault(resName, 'PPT_STAZIONE_INT_PA_SCONOSCIUTA', 'Stazione sconosciuta'));
      }
      if (text(payload, 'password') !== s.stationPassword) return send(200, fault(resName, 'PPT_AUTENTICAZIONE', 'Password errata'));
      const dominio = text(payload, 'identificativoDominio');
      if (!dominio) return send(200, fault(resName, 'PPT_DOMINIO_SCONOSCIUTO', 'identificativoDominio richiesto dal simulatore'));
      const flows = buildFlows(app.db, dominio);
      if (op === 'nodoChiediElencoFlussiRendicontazione') {
        return send(
          200,
          answer(
            resName,
            el('elencoFlussiRendicontazione', [
              el('totRestituiti', flows.length),
              flows.map((f) => el('idRendicontazione', [el('identificativoFlusso', f.flowId), el('dataOraFlusso', f.flowDateTime)])),
            ]),
          ),
        );
      }
      if (fdrSimFaults.failNextDownloads > 0) {
        fdrSimFaults.failNextDownloads--;
        return reply.code(503).type('text/plain').send('Service Unavailable (simulato)');
      }
      const flowId = text(payload, 'identificativoFlusso');
      const flow = flows.find((f) => f.flowId === flowId);
      if (!flow) return send(200, fault(resName, 'PPT_ID_FLUSSO_SCONOSCIUTO', 'Flusso sconosciuto'));
      const doc = fdrSimFaults.invalidFlowIds.has(flow.flowId) ? flow.xml.replace('<pay_i:versioneOggetto>1.0<', '<pay_i:versioneOggetto>9.9<') : flow.xml;
      return send(200, answer(resName, el('xmlRendicontazione', Buffer.from(doc).toString('base64'))));
    });
  });
}
