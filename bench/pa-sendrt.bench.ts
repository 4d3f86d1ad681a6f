/**
 * paSendRTV2: receipts per second stored durably (the station answers OK only after the commit of
 * the receipt, its transfers, the payment and the outbox rows; WAL, synchronous=NORMAL as in
 * production), distinct notices, 16 connections on loopback; baseline in the same run: a bare
 * Fastify route doing one durable INSERT of the raw body (same pragmas) per request. Absolute
 * goal (issue 4): ≥ 500 receipts/s.
 */
import fs from 'node:fs';
import path from 'node:path';
import type autocannon from 'autocannon';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';
import { listen, load, report } from './lib.js';
import { generatePositions, sendRtBody } from './pa-lib.js';

const N = Number(process.env.BENCH_SENDRT_POSITIONS ?? 60_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 16;

const data = await generatePositions(N, 'sael-bench-sendrt-');
try {
  const bodies = Array.from({ length: N }, (_, i) => sendRtBody(data, i));
  const headers = { 'content-type': 'text/xml; charset=utf-8', soapaction: '"paSendRTV2"' };
  const cycling = (): autocannon.Request[] => {
    let k = 0;
    return [{ method: 'POST', path: '/pagopa/paForNode', headers, setupRequest: (req) => ({ ...req, body: bodies[k++ % bodies.length] }) }];
  };

  const app = await buildApp(data.config, { logger: false, backgroundWorkers: false, demoPositions: false });
  const base = await listen(app);
  const first = await (await fetch(`${base}/pagopa/paForNode`, { method: 'POST', headers, body: bodies[0] })).text();
  if (!first.includes('<outcome>OK</outcome>')) throw new Error(`sendRT did not answer OK: ${first.slice(0, 400)}`);
  const before = (app.sqlite.prepare("SELECT count(*) n FROM receipts WHERE processing = 'applied'").get() as { n: number }).n;
  const t0 = Date.now();
  const ours = await load(`${base}/pagopa/paForNode`, { connections: CONNECTIONS, seconds: SECONDS, requests: cycling() });
  const elapsed = (Date.now() - t0) / 1000;
  const stored = (app.sqlite.prepare("SELECT count(*) n FROM receipts WHERE processing = 'applied'").get() as { n: number }).n - before;
  await app.close();
  const oursRate = stored / elapsed;
  if (stored >= N - 1) console.log('warning: every prepared notice was used; raise BENCH_SENDRT_POSITIONS');

  // Baseline: one durable INSERT of the raw body per request, same pragmas, same transport.
  const bareDb = new Database(path.join(data.dir, 'bare.sqlite'));
  bareDb.pragma('journal_mode = WAL');
  bareDb.pragma('synchronous = NORMAL');
  bareDb.exec('CREATE TABLE raw_receipts (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const ins = bareDb.prepare('INSERT INTO raw_receipts (body) VALUES (?)');
  const bare = Fastify({ logger: false });
  bare.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1 << 20 }, (_r, b, done) => done(null, b));
  bare.post('/pagopa/paForNode', async (req, reply) => {
    ins.run(req.body as string);
    return reply.type('text/xml; charset=utf-8').send(first);
  });
  const bareBase = await listen(bare);
  const b0 = Date.now();
  const baseline = await load(`${bareBase}/pagopa/paForNode`, { connections: CONNECTIONS, seconds: SECONDS, requests: cycling() });
  const bElapsed = (Date.now() - b0) / 1000;
  const bareStored = (bareDb.prepare('SELECT count(*) n FROM raw_receipts').get() as { n: number }).n;
  await bare.close();
  bareDb.close();

  report({
    name: `paSendRTV2 receipts stored durably, distinct notices, ${CONNECTIONS} conn`,
    ours: oursRate,
    baseline: bareStored / bElapsed,
    unit: 'receipts/s',
    better: 'higher',
    goal: { atLeast: 0.1 },
    extra: `absolute goal ≥ 500/s: ${oursRate >= 500 ? 'PASS' : 'MISS'}; p99 ours ${ours.p99} ms, bare ${baseline.p99} ms; errors ${ours.errors}/${ours.non2xx}`,
  });
} finally {
  fs.rmSync(data.dir, { recursive: true, force: true });
}
