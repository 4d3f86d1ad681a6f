/**
 * Shared helpers for benchmarks. Every benchmark measures a baseline in the same run (the machines
 * are noisy) and prints its figure as a ratio with `report`, one line per figure:
 *   BENCH <name>: ours <value> <unit> | baseline <value> <unit> | ratio <r> | goal <text> | PASS/MISS
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';

export interface Figure {
  name: string;
  ours: number;
  baseline: number;
  unit: string;
  /** 'higher' when bigger ours/baseline is better (throughput), 'lower' for times. */
  better: 'higher' | 'lower';
  /** Goal on the ratio ours/baseline, e.g. { atLeast: 0.3 } or { atMost: 3 }. */
  goal: { atLeast?: number; atMost?: number };
  extra?: string;
}

export function report(f: Figure): boolean {
  const ratio = f.ours / f.baseline;
  const ok = (f.goal.atLeast === undefined || ratio >= f.goal.atLeast) && (f.goal.atMost === undefined || ratio <= f.goal.atMost);
  const goal = [f.goal.atLeast !== undefined ? `≥ ${f.goal.atLeast}` : '', f.goal.atMost !== undefined ? `≤ ${f.goal.atMost}` : ''].filter(Boolean).join(' and ');
  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(2));
  console.log(
    `BENCH ${f.name}: ours ${fmt(f.ours)} ${f.unit} | baseline ${fmt(f.baseline)} ${f.unit} | ratio ${ratio.toFixed(2)} | goal ratio ${goal}${f.extra ? ` | ${f.extra}` : ''} | ${ok ? 'PASS' : 'MISS'}`,
  );
  return ok;
}

export interface LoadResult {
  rps: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** Load on a local URL with autocannon (loopback only); bounded in time. */
export async function load(url: string, opts: { connections: number; seconds: number; headers?: Record<string, string>; method?: 'GET' | 'POST'; body?: string; requests?: autocannon.Request[] }): Promise<LoadResult> {
  const r = await autocannon({
    url,
    connections: opts.connections,
    duration: opts.seconds,
    headers: opts.headers,
    method: opts.method,
    body: opts.body,
    requests: opts.requests,
  });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

const AUTOCANNON_CLI = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

/**
 * GET load on a local URL with autocannon in its own process (its CLI, JSON output), so the load
 * generator does not share the event loop and the core of the server under test.
 */
export async function loadInChild(url: string, opts: { connections: number; seconds: number; headers?: Record<string, string> }): Promise<LoadResult> {
  const args = [AUTOCANNON_CLI, '--json', '-c', String(opts.connections), '-d', String(opts.seconds)];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}=${v}`);
  args.push(url);
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 }, (err, out) => (err ? reject(err) : resolve(out))),
  );
  const r = JSON.parse(stdout) as { requests: { average: number }; latency: { p99: number }; errors: number; non2xx: number };
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

/** Listens on an ephemeral loopback port and returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** Wall time of an async function in milliseconds. */
export async function timeIt<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}
