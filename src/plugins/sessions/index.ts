/**
 * Server-side sessions in the database (@fastify/session with a SQLite store): the cookie holds a
 * signed random id only; it is HttpOnly, SameSite=Lax and Secure in production. Expired rows are
 * swept periodically. Login code must call `request.session.regenerate()` to rotate the id.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import fastifyCookie from '@fastify/cookie';
import fastifySession, { type SessionStore } from '@fastify/session';
import { eq, lt } from 'drizzle-orm';
import { statement, type Db } from '../../db/client.js';
import { sessions } from './schema.js';

export const SESSION_COOKIE = 'sael_sid';

type Callback = (err?: unknown) => void;
type GetCallback = Parameters<SessionStore['get']>[1];
type StoredSession = Parameters<SessionStore['set']>[1];

export class SqliteSessionStore implements SessionStore {
  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
  ) {}

  get(id: string, cb: GetCallback): void {
    try {
      // Every request reads (and, with rolling sessions, writes) its session: plain prepared statements.
      const row = statement(this.db, 'SELECT data, expires_at AS expiresAt FROM sessions WHERE id = ?').get(id) as
        | { data: string; expiresAt: number }
        | undefined;
      if (!row || row.expiresAt <= Date.now()) return cb(null, null);
      cb(null, JSON.parse(row.data));
    } catch (err) {
      cb(err as Error);
    }
  }

  set(id: string, session: StoredSession, cb: Callback): void {
    try {
      const data = JSON.stringify(session);
      const expiresAt = Date.now() + this.ttlMs;
      statement(
        this.db,
        'INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at',
      ).run(id, data, expiresAt);
      cb(null);
    } catch (err) {
      cb(err);
    }
  }

  destroy(id: string, cb: Callback): void {
    try {
      this.db.delete(sessions).where(eq(sessions.id, id)).run();
      cb(null);
    } catch (err) {
      cb(err);
    }
  }

  sweep(): number {
    return this.db.delete(sessions).where(lt(sessions.expiresAt, Date.now())).run().changes;
  }
}

export default fp(
  async function sessionsPlugin(app: FastifyInstance, opts: { secret: string }) {
    const ttlMs = app.config.sessionTtlMinutes * 60_000;
    const store = new SqliteSessionStore(app.db, ttlMs);
    await app.register(fastifyCookie, { secret: opts.secret });
    await app.register(fastifySession, {
      secret: opts.secret,
      cookieName: SESSION_COOKIE,
      store,
      saveUninitialized: false,
      rolling: true,
      cookie: {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: app.config.isProduction,
        maxAge: ttlMs,
      },
    });
    store.sweep();
    const timer = setInterval(() => store.sweep(), 10 * 60_000);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  },
  { name: 'sessions' },
);
