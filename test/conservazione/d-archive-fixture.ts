/**
 * Part D's test archive: documents (accepted PdV with stored files) and PdA sealed with a test
 * sealer, written straight into the tables as the ingest (B2) and PdA (C) code would, so that
 * verify and scarto are tested on their own.
 */
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { ConservazioneCtx } from '../../src/modules/conservazione/context.js';
import type { Sealer } from '../../src/modules/conservazione/sealing.js';
import { storeBlob } from '../../src/modules/conservazione/blobs.js';
import { appendEventSync } from '../../src/modules/conservazione/events.js';
import { consAipDocuments, consAips, consProfiles, consSipFiles, consSips } from '../../src/modules/conservazione/schema.js';
import { enti } from '../../src/modules/enti/schema.js';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
let serial = 0;

export async function memberEnti(ctx: ConservazioneCtx): Promise<{ id: number; name: string; ipaCode: string | null }[]> {
  return await ctx.db.select({ id: enti.id, name: enti.name, ipaCode: enti.ipaCode }).from(enti).where(eq(enti.kind, 'comune')).limit(2);
}

export async function ensureProfile(ctx: ConservazioneCtx, code: string, retentionYears: number | null = 10): Promise<number> {
  const found = (await ctx.db.select({ id: consProfiles.id }).from(consProfiles).where(eq(consProfiles.code, code)).limit(1))[0];
  if (found) return found.id;
  return (await ctx.db
      .insert(consProfiles)
      .values({ code, name: `Profilo ${code}`, tipologiaDocumentale: 'Determina', formats: JSON.stringify([{ mime: 'application/pdf', label: 'PDF', suitability: 'IDONEO' }]), requiredMetadata: '["Oggetto"]', retentionYears })
      .returning({ id: consProfiles.id }))[0]!.id;
}

/** An accepted PdV with its files stored (a file's bytes may be shared with another document). */
export async function addDocument(ctx: ConservazioneCtx, enteId: number, profileId: number, files: string[]): Promise<{ sipId: number; keys: string[] }> {
  const keys: string[] = [];
  for (const f of files) keys.push((await storeBlob(ctx, Buffer.from(f))).key);
  const n = ++serial;
  const at = ctx.now();
  const sipId = await ctx.db.transaction(async (tx) => {
      const sip = (await tx
            .insert(consSips)
            .values({
              urn: `urn:sael-pay:test:pdv:2026:${n}-${Date.now()}`,
              enteId,
              profileId,
              objectKey: `doc-${n}`,
              source: 'api',
              submittedBy: 'system',
              status: 'accepted',
              metadata: JSON.stringify({ Identificativo: `doc-${n}`, Oggetto: `Documento ${n}` }),
              esito: JSON.stringify({ code: 'OK', message: 'ok', checks: [] }),
              indexSha256: sha(`index-${n}`),
              sipSha256: sha(`sip-${n}`),
              oggetto: `Documento ${n}`,
              receivedAt: at.toISOString(),
            })
            .returning({ id: consSips.id }))[0]!;
      for (const [i, f] of files.entries()) {
        await tx.insert(consSipFiles).values({ sipId: sip.id, ordinal: i + 1, role: i === 0 ? 'principale' : 'allegato', name: `file${i + 1}.pdf`, declaredSha256: keys[i]!, actualSha256: keys[i]!, sizeBytes: Buffer.byteLength(f), mime: 'application/pdf', storageKey: keys[i]! });
      }
      await appendEventSync(tx, { kind: 'ingest', enteId, actor: 'system', subject: `sip:${sip.id}` }, at);
      return sip.id;
    });
  return { sipId, keys };
}

/** A sealed PdA over these documents. */
export async function addAip(ctx: ConservazioneCtx, sealer: Sealer, input: { enteId: number; profileId: number; sipIds: number[]; retentionUntil: string | null }): Promise<{ aipId: number; keys: string[] }> {
  const n = ++serial;
  const index = Buffer.from(`<PIndex n="${n}">${input.sipIds.map((s) => `<FileGroup sip="${s}"/>`).join('')}</PIndex>`);
  const seal = await sealer.seal(index);
  const [i, s, t] = [await storeBlob(ctx, index), await storeBlob(ctx, seal.signature), await storeBlob(ctx, seal.timestampToken)];
  const at = ctx.now();
  const aipId = await ctx.db.transaction(async (tx) => {
      const aip = (await tx
            .insert(consAips)
            .values({
              urn: `urn:sael-pay:test:pda:2026:${n}-${Date.now()}`,
              enteId: input.enteId,
              profileId: input.profileId,
              documents: input.sipIds.length,
              indexKey: i.key,
              indexSha256: i.key,
              signatureKey: s.key,
              timestampKey: t.key,
              timestampedAt: seal.timestampedAt.toISOString(),
              signerSubject: seal.signerSubject,
              retentionUntil: input.retentionUntil,
              createdAt: at.toISOString(),
            })
            .returning({ id: consAips.id }))[0]!;
      for (const [k, sipId] of input.sipIds.entries()) await tx.insert(consAipDocuments).values({ aipId: aip.id, sipId, fileGroupId: `FG${k + 1}`, metadata: '{}' });
      await appendEventSync(tx, { kind: 'pda', enteId: input.enteId, actor: 'system', subject: `aip:${aip.id}` }, at);
      return aip.id;
    });
  return { aipId, keys: [i.key, s.key, t.key] };
}
