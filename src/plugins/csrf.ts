/**
 * CSRF protection on every state-changing request of a cookie-authenticated route: the form
 * carries `_csrf` (from `reply.generateCsrf()`, a secret kept in the server-side session).
 * Routes that are not browser forms (SOAP from the node, bearer-token API, SAML ACS posted by
 * the IdP) opt out with `config: { csrf: false }`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import csrfProtection from '@fastify/csrf-protection';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export default fp(
  async function csrfPlugin(app: FastifyInstance) {
    await app.register(csrfProtection, {
      sessionPlugin: '@fastify/session',
      getToken: (request: FastifyRequest) => {
        const body = request.body as Record<string, unknown> | undefined;
        const fromBody = body && typeof body._csrf === 'string' ? body._csrf : undefined;
        // Multipart uploads are streamed after this check, so their form carries the token in the action URL.
        const fromQuery = (request.query as Record<string, unknown> | undefined)?._csrf;
        return fromBody ?? (request.headers['x-csrf-token'] as string | undefined) ?? (typeof fromQuery === 'string' ? fromQuery : undefined);
      },
    });
    app.addHook('preValidation', (request: FastifyRequest, reply: FastifyReply, done) => {
      if (!UNSAFE.has(request.method) || request.routeOptions.config.csrf === false) return done();
      // A 404/405 for an unknown route writes nothing; let the not-found handler answer.
      if (!request.routeOptions.url) return done();
      app.csrfProtection.call(app, request, reply, done);
    });
  },
  { name: 'csrf', dependencies: ['sessions'] },
);
