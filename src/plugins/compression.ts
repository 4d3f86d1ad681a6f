/**
 * Response compression (#14 §6) with @fastify/compress: pages (HTML), CSS, JS, SVG, JSON, CSV
 * and XML are sent with brotli or gzip when the client asks for it in Accept-Encoding, and as they
 * are otherwise. Bootstrap Italia's CSS (600 KB) and JS (1 MB) come through @fastify/static, which
 * must be registered after this plugin so that the hook covers its routes (the plugin compresses
 * the file streams; the assets are cached for 7 days, so a browser fetches them once).
 *
 * - Only compression: request bodies are never inflated (globalDecompression off), so a small
 *   gzip body cannot expand past the body limit into the SOAP station or the importers.
 * - br and gzip only, brotli at quality 4 (the plugin's default; 11 would cost ~30× the CPU on
 *   every page), below 1 KB nothing is compressed.
 * - Types that are already compressed (PDF, PNG, woff2) are left as they are: mime-db says so.
 * - The SOAP station is never compressed: it is the platform's hot path, its answers are 1–3 KB
 *   on the node's fast link, and brotli would only add CPU time to every call (its p99 is close
 *   to its goal).
 * - BREACH: signed-in pages carry a per-response CSP nonce and a CSRF token salted on every
 *   response, so no secret repeats byte for byte across responses.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import fastifyCompress from '@fastify/compress';
import { STATION_PATH } from '../modules/pagopa/station-routes.js';

export default fp(
  async function compressionPlugin(app: FastifyInstance) {
    // Runs before @fastify/compress's own onRoute hook, which reads `compress` off the route.
    app.addHook('onRoute', (route) => {
      if (route.url === STATION_PATH && route.compress === undefined) route.compress = false;
    });
    await app.register(fastifyCompress, {
      global: true,
      globalDecompression: false,
      encodings: ['br', 'gzip'],
      threshold: 1024,
    });
  },
  { name: 'compression' },
);
