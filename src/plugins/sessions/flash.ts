/**
 * One-time notices across a redirect (Post/Redirect/Get): a POST handler stores the outcome in
 * the session and redirects; the page it redirects to takes (and removes) it.
 */
import type { FastifyRequest } from 'fastify';

declare module '@fastify/session' {
  interface FastifySessionObject {
    flash?: string;
  }
}

/** Keeps `message` for the next page this session loads. */
export function setFlash(request: FastifyRequest, message: string): void {
  if (request.session) request.session.flash = message.slice(0, 2000);
}

/** The stored notice, if any, removed from the session. */
export function takeFlash(request: FastifyRequest): string | undefined {
  const message = request.session?.flash;
  if (message !== undefined) request.session.flash = undefined;
  return message;
}
