/**
 * Route-level conformance: every response case of spid.md §11.2 / §11.3 (the table shared with the
 * validator-level test, conformance-cases.ts) through real HTTP on one app:
 *
 *   GET /spid/login?idp=<test IdP>&level=N  → a real signed AuthnRequest, its RelayState and the
 *                                            browser-binding cookie
 *   forge the Response with the test IdP's `buildResponse` (its own key, or one not in its
 *   metadata where the case says so), answering that AuthnRequest
 *   POST /spid/acs                          → the verdict
 *
 * Accept: 303 to the target with a new session cookie, which opens the personal area (200).
 * Reject: the 4xx status of that rejection (400 malformed / XSD, 403 otherwise), no session cookie,
 * the personal area still redirects to the login page, and the logged rejection code is the
 * expected one (so a reject cannot pass for an unrelated reason such as a binding problem).
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { SESSION_COOKIE } from '../../src/plugins/sessions/index.js';
import { buildResponse, generateTestIdpKeys, type TestIdpConfig } from '../../src/simulators/spid-idp/idp.js';
import { FORM_HEADERS, absorbCookies, cookieHeader, form, postForm, tempDir } from '../helpers.js';
import { responseConformanceCases, type Case } from './conformance-cases.js';
import { CITIZEN } from './helpers.js';

interface LogLine {
  msg?: string;
  code?: string;
  reason?: string;
}
const logs: LogLine[] = [];
const dir = tempDir(t);
const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000' });
const app = await buildApp(config, {
  logger: { level: 'warn', stream: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } },
  backgroundWorkers: false,
});
t.teardown(() => app.close());

const sp = app.spid!.runtime;
const idpEntityId = `${config.publicUrl}/simulators/spid-idp`;
const keyDir = path.join(config.dataDir, 'spid-test-idp');
const idp: TestIdpConfig = {
  entityId: idpEntityId,
  baseUrl: idpEntityId,
  keys: { keyPem: fs.readFileSync(path.join(keyDir, 'key.pem'), 'utf8'), certPem: fs.readFileSync(path.join(keyDir, 'crt.pem'), 'utf8') },
};
const evil = await generateTestIdpKeys(idpEntityId);
const cases = responseConformanceCases({ idp: idp.keys, evil, idpEntityId });

const MALFORMED = /^(XML_|XSD_INVALID$|RESPONSE_ENCODING$|NOT_A_RESPONSE$)/;

/** A browser starting a SPID login at the test IdP: the AuthnRequest it carries and its cookies. */
async function startLogin(level: 1 | 2 | 3) {
  const res = await app.inject({
    method: 'GET',
    url: `/spid/login?${new URLSearchParams({ idp: idpEntityId, level: String(level), next: '/area-personale' })}`,
    headers: { accept: 'text/html' },
  });
  if (res.statusCode !== 200) throw new Error(`login start: HTTP ${res.statusCode}`);
  const f = postForm(res.body);
  return {
    jar: absorbCookies(new Map(), res),
    relayState: f.fields.RelayState!,
    requestXml: Buffer.from(f.fields.SAMLRequest!, 'base64').toString('utf8'),
  };
}

async function personalArea(jar: Map<string, string>) {
  return app.inject({ method: 'GET', url: '/area-personale', headers: { accept: 'text/html', cookie: cookieHeader(jar) } });
}

async function runCase(t: Test, c: Case) {
  const requested = c.requested ?? 2;
  const login = await startLogin(requested);
  const built = buildResponse(idp, {
    request: login.requestXml,
    acsUrl: sp.acsUrl,
    spEntityId: sp.entityIds.spid,
    user: CITIZEN,
    now: new Date(),
    level: c.level ?? requested,
    ...c.params,
    variant: c.variant,
  });
  const mark = logs.length;
  const res = await app.inject({
    method: 'POST',
    url: '/spid/acs',
    headers: { ...FORM_HEADERS, cookie: cookieHeader(login.jar) },
    payload: form({ SAMLResponse: built.base64, RelayState: login.relayState }),
  });
  const sessionSet = res.cookies.some((k) => k.name === SESSION_COOKIE && k.value !== '');
  absorbCookies(login.jar, res);
  const rejections = logs.slice(mark).filter((l) => l.msg === 'SAML response rejected');
  if (c.expect === 'accept') {
    t.equal(res.statusCode, 303, `accepted: 303 (${rejections.map((r) => `${r.code} ${r.reason}`).join('; ') || 'no rejection logged'})`);
    t.equal(res.headers.location, '/area-personale', 'redirect to the target');
    t.ok(sessionSet, 'a session cookie is set');
    t.equal((await personalArea(login.jar)).statusCode, 200, 'the session opens the personal area');
  } else {
    const status = MALFORMED.test(c.expect) ? 400 : 403;
    t.equal(res.statusCode, status, `rejected with HTTP ${status}`);
    t.match(res.headers['content-type'], /^text\/html/, 'an Italian error page');
    t.notOk(sessionSet, 'no session cookie');
    t.equal(rejections.length, 1, 'one rejection logged');
    t.equal(rejections[0]?.code, c.expect, `rejection code (${rejections[0]?.reason ?? ''})`);
    if (c.reason) t.match(rejections[0]?.reason, c.reason, 'rejected for the expected element/attribute');
    const area = await personalArea(login.jar);
    t.equal(area.statusCode, 303, 'the personal area still asks to log in');
    t.match(area.headers.location, /^\/accesso/);
  }
}
type Test = Pick<typeof t, 'ok' | 'notOk' | 'equal' | 'match'>;

for (const c of cases) {
  t.test(`case ${c.id}: ${c.name} → ${c.expect === 'accept' ? 'accept (303 + session)' : `reject (${c.expect})`}`, (t) => runCase(t, c));
}

t.test('the table covers every response case of spid.md §11.2 and §11.3', async (t) => {
  const ids = new Set(cases.map((c) => c.id));
  const spec = [
    ...[1, 2, 3, 4, ...Array.from({ length: 42 }, (_, i) => i + 8), ...Array.from({ length: 50 }, (_, i) => i + 51)].map(String),
    '103', '104', '105', '106', '107', '108', '109', '110', '111', '112', '113', '1-NS',
    'sp-test 5', 'xsw1', 'xsw2', 'xsw3', 'xsw4', 'xsw5', 'xsw6', 'xsw7', 'xsw8', 'xslt', 'xxe',
  ];
  t.same(spec.filter((id) => !ids.has(id)), [], 'no case of the spec left out');
});
