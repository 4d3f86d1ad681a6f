/**
 * Server-side sessions in the database (@fastify/session with a SQLite store): the cookie holds a
 * signed random id only; it is HttpOnly, SameSite=Lax and Secure in production, and lives until
 * the browser closes. The server enforces the idle lifetime (SESSION_TTL_MINUTES): every use of a
 * session extends its expiry, written at most once a minute (not a write per request), and a
 * session not used for the whole lifetime is gone. Expired rows are swept periodically. Login code
 * must call `request.session.regenerate()` to rotate the id.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import crypto from 'node:crypto';
import fastifyCookie, { Signer } from '@fastify/cookie';
import fastifySession, { type SessionStore } from '@fastify/session';
import { eq, lt } from 'drizzle-orm';
import { type Db, affectedRows } from '../../db/client.js';
import { sqlGet, sqlRun, dialectOf, type Dialect } from '../../db/raw.js';
import { sessions } from './schema.js';

export const SESSION_COOKIE = 'sael_sid';

/** An active session's expiry is moved forward when it is at least this old (one write a minute at most). */
export const SESSION_TOUCH_MS = 60_000;

type Callback = (err?: unknown) => void;
type GetCallback = Parameters<SessionStore['get']>[1];
type StoredSession = Parameters<SessionStore['set']>[1];

/**
 * What another plugin reads in the same statement as every session row (the auth plugin: the
 * signed-in user). Each statement outside a transaction takes and releases SQLite's read locks
 * (about eight system calls, more than a small indexed lookup costs): one statement instead of
 * two for every signed-in request.
 */
export interface SessionCompanion<T> {
  /** SQL joined to the session row `s`, in the database's dialect (e.g. `LEFT JOIN users u ON u.id = s.data ->> '$.userId'`). */
  join(dialect: Dialect): string;
  /** Select-list expressions over `s` and the join, aliased (quoted) to names that `read` takes. */
  columns(dialect: Dialect): string;
  read(row: Record<string, unknown>): T;
}

export class SqliteSessionStore implements SessionStore {
  private getSql = 'SELECT s.data, s.expires_at AS "expiresAt" FROM sessions s WHERE s.id = ?';
  private companion: SessionCompanion<unknown> | undefined;
  private lastRead: { id: string; value: unknown } | undefined;

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
  ) {}

  /** Reads `companion` with every session from now on (see takeCompanion). */
  setCompanion(companion: SessionCompanion<unknown>): void {
    this.companion = companion;
    const dialect = dialectOf(this.db);
    this.getSql = `SELECT s.data, s.expires_at AS "expiresAt", ${companion.columns(dialect)} FROM sessions s ${companion.join(dialect)} WHERE s.id = ?`;
  }

  /**
   * What the companion read with session `id`, when that is the session this store read last and
   * nobody took it yet; otherwise undefined (the caller reads it on its own). The auth plugin's
   * onRequest hook runs right after @fastify/session's, so it finds its request's read here.
   */
  takeCompanion(id: string): { value: unknown } | undefined {
    const last = this.lastRead;
    this.lastRead = undefined;
    return last && last.id === id ? last : undefined;
  }

  async get(id: string, cb: GetCallback): Promise<void> {
    try {
      this.lastRead = undefined;
      // Every request reads its session: one cached prepared statement (with the companion's columns).
      const row = await sqlGet<{ data: string; expiresAt: number } & Record<string, unknown>>(this.db, this.getSql, id);
      const now = Date.now();
      if (!row || row.expiresAt <= now) return cb(null, null);
      if (row.expiresAt - now < this.ttlMs - SESSION_TOUCH_MS) {
        await sqlRun(this.db, 'UPDATE sessions SET expires_at = ? WHERE id = ?', now + this.ttlMs, id);
      }
      if (this.companion) this.lastRead = { id, value: this.companion.read(row) };
      cb(null, JSON.parse(row.data));
    } catch (err) {
      cb(err as Error);
    }
  }

  async set(id: string, session: StoredSession, cb: Callback): Promise<void> {
    try {
      const data = JSON.stringify(session);
      const expiresAt = Date.now() + this.ttlMs;
      await sqlRun(
        this.db,
        'INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at',
        id,
        data,
        expiresAt,
      );
      cb(null);
    } catch (err) {
      cb(err);
    }
  }

  async destroy(id: string, cb: Callback): Promise<void> {
    try {
      await this.db.delete(sessions).where(eq(sessions.id, id));
      cb(null);
    } catch (err) {
      cb(err);
    }
  }

  async sweep(): Promise<number> {
    return affectedRows(await this.db.delete(sessions).where(lt(sessions.expiresAt, Date.now())));
  }
}

/**
 * Routes called by machines (the pagoPA node's SOAP calls, the REST API of the comuni's software,
 * /metrics) carry no session cookie and never get one, yet @fastify/session builds a new Session
 * for every request (a random id, an HMAC and two hashes of its content). It has no per-route
 * opt-out, so its onRequest hook is wrapped as it is added: a route with `config.session: false`
 * skips it and `request.session` stays unset (its onSend hook then does nothing).
 */
async function registerWithOptOut(app: FastifyInstance, register: () => PromiseLike<unknown>): Promise<void> {
  const addHook = app.addHook;
  const patched = function (this: FastifyInstance, name: string, hook: (...args: unknown[]) => unknown) {
    if (name !== 'onRequest') return addHook.call(this, name as 'onRequest', hook as never);
    const wrapped = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: () => void) {
      if (request.routeOptions.config.session === false) return done();
      return hook.call(this, request, reply, done);
    };
    return addHook.call(this, 'onRequest', wrapped as never);
  };
  (app as unknown as { addHook: unknown }).addHook = patched;
  try {
    await register();
  } finally {
    (app as unknown as { addHook: unknown }).addHook = addHook;
  }
}

/** Marks every route registered later in this plugin scope as sessionless (see registerWithOptOut). */
export function withoutSessions(scope: FastifyInstance): void {
  scope.addHook('onRoute', (route) => {
    route.config = { ...route.config, session: false };
  });
}

/**
 * The session cookie's signer (HMAC-SHA256 of the session id, @fastify/cookie's Signer) with the
 * signatures it computed kept by session id: @fastify/session verifies the cookie on every
 * request and signs the same id again when it restores the session (two HMACs a request, ~4% of
 * a signed-in page). A cookie whose id is known is compared with the kept signature in constant
 * time; any other cookie is verified in full. Only valid signatures with the current secret are
 * kept, at most `max` ids (the oldest go first).
 */
export class CachedSigner {
  private readonly signer: Signer;
  private readonly signed = new Map<string, string>();

  constructor(
    secret: string,
    private readonly max = 10_000,
  ) {
    // The length @fastify/session demands of a secret string (it cannot check a signer object).
    if (secret.length < 32) throw new Error('the session secret must have length 32 or greater');
    this.signer = new Signer(secret, 'sha256');
  }

  private keep(id: string, cookie: string): void {
    if (this.signed.size >= this.max) this.signed.delete(this.signed.keys().next().value!);
    this.signed.set(id, cookie);
  }

  sign(value: string): string {
    let cookie = this.signed.get(value);
    if (cookie === undefined) this.keep(value, (cookie = this.signer.sign(value)));
    return cookie;
  }

  unsign(cookie: string): { valid: boolean; renew: boolean; value: string | null } {
    const dot = cookie.lastIndexOf('.');
    const known = dot > 0 ? this.signed.get(cookie.slice(0, dot)) : undefined;
    if (known !== undefined) {
      const a = Buffer.from(known);
      const b = Buffer.from(cookie);
      if (a.length === b.length && crypto.timingSafeEqual(a, b)) return { valid: true, renew: false, value: known.slice(0, dot) };
      return { valid: false, renew: false, value: null };
    }
    const result = this.signer.unsign(cookie);
    if (result.valid && !result.renew && result.value !== null) this.keep(result.value, cookie);
    return result;
  }
}

const stores = new WeakMap<FastifyInstance, SqliteSessionStore>();

/** The session store of an app that registered this plugin. */
export function sessionStoreOf(app: FastifyInstance): SqliteSessionStore {
  const store = stores.get(app);
  if (!store) throw new Error('the sessions plugin is not registered');
  return store;
}

export default fp(
  async function sessionsPlugin(app: FastifyInstance, opts: { secret: string }) {
    const ttlMs = app.config.sessionTtlMinutes * 60_000;
    const store = new SqliteSessionStore(app.db, ttlMs);
    stores.set(app, store);
    await app.register(fastifyCookie, { secret: opts.secret });
    await registerWithOptOut(app, () => app.register(fastifySession, {
      secret: new CachedSigner(opts.secret),
      cookieName: SESSION_COOKIE,
      store,
      saveUninitialized: false,
      // Idle expiry is the store's job (see get): no cookie refresh and no row write per request.
      rolling: false,
      cookie: {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: app.config.isProduction,
      },
    }));
    await store.sweep();
    const timer = setInterval(async () => await store.sweep(), 10 * 60_000);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  },
  { name: 'sessions' },
);
