/**
 * The write-once blob stores (issue #16 item 5): ONE set of cases run against the local file store
 * and the S3 store, the latter against s3rver (a local S3-compatible server from npm, started here:
 * no network, no Docker). Between the SDK and s3rver sits a small recording proxy: it shows which
 * headers the S3 store sends (conditional put, SHA-256 checksum, object lock) and plays a bucket
 * with Object Lock enabled and a writer that won a race, which s3rver cannot.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import S3rver from 's3rver';
import { loadConfig } from '../../src/config.js';
import { BlobNotFoundError, type BlobStore } from '../../src/modules/conservazione/storage.js';
import { createBlobStore } from '../../src/modules/conservazione/store-factory.js';
import { fileBlobStore } from '../../src/modules/conservazione/storage-file.js';
import { s3BlobStore } from '../../src/modules/conservazione/storage-s3.js';
import { tempDir } from '../helpers.js';

// The SDK warns once that its releases after January 2027 need Node 22 (known; the project runs Node 20).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const BUCKET = 'conservazione';
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------- s3rver behind a recording proxy
const s3Dir = tempDir(t, 'sael-s3rver-');
const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Dir, configureBuckets: [{ name: BUCKET }] });
const s3Port = (await s3rver.run()).port;

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}
const proxy = {
  requests: [] as Recorded[],
  /** Answer GetObjectLockConfiguration with Enabled (s3rver: NotImplemented). */
  objectLock: false,
  /** Answer the next PUT of an object with 412 (another writer stored it after our HEAD). */
  preconditionFailedOnce: false,
};
const proxyServer = http.createServer((req, res) => {
  proxy.requests.push({ method: req.method!, url: req.url!, headers: req.headers });
  if (req.method === 'GET' && /\?object-lock/.test(req.url!) && proxy.objectLock) {
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end('<?xml version="1.0" encoding="UTF-8"?><ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>');
    req.resume();
    return;
  }
  if (req.method === 'PUT' && proxy.preconditionFailedOnce) {
    proxy.preconditionFailedOnce = false;
    res.writeHead(412, { 'content-type': 'application/xml' });
    res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>');
    req.resume();
    return;
  }
  const upstream = http.request({ host: '127.0.0.1', port: s3Port, method: req.method, path: req.url, headers: req.headers }, (up) => {
    res.writeHead(up.statusCode!, up.headers);
    up.pipe(res);
  });
  upstream.on('error', (e) => res.destroy(e));
  req.pipe(upstream);
});
await new Promise<void>((resolve) => proxyServer.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${(proxyServer.address() as AddressInfo).port}`;
t.teardown(async () => {
  proxyServer.closeAllConnections();
  await new Promise((resolve) => proxyServer.close(resolve));
  await s3rver.close();
});

const NOW = new Date('2030-01-15T10:00:00Z');
function s3Store(objectLockYears = 0): BlobStore {
  return s3BlobStore({ endpoint, bucket: BUCKET, region: 'eu-south-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', objectLockYears, now: () => NOW });
}

// ---------------------------------------------------------------- the backends under one contract
interface Backend {
  name: string;
  store: BlobStore;
  /** Where the stored bytes of a key lie on disk (to change or remove them behind the store's back). */
  fileOf(key: string): string;
}

function backends(t: Test): Backend[] {
  const root = tempDir(t, 'sael-filestore-');
  return [
    { name: 'file store', store: fileBlobStore(root), fileOf: (key) => path.join(root, key.slice(0, 2), key.slice(2, 4), key) },
    { name: 'S3 store (s3rver)', store: s3Store(), fileOf: (key) => path.join(s3Dir, BUCKET, `${key}._S3rver_object`) },
  ];
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

function tamper(file: string, edit: (b: Buffer) => void): void {
  fs.chmodSync(file, 0o644);
  const bytes = fs.readFileSync(file);
  edit(bytes);
  fs.writeFileSync(file, bytes);
}

for (const b of backends(t)) {
  t.test(b.name, async (t) => {
    const { store } = b;
    const bytes = Buffer.from(`<Ricevuta>IUV 01234567890123456 — ${b.name}</Ricevuta>`);
    const key = sha(bytes);

    t.test('put, get, stream, has, rehash', async (t) => {
      const put = await store.put(bytes);
      t.same(put, { key, sizeBytes: bytes.length, created: true }, 'the key is the SHA-256 of the bytes');
      t.same(await store.get(key), bytes, 'get returns the bytes');
      const chunks: Buffer[] = [];
      for await (const c of await store.stream(key)) chunks.push(c as Buffer);
      t.same(Buffer.concat(chunks), bytes, 'stream returns the bytes');
      t.equal(await store.has(key), true);
      t.equal(await store.rehash(key), key, 'rehash of intact bytes = key');
      t.equal(store.kind, b.name.startsWith('file') ? 'file' : 's3');
    });

    t.test('the same bytes give the same key, stored once', async (t) => {
      const again = await store.put(Buffer.from(bytes));
      t.same(again, { key, sizeBytes: bytes.length, created: false });
    });

    t.test('many puts at once: each new blob created once, the same bytes twice give one creation', async (t) => {
      const blobs = Array.from({ length: 24 }, (_, i) => Buffer.from(`<RT n="${i}">${b.name}</RT>`));
      const results = await Promise.all([...blobs, ...blobs].map((x) => store.put(x)));
      for (let i = 0; i < blobs.length; i++) {
        const pair = [results[i]!, results[i + blobs.length]!];
        t.equal(pair.filter((r) => r.created).length, 1, `blob ${i}: one of its two puts created it`);
        t.same(await store.get(pair[0]!.key), blobs[i]);
      }
    });

    t.test('a view into a bigger buffer: just its bytes are stored, and the caller\'s buffer stays usable', async (t) => {
      const body = Buffer.alloc(64 * 1024, 0x20);
      const part = body.subarray(1000, 1000 + bytes.length + 7);
      Buffer.from(`<RT>${b.name} view</RT>`.padEnd(part.length, ' ')).copy(part);
      const put = await store.put(part);
      t.same(put, { key: sha(part), sizeBytes: part.length, created: true });
      t.same(await store.get(put.key), Buffer.from(part), 'the stored bytes are the view');
      t.equal(body.length, 64 * 1024, 'the caller\'s buffer is not detached');
      t.equal(part.toString().trim(), `<RT>${b.name} view</RT>`);
    });

    t.test('a big blob (3 MiB) round-trips, streamed and rehashed', async (t) => {
      const big = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
      const put = await store.put(big);
      t.equal(put.key, sha(big));
      t.equal(await store.rehash(put.key), put.key);
      t.equal((await store.get(put.key)).length, big.length);
    });

    t.test('no overwrite: a second put of the same bytes writes nothing, even over a damaged copy', async (t) => {
      const own = Buffer.from(`documento da non sovrascrivere (${b.name})`);
      const { key: k } = await store.put(own);
      tamper(b.fileOf(k), (x) => (x[0] = x[0]! ^ 0xff));
      const damaged = fs.readFileSync(b.fileOf(k));
      const again = await store.put(own);
      t.equal(again.created, false, 'the store says the key exists');
      t.same(fs.readFileSync(b.fileOf(k)), damaged, 'the stored object was not rewritten');
      t.not(await store.rehash(k), k, 'and the damage is still there for the audit to find');
    });

    t.test('a missing key: BlobNotFoundError, has false, rehash null', async (t) => {
      const absent = sha('mai memorizzato');
      t.type(await rejection(store.get(absent)), BlobNotFoundError);
      t.type(await rejection(store.stream(absent)), BlobNotFoundError);
      t.equal(await store.has(absent), false);
      t.equal(await store.rehash(absent), null);
      t.type(await rejection(store.get('../../etc/passwd')), BlobNotFoundError, 'a key that is not a SHA-256 names no blob');
      t.equal(await store.has('ABC'), false);
    });

    t.test('one byte changed behind the store is found by rehash', async (t) => {
      const doc = Buffer.from(`flusso di rendicontazione ${b.name} `.repeat(100));
      const { key: k } = await store.put(doc);
      t.equal(await store.rehash(k), k);
      tamper(b.fileOf(k), (x) => (x[1500] = x[1500]! ^ 0x01));
      const actual = await store.rehash(k);
      t.not(actual, k, 'the hash differs from the key');
      t.match(actual, /^[0-9a-f]{64}$/);
    });

    t.test('a file removed behind the store: rehash null', async (t) => {
      const { key: k } = await store.put(Buffer.from(`da rimuovere ${b.name}`));
      fs.rmSync(b.fileOf(k), { force: true });
      t.equal(await store.rehash(k), null);
      t.type(await rejection(store.get(k)), BlobNotFoundError);
    });

    t.test('destroy (scarto) removes the blob', async (t) => {
      const { key: k } = await store.put(Buffer.from(`scartabile ${b.name}`));
      await store.destroy(k, { scartoListId: 1 });
      t.equal(await store.has(k), false);
      t.equal(await store.rehash(k), null);
      t.type(await rejection(store.get(k)), BlobNotFoundError);
      const back = await store.put(Buffer.from(`scartabile ${b.name}`));
      t.equal(back.created, true, 'the same bytes can be stored again after scarto');
    });
  });
}

t.test('S3 store: what it sends', async (t) => {
  t.test('a put is a HEAD then a conditional PUT with the SHA-256 checksum, no lock on a bucket without Object Lock', async (t) => {
    const store = s3Store(10);
    const bytes = Buffer.from('rapporto di versamento');
    proxy.requests.length = 0;
    await store.put(bytes);
    const methods = proxy.requests.map((r) => `${r.method} ${r.url.replace(/\?.*/, (q) => (q.includes('object-lock') ? '?object-lock' : ''))}`);
    t.same(methods, [`HEAD /${BUCKET}/${sha(bytes)}`, `GET /${BUCKET}/?object-lock`, `PUT /${BUCKET}/${sha(bytes)}`]);
    const put = proxy.requests.at(-1)!;
    t.equal(put.headers['if-none-match'], '*', 'conditional put: never over an existing object');
    t.equal(put.headers['x-amz-checksum-sha256'], createHash('sha256').update(bytes).digest('base64'), 'the store can check what it received');
    t.notOk(put.headers['x-amz-object-lock-mode'], 'Object Lock not enabled on the bucket: no retention asked');
    proxy.requests.length = 0;
    await store.put(Buffer.from('un altro rapporto'));
    t.notOk(
      proxy.requests.some((r) => r.url.includes('object-lock')),
      'the bucket is asked about Object Lock once',
    );
  });

  t.test('on a bucket with Object Lock: COMPLIANCE retention until retainUntil, or the configured years', async (t) => {
    proxy.objectLock = true;
    t.teardown(() => (proxy.objectLock = false));
    const store = s3Store(10);
    proxy.requests.length = 0;
    await store.put(Buffer.from('PdA 1 indice'), { retainUntil: new Date('2040-03-01T00:00:00Z') });
    let put = proxy.requests.find((r) => r.method === 'PUT')!;
    t.equal(put.headers['x-amz-object-lock-mode'], 'COMPLIANCE');
    t.equal(new Date(put.headers['x-amz-object-lock-retain-until-date'] as string).toISOString(), '2040-03-01T00:00:00.000Z');
    proxy.requests.length = 0;
    await store.put(Buffer.from('PdA 2 indice'));
    put = proxy.requests.find((r) => r.method === 'PUT')!;
    t.equal(new Date(put.headers['x-amz-object-lock-retain-until-date'] as string).toISOString(), '2040-01-15T00:00:00.000Z', 'now + CONSERVAZIONE_S3_OBJECT_LOCK_YEARS');
    proxy.requests.length = 0;
    await s3Store(0).put(Buffer.from('PdA 3 indice'));
    t.notOk(proxy.requests.find((r) => r.method === 'PUT')!.headers['x-amz-object-lock-mode'], 'no years and no retainUntil: no lock');
  });

  t.test('a writer that stored the key between HEAD and PUT wins: 412 = created false', async (t) => {
    proxy.preconditionFailedOnce = true;
    const res = await s3Store().put(Buffer.from('corsa tra due scrittori'));
    t.equal(res.created, false);
  });

  t.test('an unreachable store is an error, not a missing blob', async (t) => {
    const dead = s3BlobStore({ endpoint: 'http://127.0.0.1:9', bucket: BUCKET, region: 'eu-south-1', accessKeyId: 'x', secretAccessKey: 'y', objectLockYears: 0 });
    const err = await rejection(dead.rehash(sha('x')));
    t.ok(err instanceof Error && !(err instanceof BlobNotFoundError), `rehash rejects (${String(err)})`);
  });
});

t.test('CONSERVAZIONE_STORE=s3 makes the app use the S3 store', async (t) => {
  const config = loadConfig({
    DATA_DIR: tempDir(t),
    LOG_LEVEL: 'silent',
    CONSERVAZIONE_STORE: 's3',
    CONSERVAZIONE_S3_ENDPOINT: endpoint,
    CONSERVAZIONE_S3_BUCKET: BUCKET,
    CONSERVAZIONE_S3_ACCESS_KEY_ID: 'S3RVER',
    CONSERVAZIONE_S3_SECRET_ACCESS_KEY: 'S3RVER',
  });
  const store = await createBlobStore(config);
  t.equal(store.kind, 's3');
  const { key } = await store.put(Buffer.from('dalla configurazione'));
  t.ok(fs.existsSync(path.join(s3Dir, BUCKET, `${key}._S3rver_object`)), 'the object is in the bucket');
  t.equal((await createBlobStore(loadConfig({ DATA_DIR: tempDir(t), LOG_LEVEL: 'silent' }))).kind, 'file', 'the default is the file store');
});
