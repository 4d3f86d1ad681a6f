/** The blob store the settings choose (CONSERVAZIONE_STORE): the local file store, or S3 (whose SDK loads only then). */
import path from 'node:path';
import type { Config } from '../../config.js';
import { fileBlobStore } from './storage-file.js';
import type { BlobStore } from './storage.js';

/** The store the settings choose. */
export async function createBlobStore(config: Config): Promise<BlobStore> {
  if (config.conservazione.store === 's3') {
    const { s3BlobStore } = await import('./storage-s3.js');
    return s3BlobStore(config.conservazione.s3!);
  }
  return fileBlobStore(path.join(config.conservazione.dir, 'store'));
}
