/**
 * A PdA's index made ready to seal: built (pindex.ts), validated against SInCRO and the MoreInfo
 * schemas (pindex-validate.ts), encoded and hashed. Pure: the same input gives the same answer on
 * any thread (pindex-thread.ts runs it off the main one).
 */
import { createHash } from 'node:crypto';
import { buildPIndex, type PIndexInput } from './pindex.js';
import { validatePIndex } from './pindex-validate.js';

export interface BuiltIndex {
  /** The index as UTF-8 bytes (what is signed and stored). */
  bytes: Uint8Array;
  /** SHA-256 of `bytes`, hex. */
  sha256: string;
  valid: boolean;
  /** Why the index does not validate (empty when valid). */
  errors: string[];
}

/** The index of `input`; throws PIndexInputError (pindex.ts) on bad input, answers `valid: false` on an index that does not validate. */
export function buildValidatedIndex(input: PIndexInput): BuiltIndex {
  const xml = buildPIndex(input);
  const check = validatePIndex(xml);
  const bytes = Buffer.from(xml, 'utf8');
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), valid: check.valid, errors: check.errors };
}

