/**
 * The SAEL dashboard: GET /admin/catalogo (sael_admin; helpdesk reads it too) with the adesioni
 * matrix (84 comuni × the services), revenue per year, overdue charges, adesioni ending in the next
 * 60 days and the training fill rate, two server-drawn SVG charts; and a CSV export of each table,
 * GET /admin/catalogo/export/<name>.csv (also /admin/catalogo?format=csv&tabella=<name>), through
 * csv-safe (no cell a spreadsheet would run as a formula).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { stringify } from 'csv-stringify/sync';
import { CSV_SAFE_CAST } from '../../domain/csv-safe.js';
import { requireRole } from '../../plugins/auth.js';
import { localDate } from '../helpdesk/sla-calendar.js';
import { revenueChart, trainingChart } from './dashboard-charts.js';
import { dashboardData, EXPIRING_WITHIN_DAYS, expiringAdesioni, overdueCharges, type DashboardData } from './dashboard-queries.js';
import { ADESIONE_STATUS_LABELS } from './adesione-states.js';
import { ADESIONE_STATUSES, type AdesioneStatus } from './schema.js';

/** Two-letter mark of each adesione status: the matrix shows the mark and reads the label. */
const MARKS: Record<AdesioneStatus, string> = {
  draft: 'Bz',
  submitted: 'In',
  under_review: 'Es',
  changes_requested: 'Mo',
  approved: 'Ap',
  rejected: 'Re',
  active: 'At',
  suspended: 'So',
  expiring: 'Sc',
  renewed: 'Rn',
  expired: 'Sd',
  withdrawn: 'Ce',
};
export const STATUS_MARKS = Object.fromEntries(ADESIONE_STATUSES.map((s) => [s, { label: ADESIONE_STATUS_LABELS[s], mark: MARKS[s] }])) as Record<AdesioneStatus, { label: string; mark: string }>;
const NONE = { c: 'none', l: 'nessuna adesione' };

/** The order of the legend and of the status counts. */
const LEGEND_ORDER: AdesioneStatus[] = ['active', 'expiring', 'suspended', 'submitted', 'under_review', 'changes_requested', 'approved', 'rejected', 'renewed', 'expired', 'withdrawn'];

/** Rows shown on the page for the expiring adesioni (the CSV has all). */
const EXPIRING_SHOWN = 30;

export const EXPORTS = ['adesioni.csv', 'ricavi.csv', 'scaduti.csv', 'in-scadenza.csv', 'formazione.csv'] as const;
type ExportName = (typeof EXPORTS)[number];

const euroCell = (cents: number) => (cents / 100).toFixed(2).replace('.', ',');

/** The CSV of one table (semicolon-separated, BOM, for Italian spreadsheets). */
export async function exportCsv(app: FastifyInstance, name: ExportName, d: DashboardData): Promise<string> {
  const csv = (columns: string[], rows: (string | number)[][]) => `\uFEFF${stringify(rows, { header: true, columns, delimiter: ';', cast: CSV_SAFE_CAST })}`;
  switch (name) {
    case 'adesioni.csv':
      return csv(
        ['comune', 'aderente_sael', ...d.services.map((s) => `servizio_${s.code}`), 'adesioni_in_vigore'],
        d.matrix.map((r) => [r.enteName, r.member ? 'sì' : 'no', ...r.cells.map((c) => (c ? STATUS_MARKS[c].label : '')), r.inForce]),
      );
    case 'ricavi.csv':
      return csv(
        ['anno', 'addebiti_emessi', 'importo_emesso', 'addebiti_pagati', 'importo_pagato'],
        d.revenue.map((r) => [r.year, r.issuedCount, euroCell(r.issuedCents), r.paidCount, euroCell(r.paidCents)]),
      );
    case 'scaduti.csv': {
      const all = await overdueCharges(app.db, d.today, null);
      return csv(['ente', 'addebiti_scaduti', 'importo_scaduto'], all.enti.map((e) => [e.enteName, e.count, euroCell(e.cents)]));
    }
    case 'in-scadenza.csv':
      return csv(
        ['ente', 'servizio', 'nome_servizio', 'stato', 'fine', 'giorni', 'rinnovo_automatico'],
        (await expiringAdesioni(app.db, d.today)).map((e) => [e.enteName, e.serviceCode, e.serviceName, STATUS_MARKS[e.status].label, e.endDate, e.daysLeft, e.autoRenew ? 'sì' : 'no']),
      );
    case 'formazione.csv':
      return csv(
        ['sessione', 'inizio', 'stato', 'posti', 'occupati', 'in_attesa', 'riempimento_percento'],
        d.training.map((t) => [t.title, t.startsAt, t.status, t.seats, t.taken, t.waitlisted, t.fillPercent.toFixed(1).replace('.', ',')]),
      );
  }
}

/** The page's view of the figures. */
function viewOf(d: DashboardData): Record<string, unknown> {
  const thisYear = Number(d.today.slice(0, 4));
  const current = d.revenue.find((r) => r.year === thisYear);
  return {
    today: d.today,
    services: d.services,
    rows: d.matrix.map((r) => ({
      enteName: r.enteName,
      // The column is headed "Comune": the row shows the name only (narrower on a phone).
      shortName: r.enteName.replace(/^Comune di /, ''),
      member: r.member,
      inForce: r.inForce,
      cells: r.cells.map((c) => (c ? { c, l: STATUS_MARKS[c].label } : NONE)),
    })),
    legend: LEGEND_ORDER.map((s) => ({ c: s, ...STATUS_MARKS[s], n: d.statusCounts[s] ?? 0 })),
    inForceTotal: d.inForceTotal,
    comuniWithAdesioni: d.comuniWithAdesioni,
    comuniTotal: d.matrix.length,
    revenue: [...d.revenue].reverse(),
    revenueTotals: d.revenue.reduce((t, r) => ({ issuedCents: t.issuedCents + r.issuedCents, paidCents: t.paidCents + r.paidCents }), { issuedCents: 0, paidCents: 0 }),
    paidThisYear: current?.paidCents ?? 0,
    thisYear,
    revenueChart: revenueChart(d.revenue),
    overdue: d.overdue,
    expiring: d.expiring.slice(0, EXPIRING_SHOWN).map((e) => ({ ...e, statusLabel: STATUS_MARKS[e.status].label })),
    expiringTotal: d.expiring.length,
    expiringMore: Math.max(0, d.expiring.length - EXPIRING_SHOWN),
    expiringDays: EXPIRING_WITHIN_DAYS,
    training: d.training.map((t) => ({ ...t, statusLabel: t.status === 'held' ? 'Svolta' : t.startsAt.slice(0, 10) < d.today ? 'Conclusa' : 'Programmata' })),
    trainingChart: trainingChart(d.training),
  };
}

export default async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const staff = requireRole(['sael_admin', 'helpdesk']);
  const today = () => localDate(app.catalogue.now());

  const sendCsv = async (reply: FastifyReply, name: ExportName) => {
    const d = await dashboardData(app.db, today());
    const body = await exportCsv(app, name, d);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="catalogo-${name.replace('.csv', '')}-${d.today}.csv"`)
      .send(body);
  };

  app.get<{ Querystring: { format?: 'html' | 'csv'; tabella?: string } }>(
    '/admin/catalogo',
    {
      preHandler: staff,
      schema: {
        querystring: {
          type: 'object',
          properties: {
            format: { type: 'string', enum: ['html', 'csv'] },
            tabella: { type: 'string', enum: EXPORTS.map((e) => e.replace('.csv', '')) },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      if (request.query.format === 'csv') return sendCsv(reply, `${request.query.tabella ?? 'adesioni'}.csv` as ExportName);
      const d = await dashboardData(app.db, today());
      // The page (84 × 22 cells, ~190 KB) is rendered once per computed set of figures (and user
      // header) and reused with each response's CSRF token and nonce until the figures change.
      return reply.page('catalogue/dashboard-page', () => ({ title: 'Catalogo SAEL – cruscotto', ...viewOf(d) }), { reuse: { owner: d, key: '' } });
    },
  );

  app.get<{ Params: { file: ExportName } }>(
    '/admin/catalogo/export/:file',
    { preHandler: staff, schema: { params: { type: 'object', properties: { file: { type: 'string', enum: [...EXPORTS] } }, required: ['file'] } } },
    async (request, reply) => sendCsv(reply, request.params.file),
  );
}
