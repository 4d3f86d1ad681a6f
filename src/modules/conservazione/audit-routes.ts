/**
 * "Verifiche e allarmi" of the responsabile della conservazione (issue #16 items 6 and 12):
 * `/admin/conservazione/verifiche` shows the fixity audit (stored files, files due, the runs with
 * their counts, the failed outcomes) and the alerts with their helpdesk tickets. The SAEL admin
 * (the responsabile) takes an alert in charge (`…/allarmi/:id/presa-in-carico`) and starts one
 * slice of the audit now (`…/avvia`); the helpdesk reads the page without the forms.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditContext, recordAudit } from '../../plugins/audit/index.js';
import { hasRole, requireRole } from '../../plugins/auth.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { AlertError, acknowledgeAlert, auditOverview, listAlerts, listAuditFailures, listAuditRuns } from './audit-repository.js';
import { fixityAuditRunning, runFixityAudit } from './fixity.js';

/** Blobs re-hashed by the "Avvia verifica ora" button (one slice, like the scheduled pass). */
export const MANUAL_SLICE = 2000;

const csrfOnly = { type: 'object', properties: { _csrf: { type: 'string', maxLength: 200 } }, additionalProperties: false } as const;
const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } }, required: ['id'], additionalProperties: false } as const;

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('it-IT')} ${n === 1 ? one : many}`;

export default async function auditRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.conservazione;
  const readers = requireRole(['sael_admin', 'helpdesk']);
  const responsabile = requireRole('sael_admin');

  async function page(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) {
    const alerts = await listAlerts(ctx);
    return reply.page('conservazione/audit-verifiche', {
      title: 'Verifiche di integrità e allarmi',
      canManage: hasRole(request.user, 'sael_admin'),
      overview: await auditOverview(ctx),
      runs: await listAuditRuns(ctx),
      failures: await listAuditFailures(ctx),
      openAlerts: alerts.open,
      acknowledgedAlerts: alerts.acknowledged,
      running: fixityAuditRunning(ctx),
      slice: MANUAL_SLICE.toLocaleString('it-IT'),
      notice: takeFlash(request),
      ...extra,
    });
  }

  app.get('/admin/conservazione/verifiche', { preHandler: readers }, async (request, reply) => page(request, reply));

  app.post('/admin/conservazione/verifiche/avvia', { preHandler: responsabile, schema: { body: csrfOnly } }, async (request, reply) => {
    if (fixityAuditRunning(ctx)) return page(request, reply.code(409), { error: 'Una verifica è già in corso: attendi che finisca e ricarica la pagina.' });
    const by = auditContext(request);
    let result;
    try {
      result = await runFixityAudit(ctx, { maxBlobs: MANUAL_SLICE, actor: by.actor, full: true });
    } catch (e) {
      request.log.error({ err: (e as Error).message }, 'fixity audit failed');
      return page(request, reply.code(503), {
        error: `La verifica si è interrotta: l’archivio dei file non ha risposto (${(e as Error).message}). Riprenderà dal punto in cui si è fermata alla prossima esecuzione.`,
      });
    }
    await recordAudit(app.db, { actor: by.actor, action: 'conservazione.audit.run', entity: 'cons_audit_run', entityId: result.runId ?? 0, after: result, requestId: by.requestId });
    if (result.runId === null) {
      setFlash(request, 'Nessun file da verificare: l’archivio non contiene ancora file.');
    } else {
      const failed = result.mismatches + result.missing;
      setFlash(
        request,
        `Verifica n. ${result.runId}: ${plural(result.checked, 'file controllato', 'file controllati')}, ${plural(result.ok, 'integro', 'integri')}` +
          (result.mismatches ? `, ${plural(result.mismatches, 'alterato', 'alterati')}` : '') +
          (result.missing ? `, ${plural(result.missing, 'mancante', 'mancanti')}` : '') +
          (failed ? ' (vedi gli allarmi aperti)' : '') +
          (result.done ? '. Verifica completata.' : '. La verifica proseguirà dal punto raggiunto.'),
      );
    }
    return reply.redirect('/admin/conservazione/verifiche', 303);
  });

  app.post<{ Params: { id: number } }>(
    '/admin/conservazione/verifiche/allarmi/:id/presa-in-carico',
    { preHandler: responsabile, schema: { params: idParams, body: csrfOnly } },
    async (request, reply) => {
      try {
        await acknowledgeAlert(ctx, request.params.id, { userId: request.user!.id, requestId: request.id });
      } catch (e) {
        if (e instanceof AlertError) return page(request, reply.code(e.status), { error: e.message });
        throw e;
      }
      setFlash(request, `Allarme n. ${request.params.id} preso in carico.`);
      return reply.redirect('/admin/conservazione/verifiche', 303);
    },
  );
}
