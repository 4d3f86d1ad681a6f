/**
 * Notifying the subscribers of one event (issue #17): 100 000 Web Push subscriptions follow it
 * (a quarter follow everything, a quarter its comune, a quarter its category, a quarter both) and
 * 20 000 others do not. Each phase runs in its own process on a copy of the same database, with
 * the process's RSS sampled every 10 ms by a worker thread during the run:
 *  1. queue: the alerts pass (`queuePendingAlerts`: SQL matching over subscription_interests,
 *     keyset batches of 1000, enqueueNotifications) vs, as baseline, the bare cost of writing the
 *     same rows (one prepared INSERT in one transaction, ids already known). Goal ratio ≤ 4.
 *  2. memory: RSS growth of the pass vs the same work done by loading every matching subscription
 *     and every row in memory at once (the naive job). Goal: ours ≤ 0.5 × naive.
 *  3. send: the notifications dispatcher (runDispatch, the 'push' channel: web-push encryption +
 *     VAPID, one HTTPS request each to a local push service answering 201, outcome recorded) vs
 *     web-push alone sending the same number of messages with the same concurrency (no database).
 *     Goal: ours ≥ 0.5 × the library's messages per second; RSS flat.
 * BENCH_NOTIFY_SUBS (default 100 000) sets N; BENCH_NOTIFY_SEND the messages actually sent in
 * phase 3 (default 10 000 of the N queued: each costs an ECDH key agreement, an ES256 signature and
 * an HTTPS request, ~10 ms of CPU on a busy 2-core machine; BENCH_NOTIFY_SEND=100000 sends them all).
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { and, eq, isNotNull } from 'drizzle-orm';
import webpush from 'web-push';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { queuePendingAlerts } from '../src/modules/events/alerts.js';
import { events, pushSubscriptions } from '../src/modules/events/schema.js';
import type { NotificationsCtx } from '../src/modules/notifications/context.js';
import { runDispatch } from '../src/modules/notifications/dispatch.js';
import { createPushSender, vapidKeys } from '../src/modules/notifications/push.js';
import { notifications } from '../src/modules/notifications/schema.js';
import { report } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const N = Number(process.env.BENCH_NOTIFY_SUBS ?? 100_000);
const OTHERS = Math.round(N / 5);
const SEND = Math.min(N, Number(process.env.BENCH_NOTIFY_SEND ?? 10_000));
const CONCURRENCY = 8;
const AT = new Date();

interface Samples {
  ms: number;
  rss: number[];
  extra?: Record<string, number>;
}

/** RSS of this process every 10 ms, from a worker thread (the job keeps the main thread busy). */
function sampler(): { stop(): Promise<number[]> } {
  const w = new Worker(
    "const { parentPort } = require('node:worker_threads'); const s = []; const h = setInterval(() => s.push(process.memoryUsage.rss()), 10); parentPort.once('message', () => { clearInterval(h); parentPort.postMessage(s); });",
    { eval: true },
  );
  return {
    stop: () =>
      new Promise((resolve) => {
        w.once('message', (s: number[]) => {
          void w.terminate();
          resolve(s);
        });
        w.postMessage('stop');
      }),
  };
}

const mb = (bytes: number) => bytes / 1_048_576;
const growth = (rss: number[]) => mb(Math.max(...rss) - rss[0]!);
function flatness(rss: number[]): string {
  const q = (f: number) => mb(rss[Math.min(rss.length - 1, Math.floor(f * (rss.length - 1)))]!).toFixed(0);
  return `RSS MB at 0/25/50/75/100 %: ${q(0)}/${q(0.25)}/${q(0.5)}/${q(0.75)}/${q(1)} (peak ${mb(Math.max(...rss)).toFixed(0)}, ${rss.length} samples)`;
}

function configFor(dir: string) {
  return loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' });
}

// ---------------------------------------------------------------- child phases

async function child(phase: string, dir: string, pushOrigin: string, ca: string): Promise<Samples> {
  const config = configFor(dir);
  const handle = openDatabase(path.join(dir, 'bench.sqlite'));
  const db = handle.db;
  const ev = (await db.select().from(events).where(isNotNull(events.firstPublishedAt)).limit(1))[0]!;
  (globalThis as { gc?: () => void }).gc?.();
  const s = sampler();
  await new Promise((r) => setTimeout(r, 30));
  const t0 = performance.now();
  const extra: Record<string, number> = {};
  if (phase === 'queue') {
    const r = await queuePendingAlerts({ db, config }, AT);
    extra.rows = r.push;
  } else if (phase === 'insert') {
    // Baseline: the rows written with the ids already known, one statement, one transaction.
    const ids = handle.sqlite.prepare('SELECT id FROM push_subscriptions WHERE id <= ? ORDER BY id').pluck().all(N) as number[];
    const payload = JSON.stringify({ title: ev.title, body: ev.summary, url: `/eventi/${ev.id}`, tag: `evento-${ev.id}` });
    const ins = handle.sqlite.prepare(
      "INSERT INTO notifications (channel, kind, dedupe_key, ente_id, recipient, subject, payload, status, next_attempt_at, created_at, updated_at) VALUES ('push','event_published',?,?,?,?,?,'queued',?,?,?) ON CONFLICT(dedupe_key) DO NOTHING",
    );
    const iso = AT.toISOString();
    handle.sqlite.transaction(() => {
      for (const id of ids) ins.run(`push:event:${ev.id}:${id}`, ev.enteId, String(id), `event:${ev.id}`, payload, iso, iso, iso);
    })();
    extra.rows = ids.length;
  } else if (phase === 'naive') {
    // The job done in memory: every subscription and interest read, matched in JS, every row built, then inserted.
    const subs = await db.select().from(pushSubscriptions);
    const interests = handle.sqlite.prepare("SELECT subscription_id AS s, kind, ref_id AS r FROM subscription_interests WHERE channel = 'push'").all() as { s: number; kind: string; r: number }[];
    const bySub = new Map<number, { ente: number[]; category: number[] }>();
    for (const i of interests) {
      const e = bySub.get(i.s) ?? { ente: [], category: [] };
      (i.kind === 'ente' ? e.ente : e.category).push(i.r);
      bySub.set(i.s, e);
    }
    const payload = JSON.stringify({ title: ev.title, body: ev.summary, url: `/eventi/${ev.id}`, tag: `evento-${ev.id}` });
    const rows = subs
      .filter((x) => {
        const i = bySub.get(x.id);
        return x.events && (!i || ((i.ente.length === 0 || i.ente.includes(ev.enteId)) && (i.category.length === 0 || i.category.includes(ev.categoryId))));
      })
      .map((x) => ({ channel: 'push' as const, kind: 'event_published' as const, dedupeKey: `push:event:${ev.id}:${x.id}`, enteId: ev.enteId, recipient: String(x.id), subject: `event:${ev.id}`, payload, nextAttemptAt: AT.toISOString() }));
    await db.transaction(async (tx) => {
            for (let i = 0; i < rows.length; i += 500) await tx.insert(notifications).values(rows.slice(i, i + 500)).onConflictDoNothing();
          });
    extra.rows = rows.length;
  } else if (phase === 'send') {
    await queuePendingAlerts({ db, config }, AT);
    // Only SEND of them are due now (the others later): the dispatcher sends exactly SEND.
    handle.sqlite.prepare("UPDATE notifications SET next_attempt_at = '9999-12-31T00:00:00.000Z' WHERE id > (SELECT MIN(id) FROM notifications) + ? - 1").run(SEND);
    const agent = new https.Agent({ ca, keepAlive: true, maxSockets: CONCURRENCY });
    const ctx: NotificationsCtx = { db, config, now: () => AT, channels: new Map([['push', createPushSender({ db, config, now: () => AT }, { agent })]]), kick: () => {} };
    const start = performance.now();
    for (;;) {
      const r = await runDispatch(ctx, AT);
      if (r.claimed === 0) break;
    }
    extra.sendMs = performance.now() - start;
    extra.sent = (await db.select({ id: notifications.id }).from(notifications).where(and(eq(notifications.status, 'sent')))).length;
  } else if (phase === 'library') {
    // Baseline: web-push alone, the same messages to the same subscriptions, same concurrency, no database.
    const keys = vapidKeys(config)!;
    const subs = await db.select().from(pushSubscriptions).limit(SEND);
    const payload = JSON.stringify({ title: ev.title, body: ev.summary, url: `/eventi/${ev.id}`, tag: `evento-${ev.id}` });
    const agent = new https.Agent({ ca, keepAlive: true, maxSockets: CONCURRENCY });
    let sent = 0;
    for (let i = 0; i < subs.length; i += CONCURRENCY) {
      await Promise.all(
        subs.slice(i, i + CONCURRENCY).map(async (x) => {
          const r = await webpush.sendNotification({ endpoint: x.endpoint, keys: { p256dh: x.p256dh, auth: x.auth } }, payload, { vapidDetails: keys, TTL: 86_400, agent, contentEncoding: 'aes128gcm' });
          if (r.statusCode === 201) sent++;
        }),
      );
    }
    extra.sendMs = performance.now() - t0;
    extra.sent = sent;
  }
  const ms = performance.now() - t0;
  const rss = await s.stop();
  handle.close();
  return { ms, rss, extra };
}

// ---------------------------------------------------------------- parent

function runChild(phase: string, srcDir: string, pushOrigin: string, ca: string): Promise<Samples> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sael-bench-notify-${phase}-`));
  for (const f of fs.readdirSync(srcDir)) fs.copyFileSync(path.join(srcDir, f), path.join(dir, f));
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', SELF, 'child', phase, dir, pushOrigin, ca], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.on('exit', (code) => {
      fs.rmSync(dir, { recursive: true, force: true });
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`phase ${phase} exited ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line.slice(7)) as Samples);
    });
  });
}

/** The database of the run: one comune, one category, one event just published, N + OTHERS subscriptions. */
function setup(dir: string, pushOrigin: string): void {
  const config = configFor(dir);
  vapidKeys(config); // generated once into DATA_DIR/vapid.json, copied with the database
  const handle = openDatabase(path.join(dir, 'bench.sqlite'));
  const s = handle.sqlite;
  const iso = AT.toISOString();
  s.transaction(() => {
    const ente = (name: string, n: number) =>
      Number(s.prepare("INSERT INTO enti (kind, name, fiscal_code, ipa_code, segregation_code) VALUES ('comune', ?, ?, ?, '01')").run(name, String(80000000000 + n), `c_b${n}`).lastInsertRowid);
    const cat = (slug: string) => Number(s.prepare('INSERT INTO event_categories (slug, name) VALUES (?, ?)').run(slug, slug).lastInsertRowid);
    const e1 = ente('Comune di Campobasso', 1);
    const e2 = ente('Comune di Termoli', 2);
    const c1 = cat('bench-sagre');
    const c2 = cat('bench-sport');
    const start = new Date(AT.getTime() + 3 * 86_400_000).toISOString();
    const end = new Date(AT.getTime() + 3 * 86_400_000 + 7_200_000).toISOString();
    s.prepare(
      "INSERT INTO events (ente_id, category_id, status, title, summary, starts_at, ends_at, place_name, first_published_at, published_at) VALUES (?, ?, 'published', 'Sagra della pampanella', 'Degustazioni e musica in piazza fino a tarda sera.', ?, ?, 'Piazza Municipio', ?, ?)",
    ).run(e1, c1, start, end, iso, iso);
    const sub = s.prepare('INSERT INTO push_subscriptions (endpoint, p256dh, auth, manage_token, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    const interest = s.prepare("INSERT INTO subscription_interests (channel, subscription_id, kind, ref_id) VALUES ('push', ?, ?, ?)");
    // Real browser keys (web-push encrypts to them); a few hundred pairs reused (generating 120 000 takes a minute).
    const pairs = Array.from({ length: 256 }, () => {
      const ecdh = crypto.createECDH('prime256v1');
      ecdh.generateKeys();
      return { p256dh: ecdh.getPublicKey().toString('base64url'), auth: crypto.randomBytes(16).toString('base64url') };
    });
    for (let i = 0; i < N + OTHERS; i++) {
      const k = pairs[i % pairs.length]!;
      const id = Number(sub.run(`${pushOrigin}/push/${i}`, k.p256dh, k.auth, crypto.randomBytes(18).toString('base64url'), iso, iso).lastInsertRowid);
      if (i >= N) {
        // Not following the event: another comune, or another category.
        if (i % 2) interest.run(id, 'ente', e2);
        else interest.run(id, 'category', c2);
        continue;
      }
      if (i % 4 === 1 || i % 4 === 3) {
        interest.run(id, 'ente', e1);
        interest.run(id, 'ente', e2);
      }
      if (i % 4 === 2 || i % 4 === 3) interest.run(id, 'category', c1);
    }
  })();
  s.pragma('wal_checkpoint(TRUNCATE)');
  handle.close();
}

async function fakePushService(dir: string): Promise<{ origin: string; ca: string; close(): void }> {
  const key = path.join(dir, 'push-key.pem');
  const cert = path.join(dir, 'push-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert), keepAliveTimeout: 30_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(201, { location: '/m/1' });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const ca = fs.readFileSync(cert, 'utf8');
  fs.rmSync(key);
  fs.rmSync(cert);
  return { origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, ca, close: () => server.close() };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-bench-notify-'));
  const push = await fakePushService(dir);
  try {
    const t0 = performance.now();
    setup(dir, push.origin);
    console.log(`setup: ${N} following + ${OTHERS} other subscriptions in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const insert = await runChild('insert', dir, push.origin, push.ca);
    const queue = await runChild('queue', dir, push.origin, push.ca);
    const naive = await runChild('naive', dir, push.origin, push.ca);
    console.log(`queue: ${queue.extra!.rows} rows in ${queue.ms.toFixed(0)} ms; ${flatness(queue.rss)}`);
    console.log(`naive: ${naive.extra!.rows} rows in ${naive.ms.toFixed(0)} ms; ${flatness(naive.rss)}`);
    console.log(`bare INSERT: ${insert.extra!.rows} rows in ${insert.ms.toFixed(0)} ms; ${flatness(insert.rss)}`);
    if (queue.extra!.rows !== N || naive.extra!.rows !== N || insert.extra!.rows !== N) throw new Error(`expected ${N} rows each: ${queue.extra!.rows}, ${naive.extra!.rows}, ${insert.extra!.rows}`);
    report({ name: `events-notify queue ${N} subscribers (ms)`, ours: queue.ms, baseline: insert.ms, unit: 'ms', better: 'lower', goal: { atMost: 4 }, extra: `${Math.round((N / queue.ms) * 1000)} rows/s; baseline = bare INSERT of the same rows` });
    report({
      name: `events-notify queue memory (RSS growth MB)`,
      ours: Math.max(growth(queue.rss), 0.1),
      baseline: growth(naive.rss),
      unit: 'MB',
      better: 'lower',
      goal: { atMost: 0.5 },
      extra: `baseline = every subscription and row in memory at once; the bare INSERT grows RSS by ${growth(insert.rss).toFixed(0)} MB too (SQLite's page cache, 64 MB at most)`,
    });

    const library = await runChild('library', dir, push.origin, push.ca);
    const send = await runChild('send', dir, push.origin, push.ca);
    console.log(`send: ${send.extra!.sent} sent in ${send.extra!.sendMs!.toFixed(0)} ms; ${flatness(send.rss)}`);
    console.log(`library: ${library.extra!.sent} sent in ${library.extra!.sendMs!.toFixed(0)} ms; ${flatness(library.rss)}`);
    if (send.extra!.sent !== SEND || library.extra!.sent !== SEND) throw new Error(`expected ${SEND} sent: ${send.extra!.sent}, ${library.extra!.sent}`);
    const ours = (SEND / send.extra!.sendMs!) * 1000;
    const base = (SEND / library.extra!.sendMs!) * 1000;
    report({
      name: `events-notify send ${SEND} Web Push (msg/s)`,
      ours,
      baseline: base,
      unit: 'msg/s',
      better: 'higher',
      goal: { atLeast: 0.5 },
      extra: `baseline = web-push alone, ${CONCURRENCY} at a time; RSS growth ${growth(send.rss).toFixed(0)} MB during queue + send`,
    });
  } finally {
    push.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child') {
  const [, , , phase, dir, origin, ca] = process.argv;
  child(phase!, dir!, origin!, ca!)
    .then((r) => {
      console.log(`RESULT ${JSON.stringify(r)}`);
      process.exit(0);
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
} else {
  await main();
}
