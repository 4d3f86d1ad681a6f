/**
 * The S3-compatible object store (CONSERVAZIONE_STORE=s3), for deployments that outgrow one disk.
 * Same contract as the file store (storage.ts): the object key is the SHA-256 (hex) of the bytes;
 * a put first asks HeadObject (stored bytes are never sent twice) and then writes with
 * `If-None-Match: *` (a conditional put: two writers racing on one key cannot overwrite each other
 * where the store honours it; 412 = already there) and `x-amz-checksum-sha256` (the store checks
 * what it received against our hash where it supports checksums).
 *
 * Object lock: when the bucket has Object Lock enabled (asked once, GetObjectLockConfiguration),
 * every object gets a COMPLIANCE retention until `retainUntil` (the caller's date) or, without
 * one, now + CONSERVAZIONE_S3_OBJECT_LOCK_YEARS (0 = none). Not even the bucket's owner can
 * delete or overwrite a locked version before that date. Stores without object lock (or a bucket
 * created without it) simply keep the objects write-once through this module.
 *
 * `destroy` (scarto only) removes every version of the key (a plain DELETE on a versioned bucket
 * would only add a delete marker and keep the bytes); a version still under retention makes it fail.
 *
 * Client: @aws-sdk/client-s3 (AWS's own, maintained, speaks to any S3-compatible store).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { addYears } from '../../domain/iso-date.js';
import { BlobNotFoundError, isBlobKey, type BlobStore, type PutResult } from './storage.js';

export interface S3StoreOptions {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Default COMPLIANCE retention (years) when the caller gives no `retainUntil`; 0 = none. */
  objectLockYears: number;
  /** Path-style URLs (`endpoint/bucket/key`); default: true except on amazonaws.com. */
  forcePathStyle?: boolean;
  /** The clock for the default retention. */
  now?: () => Date;
}

/** Error helpers: the SDK's errors carry the S3 code as `name` and the HTTP status in `$metadata`. */
function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}
function code(e: unknown): string | undefined {
  return (e as { name?: string; Code?: string }).Code ?? (e as { name?: string }).name;
}
function isMissing(e: unknown): boolean {
  return status(e) === 404 || code(e) === 'NoSuchKey' || code(e) === 'NotFound';
}
function unsupported(e: unknown): boolean {
  return status(e) === 501 || status(e) === 405 || status(e) === 404 || status(e) === 400 || code(e) === 'NotImplemented' || code(e) === 'MethodNotAllowed' || code(e) === 'ObjectLockConfigurationNotFoundError';
}

export function s3BlobStore(opts: S3StoreOptions): BlobStore {
  const client = new S3Client({
    endpoint: opts.endpoint,
    region: opts.region,
    credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
    forcePathStyle: opts.forcePathStyle ?? !/\.amazonaws\.com(:\d+)?\/?$/.test(new URL(opts.endpoint).host + '/'),
    // Checksums only where an operation requires them (we send our own SHA-256 on puts): the
    // SDK's default CRC32 trailers are not understood by every S3-compatible store.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
  const Bucket = opts.bucket;
  const now = opts.now ?? (() => new Date());

  let lockSupport: Promise<boolean> | null = null;
  const objectLock = () =>
    (lockSupport ??= client.send(new GetObjectLockConfigurationCommand({ Bucket })).then(
      (r) => r.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled',
      (e: unknown) => {
        if (unsupported(e)) return false;
        lockSupport = null; // a network error: ask again next time
        throw e;
      },
    ));

  const checkKey = (key: string) => {
    if (!isBlobKey(key)) throw new BlobNotFoundError(key);
  };
  const getBody = async (key: string): Promise<Readable> => {
    checkKey(key);
    try {
      const r = await client.send(new GetObjectCommand({ Bucket, Key: key }));
      return r.Body as Readable;
    } catch (e) {
      if (isMissing(e)) throw new BlobNotFoundError(key);
      throw e;
    }
  };
  const has = async (key: string): Promise<boolean> => {
    if (!isBlobKey(key)) return false;
    try {
      await client.send(new HeadObjectCommand({ Bucket, Key: key }));
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
  };

  // Puts of one key in flight in this process: a second put of the same bytes waits for the first
  // and answers created: false. Across processes the conditional put is the guard, where the store
  // honours `If-None-Match: *` on PUT (AWS S3, MinIO; s3rver, the test server, does not).
  const inFlight = new Map<string, Promise<void>>();

  return {
    kind: 's3',
    async put(bytes, putOpts = {}): Promise<PutResult> {
      const digest = createHash('sha256').update(bytes).digest();
      const key = digest.toString('hex');
      const result = (created: boolean): PutResult => ({ key, sizeBytes: bytes.byteLength, created });
      for (let first = inFlight.get(key); first; first = inFlight.get(key)) {
        await first;
      }
      let done!: () => void;
      inFlight.set(key, new Promise<void>((resolve) => (done = resolve)));
      try {
        if (await has(key)) return result(false);
        const input: PutObjectCommandInput = {
          Bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: 'application/octet-stream',
          ChecksumSHA256: digest.toString('base64'),
          IfNoneMatch: '*',
        };
        const retainUntil = putOpts.retainUntil ?? (opts.objectLockYears > 0 ? new Date(`${addYears(now().toISOString().slice(0, 10), opts.objectLockYears)}T00:00:00Z`) : undefined);
        if (retainUntil && retainUntil.getTime() > now().getTime() && (await objectLock())) {
          input.ObjectLockMode = 'COMPLIANCE';
          input.ObjectLockRetainUntilDate = retainUntil;
        }
        try {
          await client.send(new PutObjectCommand(input));
          return result(true);
        } catch (e) {
          // 412: another writer stored the key between our HEAD and our PUT; 409: a conditional write in flight.
          if (status(e) === 412 || status(e) === 409 || code(e) === 'PreconditionFailed') return result(false);
          throw e;
        }
      } finally {
        inFlight.delete(key);
        done();
      }
    },
    async get(key) {
      const body = await getBody(key);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    stream: getBody,
    has,
    async rehash(key) {
      let body: Readable;
      try {
        body = await getBody(key);
      } catch (e) {
        if (e instanceof BlobNotFoundError) return null;
        throw e;
      }
      const hash = createHash('sha256');
      for await (const chunk of body) hash.update(chunk as Buffer);
      return hash.digest('hex');
    },
    async destroy(key) {
      checkKey(key);
      let versions: { Key: string; VersionId?: string }[] | null = null;
      try {
        const listed = await client.send(new ListObjectVersionsCommand({ Bucket, Prefix: key }));
        versions = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])]
          .filter((v) => v.Key === key)
          .map((v) => ({ Key: key, VersionId: v.VersionId && v.VersionId !== 'null' ? v.VersionId : undefined }));
      } catch (e) {
        if (!unsupported(e)) throw e;
      }
      if (!versions?.length || versions.every((v) => !v.VersionId)) {
        await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
        return;
      }
      const r = await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: versions, Quiet: true } }));
      if (r.Errors?.length) throw new Error(`S3: ${key} non distrutto: ${r.Errors.map((x) => `${x.VersionId ?? ''} ${x.Code ?? ''} ${x.Message ?? ''}`).join('; ')}`);
    },
  };
}

