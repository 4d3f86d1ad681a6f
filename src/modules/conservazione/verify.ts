/**
 * `conservazione:verify` (issue #16 items 7 and 11): re-checks the stored files, the event-log chain
 * and its anchors, and every PdA's signature and time stamp. OWNER: helper D.
 */
import type { ConservazioneCtx } from './context.js';

export interface VerifyFinding {
  kind: 'blob_missing' | 'blob_mismatch' | 'chain_broken' | 'anchor_invalid' | 'seal_invalid';
  subject: string;
  /** Italian. */
  message: string;
}

export interface VerifyReport {
  blobs: number;
  events: number;
  anchors: number;
  aips: number;
  findings: VerifyFinding[];
}

export async function verifyConservazione(ctx: ConservazioneCtx): Promise<VerifyReport> {
  void ctx;
  return { blobs: 0, events: 0, anchors: 0, aips: 0, findings: [] };
}

/** The report as lines for the CLI (Italian). */
export function formatVerifyReport(report: VerifyReport): string[] {
  return [`file: ${report.blobs}, eventi: ${report.events}, ancore: ${report.anchors}, PdA: ${report.aips}`, ...report.findings.map((f) => `ERRORE ${f.kind} ${f.subject}: ${f.message}`)];
}
