/**
 * The conservator's sealer (sealer.ts + cades.ts): CAdES-BES detached signature of a PdA index and
 * an RFC 3161 time stamp over its signature value. Demo keys generated at first start (0600 key,
 * same keys on the next start), the in-process TSA simulator; one byte changed in the content, the
 * signature or the token fails; a token from another TSA key fails; a signature by another key
 * fails; production settings with PEM files written here and a TSA over real HTTP; production
 * without the settings gives no sealer.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as pkijs from 'pkijs';
import { loadConfig, type Config } from '../../src/config.js';
import { buildSealer, createSealer, ensureSignerKeys, generateSignerKeys, simulatorTimestamper } from '../../src/modules/conservazione/sealer.js';
import { verifyCadesDetached, OID_SIGNING_TIME } from '../../src/modules/conservazione/cades.js';
import { generateTsaKeys, ensureTsaKeys } from '../../src/simulators/tsa/keys.js';
import { createTsa } from '../../src/simulators/tsa/tsa.js';
import { OID_SIGNING_CERTIFICATE_V2 } from '../../src/modules/conservazione/timestamp.js';

// not test/helpers.ts: it loads the whole app, which this unit test does not need
function tempDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-sealer-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const clock = () => new Date('2026-06-10T08:00:00Z');
const content = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<sincro:PIndex xmlns:sincro="http://www.uni.com/U3011/sincro-v2/">indice di prova</sincro:PIndex>\n');

/** The first 96 bytes (CMS headers, algorithm identifiers), then positions spread over the rest. */
function positions(len: number, max = 320): number[] {
  if (len <= max) return [...Array(len).keys()];
  const head = [...Array(96).keys()];
  const rest = [...Array(max - 96).keys()].map((i) => 96 + Math.floor((i * (len - 97)) / (max - 97)));
  return [...new Set([...head, ...rest])];
}

function flipped(b: Buffer, i: number): Buffer {
  const c = Buffer.from(b);
  c[i] = c[i]! ^ 0x01;
  return c;
}

t.test('demo sealer: keys at first start, seal verifies, any altered byte fails', async (t) => {
  const dir = tempDir(t);
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' });
  const sealer = (await createSealer(config, clock))!;
  t.ok(sealer, 'demo mode has a sealer');
  const keyFile = path.join(config.conservazione.dir, 'signer', 'signer.key.pem');
  t.equal(fs.statSync(keyFile).mode & 0o777, 0o600, 'private key readable by the owner only');
  t.ok(fs.existsSync(path.join(dir, 'tsa-simulator', 'tsa.crt.pem')), 'the TSA simulator keys the app serves');

  const seal = await sealer.seal(content);
  t.equal(seal.timestampedAt.toISOString(), '2026-06-10T08:00:00.000Z', 'genTime from the clock');
  t.match(seal.signerSubject, /Conservatore S\.A\.E\.L\. \(demo\)/);
  const ok = await sealer.verify(content, seal.signature, seal.timestampToken);
  t.same({ ok: ok.ok, sig: ok.signatureOk, ts: ok.timestampOk }, { ok: true, sig: true, ts: true }, ok.message);

  // CAdES-BES shape: detached, signed attributes incl. signing time and signing-certificate-v2
  const cades = await verifyCadesDetached(content, seal.signature);
  t.equal(cades.signingTime.toISOString(), '2026-06-10T08:00:00.000Z');
  const ci = pkijs.ContentInfo.fromBER(new Uint8Array(seal.signature).buffer);
  const sd = new pkijs.SignedData({ schema: ci.content });
  t.notOk(sd.encapContentInfo.eContent, 'detached: the index is not inside');
  const attrs = sd.signerInfos[0]!.signedAttrs!.attributes.map((a) => a.type);
  t.ok(attrs.includes(OID_SIGNING_TIME) && attrs.includes(OID_SIGNING_CERTIFICATE_V2), 'signingTime and signingCertificateV2 signed');

  // the same keys on the next start
  const again = (await createSealer(config, clock))!;
  t.ok((await again.verify(content, seal.signature, seal.timestampToken)).ok, 'a restart keeps the keys: old seals verify');

  const badContent = await sealer.verify(flipped(content, 40), seal.signature, seal.timestampToken);
  t.notOk(badContent.ok, 'content changed');
  t.match(badContent.message, /alterato/);

  let sigPassed = 0;
  const sigPos = positions(seal.signature.length);
  for (const i of sigPos) if ((await sealer.verify(content, flipped(seal.signature, i), seal.timestampToken)).ok) sigPassed++;
  t.equal(sigPassed, 0, `every one of ${sigPos.length} single-byte changes of the signature fails`);

  let tokPassed = 0;
  const tokPos = positions(seal.timestampToken.length);
  for (const i of tokPos) {
    const r = await sealer.verify(content, seal.signature, flipped(seal.timestampToken, i));
    if (r.ok) tokPassed++;
  }
  t.equal(tokPassed, 0, `every one of ${tokPos.length} single-byte changes of the token fails`);

  // a token from another TSA key, over the right digest
  const other = await generateTsaKeys({ clock, name: 'Altra TSA' });
  const sigValue = cades.signatureValue;
  const foreign = await simulatorTimestamper(other, clock)(createHash('sha256').update(sigValue).digest());
  const r = await sealer.verify(content, seal.signature, foreign.token);
  t.notOk(r.ok, 'token of another TSA');
  t.ok(r.signatureOk && !r.timestampOk, r.message);

  // a token of the right TSA over something else (e.g. the content instead of the signature value)
  const tsaKeys = await ensureTsaKeys(path.join(dir, 'tsa-simulator'), clock);
  const wrongImprint = await simulatorTimestamper(tsaKeys, clock)(createHash('sha256').update(content).digest());
  t.notOk((await sealer.verify(content, seal.signature, wrongImprint.token)).ok, 'token over the content, not the signature value');

  // a valid CAdES by another key (not the conservator's), stamped by our TSA
  const stranger = await buildSealer({ signer: await generateSignerKeys(clock), timestamper: simulatorTimestamper(tsaKeys, clock), tsaCertPem: tsaKeys.certPem, clock });
  const strangerSeal = await stranger.seal(content);
  t.ok((await stranger.verify(content, strangerSeal.signature, strangerSeal.timestampToken)).ok, 'valid for its own signer');
  const s = await sealer.verify(content, strangerSeal.signature, strangerSeal.timestampToken);
  t.notOk(s.ok, 'another signer is refused');
  t.match(s.message, /non è quello del conservatore/);

  // anchor time stamps (helper D)
  const digest = createHash('sha256').update('testa della catena').digest();
  const anchor = await sealer.timestamp(digest);
  t.ok((await sealer.verifyTimestamp(anchor.token, digest)).ok);
  const v = await sealer.verifyTimestamp(anchor.token, createHash('sha256').update('altro').digest());
  t.notOk(v.ok);
  t.match(v.message, /impronta diversa/);
});

t.test('signer certificate expired at signing time fails; renewed demo keys keep old seals valid', async (t) => {
  const dir = tempDir(t);
  const signerDir = path.join(dir, 'signer');
  const tsaKeys = await generateTsaKeys({ clock, days: 9000 });
  const sealerAt = async (at: Date) => {
    const c = () => at;
    return buildSealer({ signer: await ensureSignerKeys(signerDir, c), timestamper: simulatorTimestamper(tsaKeys, c), tsaCertPem: tsaKeys.certPem, clock: c });
  };
  const first = await sealerAt(new Date('2026-06-10T08:00:00Z'));
  const seal = await first.seal(content);
  // 11 years later the demo certificate (10 years) has expired: a new one is made, the old one kept
  const later = await sealerAt(new Date('2037-06-10T08:00:00Z'));
  t.ok((await later.verify(content, seal.signature, seal.timestampToken)).ok, 'a PdA sealed with the previous demo certificate still verifies');
  t.ok(fs.readdirSync(signerDir).some((f) => /^signer\.[0-9a-f]+\.crt\.pem$/.test(f)), 'previous certificate kept');
  const newSeal = await later.seal(content);
  t.ok((await later.verify(content, newSeal.signature, newSeal.timestampToken)).ok, 'the new certificate signs');

  // a seal whose signing time is outside the certificate's validity (30 days from January)
  const keys = await generateSignerKeys(() => new Date('2026-01-01T00:00:00Z'), 30);
  const expired = await buildSealer({ signer: keys, timestamper: simulatorTimestamper(tsaKeys, clock), tsaCertPem: tsaKeys.certPem, clock });
  const es = await expired.seal(content);
  const r = await expired.verify(content, es.signature, es.timestampToken);
  t.notOk(r.ok, 'certificate expired when signed');
  t.match(r.message, /non era valido all'ora della firma/);
});

t.test('production: PEM files and a remote TSA over HTTP; null without the settings', async (t) => {
  const dir = tempDir(t);
  const base = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' });
  const signer = await generateSignerKeys(clock);
  const tsaKeys = await generateTsaKeys({ clock, name: 'TSA esterna di prova' });
  fs.writeFileSync(path.join(dir, 'key.pem'), signer.keyPem, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'cert.pem'), signer.certPem);
  fs.writeFileSync(path.join(dir, 'tsa.pem'), tsaKeys.certPem);
  const tsa = createTsa({ key: tsaKeys.keyPem, certificate: tsaKeys.certPem, clock });
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      void tsa.respond(Buffer.concat(chunks)).then((body) => {
        res.writeHead(200, { 'content-type': 'application/timestamp-reply' });
        res.end(body);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;

  const prod = (c: Partial<Config['conservazione']>): Config => ({ ...base, isProduction: true, appMode: 'production', conservazione: { ...base.conservazione, demoKeys: false, ...c } });
  const config = prod({ signerKeyFile: path.join(dir, 'key.pem'), signerCertFile: path.join(dir, 'cert.pem'), tsaUrl: url, tsaCertFile: path.join(dir, 'tsa.pem') });
  const sealer = (await createSealer(config, clock))!;
  const seal = await sealer.seal(content);
  t.equal(requests, 1, 'the TSA was called over HTTP');
  t.ok((await sealer.verify(content, seal.signature, seal.timestampToken)).ok);
  t.notOk(fs.existsSync(path.join(base.conservazione.dir, 'signer')), 'no demo keys generated in production');
  t.notOk((await sealer.verify(flipped(content, 3), seal.signature, seal.timestampToken)).ok);

  // the demo TSA's token is not accepted by the production sealer (pinned certificate)
  const demo = (await createSealer(base, clock))!;
  const demoSeal = await demo.seal(content);
  t.notOk((await sealer.verify(content, seal.signature, demoSeal.timestampToken)).ok, 'pinned to the configured TSA');

  t.equal(await createSealer(prod({}), clock), null, 'production without signer and TSA: no sealer');
  t.equal(await createSealer(prod({ signerKeyFile: path.join(dir, 'key.pem'), signerCertFile: path.join(dir, 'cert.pem') }), clock), null, 'no TSA: no sealer');
  // a key that is not the certificate's
  const otherKey = await generateSignerKeys(clock);
  fs.writeFileSync(path.join(dir, 'other.pem'), otherKey.keyPem, { mode: 0o600 });
  await t.rejects(createSealer(prod({ signerKeyFile: path.join(dir, 'other.pem'), signerCertFile: path.join(dir, 'cert.pem'), tsaUrl: url, tsaCertFile: path.join(dir, 'tsa.pem') }), clock), /non corrisponde al suo certificato/);
});
