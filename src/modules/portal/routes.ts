/**
 * Citizen portal pages. For now: the home page listing the member comuni (with search), the
 * information pages linked from the footer, the login entry page and logout. The pay-a-notice
 * flow and the personal area arrive with the citizen portal issue.
 */
import type { FastifyInstance } from 'fastify';
import { listEnti } from '../enti/repository.js';

const homeQuery = {
  type: 'object',
  properties: { q: { type: 'string', maxLength: 80 } },
  additionalProperties: false,
} as const;

export default async function portalModule(app: FastifyInstance) {
  app.get<{ Querystring: { q?: string } }>('/', { schema: { querystring: homeQuery } }, async (request, reply) => {
    const q = request.query.q?.trim() ?? '';
    const members = listEnti(app.db, { kind: 'comune', membersOnly: true, q: q || undefined });
    const others = q ? [] : listEnti(app.db, { kind: 'comune' }).filter((e) => !e.member);
    return reply.page('portal/home', { title: 'Home', q, members, others, othersCount: others.length });
  });

  const infoPages: Record<string, string> = {
    '/privacy': 'portal/privacy',
    '/accessibilita': 'portal/accessibility',
    '/note-legali': 'portal/legal',
  };
  for (const [url, template] of Object.entries(infoPages)) {
    app.get(url, async (_request, reply) => reply.page(template, { title: undefined }));
  }

  app.get<{ Querystring: { next?: string } }>(
    '/accesso',
    { schema: { querystring: { type: 'object', properties: { next: { type: 'string', maxLength: 1024 } }, additionalProperties: false } } },
    async (request, reply) => {
      if (request.user) return reply.redirect('/');
      return reply.page('portal/login', { title: 'Accedi', ...app.spid?.loginPageData(request.query.next) });
    },
  );

  app.post('/logout', { schema: { body: { type: 'object', properties: { _csrf: { type: 'string' } } } } }, async (request, reply) => {
    // SPID/CIE sessions: single logout with the IdP (ends the local session first).
    if (request.session.spid && app.spid) return app.spid.logout(request, reply);
    await request.session.destroy();
    return reply.redirect('/', 303);
  });
}
