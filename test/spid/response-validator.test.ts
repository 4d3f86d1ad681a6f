/**
 * One test per conformance case of spid.md §11.2 / §11.3 (+ replay, expired, other SP, comments
 * in NameID/attributes), at the validator level with a fixed clock: the table is in
 * conformance-cases.ts (shared with the route-level acs-conformance.test.ts). Each bad Response
 * is forged from a good one by the built-in test IdP and really signed (RSA-SHA256) with the test
 * IdP key (or a key not in its metadata where the case says so).
 */
import t from 'tap';
import { buildResponse } from '../../src/simulators/spid-idp/idp.js';
import {
  MemoryReplayGuard,
  peekSamlResponse,
  validateSpidResponse,
  type ExpectedRequest,
} from '../../src/modules/spid/response-validator.js';
import { ACS_URL, CITIZEN, IDP_ENTITY_ID, NOW, SP_ENTITY_ID, fixtures, makeRequest } from './helpers.js';
import { responseConformanceCases, type Case } from './conformance-cases.js';

const f = await fixtures();
const cases = responseConformanceCases({ idp: f.idp.keys, evil: f.evil });

function expectedFor(requested: 1 | 2 | 3, requestId: string): ExpectedRequest {
  return { requestId, issueInstant: '2026-11-26T10:00:00.000Z', idpEntityId: IDP_ENTITY_ID, level: requested, comparison: 'minimum', acsUrl: ACS_URL, spEntityId: SP_ENTITY_ID };
}

async function run(c: Case) {
  const requested = c.requested ?? 2;
  const request = makeRequest(requested);
  const built = buildResponse(f.idp, {
    request,
    acsUrl: ACS_URL,
    spEntityId: SP_ENTITY_ID,
    user: CITIZEN,
    now: NOW,
    level: c.level ?? requested,
    ...c.params,
    variant: c.variant,
  });
  return validateSpidResponse(
    { samlResponse: built.base64, expected: expectedFor(requested, request.id), idp: { entityId: IDP_ENTITY_ID, certificates: [f.idp.keys.certPem] }, replay: new MemoryReplayGuard() },
    { now: NOW },
  );
}

const coverage: string[] = [];
for (const c of cases) {
  t.test(`case ${c.id}: ${c.name} → ${c.expect}`, async (t) => {
    const r = await run(c);
    if (c.expect === 'accept') {
      t.equal(r.ok, true, r.ok ? 'accepted' : `rejected: ${r.code} ${r.reason}`);
    } else {
      t.equal(r.ok, false, 'rejected');
      if (!r.ok) {
        t.equal(r.code, c.expect, r.reason);
        t.ok(r.httpStatus >= 400 && r.httpStatus < 500, '4xx');
        t.ok(r.userMessage.length > 0, 'Italian message for the citizen');
        if (c.reason) t.match(r.reason, c.reason, 'rejected for the expected element/attribute');
      }
    }
    c.check?.(t, r);
    coverage.push(`${c.id}\t${c.expect}\t${r.ok ? 'accept' : r.code}`);
  });
}

t.test('replayed Response: the second use of the same Assertion ID is refused', async (t) => {
  const request = makeRequest(2);
  const built = buildResponse(f.idp, { request, acsUrl: ACS_URL, spEntityId: SP_ENTITY_ID, user: CITIZEN, now: NOW });
  const replay = new MemoryReplayGuard();
  const input = { samlResponse: built.base64, expected: expectedFor(2, request.id), idp: { entityId: IDP_ENTITY_ID, certificates: [f.idp.keys.certPem] }, replay };
  t.equal((await validateSpidResponse(input, { now: NOW })).ok, true);
  const second = await validateSpidResponse(input, { now: NOW });
  t.equal(!second.ok && second.code, 'ASSERTION_REPLAYED');
  // an async (DB-like) guard works too
  const asyncGuard = { seen: new Set<string>(), async checkAndRecord(id: string) { if (this.seen.has(id)) return false; this.seen.add(id); return true; } };
  t.equal((await validateSpidResponse({ ...input, replay: asyncGuard }, { now: NOW })).ok, true);
  t.equal((await validateSpidResponse({ ...input, replay: asyncGuard }, { now: NOW })).ok, false);
});

t.test('MemoryReplayGuard purges on the injected clock, whatever the wall clock says', async (t) => {
  for (const year of [2001, 2099]) {
    const at = new Date(`${year}-03-01T12:00:00Z`);
    const guard = new MemoryReplayGuard();
    const expires = new Date(at.getTime() + 5 * 60_000);
    t.equal(await guard.checkAndRecord('_a', expires, at), true, `${year}: first use recorded`);
    t.equal(await guard.checkAndRecord('_a', expires, new Date(at.getTime() + 3_600_000)), false, `${year}: second use within the day refused`);
    t.equal(await guard.checkAndRecord('_a', expires, new Date(at.getTime() + 2 * 86_400_000)), true, `${year}: forgotten a day after its expiry`);
  }
});

t.test('expired request: the Response arrives after its validity window', async (t) => {
  const request = makeRequest(2);
  const built = buildResponse(f.idp, { request, acsUrl: ACS_URL, spEntityId: SP_ENTITY_ID, user: CITIZEN, now: NOW });
  const later = new Date(NOW.getTime() + 10 * 60_000);
  const r = await validateSpidResponse(
    { samlResponse: built.base64, expected: expectedFor(2, request.id), idp: { entityId: IDP_ENTITY_ID, certificates: [f.idp.keys.certPem] }, replay: new MemoryReplayGuard() },
    { now: later },
  );
  t.equal(!r.ok && r.code, 'SCD_EXPIRED');
  t.match(!r.ok && r.userMessage, /scaduta/);
});

t.test('clock skew: a Response issued 30 s "in the future" passes with the default skew, fails with 0', async (t) => {
  const request = makeRequest(2);
  const built = buildResponse(f.idp, { request, acsUrl: ACS_URL, spEntityId: SP_ENTITY_ID, user: CITIZEN, now: new Date(NOW.getTime() + 30_000) });
  const input = () => ({ samlResponse: built.base64, expected: expectedFor(2, request.id), idp: { entityId: IDP_ENTITY_ID, certificates: [f.idp.keys.certPem] }, replay: new MemoryReplayGuard() });
  t.equal((await validateSpidResponse(input(), { now: NOW })).ok, true);
  const strict = await validateSpidResponse(input(), { now: NOW, clockSkewMs: 0 });
  t.equal(!strict.ok && strict.code, 'RESPONSE_ISSUE_INSTANT_FUTURE');
});

t.test('a Response from another IdP (valid signature of that IdP) is refused', async (t) => {
  const request = makeRequest(2);
  const other = { entityId: 'https://other-idp.example.org', baseUrl: 'https://other-idp.example.org', keys: f.evil };
  const built = buildResponse(other, { request, acsUrl: ACS_URL, spEntityId: SP_ENTITY_ID, user: CITIZEN, now: NOW });
  const r = await validateSpidResponse(
    { samlResponse: built.base64, expected: expectedFor(2, request.id), idp: { entityId: IDP_ENTITY_ID, certificates: [f.idp.keys.certPem] }, replay: new MemoryReplayGuard() },
    { now: NOW },
  );
  t.equal(!r.ok && r.code, 'RESPONSE_ISSUER_MISMATCH');
});

t.test('key rollover: any of the IdP metadata certificates verifies; base64 DER accepted', async (t) => {
  const request = makeRequest(2);
  const built = buildResponse(f.idp, { request, acsUrl: ACS_URL, spEntityId: SP_ENTITY_ID, user: CITIZEN, now: NOW });
  const der = f.idp.keys.certPem.replace(/-----[A-Z ]+-----|\s/g, '');
  const r = await validateSpidResponse(
    { samlResponse: built.base64, expected: expectedFor(2, request.id), idp: { entityId: IDP_ENTITY_ID, certificates: [f.evil.certPem, der] }, replay: new MemoryReplayGuard() },
    { now: NOW },
  );
  t.equal(r.ok, true);
});

t.test('garbage input', async (t) => {
  const base = { expected: expectedFor(2, '_x'), idp: { entityId: IDP_ENTITY_ID, certificates: [f.idp.keys.certPem] }, replay: new MemoryReplayGuard() };
  const code = async (samlResponse: string) => { const r = await validateSpidResponse({ ...base, samlResponse }, { now: NOW }); return !r.ok && r.code; };
  t.equal(await code('not base64!!'), 'RESPONSE_ENCODING');
  t.equal(await code(Buffer.from('<a><b></a>').toString('base64')), 'XML_MALFORMED');
  t.equal(await code(Buffer.from('<a xmlns="urn:x"/>').toString('base64')), 'NOT_A_RESPONSE');
  t.equal(await code(Buffer.from('<a>' + 'x'.repeat(1100 * 1024) + '</a>').toString('base64')), 'XML_TOO_LARGE');
});

t.test('peekSamlResponse returns the unverified InResponseTo and Issuer', async (t) => {
  const request = makeRequest(2);
  const built = buildResponse(f.idp, { request, acsUrl: ACS_URL, spEntityId: SP_ENTITY_ID, user: CITIZEN, now: NOW });
  t.same(peekSamlResponse(built.base64), { inResponseTo: request.id, issuer: IDP_ENTITY_ID });
  t.equal(peekSamlResponse('%%%'), null);
});

t.teardown(() => {
  if (process.env.SPID_COVERAGE_OUT) {
    // eslint-disable-next-line no-console
    console.error(['case\texpected\tgot', ...coverage].join('\n'));
  }
});
