/**
 * Pages and assets go out compressed (br or gzip) when the client asks for it in
 * Accept-Encoding, and unchanged when it does not (#14 §6). The SOAP station never compresses.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { BI_CSS_FILE } from '../src/plugins/bi-css.js';
import { upsertUser } from '../src/modules/users/repository.js';
import { getPaymentRequest } from '../src/simulators/pagopa/node-messages.js';
import { buildTestApp, loginAs } from './helpers.js';
import { createTari, identity } from './pagopa/helpers.js';
import { citizens, createCitizenPosition, fullName } from './portal/fixtures.js';

const BI_DIST = path.join(path.dirname(createRequire(import.meta.url).resolve('bootstrap-italia/package.json')), 'dist');

function decode(encoding: string | undefined, raw: Buffer): string {
  if (encoding === 'br') return zlib.brotliDecompressSync(raw).toString('utf8');
  if (encoding === 'gzip') return zlib.gunzipSync(raw).toString('utf8');
  return raw.toString('utf8');
}

async function get(app: FastifyInstance, url: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ url, headers: { accept: 'text/html', ...headers } });
  return { status: res.statusCode, encoding: res.headers['content-encoding'] as string | undefined, vary: String(res.headers.vary ?? ''), raw: res.rawPayload };
}

t.test('pages and assets are compressed only when asked', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const { lucia } = citizens();
  await upsertUser(app.db, lucia, { actor: 'test' });
  await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { comune: 'Campobasso', description: 'TARI', amountCents: 12000, installments: 3, dueInDays: 20 });
  const cookie = await loginAs(app, lucia.fiscalCode);
  const css = fs.readFileSync(path.join(BI_DIST, 'css/bootstrap-italia.min.css'), 'utf8');
  const js = fs.readFileSync(path.join(BI_DIST, 'plugins/navbar-collapsible.js'), 'utf8');

  const cases: { name: string; url: string; headers?: Record<string, string>; expect?: string }[] = [
    { name: 'home page', url: '/' },
    { name: 'personal area', url: '/area-personale', headers: { cookie } },
    { name: 'Bootstrap Italia CSS', url: '/bi/css/bootstrap-italia.min.css', expect: css },
    { name: 'the rules of it the pages use', url: '/static/css/bootstrap-italia.css', expect: fs.readFileSync(BI_CSS_FILE, 'utf8') },
    { name: 'a Bootstrap Italia module', url: '/bi/plugins/navbar-collapsible.js', expect: js },
    { name: 'our CSS', url: '/static/css/app.css' },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const plain = await get(app, c.url, c.headers);
      t.equal(plain.status, 200);
      t.equal(plain.encoding, undefined, 'no Accept-Encoding: sent as it is');
      const text = plain.raw.toString('utf8');
      if (c.expect) t.ok(text === c.expect, 'the file, byte for byte');
      for (const encoding of ['br', 'gzip']) {
        const res = await get(app, c.url, { ...c.headers, 'accept-encoding': encoding });
        t.equal(res.status, 200);
        t.equal(res.encoding, encoding, `Accept-Encoding: ${encoding}`);
        t.match(res.vary, /accept-encoding/i, 'Vary: Accept-Encoding, for caches');
        t.ok(res.raw.length < plain.raw.length * 0.7, `${encoding}: ${res.raw.length} bytes instead of ${plain.raw.length}`);
        const body = decode(res.encoding, res.raw);
        // Pages carry a fresh CSP nonce and CSRF token on every response: compare the rest.
        const strip = (s: string) => s.replace(/nonce="[^"]*"/g, '').replace(/name="_csrf" value="[^"]*"/g, '').replace(/content="[^"]*" name="csrf-token"|name="csrf-token" content="[^"]*"/g, '');
        t.ok(strip(body) === strip(text), 'decompresses to the same content');
      }
      const preferred = await get(app, c.url, { ...c.headers, 'accept-encoding': 'gzip, deflate, br' });
      t.equal(preferred.encoding, 'br', 'a browser offering both gets brotli');
      const identityOnly = await get(app, c.url, { ...c.headers, 'accept-encoding': 'identity' });
      t.equal(identityOnly.encoding, undefined, 'identity: not compressed');
    });
  }
});

t.test('the SOAP station answers uncompressed even when asked', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const pos = await createTari(app);
  const xml = getPaymentRequest(identity(app, pos.fiscalCode), { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[0]!.noticeNumber }, { v2: true });
  const res = await app.inject({
    method: 'POST',
    url: '/pagopa/paForNode',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"paGetPaymentV2"', 'accept-encoding': 'gzip, br' },
    payload: xml,
  });
  t.equal(res.statusCode, 200);
  t.ok(res.rawPayload.length > 1024, `an answer above the 1 KB threshold (${res.rawPayload.length} bytes)`);
  t.equal(res.headers['content-encoding'], undefined);
  t.match(res.body, /<outcome>OK<\/outcome>/);
});
