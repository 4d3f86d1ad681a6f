/**
 * A Sealer for part D's tests (anchor, verify, scarto) made from the built-in TSA simulator
 * (createTsa + ensureTsaKeys in DATA_DIR/tsa-simulator, as the demo sealer uses) and timestamp.ts's
 * verifier: time stamps are real RFC 3161 tokens. The "signature" of seal() is a stand-in (an HMAC
 * of the content with a test key, not CAdES): these tests check verify's wiring, the CAdES itself
 * is tested with the real sealer (sealer*.test.ts).
 */
import { createHash, createHmac } from 'node:crypto';
import path from 'node:path';
import { createTsa } from '../../src/simulators/tsa/tsa.js';
import { ensureTsaKeys } from '../../src/simulators/tsa/keys.js';
import { buildTimestampRequest, verifyTimestampResponse, verifyTimestampToken } from '../../src/modules/conservazione/timestamp.js';
import type { Sealer } from '../../src/modules/conservazione/sealing.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

export async function testSealer(dataDir: string, clock: () => Date): Promise<Sealer> {
  const keys = await ensureTsaKeys(path.join(dataDir, 'tsa-simulator'), clock);
  const tsa = createTsa({ key: keys.keyPem, certificate: keys.certPem, clock });
  const sign = (content: Uint8Array) => createHmac('sha256', 'd-test-signer').update(content).digest();
  const timestamp = async (digest: Uint8Array) => {
    const req = buildTimestampRequest(digest);
    const v = await verifyTimestampResponse(await tsa.respond(req.der), { digest, nonce: req.nonce, tsaCertificate: keys.certPem });
    return { token: v.token, timestampedAt: v.genTime };
  };
  const verifyTimestamp = async (token: Uint8Array, digest: Uint8Array) => {
    try {
      const v = await verifyTimestampToken(token, { digest, tsaCertificate: keys.certPem });
      return { ok: true, timestampedAt: v.genTime, message: 'marca temporale valida' };
    } catch (e) {
      return { ok: false, timestampedAt: null, message: (e as Error).message };
    }
  };
  return {
    async seal(content) {
      const signature = sign(content);
      const t = await timestamp(sha256(signature));
      return { signature, timestampToken: t.token, timestampedAt: t.timestampedAt, signerSubject: 'CN=Test conservatore' };
    },
    async verify(content, signature, token) {
      const signatureOk = Buffer.compare(sign(content), Buffer.from(signature)) === 0;
      const t = await verifyTimestamp(token, sha256(signature));
      const ok = signatureOk && t.ok;
      return { ok, signatureOk, timestampOk: t.ok, timestampedAt: t.timestampedAt, signerSubject: 'CN=Test conservatore', message: ok ? 'firma e marca valide' : !signatureOk ? 'firma non valida' : t.message };
    },
    timestamp,
    verifyTimestamp,
  };
}

/** A sealer whose TSA is unreachable. */
export function failingSealer(): Sealer {
  const fail = async (): Promise<never> => {
    throw new Error('TSA non raggiungibile (connessione rifiutata)');
  };
  return { seal: fail, verify: fail, timestamp: fail, verifyTimestamp: fail };
}
