/** TSA keys for the time-stamp tests: generated once per test process into a temp folder. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureTsaKeys, type TsaKeys } from '../../src/simulators/tsa/keys.js';

let cached: Promise<{ dir: string; keys: TsaKeys }> | undefined;

export function tsaFixture(clock: () => Date = () => new Date()): Promise<{ dir: string; keys: TsaKeys }> {
  cached ??= (async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tsa-keys-'));
    return { dir, keys: await ensureTsaKeys(dir, clock) };
  })();
  return cached;
}
