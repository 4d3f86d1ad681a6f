/**
 * Charges pages:
 * - GET /backoffice/enti/:enteId/addebiti                 the ente's charges (Da pagare / Scaduto /
 *   Pagato), notice number, amount, the notice PDF and the portal's "Paga un avviso" link;
 *   operators and referenti of that ente, the SAEL admin and the helpdesk
 * - GET /backoffice/enti/:enteId/addebiti/:id/avviso.pdf  the Province's pagoPA notice of a charge
 * - GET /admin/catalogo/addebiti                          every charge, filters (state, ente, year),
 *   reminders sent, link to the adesione (where the SAEL admin may suspend it); the last error met
 *   while issuing charges; SAEL admin and helpdesk
 * Reading a list first syncs the charges paid by receipts (paid on read, not only by the pass).
 */
import { enteReaderGuard } from './ente-guard.js';
import type { FastifyInstance } from 'fastify';
import { requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { getEnte } from '../enti/repository.js';
import { sendNoticePdf } from '../positions/notice-reply.js';
import { formatNoticeNumber } from '../positions/numbers.js';
import { getPositionById } from '../positions/repository.js';
import { todayInItaly } from '../positions/service.js';
import { DISPLAY_LABELS, displayStatus, type ChargeDisplayStatus } from './charge-plan.js';
import { provinceEnte } from './charges.js';
import {
  chargeYears,
  chargesError,
  chargesSettings,
  entiWithCharges,
  getChargeOfEnte,
  listCharges,
  syncPaidCharges,
  type ChargeListItem,
  type ChargeStatusFilter,
} from './charges-repository.js';

const KIND_LABELS: Record<string, string> = { one_off: 'Una tantum', annual: 'Quota annuale', units: 'A consumo' };
const BADGES: Record<ChargeDisplayStatus, string> = { to_pay: 'bg-primary', overdue: 'bg-danger', paid: 'bg-success', cancelled: 'bg-secondary' };
const FILTER_LABELS: Record<ChargeStatusFilter, string> = { issued: 'Da pagare (tutti)', overdue: 'Scaduti', paid: 'Pagati', cancelled: 'Annullati' };

/** "1 addebito", "3 addebiti". */
function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

const enteParams = { type: 'object', properties: { enteId: { type: 'integer', minimum: 1 } }, required: ['enteId'], additionalProperties: false } as const;
const chargeParams = {
  type: 'object',
  properties: { enteId: { type: 'integer', minimum: 1 }, id: { type: 'integer', minimum: 1 } },
  required: ['enteId', 'id'],
  additionalProperties: false,
} as const;
const adminQuery = {
  type: 'object',
  properties: {
    stato: { type: 'string', enum: ['', 'issued', 'overdue', 'paid', 'cancelled'] },
    ente: { type: 'string', pattern: '^[0-9]{0,9}$' },
    anno: { type: 'string', pattern: '^([0-9]{4})?$' },
  },
  additionalProperties: false,
} as const;

function row(c: ChargeListItem, today: string, provinceCf: string | null) {
  const status = displayStatus(c, today);
  return {
    ...c,
    statusLabel: DISPLAY_LABELS[status],
    badge: BADGES[status],
    kindLabel: KIND_LABELS[c.kind] ?? c.kind,
    period: c.kind === 'annual' ? String(c.periodKey) : null,
    noticeDisplay: c.noticeNumber ? formatNoticeNumber(c.noticeNumber) : null,
    payable: c.status === 'issued' && Boolean(c.noticeNumber),
    payUrl: c.status === 'issued' && c.noticeNumber && provinceCf ? `/paga-avviso?codiceAvviso=${c.noticeNumber}&cfEnte=${provinceCf}` : null,
    pdfUrl: c.status === 'issued' && c.noticeNumber ? `/backoffice/enti/${c.enteId}/addebiti/${c.id}/avviso.pdf` : null,
  };
}

export default async function chargesRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.catalogue;
  const enteReader = enteReaderGuard(app.db);
  const staff = requireRole(['sael_admin', 'helpdesk']);

  app.get<{ Params: { enteId: number } }>('/backoffice/enti/:enteId/addebiti', { preHandler: enteReader, schema: { params: enteParams } }, async (request, reply) => {
    const ente = (await getEnte(app.db, request.params.enteId))!;
    const today = todayInItaly(ctx.now());
    await syncPaidCharges(app.db, ente.id);
    const province = await provinceEnte(app.db);
    const { items } = await listCharges(app.db, { enteId: ente.id, today, limit: 1000 });
    const rows = items.map((c) => row(c, today, province?.fiscalCode ?? null));
    const open = rows.filter((r) => r.status === 'issued');
    const overdue = rows.filter((r) => r.badge === BADGES.overdue).length;
    reply.header('cache-control', 'private, no-store');
    return reply.page('catalogue/charges-ente', {
      title: `Addebiti SAEL – ${ente.name}`,
      ente,
      rows,
      creditorName: province?.name ?? 'Provincia',
      openCount: open.length,
      openLabel: count(open.length, 'avviso', 'avvisi'),
      openTotalCents: open.reduce((s, r) => s + r.amountCents, 0),
      overdueCount: overdue,
      overdueLabel: count(overdue, 'scaduto', 'scaduti'),
      countLabel: count(rows.length, 'addebito', 'addebiti'),
    });
  });

  app.get<{ Params: { enteId: number; id: number } }>(
    '/backoffice/enti/:enteId/addebiti/:id/avviso.pdf',
    { preHandler: enteReader, schema: { params: chargeParams } },
    async (request, reply) => {
      const charge = await getChargeOfEnte(app.db, request.params.enteId, request.params.id);
      if (!charge || !charge.positionId) throw new HttpError(404, 'Addebito non trovato per questo ente.');
      const province = await provinceEnte(app.db);
      const position = province ? await getPositionById(app.db, province.id, charge.positionId) : undefined;
      const option = position?.options[0];
      if (!province || !position || !option) throw new HttpError(404, 'Avviso non trovato.');
      return sendNoticePdf(reply, {
        db: app.db,
        dataDir: app.config.dataDir,
        ente: province,
        position,
        option,
        fileName: `avviso-${option.noticeNumber}.pdf`,
        notPrintableMessage: 'Questo avviso non si può più scaricare: risulta pagato o annullato.',
      });
    },
  );

  app.get<{ Querystring: { stato?: string; ente?: string; anno?: string } }>(
    '/admin/catalogo/addebiti',
    { preHandler: staff, schema: { querystring: adminQuery } },
    async (request, reply) => {
      const q = request.query;
      const today = todayInItaly(ctx.now());
      await syncPaidCharges(app.db);
      const status = (q.stato || undefined) as ChargeStatusFilter | undefined;
      const enteId = q.ente ? Number(q.ente) : undefined;
      const year = q.anno ? Number(q.anno) : undefined;
      const province = await provinceEnte(app.db);
      const { items, total } = await listCharges(app.db, { status, enteId, year, today, limit: 500 });
      const rows = items.map((c) => row(c, today, province?.fiscalCode ?? null));
      const overdue = await listCharges(app.db, { status: 'overdue', today, limit: 1 });
      const settings = await chargesSettings(app.db);
      reply.header('cache-control', 'private, no-store');
      return reply.page('catalogue/charges-admin', {
        title: 'Addebiti SAEL',
        rows,
        total,
        countLabel: count(total, 'addebito', 'addebiti'),
        shown: rows.length,
        overdueTotal: overdue.total,
        error: await chargesError(app.db),
        settings,
        statuses: (Object.keys(FILTER_LABELS) as ChargeStatusFilter[]).map((v) => ({ value: v, label: FILTER_LABELS[v], selected: v === status })),
        enti: (await entiWithCharges(app.db)).map((e) => ({ ...e, selected: e.id === enteId })),
        years: (await chargeYears(app.db)).map((y) => ({ value: y, selected: y === year })),
        filtered: Boolean(status || enteId || year),
      });
    },
  );
}
