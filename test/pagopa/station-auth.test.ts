/**
 * Only the pagoPA node may call the station: behind a TLS-terminating proxy (shared secret header,
 * proxy addresses) or on sael-pay's own HTTPS listener with client certificates (real TLS here:
 * certificates generated for the test, a listening server, clients with and without them).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import Fastify from 'fastify';
import t from 'tap';
import 'reflect-metadata';
import type * as X509 from '@peculiar/x509';
import { metricsGuard } from '../../src/modules/pagopa/station-auth.js';
import { buildTestApp, tempDir } from '../helpers.js';

// @peculiar/x509 needs the reflect-metadata polyfill loaded before it (hence the dynamic import).
const x509: typeof X509 = await import('@peculiar/x509');
x509.cryptoProvider.set(crypto.webcrypto as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const SOAP = '<x/>';
const STATION = '/pagopa/paForNode';

interface Issued {
  cert: X509.X509Certificate;
  keys: CryptoKeyPair;
  certPem: string;
  keyPem: string;
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  const der = Buffer.from(await crypto.webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
}

const validity = () => ({ notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + 86_400_000) });

async function makeCa(name: string): Promise<Issued> {
  const keys = (await crypto.webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto.randomBytes(8).toString('hex'),
    name: `CN=${name}`,
    ...validity(),
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return { cert, keys, certPem: cert.toString('pem'), keyPem: await keyPem(keys) };
}

async function issue(ca: Issued, cn: string, usage: 'server' | 'client'): Promise<Issued> {
  const keys = (await crypto.webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: crypto.randomBytes(8).toString('hex'),
    subject: `CN=${cn}`,
    issuer: ca.cert.subject,
    ...validity(),
    signingKey: ca.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      ...(usage === 'server' ? [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }])] : []),
    ],
  });
  return { cert, keys, certPem: cert.toString('pem'), keyPem: await keyPem(keys) };
}

function fingerprint(pem: string): string {
  return new crypto.X509Certificate(pem).fingerprint256;
}

/** POSTs to the station over HTTPS; resolves with the status, or with the TLS error's code. */
function call(port: number, ca: string, client?: Issued, urlPath = STATION): Promise<{ status?: number; error?: string; body?: string }> {
  return new Promise((resolve) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: urlPath, method: 'POST', ca, servername: 'localhost', headers: { 'content-type': 'text/xml', soapaction: '"paVerifyPaymentNotice"' }, ...(client ? { key: client.keyPem, cert: client.certPem } : {}), agent: false },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(SOAP);
  });
}

t.test('behind a proxy: shared secret header and proxy addresses', async (t) => {
  const secret = 's'.repeat(40);
  const app = await buildTestApp(t, { PAGOPA_STATION_PROXY_SECRET: secret });
  const post = (headers: Record<string, string> = {}, remoteAddress?: string) =>
    app.inject({ method: 'POST', url: STATION, headers: { 'content-type': 'text/xml', ...headers }, payload: SOAP, ...(remoteAddress ? { remoteAddress } : {}) });
  const none = await post();
  t.equal(none.statusCode, 403, 'no secret: refused');
  t.notMatch(none.body, /Envelope/, 'no SOAP answer to a stranger');
  t.equal((await post({ 'x-sael-station-secret': 'x'.repeat(40) })).statusCode, 403, 'wrong secret');
  const ok = await post({ 'x-sael-station-secret': secret });
  t.not(ok.statusCode, 403, 'the proxy’s secret: answered');
  t.match(ok.body, /soapenv:Envelope/);
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'other routes untouched');

  const byAddress = await buildTestApp(t, { PAGOPA_STATION_PROXY_ADDRESSES: '10.0.0.5, 192.168.1.0/24, fd00::/8' });
  const from = async (remoteAddress: string) => (await byAddress.inject({ method: 'POST', url: STATION, headers: { 'content-type': 'text/xml', 'x-forwarded-for': '10.0.0.5' }, payload: SOAP, remoteAddress })).statusCode;
  t.not(await from('10.0.0.5'), 403, 'the proxy');
  t.not(await from('192.168.1.77'), 403, 'its range');
  t.not(await from('::ffff:10.0.0.5'), 403, 'the proxy on a dual-stack socket');
  t.not(await from('fd00::1'), 403, 'IPv6 range');
  t.equal(await from('10.0.0.6'), 403, 'another address, even with X-Forwarded-For of the proxy');
  t.equal(await from('127.0.0.1'), 403);

  const both = await buildTestApp(t, { PAGOPA_STATION_PROXY_SECRET: secret, PAGOPA_STATION_PROXY_ADDRESSES: '10.0.0.5' });
  const both1 = await both.inject({ method: 'POST', url: STATION, headers: { 'x-sael-station-secret': secret }, payload: SOAP, remoteAddress: '10.0.0.9' });
  t.equal(both1.statusCode, 403, 'both set: both required');

  const demo = await buildTestApp(t);
  t.not((await demo.inject({ method: 'POST', url: STATION, headers: { 'content-type': 'text/xml' }, payload: SOAP })).statusCode, 403, 'demo without settings: open');
});

t.test('sael-pay serving HTTPS with client certificates: only the node’s certificate is answered', async (t) => {
  const dir = tempDir(t);
  const ca = await makeCa('Test CA pagoPA');
  const otherCa = await makeCa('Other CA');
  const server = await issue(ca, 'localhost', 'server');
  const node = await issue(ca, 'forwarder.platform.pagopa.it', 'client');
  const sameCaStranger = await issue(ca, 'someone-else.example', 'client');
  const foreign = await issue(otherCa, 'forwarder.platform.pagopa.it', 'client');
  const file = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const env = {
    PAGOPA_STATION_TLS_PORT: '0',
    PAGOPA_STATION_TLS_KEY_FILE: file('key.pem', server.keyPem),
    PAGOPA_STATION_TLS_CERT_FILE: file('cert.pem', server.certPem),
    PAGOPA_STATION_TLS_CA_FILE: file('ca.pem', ca.certPem),
    PAGOPA_STATION_CLIENT_CERT_FINGERPRINTS: fingerprint(node.certPem).replace(/:/g, '').toLowerCase(),
  };
  const app = await buildTestApp(t, env);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (await app.listenStationTls())!;
  t.ok(port > 0, 'the station listener is up');

  const okCall = await call(port, ca.certPem, node);
  t.equal(okCall.status, 200, 'the node’s certificate: answered');
  t.match(okCall.body, /soapenv:Envelope/);
  const noCert = await call(port, ca.certPem);
  t.ok(noCert.error || noCert.status === 403, `no client certificate: refused (${noCert.error ?? noCert.status})`);
  t.notOk(noCert.status === 200);
  const foreignCall = await call(port, ca.certPem, foreign);
  t.ok(foreignCall.error, `a certificate of another CA: handshake refused (${foreignCall.error})`);
  const stranger = await call(port, ca.certPem, sameCaStranger);
  t.equal(stranger.status, 403, 'same CA, not the pinned certificate: refused');
  const other = await call(port, ca.certPem, node, '/healthz');
  t.equal(other.status, 404, 'the TLS listener serves the station only');
  // The portal's plain port: the station is not reachable there.
  const plain = await fetch(`http://127.0.0.1:${(app.server.address() as { port: number }).port}${STATION}`, { method: 'POST', body: SOAP, headers: { 'content-type': 'text/xml' } });
  t.equal(plain.status, 403, 'plain port: refused');

  // Pinned by subject CN instead of fingerprint.
  const byCn = await buildTestApp(t, { ...env, PAGOPA_STATION_CLIENT_CERT_FINGERPRINTS: '', PAGOPA_STATION_CLIENT_CERT_CN: 'forwarder.platform.pagopa.it' });
  const cnPort = (await byCn.listenStationTls())!;
  t.equal((await call(cnPort, ca.certPem, node)).status, 200, 'CN pin: the node');
  t.equal((await call(cnPort, ca.certPem, sameCaStranger)).status, 403, 'CN pin: another subject');
  await byCn.close();
  t.notOk(byCn.stationTlsServer!.listening, 'closed with the app');
});

t.test('/metrics in production: 404 without a token, the token when set', async (t) => {
  const make = async (token: string | undefined, production: boolean) => {
    const app = Fastify();
    app.get('/metrics', { onRequest: metricsGuard(token, production) }, async () => 'm 1\n');
    t.teardown(() => app.close());
    return app;
  };
  t.equal((await (await make(undefined, true)).inject('/metrics')).statusCode, 404);
  t.equal((await (await make(undefined, false)).inject('/metrics')).statusCode, 200);
  const withToken = await make('t'.repeat(32), true);
  const refused = await withToken.inject('/metrics');
  t.equal(refused.statusCode, 401);
  t.match(refused.headers['www-authenticate'], /^Bearer/);
  t.equal((await withToken.inject({ url: '/metrics', headers: { authorization: `Bearer ${'t'.repeat(32)}` } })).statusCode, 200);
});
