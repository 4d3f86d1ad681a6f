/**
 * PdA (pacchetti di archiviazione; issue #16 item 4): a batch of accepted documents (PdV) of one
 * ente and profile under one SInCRO v2 PIndex (pindex.ts), validated against the official XSD
 * (pindex-validate.ts: it MUST pass), signed CAdES-detached and time-stamped by the sealer; the
 * index, its `.p7s` and `.tsr` stored through storeBlob; cons_aips + cons_aip_documents + the event
 * 'pda' written in one transaction.
 *
 * The index: one FileGroup per document (`doc-<sipId>`), its files (`doc-<sipId>-<ordinal>`, path
 * {@link pdaFilePath}, SHA-256) and the Allegato 5 metadata (from the PdV's flat JSON,
 * {@link toAllegato5}) in MoreInfo; Submitter and Holder (soggetto produttore) = the ente
 * (`VATIT-<codice fiscale>`); AuthorizedSigner = the conservator (the Province, S.A.E.L.).
 *
 * A metadata change ({@link newPdaVersion}) makes a new PdA (version + 1, previousAipId) holding
 * that document, whose index names the previous one (PIndexSource, and PreviousHash on every
 * file); the previous cons_aip_documents row becomes current = false and the previous PdA
 * `superseded` once none of its documents is current.
 *
 * URN: `urn:sael-pay:<ipaCode>:pda:<yyyy>:<aipId>` (`:v<n>` from version 2), yyyy = the Rome
 * year of creation. The id is reserved before sealing (the URN is inside the signed index,
 * reserveAipId), and the primary key refuses a clash with another process. Up to
 * {@link PDA_CONCURRENCY} PdA are sealed at once, their indexes built and validated on worker
 * threads (pindex-thread.ts) when they are large.
 */
import { dialectOf, sqlGet } from '../../db/raw.js';
import { and, asc, eq, inArray, max } from 'drizzle-orm';
import { addYears } from '../../domain/iso-date.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import { storeBlob } from './blobs.js';
import { validateMetadata } from './checks/metadata.js';
import type { ConservazioneCtx } from './context.js';
import { romeDay } from './dates.js';
import { appendEventSync } from './events.js';
import {
  conservatorAgent,
  CONSERVATOR_NAME,
  MODALITA_DI_FORMAZIONE,
  type AgentInput,
  type Allegato5Metadata,
  type DocumentInput,
  type FileInput,
  type PIndexInput,
  type SoggettoInput,
} from './pindex.js';
import { buildValidatedIndex } from './pindex-build.js';
import { buildIndexOffThread, INDEX_THREADS } from './pindex-thread.js';
import { consAipDocuments, consAips, consProfiles, consSipFiles, consSips } from './schema.js';
import { affectedRows } from '../../db/client.js';
import { clip } from '../pagopa/soap.js';

/** Rows of cons_aip_documents per INSERT statement. */
const DOCS_PER_INSERT = 500;

/** At most this many documents in one PdA. */
export const MAX_PDA_DOCUMENTS = 5000;

export class PdaError extends Error {
  override name = 'PdaError';
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** The PdA's index did not validate: something in its documents' data (a 500: they were accepted). */
export class PdaIndexError extends PdaError {
  override name = 'PdaIndexError';
  constructor(message: string) {
    super(message, 500);
  }
}

type Ente = typeof enti.$inferSelect;
type Profile = typeof consProfiles.$inferSelect;
type Sip = typeof consSips.$inferSelect;
type SipFile = typeof consSipFiles.$inferSelect;

export interface PdaResult {
  aipId: number;
  urn: string;
  version: number;
  documents: number;
  indexSha256: string;
  retentionUntil: string | null;
}

export function pdaUrn(ipaCode: string, at: Date, aipId: number, version = 1): string {
  return `urn:sael-pay:${ipaCode}:pda:${romeDay(at).slice(0, 4)}:${aipId}${version > 1 ? `:v${version}` : ''}`;
}

/** Path of a document's file inside the PdA (the index's File/Path; the PdD uses the same). */
export function pdaFilePath(sipId: number, ordinal: number, name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 120) || 'file';
  return `documenti/${sipId}/${ordinal}-${safe}`;
}

// ---------------------------------------------------------------- the flat metadata → Allegato 5

interface FlatSoggetto {
  ruolo?: string;
  tipo?: string;
  denominazione?: string;
  nome?: string;
  cognome?: string;
  codiceFiscale?: string;
  ipa?: string;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

function soggetto(s: FlatSoggetto, ente: Ente): SoggettoInput {
  const ruolo = (s.ruolo ?? 'Autore') as SoggettoInput['ruolo'];
  const den = text(s.denominazione);
  switch (s.tipo) {
    case 'PF': {
      const parts = (den ?? '').split(/\s+/).filter(Boolean);
      return { ruolo, tipo: 'PF', nome: text(s.nome) ?? parts[0] ?? 'N.D.', cognome: text(s.cognome) ?? (parts.slice(1).join(' ') || (text(s.codiceFiscale) ?? 'N.D.')), codiceFiscale: text(s.codiceFiscale) };
    }
    case 'PAI':
      return { ruolo, tipo: 'PAI', denominazione: den ?? ente.name, codiceIPA: text(s.ipa) ?? ente.ipaCode };
    case 'PAE':
    case 'AS':
      return { ruolo, tipo: s.tipo, denominazione: den ?? 'N.D.' };
    case 'SW':
      return { ruolo, tipo: 'SW', nome: den ?? text(s.nome) ?? 'N.D.' };
    default:
      return { ruolo, tipo: 'PG', denominazione: den ?? 'N.D.', partitaIvaOCodiceFiscale: text(s.codiceFiscale) };
  }
}

/** The files of a document in index order: the principale first (its hash is the Allegato 5 impronta). */
function ordered(files: SipFile[]): SipFile[] {
  const rank = { principale: 0, allegato: 1, annesso: 2 } as const;
  return [...files].sort((a, b) => rank[a.role] - rank[b.role] || a.ordinal - b.ordinal);
}

/** The Allegato 5 metadata of one document, from the PdV's flat JSON (plan shape) and its files. */
export function toAllegato5(md: Record<string, unknown>, doc: { sip: Pick<Sip, 'id' | 'objectKey'>; files: SipFile[]; ente: Ente; profile: Pick<Profile, 'tipologiaDocumentale' | 'retentionYears'>; version: number }): Allegato5Metadata {
  const files = ordered(doc.files);
  const main = files[0]!;
  const identificativo = text(md.Identificativo) ?? doc.sip.objectKey;
  const mod = text(md.ModalitaDiFormazione);
  const flusso = text(md.TipologiaDiFlusso);
  const soggetti = Array.isArray(md.Soggetti) && md.Soggetti.length ? (md.Soggetti as FlatSoggetto[]).map((s) => soggetto(s, doc.ente)) : [];
  if (!soggetti.length) soggetti.push({ ruolo: 'AmministrazioneCheEffettuaLaRegistrazione', tipo: 'PAI', denominazione: doc.ente.name, codiceIPA: doc.ente.ipaCode });
  const parole = Array.isArray(md.ParoleChiave) ? (md.ParoleChiave as unknown[]).map(text).filter((x): x is string => !!x).slice(0, 5) : [];
  const iuv = text(md.IUV);
  if (iuv && parole.length < 5 && !parole.includes(`IUV ${iuv}`)) parole.push(`IUV ${iuv}`);
  const signed = main.signature ? (JSON.parse(main.signature) as { format?: string | null; outcome?: string }) : null;
  const tempo = typeof md.TempoDiConservazione === 'number' ? md.TempoDiConservazione : (doc.profile.retentionYears ?? undefined);
  const classificazione = text(md.Classificazione);
  const dataDocumento = text(md.DataDocumento);
  if (!dataDocumento) throw new PdaError(`documento ${doc.sip.id}: DataDocumento mancante`);
  return {
    identificativo,
    modalitaDiFormazione: mod && mod in MODALITA_DI_FORMAZIONE ? (mod as keyof typeof MODALITA_DI_FORMAZIONE) : 'a',
    tipologiaDocumentale: text(md.TipologiaDocumentale) ?? doc.profile.tipologiaDocumentale,
    datiDiRegistrazione: {
      tipologiaDiFlusso: flusso === 'E' || flusso === 'U' || flusso === 'I' ? flusso : 'I',
      tipoRegistro: { kind: 'Nessuno', dataDocumento, numeroDocumento: text(md.NumeroDocumento) },
    },
    soggetti,
    chiaveDescrittiva: { oggetto: text(md.Oggetto) ?? identificativo, paroleChiave: parole },
    allegati: files.slice(1).map((f) => ({ idDoc: `${identificativo}#${f.ordinal}`, descrizione: f.name })),
    ...(classificazione ? { classificazione: { indice: classificazione, descrizione: classificazione } } : {}),
    riservato: md.Riservato === true,
    formato: main.mime ?? main.declaredMime ?? 'application/octet-stream',
    verifica: {
      firmatoDigitalmente: !!signed?.format && (signed.outcome === 'POSITIVO' || signed.outcome === 'WARNING'),
      sigillatoElettronicamente: false,
      marcaturaTemporale: false,
      conformitaCopieImmagineSuSupportoInformatico: false,
    },
    nomeDelDocumento: main.name,
    versioneDelDocumento: String(doc.version),
    ...(typeof tempo === 'number' && Number.isInteger(tempo) && tempo >= 1 && tempo <= 9999 ? { tempoDiConservazione: tempo } : {}),
    ...(text(md.Note) ? { note: text(md.Note) } : {}),
  };
}

function extension(name: string): string | undefined {
  const m = /\.([A-Za-z0-9]{1,10})$/.exec(name);
  return m ? m[1]!.toLowerCase() : undefined;
}

// ---------------------------------------------------------------- building and sealing

/** The last PdA id this process reserved, per database (SQLite, below). */
const lastReserved = new WeakMap<object, number>();

/**
 * The next PdA id, reserved before the asynchronous sealing (the URN carries it). SQLite: one
 * writer process, so max + 1, or past the last id this process reserved for a PdA still being
 * sealed. PostgreSQL: the table's identity sequence, which two processes never hand out twice
 * (max + 1 could: both would seal a PdA and the second insert fail on the key).
 */
async function reserveAipId(ctx: ConservazioneCtx): Promise<number> {
  if (dialectOf(ctx.db) === 'postgres') {
    const row = await sqlGet<{ id: number }>(ctx.db, "SELECT nextval(pg_get_serial_sequence('cons_aips', 'id')) AS id");
    return Number(row!.id);
  }
  const stored = (await ctx.db.select({ n: max(consAips.id) }).from(consAips).limit(1))[0]?.n ?? 0;
  const id = Math.max(stored, lastReserved.get(ctx.db) ?? 0) + 1;
  lastReserved.set(ctx.db, id);
  return id;
}

/**
 * PdA sealed at once in this process: one per index thread (pindex-thread.ts), so that two
 * indexes are built on two cores while the main thread signs, stores and records the others.
 */
export const PDA_CONCURRENCY = INDEX_THREADS;

/** Indexes of fewer documents are built on the main thread (a few milliseconds: less than a post to a thread). */
export const OFF_THREAD_DOCUMENTS = 100;

let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= PDA_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next(); // the slot passes on
    else running--;
  }
}

function enteAgent(ente: Ente): AgentInput {
  return { type: 'legal person', formalName: ente.name, agentIds: [`VATIT-${ente.fiscalCode}`], relevantDocuments: [{ text: 'Convenzione con la Provincia di Campobasso per il servizio di conservazione S.A.E.L.' }] };
}

async function signerAgent(ctx: ConservazioneCtx): Promise<AgentInput & { role: string }> {
  const province = (await ctx.db.select({ fiscalCode: enti.fiscalCode }).from(enti).where(eq(enti.kind, 'provincia')).orderBy(asc(enti.id)).limit(1))[0];
  if (province) return conservatorAgent(province.fiscalCode);
  return { type: 'legal person', formalName: CONSERVATOR_NAME, relevantDocuments: [{ text: 'Manuale di conservazione' }], role: 'Conservatore' };
}

interface Doc {
  sip: Sip;
  files: SipFile[];
  metadata: Record<string, unknown>;
}

interface SealInput {
  ente: Ente;
  profile: Profile;
  docs: Doc[];
  version: number;
  actor: string;
  previous?: typeof consAips.$inferSelect;
  /** Rows to mark current = false in the same transaction (new version). */
  supersede?: { aipDocumentId: number; aipId: number };
}

/** The last day of retention: the latest DataDocumento + the years (the document's, else the profile's); null when any is illimitato. */
function retentionOf(docs: Doc[], profile: Profile): string | null {
  let latest: string | null = null;
  for (const d of docs) {
    const years = typeof d.metadata.TempoDiConservazione === 'number' ? d.metadata.TempoDiConservazione : profile.retentionYears;
    if (years === null || years === undefined) return null;
    const date = text(d.metadata.DataDocumento) ?? d.sip.docDate ?? romeDay(new Date(d.sip.receivedAt));
    const until = addYears(date, years);
    if (!latest || until > latest) latest = until;
  }
  return latest;
}

async function sealAndStore(ctx: ConservazioneCtx, input: SealInput): Promise<PdaResult> {
  const sealer = await ctx.sealer();
  if (!sealer) throw new PdaError('firma del conservatore non configurata (CONSERVAZIONE_SIGNER_* / CONSERVAZIONE_TSA_*): impossibile creare il PdA', 503);
  const { ente, profile, docs, version, previous } = input;
  return limited(async () => {
    const createdAt = ctx.now();
    const aipId = await reserveAipId(ctx);
    const urn = pdaUrn(ente.ipaCode, createdAt, aipId, version);
    const documents: DocumentInput[] = docs.map((d) => {
      const files = ordered(d.files);
      return {
        id: `doc-${d.sip.id}`,
        // 250 code points, not UTF-16 units: a cut between an emoji's two halves cannot be written as XML
        label: clip(text(d.metadata.Oggetto), 250),
        description: d.sip.urn,
        files: files.map(
          (f): FileInput => ({
            id: `doc-${d.sip.id}-${f.ordinal}`,
            path: pdaFilePath(d.sip.id, f.ordinal, f.name),
            mimeType: f.mime ?? f.declaredMime ?? 'application/octet-stream',
            extension: extension(f.name),
            sha256: f.actualSha256,
            sizeBytes: f.sizeBytes,
            name: f.name,
            role: f.role === 'principale' ? 'Contenuto' : f.role === 'allegato' ? 'Allegato' : 'Annesso',
            ...(previous ? { previous: { pindexId: previous.urn, sha256: f.actualSha256 } } : {}),
          }),
        ),
        metadata: toAllegato5(d.metadata, { sip: d.sip, files: d.files, ente, profile, version }),
      };
    });
    const single = docs.length === 1 ? docs[0]! : null;
    const index: PIndexInput = {
      pdaId: urn,
      createdAt,
      volume: {
        id: `${urn}:volume`,
        label: `${profile.name} – ${ente.name}`,
        description: single ? `PdA di un documento (versione ${version})` : `PdA di ${docs.length} documenti`,
        versatore: { ambiente: ctx.config.isProduction ? 'PRODUZIONE' : 'DEMO', ente: ente.ipaCode, struttura: ente.name, userId: input.actor },
        urn,
        tipologia: profile.tipologiaDocumentale,
        ...(single && text(single.metadata.Oggetto) && text(single.metadata.DataDocumento)
          ? { oggetto: text(single.metadata.Oggetto)!, data: text(single.metadata.DataDocumento)! }
          : {}),
      },
      documents,
      submitter: enteAgent(ente),
      holders: [{ ...enteAgent(ente), role: 'soggetto produttore' }],
      signers: [await signerAgent(ctx)],
      ...(previous ? { previous: { pindexId: previous.urn, path: previous.urn, sha256: previous.indexSha256 } } : {}),
    };
    const built = docs.length >= OFF_THREAD_DOCUMENTS ? await buildIndexOffThread(index) : buildValidatedIndex(index);
    if (!built.valid) throw new PdaIndexError(`indice del PdA non conforme a SInCRO: ${built.errors.slice(0, 5).join('; ')}`);
    const indexBytes = built.bytes;
    const indexSha256 = built.sha256;
    const seal = await sealer.seal(indexBytes);
    const retentionUntil = retentionOf(docs, profile);
    const retain = retentionUntil ? { retainUntil: new Date(`${retentionUntil}T00:00:00Z`) } : {};
    const indexBlob = await storeBlob(ctx, indexBytes, retain);
    const sigBlob = await storeBlob(ctx, seal.signature, retain);
    const tsBlob = await storeBlob(ctx, seal.timestampToken, retain);
    const at = createdAt.toISOString();
    await ctx.db.transaction(async (tx) => {
            await tx.insert(consAips)
                      .values({
                        id: aipId,
                        urn,
                        enteId: ente.id,
                        profileId: profile.id,
                        version,
                        previousAipId: previous?.id ?? null,
                        status: 'active',
                        documents: docs.length,
                        indexKey: indexBlob.key,
                        indexSha256,
                        signatureKey: sigBlob.key,
                        timestampKey: tsBlob.key,
                        timestampedAt: seal.timestampedAt.toISOString(),
                        signerSubject: seal.signerSubject,
                        retentionUntil,
                        createdAt: at,
                      });
            // 500 rows a statement (5 parameters each): one statement built and prepared per
            // chunk instead of per document (a PdA holds up to 5000)
            for (let i = 0; i < docs.length; i += DOCS_PER_INSERT) {
              await tx.insert(consAipDocuments).values(
                docs.slice(i, i + DOCS_PER_INSERT).map((d) => ({ aipId, sipId: d.sip.id, fileGroupId: `doc-${d.sip.id}`, metadata: JSON.stringify(d.metadata), current: true })),
              );
            }
            if (input.supersede) {
              const changed = affectedRows(await tx
                        .update(consAipDocuments)
                        .set({ current: false })
                        .where(and(eq(consAipDocuments.id, input.supersede.aipDocumentId), eq(consAipDocuments.current, true))));
              if (changed !== 1) throw new PdaError('il documento è già stato modificato da un’altra richiesta: riprova', 409);
              const stillCurrent = (await tx
                        .select({ id: consAipDocuments.id })
                        .from(consAipDocuments)
                        .where(and(eq(consAipDocuments.aipId, input.supersede.aipId), eq(consAipDocuments.current, true)))
                        .limit(1))[0];
              if (!stillCurrent) await tx.update(consAips).set({ status: 'superseded' }).where(eq(consAips.id, input.supersede.aipId));
            }
            await appendEventSync(
                      tx,
                      {
                        kind: 'pda',
                        enteId: ente.id,
                        actor: input.actor,
                        subject: `aip:${aipId}`,
                        details: {
                          urn,
                          profile: profile.code,
                          version,
                          previousAipId: previous?.id ?? null,
                          documents: docs.length,
                          sipIds: docs.map((d) => d.sip.id),
                          indexSha256,
                          signatureSha256: sigBlob.key,
                          timestampSha256: tsBlob.key,
                          timestampedAt: seal.timestampedAt.toISOString(),
                          retentionUntil,
                        },
                      },
                      createdAt,
                    );
          });
    return { aipId, urn, version, documents: docs.length, indexSha256, retentionUntil };
  });
}

async function loadDocs(ctx: ConservazioneCtx, sipIds: number[]): Promise<Doc[]> {
  const sips = new Map<number, Sip>();
  for (let i = 0; i < sipIds.length; i += 500) {
    for (const s of await ctx.db.select().from(consSips).where(inArray(consSips.id, sipIds.slice(i, i + 500)))) sips.set(s.id, s);
  }
  const files = new Map<number, SipFile[]>();
  for (let i = 0; i < sipIds.length; i += 500) {
    for (const f of await ctx.db.select().from(consSipFiles).where(inArray(consSipFiles.sipId, sipIds.slice(i, i + 500)))) {
      const list = files.get(f.sipId) ?? [];
      list.push(f);
      files.set(f.sipId, list);
    }
  }
  return sipIds.map((id) => {
    const sip = sips.get(id);
    if (!sip) throw new PdaError(`PdV ${id} inesistente`, 404);
    return { sip, files: files.get(id) ?? [], metadata: JSON.parse(sip.metadata) as Record<string, unknown> };
  });
}

/**
 * A PdA of `sipIds` (accepted PdV of the ente and profile, in no PdA yet; at most
 * {@link MAX_PDA_DOCUMENTS}), signed and time-stamped.
 */
export async function buildPda(ctx: ConservazioneCtx, opts: { enteId: number; profileId: number; sipIds: number[]; actor: string }): Promise<PdaResult> {
  const sipIds = [...new Set(opts.sipIds)];
  if (!sipIds.length) throw new PdaError('nessun documento per il PdA');
  if (sipIds.length > MAX_PDA_DOCUMENTS) throw new PdaError(`al massimo ${MAX_PDA_DOCUMENTS} documenti in un PdA`);
  const ente = (await ctx.db.select().from(enti).where(eq(enti.id, opts.enteId)).limit(1))[0];
  if (!ente) throw new PdaError(`ente ${opts.enteId} inesistente`, 404);
  const profile = (await ctx.db.select().from(consProfiles).where(eq(consProfiles.id, opts.profileId)).limit(1))[0];
  if (!profile) throw new PdaError(`profilo ${opts.profileId} inesistente`, 404);
  const docs = await loadDocs(ctx, sipIds);
  for (const d of docs) {
    if (d.sip.enteId !== ente.id || d.sip.profileId !== profile.id) throw new PdaError(`PdV ${d.sip.id}: di un altro ente o profilo`);
    if (d.sip.status !== 'accepted') throw new PdaError(`PdV ${d.sip.id}: non accettato`);
    if (!d.files.length || d.files.some((f) => !f.storageKey)) throw new PdaError(`PdV ${d.sip.id}: file non conservati`);
  }
  for (let i = 0; i < sipIds.length; i += 500) {
    const taken = (await ctx.db.select({ sipId: consAipDocuments.sipId }).from(consAipDocuments).where(inArray(consAipDocuments.sipId, sipIds.slice(i, i + 500))).limit(1))[0];
    if (taken) throw new PdaError(`PdV ${taken.sipId}: già in un PdA (una modifica dei metadati crea una nuova versione)`, 409);
  }
  return sealAndStore(ctx, { ente, profile, docs, version: 1, actor: opts.actor });
}

/**
 * A metadata change of a document already in a PdA: a new PdA version holding that document with
 * the new metadata (validated against its profile), linked to the previous PdA.
 */
export async function newPdaVersion(ctx: ConservazioneCtx, opts: { sipId: number; metadata: Record<string, unknown>; actor: string }): Promise<PdaResult> {
  const current = (await ctx.db
      .select()
      .from(consAipDocuments)
      .where(and(eq(consAipDocuments.sipId, opts.sipId), eq(consAipDocuments.current, true))).limit(1))[0];
  if (!current) throw new PdaError(`il documento ${opts.sipId} non è in un PdA`, 404);
  const previous = (await ctx.db.select().from(consAips).where(eq(consAips.id, current.aipId)).limit(1))[0]!;
  if (previous.status === 'discarded') throw new PdaError('il PdA del documento è stato scartato', 409);
  const [doc] = await loadDocs(ctx, [opts.sipId]);
  const ente = (await ctx.db.select().from(enti).where(eq(enti.id, doc!.sip.enteId)).limit(1))[0]!;
  const profile = (await ctx.db.select().from(consProfiles).where(eq(consProfiles.id, doc!.sip.profileId)).limit(1))[0]!;
  const problems = validateMetadata(opts.metadata, { required: JSON.parse(profile.requiredMetadata) as string[], now: ctx.now() }).filter((c) => c.outcome === 'NEGATIVO');
  if (problems.length) throw new PdaError(`metadati non validi: ${problems.map((p) => p.message).join(' ')}`, 422);
  const result = await sealAndStore(ctx, {
    ente,
    profile,
    docs: [{ ...doc!, metadata: opts.metadata }],
    version: previous.version + 1,
    actor: opts.actor,
    previous,
    supersede: { aipDocumentId: current.id, aipId: previous.id },
  });
  await recordAudit(ctx.db, {
        actor: opts.actor,
        action: 'metadata_update',
        entity: 'cons_aip',
        entityId: result.aipId,
        enteId: ente.id,
        before: { aipId: previous.id, metadata: JSON.parse(current.metadata) as unknown },
        after: { aipId: result.aipId, urn: result.urn, metadata: opts.metadata },
      });
  return result;
}
