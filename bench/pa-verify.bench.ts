/**
 * paVerifyPaymentNotice with 1 000 000 positions in the database, 64 connections on loopback:
 * throughput of the real station route (XSD validation, identity checks, lookup, answer) as a
 * ratio of a bare Fastify route answering a constant XML in the same run (goal ≥ 0.25), and the
 * p99 latency (goal < 50 ms). Requests cycle over random notices of the million. The helpdesk's
 * log of node calls holds a million earlier calls too (BENCH_NODE_CALLS=0 starts it empty): each
 * call logged during the run then lands on a random page of its notice index, as in production.
 * The server runs as configured by default: under this load the read-only calls go to the
 * station's worker thread (PAGOPA_STATION_WORKERS=1), which the warm-up starts; the measure
 * begins 5 s after the worker is ready (its own page cache starts cold).
 */
import fs from 'node:fs';
import type autocannon from 'autocannon';
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';
import { verifyRequest } from '../src/simulators/pagopa/node-messages.js';
import { listen, load, report } from './lib.js';
import { generatePositions } from './pa-lib.js';

const N = Number(process.env.BENCH_VERIFY_POSITIONS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 64;

const data = await generatePositions(N, 'sael-bench-verify-');
console.log(`generated ${N} positions in ${Math.round(data.generateMs)} ms`);
try {
  const id = { idPA: data.ente.fiscalCode, idBrokerPA: data.config.pagopa.brokerId, idStation: data.config.pagopa.stationId };
  const bodies = Array.from({ length: 5000 }, () => verifyRequest(id, { fiscalCode: data.ente.fiscalCode, noticeNumber: data.notice(Math.floor(Math.random() * N)) }));
  let k = 0;
  const requests: autocannon.Request[] = [
    {
      method: 'POST',
      path: '/pagopa/paForNode',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"paVerifyPaymentNotice"' },
      setupRequest: (req) => ({ ...req, body: bodies[k++ % bodies.length] }),
    },
  ];

  // Ours.
  const app = await buildApp(data.config, { logger: false, backgroundWorkers: false, demoPositions: false });
  const base = await listen(app);
  const sample = await fetch(`${base}/pagopa/paForNode`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"paVerifyPaymentNotice"' }, body: bodies[0] });
  const answer = await sample.text();
  if (!answer.includes('<outcome>OK</outcome>')) throw new Error(`verify did not answer OK: ${answer.slice(0, 400)}`);
  // Warm-up: the load starts the station's worker; once it is ready, a few seconds more fill its
  // page cache (a million positions), as on a server that has been answering for a while.
  await load(`${base}/pagopa/paForNode`, { connections: CONNECTIONS, seconds: 2, requests });
  await app.stationPool.ready();
  await load(`${base}/pagopa/paForNode`, { connections: CONNECTIONS, seconds: 5, requests });
  const byWorkersBefore = app.stationPool.answeredByWorkers;
  const ours = await load(`${base}/pagopa/paForNode`, { connections: CONNECTIONS, seconds: SECONDS, requests });
  const byWorkers = app.stationPool.answeredByWorkers - byWorkersBefore;
  await app.close();

  // Baseline: a bare Fastify route answering the same XML, constant.
  const bare = Fastify({ logger: false });
  bare.addContentTypeParser('*', { parseAs: 'buffer' }, (_r, b, done) => done(null, b));
  bare.post('/pagopa/paForNode', async (_req, reply) => reply.type('text/xml; charset=utf-8').send(answer));
  const bareBase = await listen(bare);
  await load(`${bareBase}/pagopa/paForNode`, { connections: CONNECTIONS, seconds: 2, requests });
  const baseline = await load(`${bareBase}/pagopa/paForNode`, { connections: CONNECTIONS, seconds: SECONDS, requests });
  await bare.close();

  if (ours.errors || ours.non2xx) console.log(`warning: ours errors ${ours.errors}, non-2xx ${ours.non2xx}`);
  report({ name: `paVerifyPaymentNotice, ${N} positions, ${CONNECTIONS} conn (throughput)`, ours: ours.rps, baseline: baseline.rps, unit: 'req/s', better: 'higher', goal: { atLeast: 0.25 }, extra: `p99 ours ${ours.p99} ms, bare ${baseline.p99} ms | ${Math.round((100 * byWorkers) / (ours.rps * SECONDS))}% answered by the ${data.config.pagopa.stationWorkers} station worker(s)` });
  report({ name: `paVerifyPaymentNotice p99 vs the 50 ms limit`, ours: ours.p99, baseline: 50, unit: 'ms', better: 'lower', goal: { atMost: 1 }, extra: 'baseline = the 50 ms limit' });
} finally {
  fs.rmSync(data.dir, { recursive: true, force: true });
}
