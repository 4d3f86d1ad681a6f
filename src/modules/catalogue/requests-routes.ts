/**
 * Requests under a catalogue service: `/servizi/:code/richiesta` (form and submit, ente users of an
 * ente with an active adesione to the service) and `/backoffice/enti/:enteId/richieste` (the ente's
 * requests with their ticket state and SLA, units used against the included ones).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { eq } from 'drizzle-orm';
import { entiWithRole, requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { enti } from '../enti/schema.js';
import { readMultipart } from '../helpdesk/routes.js';
import { ATTACHMENT_EXTENSIONS, TICKET_PRIORITIES, TicketError } from '../helpdesk/tickets.js';
import {
  activeAdesione,
  enteUsageSummary,
  getActiveService,
  listEnteRequests,
  minutesLabel,
  openRequest,
  requestKindsOf,
  RequestError,
  unitsFor,
  type AdesioneRow,
  type ServiceRow,
} from './requests.js';
import { enteParams } from './ente-guard.js';

const codeParams = { type: 'object', properties: { code: { type: 'string', pattern: '^[0-9]{1,2}[A-Z]?$', maxLength: 4 } }, required: ['code'] } as const;
const formQuery = { type: 'object', properties: { ente: { type: 'integer', minimum: 1 } }, additionalProperties: false } as const;

interface Candidate {
  id: number;
  name: string;
  adesione: AdesioneRow | null;
}

export default async function requestsRoutes(app: FastifyInstance): Promise<void> {
  const ctx = () => app.catalogue;
  const maxBytes = () => app.config.helpdesk.attachmentMaxBytes;

  const loadService = async (code: string): Promise<ServiceRow> => {
    const s = await getActiveService(app.db, code);
    if (!s) throw new HttpError(404, 'Servizio non trovato nel catalogo SAEL.');
    return s;
  };

  /** The caller's enti (operator or ente_admin) with their active adesione to the service, if any. */
  const candidatesOf = async (request: FastifyRequest, service: ServiceRow): Promise<Candidate[]> => {
    if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per continuare.');
    const ids = entiWithRole(request.user, 'operator');
    if (ids.length === 0) throw new HttpError(403, 'Le richieste sui servizi SAEL si aprono dagli operatori e dai referenti degli enti aderenti.');
    const out: Candidate[] = [];
    for (const id of ids) {
      const e = await (await app.db.select({ id: enti.id, name: enti.name }).from(enti).where(eq(enti.id, id)).limit(1))[0];
      if (e) out.push({ ...e, adesione: await activeAdesione(app.db, id, service.id) });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name, 'it'));
  };

  const noAdesione = (reply: FastifyReply, service: ServiceRow, cands: Candidate[]) =>
    reply.code(403).page('catalogue/requests-no-adesione', { title: 'Adesione al servizio necessaria', service, enti: cands.map((c) => c.name) });

  const formPage = async (reply: FastifyReply, service: ServiceRow, cands: Candidate[], selected: Candidate, extra: Record<string, unknown> = {}) => {
    const units = await unitsFor(app.db, service, selected.adesione!, ctx().now());
    const form = (extra.form as Record<string, string> | undefined) ?? {};
    return reply.page('catalogue/requests-form', {
      title: `Nuova richiesta – ${service.name}`,
      service,
      slaTto: minutesLabel(service.slaTtoMinutes),
      slaTtr: minutesLabel(service.slaTtrMinutes),
      enti: cands.filter((c) => c.adesione).map((c) => ({ id: c.id, name: c.name, selected: c.id === selected.id })),
      several: cands.filter((c) => c.adesione).length > 1,
      selected,
      units,
      kinds: requestKindsOf(service).map((k) => ({ value: k, selected: k === form.kind })),
      priorities: Object.entries(TICKET_PRIORITIES)
        .filter(([v]) => v !== 'critica')
        .map(([value, label]) => ({ value, label, selected: value === (form.priority ?? 'media') })),
      maxMb: Math.round(maxBytes() / 1048576),
      extensions: ATTACHMENT_EXTENSIONS.join(', '),
      csrf: true,
      ...extra,
    });
  };

  app.get<{ Params: { code: string }; Querystring: { ente?: number } }>(
    '/servizi/:code/richiesta',
    { schema: { params: codeParams, querystring: formQuery } },
    async (request, reply) => {
      const service = await loadService(request.params.code);
      const cands = await candidatesOf(request, service);
      const ok = cands.filter((c) => c.adesione);
      if (ok.length === 0) return noAdesione(reply, service, cands);
      const selected = ok.find((c) => c.id === request.query.ente) ?? ok[0]!;
      return formPage(reply, service, cands, selected);
    },
  );

  app.post<{ Params: { code: string } }>('/servizi/:code/richiesta', { config: { upload: true }, schema: { params: codeParams } }, async (request, reply) => {
    const service = await loadService(request.params.code);
    const cands = await candidatesOf(request, service);
    const mp = await readMultipart(request, maxBytes());
    const f = mp.fields;
    const enteId = /^\d{1,9}$/.test(f.ente ?? '') ? Number(f.ente) : cands.find((c) => c.adesione)?.id;
    const selected = cands.find((c) => c.id === enteId);
    // Another ente's adesione never counts: only the caller's own enti are candidates.
    if (!selected || !selected.adesione) return noAdesione(reply, service, cands);
    const kinds = requestKindsOf(service);
    const subject = (f.subject ?? '').trim();
    const description = (f.description ?? '').trim();
    const errors: Record<string, string> = {};
    if (!kinds.includes(f.kind ?? '')) errors.kind = 'Scegli il tipo di richiesta.';
    if (subject.length < 5 || subject.length > 120) errors.subject = 'L’oggetto deve avere fra 5 e 120 caratteri.';
    if (description.length < 10 || description.length > 10000) errors.description = 'Descrivi la richiesta (da 10 a 10.000 caratteri).';
    if (!['bassa', 'media', 'alta'].includes(f.priority ?? '')) errors.priority = 'Scegli la priorità.';
    if (mp.tooLarge) errors.file = `L’allegato supera ${Math.round(maxBytes() / 1048576)} MB.`;
    if (Object.keys(errors).length) return formPage(reply.code(400), service, cands, selected, { errors, form: f });
    try {
      const out = await openRequest(
        ctx(),
        {
          enteId: selected.id,
          service,
          adesione: selected.adesione,
          kind: f.kind!,
          subject,
          description,
          priority: f.priority as 'bassa' | 'media' | 'alta',
          attachment: mp.file,
        },
        { userId: request.user!.id, requestId: request.id },
      );
      const u = out.units;
      setFlash(
        request,
        `Richiesta inviata: ticket n. ${out.ticketId}.` +
          (u.included === null
            ? ''
            : u.over
              ? ` Attenzione: con questa richiesta le unità usate sono ${u.used} su ${u.included} incluse nell’adesione; le unità in più possono essere addebitate secondo il listino.`
              : ` Unità usate: ${u.used} di ${u.included}.`),
      );
      return reply.redirect(`/backoffice/enti/${selected.id}/richieste`, 303);
    } catch (e) {
      if (e instanceof TicketError || e instanceof RequestError) {
        if (e.status === 409) return noAdesione(reply, service, cands);
        return formPage(reply.code(e.status), service, cands, selected, { errors: { file: e.message }, form: f });
      }
      throw e;
    }
  });

  const enteExists = async (request: FastifyRequest) => {
    const id = (request.params as { enteId: number }).enteId;
    return (await (await app.db.select({ id: enti.id }).from(enti).where(eq(enti.id, id)).limit(1))[0])?.id ?? null;
  };

  app.get<{ Params: { enteId: number } }>(
    '/backoffice/enti/:enteId/richieste',
    { preHandler: requireRole(['operator', 'helpdesk', 'sael_admin'], { ente: enteExists }), schema: { params: enteParams } },
    async (request, reply) => {
      const enteId = request.params.enteId;
      const ente = (await (await app.db.select({ id: enti.id, name: enti.name }).from(enti).where(eq(enti.id, enteId)).limit(1))[0])!;
      const rows = await listEnteRequests(ctx(), enteId);
      const usage = await enteUsageSummary(ctx(), enteId);
      return reply.page('catalogue/requests-list', {
        title: `Richieste sui servizi SAEL – ${ente.name}`,
        ente,
        rows: rows.map((r) => ({ ...r, tto: minutesLabel(r.ttoTarget), ttr: minutesLabel(r.ttrTarget), open: r.status !== 'resolved' && r.status !== 'closed' })),
        usage,
        notice: takeFlash(request),
      });
    },
  );
}
