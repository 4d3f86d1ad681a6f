/**
 * Ingest of a PdV (pacchetto di versamento; issue #16 item 2): the one entry point for the REST
 * API, the back-office upload and the daily job (source 'auto').
 *
 * 1. The profile must exist and be active (PROFILE_UNKNOWN) and admit this kind of submitter
 *    (PROFILE_NOT_ALLOWED); then `checkSip` (checks/run-checks.ts; a large PdV on a worker thread: checks/check-pool.ts) recomputes every SHA-256,
 *    identifies each format from its bytes, validates the Allegato 5 metadata and verifies the
 *    signatures, giving the esito.
 * 2. Accepted: every file is put in the store BEFORE the transaction (the store is asynchronous
 *    and idempotent by content: a transaction that then fails leaves at most files no row refers
 *    to — never a half-written PdV — and a retry writes nothing new). Then ONE transaction writes
 *    the files' cons_blobs rows (registerBlobs: the fixity audit's list), the cons_sips row, its
 *    cons_sip_files, the cons_rdv row (write-once: the RdV's one copy, text and SHA-256) and the
 *    events 'ingest' and 'rdv' (whose details carry the RdV's URN and SHA-256, so the hash chain
 *    vouches for it: `conservazione:verify` re-hashes every cons_rdv row against its own hash and
 *    its event); PdV whose files were written together share that transaction, each in its own
 *    savepoint (group commit, `commitsFor`). The RdV is not also stored as a blob: that copy was
 *    written after the commit, so it never made the RdV more durable than the PdV's own rows, it
 *    cost each receipt a third fsync, and what the PdD serves is the row.
 * 3. Rejected: the PdV is kept (cons_sips status 'rejected' with its esito and file rows, no file
 *    stored) with a 'reject' event, in one transaction. The THIRD rejection of the same (ente,
 *    profile, objectKey) raises the 'sip_rejected_3x' alert (cons_alerts + helpdesk ticket) and
 *    the ticket id is written on that PdV; later rejections open no further ticket. A PdV naming
 *    an unknown profile code cannot be kept (cons_sips needs a profile): it gets its esito and a
 *    'reject' event on `sip-object:<ente>:<code>:<key>`, with sipId null.
 *
 * URNs: `urn:sael-pay:<ipaCode>:pdv:<yyyy>:<sipId>` and `…:rdv:<yyyy>:<sipId>` (yyyy = the Rome
 * year of reception).
 */
import { createHash } from 'node:crypto';
import canonicalizeCjs from 'canonicalize';
import { and, count, eq, sql } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { createGroupCommit, type Arrival, type GroupCommit } from '../../db/group-commit.js';
import { preparedGet, preparedRun } from './prepared.js';
import { enti } from '../enti/schema.js';
import { addYears } from '../../domain/iso-date.js';
import { raiseAlert } from './alerts.js';
import { registerBlobs } from './blobs.js';
import { esitoOf, negative, parseProfile, type CheckOutcome, type Esito, type ParsedProfile } from './checks/esito.js';
import { checkSipFor } from './checks/check-pool.js';
import type { ConservazioneCtx } from './context.js';
import type { PutResult } from './storage.js';
import { romeDay } from './dates.js';
import { appendEventSync } from './events.js';
import { buildRdv } from './rdv.js';
import { consProfiles, consRdv, consSipFiles, consSips, consSourceLinks, type SipSource, type Submitter } from './schema.js';

type SourceType = (typeof consSourceLinks.$inferInsert)['sourceType'];

const canonicalize = canonicalizeCjs as unknown as (input: unknown) => string | undefined;

export type SipFileRole = 'principale' | 'allegato' | 'annesso';

export interface SipFileInput {
  name: string;
  role: SipFileRole;
  bytes: Uint8Array;
  /** SHA-256 of the bytes as declared by the producer, 64 hex digits. */
  declaredSha256: string;
  declaredMime?: string;
}

export interface IngestInput {
  enteId: number;
  profileCode: string;
  /** Identifies the document within ente + profile (the Identificativo, or `receipt:<id>`). */
  objectKey: string;
  /** Allegato 5 metadata (plan shape: Identificativo, TipologiaDocumentale, Oggetto, DataDocumento, …). */
  metadata: Record<string, unknown>;
  files: SipFileInput[];
  source: SipSource;
  /** Who submits, for the profile's `submitters`: default 'system' for source 'auto', else 'ente'. */
  submitter?: Submitter;
  /** The platform object this PdV preserves (the daily job): linked to the PdV in its transaction when accepted. */
  sourceLink?: { sourceType: SourceType; sourceId: number };
}

export interface IngestResult {
  /** Null only when the profile code is unknown (nothing to attach the PdV to). */
  sipId: number | null;
  urn: string | null;
  status: 'accepted' | 'rejected';
  esito: Esito;
  rdv?: { urn: string; xml: string };
  /** The ticket opened at the third rejection of this object. */
  ticketId?: number | null;
}

export const MAX_REJECTIONS = 3;

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

export function pdvUrn(ipaCode: string, kind: 'pdv' | 'rdv', at: Date, sipId: number): string {
  return `urn:sael-pay:${ipaCode}:${kind}:${romeDay(at).slice(0, 4)}:${sipId}`;
}

/** The PdV index: RFC 8785 canonical JSON of what the producer declared (profile, key, metadata, files). */
export function pdvIndex(ipaCode: string, input: Pick<IngestInput, 'profileCode' | 'objectKey' | 'metadata' | 'files'>): string {
  return canonicalize({
    ente: ipaCode,
    profilo: input.profileCode,
    identificativo: input.objectKey,
    metadati: input.metadata,
    files: input.files.map((f, i) => ({ ordinale: i + 1, nome: f.name, ruolo: f.role, impronta: f.declaredSha256.toLowerCase(), mime: f.declaredMime ?? null })),
  })!;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);

function profileOutcome(profile: ParsedProfile | null, submitter: Submitter, code: string): CheckOutcome | null {
  if (!profile || !profile.active) return negative('profile', 'PROFILE_UNKNOWN', `Il profilo di conservazione «${code}» non esiste o non è attivo.`);
  if (!profile.submitters.includes(submitter)) {
    const who = { system: 'la piattaforma', ente: 'l’ente', sael: 'il S.A.E.L.' }[submitter];
    return negative('profile', 'PROFILE_NOT_ALLOWED', `Con il profilo «${profile.code}» non può versare ${who}.`);
  }
  return null;
}

// The daily job ingests thousands of PdV in a row: its statements are prepared once per database
// (bench/conservazione-ingest.bench.ts: building and preparing them on every call was ~0.6 ms of
// the ~4 ms a receipt took).
const ph = sql.placeholder;
const q = {
  ente: (d: DbLike) => d.select({ id: enti.id, ipaCode: enti.ipaCode, name: enti.name }).from(enti).where(eq(enti.id, ph('id'))).prepare(),
  profile: (d: DbLike) => d.select().from(consProfiles).where(eq(consProfiles.code, ph('code'))).prepare(),
  insertSip: (d: DbLike) =>
      d
        .insert(consSips)
        .values({
          urn: ph('urn'),
          enteId: ph('enteId'),
          profileId: ph('profileId'),
          objectKey: ph('objectKey'),
          source: ph('source'),
          submittedBy: ph('submittedBy'),
          status: ph('status'),
          metadata: ph('metadata'),
          esito: ph('esito'),
          indexSha256: ph('indexSha256'),
          sipSha256: ph('sipSha256'),
          docDate: ph('docDate'),
          iuv: ph('iuv'),
          oggetto: ph('oggetto'),
          receivedAt: ph('receivedAt'),
        })
        .returning({ id: consSips.id })
        .prepare(),
  setUrn: (d: DbLike) => d.update(consSips).set({ urn: sql`${ph('urn')}` }).where(eq(consSips.id, ph('id'))).prepare(),
  insertFile: (d: DbLike) =>
      d
        .insert(consSipFiles)
        .values({
          sipId: ph('sipId'),
          ordinal: ph('ordinal'),
          role: ph('role'),
          name: ph('name'),
          declaredSha256: ph('declaredSha256'),
          actualSha256: ph('actualSha256'),
          sizeBytes: ph('sizeBytes'),
          mime: ph('mime'),
          declaredMime: ph('declaredMime'),
          suitability: ph('suitability'),
          signature: ph('signature'),
          storageKey: ph('storageKey'),
        })
        .prepare(),
  insertLink: (d: DbLike) =>
    d
      .insert(consSourceLinks)
      .values({ sourceType: ph('sourceType'), sourceId: ph('sourceId'), enteId: ph('enteId'), sipId: ph('sipId') })
      .onConflictDoNothing()
      .prepare(),
  insertRdv: (d: DbLike) => d.insert(consRdv).values({ sipId: ph('sipId'), urn: ph('urn'), createdAt: ph('createdAt'), xml: ph('xml'), sha256: ph('sha256') }).prepare(),
};

/**
 * PdV that finish their checks together are written in one transaction, each in its own savepoint
 * (db/group-commit.ts): the daily job keeps several in flight, and one commit per PdV was the
 * biggest single cost of the ingest bench's main thread (BEGIN/COMMIT ~0.25–0.5 ms each).
 */
const groupCommits = new WeakMap<Db, GroupCommit>();
function commitsFor(db: Db): GroupCommit {
  let g = groupCommits.get(db);
  if (!g) groupCommits.set(db, (g = createGroupCommit(db, { maxGroup: 32 })));
  return g;
}

export async function ingestSip(ctx: ConservazioneCtx, input: IngestInput, actor: string): Promise<IngestResult> {
  const ente = await preparedGet(ctx.db, 'cons:ingest-ente', q.ente, { id: input.enteId });
  if (!ente) throw new Error(`ingestSip: ente ${input.enteId} not found`);
  const receivedAt = ctx.now();
  const submitter: Submitter = input.submitter ?? (input.source === 'auto' ? 'system' : 'ente');
  const profileRow = await preparedGet(ctx.db, 'cons:ingest-profile', q.profile, { code: input.profileCode });
  const profile = profileRow ? parseProfile(profileRow) : null;

  const indexText = pdvIndex(ente.ipaCode, input);
  const indexDigest = sha256(indexText);
  const indexSha256 = indexDigest.toString('hex');

  const refused = profileOutcome(profile, submitter, input.profileCode);
  if (!profile) {
    const esito = esitoOf([refused!]);
    await ctx.db.transaction(async (tx) => {
            await appendEventSync(
                      tx,
                      {
                        kind: 'reject',
                        enteId: ente.id,
                        actor,
                        subject: `sip-object:${ente.id}:${input.profileCode}:${input.objectKey}`,
                        details: { profile: input.profileCode, objectKey: input.objectKey, codes: ['PROFILE_UNKNOWN'], indexSha256 },
                      },
                      receivedAt,
                    );
          });
    return { sipId: null, urn: null, status: 'rejected', esito };
  }

  // The checks (B1): one esito for the whole PdV; per file the identified format and signature.
  // A large PdV on the checks' thread (checks/check-pool.ts); the checks compute the files' SHA-256.
  const checked = refused ? null : await checkSipFor({ profile, metadata: input.metadata, files: input.files, now: receivedAt, trustAnchors: ctx.trustAnchors?.() ?? [] });
  const actual = checked ? checked.files.map((f) => Buffer.from(f.actualSha256, 'hex')) : input.files.map((f) => sha256(f.bytes));
  const sipDigest = createHash('sha256');
  sipDigest.update(indexDigest);
  for (const d of actual) sipDigest.update(d);
  const sipSha256 = sipDigest.digest('hex');
  const esito: Esito = refused ? esitoOf([refused]) : checked!.esito;
  const accepted = esito.code === 'OK';
  const fileInfo = input.files.map((_, i) => checked?.files[i]);

  const retainUntil = profile.retentionYears ? new Date(`${addYears(str(input.metadata.DataDocumento) ?? romeDay(receivedAt), profile.retentionYears)}T00:00:00Z`) : undefined;
  // The files go to the store first; their cons_blobs rows are written with the PdV's (below).
  // Announced to the group commit while its files are written: PdV stored together commit together.
  const commits = commitsFor(ctx.db);
  const arrival = commits.expect();
  const puts: PutResult[] = [];
  try {
    if (accepted) for (const f of input.files) puts.push(await ctx.store.put(f.bytes, retainUntil ? { retainUntil } : {}));
  } catch (e) {
    arrival.cancel();
    throw e;
  }

  const docDate = str(input.metadata.DataDocumento);
  const result = await commits.run({ work: async (tx) => {
      const sip = (await preparedGet(tx, 'cons:ingest-sip', q.insertSip, {
          urn: `pending:${indexSha256}:${receivedAt.getTime()}:${Math.random()}`,
          enteId: ente.id,
          profileId: profile.id,
          objectKey: input.objectKey,
          source: input.source,
          submittedBy: actor,
          status: accepted ? 'accepted' : 'rejected',
          metadata: JSON.stringify(input.metadata),
          esito: JSON.stringify(esito),
          indexSha256,
          sipSha256,
          docDate: docDate && /^\d{4}-\d{2}-\d{2}$/.test(docDate) ? docDate : null,
          iuv: str(input.metadata.IUV),
          oggetto: str(input.metadata.Oggetto),
          receivedAt: receivedAt.toISOString(),
        }))!;
      const urn = pdvUrn(ente.ipaCode, 'pdv', receivedAt, sip.id);
      await preparedRun(tx, 'cons:ingest-urn', q.setUrn, { urn, id: sip.id });
      for (const [i, f] of input.files.entries()) {
        const info = fileInfo[i];
        await preparedRun(tx, 'cons:ingest-file', q.insertFile, {
            sipId: sip.id,
            ordinal: i + 1,
            role: f.role,
            name: f.name,
            declaredSha256: f.declaredSha256.toLowerCase(),
            actualSha256: actual[i]!.toString('hex'),
            sizeBytes: f.bytes.length,
            mime: info?.mime ?? null,
            declaredMime: f.declaredMime ?? null,
            suitability: info?.suitability ?? null,
            signature: info?.signature ? JSON.stringify(info.signature) : null,
            storageKey: accepted ? actual[i]!.toString('hex') : null,
          });
      }
      const codes = [...new Set(esito.checks.filter((c) => c.outcome !== 'POSITIVO' && c.outcome !== 'DISABILITATO').map((c) => c.code))];
      if (!accepted) {
        await appendEventSync(
                  tx,
                  { kind: 'reject', enteId: ente.id, actor, subject: `sip:${sip.id}`, details: { urn, profile: profile.code, objectKey: input.objectKey, codes, indexSha256, sipSha256 } },
                  receivedAt,
                );
        const rejections = (await tx
                .select({ n: count() })
                .from(consSips)
                .where(and(eq(consSips.enteId, ente.id), eq(consSips.profileId, profile.id), eq(consSips.objectKey, input.objectKey), eq(consSips.status, 'rejected'))).limit(1))[0]!.n;
        return { sipId: sip.id, urn, rejections, rdv: undefined };
      }
      const ingested = await appendEventSync(
              tx,
              {
                kind: 'ingest',
                enteId: ente.id,
                actor,
                subject: `sip:${sip.id}`,
                details: { urn, profile: profile.code, objectKey: input.objectKey, source: input.source, indexSha256, sipSha256, files: input.files.map((f, i) => ({ name: f.name, sha256: actual[i]!.toString('hex') })), warnings: codes },
              },
              receivedAt,
            );
      const rdvUrn = pdvUrn(ente.ipaCode, 'rdv', receivedAt, sip.id);
      const xml = buildRdv({
        urn: rdvUrn,
        createdAt: receivedAt,
        sipUrn: urn,
        receivedAt,
        indexSha256,
        sipSha256,
        ente: { ipaCode: ente.ipaCode, name: ente.name },
        submittedBy: actor,
        source: input.source,
        objectKey: input.objectKey,
        docDate,
        profileCode: profile.code,
        tipologiaDocumentale: profile.tipologiaDocumentale,
        esito,
        files: input.files.map((f, i) => ({
          ordinal: i + 1,
          role: f.role,
          name: f.name,
          sha256: actual[i]!.toString('hex'),
          declaredSha256: f.declaredSha256.toLowerCase(),
          signed: fileInfo[i]?.signature?.outcome === 'POSITIVO' || fileInfo[i]?.signature?.outcome === 'WARNING',
        })),
      });
      const rdvSha256 = sha256(xml).toString('hex');
      await preparedRun(tx, 'cons:ingest-rdv', q.insertRdv, { sipId: sip.id, urn: rdvUrn, createdAt: receivedAt.toISOString(), xml, sha256: rdvSha256 });
      await registerBlobs(ctx, tx, puts);
      await appendEventSync(tx, { kind: 'rdv', enteId: ente.id, actor, subject: `sip:${sip.id}`, details: { urn: rdvUrn, sha256: rdvSha256 } }, receivedAt, ingested);
      if (input.sourceLink) await preparedRun(tx, 'cons:ingest-link', q.insertLink, { ...input.sourceLink, enteId: ente.id, sipId: sip.id });
      return { sipId: sip.id, urn, rejections: 0, rdv: { urn: rdvUrn, xml } };
    } }, arrival);

  if (result.rdv) {
    return { sipId: result.sipId, urn: result.urn, status: 'accepted', esito, rdv: result.rdv };
  }

  let ticketId: number | null = null;
  if (result.rejections === MAX_REJECTIONS) {
    const alert = await raiseAlert(ctx, {
      kind: 'sip_rejected_3x',
      enteId: ente.id,
      subject: `sip-object:${ente.id}:${profile.code}:${input.objectKey}`,
      message: `Il documento «${input.objectKey}» (profilo ${profile.code}) è stato rifiutato ${MAX_REJECTIONS} volte; ultimo esito: ${esito.message}`,
    });
    ticketId = alert.ticketId;
    if (ticketId !== null) await ctx.db.update(consSips).set({ ticketId }).where(eq(consSips.id, result.sipId));
  }
  return { sipId: result.sipId, urn: result.urn, status: 'rejected', esito, ticketId };
}
