/**
 * A cluster for tests: two `src/server.ts` processes on one database behind nginx, rendered from
 * deploy/nginx/sael-pay-cluster.conf (the README's topology). The database is a parameter:
 * `{ kind: 'sqlite' }` (both processes on the same DATA_DIR, WAL and leases) or
 * `{ kind: 'postgres', url }` (a throwaway database on that server, passed as DATABASE_URL to both;
 * DATA_DIR is still shared, as the folder for uploads and generated keys every process sees).
 * Everything it starts is stopped at teardown, also when the test fails or the process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { nodeArgs } from '../helpers.js';
import { freePort } from '../pagopa/helpers.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const NGINX_TEMPLATE = path.join(ROOT, 'deploy/nginx/sael-pay-cluster.conf');

interface Teardown {
  teardown(fn: () => unknown): void;
}

export type ClusterDatabase = { kind: 'sqlite' } | { kind: 'postgres'; url: string };

/** PostgreSQL when CLUSTER_DATABASE_URL names a server (a database is created on it for the test), else SQLite. */
export function clusterDatabaseFromEnv(env: NodeJS.ProcessEnv = process.env): ClusterDatabase {
  return env.CLUSTER_DATABASE_URL ? { kind: 'postgres', url: env.CLUSTER_DATABASE_URL } : { kind: 'sqlite' };
}

/** nginx's binary: NGINX_BIN when set (only it), else Debian's /usr/sbin/nginx, else PATH. */
export function findNginx(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.NGINX_BIN ? [env.NGINX_BIN] : ['/usr/sbin/nginx', ...(env.PATH ?? '').split(':').filter(Boolean).map((d) => path.join(d, 'nginx'))];
  return candidates.find((c) => fs.existsSync(c));
}

/**
 * Writes `site` (a rendered http-level snippet) into `dir` inside a minimal main configuration of
 * our own (pid, logs and temporary files under `dir`, never the system's, in the foreground) and
 * returns the arguments that run nginx on it (add `-t` to only check it).
 */
export function writeNginxConf(dir: string, site: string): string[] {
  const siteConf = path.join(dir, 'sael-pay-cluster.conf');
  const mainConf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(siteConf, site);
  fs.writeFileSync(
    mainConf,
    [
      'daemon off;',
      'worker_processes 1;',
      `pid ${path.join(dir, 'nginx.pid')};`,
      `error_log ${path.join(dir, 'error.log')} warn;`,
      'events { worker_connections 512; }',
      'http {',
      `  access_log ${path.join(dir, 'access.log')};`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${path.join(dir, k)};`),
      `  include ${siteConf};`,
      '}',
      '',
    ].join('\n'),
  );
  return ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', mainConf];
}

/** The line after which `exposeUpstream` adds its header: the one that sends requests to the processes. */
const PROXY_PASS = /^( *)proxy_pass http:\/\/sael_pay;$/m;

/**
 * Replaces the envsubst placeholders of the README's config (`${SAEL_…}`) and refuses to leave one.
 * `exposeUpstream` (the cluster test) adds `X-Upstream: host:port` to every answer, the process
 * that answered (two entries when nginx moved on to the other one); the shipped file has no such
 * header, since it would show clients the internal addresses.
 */
export function renderNginxConf(template: string, vars: Record<string, string>, opts: { exposeUpstream?: boolean } = {}): string {
  let out = template.replace(/\$\{(SAEL_[A-Z0-9_]+)\}/g, (m, name: string) => {
    if (!(name in vars)) throw new Error(`no value for ${m} in ${NGINX_TEMPLATE}`);
    return vars[name]!;
  });
  if (opts.exposeUpstream) {
    if (!PROXY_PASS.test(out)) throw new Error(`no "proxy_pass http://sael_pay;" line in ${NGINX_TEMPLATE}`);
    out = out.replace(PROXY_PASS, (line, indent: string) => `${line}\n${indent}add_header X-Upstream $upstream_addr always;`);
  }
  return out;
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Read access to the cluster's database with `?` placeholders, whichever the dialect. */
export interface ClusterDb {
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

function sqliteDb(file: string): ClusterDb {
  let conn: Database.Database | undefined;
  return {
    async all<T>(sql: string, params: unknown[] = []) {
      if (!conn) {
        conn = new Database(file, { fileMustExist: true });
        conn.pragma('busy_timeout = 5000');
      }
      return conn.prepare(sql).all(...params) as T[];
    },
    async close() {
      conn?.close();
      conn = undefined;
    },
  };
}

function postgresDb(url: string): ClusterDb {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return {
    async all<T>(sql: string, params: unknown[] = []) {
      let n = 0;
      const res = await pool.query(sql.replace(/\?/g, () => `$${++n}`), params);
      return res.rows as T[];
    },
    close: () => pool.end(),
  };
}

export interface AppProcess {
  name: string;
  port: number;
  /** host:port as nginx's $upstream_addr shows it. */
  addr: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the signal or exit code. */
  exited: Promise<NodeJS.Signals | number | null>;
  alive(): boolean;
  /** The last lines the process printed (for failure messages). */
  output(): string;
}

export type CliRun = (args: string[]) => Promise<{ code: number | null; stdout: string; stderr: string }>;

export interface Cluster<P = undefined> {
  /** nginx's base URL (also the apps' PUBLIC_URL). */
  url: string;
  apps: AppProcess[];
  dataDir: string;
  db: ClusterDb;
  /** Environment both processes run with (for the CLI). */
  env: Record<string, string>;
  /** The app that answered, from the response's X-Upstream (the last address tried). */
  upstreamOf(res: Response): AppProcess | undefined;
  /** `npm run cli -- …` against the cluster's database. */
  cli: CliRun;
  /** What `prepare` returned. */
  prepared: P;
  /** kill -9 one app and wait for it to be gone. */
  kill9(app: AppProcess): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions<P> {
  database: ClusterDatabase;
  /** Runs once the first process is ready (database migrated and seeded), while the second starts. */
  prepare?: (c: { cli: CliRun; db: ClusterDb }) => Promise<P>;
  /** Extra environment for both processes. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

function tail(buf: { text: string }, chunk: Buffer | string) {
  buf.text = (buf.text + String(chunk)).slice(-4000);
}

/** Every child this module started, killed when the test process exits whatever the way. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function track(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  live.add(child);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve(signal ?? code);
    }),
  );
}

async function waitReady(url: string, app: { alive(): boolean; output(): string; name: string }, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!app.alive()) throw new Error(`${app.name} exited before it was ready:\n${app.output()}`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(150);
  }
  throw new Error(`${app.name} not ready at ${url} after ${timeoutMs} ms:\n${app.output()}`);
}

async function createPgDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `t_cluster_${crypto.randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * Starts nginx and two app processes. The first process starts alone (in demo mode its first start
 * migrates, seeds and generates the session secret and keys into DATA_DIR); the second starts once
 * the first is ready and finds them, as a second machine would find them on shared storage.
 */
export async function startCluster<P = undefined>(t: Teardown, opts: ClusterOptions<P>): Promise<Cluster<P>> {
  const nginxBin = findNginx();
  if (!nginxBin) throw new Error('nginx not found (apt-get install nginx, or NGINX_BIN=/path/to/nginx)');
  const cleanups: (() => Promise<void> | void)[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // keep stopping the rest
      }
    }
  };
  t.teardown(stop);

  try {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-cluster-'));
    cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
    // nginx's workers run as `nobody` when the master is root: they write request bodies and
    // large responses under its prefix, so the folder must be traversable.
    fs.chmodSync(root, 0o755);
    const dataDir = path.join(root, 'data');
    const nginxDir = path.join(root, 'nginx');
    fs.mkdirSync(dataDir);
    fs.mkdirSync(nginxDir);

    const [lbPort, port1, port2] = [await freePort(), await freePort(), await freePort()];
    const url = `http://127.0.0.1:${lbPort}`;

    let databaseUrl: string | undefined;
    if (opts.database.kind === 'postgres') {
      const created = await createPgDatabase(opts.database.url);
      cleanups.push(() => created.drop());
      databaseUrl = created.url;
    }
    const env: Record<string, string> = {
      APP_MODE: 'demo',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      PUBLIC_URL: url,
      TRUST_PROXY: 'true',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '1000000',
      PAGOPA_FDR_INTERVAL_MINUTES: '0',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      ...opts.env,
    };
    const db = databaseUrl ? postgresDb(databaseUrl) : sqliteDb(loadConfig({ ...env, PORT: String(port1) }).databaseFile);
    cleanups.push(() => db.close());

    const apps: AppProcess[] = [];
    const startApp = async (name: string, port: number): Promise<AppProcess> => {
      const out = { text: '' };
      const child = spawn(process.execPath, nodeArgs(path.join(ROOT, 'src/server.ts')), {
        cwd: ROOT,
        env: { ...process.env, ...env, PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (c) => tail(out, c));
      child.stderr!.on('data', (c) => tail(out, c));
      const exited = track(child);
      const app: AppProcess = {
        name,
        port,
        addr: `127.0.0.1:${port}`,
        pid: child.pid!,
        child,
        exited,
        alive: () => child.exitCode === null && child.signalCode === null,
        output: () => out.text,
      };
      cleanups.push(async () => {
        if (!app.alive()) return;
        child.kill('SIGTERM');
        const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
        if (!done) {
          child.kill('SIGKILL');
          await exited;
        }
      });
      apps.push(app);
      await waitReady(`http://${app.addr}/readyz`, app, opts.readyTimeoutMs ?? 60_000);
      return app;
    };
    const cli = async (args: string[]) => {
      const child = spawn(process.execPath, [...nodeArgs(path.join(ROOT, 'src/cli.ts')), ...args], {
        cwd: ROOT,
        env: { ...process.env, ...env, PORT: String(port1), LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (c) => (stdout += String(c)));
      child.stderr!.on('data', (c) => (stderr += String(c)));
      const code = await track(child);
      return { code: typeof code === 'number' ? code : null, stdout, stderr };
    };
    await startApp('app1', port1);
    // The second process starts (~10 s of CPU) while the caller prepares on the first one's database.
    const [, prepared] = await Promise.all([startApp('app2', port2), opts.prepare ? opts.prepare({ cli, db }) : undefined]);

    // nginx: the README's file, rendered, inside our own minimal main configuration (writeNginxConf).
    const rendered = renderNginxConf(fs.readFileSync(NGINX_TEMPLATE, 'utf8'), {
      SAEL_LISTEN: `127.0.0.1:${lbPort}`,
      SAEL_APP_1: apps[0]!.addr,
      SAEL_APP_2: apps[1]!.addr,
    }, { exposeUpstream: true });
    const nginxArgs = writeNginxConf(nginxDir, rendered);
    const nginxOut = { text: '' };
    const nginx = spawn(nginxBin, nginxArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    nginx.stdout!.on('data', (c) => tail(nginxOut, c));
    nginx.stderr!.on('data', (c) => tail(nginxOut, c));
    const nginxExited = track(nginx);
    const nginxAlive = () => nginx.exitCode === null && nginx.signalCode === null;
    cleanups.push(async () => {
      if (!nginxAlive()) return;
      nginx.kill('SIGTERM'); // fast shutdown: the master stops its workers, then exits
      const done = await Promise.race([nginxExited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) {
        nginx.kill('SIGKILL');
        await nginxExited;
      }
    });
    const nginxLog = () => `${nginxOut.text}${fs.existsSync(path.join(nginxDir, 'error.log')) ? fs.readFileSync(path.join(nginxDir, 'error.log'), 'utf8').slice(-2000) : ''}`;
    await waitReady(`${url}/readyz`, { name: 'nginx', alive: nginxAlive, output: nginxLog }, 15_000);

    const byAddr = new Map(apps.map((a) => [a.addr, a]));
    const cluster: Cluster<P> = {
      url,
      apps,
      dataDir,
      db,
      env,
      upstreamOf(res) {
        const tried = res.headers.get('x-upstream')?.split(',').map((s) => s.trim()) ?? [];
        return byAddr.get(tried[tried.length - 1] ?? '');
      },
      cli,
      prepared: prepared as P,
      async kill9(app) {
        app.child.kill('SIGKILL');
        await app.exited;
      },
      stop,
    };
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}
