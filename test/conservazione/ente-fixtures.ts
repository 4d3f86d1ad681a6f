/**
 * Preserved documents for the ente pages' tests (part E): PdV rows with their stored files, esito
 * and RdV written straight into the tables (so a test controls dates, esiti and rejections), and
 * the PdA built by the real buildPda / newPdaVersion (SInCRO index validated, sealed by the app's
 * sealer), so the PdD under test carries a real index, signature and time stamp.
 */
import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { enti } from '../../src/modules/enti/schema.js';
import { storeBlob } from '../../src/modules/conservazione/blobs.js';
import { buildPda, newPdaVersion } from '../../src/modules/conservazione/pda.js';
import { consProfiles, consRdv, consSipFiles, consSips } from '../../src/modules/conservazione/schema.js';

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

export interface FixtureFile {
  name: string;
  bytes: Buffer;
  mime: string;
}

export interface FixtureDoc {
  profileCode?: string;
  oggetto: string;
  docDate: string;
  iuv?: string;
  files: FixtureFile[];
  /** Rejected PdV: kept with their esito, never stored nor archived. */
  rejected?: { code: string; message: string };
  receivedAt?: string;
}

export async function ensureProfile(app: FastifyInstance, code: string, name = code): Promise<number> {
  await app.db.insert(consProfiles).values({ code, name, tipologiaDocumentale: name, formats: '[]', requiredMetadata: '[]', retentionYears: 10 }).onConflictDoNothing();
  return (await app.db.select({ id: consProfiles.id }).from(consProfiles).where(eq(consProfiles.code, code)).limit(1))[0]!.id;
}

const PROFILE_NAMES: Record<string, string> = { 'ricevuta-pagopa': 'Ricevuta di pagamento pagoPA', determina: 'Determina' };

/** Inserts the PdV (and, with `archive`, one PdA over the accepted ones). */
export async function preserve(app: FastifyInstance, enteId: number, docs: FixtureDoc[], opts: { archive?: boolean; at?: Date } = {}) {
  const ctx = app.conservazione;
  const ente = (await app.db.select().from(enti).where(eq(enti.id, enteId)).limit(1))[0]!;
  const at = opts.at ?? new Date();
  const sips: { id: number; doc: FixtureDoc; profileId: number; keys: string[] }[] = [];
  for (const doc of docs) {
    const code = doc.profileCode ?? 'ricevuta-pagopa';
    const profileId = await ensureProfile(app, code, PROFILE_NAMES[code] ?? code);
    const keys: string[] = [];
    if (!doc.rejected) for (const f of doc.files) keys.push((await storeBlob(ctx, f.bytes)).key);
    const metadata = { Identificativo: `${code}-${sips.length + 1}`, TipologiaDocumentale: PROFILE_NAMES[code] ?? code, ModalitaDiFormazione: 'c', Oggetto: doc.oggetto, DataDocumento: doc.docDate, NumeroDocumento: `${sips.length + 1}`, ...(doc.iuv ? { IUV: doc.iuv } : {}) };
    const esito = doc.rejected
      ? { code: 'KO', message: 'Versamento rifiutato', checks: [{ check: 'hash', outcome: 'NEGATIVO', code: doc.rejected.code, message: doc.rejected.message, file: doc.files[0]?.name }, { check: 'format', outcome: 'POSITIVO', code: 'OK', message: 'Formato ammesso' }] }
      : { code: 'OK', message: 'Versamento accettato', checks: [{ check: 'hash', outcome: 'POSITIVO', code: 'OK', message: 'Impronta verificata' }, { check: 'format', outcome: 'WARNING', code: 'FORMAT_DEPRECATED', message: 'Formato deprecato (prova)' }] };
    const id = await app.db.transaction(async (tx) => {
          const row = (await tx
                  .insert(consSips)
                  .values({
                    urn: `pending-${Math.random()}`,
                    enteId,
                    profileId,
                    objectKey: `obj-${doc.oggetto}`,
                    source: 'api',
                    submittedBy: 'system',
                    status: doc.rejected ? 'rejected' : 'accepted',
                    metadata: JSON.stringify(metadata),
                    esito: JSON.stringify(esito),
                    indexSha256: sha256(JSON.stringify(metadata)),
                    sipSha256: sha256(doc.files.map((f) => sha256(f.bytes)).join('')),
                    docDate: doc.docDate,
                    iuv: doc.iuv ?? null,
                    oggetto: doc.oggetto,
                    receivedAt: doc.receivedAt ?? at.toISOString(),
                  })
                  .returning({ id: consSips.id }))[0]!;
          await tx.update(consSips).set({ urn: `urn:sael-pay:${ente.ipaCode}:pdv:2026:${row.id}` }).where(eq(consSips.id, row.id));
          for (const [i, f] of doc.files.entries()) {
            await tx
              .insert(consSipFiles)
              .values({ sipId: row.id, ordinal: i, role: i === 0 ? 'principale' : 'allegato', name: f.name, declaredSha256: sha256(f.bytes), actualSha256: sha256(f.bytes), sizeBytes: f.bytes.length, mime: f.mime, storageKey: doc.rejected ? null : sha256(f.bytes) });
          }
          if (!doc.rejected) {
            const xml = `<?xml version="1.0" encoding="UTF-8"?><RapportoVersamento><URN>urn:sael-pay:${ente.ipaCode}:rdv:2026:${row.id}</URN></RapportoVersamento>`;
            await tx.insert(consRdv).values({ sipId: row.id, urn: `urn:sael-pay:${ente.ipaCode}:rdv:2026:${row.id}`, createdAt: at.toISOString(), xml, sha256: sha256(xml) });
          }
          return row.id;
        });
    sips.push({ id, doc, profileId, keys });
  }
  const accepted = sips.filter((s) => !s.doc.rejected);
  if (!opts.archive || accepted.length === 0) return { sipIds: sips.map((s) => s.id), aipId: null as number | null };
  const aipId = await archive(app, enteId, accepted.map((s) => ({ sipId: s.id, doc: s.doc })), { at });
  return { sipIds: sips.map((s) => s.id), aipId };
}

/**
 * One sealed PdA over these (accepted) PdV through the real buildPda (helper C), or — with
 * `previous` — a new version of the one document's PdA with changed metadata (newPdaVersion).
 */
export async function archive(app: FastifyInstance, enteId: number, items: { sipId: number; doc: FixtureDoc }[], opts: { at?: Date; previous?: number } = {}) {
  const ctx = app.conservazione;
  if (opts.previous) {
    const { sipId, doc } = items[0]!;
    const md = JSON.parse((await app.db.select({ m: consSips.metadata }).from(consSips).where(eq(consSips.id, sipId)).limit(1))[0]!.m) as Record<string, unknown>;
    return (await newPdaVersion(ctx, { sipId, metadata: { ...md, Oggetto: doc.oggetto }, actor: 'test' })).aipId;
  }
  const profileId = (await app.db.select({ p: consSips.profileId }).from(consSips).where(eq(consSips.id, items[0]!.sipId)).limit(1))[0]!.p;
  return (await buildPda(ctx, { enteId, profileId, sipIds: items.map((i) => i.sipId), actor: 'test' })).aipId;
}

/** A ZIP's entries from its central directory (yazl writes data descriptors for streamed files). */
export function unzip(zip: Buffer): Map<string, Buffer> {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('no end of central directory: truncated ZIP');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('bad central directory');
    const method = zip.readUInt16LE(at + 10);
    const csize = zip.readUInt32LE(at + 20);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLen);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + csize);
    out.set(name, method === 8 ? inflateRawSync(raw) : Buffer.from(raw));
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}
