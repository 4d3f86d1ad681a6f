/**
 * HTTP endpoints of the built-in SPID/CIE **test** IdP (demo and tests only: `app.ts` registers
 * them only outside production, so there they answer 404). Mounted at `/simulators/spid-idp`:
 *
 * - `GET  /metadata`: its signed IdP metadata (the SP trusts it through the registry in demo mode);
 * - `POST /sso` (HTTP-POST) and `GET /sso` (HTTP-Redirect): verifies the AuthnRequest signature
 *   with our SP's certificate, then shows the login page: pick a demo user (staff with roles,
 *   citizens), or type a fiscal code, choose the level, or choose an error outcome (ErrorCode);
 * - `POST /login`: re-verifies the request carried by the form and answers the SP's ACS with a
 *   signed Response (auto-submit form);
 * - `GET|POST /slo`: answers the SP's LogoutRequest with a signed LogoutResponse.
 *
 * Keys: `DATA_DIR/spid-test-idp/{key.pem,crt.pem}`, generated at first start (never committed).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { inArray, eq } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { isValidPersonalFiscalCode } from '../../domain/fiscal-code.js';
import { demoCitizenProfiles, demoUserFiscalCodes } from '../../modules/enti/demo-seed.js';
import { enti } from '../../modules/enti/schema.js';
import { buildPostLogoutResponse, validateIdpLogoutRequest, type InboundMessage } from '../../modules/spid/logout.js';
import { parseIdpMetadata, type IdpEntry } from '../../modules/spid/idp-registry.js';
import { sendAutoSubmitForm } from '../../modules/spid/routes.js';
import type { SpRuntime } from '../../modules/spid/sp-config.js';
import type { SpidLevel } from '../../modules/spid/saml.js';
import { users, type Role } from '../../modules/users/schema.js';
import {
  buildResponse,
  buildTestIdpMetadata,
  generateTestIdpKeys,
  readPostAuthnRequest,
  readRedirectAuthnRequest,
  type TestIdpConfig,
  type TestUser,
  type VerifiedRequest,
} from './idp.js';

export const TEST_IDP_PREFIX = '/simulators/spid-idp';

/** Loads (or creates at first start) the test IdP keys under `DATA_DIR/spid-test-idp`. */
export async function ensureTestIdp(config: Config): Promise<TestIdpConfig> {
  if (config.isProduction) throw new Error('the SPID test IdP is not available in production');
  const entityId = `${config.publicUrl}${TEST_IDP_PREFIX}`;
  const dir = path.join(config.dataDir, 'spid-test-idp');
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'crt.pem');
  let keys;
  try {
    keys = { keyPem: await fs.readFile(keyPath, 'utf8'), certPem: await fs.readFile(certPath, 'utf8') };
  } catch {
    keys = await generateTestIdpKeys(entityId);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await fs.writeFile(keyPath, keys.keyPem, { mode: 0o600 });
    await fs.writeFile(certPath, keys.certPem, { mode: 0o644 });
  }
  return { entityId, baseUrl: entityId, keys };
}

/** The registry entry of the test IdP (from its own signed metadata). */
export function testIdpEntry(cfg: TestIdpConfig): IdpEntry {
  const [entry] = parseIdpMetadata(buildTestIdpMetadata(cfg), { trustedSignerCerts: [cfg.keys.certPem] });
  return { ...entry!, displayName: 'IdP di prova (demo)' };
}

/** Demo citizens (seeded in src/modules/enti/demo-seed.ts) as test IdP users. */
export function demoCitizens(): TestUser[] {
  return demoCitizenProfiles().map((c) => ({ fiscalNumber: c.fiscalCode, name: c.name, familyName: c.familyName, email: c.email }));
}

const ROLE_LABELS: Record<Role, string> = {
  sael_admin: 'Amministratore SAEL',
  helpdesk: 'Helpdesk della Provincia',
  operator: 'Operatore',
  ente_admin: 'Amministratore dell’ente',
  redazione: 'Redazione dell’ente (eventi e notizie)',
};

/** ErrorCode outcomes the page offers (spid.md §6). */
const ERROR_OUTCOMES: { code: number; label: string }[] = [
  { code: 19, label: '19 – credenziali errate troppe volte' },
  { code: 20, label: '20 – credenziali non adeguate al livello richiesto' },
  { code: 21, label: '21 – tempo scaduto' },
  { code: 22, label: '22 – consenso negato' },
  { code: 23, label: '23 – identità sospesa o revocata' },
  { code: 25, label: '25 – accesso annullato dall’utente' },
  { code: 30, label: '30 – tipo di identità diverso da quello richiesto' },
];

interface LoginForm {
  binding: 'POST' | 'REDIRECT';
  SAMLRequest?: string;
  RelayState?: string;
  rawQuery?: string;
  identity?: string;
  fiscalCode?: string;
  name?: string;
  familyName?: string;
  email?: string;
  level?: string;
  outcome?: string;
  action?: 'login' | 'cancel';
}

const loginBody = {
  type: 'object',
  required: ['binding'],
  properties: {
    _csrf: { type: 'string' },
    binding: { type: 'string', enum: ['POST', 'REDIRECT'] },
    SAMLRequest: { type: 'string', maxLength: 200_000 },
    RelayState: { type: 'string', maxLength: 512 },
    rawQuery: { type: 'string', maxLength: 200_000 },
    identity: { type: 'string', maxLength: 40 },
    fiscalCode: { type: 'string', maxLength: 32 },
    name: { type: 'string', maxLength: 100 },
    familyName: { type: 'string', maxLength: 100 },
    email: { type: 'string', maxLength: 200 },
    level: { type: 'string', enum: ['1', '2', '3'] },
    outcome: { type: 'string', enum: ['ok', ...ERROR_OUTCOMES.map((o) => String(o.code))] },
    action: { type: 'string', enum: ['login', 'cancel'] },
  },
  additionalProperties: false,
} as const;

export interface TestIdpRoutesOptions {
  idp: TestIdpConfig;
  sp: SpRuntime;
}

export default async function testIdpRoutes(app: FastifyInstance, opts: TestIdpRoutesOptions) {
  if (app.config.isProduction) throw new Error('the SPID test IdP is not available in production');
  const { idp, sp } = opts;
  const metadata = buildTestIdpMetadata(idp);
  const spCerts = [sp.keys.certPem];
  const spEntityIds = new Set(Object.values(sp.entityIds));

  /** Staff demo users (from the seeded users table, with their roles) and demo citizens. */
  async function demoIdentities() {
    const staff = demoUserFiscalCodes();
    const rows = staff.length
      ? await app.db.select().from(users).where(inArray(users.fiscalCode, staff.map((s) => s.fiscalCode)))
      : [];
    const byCf = new Map(rows.map((r) => [r.fiscalCode, r]));
    const enteName = async (istat: string | null) =>
      istat ? ((await app.db.select({ name: enti.name }).from(enti).where(eq(enti.istatCode, istat)).limit(1))[0]?.name ?? null) : null;
    const staffOut = await Promise.all(staff.map(async (s) => {
      const row = byCf.get(s.fiscalCode);
      const ente = await enteName(s.enteIstat);
      return {
        id: `demo:${s.fiscalCode}`,
        fiscalCode: s.fiscalCode,
        displayName: row ? [row.name, row.familyName].filter(Boolean).join(' ') : s.fiscalCode,
        roleLabel: ROLE_LABELS[s.role] + (ente ? ` – ${ente}` : ''),
      };
    }));
    const citizens = demoCitizens().map((c) => ({
      id: `demo:${c.fiscalNumber}`,
      fiscalCode: c.fiscalNumber,
      displayName: `${c.name} ${c.familyName}`,
      roleLabel: 'Cittadino',
    }));
    return { staff: staffOut, citizens };
  }

  async function userFor(fiscalCode: string): Promise<TestUser> {
    const citizen = demoCitizens().find((c) => c.fiscalNumber === fiscalCode);
    if (citizen) return citizen;
    const row = (await app.db.select().from(users).where(eq(users.fiscalCode, fiscalCode)).limit(1))[0];
    return {
      fiscalNumber: fiscalCode,
      ...(row?.name ? { name: row.name } : {}),
      ...(row?.familyName ? { familyName: row.familyName } : {}),
      ...(row?.email ? { email: row.email } : {}),
    };
  }

  function idpError(reply: FastifyReply, status: number, message: string) {
    return reply.code(status).page('simulators/spid-idp-error', { title: 'IdP di prova – richiesta non valida', message });
  }

  /** Checks what a real IdP would refuse (spid.md §2); returns an Italian problem or null. */
  function requestProblem(v: VerifiedRequest): string | null {
    if (!v.ok) return `Richiesta SAML non accettata: ${v.reason}.`;
    const r = v.request;
    if (!spEntityIds.has(r.issuer)) return 'Il fornitore di servizi che ha inviato la richiesta non è riconosciuto da questo IdP di prova.';
    if (r.destination !== `${idp.baseUrl}/sso` && r.destination !== idp.entityId) return 'Destination della richiesta errata (ErrorCode nr14).';
    if (r.version !== '2.0') return 'Versione SAML non supportata (ErrorCode nr9).';
    if (!r.level) return 'RequestedAuthnContext non valido (ErrorCode nr12).';
    if (r.isPassive !== null) return 'IsPassive non ammesso (ErrorCode nr15).';
    if (r.acsUrl !== null && r.acsUrl !== sp.acsUrl) return 'AssertionConsumerServiceURL non presente nei metadata del fornitore (ErrorCode nr16).';
    if (r.acsUrl === null && r.acsIndex !== 0) return 'AssertionConsumerServiceIndex non presente nei metadata del fornitore (ErrorCode nr16).';
    return null;
  }

  async function loginPage(reply: FastifyReply, v: VerifiedRequest & { ok: true }, carry: Record<string, string>, status = 200, error?: string, form?: LoginForm) {
    const r = v.request;
    const level = form?.level ?? String(r.level ?? 2);
    return reply.code(status).page('simulators/spid-idp-login', {
      title: 'IdP di prova',
      csrf: true,
      carry: Object.entries(carry).map(([name, value]) => ({ name, value })),
      spEntityId: r.issuer,
      requestedLevel: r.level,
      levels: [1, 2, 3].map((l) => ({ value: String(l), checked: String(l) === level })),
      ...await demoIdentities(),
      selected: form?.identity ?? '',
      errors: ERROR_OUTCOMES,
      error,
      form: form ?? {},
    });
  }

  function readCarried(body: LoginForm): { v: VerifiedRequest; carry: Record<string, string>; relayState?: string } {
    if (body.binding === 'POST') {
      const carry: Record<string, string> = { binding: 'POST', SAMLRequest: body.SAMLRequest ?? '' };
      if (body.RelayState !== undefined) carry.RelayState = body.RelayState;
      return { v: readPostAuthnRequest(body.SAMLRequest ?? '', spCerts), carry, relayState: body.RelayState };
    }
    const v = readRedirectAuthnRequest(body.rawQuery ?? '', spCerts);
    return { v, carry: { binding: 'REDIRECT', rawQuery: body.rawQuery ?? '' }, relayState: v.ok ? v.relayState : undefined };
  }

  app.get('/metadata', async (_request, reply) => reply.type('application/samlmetadata+xml; charset=utf-8').send(metadata));

  app.post<{ Body: { SAMLRequest: string; RelayState?: string } }>(
    '/sso',
    {
      config: { csrf: false },
      schema: {
        body: {
          type: 'object',
          required: ['SAMLRequest'],
          properties: { SAMLRequest: { type: 'string', maxLength: 200_000 }, RelayState: { type: 'string', maxLength: 512 } },
        },
      },
    },
    async (request, reply) => {
      const { v, carry } = readCarried({ binding: 'POST', SAMLRequest: request.body.SAMLRequest, RelayState: request.body.RelayState });
      const problem = requestProblem(v);
      if (problem || !v.ok) return idpError(reply, 400, problem ?? 'Richiesta non valida.');
      return await loginPage(reply, v, carry);
    },
  );

  app.get(
    '/sso',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['SAMLRequest', 'SigAlg', 'Signature'],
          properties: {
            SAMLRequest: { type: 'string', maxLength: 200_000 },
            RelayState: { type: 'string', maxLength: 512 },
            SigAlg: { type: 'string', maxLength: 200 },
            Signature: { type: 'string', maxLength: 4096 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const rawQuery = request.raw.url?.split('?').slice(1).join('?') ?? '';
      const { v, carry } = readCarried({ binding: 'REDIRECT', rawQuery });
      const problem = requestProblem(v);
      if (problem || !v.ok) return idpError(reply, 400, problem ?? 'Richiesta non valida.');
      return await loginPage(reply, v, carry);
    },
  );

  app.post<{ Body: LoginForm }>('/login', { schema: { body: loginBody } }, async (request, reply) => {
    const body = request.body;
    const { v, carry, relayState } = readCarried(body);
    const problem = requestProblem(v);
    if (problem || !v.ok) return idpError(reply, 400, problem ?? 'Richiesta non valida.');
    const now = new Date();
    const fields = (base64: string) => ({ SAMLResponse: base64, ...(relayState !== undefined ? { RelayState: relayState } : {}) });
    const params = { request: v.request, acsUrl: sp.acsUrl, spEntityId: v.request.issuer, now };

    const errorCode = body.action === 'cancel' ? 25 : body.outcome && body.outcome !== 'ok' ? Number(body.outcome) : undefined;
    if (errorCode !== undefined) {
      const res = buildResponse(idp, { ...params, errorCode });
      return sendAutoSubmitForm(reply, sp.acsUrl, fields(res.base64), 'Ritorno al servizio…');
    }

    let user: TestUser;
    if (body.identity === 'custom') {
      const cf = (body.fiscalCode ?? '').trim().toUpperCase();
      if (!isValidPersonalFiscalCode(cf)) {
        return await loginPage(reply, v, carry, 422, 'Il codice fiscale inserito non è un codice fiscale personale valido.', body);
      }
      const email = body.email?.trim();
      user = {
        ...await userFor(cf),
        ...(body.name?.trim() ? { name: body.name.trim() } : {}),
        ...(body.familyName?.trim() ? { familyName: body.familyName.trim() } : {}),
        ...(email ? { email } : {}),
      };
    } else if (body.identity?.startsWith('demo:')) {
      const cf = body.identity.slice(5);
      const known = [...demoUserFiscalCodes().map((d) => d.fiscalCode), ...demoCitizens().map((c) => c.fiscalNumber)];
      if (!known.includes(cf)) return await loginPage(reply, v, carry, 422, 'Scegli un utente dall’elenco.', body);
      user = await userFor(cf);
    } else {
      return await loginPage(reply, v, carry, 422, 'Scegli un utente dall’elenco oppure inserisci un codice fiscale.', body);
    }
    const level = Number(body.level ?? v.request.level ?? 2) as SpidLevel;
    const res = buildResponse(idp, { ...params, user, level });
    return sendAutoSubmitForm(reply, sp.acsUrl, fields(res.base64), 'Ritorno al servizio…');
  });

  async function slo(request: FastifyRequest, reply: FastifyReply, input: InboundMessage, kind: 'request' | 'response') {
    if (kind === 'response') {
      return reply.page('simulators/spid-idp-error', { title: 'IdP di prova', message: 'Risposta di uscita ricevuta dal fornitore di servizi.' });
    }
    const now = new Date();
    for (const entityId of spEntityIds) {
      const v = validateIdpLogoutRequest(input, { sloUrl: `${idp.baseUrl}/slo` }, { entityId, certificates: spCerts }, { now });
      if (!v.ok) {
        if (v.code === 'ISSUER') continue;
        return idpError(reply, 400, `Richiesta di uscita non valida (${v.code}).`);
      }
      const m = buildPostLogoutResponse({ signer: idp, destination: sp.sloUrl, inResponseTo: v.id, now });
      return sendAutoSubmitForm(reply, sp.sloUrl, { SAMLResponse: m.samlResponse, ...(v.relayState ? { RelayState: v.relayState } : {}) });
    }
    return idpError(reply, 400, 'Richiesta di uscita da un fornitore di servizi non riconosciuto.');
  }

  app.post<{ Body: { SAMLRequest?: string; SAMLResponse?: string; RelayState?: string } }>(
    '/slo',
    {
      config: { csrf: false },
      schema: {
        body: {
          type: 'object',
          properties: {
            SAMLRequest: { type: 'string', maxLength: 200_000 },
            SAMLResponse: { type: 'string', maxLength: 200_000 },
            RelayState: { type: 'string', maxLength: 512 },
          },
        },
      },
    },
    async (request, reply) => {
      const { SAMLRequest, SAMLResponse, RelayState } = request.body;
      const message = SAMLRequest ?? SAMLResponse;
      if (!message) return idpError(reply, 400, 'Messaggio SAML mancante.');
      return slo(request, reply, { binding: 'POST', message, ...(RelayState ? { relayState: RelayState } : {}) }, SAMLRequest ? 'request' : 'response');
    },
  );

  app.get<{ Querystring: { SAMLRequest?: string; SAMLResponse?: string } }>(
    '/slo',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            SAMLRequest: { type: 'string', maxLength: 200_000 },
            SAMLResponse: { type: 'string', maxLength: 200_000 },
            RelayState: { type: 'string', maxLength: 512 },
            SigAlg: { type: 'string', maxLength: 200 },
            Signature: { type: 'string', maxLength: 4096 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      if (!request.query.SAMLRequest && !request.query.SAMLResponse) return idpError(reply, 400, 'Messaggio SAML mancante.');
      const rawQuery = request.raw.url?.split('?').slice(1).join('?') ?? '';
      return slo(request, reply, { binding: 'REDIRECT', rawQuery }, request.query.SAMLRequest ? 'request' : 'response');
    },
  );
}
