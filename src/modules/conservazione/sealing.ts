/**
 * The conservator's seal on a PdA index: a CAdES detached signature (CMS SignedData, no content,
 * signingCertificateV2, SHA-256) with the conservator's key and certificate, and an RFC 3161 time
 * stamp over the signature value. Pluggable (issue #16 item 4): production reads the key and
 * certificate from CONSERVAZIONE_SIGNER_*_FILE and calls CONSERVAZIONE_TSA_URL; demo mode and tests
 * generate a key and certificate at first start (DATA_DIR/conservazione/signer) and use the
 * built-in TSA simulator in-process (src/simulators/tsa, keys in DATA_DIR/tsa-simulator).
 *
 * OWNER: helper C (PdA). The interface below is fixed.
 */
export interface SealResult {
  /** DER CMS SignedData, detached (the index is not inside). */
  signature: Buffer;
  /** DER TimeStampToken (RFC 3161) over the signature value. */
  timestampToken: Buffer;
  /** genTime of the time stamp. */
  timestampedAt: Date;
  signerSubject: string;
}

export interface SealCheck {
  ok: boolean;
  signatureOk: boolean;
  timestampOk: boolean;
  timestampedAt: Date | null;
  signerSubject: string | null;
  /** Italian, for reports. */
  message: string;
}

export interface Sealer {
  /** Signs and time-stamps `content` (the index bytes). */
  seal(content: Uint8Array): Promise<SealResult>;
  /** Verifies a seal against the content: signature, signer certificate, time stamp (pinned TSA certificate). */
  verify(content: Uint8Array, signature: Uint8Array, timestampToken: Uint8Array): Promise<SealCheck>;
  /** Time-stamps a SHA-256 digest (the event log's daily anchor) and returns the DER token and its time. */
  timestamp(digest: Uint8Array): Promise<{ token: Buffer; timestampedAt: Date }>;
  /** Verifies a token from `timestamp` against the digest. */
  verifyTimestamp(token: Uint8Array, digest: Uint8Array): Promise<{ ok: boolean; timestampedAt: Date | null; message: string }>;
}
