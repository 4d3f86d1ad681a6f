/**
 * Import of an OPI Giornale di Cassa, one page (one file) at a time: each page is validated
 * (opi-journal.ts) and kept in `treasury_opi_pages` until every page of the journal
 * (`pagina` of `pagine_totali`, same `identificativo_flusso_BT`) is here; the page that completes
 * the journal joins them into ONE treasury import (format 'opi') through the path every statement
 * takes (reconcile.ts storeStatement: duplicates by movement id, matching by causale), and the
 * pages get its `import_id`. A page's XML is kept only while its journal waits for other pages
 * (emptied at the join; a one-page journal never stores it): what stays is the row with its
 * SHA-256, so a page sent again is recognised. One immediate transaction per upload: a refused
 * page leaves nothing behind, and every refusal is written to the audit log with its reasons.
 */
import crypto from 'node:crypto';
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { dialectOf } from '../../db/raw.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import { OpiRefusal, parseOpiPage, type OpiPage, type OpiVersion } from './opi-journal.js';
import { ReconError, storeStatement, type Recon, type StatementImportResult } from './reconcile.js';
import { treasuryOpiPages } from './schema.js';
import type { StatementMovement } from './statement.js';
import type { Scope } from './queries.js';

export interface OpiUploadResult {
  /** imported: the journal is whole and became an import; waiting: pages are missing; unchanged: this page was already here. */
  status: 'imported' | 'waiting' | 'unchanged';
  flowId: string;
  version: OpiVersion;
  page: number;
  totalPages: number;
  pagesReceived: number[];
  missingPages: number[];
  /** Movements of this page not imported on purpose, with the reason. */
  skipped: { line: number; reason: string }[];
  /** The import of the whole journal (status imported, or unchanged once joined). */
  importId: number | null;
  result: StatementImportResult | null;
}

const sha256 = (b: Uint8Array | string) => crypto.createHash('sha256').update(b).digest('hex');
const family = (v: string) => (v === '1.4' ? '1.4' : '1.6.1+');
const RANK: Record<string, number> = { '1.4': 0, '1.6.1': 1, '1.7.1': 2, '1.8': 3 };

function refuse(message: string, status = 422, problems: ReconError['problems'] = []): never {
  throw new ReconError(message, problems, status);
}

/**
 * Validates one page and stores it; imports the journal when it is whole. Throws ReconError
 * (422 invalid page, 409 conflict with what is stored) with the reasons in Italian.
 */
export async function importOpiPage(
  r: Recon,
  input: { enteId: number; bytes: Buffer; fileName: string; actor: string; requestId?: string; now?: Date; version?: OpiVersion },
): Promise<OpiUploadResult> {
  const fileHash = sha256(input.bytes);
  let flowId: string | null = null;
  try {
    const ente = (await r.db.select({ fiscalCode: enti.fiscalCode, name: enti.name }).from(enti).where(eq(enti.id, input.enteId)).limit(1))[0];
    if (!ente) refuse('Ente inesistente', 404);
    let page: OpiPage;
    try {
      page = parseOpiPage(input.bytes, input.version);
    } catch (e) {
      if (e instanceof OpiRefusal) refuse(`${e.message}: il file è rifiutato per intero`, 422, e.problems);
      throw e;
    }
    flowId = page.flowId;
    if (page.enteFiscalCode !== ente.fiscalCode.toUpperCase()) {
      refuse(`Il giornale è dell’ente con codice fiscale ${page.enteFiscalCode} (${page.enteName}), non di ${ente.name} (${ente.fiscalCode}): il file è rifiutato per intero`);
    }
    return await r.db.transaction(async () => storePage(r, input, page, fileHash, input.bytes), { behavior: 'immediate' });
  } catch (e) {
    if (e instanceof ReconError) {
      await recordAudit(r.db, {
                actor: input.actor,
                action: 'treasury.opi.refuse',
                entity: 'treasury_opi_page',
                entityId: flowId ?? input.fileName.slice(0, 200),
                enteId: e.status === 404 ? null : input.enteId,
                after: { fileName: input.fileName, sha256: fileHash, reason: e.message, problems: e.problems.slice(0, 50), more: Math.max(0, e.problems.length - 50) },
                requestId: input.requestId,
              });
    }
    throw e;
  }
}

async function storePage(r: Recon, input: { enteId: number; fileName: string; actor: string; requestId?: string; now?: Date }, page: OpiPage, fileHash: string, bytes: Buffer): Promise<OpiUploadResult> {
  const key = and(eq(treasuryOpiPages.enteId, input.enteId), eq(treasuryOpiPages.flowId, page.flowId));
  const stored = await r.db
      .select({ page: treasuryOpiPages.page, totalPages: treasuryOpiPages.totalPages, version: treasuryOpiPages.opiVersion, sha256: treasuryOpiPages.sha256, importId: treasuryOpiPages.importId })
      .from(treasuryOpiPages)
      .where(key)
      .orderBy(asc(treasuryOpiPages.page));
  const base = { flowId: page.flowId, page: page.page, totalPages: page.totalPages, skipped: page.skipped };
  const same = stored.find((p) => p.page === page.page);
  if (same) {
    if (same.sha256 !== fileHash) refuse(`La pagina ${page.page} del giornale ${page.flowId} è già stata ricevuta con un contenuto diverso: il file è rifiutato per intero`, 409);
    const received = stored.map((p) => p.page);
    return { ...base, status: 'unchanged', version: page.version, pagesReceived: received, missingPages: missing(received, page.totalPages), importId: same.importId, result: null };
  }
  const other = stored[0];
  if (other && other.totalPages !== page.totalPages) {
    refuse(`La pagina ${page.page} dichiara ${page.totalPages} pagine totali, le pagine già ricevute del giornale ${page.flowId} ne dichiarano ${other.totalPages}: il file è rifiutato per intero`, 409);
  }
  if (other && family(other.version) !== family(page.version)) {
    refuse(`La pagina ${page.page} è nella versione ${page.version}, le pagine già ricevute del giornale ${page.flowId} nella ${other.version}: il file è rifiutato per intero`, 409);
  }
  await r.db
        .insert(treasuryOpiPages)
        .values({ enteId: input.enteId, flowId: page.flowId, opiVersion: page.version, page: page.page, totalPages: page.totalPages, fileName: input.fileName.slice(0, 200), sha256: fileHash, xml: page.totalPages === 1 ? '' : bytes.toString('utf8'), createdBy: input.actor });
  const received = [...stored.map((p) => p.page), page.page].sort((a, b) => a - b);
  // Pages of one journal may be recorded under different versions of 1.6.1+ (a page without
  // version-specific values is read as 1.8): the journal is the oldest of them.
  const version = [...stored.map((p) => p.version), page.version].reduce((a, b) => (RANK[b]! < RANK[a]! ? b : a)) as OpiVersion;
  if (received.length < page.totalPages) {
    return { ...base, status: 'waiting', version, pagesReceived: received, missingPages: missing(received, page.totalPages), importId: null, result: null };
  }

  // The journal is whole: join its pages in order into one import.
  const pages: OpiPage[] = [];
  const rows = await r.db.select({ page: treasuryOpiPages.page, xml: treasuryOpiPages.xml, version: treasuryOpiPages.opiVersion, sha256: treasuryOpiPages.sha256 }).from(treasuryOpiPages).where(key).orderBy(asc(treasuryOpiPages.page));
  for (const row of rows) pages.push(row.page === page.page ? page : parseOpiPage(row.xml, row.version as OpiVersion));
  const movements: StatementMovement[] = [];
  const skipped: { line: number; reason: string }[] = [];
  const seen = new Map<string, StatementMovement>();
  const problems: ReconError['problems'] = [];
  let offset = 0;
  const where = (p: OpiPage) => (page.totalPages > 1 ? `Pagina ${p.page}: ` : '');
  for (const p of pages) {
    for (const s of p.skipped) skipped.push({ line: offset + s.line, reason: `${where(p)}${s.reason}` });
    for (const m of p.movements) {
      const mv = { ...m, line: offset + m.line };
      const prev = seen.get(m.movementId);
      if (!prev) {
        seen.set(m.movementId, mv);
        movements.push(mv);
      } else if (prev.amountCents === mv.amountCents && prev.bookingDate === mv.bookingDate && prev.valueDate === mv.valueDate && prev.causale === mv.causale) {
        skipped.push({ line: mv.line, reason: `${where(p)}Movimento ${m.movementId} ripetuto (già al movimento ${prev.line} del giornale): contato una volta` });
      } else {
        problems.push({ line: mv.line, field: 'numero_documento', message: `${where(p)}Movimento ${m.movementId} ripetuto con dati diversi (già al movimento ${prev.line} del giornale)` });
      }
    }
    offset += p.total;
  }
  if (problems.length) refuse(`Il giornale ${page.flowId} contiene ${problems.length} movimenti ripetuti con dati diversi: la pagina ${page.page} è rifiutata per intero`, 409, problems);
  const journalHash = sha256(rows.map((x) => x.sha256).join(':'));
  let result: StatementImportResult;
  try {
    result = await storeStatement(r, input, {
          format: 'opi',
          movements,
          skipped,
          fileHash: journalHash,
          opi: { version, flowId: page.flowId, pages: page.totalPages },
          onImported: async (importId) => {
            await r.db.update(treasuryOpiPages).set({ importId, xml: '' }).where(and(key, isNull(treasuryOpiPages.importId)));
          },
        });
  } catch (e) {
    if (e instanceof ReconError) refuse(`${e.message} (giornale ${page.flowId}, pagina ${page.page} rifiutata per intero)`, e.status, e.problems);
    throw e;
  }
  if (result.status === 'unchanged') await r.db.update(treasuryOpiPages).set({ importId: result.importId, xml: '' }).where(key);
  return { ...base, status: 'imported', version, pagesReceived: received, missingPages: [], importId: result.importId, result };
}

function missing(received: number[], total: number): number[] {
  const have = new Set(received);
  const out: number[] = [];
  for (let i = 1; i <= total && out.length < 1000; i++) if (!have.has(i)) out.push(i);
  return out;
}

export interface PendingJournal {
  enteId: number;
  enteName: string;
  flowId: string;
  version: string;
  totalPages: number;
  pagesReceived: number[];
  lastAt: string;
}

/** Journals with pages still missing, for the helpdesk page (scoped to the caller's enti). */
export async function pendingOpiJournals(r: Recon, scope: Scope): Promise<PendingJournal[]> {
  if (scope !== 'all' && scope.length === 0) return [];
  const rows = await r.db
      .select({
        enteId: treasuryOpiPages.enteId,
        enteName: enti.name,
        flowId: treasuryOpiPages.flowId,
        version: sql<string>`min(${treasuryOpiPages.opiVersion})`,
        totalPages: sql<number>`max(${treasuryOpiPages.totalPages})`,
        pages: dialectOf(r.db) === 'postgres' ? sql<string>`string_agg(${treasuryOpiPages.page}::text, ',')` : sql<string>`group_concat(${treasuryOpiPages.page})`,
        lastAt: sql<string>`max(${treasuryOpiPages.createdAt})`,
      })
      .from(treasuryOpiPages)
      .innerJoin(enti, eq(enti.id, treasuryOpiPages.enteId))
      .where(scope === 'all' ? isNull(treasuryOpiPages.importId) : and(isNull(treasuryOpiPages.importId), inArray(treasuryOpiPages.enteId, scope)))
      .groupBy(treasuryOpiPages.enteId, treasuryOpiPages.flowId, enti.name)
      .orderBy(sql`max(${treasuryOpiPages.createdAt}) DESC`)
      .limit(100);
  return rows.map((x) => ({ ...x, pagesReceived: x.pages.split(',').map(Number).sort((a, b) => a - b) }));
}
