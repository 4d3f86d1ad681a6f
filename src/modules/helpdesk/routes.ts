/**
 * Helpdesk pages under /helpdesk: dashboard (SVG chart), transaction search + CSV + timeline,
 * reporting flows (upload, detail), treasury statements (upload, manual match/unmatch), anomalies
 * worklist + ageing report, tickets, and the local mailbox. Helpdesk staff see every ente; comune
 * operators only their own (every query takes the caller's scope). Also the periodic task
 * (pending flows from the node client, parked credits, SLA breaches, auto-close, outbox). The log
 * of node calls shown in the payment timeline is written by the station (node-call-log.ts).
 */
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { stringify } from 'csv-stringify/sync';
import { entiWithRole, hasRole } from '../../plugins/auth.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { HttpError } from '../../plugins/errors.js';
import { parseEuroToCents } from '../../domain/money.js';
import { CSV_SAFE_CAST } from '../../domain/csv-safe.js';
import { actorLabel, listQueryErrorFormatter, loadActorNames, pageParam } from '../backoffice/shared.js';
import { simulatedCredits, treasuryCamt053, treasuryCsv } from '../../simulators/pagopa/treasury.js';
import { buildFlows } from '../../simulators/pagopa/fdr.js';
import { flushOutbox, smtpSender, type MailSender } from './mail.js';
import { barChartSvg } from './chart.js';
import { RECON_ANOMALIES, RECEIPT_ANOMALY_LABELS } from './matching.js';
import {
  ageingReport,
  ANOMALY_STATUSES,
  dashboard,
  flowDetail,
  inScope,
  listAnomalies,
  listFlows,
  listMovements,
  MOVEMENT_STATES,
  paymentTimeline,
  searchTransactions,
  CURSOR_PATTERN,
  formatCursor,
  parseCursor,
  type PageCursor,
  TX_STATES,
  type Scope,
  type TxFilter,
} from './queries.js';
import { importStatement, ingestFlowXml, manualMatch, manualUnmatch, processPendingFlows, ReconError, retryParked, type Recon } from './reconcile.js';
import opiApi from './opi-api.js';
import { importOpiPage, pendingOpiJournals, type OpiUploadResult } from './opi-import.js';
import { looksLikeOpi, OPI_VERSIONS, type OpiVersion } from './opi-journal.js';
import { writeOpiJournal } from './opi-writer.js';
import { pruneNodeCalls } from './node-call-log.js';
import { defaultCalendar, type BusinessCalendar } from './sla-calendar.js';
import {
  ACTION_LABELS,
  allowedActions,
  autoClose,
  checkSlaBreaches,
  createTicket,
  getTicket,
  reply as replyTicket,
  slaOf,
  STATUS_LABELS,
  TICKET_CATEGORIES,
  TICKET_PRIORITIES,
  TICKET_TYPES,
  TicketError,
  transition,
  type AttachmentIn,
  type TicketAction,
  type TicketRow,
  type TicketsCtx,
  HISTORY_LABELS,
} from './tickets.js';
import { describeTicketLink, type TicketLink, type TicketLinkKind } from './ticket-links.js';
import { sqlAll, sqlGet, sqlRun } from '../../db/raw.js';
import { underLease } from '../../plugins/scheduled-pass.js';

const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;
const TICK_MS = 60_000;

export interface MultipartData {
  fields: Record<string, string>;
  file: AttachmentIn | null;
  tooLarge: boolean;
}

/** Reads a multipart form (fields + at most one file of maxBytes); shared with the catalogue's requests. */
export async function readMultipart(request: FastifyRequest, maxBytes: number): Promise<MultipartData> {
  const out: MultipartData = { fields: {}, file: null, tooLarge: false };
  if (!request.isMultipart()) throw new HttpError(400, 'Invia il modulo con il file (multipart/form-data).');
  for await (const part of request.parts({ limits: { fileSize: maxBytes } })) {
    if (part.type === 'file') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of part.file) {
        size += (c as Buffer).length;
        if (size <= maxBytes) chunks.push(c as Buffer);
      }
      if (part.file.truncated || size > maxBytes) out.tooLarge = true;
      else if (size > 0 && !out.file) out.file = { fileName: part.filename || 'file', contentType: part.mimetype, data: Buffer.concat(chunks) };
    } else if (typeof part.value === 'string') out.fields[part.fieldname] = part.value.slice(0, 20000);
  }
  return out;
}

function isStaff(request: FastifyRequest): boolean {
  return hasRole(request.user, 'helpdesk');
}

export function scopeOf(request: FastifyRequest): Scope {
  if (!request.user) return [];
  return isStaff(request) ? 'all' : entiWithRole(request.user, 'operator');
}

async function helpdeskOrOperator(request: FastifyRequest) {
  if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per continuare.');
  if (!isStaff(request) && entiWithRole(request.user, 'operator').length === 0) throw new HttpError(403, 'Non hai i permessi per l’helpdesk.');
}

async function staffOnly(request: FastifyRequest) {
  if (!request.user) throw new HttpError(401, 'Accesso richiesto: entra con SPID o CIE per continuare.');
  if (!isStaff(request)) throw new HttpError(403, 'Riservato al personale dell’helpdesk.');
}

const opt = (s: string | undefined) => (s && s.trim() ? s.trim() : undefined);
const optInt = (s: string | undefined) => (s && /^\d{1,9}$/.test(s) ? Number(s) : undefined);
const optDate = (s: string | undefined) => (s && /^\d{4}-\d{2}-\d{2}$/.test(s) ? s : undefined);

async function enteOptions(app: FastifyInstance, scope: Scope, selected?: number) {
  const rows = await sqlAll<{ id: number; name: string }>(app.db, "SELECT id, name FROM enti WHERE member = 1 OR kind = 'provincia' ORDER BY kind DESC, name");
  return rows.filter((e) => inScope(scope, e.id)).map((e) => ({ ...e, selected: e.id === selected }));
}

function toOptions<T extends Record<string, string>>(map: T, selected?: string) {
  return Object.entries(map).map(([value, label]) => ({ value, label, selected: value === selected }));
}

function opiNotice(res: OpiUploadResult): string {
  const what = `giornale di cassa OPI ${res.version} ${res.flowId}`;
  if (res.status === 'waiting') return `Pagina ${res.page} di ${res.totalPages} del ${what} ricevuta e valida: mancano le pagine ${res.missingPages.join(', ')}. Il giornale sarà importato quando saranno arrivate tutte.`;
  if (res.status === 'unchanged') return `La pagina ${res.page} di ${res.totalPages} del ${what} era già stata ricevuta: nulla è cambiato.`;
  const x = res.result!;
  if (x.status === 'unchanged') return `Il ${what} era già stato importato: nulla è cambiato.`;
  return `Importato il ${what} (${res.totalPages === 1 ? '1 pagina' : `${res.totalPages} pagine`}): ${x.newMovements} movimenti nuovi (${x.alreadyKnown} già presenti): ${x.matched} abbinati, ${x.parked} in sospeso, ${x.errors} con errore.${x.skipped.length ? ` ${x.skipped.length} movimenti non importati (motivi qui sotto).` : ''}`;
}

function opiSkippedView(res: OpiUploadResult) {
  if (res.status === 'unchanged') return null;
  const list = res.result?.skipped ?? res.skipped;
  return list.length ? { items: list.slice(0, 100), more: Math.max(0, list.length - 100) } : null;
}

function problemsView(e: unknown) {
  if (e instanceof ReconError) return { message: e.message, problems: e.problems.slice(0, 200), more: Math.max(0, e.problems.length - 200), status: e.status };
  throw e;
}

export default fp(
  async function helpdeskModule(app: FastifyInstance) {
    const r: Recon = { db: app.db };
    const hs = app.config.helpdesk;
    const cal: BusinessCalendar = defaultCalendar(hs.businessHours, hs.extraHolidays);
    const mailbox = !hs.smtpUrl;
    // The team: the configured addresses and the helpdesk staff's, read when a mail is sent.
    const teamAddresses = async (): Promise<string[]> => {
      const staffMails = (await sqlAll<{ email: string }>(app.db, "SELECT DISTINCT u.email FROM users u JOIN role_grants g ON g.user_id = u.id WHERE g.role = 'helpdesk' AND u.email IS NOT NULL")).map((x) => x.email);
      const team = [...new Set([...hs.notifyEmails, ...staffMails])];
      // Demo: a placeholder team address so the local mailbox shows the notifications.
      if (team.length === 0 && !app.config.isProduction) team.push('helpdesk-demo@example.invalid');
      return team;
    };
    const ticketsCtx = (): TicketsCtx => ({ db: app.db, cal, dataDir: app.config.dataDir, notifyAddresses: teamAddresses, publicUrl: app.config.publicUrl, mailbox });
    /** The helpdesk staff, for the assignee choices. */
    const helpdeskStaff = () =>
      sqlAll<{ id: number; name: string }>(
        app.db,
        "SELECT DISTINCT u.id, trim(coalesce(u.name,'') || ' ' || coalesce(u.family_name,'')) AS name FROM users u JOIN role_grants g ON g.user_id = u.id WHERE g.role = 'helpdesk' ORDER BY u.id",
      );
    let sender: MailSender | null = hs.smtpUrl ? smtpSender(hs.smtpUrl, hs.mailFrom) : null;

    // ---------------------------------------------------------------- periodic work
    // Once across processes: under a lease, the timer's tick only when a minute has passed since
    // the last one by any process (a direct call, as tests make, runs unless another holds it).
    let running = false;
    const tick = async (opts: { onlyIfDue?: boolean } = {}) => {
      if (running) return;
      running = true;
      try {
        await underLease(app.db, 'helpdesk:tick', { everyMs: TICK_MS, onlyIfDue: opts.onlyIfDue ?? false }, () => periodicWork());
      } catch (e) {
        app.log.error({ err: (e as Error).message }, 'helpdesk periodic task failed');
      } finally {
        running = false;
      }
    };
    const periodicWork = async () => {
      await processPendingFlows(r);
      await retryParked(r);
      const ctx = await ticketsCtx();
      await checkSlaBreaches(ctx);
      await autoClose(ctx, hs.autoCloseDays);
      if (hs.nodeCallRetentionDays > 0) await pruneNodeCalls(app.db, new Date(Date.now() - hs.nodeCallRetentionDays * 86_400_000).toISOString());
      if (sender) await flushOutbox(app.db, sender);
    };
    let timer: NodeJS.Timeout | null = null;
    app.addHook('onReady', async () => {
      timer = setInterval(() => void tick({ onlyIfDue: true }), TICK_MS);
      timer.unref();
    });
    app.addHook('onClose', async () => {
      if (timer) clearInterval(timer);
      sender = null;
    });
    app.decorate('helpdeskTick', tick);
    // Other modules (the catalogue's requests and suggestions) open tickets with the same context.
    app.decorate('ticketsContext', ticketsCtx);

    const page = (reply: FastifyReply, template: string, data: Record<string, unknown>) => reply.page(`helpdesk/${template}`, { ...data, isStaff: isStaff(reply.request), demoTools: !app.config.isProduction });

    await app.register(opiApi, { prefix: '/api/v1' });

    // ---------------------------------------------------------------- dashboard
    app.get('/helpdesk', { preHandler: helpdeskOrOperator }, async (request, reply) => {
      const scope = scopeOf(request);
      const d = await dashboard(app.db, scope);
      const totals = d.series.reduce((s, p) => ({ count: s.count + p.count, cents: s.cents + p.cents }), { count: 0, cents: 0 });
      return page(reply, 'dashboard', {
        title: 'Helpdesk – cruscotto',
        d,
        totals,
        openAnomalies: d.anomalies.reduce((n, a) => n + a.open, 0),
        series: d.series.filter((p) => p.count > 0).reverse(),
        ticketRows: d.tickets.map((t) => ({ ...t, label: STATUS_LABELS[t.status as keyof typeof STATUS_LABELS] ?? t.status })),
        movementRows: d.movements.map((m) => ({ ...m, label: MOVEMENT_STATES[m.state as keyof typeof MOVEMENT_STATES] ?? m.state })),
      });
    });

    app.get('/helpdesk/grafico.svg', { preHandler: helpdeskOrOperator }, async (request, reply) => {
      const d = await dashboard(app.db, scopeOf(request));
      return reply.type('image/svg+xml; charset=utf-8').header('cache-control', 'private, no-store').send(barChartSvg(d.series, { title: 'Incassi pagoPA degli ultimi 30 giorni' }));
    });

    // ---------------------------------------------------------------- transactions
    const txQuery = {
      type: 'object',
      properties: {
        q: { type: 'string', maxLength: 40 },
        iuv: { type: 'string', maxLength: 35 },
        debtor: { type: 'string', maxLength: 70 },
        ente: { type: 'string', maxLength: 9 },
        service: { type: 'string', maxLength: 30 },
        taxonomy: { type: 'string', maxLength: 40 },
        min: { type: 'string', maxLength: 20 },
        max: { type: 'string', maxLength: 20 },
        from: { type: 'string', maxLength: 10 },
        to: { type: 'string', maxLength: 10 },
        state: { type: 'string', enum: ['', ...Object.keys(TX_STATES)] },
        // Links from before keyset paging: still checked, then the first page is shown.
        page: pageParam,
        after: { type: 'string', maxLength: 60, pattern: CURSOR_PATTERN },
        before: { type: 'string', maxLength: 60, pattern: CURSOR_PATTERN },
        format: { type: 'string', enum: ['html', 'csv'] },
      },
    } as const;
    type TxQuery = Record<string, string | undefined> & { page?: number };

    app.get<{ Querystring: TxQuery }>('/helpdesk/pagamenti', { preHandler: helpdeskOrOperator, schema: { querystring: txQuery }, schemaErrorFormatter: listQueryErrorFormatter }, async (request, reply) => {
      const q = request.query;
      const scope = scopeOf(request);
      const minCents = q.min ? parseEuroToCents(q.min) ?? undefined : undefined;
      const maxCents = q.max ? parseEuroToCents(q.max) ?? undefined : undefined;
      const filter: TxFilter = {
        q: opt(q.q),
        iuv: opt(q.iuv)?.replace(/\s/g, ''),
        debtor: opt(q.debtor),
        enteId: optInt(q.ente),
        service: opt(q.service),
        taxonomy: opt(q.taxonomy),
        minCents,
        maxCents,
        from: optDate(q.from),
        to: optDate(q.to),
        state: (opt(q.state) as TxFilter['state']) ?? undefined,
      };
      if (q.format === 'csv') {
        const { rows } = await searchTransactions(app.db, filter, scope, { pageSize: 50_000 });
        const csv = stringify(
          rows.map((x) => [x.enteName, x.noticeNumber, x.iuv, x.description, x.debtorFiscalCode, x.debtorName, x.serviceName, x.taxonomy, (x.amountCents / 100).toFixed(2).replace('.', ','), x.dueDate, x.receiptId ?? '', x.paidAt ?? '', x.pspName ?? '', x.stateLabel]),
          { header: true, columns: ['ente', 'codice_avviso', 'iuv', 'descrizione', 'cf_debitore', 'debitore', 'servizio', 'tassonomia', 'importo', 'scadenza', 'id_ricevuta', 'pagato_il', 'psp', 'stato'], delimiter: ';', cast: CSV_SAFE_CAST },
        );
        return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="pagamenti.csv"').send(`\uFEFF${csv}`);
      }
      // Keyset paging (newest activity first): `after`/`before` hold the row next to the page.
      const { total, rows, next, prev } = await searchTransactions(app.db, filter, scope, { after: parseCursor(q.after), before: parseCursor(q.before) });
      const params = new URLSearchParams(Object.entries(q).filter(([k, v]) => !['after', 'before', 'page', 'format'].includes(k) && v !== undefined && v !== '') as [string, string][]);
      const link = (dir: 'after' | 'before', c: PageCursor) => `/helpdesk/pagamenti?${new URLSearchParams([...params, [dir, formatCursor(c)]])}`;
      return page(reply, 'payments', {
        title: 'Ricerca pagamenti',
        filter: q,
        rows,
        total,
        first: prev ? `/helpdesk/pagamenti?${params}` : null,
        prev: prev ? link('before', prev) : null,
        next: next ? link('after', next) : null,
        csvUrl: `/helpdesk/pagamenti?${new URLSearchParams([...params, ['format', 'csv']])}`,
        enti: await enteOptions(app, scope, filter.enteId),
        states: toOptions(TX_STATES, q.state),
        amountError: (q.min && minCents === undefined) || (q.max && maxCents === undefined) ? 'Importo non valido (es. 12,50)' : null,
      });
    });

    app.get<{ Params: { id: number } }>('/helpdesk/pagamenti/:id', { preHandler: helpdeskOrOperator, schema: { params: idParams } }, async (request, reply) => {
      await app.nodeCallLog.flush(); // the node calls answered so far, even those of this very event-loop turn
      const d = await paymentTimeline(app.db, request.params.id, scopeOf(request));
      if (!d) throw new HttpError(404, 'Pagamento non trovato.');
      return page(reply, 'payment', { title: `Pagamento ${d.tx.noticeNumber}`, d });
    });

    // ---------------------------------------------------------------- flows
    const flowsPage = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) => {
      const scope = scopeOf(request);
      return page(reply, 'flows', { title: 'Flussi di rendicontazione', flows: await listFlows(app.db, scope), enti: await enteOptions(app, scope), csrf: true, ...extra });
    };
    app.get('/helpdesk/flussi', { preHandler: helpdeskOrOperator }, async (request, reply) => {
      await processPendingFlows(r);
      const notice = takeFlash(request);
      return await flowsPage(request, reply, notice ? { notice } : {});
    });

    app.post('/helpdesk/flussi', { preHandler: helpdeskOrOperator, config: { upload: true } }, async (request, reply) => {
      const mp = await readMultipart(request, 8 * 1024 * 1024);
      if (mp.tooLarge) return await flowsPage(request, reply.code(413), { error: { message: 'Il file supera 8 MB.' } });
      if (!mp.file) return await flowsPage(request, reply.code(400), { error: { message: 'Scegli il file XML del flusso.' } });
      try {
        const out = await ingestFlowXml(r, { xml: mp.file.data, source: 'upload', actor: `user:${request.user!.id}`, allowedEnti: scopeOf(request), requestId: request.id });
        if (out.status === 'unchanged') {
          setFlash(request, 'Questo flusso era già stato acquisito: nulla è cambiato.');
          return reply.redirect('/helpdesk/flussi', 303);
        }
        return reply.redirect(`/helpdesk/flussi/${out.result.flowRowId}?esito=importato`, 303);
      } catch (e) {
        const v = problemsView(e);
        return await flowsPage(request, reply.code(v.status === 403 ? 403 : v.status === 409 ? 409 : 422), { error: v });
      }
    });

    // Demo: acquire the flows the simulated node publishes (what the nodoChiedi* client does in production).
    app.post('/helpdesk/flussi/simulatore', { preHandler: staffOnly }, async (request, reply) => {
      if (app.config.isProduction) throw new HttpError(404, 'Pagina non trovata.');
      const members = await sqlAll<{ cf: string }>(app.db, "SELECT fiscal_code AS cf FROM enti WHERE member = 1 OR kind = 'provincia' ORDER BY id");
      let imported = 0;
      for (const m of members) {
        for (const f of await buildFlows(app.db, m.cf)) {
          const out = await ingestFlowXml(r, { xml: f.xml, source: 'nodoChiedi', actor: `user:${request.user!.id}`, allowedEnti: 'all', requestId: request.id });
          if (out.status === 'imported') imported++;
        }
      }
      setFlash(request, imported ? `Acquisiti ${imported} flussi dal nodo simulato.` : 'Nessun nuovo flusso dal nodo simulato.');
      return reply.redirect('/helpdesk/flussi', 303);
    });

    app.get<{ Params: { id: number } }>('/helpdesk/flussi/:id', { preHandler: helpdeskOrOperator, schema: { params: idParams } }, async (request, reply) => {
      const d = await flowDetail(app.db, request.params.id, scopeOf(request));
      if (!d) throw new HttpError(404, 'Flusso non trovato.');
      return page(reply, 'flow', { title: `Flusso ${String(d.flow.flowId)}`, d, imported: (request.query as { esito?: string }).esito === 'importato' });
    });

    // ---------------------------------------------------------------- treasury
    const treasuryPage = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) => {
      const scope = scopeOf(request);
      const state = (request.query as { stato?: string }).stato;
      return page(reply, 'treasury', {
        title: 'Tesoreria e riconciliazione',
        movements: await listMovements(app.db, scope, state && state in MOVEMENT_STATES ? state : undefined),
        states: toOptions(MOVEMENT_STATES, state),
        enti: await enteOptions(app, scope),
        opiVersions: OPI_VERSIONS,
        opiPending: (await pendingOpiJournals(r, scope)).map((j) => ({ ...j, pages: j.pagesReceived.join(', ') })),
        csrf: true,
        ...extra,
      });
    };
    // OPI Giornale di Cassa: one page per upload; the result (or the refusal) is shown on the page.
    const opiUpload = async (request: FastifyRequest, reply: FastifyReply, mp: MultipartData, enteId: number) => {
      const declared = mp.fields.versione && (OPI_VERSIONS as readonly string[]).includes(mp.fields.versione) ? (mp.fields.versione as OpiVersion) : undefined;
      try {
        const res = await importOpiPage(r, { enteId, bytes: mp.file!.data, fileName: mp.file!.fileName, actor: `user:${request.user!.id}`, requestId: request.id, version: declared });
        return treasuryPage(request, reply, { notice: opiNotice(res), opiSkipped: opiSkippedView(res) });
      } catch (e) {
        const v = problemsView(e);
        return treasuryPage(request, reply.code(v.status === 409 ? 409 : v.status === 404 ? 404 : 422), { error: v });
      }
    };
    app.get('/helpdesk/tesoreria', { preHandler: helpdeskOrOperator, schema: { querystring: { type: 'object', properties: { stato: { type: 'string', maxLength: 20 } } } } }, async (request, reply) => {
      const notice = takeFlash(request);
      return treasuryPage(request, reply, notice ? { notice } : {});
    });

    app.post('/helpdesk/tesoreria', { preHandler: helpdeskOrOperator, config: { upload: true } }, async (request, reply) => {
      const mp = await readMultipart(request, 32 * 1024 * 1024);
      const enteId = optInt(mp.fields.ente);
      if (!enteId || !inScope(scopeOf(request), enteId)) return treasuryPage(request, reply.code(400), { error: { message: 'Scegli l’ente del conto di tesoreria.' } });
      if (mp.tooLarge) return treasuryPage(request, reply.code(413), { error: { message: 'Il file supera 32 MB.' } });
      if (!mp.file) return treasuryPage(request, reply.code(400), { error: { message: 'Scegli il file del giornale di cassa (CSV, camt.053 o OPI).' } });
      if (looksLikeOpi(mp.file.data)) return opiUpload(request, reply, mp, enteId);
      try {
        const res = await importStatement(r, { enteId, bytes: mp.file.data, fileName: mp.file.fileName, actor: `user:${request.user!.id}`, requestId: request.id });
        setFlash(
          request,
          res.status === 'unchanged'
            ? 'Questo file era già stato importato: nulla è cambiato.'
            : `Importati ${res.newMovements} movimenti nuovi (${res.alreadyKnown} già presenti): ${res.matched} abbinati, ${res.parked} in sospeso, ${res.errors} con errore.${res.skipped.length ? ` ${res.skipped.length} voci non contabilizzate ignorate.` : ''}`,
        );
        return reply.redirect('/helpdesk/tesoreria', 303);
      } catch (e) {
        const v = problemsView(e);
        return treasuryPage(request, reply.code(v.status === 409 ? 409 : 422), { error: v });
      }
    });

    app.post('/helpdesk/tesoreria/opi', { preHandler: helpdeskOrOperator, config: { upload: true } }, async (request, reply) => {
      const mp = await readMultipart(request, 32 * 1024 * 1024);
      const enteId = optInt(mp.fields.ente);
      if (!enteId || !inScope(scopeOf(request), enteId)) return treasuryPage(request, reply.code(400), { error: { message: 'Scegli l’ente del conto di tesoreria.' } });
      if (mp.tooLarge) return treasuryPage(request, reply.code(413), { error: { message: 'Il file supera 32 MB.' } });
      if (!mp.file) return treasuryPage(request, reply.code(400), { error: { message: 'Scegli il file della pagina del Giornale di Cassa OPI (XML).' } });
      return opiUpload(request, reply, mp, enteId);
    });

    const matchBody = {
      type: 'object',
      required: ['note'],
      properties: { _csrf: { type: 'string' }, note: { type: 'string', maxLength: 1000 }, flowRowId: { type: 'string', maxLength: 10 }, receiptRowId: { type: 'string', maxLength: 10 } },
    } as const;
    app.post<{ Params: { id: number }; Body: { note: string; flowRowId?: string; receiptRowId?: string } }>(
      '/helpdesk/tesoreria/:id/abbina',
      { preHandler: helpdeskOrOperator, schema: { params: idParams, body: matchBody } },
      async (request, reply) => {
        try {
          await manualMatch(r, {
                        movementRowId: request.params.id,
                        flowRowId: optInt(request.body.flowRowId),
                        receiptRowId: optInt(request.body.receiptRowId),
                        note: request.body.note,
                        actor: `user:${request.user!.id}`,
                        allowedEnti: scopeOf(request),
                        requestId: request.id,
                      });
          return treasuryPage(request, reply, { notice: 'Movimento abbinato manualmente.' });
        } catch (e) {
          const v = problemsView(e);
          return treasuryPage(request, reply.code(v.status), { error: v });
        }
      },
    );
    app.post<{ Params: { id: number }; Body: { note: string } }>(
      '/helpdesk/tesoreria/:id/scollega',
      { preHandler: helpdeskOrOperator, schema: { params: idParams, body: matchBody } },
      async (request, reply) => {
        try {
          await manualUnmatch(r, { movementRowId: request.params.id, note: request.body.note, actor: `user:${request.user!.id}`, allowedEnti: scopeOf(request), requestId: request.id });
          return treasuryPage(request, reply, { notice: 'Abbinamento rimosso.' });
        } catch (e) {
          const v = problemsView(e);
          return treasuryPage(request, reply.code(v.status), { error: v });
        }
      },
    );

    // Demo: the treasury statement of the simulated bank for an ente (CSV layout, camt.053 or OPI Giornale di Cassa).
    app.get<{ Params: { id: number }; Querystring: { formato?: string; versione?: OpiVersion } }>(
      '/helpdesk/tesoreria/simulatore/:id',
      {
        preHandler: helpdeskOrOperator,
        schema: { params: idParams, querystring: { type: 'object', properties: { formato: { type: 'string', enum: ['csv', 'camt053', 'opi'] }, versione: { type: 'string', enum: [...OPI_VERSIONS] } } } },
      },
      async (request, reply) => {
        if (app.config.isProduction) throw new HttpError(404, 'Pagina non trovata.');
        if (!inScope(scopeOf(request), request.params.id)) throw new HttpError(404, 'Ente non trovato.');
        const e = await sqlGet<{ cf: string; name: string }>(app.db, 'SELECT fiscal_code AS cf, name FROM enti WHERE id = ?', request.params.id);
        if (!e) throw new HttpError(404, 'Ente non trovato.');
        const iban = (await sqlGet<{ iban: string }>(app.db, 'SELECT iban FROM ente_ibans WHERE ente_id = ? AND active = 1 ORDER BY id LIMIT 1', request.params.id))?.iban ?? '';
        const credits = await simulatedCredits(app.db, e.cf);
        if (request.query.formato === 'opi') {
          const version = request.query.versione ?? '1.8';
          const day = credits.reduce((d, c) => (c.bookingDate > d ? c.bookingDate : d), new Date().toISOString().slice(0, 10));
          const xml = writeOpiJournal({
            version,
            enteFiscalCode: e.cf,
            enteName: e.name.toUpperCase(),
            esercizio: Number(day.slice(0, 4)),
            date: day,
            code: `SIM${e.cf}`,
            movements: credits.map((c, i) => ({ tipoDocumento: 'SOSPESO ENTRATA', numeroDocumento: 1 + i, amountCents: c.amountCents, date: c.bookingDate, valueDate: c.valueDate, causale: c.causale })),
          })[0]!;
          return reply.type('application/xml').header('content-disposition', `attachment; filename="giornale-opi-${version}-${e.cf}.xml"`).send(xml);
        }
        if (request.query.formato === 'camt053') return reply.type('application/xml').header('content-disposition', `attachment; filename="camt053-${e.cf}.xml"`).send(treasuryCamt053(credits, iban));
        return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="giornale-cassa-${e.cf}.csv"`).send(treasuryCsv(credits, iban));
      },
    );

    // ---------------------------------------------------------------- anomalies
    const anomalyTypes = { ...Object.fromEntries(Object.entries(RECON_ANOMALIES).map(([k, v]) => [k, v.label])), ...RECEIPT_ANOMALY_LABELS } as Record<string, string>;
    app.get<{ Querystring: { tipo?: string; stato?: string; ente?: string; giorni?: string } }>(
      '/helpdesk/anomalie',
      {
        preHandler: helpdeskOrOperator,
        schema: { querystring: { type: 'object', properties: { tipo: { type: 'string', maxLength: 60 }, stato: { type: 'string', maxLength: 20 }, ente: { type: 'string', maxLength: 9 }, giorni: { type: 'string', maxLength: 4 } } } },
      },
      async (request, reply) => {
        const q = request.query;
        const scope = scopeOf(request);
        const status = q.stato === undefined ? 'active' : q.stato;
        const rows = await listAnomalies(app.db, { type: opt(q.tipo), status: opt(status), enteId: optInt(q.ente), olderThanDays: optInt(q.giorni) }, scope);
        return page(reply, 'anomalies', {
          title: 'Anomalie',
          rows,
          filter: q,
          types: toOptions(anomalyTypes, q.tipo),
          statuses: [{ value: 'active', label: 'Da lavorare', selected: status === 'active' }, ...toOptions({ open: 'Aperta', in_progress: 'In lavorazione', resolved: 'Risolta', dismissed: 'Archiviata' }, status)],
          enti: await enteOptions(app, scope, optInt(q.ente)),
        });
      },
    );

    const ageingQuery = {
      type: 'object',
      properties: { after: { type: 'string', maxLength: 60, pattern: CURSOR_PATTERN }, before: { type: 'string', maxLength: 60, pattern: CURSOR_PATTERN } },
    } as const;
    app.get<{ Querystring: { after?: string; before?: string } }>('/helpdesk/anomalie/invecchiamento', { preHandler: helpdeskOrOperator, schema: { querystring: ageingQuery } }, async (request, reply) => {
      // One page (oldest first, keyset paging); the page's rows and total, not the whole backlog's.
      const { rows, next, prev, cutoff } = await ageingReport(app.db, scopeOf(request), hs.ageingDays, hs.extraHolidays, new Date(), {
              after: parseCursor(request.query.after),
              before: parseCursor(request.query.before),
            });
      const link = (dir: 'after' | 'before', c: PageCursor) => `/helpdesk/anomalie/invecchiamento?${new URLSearchParams([[dir, formatCursor(c)]])}`;
      const parked = await listMovements(app.db, scopeOf(request), 'parked');
      return page(reply, 'ageing', {
        title: 'Incassato e non accreditato',
        rows,
        days: hs.ageingDays,
        cutoff,
        total: rows.reduce((s, x) => s + x.amountCents, 0),
        first: prev ? '/helpdesk/anomalie/invecchiamento' : null,
        prev: prev ? link('before', prev) : null,
        next: next ? link('after', next) : null,
        parked,
      });
    });

    const loadAnomaly = async (request: FastifyRequest, id: number) => {
      const a = (await listAnomalies(app.db, {}, scopeOf(request), 1_000_000)).find((x) => x.id === id);
      if (!a) throw new HttpError(404, 'Anomalia non trovata.');
      return a;
    };
    app.get<{ Params: { id: number } }>('/helpdesk/anomalie/:id', { preHandler: helpdeskOrOperator, schema: { params: idParams } }, async (request, reply) => {
      const a = await sqlGet<{ ente_id: number | null }>(app.db, 'SELECT ente_id FROM anomalies WHERE id = ?', request.params.id);
      if (!a || !inScope(scopeOf(request), a.ente_id)) throw new HttpError(404, 'Anomalia non trovata.');
      const row = (await listAnomalies(app.db, { enteId: a.ente_id ?? undefined }, scopeOf(request), 1_000_000)).find((x) => x.id === request.params.id) ?? await loadAnomaly(request, request.params.id);
      const notes = await sqlAll(app.db, 'SELECT n.text, n.created_at AS at, n.author FROM anomaly_notes n WHERE n.anomaly_id = ? ORDER BY n.id', request.params.id);
      const staff = await helpdeskStaff();
      const tickets = await sqlAll<{ id: number; subject: string; status: keyof typeof STATUS_LABELS }>(app.db, "SELECT id, subject, status FROM tickets WHERE link_kind = 'anomaly' AND link_id = ? ORDER BY id", request.params.id);
      const refs = row.refs as { flowRowId?: number; movementRowId?: number; receiptRowId?: number; iuv?: string };
      const optionId = refs.receiptRowId ? (await sqlGet<{ o: number | null }>(app.db, 'SELECT option_id AS o FROM receipts WHERE id = ?', refs.receiptRowId))?.o : null;
      return page(reply, 'anomaly', {
        title: `Anomalia ${row.id}`,
        a: row,
        refsJson: JSON.stringify(row.refs, null, 2),
        links: { flow: refs.flowRowId ?? null, movement: refs.movementRowId ?? null, option: optionId ?? null },
        notes,
        staff,
        tickets: tickets.map((t) => ({ ...t, statusLabel: STATUS_LABELS[t.status] })),
        statuses: toOptions({ open: 'Aperta', in_progress: 'In lavorazione', resolved: 'Risolta', dismissed: 'Archiviata' }, row.status),
        csrf: true,
      });
    });

    app.post<{ Params: { id: number }; Body: { status?: string; assignee?: string; note?: string } }>(
      '/helpdesk/anomalie/:id',
      {
        preHandler: staffOnly,
        schema: {
          params: idParams,
          body: { type: 'object', properties: { _csrf: { type: 'string' }, status: { type: 'string', enum: ['open', 'in_progress', 'resolved', 'dismissed'] }, assignee: { type: 'string', maxLength: 10 }, note: { type: 'string', maxLength: 4000 } } },
        },
      },
      async (request, reply) => {
        const before = await sqlGet<{ id: number; enteId: number | null; status: string; assigneeId: number | null }>(app.db, 'SELECT id, ente_id AS "enteId", status, assignee_id AS "assigneeId" FROM anomalies WHERE id = ?', request.params.id);
        if (!before) throw new HttpError(404, 'Anomalia non trovata.');
        const b = request.body;
        const note = b.note?.trim() ?? '';
        const status = b.status ?? before.status;
        if ((status === 'resolved' || status === 'dismissed') && status !== before.status && note.length < 3) throw new HttpError(400, 'Per risolvere o archiviare un’anomalia scrivi una nota.');
        const assignee = b.assignee === undefined ? before.assigneeId : optInt(b.assignee) ?? null;
        await app.db.transaction(async () => {
          const stamp = new Date().toISOString();
          const closing = status === 'resolved' || status === 'dismissed' ? 1 : 0;
          await sqlRun(
            app.db,
            `UPDATE anomalies SET status = ?, assignee_id = ?, updated_at = ?,
               resolved_at = CASE WHEN ? = 1 THEN coalesce(resolved_at, ?) ELSE NULL END,
               resolution_note = CASE WHEN ? = 1 AND ? = 1 THEN ? ELSE resolution_note END WHERE id = ?`,
            status, assignee, stamp, closing, stamp, closing, note ? 1 : 0, note, before.id,
          );
          if (note) await sqlRun(app.db, 'INSERT INTO anomaly_notes (anomaly_id, author, text) VALUES (?,?,?)', before.id, `user:${request.user!.id}`, note);
          await recordAudit(app.db, { actor: `user:${request.user!.id}`, action: 'anomaly.update', entity: 'anomaly', entityId: before.id, enteId: before.enteId, before, after: { status, assigneeId: assignee, note: note || null }, requestId: request.id });
        });
        return reply.redirect(`/helpdesk/anomalie/${before.id}`, 303);
      },
    );

    // ---------------------------------------------------------------- tickets
    const ticketView = (t: TicketRow & { enteName?: string; serviceName?: string | null }) => {
      const sla = slaOf(t, cal, new Date());
      const category = TICKET_CATEGORIES[t.category as keyof typeof TICKET_CATEGORIES]?.label ?? t.category;
      return {
        ...t,
        statusLabel: STATUS_LABELS[t.status],
        // A catalogue request names its service (tickets.service_id).
        categoryLabel: t.serviceName ? `${category}: ${t.serviceName}` : category,
        priorityLabel: TICKET_PRIORITIES[t.priority as keyof typeof TICKET_PRIORITIES] ?? t.priority,
        sla,
        breached: sla.ttoBreached || sla.ttrBreached,
      };
    };
    const loadTicket = async (request: FastifyRequest, id: number): Promise<TicketRow> => {
      const t = await getTicket(app.db, id);
      if (!t || !inScope(scopeOf(request), t.ente_id)) throw new HttpError(404, 'Ticket non trovato.');
      return t;
    };

    app.get<{ Querystring: { stato?: string } }>(
      '/helpdesk/ticket',
      { preHandler: helpdeskOrOperator, schema: { querystring: { type: 'object', properties: { stato: { type: 'string', maxLength: 20 } } } } },
      async (request, reply) => {
        const sc = scopeOf(request);
        const where = sc === 'all' ? '1=1' : sc.length ? `t.ente_id IN (${sc.map(() => '?').join(',')})` : '0=1';
        const st = request.query.stato && request.query.stato in STATUS_LABELS ? request.query.stato : null;
        const rows = (
          await sqlAll<TicketRow & { enteName: string; serviceName: string | null }>(
            app.db,
            `SELECT t.*, e.name AS "enteName", s.name AS "serviceName" FROM tickets t JOIN enti e ON e.id = t.ente_id LEFT JOIN catalogue_services s ON s.id = t.service_id WHERE ${where} ${st ? 'AND t.status = ?' : "AND t.status <> 'closed'"} ORDER BY t.id DESC LIMIT 300`,
            ...(sc === 'all' ? [] : sc),
            ...(st ? [st] : []),
          )
        ).map(ticketView);
        return page(reply, 'tickets', { title: 'Ticket', rows, statuses: toOptions(STATUS_LABELS, st ?? undefined) });
      },
    );

    const newTicketQuery = { type: 'object', properties: { collega: { type: 'string', pattern: '^(payment|flow|anomaly|movement):\\d{1,9}$' } } } as const;
    const linkTarget = async (request: FastifyRequest, link: string | undefined): Promise<TicketLink | null> => {
      if (!link) return null;
      const [kind, idText] = link.split(':') as [TicketLinkKind, string];
      const target = await describeTicketLink(app.db, kind, Number(idText));
      if (!target || !inScope(scopeOf(request), target.enteId)) throw new HttpError(404, 'Oggetto da collegare non trovato.');
      return target;
    };

    const newTicketPage = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) => {
      const link = await linkTarget(request, (request.query as { collega?: string }).collega);
      return page(reply, 'ticket-new', {
        title: 'Nuovo ticket',
        link,
        enti: await enteOptions(app, scopeOf(request), link?.enteId),
        categories: Object.entries(TICKET_CATEGORIES).map(([value, c]) => ({ value, label: c.label, selected: value === (link?.kind === 'payment' ? 'pagopa' : link ? 'riconciliazione' : '') })),
        types: toOptions(TICKET_TYPES, link ? 'segnalazione_pagamento' : 'richiesta'),
        priorities: toOptions(TICKET_PRIORITIES, 'media'),
        maxMb: Math.round(hs.attachmentMaxBytes / 1048576),
        action: `/helpdesk/ticket${link ? `?collega=${link.kind}:${link.id}` : ''}`,
        csrf: true,
        ...extra,
      });
    };
    app.get('/helpdesk/ticket/nuovo', { preHandler: helpdeskOrOperator, schema: { querystring: newTicketQuery } }, async (request, reply) => newTicketPage(request, reply));

    app.post('/helpdesk/ticket', { preHandler: helpdeskOrOperator, config: { upload: true }, schema: { querystring: { type: 'object', properties: { collega: newTicketQuery.properties.collega } } } }, async (request, reply) => {
      const mp = await readMultipart(request, hs.attachmentMaxBytes);
      const f = mp.fields;
      const link = await linkTarget(request, (request.query as { collega?: string }).collega);
      const enteId = link?.enteId ?? optInt(f.ente);
      const citizenContact = (f.citizenContact ?? '').trim();
      const errors: string[] = [];
      if (!enteId || !inScope(scopeOf(request), enteId)) errors.push('Scegli l’ente.');
      if (!f.subject || f.subject.trim().length < 5 || f.subject.length > 150) errors.push('L’oggetto deve avere fra 5 e 150 caratteri.');
      if (!f.body || f.body.trim().length < 10) errors.push('Descrivi il problema (almeno 10 caratteri).');
      if (!(f.category! in TICKET_CATEGORIES)) errors.push('Scegli la categoria.');
      if (!(f.type! in TICKET_TYPES)) errors.push('Scegli il tipo.');
      if (!(f.priority! in TICKET_PRIORITIES)) errors.push('Scegli la priorità.');
      if (citizenContact.length > 200) errors.push('Il contatto del cittadino può avere al massimo 200 caratteri.');
      if (mp.tooLarge) errors.push(`L’allegato supera ${Math.round(hs.attachmentMaxBytes / 1048576)} MB.`);
      if (errors.length) return newTicketPage(request, reply.code(400), { errors, form: f });
      try {
        const id = await createTicket(
                  await ticketsCtx(),
                  {
                    enteId: enteId!,
                    subject: f.subject!.trim(),
                    category: f.category as keyof typeof TICKET_CATEGORIES,
                    type: f.type as keyof typeof TICKET_TYPES,
                    priority: f.priority as keyof typeof TICKET_PRIORITIES,
                    body: f.body!.trim(),
                    linkKind: link?.kind ?? null,
                    linkId: link?.id ?? null,
                    citizenContact: citizenContact || null,
                    attachment: mp.file,
                  },
                  { userId: request.user!.id, isStaff: isStaff(request), requestId: request.id },
                );
        return reply.redirect(`/helpdesk/ticket/${id}`, 303);
      } catch (e) {
        if (e instanceof TicketError) return newTicketPage(request, reply.code(e.status), { errors: [e.message], form: f });
        throw e;
      }
    });

    app.get<{ Params: { id: number } }>('/helpdesk/ticket/:id', { preHandler: helpdeskOrOperator, schema: { params: idParams } }, async (request, reply) => {
      const t = await loadTicket(request, request.params.id);
      const staff = isStaff(request);
      const messages = await sqlAll<{ id: number; kind: string; visibility: string; body: string; at: string; author: string }>(
        app.db,
        `SELECT m.id, m.author_kind AS kind, m.visibility, m.body, m.created_at AS at, trim(coalesce(u.name,'') || ' ' || coalesce(u.family_name,'')) AS author
         FROM ticket_messages m LEFT JOIN users u ON u.id = m.author_id WHERE m.ticket_id = ? ${staff ? '' : "AND m.visibility = 'public'"} ORDER BY m.id`,
        t.id,
      );
      const atts = await sqlAll<{ id: number; messageId: number; fileName: string; size: number; sha256: string }>(
        app.db,
        'SELECT id, message_id AS "messageId", file_name AS "fileName", size_bytes AS size, sha256 FROM ticket_attachments WHERE ticket_id = ? ORDER BY id',
        t.id,
      );
      const ente = (await sqlGet<{ name: string }>(app.db, 'SELECT name FROM enti WHERE id = ?', t.ente_id))!;
      const staffUsers = staff ? await helpdeskStaff() : [];
      const audit = staff ? await sqlAll<{ at: string; action: string; actor: string }>(app.db, "SELECT created_at AS at, action, actor FROM audit_log WHERE entity = 'ticket' AND entity_id = ? ORDER BY id", String(t.id)) : [];
      const actorNames = await loadActorNames(app.db, audit.map((h) => h.actor));
      const history = audit.map((h) => ({ at: h.at, action: HISTORY_LABELS[h.action] ?? h.action, actor: actorLabel(h.actor, actorNames) }));
      const link = t.link_kind && t.link_id ? await describeTicketLink(app.db, t.link_kind as TicketLinkKind, t.link_id) : null;
      const service = await sqlGet<{ name: string }>(app.db, 'SELECT s.name FROM tickets t JOIN catalogue_services s ON s.id = t.service_id WHERE t.id = ?', t.id);
      return page(reply, 'ticket', {
        title: `Ticket #${t.id}`,
        t: ticketView({ ...t, serviceName: service?.name ?? null }),
        enteName: ente.name,
        messages: messages.map((m) => ({ ...m, internal: m.visibility === 'internal', system: m.kind === 'system', attachments: atts.filter((a) => a.messageId === m.id) })),
        actions: allowedActions(t.status, staff).map((a) => ({ value: a, label: ACTION_LABELS[a] })),
        staffUsers,
        history,
        link,
        canReply: t.status !== 'closed',
        maxMb: Math.round(hs.attachmentMaxBytes / 1048576),
        csrf: true,
      });
    });

    app.post<{ Params: { id: number } }>('/helpdesk/ticket/:id/messaggi', { preHandler: helpdeskOrOperator, config: { upload: true }, schema: { params: idParams } }, async (request, reply) => {
      const t = await loadTicket(request, request.params.id);
      const mp = await readMultipart(request, hs.attachmentMaxBytes);
      if (mp.tooLarge) throw new HttpError(413, `L’allegato supera ${Math.round(hs.attachmentMaxBytes / 1048576)} MB.`);
      const body = (mp.fields.body ?? '').trim();
      if (body.length < 2) throw new HttpError(400, 'Scrivi il testo della risposta.');
      try {
        await replyTicket(await ticketsCtx(), t.id, { userId: request.user!.id, isStaff: isStaff(request), requestId: request.id }, { body, internal: mp.fields.internal === 'on', attachment: mp.file });
      } catch (e) {
        if (e instanceof TicketError) throw new HttpError(e.status, e.message);
        throw e;
      }
      return reply.redirect(`/helpdesk/ticket/${t.id}`, 303);
    });

    app.post<{ Params: { id: number }; Body: { action: TicketAction; assignee?: string; note?: string } }>(
      '/helpdesk/ticket/:id/stato',
      {
        preHandler: helpdeskOrOperator,
        schema: {
          params: idParams,
          body: { type: 'object', required: ['action'], properties: { _csrf: { type: 'string' }, action: { type: 'string', enum: Object.keys(ACTION_LABELS) }, assignee: { type: 'string', maxLength: 10 }, note: { type: 'string', maxLength: 2000 } } },
        },
      },
      async (request, reply) => {
        const t = await loadTicket(request, request.params.id);
        const assigneeId = optInt(request.body.assignee);
        if (assigneeId !== undefined && !hasRole({ grants: await sqlAll<{ role: 'helpdesk'; enteId: null }>(app.db, 'SELECT role, ente_id AS "enteId" FROM role_grants WHERE user_id = ?', assigneeId) }, 'helpdesk')) {
          throw new HttpError(400, 'Si può assegnare solo a personale dell’helpdesk.');
        }
        try {
          await transition(await ticketsCtx(), t.id, request.body.action, { userId: request.user!.id, isStaff: isStaff(request), requestId: request.id }, { assigneeId, note: request.body.note });
        } catch (e) {
          if (e instanceof TicketError) throw new HttpError(e.status, e.message);
          throw e;
        }
        return reply.redirect(`/helpdesk/ticket/${t.id}`, 303);
      },
    );

    app.get<{ Params: { id: number; att: number } }>(
      '/helpdesk/ticket/:id/allegati/:att',
      { preHandler: helpdeskOrOperator, schema: { params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 }, att: { type: 'integer', minimum: 1 } }, required: ['id', 'att'] } } },
      async (request, reply) => {
        const t = await loadTicket(request, request.params.id);
        const a = await sqlGet<{ fileName: string; storagePath: string; sha256: string; visibility: string | null }>(
          app.db,
          'SELECT a.file_name AS "fileName", a.storage_path AS "storagePath", a.sha256, m.visibility FROM ticket_attachments a LEFT JOIN ticket_messages m ON m.id = a.message_id WHERE a.id = ? AND a.ticket_id = ?',
          request.params.att,
          t.id,
        );
        if (!a || (a.visibility === 'internal' && !isStaff(request))) throw new HttpError(404, 'Allegato non trovato.');
        const full = path.join(app.config.dataDir, a.storagePath);
        if (!fs.existsSync(full)) throw new HttpError(404, 'Allegato non più disponibile.');
        return reply
          .type('application/octet-stream')
          .header('content-disposition', `attachment; filename="${a.fileName.replace(/[^\w.\- ]/g, '_')}"`)
          .header('x-content-sha256', a.sha256)
          .send(fs.createReadStream(full));
      },
    );

    // ---------------------------------------------------------------- mailbox (demo / no SMTP)
    app.get('/helpdesk/posta', { preHandler: staffOnly }, async (_request, reply) => {
      const mails = await sqlAll(app.db, 'SELECT id, to_address AS "to", subject, body, status, created_at AS at, ticket_id AS "ticketId" FROM mail_outbox ORDER BY id DESC LIMIT 200');
      return page(reply, 'mailbox', { title: 'Posta in uscita', mails, smtp: !mailbox });
    });
  },
  { name: 'helpdesk', dependencies: ['auth', 'views'] },
);

declare module 'fastify' {
  interface FastifyInstance {
    /** Runs the helpdesk periodic work once (tests and the CLI). */
    helpdeskTick: (opts?: { onlyIfDue?: boolean }) => Promise<void>;
    ticketsContext: () => TicketsCtx;
  }
}
