import 'fastify';
import '@fastify/session';
import type Database from 'better-sqlite3';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { CurrentUser } from '../plugins/auth.js';
import type { PageData, PageOptions } from '../plugins/views.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    db: Db;
    sqlite: Database.Database;
    /** The database behind `db`: dialect, readiness (db/open.ts). */
    database: import('../db/open.js').AppDatabase;
    expectedMigrations: number;
  }
  interface FastifyRequest {
    user: CurrentUser | null;
  }
  interface FastifyReply {
    /** Random per-response nonce for inline <script> tags, listed in the CSP. */
    scriptNonce: string;
    /** Renders templates/<template>.hbs inside the base layout with the common page data. */
    page(template: string, data?: PageData, opts?: PageOptions): FastifyReply;
  }
  interface FastifyContextConfig {
    /** Set to false on routes that are not cookie-authenticated forms (SOAP, bearer-token API, SAML ACS). */
    csrf?: boolean;
    /** Set to false on routes called by machines (SOAP, bearer-token API, metrics): no session is loaded or created. */
    session?: boolean;
    /** Set to false on routes that are not pages for a browser (SOAP): no helmet/CSP headers. */
    securityHeaders?: boolean;
  }
}

declare module '@fastify/session' {
  interface FastifySessionObject {
    userId?: number;
    _csrf?: string;
  }
}
