/**
 * `conservazione:verify` (issue #16 items 7 and 11): re-checks everything the conservazione
 * keeps, independently of the database's triggers and of the fixity audit's last outcomes:
 *
 * - every stored blob not discarded by scarto is re-read and re-hashed against its key (its name
 *   is the SHA-256 of its bytes): missing or different bytes are found;
 * - the event log: every row's hash is recomputed from its content and its predecessor's hash,
 *   from GENESIS_HASH, and the sequence numbers must follow one another (a deleted row leaves a
 *   gap); an edited row is found even when the attacker also rewrote its hash (the next row's
 *   prevHash, or an anchor, no longer matches);
 * - every daily anchor: the head hash it stamped must be the recomputed chain's hash at its
 *   lastSeq, and its RFC 3161 token must verify over that hash (sealer.verifyTimestamp);
 * - every PdA not discarded: the index bytes match indexSha256 and the CAdES signature and time
 *   stamp verify over them (sealer.verify);
 * - every rapporto di versamento (cons_rdv, the RdV's one copy): its text re-hashed against its
 *   row's SHA-256 and against the URN and SHA-256 its 'rdv' event recorded in the chain; an 'rdv'
 *   event whose row is gone is found too.
 *
 * Rows are read in pages (drizzle), blobs one at a time: memory stays flat with the archive size.
 */
import { createHash } from 'node:crypto';
import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import type { ConservazioneCtx } from './context.js';
import { anchorDigest } from './anchor.js';
import { readBlob } from './blobs.js';
import { eventHash, GENESIS_HASH } from './events.js';
import { consAips, consAnchors, consBlobs, consEvents, consRdv } from './schema.js';

export interface VerifyFinding {
  kind: 'blob_missing' | 'blob_mismatch' | 'chain_broken' | 'anchor_invalid' | 'seal_invalid' | 'rdv_invalid';
  subject: string;
  /** Italian. */
  message: string;
}

export interface VerifyReport {
  blobs: number;
  events: number;
  anchors: number;
  aips: number;
  rapporti: number;
  findings: VerifyFinding[];
}

const PAGE = 2000;

async function verifyBlobs(ctx: ConservazioneCtx, findings: VerifyFinding[]): Promise<number> {
  let count = 0;
  let cursor = '';
  for (;;) {
    const rows = await ctx.db
          .select({ key: consBlobs.key, discardedAt: consBlobs.discardedAt })
          .from(consBlobs)
          .where(gt(consBlobs.key, cursor))
          .orderBy(asc(consBlobs.key))
          .limit(PAGE);
    if (!rows.length) return count;
    for (const row of rows) {
      if (row.discardedAt !== null) continue;
      count++;
      const actual = await ctx.store.rehash(row.key);
      if (actual === null) findings.push({ kind: 'blob_missing', subject: `blob:${row.key}`, message: 'file mancante nell’archivio' });
      else if (actual !== row.key) findings.push({ kind: 'blob_mismatch', subject: `blob:${row.key}`, message: `il contenuto non corrisponde all’impronta: SHA-256 ricalcolato ${actual}` });
    }
    cursor = rows[rows.length - 1]!.key;
  }
}

/** Recomputes the chain; returns the number of rows and the recomputed hash at each seq of `wanted`. */
async function verifyChain(ctx: ConservazioneCtx, wanted: Set<number>, findings: VerifyFinding[]): Promise<{ events: number; lastSeq: number; hashAt: Map<number, string> }> {
  const hashAt = new Map<number, string>();
  let events = 0;
  let expectedSeq = 1;
  let storedPrev = GENESIS_HASH;
  let recomputedPrev = GENESIS_HASH;
  let cursor = 0;
  for (;;) {
    const rows = await ctx.db.select().from(consEvents).where(gt(consEvents.seq, cursor)).orderBy(asc(consEvents.seq)).limit(PAGE);
    if (!rows.length) break;
    for (const row of rows) {
      events++;
      if (row.seq !== expectedSeq) {
        const gap = row.seq - expectedSeq;
        findings.push({
          kind: 'chain_broken',
          subject: `event:${expectedSeq}`,
          message: gap === 1 ? `manca l’evento n. ${expectedSeq} (riga cancellata)` : `mancano gli eventi dal n. ${expectedSeq} al n. ${row.seq - 1} (righe cancellate)`,
        });
      }
      if (row.prevHash !== storedPrev) {
        findings.push({ kind: 'chain_broken', subject: `event:${row.seq}`, message: `l’evento n. ${row.seq} non è concatenato al precedente (hash precedente diverso)` });
      }
      let ownHash: string;
      try {
        ownHash = eventHash(row.prevHash, row);
      } catch {
        ownHash = '';
      }
      if (ownHash !== row.hash) {
        findings.push({ kind: 'chain_broken', subject: `event:${row.seq}`, message: `l’evento n. ${row.seq} è stato modificato: il suo hash non corrisponde al contenuto` });
      }
      let recomputed: string;
      try {
        recomputed = eventHash(recomputedPrev, row);
      } catch {
        recomputed = `invalid:${row.seq}`;
      }
      if (wanted.has(row.seq)) hashAt.set(row.seq, recomputed);
      recomputedPrev = recomputed;
      storedPrev = row.hash;
      expectedSeq = row.seq + 1;
    }
    cursor = rows[rows.length - 1]!.seq;
  }
  return { events, lastSeq: expectedSeq - 1, hashAt };
}

async function verifyAnchors(ctx: ConservazioneCtx, anchors: (typeof consAnchors.$inferSelect)[], chain: { lastSeq: number; hashAt: Map<number, string> }, findings: VerifyFinding[]): Promise<void> {
  if (!anchors.length) return;
  const sealer = await ctx.sealer();
  for (const a of anchors) {
    const subject = `anchor:${a.day}`;
    const recomputed = chain.hashAt.get(a.lastSeq);
    if (recomputed === undefined) {
      findings.push({ kind: 'anchor_invalid', subject, message: `l’evento n. ${a.lastSeq} ancorato il ${a.day} non è più nel registro` });
      continue;
    }
    if (a.lastSeq >= chain.lastSeq) {
      findings.push({ kind: 'anchor_invalid', subject, message: `l’evento di ancoraggio del ${a.day} (n. ${a.lastSeq + 1}) non è più nel registro` });
    }
    if (recomputed !== a.headHash) {
      findings.push({ kind: 'anchor_invalid', subject, message: `la catena ricalcolata fino all’evento n. ${a.lastSeq} non corrisponde alla testa ancorata il ${a.day}` });
    }
    if (!sealer) {
      findings.push({ kind: 'anchor_invalid', subject, message: 'marca temporale non verificabile: firma e TSA della conservazione non configurate' });
      continue;
    }
    const check = await sealer.verifyTimestamp(Buffer.from(a.token, 'base64'), anchorDigest(recomputed)).catch((e: Error) => ({ ok: false, timestampedAt: null, message: e.message }));
    if (!check.ok) findings.push({ kind: 'anchor_invalid', subject, message: `marca temporale non valida sulla testa della catena: ${check.message}` });
  }
}

async function verifyAips(ctx: ConservazioneCtx, findings: VerifyFinding[]): Promise<number> {
  let count = 0;
  let cursor = 0;
  const sealer = await ctx.sealer();
  for (;;) {
    const rows = await ctx.db
          .select({ id: consAips.id, urn: consAips.urn, status: consAips.status, indexKey: consAips.indexKey, indexSha256: consAips.indexSha256, signatureKey: consAips.signatureKey, timestampKey: consAips.timestampKey })
          .from(consAips)
          .where(gt(consAips.id, cursor))
          .orderBy(asc(consAips.id))
          .limit(200);
    if (!rows.length) return count;
    for (const aip of rows) {
      if (aip.status === 'discarded') continue;
      count++;
      const subject = `aip:${aip.id}`;
      let index: Buffer, signature: Buffer, token: Buffer;
      try {
        [index, signature, token] = await Promise.all([readBlob(ctx, aip.indexKey), readBlob(ctx, aip.signatureKey), readBlob(ctx, aip.timestampKey)]);
      } catch (e) {
        findings.push({ kind: 'seal_invalid', subject, message: `PdA ${aip.urn}: indice, firma o marca temporale non leggibili (${(e as Error).message})` });
        continue;
      }
      if (createHash('sha256').update(index).digest('hex') !== aip.indexSha256) {
        findings.push({ kind: 'seal_invalid', subject, message: `PdA ${aip.urn}: l’indice non corrisponde all’impronta registrata` });
      }
      if (!sealer) {
        findings.push({ kind: 'seal_invalid', subject, message: `PdA ${aip.urn}: firma non verificabile, firma e TSA della conservazione non configurate` });
        continue;
      }
      const check = await sealer.verify(index, signature, token).catch((e: Error) => ({ ok: false, message: e.message }));
      if (!check.ok) findings.push({ kind: 'seal_invalid', subject, message: `PdA ${aip.urn}: ${check.message}` });
    }
    cursor = rows[rows.length - 1]!.id;
  }
}

/** The URN and SHA-256 an 'rdv' event recorded (ingest.ts), or null when its details lack them. */
function recordedRdv(details: string): { urn: string; sha256: string } | null {
  try {
    const d = JSON.parse(details) as { urn?: unknown; sha256?: unknown };
    return typeof d.urn === 'string' && typeof d.sha256 === 'string' ? { urn: d.urn, sha256: d.sha256 } : null;
  } catch {
    return null;
  }
}

async function verifyRapporti(ctx: ConservazioneCtx, findings: VerifyFinding[]): Promise<number> {
  let count = 0;
  // every row: its text against its own hash and against its event
  for (let cursor = 0; ; ) {
    const rows = await ctx.db.select({ sipId: consRdv.sipId, urn: consRdv.urn, xml: consRdv.xml, sha256: consRdv.sha256 }).from(consRdv).where(gt(consRdv.sipId, cursor)).orderBy(asc(consRdv.sipId)).limit(PAGE);
    if (!rows.length) break;
    const events = await ctx.db
          .select({ subject: consEvents.subject, details: consEvents.details })
          .from(consEvents)
          .where(and(eq(consEvents.kind, 'rdv'), inArray(consEvents.subject, rows.map((r) => `sip:${r.sipId}`))));
    const recorded = new Map(events.map((e) => [e.subject, recordedRdv(e.details)]));
    for (const row of rows) {
      count++;
      const subject = `sip:${row.sipId}`;
      const actual = createHash('sha256').update(row.xml, 'utf8').digest('hex');
      if (actual !== row.sha256) findings.push({ kind: 'rdv_invalid', subject, message: `il rapporto di versamento ${row.urn} non corrisponde alla sua impronta: SHA-256 ricalcolato ${actual}` });
      const event = recorded.get(subject);
      if (event === undefined) findings.push({ kind: 'rdv_invalid', subject, message: `il rapporto di versamento ${row.urn} non ha il suo evento nel registro` });
      else if (event === null || event.urn !== row.urn || event.sha256 !== actual)
        findings.push({ kind: 'rdv_invalid', subject, message: `il rapporto di versamento ${row.urn} non è quello registrato nel registro degli eventi` });
    }
    cursor = rows[rows.length - 1]!.sipId;
  }
  // every 'rdv' event: its row still there
  for (let cursor = 0; ; ) {
    const events = await ctx.db
          .select({ seq: consEvents.seq, subject: consEvents.subject, details: consEvents.details })
          .from(consEvents)
          .where(and(eq(consEvents.kind, 'rdv'), gt(consEvents.seq, cursor)))
          .orderBy(asc(consEvents.seq))
          .limit(PAGE);
    if (!events.length) return count;
    const sipIds = events.map((e) => Number(e.subject.slice('sip:'.length))).filter((n) => Number.isSafeInteger(n));
    const present = new Set(sipIds.length ? (await ctx.db.select({ sipId: consRdv.sipId }).from(consRdv).where(inArray(consRdv.sipId, sipIds))).map((r) => `sip:${r.sipId}`) : []);
    for (const e of events) {
      const urn = recordedRdv(e.details)?.urn;
      if (!present.has(e.subject)) findings.push({ kind: 'rdv_invalid', subject: e.subject, message: `manca il rapporto di versamento ${urn ? `${urn} ` : ''}registrato dall’evento n. ${e.seq} (riga cancellata)` });
    }
    cursor = events[events.length - 1]!.seq;
  }
}

export async function verifyConservazione(ctx: ConservazioneCtx): Promise<VerifyReport> {
  const findings: VerifyFinding[] = [];
  const blobs = await verifyBlobs(ctx, findings);
  const anchors = await ctx.db.select().from(consAnchors).orderBy(asc(consAnchors.lastSeq));
  const chain = await verifyChain(ctx, new Set(anchors.map((a) => a.lastSeq)), findings);
  await verifyAnchors(ctx, anchors, chain, findings);
  const aips = await verifyAips(ctx, findings);
  const rapporti = await verifyRapporti(ctx, findings);
  return { blobs, events: chain.events, anchors: anchors.length, aips, rapporti, findings };
}

const KIND_LABELS: Record<VerifyFinding['kind'], string> = {
  blob_missing: 'file mancante',
  blob_mismatch: 'file alterato',
  chain_broken: 'registro eventi',
  anchor_invalid: 'ancora del registro',
  seal_invalid: 'sigillo del PdA',
  rdv_invalid: 'rapporto di versamento',
};

/** The report as lines for the CLI (Italian). */
export function formatVerifyReport(report: VerifyReport): string[] {
  const head = `Verifica della conservazione: ${report.blobs} file, ${report.events} eventi, ${report.anchors} ancore, ${report.aips} PdA, ${report.rapporti} rapporti di versamento controllati`;
  if (!report.findings.length) return [head];
  return [head, `${report.findings.length} anomalie:`, ...report.findings.map((f) => `ERRORE [${KIND_LABELS[f.kind]}] ${f.subject}: ${f.message}`)];
}
