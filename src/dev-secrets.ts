/**
 * Demo mode generates its secrets at first start into DATA_DIR (mode 0600) instead of taking
 * them from the environment; they never go into git. Production must pass them explicitly.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function ensureGeneratedSecret(dataDir: string, name: string, bytes = 48): string {
  const file = path.join(dataDir, name);
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = crypto.randomBytes(bytes).toString('base64url');
  try {
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw err;
  }
}
