/**
 * Graceful shutdown on SIGTERM/SIGINT: stop accepting connections, let in-flight requests finish
 * (Fastify's close waits for them and drops idle keep-alive sockets), stop background workers and
 * close the database (onClose hooks), then exit 0; exit 1 if that takes longer than `timeoutMs`.
 */
import type { FastifyInstance } from 'fastify';

export function installGracefulShutdown(app: FastifyInstance, timeoutMs = 15_000): void {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const force = setTimeout(() => {
      app.log.error(`shutdown timed out after ${timeoutMs} ms`);
      process.exit(1);
    }, timeoutMs);
    force.unref();
    // Keep-alive sockets whose last request finishes after close() started would otherwise stay
    // open until their keep-alive timeout: close them as soon as they go idle.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
    sweep.unref();
    try {
      await app.close();
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
