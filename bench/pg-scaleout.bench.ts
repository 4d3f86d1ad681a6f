/**
 * Scale-out (issue #19): paVerifyPaymentNotice and paSendRTV2 answered by two `src/server.ts`
 * processes on one PostgreSQL, against one process on its SQLite file (the baseline), in the same
 * run, on the same positions. Reports both throughput ratios, the p99 of each, and the CPU
 * seconds per 1 000 calls of everything that answered them (the app processes, and on
 * PostgreSQL the database server's processes too): on a two-core machine the database server
 * shares the cores, so CPU per call is what predicts a bigger machine.
 *
 * PostgreSQL: BENCH_DATABASE_URL names a server (its CPU is then not counted), else the benchmark
 * starts a throwaway cluster with scripts/pg-throwaway.sh (fsync on, asynchronous commit — the
 * counterpart of SQLite's WAL with synchronous=NORMAL) and counts its processes' CPU.
 * Sizes: BENCH_SCALEOUT_POSITIONS (100 000), BENCH_SECONDS (10), 32 connections in all.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type autocannon from 'autocannon';
import pg from 'pg';
import { openAppDatabase } from '../src/db/open.js';
import { sqlGet } from '../src/db/raw.js';
import { seedDemoData } from '../src/modules/enti/demo-seed.js';
import { listEnti } from '../src/modules/enti/repository.js';
import { verifyRequest } from '../src/simulators/pagopa/node-messages.js';
import { load, report, type LoadResult } from './lib.js';
import { generatePositions, sendRtBody, type BenchData } from './pa-lib.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_SCALEOUT_POSITIONS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 32;
const CLK_TCK = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- CPU time of processes (Linux /proc), in seconds -------------------------------------------

function cpuOf(pid: number, withWaitedChildren = false): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 after the command.
    const own = Number(f[11]) + Number(f[12]);
    return (own + (withWaitedChildren ? Number(f[13]) + Number(f[14]) : 0)) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU of the postmaster, its live children and the children it already reaped. */
function clusterCpu(postmaster: number | undefined): number {
  if (!postmaster) return 0;
  let sum = cpuOf(postmaster, true);
  const children = execFileSync('ps', ['--ppid', String(postmaster), '-o', 'pid='], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const c of children) sum += cpuOf(Number(c));
  return sum;
}

// ---- The PostgreSQL copy of the positions -------------------------------------------------------

async function startPostgres(): Promise<{ url: string; postmaster?: number; stop(): void }> {
  if (process.env.BENCH_DATABASE_URL) return { url: process.env.BENCH_DATABASE_URL, stop: () => undefined };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-bench-pg-'));
  fs.chmodSync(dir, 0o777);
  const port = String(55000 + Math.floor(Math.random() * 4000));
  const script = path.join(ROOT, 'scripts/pg-throwaway.sh');
  const serverUrl = execFileSync('bash', [script, 'start', `${dir}/data`, port], { encoding: 'utf8', env: { ...process.env, PG_DURABLE: '1' } }).trim();
  const postmaster = Number(fs.readFileSync(`${dir}/data/postmaster.pid`, 'utf8').split('\n')[0]);
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = '/bench';
  return {
    url: u.toString(),
    postmaster,
    stop: () => {
      execFileSync('bash', [script, 'stop', `${dir}/data`]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The same positions as the SQLite file's (same ente, IUVs, amounts), inserted in batches. */
async function copyPositions(url: string, data: BenchData): Promise<void> {
  const h = await openAppDatabase({ databaseFile: '/nonexistent', databaseUrl: url });
  await seedDemoData(h.db);
  const ente = (await listEnti(h.db, { q: data.ente.name, kind: 'comune' }))[0]!;
  const service = (await sqlGet<{ id: number }>(h.db, "SELECT id FROM payment_services WHERE ente_id = ? AND code = 'TARI'", ente.id))!;
  await h.close();
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const now = new Date().toISOString();
  const batch = 10_000;
  for (let from = 0; from < N; from += batch) {
    const idx = Array.from({ length: Math.min(batch, N - from) }, (_, k) => from + k);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const pos = await client.query<{ id: number; iupd: string }>(
        `INSERT INTO positions (ente_id, service_id, iupd, debtor_type, debtor_fiscal_code, debtor_name, description, status, payload_hash, published_at, created_at, updated_at)
         SELECT $1, $2, unnest($3::text[]), 'F', $4, 'Mario Rossi', 'TARI 2026', 'published', 'bench', $5, $5, $5 RETURNING id, iupd`,
        [ente.id, service.id, idx.map((i) => `BENCH-${i}`), data.debtorFiscalCode, now],
      );
      const byIupd = new Map(pos.rows.map((r) => [r.iupd, Number(r.id)]));
      const opt = await client.query<{ id: number; iuv: string }>(
        `INSERT INTO payment_options (position_id, ente_id, ordinal, kind, description, amount_cents, due_date, iuv, notice_number, status, created_at)
         SELECT unnest($1::bigint[]), $2, 0, 'single', 'TARI 2026 in unica soluzione', $3, $4, unnest($5::text[]), unnest($6::text[]), 'unpaid', $7 RETURNING id, iuv`,
        [idx.map((i) => byIupd.get(`BENCH-${i}`)), ente.id, data.amountCents, data.dueDate, idx.map((i) => data.iuv(i)), idx.map((i) => data.notice(i)), now],
      );
      await client.query(
        `INSERT INTO transfers (option_id, id_transfer, fiscal_code_pa, amount_cents, iban, remittance_information, taxonomy_code)
         SELECT unnest($1::bigint[]), 1, $2, $3, $4, 'TARI 2026', '9/0101108TS/'`,
        [opt.rows.map((r) => Number(r.id)), ente.fiscalCode, data.amountCents, data.iban],
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }
  await pool.query('INSERT INTO iuv_sequences (ente_id, next_value) VALUES ($1, $2) ON CONFLICT (ente_id) DO UPDATE SET next_value = excluded.next_value', [ente.id, N + 1]);
  await pool.query('VACUUM ANALYZE');
  await pool.end();
}

// ---- App processes ------------------------------------------------------------------------------

interface Server {
  url: string;
  child: ChildProcess;
}

async function startServer(env: Record<string, string>, port: number): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/server.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errors = '';
  child.stderr!.on('data', (c) => (errors = (errors + String(c)).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited: ${errors}`);
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return { url, child };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`server not ready: ${errors}`);
}

async function stopServer(s: Server): Promise<void> {
  if (s.child.exitCode !== null) return;
  const gone = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await Promise.race([gone, sleep(10_000)]);
  if (s.child.exitCode === null) s.child.kill('SIGKILL');
}

interface Measure extends LoadResult {
  calls: number;
  cpuSeconds: number;
}

/** Load split evenly over the servers (a share of the connections each), with the CPU it cost. */
async function measure(servers: Server[], postmaster: number | undefined, requests: () => autocannon.Request[], seconds: number): Promise<Measure> {
  const cpu = () => servers.reduce((s, x) => s + cpuOf(x.child.pid!), 0) + clusterCpu(postmaster);
  const before = cpu();
  const parts = await Promise.all(servers.map((s) => load(`${s.url}/pagopa/paForNode`, { connections: CONNECTIONS / servers.length, seconds, requests: requests() })));
  const cpuSeconds = cpu() - before;
  const rps = parts.reduce((s, p) => s + p.rps, 0);
  return {
    rps,
    // The slower server's p99 bounds the combined one from above.
    p99: Math.max(...parts.map((p) => p.p99)),
    errors: parts.reduce((s, p) => s + p.errors, 0),
    non2xx: parts.reduce((s, p) => s + p.non2xx, 0),
    calls: rps * seconds,
    cpuSeconds,
  };
}

// ---- The run ------------------------------------------------------------------------------------

process.env.BENCH_NODE_CALLS = '0';
const data = await generatePositions(N, 'sael-bench-scaleout-');
const postgres = await startPostgres();
const servers: Server[] = [];
try {
  const t0 = Date.now();
  await copyPositions(postgres.url, data);
  console.log(`${N} positions in SQLite (${Math.round(data.generateMs)} ms) and PostgreSQL (${Date.now() - t0} ms)`);
  const id = { idPA: data.ente.fiscalCode, idBrokerPA: data.config.pagopa.brokerId, idStation: data.config.pagopa.stationId };
  const verifyBodies = Array.from({ length: 5000 }, () => verifyRequest(id, { fiscalCode: data.ente.fiscalCode, noticeNumber: data.notice(Math.floor(Math.random() * N)) }));
  const sendRt = (i: number) => sendRtBody(data, i);
  // Distinct notices for the receipts of each run: the SQLite run takes them from the start, the
  // PostgreSQL run from the middle (each database has its own copy: the halves never meet).
  const receiptRequests = (first: number) => {
    let next = first;
    return () => [
      {
        method: 'POST' as const,
        path: '/pagopa/paForNode',
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"paSendRTV2"' },
        setupRequest: (req: autocannon.Request) => ({ ...req, body: sendRt(next++ % N) }),
      },
    ];
  };
  const verifyRequests = () => {
    let k = 0;
    return [
      {
        method: 'POST' as const,
        path: '/pagopa/paForNode',
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"paVerifyPaymentNotice"' },
        setupRequest: (req: autocannon.Request) => ({ ...req, body: verifyBodies[k++ % verifyBodies.length] }),
      },
    ];
  };
  const common = { DATA_DIR: data.dir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000000', PAGOPA_FDR_INTERVAL_MINUTES: '0' };
  const base = 41000 + Math.floor(Math.random() * 2000);

  const run = async (label: string, list: Server[], postmaster: number | undefined, firstReceipt: number) => {
    await measure(list, postmaster, verifyRequests, 3); // warm-up
    const verify = await measure(list, postmaster, verifyRequests, SECONDS);
    const receipts = await measure(list, postmaster, receiptRequests(firstReceipt), SECONDS);
    for (const [what, m] of [['paVerify', verify], ['paSendRTV2', receipts]] as const) {
      if (m.errors || m.non2xx) console.log(`warning: ${label} ${what}: errors ${m.errors}, non-2xx ${m.non2xx}`);
      console.log(`${label} ${what}: ${Math.round(m.rps)}/s, p99 ${m.p99} ms, ${((1000 * m.cpuSeconds) / m.calls).toFixed(2)} CPU s per 1 000 calls`);
    }
    return { verify, receipts };
  };

  servers.push(await startServer(common, base));
  const sqlite = await run('SQLite, 1 process', servers, undefined, 0);
  await stopServer(servers.pop()!);

  servers.push(await startServer({ ...common, DATABASE_URL: postgres.url }, base + 1));
  servers.push(await startServer({ ...common, DATABASE_URL: postgres.url }, base + 2));
  const onPg = await run('PostgreSQL, 2 processes', servers, postgres.postmaster, Math.floor(N / 2));

  const cpuPer1000 = (m: Measure) => ((1000 * m.cpuSeconds) / m.calls).toFixed(2);
  const dbCpu = postgres.postmaster ? 'database server included' : 'database server not measured (BENCH_DATABASE_URL)';
  for (const [what, pgM, sqM] of [
    ['paVerifyPaymentNotice', onPg.verify, sqlite.verify],
    ['paSendRTV2', onPg.receipts, sqlite.receipts],
  ] as const) {
    report({
      name: `${what} on PostgreSQL, 2 processes vs SQLite, 1 process, ${N} positions, ${CONNECTIONS} conn (throughput)`,
      ours: pgM.rps,
      baseline: sqM.rps,
      unit: 'req/s',
      better: 'higher',
      goal: { atLeast: 0.5 },
      extra: `p99 PostgreSQL ${pgM.p99} ms, SQLite ${sqM.p99} ms | CPU s per 1 000 calls: PostgreSQL ${cpuPer1000(pgM)} (${dbCpu}), SQLite ${cpuPer1000(sqM)} | errors ${pgM.errors + pgM.non2xx}/${sqM.errors + sqM.non2xx}`,
    });
  }
} finally {
  for (const s of servers) await stopServer(s);
  postgres.stop();
  fs.rmSync(data.dir, { recursive: true, force: true });
}
