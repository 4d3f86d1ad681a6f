/**
 * The sealer the settings choose (see sealing.ts). OWNER: helper C.
 */
import type { Config } from '../../config.js';
import type { Sealer } from './sealing.js';

/** Production: the CONSERVAZIONE_SIGNER_* key and the CONSERVAZIONE_TSA_URL; demo: generated keys + in-process TSA simulator; null when neither. */
export async function createSealer(config: Config, clock: () => Date): Promise<Sealer | null> {
  void config;
  void clock;
  return null;
}
