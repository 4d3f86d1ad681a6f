/**
 * Built-in TSA simulator: the Fastify plugin over real HTTP (client → POST /simulators/tsa →
 * verified token), bad requests, keys generated at first use and renewed when expired at the
 * clock, and interoperability with OpenSSL (`openssl ts -query` accepted, `openssl ts -verify`
 * accepts our response for the data with our CA).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import t from 'tap';
import { TimestampError, buildTimestampRequest, requestTimestamp, verifyTimestampResponse } from '../../src/modules/conservazione/timestamp.js';
import { loadX509 } from '../../src/modules/spid/certificate.js';
import { ensureTsaKeys } from '../../src/simulators/tsa/keys.js';
import { TSA_PATH, tsaSimulatorRoutes } from '../../src/simulators/tsa/routes.js';
import { TSA_POLICY, createTsa } from '../../src/simulators/tsa/tsa.js';
import { tsaFixture } from './tsa-fixtures.js';

const run = promisify(execFile);
const clock = () => new Date();

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tsa-test-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('over HTTP: the client time-stamps a digest at POST /simulators/tsa and verifies the answer', async (t) => {
  const keysDir = path.join(await tempDir(t), 'tsa-simulator');
  const app = Fastify();
  await app.register(tsaSimulatorRoutes, { keysDir, clock });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());

  // keys are made at the first request, into keysDir, the key readable by its owner only
  await t.rejects(fs.access(keysDir));
  const caPem = await (await fetch(`${base}${TSA_PATH}/ca.pem`)).text();
  t.match(caPem, /BEGIN CERTIFICATE/);
  t.same((await fs.readdir(keysDir)).sort(), ['ca.crt.pem', 'tsa.crt.pem', 'tsa.key.pem']);
  t.equal((await fs.stat(path.join(keysDir, 'tsa.key.pem'))).mode & 0o777, 0o600);
  const tsaPem = await (await fetch(`${base}${TSA_PATH}/tsa.pem`)).text();

  const digest = createHash('sha256').update('indice').digest();
  const before = Date.now();
  const v = await requestTimestamp(`${base}${TSA_PATH}`, digest, { tsaCertificate: tsaPem });
  t.equal(v.policy, TSA_POLICY);
  t.ok(v.genTime.getTime() >= Math.floor(before / 1000) * 1000 && v.genTime.getTime() <= Date.now());
  t.ok(v.nonce);

  // a wrong TSA certificate: the client reports the signature, not a success
  const other = await tsaFixture();
  const e = await requestTimestamp(`${base}${TSA_PATH}`, digest, { tsaCertificate: other.keys.certPem }).catch((x: unknown) => x);
  t.equal((e as TimestampError).code, 'signature_invalid');
});

t.test('over HTTP: bad requests', async (t) => {
  const keysDir = await tempDir(t);
  const app = Fastify();
  await app.register(tsaSimulatorRoutes, { keysDir, clock });
  t.teardown(() => app.close());

  const garbage = await app.inject({ method: 'POST', url: TSA_PATH, headers: { 'content-type': 'application/timestamp-query' }, payload: Buffer.from('xyz') });
  t.equal(garbage.statusCode, 200, 'RFC 3161 answers a malformed query with a rejection, not an HTTP error');
  t.equal(garbage.headers['content-type'], 'application/timestamp-reply');
  const { keys } = { keys: await ensureTsaKeys(keysDir, clock) };
  const err = await verifyTimestampResponse(garbage.rawPayload, { digest: Buffer.alloc(32), tsaCertificate: keys.certPem }).catch((x: unknown) => x);
  t.equal((err as TimestampError).code, 'rejected');
  t.same((err as TimestampError).details.failInfo, ['badDataFormat']);

  const octets = await app.inject({ method: 'POST', url: TSA_PATH, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from('xyz') });
  t.equal(octets.statusCode, 415, 'another media type: 415');
  const json = await app.inject({ method: 'POST', url: TSA_PATH, headers: { 'content-type': 'application/json' }, payload: '{}' });
  t.equal(json.statusCode, 400, 'JSON (parsed by Fastify) stopped by the header schema');
  const big = await app.inject({ method: 'POST', url: TSA_PATH, headers: { 'content-type': 'application/timestamp-query' }, payload: Buffer.alloc(64 * 1024) });
  t.equal(big.statusCode, 413);

  // the client reports an HTTP failure as such
  const e = await requestTimestamp('http://127.0.0.1:9/none', Buffer.alloc(32), { tsaCertificate: keys.certPem, timeoutMs: 2000 }).catch((x: unknown) => x);
  t.equal((e as TimestampError).code, 'http');
});

t.test('keys: generated once, reused, renewed when the TSA certificate has expired at the clock', async (t) => {
  const dir = await tempDir(t);
  const now = new Date();
  const first = await ensureTsaKeys(dir, () => now);
  const again = await ensureTsaKeys(dir, () => now);
  t.equal(again.certPem, first.certPem);
  const x509 = await loadX509();
  const cert = new x509.X509Certificate(first.certPem);
  t.ok(cert.notBefore <= now && cert.notAfter > new Date(now.getTime() + 365 * 86_400_000), 'valid from before the clock for years');
  const later = new Date(cert.notAfter.getTime() + 86_400_000);
  const renewed = await ensureTsaKeys(dir, () => later);
  t.not(renewed.certPem, first.certPem);
  t.ok(new x509.X509Certificate(renewed.certPem).notAfter > later);
  // and the simulator with the renewed keys stamps at the later time
  const tsa = createTsa({ key: renewed.keyPem, certificate: renewed.certPem, clock: () => later });
  const digest = createHash('sha256').update('x').digest();
  const req = buildTimestampRequest(digest);
  const v = await verifyTimestampResponse(await tsa.respond(req.der), { digest, nonce: req.nonce, tsaCertificate: renewed.certPem });
  t.equal(v.genTime.getTime(), Math.floor(later.getTime() / 1000) * 1000);
});

t.test('OpenSSL: our response verifies with `openssl ts -verify`; its `openssl ts -query` is accepted', async (t) => {
  const dir = await tempDir(t);
  const { keys } = await tsaFixture();
  const tsa = createTsa({ key: keys.keyPem, certificate: keys.certPem, clock });
  const f = (name: string) => path.join(dir, name);
  await fs.writeFile(f('data.xml'), '<PIndex>indice di prova</PIndex>\n');
  await fs.writeFile(f('ca.pem'), keys.caCertPem);

  // openssl's query (SHA-256, nonce, certReq) → our simulator
  await run('openssl', ['ts', '-query', '-data', f('data.xml'), '-sha256', '-cert', '-out', f('q.tsq')]);
  const resp = await tsa.respond(await fs.readFile(f('q.tsq')));
  await fs.writeFile(f('r.tsr'), resp);
  const digest = createHash('sha256').update(await fs.readFile(f('data.xml'))).digest();
  const v = await verifyTimestampResponse(resp, { digest, tsaCertificate: keys.certPem });
  t.ok(v.nonce, 'openssl sent a nonce and we echoed it');

  // openssl verifies our response: against the data, and against its own query (nonce, imprint)
  const byData = await run('openssl', ['ts', '-verify', '-data', f('data.xml'), '-in', f('r.tsr'), '-CAfile', f('ca.pem')]);
  t.match(byData.stdout, /Verification: OK/);
  const byQuery = await run('openssl', ['ts', '-verify', '-queryfile', f('q.tsq'), '-in', f('r.tsr'), '-CAfile', f('ca.pem')]);
  t.match(byQuery.stdout, /Verification: OK/);
  const text = await run('openssl', ['ts', '-reply', '-in', f('r.tsr'), '-text']);
  t.match(text.stdout, /Status: Granted/);
  t.match(text.stdout, new RegExp(`Policy OID: ${TSA_POLICY.replace(/\./g, '\\.')}`));

  // …and rejects it for other data, and with another CA
  await fs.writeFile(f('other.xml'), '<PIndex>altro</PIndex>\n');
  await t.rejects(run('openssl', ['ts', '-verify', '-data', f('other.xml'), '-in', f('r.tsr'), '-CAfile', f('ca.pem')]));
  const stranger = await ensureTsaKeys(path.join(dir, 'other-tsa'), clock);
  await fs.writeFile(f('other-ca.pem'), stranger.caCertPem);
  await t.rejects(run('openssl', ['ts', '-verify', '-data', f('data.xml'), '-in', f('r.tsr'), '-CAfile', f('other-ca.pem')]));
});
