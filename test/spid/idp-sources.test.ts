/**
 * IdP metadata from the AgID registry (spid.md §7) and from the CIE metadata URL: a real local HTTP
 * server serves an aggregate EntitiesDescriptor signed (xml-crypto, RSA-SHA256) with a "registry"
 * key generated here. Checked: a good load, a refresh replacing the list, every kind of bad copy
 * (signature, tampering, XML, XSD, expiry, HTTP 500, timeout, size) keeping the last good copy, a
 * restart with the registry down using the copy on disk, a copy altered on disk being refused, the
 * refresh timer, and in the app: the atomic swap, a rotated IdP certificate at the ACS, production
 * defaults and settings.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { AGID_SPID_REGISTRY_URL, loadConfig } from '../../src/config.js';
import { generateSelfSigned } from '../../src/modules/spid/certificate.js';
import { IdpMetadataRefresher, RemoteIdpMetadata, type RemoteMetadataConfig } from '../../src/modules/spid/idp-sources.js';
import type { SigningKeyPair } from '../../src/modules/spid/saml.js';
import { SESSION_COOKIE } from '../../src/plugins/sessions/index.js';
import { buildResponse, buildTestIdpMetadata, generateTestIdpKeys } from '../../src/simulators/spid-idp/idp.js';
import { FORM_HEADERS, absorbCookies, cookieHeader, form, postForm, tempDir } from '../helpers.js';
import { CITIZEN, buildRegistry, fixtures, type RegistryIdp } from './helpers.js';

const f = await fixtures();
const A = 'https://idp-a.example.it';
const B = 'https://idp-b.example.it';
const C = 'https://idp-c.example.it';
const [agid, k1, k2] = await Promise.all([
  generateSelfSigned({ subject: 'CN=Registro SPID (test), O=AgID (test), C=IT', keySize: 2048 }),
  generateTestIdpKeys(A),
  generateTestIdpKeys(A),
]);
const strip = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, '');

const V1: RegistryIdp[] = [
  { entityId: A, certs: [k1.certPem], displayName: 'IdP A' },
  { entityId: B, certs: [f.evil.certPem], displayName: 'IdP B' },
];
/** A's key rotated (only the new certificate), C added, B removed. */
const V2: RegistryIdp[] = [
  { entityId: A, certs: [k2.certPem], displayName: 'IdP A' },
  { entityId: C, certs: [f.idp.keys.certPem], displayName: 'IdP C' },
];
const v1 = buildRegistry(V1, agid);
const v2 = buildRegistry(V2, agid);

// ---------------------------------------------------------------- a registry on a real HTTP server

interface Served {
  status: number;
  body: string;
  hang?: boolean;
}
const served = new Map<string, Served>();
let hits = 0;
const server = http.createServer((req, res) => {
  hits++;
  const s = served.get(req.url ?? '') ?? { status: 404, body: 'not found' };
  if (s.hang) return; // never answers
  res.writeHead(s.status, { 'content-type': 'application/samlmetadata+xml' });
  res.end(s.body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => {
  server.closeAllConnections();
  server.close();
});
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const REGISTRY_PATH = '/metadata/idp/spid-entities-idps.xml';
const REGISTRY_URL = `${base}${REGISTRY_PATH}`;
const serve = (s: Served, p = REGISTRY_PATH) => served.set(p, s);

// ---------------------------------------------------------------- helpers

const root = tempDir(t, 'sael-idp-sources-');
const agidCertFile = path.join(root, 'agid-registry.pem');
// Two certificates in the file (e.g. AgID's next one published ahead): any of them may sign.
fs.writeFileSync(agidCertFile, f.sp.certPem + agid.certPem);

interface Logged {
  level: 'info' | 'warn' | 'error';
  msg: string;
  obj: Record<string, unknown>;
}
function recorder() {
  const lines: Logged[] = [];
  const at = (level: Logged['level']) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, msg, obj });
  const log = { info: at('info'), warn: at('warn'), error: at('error') } as unknown as Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
  return { lines, log };
}

function sourceConfig(cacheDir: string, over: Partial<RemoteMetadataConfig> = {}): RemoteMetadataConfig {
  return {
    federation: 'spid',
    label: 'SPID registry',
    url: REGISTRY_URL,
    signerCerts: [agid.certPem],
    cacheFile: path.join(cacheDir, 'spid-registry.xml'),
    timeoutMs: 1000,
    refreshMs: 24 * 3_600_000,
    ...over,
  };
}

const ids = (src: RemoteIdpMetadata) => (src.entries ?? []).map((e) => e.entityId).sort();
const certOf = (src: RemoteIdpMetadata, id: string) => (src.entries ?? []).find((e) => e.entityId === id)?.certificates.map(strip);

// ---------------------------------------------------------------- the source on its own

const cacheDir = path.join(root, 'cache');
const rec = recorder();
const src = new RemoteIdpMetadata(sourceConfig(cacheDir), rec.log);
const cacheFile = path.join(cacheDir, 'spid-registry.xml');

t.test('good load: the signed aggregate is downloaded, checked and kept on disk as downloaded', async (t) => {
  serve({ status: 200, body: v1 });
  await src.start();
  t.same(ids(src), [A, B]);
  t.same(certOf(src, A), [strip(k1.certPem)]);
  t.match(src.status, { url: REGISTRY_URL, idps: 2, from: 'network', lastError: null });
  t.equal(fs.readFileSync(cacheFile, 'utf8'), v1, 'the exact bytes are on disk');
  t.match(JSON.parse(fs.readFileSync(`${cacheFile}.json`, 'utf8')), { url: REGISTRY_URL });
  t.equal(fs.statSync(cacheFile).mode & 0o777, 0o600, 'readable by the app user only');
  t.ok(src.dueAt() > Date.now() + 23 * 3_600_000, 'next download in a day');
});

t.test('the shape of the real AgID file (declaration, comments, indentation, saml:Attribute in the IdP descriptor) passes', async (t) => {
  const real = buildRegistry(V1, agid, { realistic: true });
  t.match(real, /^<\?xml[^>]*standalone="no"\?><md:EntitiesDescriptor[^>]*><ds:Signature/);
  const r = src.check(Buffer.from(real));
  t.ok(r.ok, r.ok ? 'accepted' : r.reason);
  t.same(r.ok && r.entries.map((e) => e.entityId), [A, B]);
  const slipped =
    '<md:EntityDescriptor entityID="https://x.example"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://x.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>';
  t.match(src.check(Buffer.from(real.replace('*start* -->', `*start* -->${slipped}`))), { ok: false, reason: /signature/ }, 'an entity slipped in after signing');
});

t.test('refresh replaces the list: rotated certificate, IdP added, IdP removed', async (t) => {
  serve({ status: 200, body: v2 });
  const r = await src.refresh();
  t.match(r, { ok: true, changed: true, idps: 2 });
  t.same(ids(src), [A, C]);
  t.same(certOf(src, A), [strip(k2.certPem)], 'only the new certificate of A');
  t.equal(fs.readFileSync(cacheFile, 'utf8'), v2);
  const again = await src.refresh();
  t.match(again, { ok: true, changed: false }, 'same bytes: nothing to swap');
  const [x, y] = await Promise.all([src.refresh(), src.refresh()]);
  t.same(x, y, 'concurrent refreshes share one download');
});

const tampered = v2.replace(`Location="${C}/sso"`, `Location="https://evil.example.org/sso"`);
const bad: { name: string; served: Served; reason: RegExp; maxBytes?: number }[] = [
  { name: 'signed with a key that is not the registry’s', served: { status: 200, body: buildRegistry(V2, f.evil) }, reason: /signature/ },
  { name: 'altered after signing (an SSO Location)', served: { status: 200, body: tampered }, reason: /signature/ },
  { name: 'not signed', served: { status: 200, body: buildRegistry(V2, null) }, reason: /not signed/ },
  { name: 'not XML', served: { status: 200, body: '<md:EntitiesDescriptor oops' }, reason: /XSD|unreadable/ },
  { name: 'a DOCTYPE (entities)', served: { status: 200, body: `<!DOCTYPE x [<!ENTITY e "e">]>${v2}` }, reason: /DOCTYPE/ },
  { name: 'signed but not valid against the metadata XSD', served: { status: 200, body: buildRegistry(V2, agid, { extra: '<md:Bogus/>' }) }, reason: /XSD/ },
  { name: 'expired (validUntil in the past)', served: { status: 200, body: buildRegistry(V2, agid, { validUntil: '2020-01-01T00:00:00Z' }) }, reason: /expired/ },
  { name: 'no usable IdP (no signing certificate)', served: { status: 200, body: buildRegistry([{ entityId: A, certs: [] }], agid) }, reason: /no usable IdP/ },
  { name: 'HTTP 500', served: { status: 500, body: 'Internal Server Error' }, reason: /HTTP 500/ },
  { name: 'timeout (the server never answers)', served: { status: 200, body: '', hang: true }, reason: /timeout after 1000 ms/ },
  { name: 'larger than the size limit', served: { status: 200, body: `${v2}<!--${'x'.repeat(4096)}-->` }, reason: /larger than/, maxBytes: v2.length + 1024 },
];
for (const b of bad) {
  t.test(`a refused copy keeps the last good one: ${b.name}`, async (t) => {
    const s = b.maxBytes ? new RemoteIdpMetadata(sourceConfig(cacheDir, { maxBytes: b.maxBytes }), rec.log) : src;
    if (b.maxBytes) {
      serve({ status: 200, body: v2 });
      t.ok((await s.refresh()).ok, 'a copy within the limit is taken');
    }
    serve(b.served);
    const warnings = rec.lines.length;
    const r = await s.refresh();
    t.equal(r.ok, false, 'refused');
    t.match(r.reason, b.reason);
    t.same(ids(s), [A, C], 'the last good list is kept');
    t.same(certOf(s, A), [strip(k2.certPem)]);
    t.equal(fs.readFileSync(cacheFile, 'utf8'), v2, 'the copy on disk is untouched');
    const w = rec.lines.slice(warnings).find((l) => l.level === 'warn');
    t.match(w, { msg: /new copy refused, keeping the last good one/, obj: { url: REGISTRY_URL } }, 'a warning is logged');
    t.ok(s.dueAt() <= Date.now() + 15 * 60_000, 'tried again within 15 minutes');
  });
}

t.test('restart with the registry down: the copy on disk is used', async (t) => {
  serve({ status: 503, body: 'down' });
  const before = hits;
  const fresh = new RemoteIdpMetadata(sourceConfig(cacheDir), recorder().log);
  await fresh.start();
  t.same(ids(fresh), [A, C]);
  t.match(fresh.status, { from: 'disk', idps: 2 });
  t.equal(hits, before, 'a fresh copy on disk: no download at start');

  // An older copy: a download is tried, it fails, the copy on disk is still used.
  const meta = JSON.parse(fs.readFileSync(`${cacheFile}.json`, 'utf8'));
  fs.writeFileSync(`${cacheFile}.json`, JSON.stringify({ ...meta, fetchedAt: new Date(Date.now() - 3 * 86_400_000).toISOString() }));
  const r = recorder();
  const stale = new RemoteIdpMetadata(sourceConfig(cacheDir), r.log);
  await stale.start();
  t.equal(hits, before + 1, 'a stale copy: one download tried');
  t.same(ids(stale), [A, C], 'the copy on disk serves');
  t.ok(r.lines.some((l) => l.level === 'warn' && /keeping the last good one/.test(l.msg)));
  fs.writeFileSync(`${cacheFile}.json`, JSON.stringify(meta));
});

t.test('a copy altered on disk is refused (and replaced by the next good download)', async (t) => {
  const dir = path.join(root, 'cache-tampered');
  fs.cpSync(cacheDir, dir, { recursive: true });
  const file = path.join(dir, 'spid-registry.xml');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(`Location="${C}/sso"`, 'Location="https://evil.example.org/sso"'));
  serve({ status: 503, body: 'down' });
  const r = recorder();
  const s = new RemoteIdpMetadata(sourceConfig(dir), r.log);
  await s.start();
  t.equal(s.entries, null, 'no IdP from a tampered copy');
  t.ok(r.lines.some((l) => l.level === 'warn' && /copy on disk refused/.test(l.msg) && /signature/.test(String(l.obj.reason))));
  t.ok(r.lines.some((l) => l.level === 'error' && /no usable copy/.test(l.msg)));
  serve({ status: 200, body: v2 });
  t.match(await s.refresh(), { ok: true, changed: true });
  t.equal(fs.readFileSync(file, 'utf8'), v2, 'the good copy replaced it');

  // A copy saved for another URL is not used for this one.
  const other = new RemoteIdpMetadata(sourceConfig(dir, { url: `${base}/another-registry.xml` }), recorder().log);
  await other.start();
  t.equal(other.entries, null);
});

t.test('refresher: downloads again when due, keeps going after a failure, stops on stop()', async (t) => {
  const dir = path.join(root, 'cache-timer');
  serve({ status: 200, body: v1 }, '/timer.xml');
  const s = new RemoteIdpMetadata(sourceConfig(dir, { url: `${base}/timer.xml`, refreshMs: 300, retryMs: 100 }), recorder().log);
  await s.start();
  t.same(ids(s), [A, B]);
  let passes = 0;
  const refresher = new IdpMetadataRefresher([s], async (due) => {
    passes++;
    await Promise.all(due.map((x) => x.refresh()));
  }, recorder().log, { minDelayMs: 20 });
  serve({ status: 500, body: 'x' }, '/timer.xml');
  refresher.start();
  t.ok(refresher.active);
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
    return cond();
  };
  t.ok(await until(() => passes >= 1 && s.status.lastError !== null), 'a failed pass');
  t.same(ids(s), [A, B], 'kept');
  serve({ status: 200, body: v2 }, '/timer.xml');
  t.ok(await until(() => ids(s).includes(C)), 'retried soon after the failure and took the new list');
  await refresher.stop();
  t.notOk(refresher.active);
  const n = passes;
  await new Promise((r) => setTimeout(r, 500));
  t.equal(passes, n, 'no pass after stop()');
});

// ---------------------------------------------------------------- in the app

const idpDir = path.join(root, 'idp-metadata');
fs.mkdirSync(idpDir);
const X = 'https://validator.example.it';
fs.writeFileSync(path.join(idpDir, 'validator.xml'), buildTestIdpMetadata({ entityId: X, baseUrl: X, keys: f.evil }));
// A local file claiming A with another key: the signed registry wins.
fs.writeFileSync(path.join(idpDir, 'fake-a.xml'), buildTestIdpMetadata({ entityId: A, baseUrl: A, keys: f.evil }));

function appEnv(dataDir: string): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: '100000',
    SPID_REGISTRY_URL: REGISTRY_URL,
    SPID_REGISTRY_CERT_FILE: agidCertFile,
    SPID_REGISTRY_TIMEOUT_SECONDS: '1',
    SPID_IDP_METADATA_DIR: idpDir,
  };
}
/** Warnings the apps log (SAML rejections carry a `code`). */
const appWarnings: { msg?: string; code?: string }[] = [];
async function start(env: Record<string, string>, opts: { backgroundWorkers?: boolean } = {}): Promise<FastifyInstance> {
  const logger = { level: 'warn', stream: { write: (line: string) => void appWarnings.push(JSON.parse(line) as { msg?: string; code?: string }) } };
  const app = await buildApp(loadConfig(env), { logger, backgroundWorkers: opts.backgroundWorkers ?? false, demoPositions: false });
  t.teardown(() => app.close());
  return app;
}
const lastRejection = () => appWarnings.filter((w) => w.msg === 'SAML response rejected').at(-1)?.code;

/** GET /spid/login at an IdP: its AuthnRequest (XML), RelayState and the browser's cookies. */
async function login(app: FastifyInstance, idp: string) {
  const res = await app.inject({ method: 'GET', url: `/spid/login?${new URLSearchParams({ idp, next: '/area-personale' })}`, headers: { accept: 'text/html' } });
  if (res.statusCode !== 200) throw new Error(`login: HTTP ${res.statusCode}`);
  const page = postForm(res.body);
  return { action: page.action, jar: absorbCookies(new Map(), res), relayState: page.fields.RelayState!, request: Buffer.from(page.fields.SAMLRequest!, 'base64').toString('utf8') };
}
/** The IdP answers with a Response signed by `keys`; POST /spid/acs. */
async function answer(app: FastifyInstance, l: Awaited<ReturnType<typeof login>>, idp: string, keys: SigningKeyPair) {
  const sp = app.spid!.runtime;
  const built = buildResponse({ entityId: idp, baseUrl: idp, keys }, { request: l.request, acsUrl: sp.acsUrl, spEntityId: sp.entityIds.spid, user: CITIZEN, now: new Date() });
  const res = await app.inject({ method: 'POST', url: '/spid/acs', headers: { ...FORM_HEADERS, cookie: cookieHeader(l.jar) }, payload: form({ SAMLResponse: built.base64, RelayState: l.relayState }) });
  return { status: res.statusCode, session: res.cookies.some((c) => c.name === SESSION_COOKIE && c.value !== '') };
}

const appData = path.join(root, 'app-data');

t.test('app: registry IdPs plus the extra folder; a refresh swaps the list; the ACS checks the rotated certificate', async (t) => {
  serve({ status: 200, body: v1 });
  const app = await start(appEnv(appData));
  const sp = app.spid!.runtime;
  const listed = () => sp.registries.spid.list().map((e) => e.entityId).sort();
  t.same(listed(), [A, B, `${app.config.publicUrl}/simulators/spid-idp`, X].sort());
  t.same(sp.registries.spid.get(A)!.certificates.map(strip), [strip(k1.certPem)], 'the registry wins over a local file for the same entityID');
  t.ok(appWarnings.some((w) => w.msg === 'local IdP metadata ignored: the entityID is in the signed remote metadata'), 'and says so');
  const page = await app.inject({ method: 'GET', url: '/accesso', headers: { accept: 'text/html' } });
  t.match(page.body, 'IdP A');
  t.match(page.body, 'https%3A%2F%2Fvalidator.example.it');
  t.equal(fs.readFileSync(path.join(appData, 'saml-metadata', 'spid-registry.xml'), 'utf8'), v1, 'last good copy under DATA_DIR/saml-metadata');

  // Logins started before the refresh: at A (whose key rotates) and at B (which leaves the registry).
  const atA = await login(app, A);
  t.equal(atA.action, `${A}/sso`);
  const atB = await login(app, B);
  const snapshot = sp.registries;
  serve({ status: 200, body: v2 });
  const [outcome] = await sp.refreshIdps();
  t.match(outcome, { federation: 'spid', ok: true, changed: true });
  t.same(listed(), [A, C, `${app.config.publicUrl}/simulators/spid-idp`, X].sort(), 'new list in place');
  t.not(sp.registries, snapshot, 'replaced, not edited');
  t.same(snapshot.spid.get(A)!.certificates.map(strip), [strip(k1.certPem)], 'a request holding the old snapshot keeps its list');
  t.ok(snapshot.spid.get(B), 'B still in the old snapshot');

  t.same(await answer(app, atA, A, k1), { status: 403, session: false }, 'signed with the retired key: refused');
  t.equal(lastRejection(), 'RESPONSE_SIGNATURE_INVALID');
  const again = await login(app, A);
  t.same(await answer(app, again, A, k2), { status: 303, session: true }, 'signed with the new key: accepted');
  t.same(await answer(app, atB, B, f.evil), { status: 403, session: false }, 'an IdP that left the registry is no longer trusted');
  t.equal(lastRejection(), 'IDP_NOT_TRUSTED');
  t.equal((await app.inject({ method: 'GET', url: `/spid/login?idp=${encodeURIComponent(B)}`, headers: { accept: 'text/html' } })).statusCode, 400);

  // A bad copy later: the app keeps serving the last good list.
  serve({ status: 200, body: tampered });
  const [refused] = await sp.refreshIdps();
  t.match(refused, { ok: false, changed: false });
  t.same(listed(), [A, C, `${app.config.publicUrl}/simulators/spid-idp`, X].sort());
});

t.test('app restart with the registry down: the IdPs come from the copy on disk', async (t) => {
  serve({ status: 500, body: 'down' });
  const app = await start(appEnv(appData));
  const sp = app.spid!.runtime;
  t.ok(sp.registries.spid.get(C), 'C from the copy on disk');
  t.same(sp.registries.spid.get(A)!.certificates.map(strip), [strip(k2.certPem)]);
  t.match(sp.idpSources[0]!.status, { from: 'disk' });
  const l = await login(app, A);
  t.same(await answer(app, l, A, k2), { status: 303, session: true }, 'logins work');
});

t.test('app with background workers: the refresh timer starts when ready and stops on close', async (t) => {
  serve({ status: 200, body: v2 });
  const app = await buildApp(loadConfig(appEnv(path.join(root, 'app-bg'))), { logger: false, backgroundWorkers: true, demoPositions: false });
  const refresher = app.spid!.idpRefresher!;
  t.ok(refresher, 'created');
  t.notOk(refresher.active, 'not before ready');
  await app.ready();
  t.ok(refresher.active, 'running');
  await app.close();
  t.notOk(refresher.active, 'stopped on close');
  const quiet = await start({ ...appEnv(path.join(root, 'app-fg')) });
  t.equal(quiet.spid!.idpRefresher, null, 'no timer without background workers');
});

t.test('CIE: its own signed metadata URL, refreshed like the registry', async (t) => {
  const cie = 'https://idserver.cie.example.it/idp/shibboleth';
  const cieKeys = await generateTestIdpKeys(cie);
  const cieCertFile = path.join(root, 'cie-signer.pem');
  fs.writeFileSync(cieCertFile, cieKeys.certPem);
  serve({ status: 200, body: buildTestIdpMetadata({ entityId: cie, baseUrl: cie, keys: cieKeys }) }, '/cie.xml');
  serve({ status: 200, body: v2 });
  const app = await start({ ...appEnv(path.join(root, 'app-cie')), CIE_IDP_METADATA_URL: `${base}/cie.xml`, CIE_IDP_METADATA_CERT_FILE: cieCertFile });
  const sp = app.spid!.runtime;
  t.ok(sp.registries.cie.get(cie), 'the CIE IdP is trusted for CIE');
  t.notOk(sp.registries.spid.get(cie), 'and not for SPID');
  t.notOk(sp.registries.cie.get(A), 'SPID registry IdPs are not CIE IdPs');
  const res = await app.inject({ method: 'GET', url: '/cie/login', headers: { accept: 'text/html' } });
  t.equal(postForm(res.body).action, `${cie}/sso`, '"Entra con CIE" goes to the CIE IdP');
  // Signed by someone else: refused, the CIE list is kept and the SPID list is not touched.
  serve({ status: 200, body: buildTestIdpMetadata({ entityId: cie, baseUrl: 'https://evil.example.org', keys: f.evil }) }, '/cie.xml');
  const spidBefore = sp.registries.spid;
  const outcomes = await sp.refreshIdps();
  t.match(outcomes.find((o) => o.federation === 'cie'), { ok: false, reason: /signature/ });
  t.equal(sp.registries.cie.get(cie)!.sso.post, `${cie}/sso`);
  t.equal(sp.registries.spid, spidBefore);
});

t.test('settings: production default, off, and a URL without its certificate', async (t) => {
  t.equal(loadConfig({}).spid.registryUrl, undefined, 'demo: no registry unless configured');
  const prod = {
    APP_MODE: 'production',
    PUBLIC_URL: 'https://pagamenti.provincia.campobasso.example',
    SESSION_SECRET: 'p'.repeat(48),
    SPID_IPA_CODE: 'p_cb',
    SPID_CONTACT_EMAIL: 'sael@provincia.campobasso.example',
    PAGOPA_BROKER_ID: '90700000004',
    PAGOPA_STATION_ID: '90700000004_01',
    PAGOPA_STATION_PASSWORD: 'Password2026',
    PAGOPA_NODE_URL: 'https://api.uat.platform.pagopa.it/nodo-auth/node-for-pa/v1',
    PAGOPA_CHECKOUT_URL: 'https://api.platform.pagopa.it/checkout/ec/v2',
    PAGOPA_ACA_URL: 'https://api.platform.pagopa.it/aca',
    PAGOPA_SUBSCRIPTION_KEY: 'subscription-key',
  };
  const c = loadConfig(prod);
  t.equal(c.spid.registryUrl, AGID_SPID_REGISTRY_URL, 'production: the AgID registry by default');
  t.equal(c.spid.metadataRefreshMs, 24 * 3_600_000, 'refreshed daily');
  t.equal(c.spid.metadataCacheDir, path.join(c.dataDir, 'saml-metadata'));
  t.equal(loadConfig({ ...prod, SPID_REGISTRY_URL: 'off' }).spid.registryUrl, undefined);
  t.throws(() => loadConfig({ SPID_REGISTRY_URL: REGISTRY_URL }), /SPID_REGISTRY_CERT_FILE manca/);
  t.throws(() => loadConfig({ CIE_IDP_METADATA_URL: `${base}/cie.xml` }), /CIE_IDP_METADATA_CERT_FILE manca/);
  t.throws(() => loadConfig({ SPID_REGISTRY_REFRESH_HOURS: '0' }), /SPID_REGISTRY_REFRESH_HOURS non valida/);
  // Production against the local registry: it starts with the registry IdPs and no folder at all.
  serve({ status: 200, body: v2 });
  const app = await start({ ...prod, DATA_DIR: path.join(root, 'prod'), LOG_LEVEL: 'silent', SPID_REGISTRY_URL: REGISTRY_URL, SPID_REGISTRY_CERT_FILE: agidCertFile });
  t.same(app.spid!.runtime.registries.spid.list().map((e) => e.entityId).sort(), [A, C]);
});
