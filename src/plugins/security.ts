/**
 * Security headers (helmet) with a strict Content-Security-Policy, and rate limiting.
 * Scripts run only from our origin or with the per-response nonce; Bootstrap Italia needs inline
 * style attributes, so style-src keeps 'unsafe-inline' (no nonce there, which would disable it).
 * helmet's middleware is built once: @fastify/helmet built it again on every request (parsing the
 * CSP directives each time, ~8% of a personal-area page). Routes that are not pages (the SOAP
 * station) opt out with `config: { securityHeaders: false }`.
 */
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';
import rateLimit from '@fastify/rate-limit';

export interface SecurityOptions {
  /** Extra origins that forms may post to (SPID IdPs, pagoPA Checkout). */
  formActionOrigins?: string[];
}

type NoncedResponse = ServerResponse & { scriptNonce?: string };

const NONCE_BYTES = 16;
let entropy = Buffer.alloc(0);
let entropyAt = 0;

/**
 * 128 fresh random bits, taken from 4 KB drawn at a time from the CSPRNG (each draw is a system
 * call, as costly here as a page's whole CSP header; Node's randomUUID buffers the same way).
 */
function randomNonce(): string {
  if (entropyAt + NONCE_BYTES > entropy.length) {
    entropy = crypto.randomBytes(4096);
    entropyAt = 0;
  }
  entropyAt += NONCE_BYTES;
  return entropy.toString('base64url', entropyAt - NONCE_BYTES, entropyAt);
}

/** The response's script nonce, drawn on first use. */
function nonceOf(res: ServerResponse): string {
  return ((res as NoncedResponse).scriptNonce ??= randomNonce());
}

export default fp(
  async function securityPlugin(app: FastifyInstance, opts: SecurityOptions) {
    // The nonce is drawn when first needed (a page's template or the CSP header), not for every
    // request: routes without browser headers (the SOAP station) never pay for it.
    app.decorateReply('scriptNonce', {
      getter(this: FastifyReply) {
        return nonceOf(this.raw);
      },
    });
    const securityHeaders = helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          baseUri: ["'self'"],
          scriptSrc: ["'self'", (_req, res) => `'nonce-${nonceOf(res as ServerResponse)}'`],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          // Bootstrap Italia's CSS embeds one font (VideoJS's icons) as a data: URL.
          fontSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          frameAncestors: ["'none'"],
          formAction: ["'self'", ...(opts.formActionOrigins ?? [])],
          upgradeInsecureRequests: app.config.isProduction ? [] : null,
        },
      },
      strictTransportSecurity: app.config.isProduction ? { maxAge: 31536000, includeSubDomains: true } : false,
      referrerPolicy: { policy: 'same-origin' },
    });
    app.addHook('onRequest', (request, reply, done) => {
      if (request.routeOptions.config.securityHeaders === false) return done();
      securityHeaders(request.raw, reply.raw, (err?: unknown) => done(err as Error | undefined));
    });
    // For answers written without the hooks (a URL Fastify cannot decode: errors.ts frameworkErrorHandler).
    app.decorate('applySecurityHeaders', (req: IncomingMessage, res: ServerResponse) => securityHeaders(req, res, () => {}));
    await app.register(rateLimit, {
      global: true,
      max: app.config.rateLimitPerMinute,
      timeWindow: '1 minute',
      // Probes are exempt; so is the SOAP station (route config rateLimit: false): the pagoPA node is
      // one client making many calls, authenticated by mTLS in production.
      allowList: (request) => request.url === '/healthz' || request.url === '/readyz',
    });
  },
  { name: 'security', dependencies: [] },
);
