/** Shared test helpers: a real app on a temporary SQLite file, sign-in without any route, CSRF tokens. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { eq } from 'drizzle-orm';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { SESSION_COOKIE } from '../src/plugins/sessions/index.js';
import { sessions } from '../src/plugins/sessions/schema.js';
import { users } from '../src/modules/users/schema.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export function tempDir(t: Teardown, prefix = 'sael-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function buildTestApp(t: Teardown, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const dir = tempDir(t);
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000', ...env });
  const app = await buildApp(config, { logger: false });
  t.teardown(() => app.close());
  return app;
}

/**
 * Signs in as the user with this fiscal code by writing a session row and signing its id, the way
 * a real login would leave them. Test-only: no route exposes this, in any mode.
 */
export function loginAs(app: FastifyInstance, fiscalCode: string): string {
  const user = app.db.select().from(users).where(eq(users.fiscalCode, fiscalCode)).get();
  if (!user) throw new Error(`no user ${fiscalCode}`);
  const id = crypto.randomBytes(24).toString('base64url');
  const ttl = app.config.sessionTtlMinutes * 60_000;
  app.db
    .insert(sessions)
    .values({
      id,
      data: JSON.stringify({ cookie: { originalMaxAge: ttl, path: '/', httpOnly: true, sameSite: 'lax' }, userId: user.id }),
      expiresAt: Date.now() + ttl,
    })
    .run();
  return `${SESSION_COOKIE}=${encodeURIComponent(app.signCookie(id))}`;
}

/** The session cookie set by a response, as a Cookie header value. */
export function sessionCookieFrom(res: LightMyRequestResponse): string | undefined {
  const c = res.cookies.find((x) => x.name === SESSION_COOKIE);
  return c ? `${SESSION_COOKIE}=${c.value}` : undefined;
}

/** GETs a page with a form and returns its CSRF token and the cookie to send with the POST. */
export async function csrfFrom(app: FastifyInstance, url: string, cookie?: string): Promise<{ token: string; cookie: string }> {
  const res = await app.inject({ method: 'GET', url, headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });
  const m = /name="_csrf" value="([^"]+)"/.exec(res.body);
  if (!m) throw new Error(`no CSRF token on ${url} (HTTP ${res.statusCode})`);
  return { token: m[1]!, cookie: sessionCookieFrom(res) ?? cookie ?? '' };
}

/** URL-encodes a form body. */
export function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };
