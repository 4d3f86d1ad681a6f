/**
 * POST /pagopa/paForNode — the SOAP endpoint the pagoPA node calls (mTLS in production, see the
 * README). It answers SOAP itself in every case (never problem+json): its own body parser (raw
 * bytes, any content type), its own size limit and error handler. The browser plugins' work is
 * skipped on it (no CSP/helmet headers, no rate limit, no CSRF, no session): the station is the
 * platform's hot path. Receipts that arrive together are committed together (group commit), each
 * answered after the commit.
 * Each answered call goes to the log line, the /metrics counters and the helpdesk's node-call log.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { NodeCallLog } from '../helpdesk/node-call-log.js';
import { countStationCall, renderMetrics } from './metrics.js';
import { MAX_SOAP_BYTES } from './spec-files.js';
import { createReceiptBatcher } from './receipts.js';
import { beginStationRequest, stationErrorResult, type StationResult } from './station.js';
import type { StationReadPool } from './station-pool.js';

export const STATION_PATH = '/pagopa/paForNode';

declare module 'fastify' {
  interface FastifyInstance {
    /** The node's calls to the station, for the helpdesk timeline (flush before reading node_calls). */
    nodeCallLog: NodeCallLog;
    /** Worker threads for the node's read-only calls under load. */
    stationPool: StationReadPool;
  }
}

function send(reply: FastifyReply, log: NodeCallLog, r: StationResult, startedAt: bigint): FastifyReply {
  const ms = Number(process.hrtime.bigint() - startedAt) / 1e6;
  countStationCall(r.operation ?? 'unknown', r.outcome, r.faultCode, ms);
  reply.request.log.info(
    { pagopa: { operation: r.operation ?? 'unknown', idPA: r.idPA, noticeNumber: r.noticeNumber, outcome: r.outcome, faultCode: r.faultCode, ms: Math.round(ms * 10) / 10 } },
    'pagoPA node call',
  );
  if (r.operation && r.fiscalCode && r.noticeNumber && r.outcome !== 'FAULT') {
    log.record({ fiscalCode: r.fiscalCode, noticeNumber: r.noticeNumber, operation: r.operation, outcome: r.outcome, faultCode: r.faultCode ?? null, at: new Date().toISOString() });
  }
  return reply.code(r.status).type('text/xml; charset=utf-8').send(r.xml);
}

export default async function stationRoutes(app: FastifyInstance) {
  const nodeCalls = app.nodeCallLog;
  const receipts = createReceiptBatcher(app.db);
  const pool = app.stationPool;
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_SOAP_BYTES }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      const startedAt = process.hrtime.bigint();
      const tooLarge = error.statusCode === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
      if (!tooLarge && (error.statusCode ?? 500) >= 500) request.log.error({ err: error }, 'pagoPA station error');
      const r = tooLarge
        ? stationErrorResult(request.headers.soapaction, 'PAA_SINTASSI_EXTRAXSD', `Messaggio oltre ${MAX_SOAP_BYTES} byte`, app.config.pagopa.brokerId)
        : (error.statusCode ?? 500) < 500
          ? stationErrorResult(request.headers.soapaction, 'PAA_SINTASSI_EXTRAXSD', 'Richiesta HTTP non valida', app.config.pagopa.brokerId)
          : stationErrorResult(request.headers.soapaction, 'PAA_SYSTEM_ERROR', 'Errore interno della stazione', app.config.pagopa.brokerId);
      return send(reply, nodeCalls, r, startedAt);
    });
    // No CSRF (not a form), no rate limit (one client, mTLS in production), no session, no browser security headers.
    scope.post(STATION_PATH, { config: { csrf: false, rateLimit: false, session: false, securityHeaders: false }, bodyLimit: MAX_SOAP_BYTES }, async (request, reply) => {
      const startedAt = process.hrtime.bigint();
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const offloaded = pool.handle(body, request.headers.soapaction, request.id);
      const answered = offloaded && (await offloaded);
      if (answered) return send(reply, nodeCalls, answered, startedAt);
      const step = await beginStationRequest(
              { db: app.db, settings: app.config.pagopa },
              { body, soapAction: request.headers.soapaction, requestId: request.id },
            );
      // A receipt is answered only after the commit of its group (receipts.ts createReceiptBatcher).
      const r = 'finish' in step ? step.finish(await receipts.store(step.input)) : step;
      return send(reply, nodeCalls, r, startedAt);
    });
  });

  app.get('/metrics', { schema: { hide: true }, config: { session: false } }, async (_request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(renderMetrics({ workersReady: pool.readyWorkers, answeredByWorkers: pool.answeredByWorkers })),
  );
}
