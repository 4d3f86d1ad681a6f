/**
 * HTTP face of the built-in TSA (demo and tests only): `POST /simulators/tsa` with a DER
 * TimeStampReq (`Content-Type: application/timestamp-query`, RFC 3161 §3.4) answers a DER
 * TimeStampResp (`application/timestamp-reply`); a malformed request gets a TimeStampResp with
 * status rejection (badDataFormat), another content type 415. Keys are generated at first use into
 * `keysDir` (ensureTsaKeys in keys.ts). The TSA and its keys' module (PKI.js under them) are
 * imported at the first request, not when the app registers these routes.
 */
import type { FastifyInstance } from 'fastify';
import type { TsaKeys } from './keys.js';
import type { Tsa } from './tsa.js';

export const TSA_PATH = '/simulators/tsa';
const MAX_REQUEST_BYTES = 16 * 1024; // a TimeStampReq is ~100 bytes; extensions aside, never kilobytes

export interface TsaPluginOptions {
  /** Folder of the TSA keys (e.g. `DATA_DIR/tsa-simulator`). */
  keysDir: string;
  clock?: () => Date;
}

export async function tsaSimulatorRoutes(app: FastifyInstance, options: TsaPluginOptions): Promise<void> {
  const clock = options.clock ?? (() => new Date());
  let tsa: Promise<{ tsa: Tsa; keys: TsaKeys }> | undefined;
  const load = () =>
    (tsa ??= Promise.all([import('./keys.js'), import('./tsa.js')]).then(async ([{ ensureTsaKeys }, { createTsa }]) => {
      let keys: TsaKeys;
      try {
        keys = await ensureTsaKeys(options.keysDir, clock);
      } catch (e) {
        tsa = undefined; // retry on the next request
        throw e;
      }
      return { keys, tsa: createTsa({ key: keys.keyPem, certificate: keys.certPem, clock }) };
    }));

  app.addContentTypeParser('application/timestamp-query', { parseAs: 'buffer', bodyLimit: MAX_REQUEST_BYTES }, (_req, body, done) =>
    done(null, body),
  );

  app.post<{ Body: Buffer }>(
    TSA_PATH,
    {
      // Called by programs (the conservazione signer, openssl), never by a browser form.
      config: { csrf: false },
      schema: {
        headers: {
          type: 'object',
          required: ['content-type'],
          properties: { 'content-type': { type: 'string', pattern: '^application/timestamp-query\\s*(;.*)?$' } },
        },
      },
    },
    async (req, reply) => {
      const { tsa } = await load();
      const der = await tsa.respond(req.body);
      return reply.header('cache-control', 'no-store').type('application/timestamp-reply').send(der);
    },
  );

  /** The CA and TSA certificates, for verifiers (PEM). */
  app.get(`${TSA_PATH}/ca.pem`, { schema: {} }, async (_req, reply) => {
    const { keys } = await load();
    return reply.type('application/x-pem-file').send(keys.caCertPem);
  });
  app.get(`${TSA_PATH}/tsa.pem`, { schema: {} }, async (_req, reply) => {
    const { keys } = await load();
    return reply.type('application/x-pem-file').send(keys.certPem);
  });
}
