/**
 * Secrets the notifications module keeps in the database (each ente's App IO API key): AES-256-GCM
 * with a key derived by HKDF-SHA256 from NOTIFICATIONS_KEY (demo: generated into DATA_DIR).
 * Stored as base64url(iv ‖ ciphertext ‖ tag); the associated data binds a value to its row, so a
 * ciphertext copied onto another ente's row does not decrypt.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import type { Config } from '../../config.js';
import { ensureGeneratedSecret } from '../../dev-secrets.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const HKDF_INFO = 'sael-pay notifications v1';

/** The secret from the settings, or (demo) the one generated into `keyFile`; undefined in production without it. */
export function notificationsSecret(config: Config): string | undefined {
  const n = config.notifications;
  if (n.key) return n.key;
  if (!n.generateDemoKeys) return undefined;
  return ensureGeneratedSecret(path.dirname(n.keyFile), path.basename(n.keyFile));
}

export function deriveKey(secret: string): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), HKDF_INFO, 32));
}

export function encryptSecret(key: Buffer, plaintext: string, aad: string): string {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** Throws when the value was altered, belongs to another row (aad) or was made with another key. */
export function decryptSecret(key: Buffer, stored: string, aad: string): string {
  const raw = Buffer.from(stored, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('encrypted value too short');
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
}

/** Associated data of an ente's App IO API key. */
export const ioKeyAad = (enteId: number) => `ente_io_services:${enteId}`;

const keys = new WeakMap<Config, Buffer | null>();
/** The derived key for these settings (generated secret read once); undefined when none is set. */
export function moduleKey(config: Config): Buffer | undefined {
  let k = keys.get(config);
  if (k === undefined) {
    const secret = notificationsSecret(config);
    k = secret ? deriveKey(secret) : null;
    keys.set(config, k);
  }
  return k ?? undefined;
}
