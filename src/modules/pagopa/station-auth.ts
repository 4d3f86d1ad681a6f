/**
 * Who may call the SOAP station, and who may read /metrics.
 *
 * The station answers only the pagoPA node, in one of two deployments (both may be set):
 * - behind a TLS-terminating proxy that verifies the node's client certificate: the proxy adds the
 *   header `X-Sael-Station-Secret` (PAGOPA_STATION_PROXY_SECRET, compared in constant time) and/or
 *   connects from one of PAGOPA_STATION_PROXY_ADDRESSES (the TCP peer, never X-Forwarded-For);
 * - served by sael-pay itself over HTTPS (PAGOPA_STATION_TLS_*): a second listener that serves only
 *   the station, requires a client certificate chaining to the configured CA (the TLS handshake
 *   fails otherwise) and matching the pinned SHA-256 fingerprint and/or subject CN.
 * With neither (demo) anyone may call; production refuses to start that way (config.ts).
 * A refused caller gets HTTP 403 with no SOAP body: it is not the node.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StationAuthSettings, StationTlsSettings } from '../../config.js';

export const STATION_SECRET_HEADER = 'x-sael-station-secret';

/** A BlockList of the proxy's addresses and CIDR ranges (IPv4 and IPv6). */
export function addressList(entries: string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

function sameSecret(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

function peerAllowed(list: net.BlockList, remote: string | undefined): boolean {
  if (!remote) return false;
  // An IPv4 peer on a dual-stack socket appears as ::ffff:a.b.c.d.
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote)?.[1];
  if (v4) return list.check(v4, 'ipv4');
  return list.check(remote, net.isIPv6(remote) ? 'ipv6' : 'ipv4');
}

/** Does this connection carry the node's client certificate (checked chain + pin)? */
export function isNodeCertificate(socket: unknown, tls: StationTlsSettings): boolean {
  const s = socket as Partial<TLSSocket>;
  if (!s.encrypted || !s.authorized || typeof s.getPeerCertificate !== 'function') return false;
  const cert = s.getPeerCertificate();
  if (!cert || !cert.fingerprint256) return false;
  if (tls.fingerprints.length > 0 && !tls.fingerprints.includes(cert.fingerprint256.toUpperCase())) return false;
  if (tls.commonName !== undefined) {
    const cn = cert.subject?.CN;
    if ((Array.isArray(cn) ? cn : [cn]).every((x) => x !== tls.commonName)) return false;
  }
  return true;
}

/** Why a call is refused, or null when the caller is allowed (pure: request facts in, verdict out). */
export function stationRefusal(
  settings: StationAuthSettings,
  call: { socket: unknown; remoteAddress: string | undefined; secretHeader: string | string[] | undefined },
  proxyAddresses = addressList(settings.proxyAddresses),
): string | null {
  const proxyOn = settings.proxySecret !== undefined || settings.proxyAddresses.length > 0;
  if (!proxyOn && !settings.tls) return null;
  if (settings.tls && isNodeCertificate(call.socket, settings.tls)) return null;
  if (!proxyOn) return 'no node client certificate';
  if (settings.proxyAddresses.length > 0 && !peerAllowed(proxyAddresses, call.remoteAddress)) return 'address not of the proxy';
  if (settings.proxySecret !== undefined) {
    const given = call.secretHeader;
    if (typeof given !== 'string' || !sameSecret(given, settings.proxySecret)) return 'missing or wrong proxy secret';
  }
  return null;
}

/** onRequest hook of the station route. */
export function stationGuard(settings: StationAuthSettings) {
  const proxyAddresses = addressList(settings.proxyAddresses);
  return function guardStation(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
    const refusal = stationRefusal(
      settings,
      { socket: request.raw.socket, remoteAddress: request.raw.socket.remoteAddress, secretHeader: request.headers[STATION_SECRET_HEADER] },
      proxyAddresses,
    );
    if (refusal === null) return done();
    request.log.warn({ remoteAddress: request.raw.socket.remoteAddress, reason: refusal }, 'pagoPA station: caller refused');
    void reply.code(403).type('text/plain; charset=utf-8').send('Accesso alla stazione non consentito');
  };
}

/** onRequest hook of /metrics: the bearer token when set; without one, open in demo and absent (404) in production. */
export function metricsGuard(token: string | undefined, production: boolean) {
  return function guardMetrics(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
    if (token === undefined) {
      if (!production) return done();
      return void reply.callNotFound();
    }
    const m = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '');
    if (m && sameSecret(m[1]!, token)) return done();
    void reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="metrics"')
      .type('text/plain; charset=utf-8')
      .send('Token richiesto');
  };
}

/**
 * The station's own HTTPS listener: only `stationPath` is served (through the app's router), any
 * other path answers 404; the handshake requires a client certificate signed by the CA.
 */
export function createStationTlsServer(app: FastifyInstance, tls: StationTlsSettings, stationPath: string): https.Server {
  const server = https.createServer(
    {
      key: fs.readFileSync(tls.keyFile),
      cert: fs.readFileSync(tls.certFile),
      ca: fs.readFileSync(tls.caFile),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      if (req.url?.split('?', 1)[0] !== stationPath) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Non trovato');
        return;
      }
      app.routing(req, res);
    },
  );
  return server;
}
