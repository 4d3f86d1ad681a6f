/**
 * CSRF protection on every state-changing request of a cookie-authenticated route, in two layers:
 * - where the request comes from (OWASP, "Verifying origin with standard headers" and Fetch
 *   Metadata): `Sec-Fetch-Site` other than same-origin/none, or an `Origin` that is not ours, is
 *   refused; a request with neither header (a non-browser client, an old browser) passes on to
 * - the synchronizer token: the form carries `_csrf` (from `reply.generateCsrf()`, a secret kept
 *   in the server-side session), or the request the `X-CSRF-Token` header.
 * Upload forms (multipart, streamed after this hook) declare `config: { upload: true }` and put
 * `_csrf` as a field before the file: the token is checked when the handler reads the first file
 * (or the end of the body), before any file byte reaches it. Tokens never travel in the URL.
 * Routes that are not browser forms (SOAP from the node, bearer-token API, SAML ACS posted by
 * the IdP) opt out of both layers with `config: { csrf: false }`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import csrfProtection from '@fastify/csrf-protection';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A multipart upload form: its `_csrf` is the field before the file (checked as the body is read). */
    upload?: boolean;
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const kUploadToken = Symbol('uploadCsrfToken');
type WithUploadToken = FastifyRequest & { [kUploadToken]?: string };

/** Same-origin check from the Fetch Metadata and Origin headers; true when neither is sent. */
export function isSameOriginRequest(headers: FastifyRequest['headers'], allowedOrigins: string[]): boolean {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== '') return site === 'same-origin' || site === 'none';
  const origin = headers.origin;
  if (typeof origin === 'string' && origin !== '') return allowedOrigins.includes(origin.toLowerCase());
  return true;
}

/** The symbol under which @fastify/multipart keeps its per-request part reader (used by parts() and file()). */
function multipartHandlerKey(request: FastifyRequest): symbol | undefined {
  for (let o: object | null = request; o; o = Object.getPrototypeOf(o)) {
    const key = Object.getOwnPropertySymbols(o).find((s) => s.description === 'multipartHandler');
    if (key) return key;
  }
  return undefined;
}

type NextPart = () => Promise<{ type?: string; file?: unknown; fieldname?: string; value?: unknown } | null | undefined>;

export default fp(
  async function csrfPlugin(app: FastifyInstance) {
    await app.register(csrfProtection, {
      sessionPlugin: '@fastify/session',
      getToken: (request: FastifyRequest) => {
        const fromUpload = (request as WithUploadToken)[kUploadToken];
        if (fromUpload !== undefined) return fromUpload;
        const body = request.body as Record<string, unknown> | undefined;
        const fromBody = body && typeof body._csrf === 'string' ? body._csrf : undefined;
        return fromBody ?? (request.headers['x-csrf-token'] as string | undefined);
      },
    });

    /** Checks a token read from an upload's fields; rejects with the plugin's 403 error. */
    const verifyUploadToken = (request: FastifyRequest, token: string) =>
      new Promise<void>((resolve, reject) => {
        (request as WithUploadToken)[kUploadToken] = token;
        const stub = { send: (err: Error) => reject(err) } as unknown as FastifyReply;
        app.csrfProtection.call(app, request, stub, () => resolve());
      });

    /** Wraps the request's multipart reader so the first file (or the end) waits for the token check. */
    const guardUpload = (request: FastifyRequest) => {
      const key = multipartHandlerKey(request);
      if (!key) throw new Error('@fastify/multipart is not registered');
      const target = request as unknown as Record<symbol, (options?: unknown) => NextPart>;
      const original = target[key]!;
      target[key] = function guarded(this: FastifyRequest, options?: unknown): NextPart {
        const next = original.call(this, options);
        let token = '';
        let verified = false;
        return async () => {
          const part = await next();
          if (verified) return part;
          if (part && part.type !== 'file' && !part.file) {
            if (part.fieldname === '_csrf' && typeof part.value === 'string') token = part.value;
            return part;
          }
          await verifyUploadToken(request, token);
          verified = true;
          return part;
        };
      };
    };

    const ownOrigins = new Set([new URL(app.config.publicUrl).origin.toLowerCase()]);

    app.addHook('preValidation', (request: FastifyRequest, reply: FastifyReply, done) => {
      if (!UNSAFE.has(request.method) || request.routeOptions.config.csrf === false) return done();
      // A 404/405 for an unknown route writes nothing; let the not-found handler answer.
      if (!request.routeOptions.url) return done();
      const origins = [...ownOrigins, `${request.protocol}://${request.host}`.toLowerCase()];
      if (!isSameOriginRequest(request.headers, origins)) {
        request.log.warn({ origin: request.headers.origin, site: request.headers['sec-fetch-site'] }, 'cross-site request refused');
        return done(new HttpError(403, 'Richiesta proveniente da un altro sito: operazione non consentita. Riapri la pagina da questo sito e riprova.'));
      }
      if (request.routeOptions.config.upload === true && request.isMultipart() && request.headers['x-csrf-token'] === undefined) {
        guardUpload(request);
        return done();
      }
      app.csrfProtection.call(app, request, reply, done);
    });
  },
  { name: 'csrf', dependencies: ['sessions'] },
);
