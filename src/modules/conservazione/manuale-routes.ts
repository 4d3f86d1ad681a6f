/**
 * - `/conservazione/manuale` and `/conservazione/manuale.pdf`: the Manuale di conservazione,
 *   public (the Linee Guida want it published), generated from the settings and the database;
 * - `/admin/conservazione`: the SAEL overview of the conservazione (sael_admin; helpdesk reads):
 *   counts, daily runs, latest audit, open alerts, event log and anchors, links to the sections.
 */
import type { FastifyInstance } from 'fastify';
import { requireRole } from '../../plugins/auth.js';
import { buildManuale, renderManualePdf } from './manuale.js';
import { conservazioneOverview } from './overview.js';

const BYTES_IT = new Intl.NumberFormat('it-IT', { maximumFractionDigits: 1 });

/** 1536 → "1,5 kB" */
export function bytesLabel(n: number): string {
  if (n < 1024) return `${n} byte`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${BYTES_IT.format(v)} ${units[i]}`;
}

const RUN_LABELS: Record<string, { label: string; badge: string }> = {
  running: { label: 'In corso', badge: 'bg-primary' },
  done: { label: 'Completato', badge: 'bg-success' },
  failed: { label: 'Non riuscito', badge: 'bg-danger' },
  interrupted: { label: 'Interrotto', badge: 'bg-warning' },
};

const SEALING_LABELS = {
  production: 'firma del conservatore e TSA qualificata configurate',
  demo: 'chiavi dimostrative e TSA simulata (ambiente di prova)',
  none: 'non configurate: i PdA non vengono formati',
} as const;

export default async function manualeRoutes(app: FastifyInstance): Promise<void> {
  app.get('/conservazione/manuale', async (request, reply) => {
    const manuale = await buildManuale(app.conservazione);
    if (!request.user) reply.header('cache-control', 'public, max-age=300');
    return reply.page('conservazione/manuale-page', { title: `${manuale.title} – ${manuale.conservatore}`, manuale });
  });

  app.get('/conservazione/manuale.pdf', async (request, reply) => {
    const pdf = await renderManualePdf(await buildManuale(app.conservazione));
    if (!request.user) reply.header('cache-control', 'public, max-age=300');
    return reply.type('application/pdf').header('content-disposition', 'inline; filename="manuale-di-conservazione.pdf"').send(pdf);
  });

  app.get('/admin/conservazione', { preHandler: requireRole(['sael_admin', 'helpdesk']) }, async (_request, reply) => {
    const o = await conservazioneOverview(app.conservazione);
    return reply.page('conservazione/overview-page', {
      title: 'Conservazione digitale – panoramica',
      o,
      storedSize: bytesLabel(o.blobs.bytes),
      sealingLabel: SEALING_LABELS[o.sealing],
      runs: o.dailyRuns.map((r) => ({ ...r, ...(RUN_LABELS[r.status] ?? { label: r.status, badge: 'bg-secondary' }) })),
      lastAudit: o.lastAudit && { ...o.lastAudit, ...(RUN_LABELS[o.lastAudit.status] ?? { label: o.lastAudit.status, badge: 'bg-secondary' }) },
    });
  });
}
