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
import { SUITE_ON_POSTGRES, suiteDatabase } from './db/pg-helpers.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * Node's arguments to run one of the repository's TypeScript entry points (`src/server.ts`) in a
 * child process, in the form this test runs in: through tsx from the sources, or the compiled
 * `.js` next to it in the test run's `.test-build/` (scripts/build-tests.mjs).
 */
export function nodeArgs(tsFile: string): string[] {
  return import.meta.url.endsWith('.ts') ? ['--import', 'tsx', tsFile] : [tsFile.replace(/\.ts$/, '.js')];
}

export function tempDir(t: Teardown, prefix = 'sael-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The SP certificate (RSA-3072) and the test IdP's keys that a first start generates into DATA_DIR
 * cost ~0.5–1 s of CPU per app: the first app with a given identity (public URL, SPID/CIE
 * settings) generates them, and the next ones start with a copy, as a restarted server would find
 * them. The copies are kept for the test process, and for the whole run when `npm test` names a
 * folder for them (SAEL_TEST_KEY_CACHE, made and removed by scripts/run-tests.mjs): the suite's
 * ~150 processes then generate them once. Tests of those settings pass their own and get their
 * own keys.
 */
const KEY_FOLDERS = ['spid-sp', 'spid-test-idp'];
const keyCaches = new Map<string, string>();
process.on('exit', () => {
  for (const d of keyCaches.values()) if (!d.startsWith(RUN_KEY_CACHE ?? '\0')) fs.rmSync(d, { recursive: true, force: true });
});
const RUN_KEY_CACHE = process.env.SAEL_TEST_KEY_CACHE || undefined;

function keyIdentity(env: Record<string, string>): string {
  return JSON.stringify(Object.entries(env).filter(([k]) => /^(PUBLIC_URL|PORT|APP_MODE|SPID_|CIE_)/.test(k)).sort());
}

/** The folder with the keys of this identity, when this process or another of the run made them. */
function cachedKeys(identity: string): string | undefined {
  const mine = keyCaches.get(identity);
  if (mine || !RUN_KEY_CACHE) return mine;
  const shared = path.join(RUN_KEY_CACHE, crypto.createHash('sha256').update(identity).digest('hex').slice(0, 32));
  return fs.existsSync(shared) ? shared : undefined;
}

/** Keeps a copy of the keys an app generated; into the run's folder by a rename, so that another process never sees half a copy. */
function keepKeys(identity: string, dataDir: string): void {
  const target = RUN_KEY_CACHE ? path.join(RUN_KEY_CACHE, crypto.createHash('sha256').update(identity).digest('hex').slice(0, 32)) : undefined;
  const copy = fs.mkdtempSync(path.join(RUN_KEY_CACHE ?? os.tmpdir(), 'sael-test-keys-'));
  for (const f of KEY_FOLDERS) if (fs.existsSync(path.join(dataDir, f))) fs.cpSync(path.join(dataDir, f), path.join(copy, f), { recursive: true });
  if (target) {
    try {
      fs.renameSync(copy, target);
      keyCaches.set(identity, target);
      return;
    } catch {
      // Another process kept the same identity's keys first: theirs are as good.
      fs.rmSync(copy, { recursive: true, force: true });
      keyCaches.set(identity, target);
      return;
    }
  }
  keyCaches.set(identity, copy);
}

/**
 * `{ skip: SQLITE_ONLY }` on a test of SQLite itself (query plans, the file, its pragmas): skipped
 * when the suite runs on PostgreSQL (SAEL_TEST_DB=postgres), where buildTestApp's apps use it.
 */
export const SQLITE_ONLY: string | false = SUITE_ON_POSTGRES ? 'SQLite only: the suite runs on PostgreSQL' : false;

export async function buildTestApp(t: Teardown, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const dir = tempDir(t);
  const identity = keyIdentity(env);
  const cached = cachedKeys(identity);
  if (cached) for (const f of KEY_FOLDERS) if (fs.existsSync(path.join(cached, f))) fs.cpSync(path.join(cached, f), path.join(dir, f), { recursive: true });
  const pgDatabase = SUITE_ON_POSTGRES && !env.DATABASE_URL ? await suiteDatabase() : undefined;
  const database = pgDatabase ? { DATABASE_URL: pgDatabase.url } : {};
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000', ...database, ...env });
  let app: FastifyInstance;
  try {
    app = await buildApp(config, { logger: false, backgroundWorkers: false });
  } catch (err) {
    await pgDatabase?.drop();
    throw err;
  }
  t.teardown(async () => {
    await app.close();
    await pgDatabase?.drop();
  });
  if (!cached && !env.SPID_CERT_DIR) keepKeys(identity, dir);
  return app;
}

/**
 * Signs in as the user with this fiscal code by writing a session row and signing its id, the way
 * a real login would leave them. Test-only: no route exposes this, in any mode.
 */
export async function loginAs(app: FastifyInstance, fiscalCode: string): Promise<string> {
  const user = (await app.db.select().from(users).where(eq(users.fiscalCode, fiscalCode)).limit(1))[0];
  if (!user) throw new Error(`no user ${fiscalCode}`);
  const id = crypto.randomBytes(24).toString('base64url');
  const ttl = app.config.sessionTtlMinutes * 60_000;
  await app.db
        .insert(sessions)
        .values({
          id,
          data: JSON.stringify({ cookie: { originalMaxAge: null, path: '/', httpOnly: true, sameSite: 'lax' }, userId: user.id }),
          expiresAt: Date.now() + ttl,
        });
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

// ---------------------------------------------------------------- SPID/CIE through the test IdP

/** Decodes the HTML entities our templates and auto-submit forms produce. */
export function htmlUnescape(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_m, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The action and hidden fields of the first `<form method="post">` of a page (the header's logout form skipped). */
export function postForm(html: string, skipAction = '/logout'): { action: string; fields: Record<string, string> } {
  const m = [...html.matchAll(/<form[^>]*method="post"[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/gi)].find((f) => f[1] !== skipAction);
  if (!m) throw new Error('no POST form in the page');
  const fields: Record<string, string> = {};
  for (const f of m[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[htmlUnescape(f[1]!)] = htmlUnescape(f[2]!);
  return { action: htmlUnescape(m[1]!), fields };
}

/** Path (+ query) of an absolute or relative URL, for app.inject. */
export function injectPath(url: string): string {
  const u = new URL(url, 'http://localhost');
  return u.pathname + u.search;
}

/** Merges Set-Cookie values of a response into a cookie jar (name → value). */
export function absorbCookies(jar: Map<string, string>, res: LightMyRequestResponse): Map<string, string> {
  for (const c of res.cookies) {
    if (c.value === '' || (c.maxAge !== undefined && c.maxAge <= 0)) jar.delete(c.name);
    else jar.set(c.name, c.value);
  }
  return jar;
}

export function cookieHeader(jar: Map<string, string>): string {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

export interface TestIdpChoice {
  /** `demo:<CF>` or `custom` (then fiscalCode, name, familyName, email). */
  identity?: string;
  fiscalCode?: string;
  name?: string;
  familyName?: string;
  email?: string;
  level?: '1' | '2' | '3';
  /** `ok` or an ErrorCode (19–30). */
  outcome?: string;
  action?: 'login' | 'cancel';
}

export interface SpidLoginSteps {
  jar: Map<string, string>;
  /** The auto-submit form our SP sent to the IdP. */
  authnForm: { action: string; fields: Record<string, string> };
  /** The form the test IdP posts to our ACS. */
  acsForm: { action: string; fields: Record<string, string> };
  /** Session cookie value before the ACS (the anonymous one the IdP page created), if any. */
  sessionBefore: string | undefined;
}

/**
 * Drives a browser through `/spid/login` (or `/cie/login`) → test IdP SSO → test IdP login form,
 * stopping before the ACS POST (returned as `acsForm`). Uses and updates the cookie jar.
 */
export async function spidToAcs(
  app: FastifyInstance,
  choice: TestIdpChoice,
  opts: { loginUrl?: string; jar?: Map<string, string>; next?: string; level?: 1 | 2 | 3 } = {},
): Promise<SpidLoginSteps> {
  const jar = opts.jar ?? new Map<string, string>();
  const idp = `${app.config.publicUrl}/simulators/spid-idp`;
  const q = new URLSearchParams({ idp, level: String(opts.level ?? 2), ...(opts.next ? { next: opts.next } : {}) });
  const loginUrl = opts.loginUrl ?? `/spid/login?${q}`;
  const start = await app.inject({ method: 'GET', url: loginUrl, headers: { accept: 'text/html', cookie: cookieHeader(jar) } });
  if (start.statusCode !== 200) throw new Error(`login start: HTTP ${start.statusCode} ${start.body.slice(0, 300)}`);
  absorbCookies(jar, start);
  const authnForm = postForm(start.body);
  const sso = await app.inject({
    method: 'POST',
    url: injectPath(authnForm.action),
    headers: { ...FORM_HEADERS, cookie: cookieHeader(jar) },
    payload: form(authnForm.fields),
  });
  if (sso.statusCode !== 200) throw new Error(`test IdP SSO: HTTP ${sso.statusCode} ${sso.body.slice(0, 300)}`);
  absorbCookies(jar, sso);
  const page = postForm(sso.body);
  const fields: Record<string, string> = { ...page.fields, outcome: choice.outcome ?? 'ok', action: choice.action ?? 'login' };
  for (const k of ['identity', 'fiscalCode', 'name', 'familyName', 'email', 'level'] as const) {
    if (choice[k] !== undefined) fields[k] = choice[k]!;
  }
  const login = await app.inject({
    method: 'POST',
    url: injectPath(page.action),
    headers: { ...FORM_HEADERS, cookie: cookieHeader(jar) },
    payload: form(fields),
  });
  if (login.statusCode !== 200) throw new Error(`test IdP login: HTTP ${login.statusCode} ${login.body.slice(0, 300)}`);
  absorbCookies(jar, login);
  return { jar, authnForm, acsForm: postForm(login.body), sessionBefore: jar.get(SESSION_COOKIE) };
}

/** POSTs the IdP's form to our ACS with the jar's cookies. */
export async function postToAcs(app: FastifyInstance, acsForm: { action: string; fields: Record<string, string> }, jar: Map<string, string>) {
  const res = await app.inject({
    method: 'POST',
    url: injectPath(acsForm.action),
    headers: { ...FORM_HEADERS, cookie: cookieHeader(jar) },
    payload: form(acsForm.fields),
  });
  absorbCookies(jar, res);
  return res;
}

/** A full login through the test IdP; returns the jar holding the new session cookie. */
export async function spidLogin(app: FastifyInstance, choice: TestIdpChoice, opts: { next?: string } = {}): Promise<Map<string, string>> {
  const steps = await spidToAcs(app, choice, opts);
  const res = await postToAcs(app, steps.acsForm, steps.jar);
  if (res.statusCode !== 303) throw new Error(`ACS: HTTP ${res.statusCode} ${res.body.slice(0, 300)}`);
  return steps.jar;
}
