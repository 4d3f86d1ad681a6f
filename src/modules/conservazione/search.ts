/**
 * Finding what an ente has in conservazione (issue #16 item 8): documents (accepted PdV, with the
 * PdA that currently holds them, if any) by ente, profile, document date, IUV, oggetto and URN;
 * the ente's PdV (accepted and rejected, with their esito) and PdA; one PdV or PdA with its parts.
 * Every query names the ente (except the helpdesk's / SAEL's search over every ente, `enteId:
 * null`), so an id of another ente's object is simply "not found".
 */
import { and, asc, count, desc, eq, gte, inArray, lte, or, sql, type SQL } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { enti } from '../enti/schema.js';
import type { Esito } from './checks/esito.js';
import { consAipDocuments, consAips, consProfiles, consRdv, consSipFiles, consSips, type SipStatus } from './schema.js';

export const PAGE_SIZE = 20;

export interface DocumentFilter {
  /** Required for ente users; null = every ente (helpdesk, sael_admin). */
  enteId: number | null;
  profileCode?: string;
  /** DataDocumento range, YYYY-MM-DD inclusive. */
  dateFrom?: string;
  dateTo?: string;
  iuv?: string;
  /** Substring of the oggetto, case-insensitive. */
  oggetto?: string;
  /** URN of the PdV, of its RdV or of a PdA (any version) that holds it. */
  urn?: string;
  page?: number;
  pageSize?: number;
}

export interface DocumentRow {
  sipId: number;
  urn: string;
  enteId: number;
  enteName: string;
  profileCode: string;
  profileName: string;
  docDate: string | null;
  iuv: string | null;
  oggetto: string | null;
  receivedAt: string;
  aipId: number | null;
  aipUrn: string | null;
  aipVersion: number | null;
}

export interface Paged<T> {
  items: T[];
  total: number;
  page: number;
  pages: number;
  pageSize: number;
}

function paging(page: number | undefined, pageSize: number | undefined) {
  const size = Math.min(Math.max(pageSize ?? PAGE_SIZE, 1), 200);
  const p = Math.max(page ?? 1, 1);
  return { size, page: p, offset: (p - 1) * size };
}

const pagesOf = (total: number, size: number) => Math.max(1, Math.ceil(total / size));

/** `%`, `_` and `\` taken literally in a LIKE pattern (ESCAPE '\'). */
function likeLiteral(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Documents = accepted PdV, newest first, with the current PdA holding each (left join). */
export async function searchDocuments(db: DbLike, f: DocumentFilter): Promise<Paged<DocumentRow>> {
  const { size, page, offset } = paging(f.page, f.pageSize);
  const where: SQL[] = [eq(consSips.status, 'accepted')];
  if (f.enteId !== null) where.push(eq(consSips.enteId, f.enteId));
  if (f.profileCode) where.push(eq(consProfiles.code, f.profileCode));
  if (f.dateFrom) where.push(gte(consSips.docDate, f.dateFrom));
  if (f.dateTo) where.push(lte(consSips.docDate, f.dateTo));
  if (f.iuv) where.push(eq(consSips.iuv, f.iuv.trim()));
  if (f.oggetto?.trim()) where.push(sql`lower(${consSips.oggetto}) LIKE lower(CAST(${`%${likeLiteral(f.oggetto.trim())}%`} AS TEXT)) ESCAPE '\\'`);
  if (f.urn?.trim()) {
    const urn = f.urn.trim();
    // The PdA URN of any version (superseded ones too) finds the document.
    const inAip = db
      .select({ sipId: consAipDocuments.sipId })
      .from(consAipDocuments)
      .innerJoin(consAips, eq(consAips.id, consAipDocuments.aipId))
      .where(eq(consAips.urn, urn));
    const inRdv = db.select({ sipId: consRdv.sipId }).from(consRdv).where(eq(consRdv.urn, urn));
    where.push(or(eq(consSips.urn, urn), inArray(consSips.id, inAip), inArray(consSips.id, inRdv))!);
  }
  const cond = and(...where);
  const base = () =>
    db
      .select({
        sipId: consSips.id,
        urn: consSips.urn,
        enteId: consSips.enteId,
        enteName: enti.name,
        profileCode: consProfiles.code,
        profileName: consProfiles.name,
        docDate: consSips.docDate,
        iuv: consSips.iuv,
        oggetto: consSips.oggetto,
        receivedAt: consSips.receivedAt,
        aipId: consAips.id,
        aipUrn: consAips.urn,
        aipVersion: consAips.version,
      })
      .from(consSips)
      .innerJoin(consProfiles, eq(consProfiles.id, consSips.profileId))
      .innerJoin(enti, eq(enti.id, consSips.enteId))
      .leftJoin(consAipDocuments, and(eq(consAipDocuments.sipId, consSips.id), eq(consAipDocuments.current, true)))
      .leftJoin(consAips, eq(consAips.id, consAipDocuments.aipId));
  const total =
    (await db
            .select({ n: count() })
            .from(consSips)
            .innerJoin(consProfiles, eq(consProfiles.id, consSips.profileId))
            .where(cond).limit(1))[0]?.n ?? 0;
  const items = await base().where(cond).orderBy(desc(consSips.receivedAt), desc(consSips.id)).limit(size).offset(offset);
  return { items, total, page, pages: pagesOf(total, size), pageSize: size };
}

/** The stored esito JSON, tolerant of older or partial shapes. */
export function parseEsito(text: string): Esito {
  try {
    const e = JSON.parse(text) as Partial<Esito>;
    return { code: e.code === 'OK' ? 'OK' : 'KO', message: typeof e.message === 'string' ? e.message : '', checks: Array.isArray(e.checks) ? e.checks : [] };
  } catch {
    return { code: 'KO', message: 'Esito non leggibile', checks: [] };
  }
}

export interface SipRow {
  id: number;
  urn: string;
  objectKey: string;
  profileCode: string;
  profileName: string;
  source: string;
  status: SipStatus;
  oggetto: string | null;
  docDate: string | null;
  receivedAt: string;
  esitoCode: 'OK' | 'KO';
  esitoMessage: string;
}

/** The ente's PdV, newest first; `status` filters accepted / rejected. */
export async function listSips(db: DbLike, f: { enteId: number; status?: SipStatus; page?: number; pageSize?: number }): Promise<Paged<SipRow>> {
  const { size, page, offset } = paging(f.page, f.pageSize);
  const cond = and(eq(consSips.enteId, f.enteId), f.status ? eq(consSips.status, f.status) : undefined);
  const total = (await db.select({ n: count() }).from(consSips).where(cond).limit(1))[0]?.n ?? 0;
  const rows = await db
      .select({
        id: consSips.id,
        urn: consSips.urn,
        objectKey: consSips.objectKey,
        profileCode: consProfiles.code,
        profileName: consProfiles.name,
        source: consSips.source,
        status: consSips.status,
        oggetto: consSips.oggetto,
        docDate: consSips.docDate,
        receivedAt: consSips.receivedAt,
        esito: consSips.esito,
      })
      .from(consSips)
      .innerJoin(consProfiles, eq(consProfiles.id, consSips.profileId))
      .where(cond)
      .orderBy(desc(consSips.receivedAt), desc(consSips.id))
      .limit(size)
      .offset(offset);
  const items = rows.map(({ esito, ...r }) => {
    const e = parseEsito(esito);
    return { ...r, esitoCode: e.code, esitoMessage: e.message };
  });
  return { items, total, page, pages: pagesOf(total, size), pageSize: size };
}

export interface AipRow {
  id: number;
  urn: string;
  profileCode: string;
  profileName: string;
  version: number;
  status: string;
  documents: number;
  timestampedAt: string;
  createdAt: string;
  retentionUntil: string | null;
}

const aipColumns = {
  id: consAips.id,
  urn: consAips.urn,
  profileCode: consProfiles.code,
  profileName: consProfiles.name,
  version: consAips.version,
  status: consAips.status,
  documents: consAips.documents,
  timestampedAt: consAips.timestampedAt,
  createdAt: consAips.createdAt,
  retentionUntil: consAips.retentionUntil,
};

/** The ente's PdA, newest first. */
export async function listAips(db: DbLike, f: { enteId: number; page?: number; pageSize?: number }): Promise<Paged<AipRow>> {
  const { size, page, offset } = paging(f.page, f.pageSize);
  const total = (await db.select({ n: count() }).from(consAips).where(eq(consAips.enteId, f.enteId)).limit(1))[0]?.n ?? 0;
  const items = await db
      .select(aipColumns)
      .from(consAips)
      .innerJoin(consProfiles, eq(consProfiles.id, consAips.profileId))
      .where(eq(consAips.enteId, f.enteId))
      .orderBy(desc(consAips.createdAt), desc(consAips.id))
      .limit(size)
      .offset(offset);
  return { items, total, page, pages: pagesOf(total, size), pageSize: size };
}

export interface EnteCounts {
  accepted: number;
  rejected: number;
  aips: number;
  /** Accepted documents in no PdA yet (the daily job or the next batch takes them). */
  waiting: number;
}

export async function enteCounts(db: DbLike, enteId: number): Promise<EnteCounts> {
  const byStatus = await db
      .select({ status: consSips.status, n: count() })
      .from(consSips)
      .where(eq(consSips.enteId, enteId))
      .groupBy(consSips.status);
  const n = (s: SipStatus) => byStatus.find((r) => r.status === s)?.n ?? 0;
  const aips = (await db.select({ n: count() }).from(consAips).where(eq(consAips.enteId, enteId)).limit(1))[0]?.n ?? 0;
  const inAip = db.select({ sipId: consAipDocuments.sipId }).from(consAipDocuments);
  const waiting =
    (await db
            .select({ n: count() })
            .from(consSips)
            .where(and(eq(consSips.enteId, enteId), eq(consSips.status, 'accepted'), sql`${consSips.id} NOT IN ${inAip}`)).limit(1))[0]?.n ?? 0;
  return { accepted: n('accepted'), rejected: n('rejected'), aips, waiting };
}

/** One PdV of the ente, with its files, RdV and the PdA (all versions) that hold it; null when not the ente's. */
export async function getSipDetail(db: DbLike, enteId: number, sipId: number) {
  const sip = (await db
      .select({
        id: consSips.id,
        urn: consSips.urn,
        enteId: consSips.enteId,
        objectKey: consSips.objectKey,
        source: consSips.source,
        submittedBy: consSips.submittedBy,
        status: consSips.status,
        metadata: consSips.metadata,
        esito: consSips.esito,
        indexSha256: consSips.indexSha256,
        sipSha256: consSips.sipSha256,
        docDate: consSips.docDate,
        iuv: consSips.iuv,
        oggetto: consSips.oggetto,
        ticketId: consSips.ticketId,
        receivedAt: consSips.receivedAt,
        profileCode: consProfiles.code,
        profileName: consProfiles.name,
      })
      .from(consSips)
      .innerJoin(consProfiles, eq(consProfiles.id, consSips.profileId))
      .where(and(eq(consSips.id, sipId), eq(consSips.enteId, enteId))).limit(1))[0];
  if (!sip) return null;
  const files = await db.select().from(consSipFiles).where(eq(consSipFiles.sipId, sipId)).orderBy(asc(consSipFiles.ordinal));
  const rdv = (await db.select({ id: consRdv.id, urn: consRdv.urn, createdAt: consRdv.createdAt, sha256: consRdv.sha256 }).from(consRdv).where(eq(consRdv.sipId, sipId)).limit(1))[0] ?? null;
  const aips = await db
      .select({ id: consAips.id, urn: consAips.urn, version: consAips.version, status: consAips.status, current: consAipDocuments.current, createdAt: consAips.createdAt })
      .from(consAipDocuments)
      .innerJoin(consAips, eq(consAips.id, consAipDocuments.aipId))
      .where(and(eq(consAipDocuments.sipId, sipId), eq(consAips.enteId, enteId)))
      .orderBy(desc(consAips.version), desc(consAips.id));
  return { sip, files, rdv, aips, esito: parseEsito(sip.esito) };
}

/** The RdV XML of one of the ente's PdV; null when none. */
export async function getRdv(db: DbLike, enteId: number, sipId: number) {
  return (
    (await db
            .select({ urn: consRdv.urn, xml: consRdv.xml, sha256: consRdv.sha256 })
            .from(consRdv)
            .innerJoin(consSips, eq(consSips.id, consRdv.sipId))
            .where(and(eq(consRdv.sipId, sipId), eq(consSips.enteId, enteId))).limit(1))[0] ?? null
  );
}

/** One PdA of the ente (null when not the ente's). */
export async function getAip(db: DbLike, enteId: number, aipId: number) {
  return (
    (await db
            .select({ ...aipColumns, enteId: consAips.enteId, profileId: consAips.profileId, previousAipId: consAips.previousAipId, indexKey: consAips.indexKey, indexSha256: consAips.indexSha256, signatureKey: consAips.signatureKey, timestampKey: consAips.timestampKey, signerSubject: consAips.signerSubject, discardedAt: consAips.discardedAt })
            .from(consAips)
            .innerJoin(consProfiles, eq(consProfiles.id, consAips.profileId))
            .where(and(eq(consAips.id, aipId), eq(consAips.enteId, enteId))).limit(1))[0] ?? null
  );
}

/** The documents of a PdA with the metadata as written in its index. */
export async function aipDocuments(db: DbLike, aipId: number) {
  return await db
      .select({
        sipId: consSips.id,
        sipUrn: consSips.urn,
        fileGroupId: consAipDocuments.fileGroupId,
        metadata: consAipDocuments.metadata,
        current: consAipDocuments.current,
        docDate: consSips.docDate,
        iuv: consSips.iuv,
        oggetto: consSips.oggetto,
      })
      .from(consAipDocuments)
      .innerJoin(consSips, eq(consSips.id, consAipDocuments.sipId))
      .where(eq(consAipDocuments.aipId, aipId))
      .orderBy(asc(consAipDocuments.id));
}

/**
 * The version chain of a PdA: every PdA linked to it through previousAipId, both ways, oldest
 * first (same ente only).
 */
export async function aipVersionChain(db: DbLike, enteId: number, aipId: number) {
  const row = async (id: number) =>
    (await db
            .select({ id: consAips.id, urn: consAips.urn, version: consAips.version, status: consAips.status, previousAipId: consAips.previousAipId, createdAt: consAips.createdAt })
            .from(consAips)
            .where(and(eq(consAips.id, id), eq(consAips.enteId, enteId))).limit(1))[0];
  const start = await row(aipId);
  if (!start) return [];
  const chain = [start];
  const seen = new Set([start.id]);
  for (let prev = start.previousAipId; prev !== null && !seen.has(prev); ) {
    const r = await row(prev);
    if (!r) break;
    chain.unshift(r);
    seen.add(r.id);
    prev = r.previousAipId;
  }
  for (let last = chain[chain.length - 1]!; ; ) {
    const next = (await db
          .select({ id: consAips.id, urn: consAips.urn, version: consAips.version, status: consAips.status, previousAipId: consAips.previousAipId, createdAt: consAips.createdAt })
          .from(consAips)
          .where(and(eq(consAips.previousAipId, last.id), eq(consAips.enteId, enteId)))
          .orderBy(asc(consAips.id)))
      .filter((r) => !seen.has(r.id));
    if (next.length === 0) break;
    for (const r of next) seen.add(r.id);
    chain.push(...next);
    last = next[next.length - 1]!;
  }
  return chain;
}

/** The profiles, for the search form. */
export async function profileOptions(db: DbLike) {
  return await db.select({ code: consProfiles.code, name: consProfiles.name }).from(consProfiles).orderBy(asc(consProfiles.name));
}

