/**
 * "Sportello PSP" of the simulator: a page where a tester pays any notice (fiscal code of the
 * ente + notice number) as a PSP would, through the simulated node (real SOAP to our station),
 * with optional fault injection; and the central archive (ACA) `POST /aca/paCreatePosition`,
 * which accepts every call with 200.
 */
import type { FastifyInstance } from 'fastify';
import { payNotice } from './node.js';

interface DeskBody {
  fiscalCode: string;
  noticeNumber: string;
  primitive?: 'v1' | 'v2';
  duplicates?: string;
  delay?: string;
}

export default async function pspSimulator(app: FastifyInstance) {
  app.get('/psp', { schema: { hide: true } }, async (_request, reply) => reply.page('simulators/pagopa/psp', { title: 'Sportello PSP (simulatore pagoPA)' }));

  app.post<{ Body: DeskBody }>(
    '/psp',
    {
      config: { csrf: false },
      schema: {
        hide: true,
        body: {
          type: 'object',
          required: ['fiscalCode', 'noticeNumber'],
          properties: {
            fiscalCode: { type: 'string', pattern: '^\\s*[0-9]{11}\\s*$' },
            noticeNumber: { type: 'string', pattern: '^[0-9 ]{18,24}$' },
            primitive: { type: 'string', enum: ['v1', 'v2'] },
            duplicates: { type: 'string', enum: ['', '0', '1', '3'] },
            delay: { type: 'string', enum: ['', 'on'] },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const result = await payNotice(app, {
        fiscalCode: b.fiscalCode.trim(),
        noticeNumber: b.noticeNumber.replace(/\s/g, ''),
        v2: b.primitive !== 'v1',
        faults: { duplicates: Number(b.duplicates || 0), delayMs: b.delay === 'on' ? 5000 : 0 },
      }).catch((e: Error) => ({ ok: false, step: 'verify' as const, faultCode: `errore di rete: ${e.message}`, sendOutcomes: {} }));
      return reply.page('simulators/pagopa/psp', {
        title: 'Sportello PSP (simulatore pagoPA)',
        result,
        form: { ...b },
        outcomes: Object.entries(result.sendOutcomes).map(([cf, outcome]) => ({ cf, outcome })),
      });
    },
  );

  app.post('/aca/paCreatePosition', { config: { csrf: false }, schema: { hide: true, body: { type: 'object' } } }, async (request, reply) => {
    if (request.headers['ocp-apim-subscription-key'] !== app.config.pagopa.subscriptionKey) {
      return reply.code(401).send({ statusCode: 401, message: 'Access denied due to invalid subscription key.' });
    }
    return reply.code(200).send({});
  });
}
