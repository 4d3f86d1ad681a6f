/**
 * Preserved documents for the ente pages' tests (part E), written straight into the tables: PdV
 * rows with their stored files and RdV, and a PdA whose SInCRO index is built by buildPIndex
 * (validated) and sealed by the app's own sealer (`app.conservazione.sealer()`), so the PdD under
 * test carries a real signature and time stamp.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { enti } from '../../src/modules/enti/schema.js';
import { storeBlob } from '../../src/modules/conservazione/blobs.js';
import { buildPIndex, conservatorAgent, type DocumentInput } from '../../src/modules/conservazione/pindex.js';
import { validatePIndex } from '../../src/modules/conservazione/pindex-validate.js';
import { consAipDocuments, consAips, consProfiles, consRdv, consSipFiles, consSips } from '../../src/modules/conservazione/schema.js';

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

export function ensureProfile(app: FastifyInstance, code: string, name = code): number {
  app.db.insert(consProfiles).values({ code, name, tipologiaDocumentale: name, formats: '[]', requiredMetadata: '[]', retentionYears: 10 }).onConflictDoNothing().run();
  return app.db.select({ id: consProfiles.id }).from(consProfiles).where(eq(consProfiles.code, code)).get()!.id;
}

const PROFILE_NAMES: Record<string, string> = { 'ricevuta-pagopa': 'Ricevuta di pagamento pagoPA', determina: 'Determina' };

/** Inserts the PdV (and, with `archive`, one PdA over the accepted ones). */
export async function preserve(app: FastifyInstance, enteId: number, docs: FixtureDoc[], opts: { archive?: boolean; at?: Date } = {}) {
  const ctx = app.conservazione;
  const ente = app.db.select().from(enti).where(eq(enti.id, enteId)).get()!;
  const at = opts.at ?? new Date();
  const sips: { id: number; doc: FixtureDoc; profileId: number; keys: string[] }[] = [];
  for (const doc of docs) {
    const code = doc.profileCode ?? 'ricevuta-pagopa';
    const profileId = ensureProfile(app, code, PROFILE_NAMES[code] ?? code);
    const keys: string[] = [];
    if (!doc.rejected) for (const f of doc.files) keys.push((await storeBlob(ctx, f.bytes)).key);
    const metadata = { Identificativo: `${code}-${sips.length + 1}`, TipologiaDocumentale: PROFILE_NAMES[code] ?? code, ModalitaDiFormazione: 'c', Oggetto: doc.oggetto, DataDocumento: doc.docDate, ...(doc.iuv ? { IUV: doc.iuv } : {}) };
    const esito = doc.rejected
      ? { code: 'KO', message: 'Versamento rifiutato', checks: [{ check: 'hash', outcome: 'NEGATIVO', code: doc.rejected.code, message: doc.rejected.message, file: doc.files[0]?.name }, { check: 'format', outcome: 'POSITIVO', code: 'OK', message: 'Formato ammesso' }] }
      : { code: 'OK', message: 'Versamento accettato', checks: [{ check: 'hash', outcome: 'POSITIVO', code: 'OK', message: 'Impronta verificata' }, { check: 'format', outcome: 'WARNING', code: 'FORMAT_DEPRECATED', message: 'Formato deprecato (prova)' }] };
    const id = app.db.transaction((tx) => {
      const row = tx
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
        .returning({ id: consSips.id })
        .get();
      tx.update(consSips).set({ urn: `urn:sael-pay:${ente.ipaCode}:pdv:2026:${row.id}` }).where(eq(consSips.id, row.id)).run();
      doc.files.forEach((f, i) =>
        tx
          .insert(consSipFiles)
          .values({ sipId: row.id, ordinal: i, role: i === 0 ? 'principale' : 'allegato', name: f.name, declaredSha256: sha256(f.bytes), actualSha256: sha256(f.bytes), sizeBytes: f.bytes.length, mime: f.mime, storageKey: doc.rejected ? null : sha256(f.bytes) })
          .run(),
      );
      if (!doc.rejected) {
        const xml = `<?xml version="1.0" encoding="UTF-8"?><RapportoVersamento><URN>urn:sael-pay:${ente.ipaCode}:rdv:2026:${row.id}</URN></RapportoVersamento>`;
        tx.insert(consRdv).values({ sipId: row.id, urn: `urn:sael-pay:${ente.ipaCode}:rdv:2026:${row.id}`, createdAt: at.toISOString(), xml, sha256: sha256(xml) }).run();
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

/** One sealed PdA over these (accepted) PdV, optionally a new version of `previous`. */
export async function archive(app: FastifyInstance, enteId: number, items: { sipId: number; doc: FixtureDoc }[], opts: { at?: Date; previous?: number } = {}) {
  const ctx = app.conservazione;
  const ente = app.db.select().from(enti).where(eq(enti.id, enteId)).get()!;
  const at = opts.at ?? new Date();
  const profileId = app.db.select({ p: consSips.profileId }).from(consSips).where(eq(consSips.id, items[0]!.sipId)).get()!.p;
  const documents: DocumentInput[] = items.map(({ sipId, doc }) => ({
    id: `PDV-${sipId}`,
    files: doc.files.map((f, i) => ({ id: `PDV-${sipId}-${i + 1}`, path: `PDV-${sipId}/${f.name}`, mimeType: f.mime, sha256: sha256(f.bytes), sizeBytes: f.bytes.length, name: f.name, role: i === 0 ? 'Contenuto' : 'Allegato' })),
    metadata: {
      identificativo: `PDV-${sipId}`,
      modalitaDiFormazione: 'c',
      tipologiaDocumentale: 'Ricevuta di pagamento pagoPA',
      datiDiRegistrazione: { tipologiaDiFlusso: 'E', tipoRegistro: { kind: 'Nessuno', dataDocumento: doc.docDate } },
      soggetti: [{ ruolo: 'Produttore', tipo: 'PAI', denominazione: ente.name, codiceIPA: ente.ipaCode }],
      chiaveDescrittiva: { oggetto: doc.oggetto },
      riservato: false,
      formato: doc.files[0]!.mime,
      verifica: { firmatoDigitalmente: false, sigillatoElettronicamente: false, marcaturaTemporale: false, conformitaCopieImmagineSuSupportoInformatico: false },
      nomeDelDocumento: doc.files[0]!.name,
      versioneDelDocumento: '1',
    },
  }));
  const agent = { type: 'legal person' as const, formalName: ente.name, agentIds: [`VATIT-${ente.fiscalCode}`], relevantDocuments: [{ text: 'Adesione al servizio di conservazione' }] };
  const pending = `pending-${Math.random()}`;
  const xml = buildPIndex({
    pdaId: pending,
    createdAt: at,
    volume: { id: `UD-${items[0]!.sipId}`, versatore: { ambiente: 'SAEL', ente: ente.name, struttura: ente.ipaCode, userId: 'test' }, tipologia: 'Ricevuta di pagamento pagoPA' },
    documents,
    submitter: agent,
    holders: [{ ...agent, role: 'soggetto produttore' }],
    signers: [conservatorAgent('00139600704')],
  });
  const valid = validatePIndex(xml);
  if (!valid.valid) throw new Error(`fixture index invalid: ${valid.errors.join('; ')}`);
  const sealer = await ctx.sealer();
  if (!sealer) throw new Error('no sealer');
  const bytes = Buffer.from(xml, 'utf8');
  const seal = await sealer.seal(bytes);
  const [ix, sg, ts] = [await storeBlob(ctx, bytes), await storeBlob(ctx, seal.signature), await storeBlob(ctx, seal.timestampToken)];
  return app.db.transaction((tx) => {
    const version = opts.previous ? tx.select({ v: consAips.version }).from(consAips).where(eq(consAips.id, opts.previous)).get()!.v + 1 : 1;
    const row = tx
      .insert(consAips)
      .values({
        urn: pending,
        enteId,
        profileId,
        version,
        previousAipId: opts.previous ?? null,
        documents: items.length,
        indexKey: ix.key,
        indexSha256: ix.key,
        signatureKey: sg.key,
        timestampKey: ts.key,
        timestampedAt: seal.timestampedAt.toISOString(),
        signerSubject: seal.signerSubject,
        retentionUntil: '2036-12-31',
        createdAt: at.toISOString(),
      })
      .returning({ id: consAips.id })
      .get();
    tx.update(consAips).set({ urn: `urn:sael-pay:${ente.ipaCode}:pda:2026:${row.id}${version > 1 ? `:v${version}` : ''}` }).where(eq(consAips.id, row.id)).run();
    if (opts.previous) {
      tx.update(consAips).set({ status: 'superseded' }).where(eq(consAips.id, opts.previous)).run();
      tx.update(consAipDocuments).set({ current: false }).where(eq(consAipDocuments.aipId, opts.previous)).run();
    }
    for (const { sipId, doc } of items)
      tx.insert(consAipDocuments).values({ aipId: row.id, sipId, fileGroupId: `PDV-${sipId}`, metadata: JSON.stringify({ Oggetto: doc.oggetto, DataDocumento: doc.docDate, ...(doc.iuv ? { IUV: doc.iuv } : {}) }) }).run();
    return row.id;
  });
}
