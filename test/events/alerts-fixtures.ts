/**
 * Fixtures of the alerts and Web Push tests: an app with a movable clock, categories and
 * published events written with drizzle, a browser-side push subscription (real P-256 keys and
 * auth secret), a fake push service over HTTPS that decrypts what it receives (RFC 8291
 * aes128gcm, with the subscription's private key — real encryption) and checks the VAPID JWT.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { enti } from '../../src/modules/enti/schema.js';
import { romeDay } from '../../src/modules/conservazione/dates.js';
import { eventCategories, eventOccurrences, events } from '../../src/modules/events/schema.js';
import { tempDir } from '../helpers.js';
import { suiteDb } from '../suite-db.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Clock {
  at: Date;
}

/** A test app whose modules read `clock.at` (move it to test expiry, the daily cap, …). */
export async function clockedApp(t: Teardown, env: Record<string, string> = {}): Promise<{ app: FastifyInstance; clock: Clock; dir: string }> {
  const dir = tempDir(t, 'sael-alerts-');
  const clock: Clock = { at: new Date() };
  const sdb = await suiteDb();
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000', ...sdb.env, ...env });
  const app = await buildApp(config, { logger: false, backgroundWorkers: false, now: () => clock.at });
  sdb.closeWith(t, app);
  return { app, clock, dir };
}

export async function enteId(app: FastifyInstance, name: string): Promise<number> {
  const row = (await app.db.select({ id: enti.id }).from(enti).where(eq(enti.name, name)).limit(1))[0];
  if (!row) throw new Error(`no ente ${name}`);
  return row.id;
}

let slugSeq = 0;
/** The category with this name (the seeded one when it exists), else a new one. */
export async function addCategory(app: FastifyInstance, name: string): Promise<number> {
  const seeded = (await app.db.select({ id: eventCategories.id }).from(eventCategories).where(eq(eventCategories.name, name)).limit(1))[0];
  if (seeded) return seeded.id;
  return (await app.db
      .insert(eventCategories)
      .values({ slug: `test-${++slugSeq}-${name.toLowerCase().replace(/[^a-z]+/g, '-')}`, name })
      .returning({ id: eventCategories.id }))[0]!.id;
}

/** An event as the publishing part leaves it after the first publication (or in another state). */
export async function addEvent(
  app: FastifyInstance,
  e: { enteId: number; categoryId: number; title?: string; status?: 'draft' | 'published' | 'unpublished' | 'cancelled'; firstPublished?: boolean; startsInDays?: number; now: Date },
): Promise<number> {
  const start = new Date(e.now.getTime() + (e.startsInDays ?? 3) * 86_400_000);
  const end = new Date(start.getTime() + 2 * 3_600_000);
  const status = e.status ?? 'published';
  const id = (await app.db
      .insert(events)
      .values({
        enteId: e.enteId,
        categoryId: e.categoryId,
        status: e.status ?? 'published',
        title: e.title ?? 'Sagra del tartufo',
        summary: 'Degustazioni e musica in piazza.',
        startsAt: start.toISOString(),
        endsAt: end.toISOString(),
        placeName: 'Piazza Municipio',
        firstPublishedAt: e.firstPublished === false ? null : e.now.toISOString(),
        publishedAt: status === 'published' ? e.now.toISOString() : null,
      })
      .returning({ id: events.id }))[0]!.id;
  await app.db
        .insert(eventOccurrences)
        .values({ eventId: id, enteId: e.enteId, categoryId: e.categoryId, listed: status === 'published' || status === 'cancelled', startsAt: start.toISOString(), endsAt: end.toISOString(), startDay: romeDay(start), endDay: romeDay(end) });
  return id;
}

/** What a browser holds for one push subscription: its ECDH key pair and auth secret. */
export interface BrowserKeys {
  ecdh: crypto.ECDH;
  p256dh: string;
  auth: string;
}

export function browserKeys(): BrowserKeys {
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  return { ecdh, p256dh: ecdh.getPublicKey().toString('base64url'), auth: crypto.randomBytes(16).toString('base64url') };
}

const hmac = (key: Buffer, data: Buffer) => crypto.createHmac('sha256', key).update(data).digest();

/** Decrypts an RFC 8291 (aes128gcm, RFC 8188 single record) Web Push message body as the browser does. */
export function decryptPush(body: Buffer, keys: BrowserKeys): string {
  const salt = body.subarray(0, 16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  const uaPublic = keys.ecdh.getPublicKey();
  const ecdhSecret = keys.ecdh.computeSecret(asPublic);
  const prkKey = hmac(Buffer.from(keys.auth, 'base64url'), ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01', 'binary')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01', 'binary')).subarray(0, 12);
  const decipher = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02 followed by zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('bad padding delimiter');
  return padded.subarray(0, end).toString('utf8');
}

/** Verifies the VAPID `Authorization: vapid t=…, k=…` header (RFC 8292); returns the JWT claims. */
export function verifyVapid(header: string | undefined): { aud: string; sub: string; exp: number; k: string } {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (!m) throw new Error(`no vapid authorization: ${header}`);
  const [h, p, s] = m[1]!.split('.');
  const k = Buffer.from(m[2]!, 'base64url');
  const key = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: k.subarray(1, 33).toString('base64url'), y: k.subarray(33, 65).toString('base64url') }, format: 'jwk' });
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s!, 'base64url'));
  if (!ok) throw new Error('bad VAPID signature');
  const header0 = JSON.parse(Buffer.from(h!, 'base64url').toString()) as { alg: string };
  if (header0.alg !== 'ES256') throw new Error(`alg ${header0.alg}`);
  return { ...(JSON.parse(Buffer.from(p!, 'base64url').toString()) as { aud: string; sub: string; exp: number }), k: m[2]! };
}

export interface PushRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A push service on https://127.0.0.1 (self-signed certificate made with openssl); `status` decides each answer. */
export async function fakePushService(t: Teardown): Promise<{ origin: string; ca: string; requests: PushRequest[]; status: (path: string) => number; setStatus: (fn: (path: string) => number) => void }> {
  const dir = tempDir(t, 'sael-push-');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const requests: PushRequest[] = [];
  let status: (path: string) => number = () => 201;
  const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      const code = status(req.url ?? '');
      res.writeHead(code, code === 201 ? { location: `https://127.0.0.1/messages/${requests.length}` } : {});
      res.end(code >= 400 ? `{"reason":"test ${code}"}` : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    ca: fs.readFileSync(cert, 'utf8'),
    requests,
    status: (p) => status(p),
    setStatus: (fn) => {
      status = fn;
    },
  };
}
