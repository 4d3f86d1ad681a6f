/**
 * SPID and CIE login over SAML 2.0 (spid.md): the routes around the tested library code.
 *
 * - `GET /spid/metadata`, `GET /cie/metadata`: the signed SP metadata (built once at start).
 * - `GET /spid/login?idp=&level=&next=`, `GET /cie/login?level=&next=`: a signed AuthnRequest to
 *   the IdP (HTTP-POST auto-submit form, or HTTP-Redirect when the IdP has no POST endpoint). The
 *   request state goes to `saml_requests` with a short TTL, keyed by an opaque RelayState and bound
 *   to the browser by the hash of a random value in the `sael_saml` cookie. That cookie is separate
 *   from the session cookie on purpose: the IdP posts to the ACS cross-site, and the session cookie
 *   is SameSite=Lax (not sent on cross-site POSTs); `sael_saml` is SameSite=None + Secure in
 *   production, limited to the `/spid` path.
 * - `POST /spid/acs`: request lookup (RelayState, else InResponseTo), browser binding, one-time
 *   consumption, then every check of `validateSpidResponse` with the IdP's metadata certificates
 *   and the DB replay cache. Any failure answers 4xx with an Italian page and no session; success
 *   creates/updates the user by fiscal code, rotates the session id and redirects (303).
 * - Single logout: `app.spid.logout()` (used by `POST /logout`) sends a signed LogoutRequest;
 *   `GET|POST /spid/slo` takes the IdP's LogoutResponse, or an IdP-initiated LogoutRequest
 *   (ends the matching sessions, answers a signed LogoutResponse).
 *
 * Logs carry codes, reasons and entity IDs, never fiscal codes, names or NameIDs.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { and, sql } from 'drizzle-orm';
import { renderAutoSubmitForm, buildPostAuthnRequest, buildRedirectAuthnRequest, newRelayState } from './authn-request.js';
import type { IdpEntry } from './idp-registry.js';
import { IdpMetadataRefresher } from './idp-sources.js';
import {
  buildPostLogoutRequest,
  buildPostLogoutResponse,
  buildRedirectLogoutRequest,
  buildRedirectLogoutResponse,
  peekSloMessage,
  validateIdpLogoutRequest,
  validateLogoutResponse,
  type InboundMessage,
} from './logout.js';
import { peekSamlResponse, validateSpidResponse } from './response-validator.js';
import type { SpidLevel } from './saml.js';
import type { SpRuntime } from './sp-config.js';
import {
  DbReplayGuard,
  LOGOUT_LEVEL,
  consumeRequestState,
  findRequestState,
  isBoundTo,
  newBrowserValue,
  saveRequestState,
  sweepSamlState,
  type Federation,
} from './state.js';
import { startUserSession } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { sessions } from '../../plugins/sessions/schema.js';
import { recordLogin, upsertUser } from '../users/repository.js';
import { affectedRows } from '../../db/client.js';
import { dialectOf } from '../../db/raw.js';

/** What the session keeps of a SAML login, to build the LogoutRequest. */
export interface SpidSessionInfo {
  federation: Federation;
  idp: string;
  nameId: string;
  nameQualifier: string;
  sessionIndex: string | null;
  level: number;
}

export interface LoginIdp {
  entityId: string;
  name: string;
  href: string;
  test: boolean;
}

/** What other modules use (`app.spid`). */
export interface SpidFacade {
  runtime: SpRuntime;
  /** Downloads the AgID registry / CIE metadata again when due; null without background workers or remote sources. */
  idpRefresher: IdpMetadataRefresher | null;
  /** Ends the local session and, for SAML sessions, starts SP-initiated single logout. */
  logout(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>;
  /** Data for the "Accedi" page: SPID IdPs in random order, the CIE link (or null). */
  loginPageData(next: string | undefined): { spidIdps: LoginIdp[]; cieHref: string | null; next: string };
}

declare module 'fastify' {
  interface FastifyInstance {
    spid?: SpidFacade;
  }
}

declare module '@fastify/session' {
  interface FastifySessionObject {
    spid?: SpidSessionInfo;
  }
}

export const BINDING_COOKIE = 'sael_saml';
const BINDING_COOKIE_PATH = '/spid';

const EXPIRED_MESSAGE = 'La richiesta di accesso è scaduta o è già stata usata. Ripeti l’accesso dalla pagina iniziale.';
const OTHER_BROWSER_MESSAGE =
  'La risposta del gestore di identità non corrisponde a una richiesta di accesso partita da questo browser. Ripeti l’accesso dalla pagina “Accedi”.';

/**
 * A local path to go to after login, or null when `next` could lead elsewhere (open redirect):
 * must start with a single `/`, no backslashes or control characters, same origin once resolved.
 */
export function safeLocalTarget(next: string | undefined): string | null {
  if (next === undefined || next === '') return '/';
  if (!next.startsWith('/') || next.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(next)) return null;
  let u: URL;
  try {
    u = new URL(next, 'http://local.invalid');
  } catch {
    return null;
  }
  if (u.origin !== 'http://local.invalid') return null;
  return u.pathname + u.search + u.hash;
}

/**
 * Sends a complete HTML page that POSTs a form at load (SAML HTTP-POST binding). The page gets its
 * own strict CSP: only the nonce'd script, nothing else loads. `form-action` is left out on
 * purpose: the action is ours to choose, and browsers would also apply it to the IdP's own
 * redirects after the POST.
 */
export function sendAutoSubmitForm(reply: FastifyReply, action: string, fields: Record<string, string>, title?: string): FastifyReply {
  const nonce = reply.scriptNonce;
  return reply
    .header(
      'content-security-policy',
      `default-src 'none'; script-src 'nonce-${nonce}'; base-uri 'none'; frame-ancestors 'none'`,
    )
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(renderAutoSubmitForm({ action, fields, nonce, ...(title ? { title } : {}) }));
}

function shuffled<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const loginQuery = {
  type: 'object',
  properties: {
    idp: { type: 'string', minLength: 1, maxLength: 512 },
    level: { type: 'integer', enum: [1, 2, 3], default: 2 },
    next: { type: 'string', maxLength: 1024 },
  },
  additionalProperties: false,
} as const;

const acsBody = {
  type: 'object',
  required: ['SAMLResponse'],
  properties: {
    SAMLResponse: { type: 'string', minLength: 1, maxLength: 2_000_000 },
    RelayState: { type: 'string', maxLength: 512 },
  },
} as const;

const sloQuery = {
  type: 'object',
  properties: {
    SAMLRequest: { type: 'string', maxLength: 200_000 },
    SAMLResponse: { type: 'string', maxLength: 200_000 },
    RelayState: { type: 'string', maxLength: 512 },
    SigAlg: { type: 'string', maxLength: 200 },
    Signature: { type: 'string', maxLength: 4096 },
  },
  additionalProperties: false,
} as const;

const sloBody = {
  type: 'object',
  properties: {
    SAMLRequest: { type: 'string', maxLength: 200_000 },
    SAMLResponse: { type: 'string', maxLength: 200_000 },
    RelayState: { type: 'string', maxLength: 512 },
  },
} as const;

interface LoginQuery {
  idp?: string;
  level: SpidLevel;
  next?: string;
}

export interface SpidRoutesOptions {
  sp: SpRuntime;
  /** Run the IdP metadata refresh timer (buildApp's backgroundWorkers). */
  backgroundWorkers?: boolean;
}

async function spidRoutes(app: FastifyInstance, opts: SpidRoutesOptions) {
  const sp = opts.sp;
  const db = app.db;
  const replay = new DbReplayGuard(db, sp.settings.clockSkewMs);
  const skew = sp.settings.clockSkewMs;

  await sweepSamlState(db);
  const timer = setInterval(async () => await sweepSamlState(db), 10 * 60_000);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));

  // Daily download of the AgID registry (and CIE metadata), like the pagoPA schedulers: only in
  // processes with background workers, started when the app is ready, stopped on close.
  const idpRefresher =
    opts.backgroundWorkers && sp.idpSources.length > 0 ? new IdpMetadataRefresher(sp.idpSources, (due) => sp.refreshIdps(due), app.log) : null;
  if (idpRefresher) {
    app.addHook('onReady', async () => idpRefresher.start());
    app.addHook('onClose', async () => idpRefresher.stop());
  }

  function bindingValue(request: FastifyRequest): string | undefined {
    const v = request.cookies[BINDING_COOKIE];
    return v && /^[A-Za-z0-9_-]{43}$/.test(v) ? v : undefined;
  }

  function setBindingCookie(reply: FastifyReply, value: string): void {
    reply.setCookie(BINDING_COOKIE, value, {
      path: BINDING_COOKIE_PATH,
      httpOnly: true,
      secure: app.config.isProduction,
      // The IdP posts the Response cross-site: in production the cookie must travel with it.
      sameSite: app.config.isProduction ? 'none' : 'lax',
      maxAge: Math.ceil(sp.settings.requestTtlMs / 1000),
    });
  }

  async function startLogin(request: FastifyRequest, reply: FastifyReply, federation: Federation, idp: IdpEntry, level: SpidLevel, target: string) {
    const now = new Date();
    const relayState = newRelayState();
    const browserValue = bindingValue(request) ?? newBrowserValue();
    setBindingCookie(reply, browserValue);
    const signer = { entityId: sp.entityIds[federation], keys: sp.keys };
    const save = async (id: string, issueInstant: string) =>
      await saveRequestState(db, {
                id,
                relayState,
                browserValue,
                federation,
                idpEntityId: idp.entityId,
                level,
                issueInstant,
                acsUrl: sp.acsUrl,
                target,
                ttlMs: sp.settings.requestTtlMs,
                now: now.getTime(),
              });
    request.log.info({ federation, idp: idp.entityId, spidLevel: level }, 'SAML AuthnRequest sent');
    if (idp.sso.post) {
      const req = buildPostAuthnRequest({ sp: signer, idpSsoUrl: idp.sso.post, level, now });
      await save(req.id, req.issueInstant);
      return sendAutoSubmitForm(reply, req.destination, { SAMLRequest: req.samlRequest, RelayState: relayState }, 'Accesso in corso…');
    }
    const req = buildRedirectAuthnRequest({ sp: signer, idpSsoUrl: idp.sso.redirect!, level, now }, relayState);
    await save(req.id, req.issueInstant);
    return reply.header('cache-control', 'no-store').redirect(req.url, 303);
  }

  function targetOr400(next: string | undefined): string {
    const target = safeLocalTarget(next);
    if (target === null) throw new HttpError(400, 'L’indirizzo di ritorno indicato non è una pagina di questo portale.');
    return target;
  }

  function cieIdp(): IdpEntry | undefined {
    const list = sp.registries.cie.list();
    return list.find((e) => !sp.testIdps.has(e.entityId)) ?? list[0];
  }

  // ------------------------------------------------------------------ metadata

  for (const federation of ['spid', 'cie'] as const) {
    app.get(`/${federation}/metadata`, async (_request, reply) =>
      reply
        .type('application/samlmetadata+xml; charset=utf-8')
        .header('cache-control', 'public, max-age=3600')
        .header('content-disposition', `inline; filename="${federation}-metadata.xml"`)
        .send(sp.metadata[federation]),
    );
  }

  // ------------------------------------------------------------------ login

  app.get<{ Querystring: LoginQuery }>('/spid/login', { schema: { querystring: loginQuery } }, async (request, reply) => {
    const target = targetOr400(request.query.next);
    const idp = request.query.idp ? sp.registries.spid.get(request.query.idp) : undefined;
    if (!idp) throw new HttpError(400, 'Gestore di identità SPID non riconosciuto: sceglilo dall’elenco della pagina “Accedi”.');
    return await startLogin(request, reply, 'spid', idp, request.query.level, target);
  });

  app.get<{ Querystring: LoginQuery }>('/cie/login', { schema: { querystring: loginQuery } }, async (request, reply) => {
    const target = targetOr400(request.query.next);
    const idp = request.query.idp ? sp.registries.cie.get(request.query.idp) : cieIdp();
    if (!idp) throw new HttpError(404, 'L’accesso con CIE non è disponibile su questo portale.');
    return await startLogin(request, reply, 'cie', idp, request.query.level, target);
  });

  // ------------------------------------------------------------------ ACS

  function loginFailed(reply: FastifyReply, status: number, message: string, spidErrorCode?: number) {
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .page('spid/error', { title: 'Accesso non riuscito', message, spidErrorCode, status });
  }

  app.post<{ Body: { SAMLResponse: string; RelayState?: string } }>(
    '/spid/acs',
    { config: { csrf: false }, schema: { body: acsBody } },
    async (request, reply) => {
      const { SAMLResponse, RelayState } = request.body;
      const reject = (status: number, code: string, reason: string, message: string, extra: Record<string, unknown> = {}) => {
        request.log.warn({ code, reason, ...extra }, 'SAML response rejected');
        return loginFailed(reply, status, message);
      };
      const peek = RelayState ? null : peekSamlResponse(SAMLResponse);
      const state = await findRequestState(db, { relayState: RelayState, id: peek?.inResponseTo });
      if (!state || state.level === LOGOUT_LEVEL) {
        return reject(403, 'UNKNOWN_REQUEST', 'no AuthnRequest stored for this RelayState / InResponseTo (unsolicited?)', EXPIRED_MESSAGE);
      }
      const extra = { federation: state.federation, idp: state.idpEntityId };
      if (!isBoundTo(state, bindingValue(request))) {
        return reject(403, 'BROWSER_MISMATCH', 'the binding cookie does not match the stored request', OTHER_BROWSER_MESSAGE, extra);
      }
      if (!await consumeRequestState(db, state.id)) {
        return reject(403, 'REQUEST_USED_OR_EXPIRED', 'the AuthnRequest was already used or has expired', EXPIRED_MESSAGE, extra);
      }
      const trust = sp.registries[state.federation].trust(state.idpEntityId);
      if (!trust) return reject(403, 'IDP_NOT_TRUSTED', 'the IdP is no longer in the registry', EXPIRED_MESSAGE, extra);

      const result = await validateSpidResponse(
        {
          samlResponse: SAMLResponse,
          expected: {
            requestId: state.id,
            issueInstant: state.issueInstant,
            idpEntityId: state.idpEntityId,
            level: state.level as SpidLevel,
            comparison: 'minimum',
            acsUrl: state.acsUrl,
            spEntityId: sp.entityIds[state.federation],
          },
          idp: trust,
          replay,
        },
        { now: new Date(), clockSkewMs: skew },
      );
      if (!result.ok) {
        // Reasons about the fiscal number quote it: keep personal data out of the log.
        const reason = result.code.startsWith('FISCAL_NUMBER') ? result.code : result.reason;
        request.log.warn(
          { code: result.code, reason, ...extra, ...(result.spidErrorCode !== undefined ? { spidErrorCode: result.spidErrorCode } : {}) },
          'SAML response rejected',
        );
        return loginFailed(reply, result.httpStatus, result.userMessage, result.spidErrorCode);
      }

      const u = result.user;
      const userId = await upsertUser(
              db,
              {
                fiscalCode: u.fiscalNumber,
                ...(u.name ? { name: u.name } : {}),
                ...(u.familyName ? { familyName: u.familyName } : {}),
                ...(u.email ? { emailIfMissing: u.email } : {}),
              },
              { actor: `system:${state.federation}-login`, requestId: request.id },
            );
      await recordLogin(db, userId, new Date());
      await startUserSession(request, userId);
      request.session.spid = {
        federation: state.federation,
        idp: state.idpEntityId,
        nameId: result.nameId,
        nameQualifier: result.nameQualifier,
        sessionIndex: result.sessionIndex,
        level: result.level,
      };
      request.log.info({ userId, ...extra, spidLevel: result.level }, 'SAML login');
      return reply.header('cache-control', 'no-store').redirect(state.target, 303);
    },
  );

  // ------------------------------------------------------------------ single logout

  async function logout(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const info = request.session.spid;
    await request.session.destroy();
    if (!info) return reply.redirect('/', 303);
    const idp = sp.registries[info.federation].get(info.idp);
    if (!idp || (!idp.slo.post && !idp.slo.redirect)) {
      request.log.warn({ idp: info.idp }, 'no SingleLogoutService for this IdP: local logout only');
      return reply.redirect('/', 303);
    }
    const now = new Date();
    const relayState = newRelayState();
    const signer = { entityId: sp.entityIds[info.federation], keys: sp.keys };
    const params = { signer, nameId: info.nameId, nameQualifier: info.nameQualifier, sessionIndex: info.sessionIndex, now };
    const save = async (id: string, issueInstant: string) =>
      await saveRequestState(db, {
                id,
                relayState,
                browserValue: newBrowserValue(),
                federation: info.federation,
                idpEntityId: idp.entityId,
                level: LOGOUT_LEVEL,
                issueInstant,
                acsUrl: sp.sloUrl,
                target: '/',
                ttlMs: sp.settings.requestTtlMs,
                now: now.getTime(),
              });
    request.log.info({ idp: idp.entityId }, 'SAML LogoutRequest sent');
    if (idp.slo.post) {
      const m = buildPostLogoutRequest({ ...params, destination: idp.slo.post });
      await save(m.id, m.issueInstant);
      return sendAutoSubmitForm(reply, idp.slo.post, { SAMLRequest: m.samlRequest, RelayState: relayState }, 'Uscita in corso…');
    }
    const m = buildRedirectLogoutRequest({ ...params, destination: idp.slo.redirect! }, relayState);
    await save(m.id, m.issueInstant);
    return reply.header('cache-control', 'no-store').redirect(m.url, 303);
  }

  function findIdp(entityId: string | null): { federation: Federation; idp: IdpEntry } | null {
    if (!entityId) return null;
    for (const federation of ['spid', 'cie'] as const) {
      const idp = sp.registries[federation].get(entityId);
      if (idp) return { federation, idp };
    }
    return null;
  }

  function sloFailed(reply: FastifyReply, status: number, message: string) {
    return reply.code(status).header('cache-control', 'no-store').page('spid/logout', { title: 'Uscita non riuscita', failed: true, message });
  }

  async function handleSlo(request: FastifyRequest, reply: FastifyReply, input: InboundMessage, relayState: string | undefined) {
    const peek = peekSloMessage(input);
    if (!peek) {
      request.log.warn({ code: 'MALFORMED' }, 'SAML logout message rejected');
      return sloFailed(reply, 400, 'Il messaggio di uscita ricevuto non è leggibile.');
    }
    const now = new Date();
    if (peek.kind === 'LogoutResponse') {
      const state = relayState ? await findRequestState(db, { relayState }) : undefined;
      if (!state || state.level !== LOGOUT_LEVEL || !await consumeRequestState(db, state.id)) {
        request.log.warn({ code: 'UNKNOWN_LOGOUT_REQUEST' }, 'SAML LogoutResponse rejected');
        return sloFailed(reply, 403, 'La risposta di uscita non corrisponde a una richiesta in corso. La sessione su questo portale è comunque chiusa.');
      }
      const trust = sp.registries[state.federation].trust(state.idpEntityId);
      const v = trust
        ? validateLogoutResponse(input, { requestId: state.id, sloUrl: sp.sloUrl }, trust, { now, clockSkewMs: skew })
        : ({ ok: false, code: 'ISSUER', reason: 'IdP no longer trusted' } as const);
      if (!v.ok) {
        request.log.warn({ code: v.code, reason: v.reason, idp: state.idpEntityId }, 'SAML LogoutResponse rejected');
        return sloFailed(reply, 403, 'La risposta di uscita del gestore di identità non è valida. La sessione su questo portale è comunque chiusa.');
      }
      request.log.info({ idp: state.idpEntityId, partial: v.partial }, 'SAML logout completed');
      return reply.header('cache-control', 'no-store').page('spid/logout', { title: 'Sei uscito', partial: v.partial });
    }

    // IdP-initiated LogoutRequest
    const found = findIdp(peek.issuer);
    if (!found) {
      request.log.warn({ code: 'ISSUER' }, 'SAML LogoutRequest from an unknown IdP rejected');
      return sloFailed(reply, 403, 'Richiesta di uscita da un gestore di identità non riconosciuto.');
    }
    const { idp, federation } = found;
    const v = validateIdpLogoutRequest(input, { sloUrl: sp.sloUrl }, { entityId: idp.entityId, certificates: idp.certificates }, { now, clockSkewMs: skew });
    if (!v.ok) {
      request.log.warn({ code: v.code, reason: v.reason, idp: idp.entityId }, 'SAML LogoutRequest rejected');
      return sloFailed(reply, 403, 'La richiesta di uscita del gestore di identità non è valida.');
    }
    const pg = dialectOf(db) === 'postgres';
    const ended = affectedRows(await db
          .delete(sessions)
          .where(
            and(
              pg
                ? sql`(${sessions.data}::json -> 'spid' ->> 'nameId') = ${v.nameId}`
                : sql`json_extract(${sessions.data}, '$.spid.nameId') = ${v.nameId}`,
              pg ? sql`(${sessions.data}::json -> 'spid' ->> 'idp') = ${idp.entityId}` : sql`json_extract(${sessions.data}, '$.spid.idp') = ${idp.entityId}`,
            ),
          ));
    request.log.info({ idp: idp.entityId, sessionsEnded: ended }, 'SAML IdP-initiated logout');
    const signer = { entityId: sp.entityIds[federation], keys: sp.keys };
    const postDest = idp.slo.postResponse ?? idp.slo.post;
    const redirectDest = idp.slo.redirectResponse ?? idp.slo.redirect;
    const useRedirect = (input.binding === 'REDIRECT' && redirectDest) || !postDest;
    if (useRedirect && redirectDest) {
      const m = buildRedirectLogoutResponse({ signer, destination: redirectDest, inResponseTo: v.id, now }, v.relayState);
      return reply.header('cache-control', 'no-store').redirect(m.url, 303);
    }
    if (!postDest) return sloFailed(reply, 400, 'Il gestore di identità non ha un indirizzo per la risposta di uscita.');
    const m = buildPostLogoutResponse({ signer, destination: postDest, inResponseTo: v.id, now });
    return sendAutoSubmitForm(reply, postDest, { SAMLResponse: m.samlResponse, ...(v.relayState ? { RelayState: v.relayState } : {}) });
  }

  app.get<{ Querystring: { SAMLRequest?: string; SAMLResponse?: string; RelayState?: string } }>(
    '/spid/slo',
    { schema: { querystring: sloQuery } },
    async (request, reply) => {
      if (!request.query.SAMLRequest === !request.query.SAMLResponse) {
        throw new HttpError(400, 'Serve uno (e uno solo) tra SAMLRequest e SAMLResponse.');
      }
      const rawQuery = request.raw.url?.split('?').slice(1).join('?') ?? '';
      return handleSlo(request, reply, { binding: 'REDIRECT', rawQuery }, request.query.RelayState);
    },
  );

  app.post<{ Body: { SAMLRequest?: string; SAMLResponse?: string; RelayState?: string } }>(
    '/spid/slo',
    { config: { csrf: false }, schema: { body: sloBody } },
    async (request, reply) => {
      const { SAMLRequest, SAMLResponse, RelayState } = request.body;
      const message = SAMLRequest ?? SAMLResponse;
      if (!message || (SAMLRequest && SAMLResponse)) throw new HttpError(400, 'Serve uno (e uno solo) tra SAMLRequest e SAMLResponse.');
      return handleSlo(request, reply, { binding: 'POST', message, ...(RelayState ? { relayState: RelayState } : {}) }, RelayState);
    },
  );

  // ------------------------------------------------------------------ facade

  app.decorate('spid', {
    runtime: sp,
    idpRefresher,
    logout,
    loginPageData(next: string | undefined) {
      const target = safeLocalTarget(next) ?? '/';
      const qs = (extra: Record<string, string>) => {
        const p = new URLSearchParams(extra);
        if (target !== '/') p.set('next', target);
        return p.toString();
      };
      const spidIdps = shuffled(sp.registries.spid.list()).map((e) => ({
        entityId: e.entityId,
        name: e.displayName ?? e.entityId,
        href: `/spid/login?${qs({ idp: e.entityId })}`,
        test: sp.testIdps.has(e.entityId),
      }));
      const cieQs = qs({});
      const cieHref = cieIdp() ? `/cie/login${cieQs ? `?${cieQs}` : ''}` : null;
      return { spidIdps, cieHref, next: target };
    },
  } satisfies SpidFacade);
}

export default fp(spidRoutes, { name: 'spid', dependencies: ['sessions', 'auth', 'views', 'errors'] });
