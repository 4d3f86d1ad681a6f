/**
 * Infopoint (seed item 10): the SAEL's offices with hours and contacts, news for the enti with
 * attachments, the modulistica uploaded by the SAEL admin, and the "ascolto degli utenti"
 * suggestions, which become helpdesk tickets of the Province opened by a dedicated system user.
 *
 * Files (news attachments, moduli) are content-addressed under DATA_DIR/catalogue/documents/
 * <first 2 hex>/<sha256>, accepted only when their BYTES are a PDF, PNG or JPEG (the name and the
 * declared type are not trusted) and within INFOPOINT_DOCUMENT_MAX_BYTES.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { and, asc, count, desc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import { createTicket, type TicketsCtx } from '../helpdesk/tickets.js';
import { users } from '../users/schema.js';
import { catalogueDocuments, infopointNews, infopointOffices } from './schema.js';

export const INFOPOINT_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024;

/**
 * The requester of the suggestion tickets (tickets.requester_id is required). Its fiscal code is
 * deliberately NOT a codice fiscale (17 characters, a hyphen): SPID/CIE logins accept only valid
 * personal fiscal codes (spid/response-validator.ts) and role grants are given only to valid ones
 * (enti/routes.ts, the CLI), so nobody can ever sign in as this user or be granted a role on it,
 * and no real person's code can collide with it.
 */
export const INFOPOINT_SYSTEM_FISCAL_CODE = 'SISTEMA-INFOPOINT';

export type Office = typeof infopointOffices.$inferSelect;
export type News = typeof infopointNews.$inferSelect;
export type CatalogueDocument = typeof catalogueDocuments.$inferSelect;

// ---------------------------------------------------------------- offices

/**
 * Seeds the Province's SAEL office when there is none (idempotent). The values come from the
 * Province's ente row (demo data: the address is the Province's real seat, Via Roma 47, the
 * phone and mails are placeholders), so the row is flagged is_demo until the SAEL admin edits it.
 */
export async function seedInfopoint(db: Db): Promise<boolean> {
  return await db.transaction(async (tx) => {
      const n = (await tx.select({ n: count() }).from(infopointOffices).limit(1))[0]?.n ?? 0;
      if (n > 0) return false;
      const p = (await tx.select().from(enti).where(eq(enti.kind, 'provincia')).limit(1))[0];
      await tx.insert(infopointOffices)
              .values({
                name: 'S.A.E.L. – Provincia di Campobasso',
                address: p?.address ?? 'Via Roma 47, 86100 Campobasso',
                hours: p?.officeHours ?? 'Lunedì–venerdì 9:00–13:00; martedì e giovedì anche 15:30–17:30',
                phone: p?.phone ?? null,
                email: p?.email ?? null,
                pec: p?.pec ?? null,
                notes: 'Sportello al piano terra. Per le richieste di assistenza degli enti aderenti usa l’area riservata.',
                isDemo: true,
                sortOrder: 0,
              });
      return true;
    });
}

export async function listOffices(db: Db): Promise<Office[]> {
  return await db.select().from(infopointOffices).orderBy(asc(infopointOffices.sortOrder), asc(infopointOffices.id));
}

export async function getOffice(db: Db, id: number): Promise<Office | null> {
  return (await db.select().from(infopointOffices).where(eq(infopointOffices.id, id)).limit(1))[0] ?? null;
}

export interface OfficeInput {
  name: string;
  address: string;
  hours: string;
  phone: string | null;
  email: string | null;
  pec: string | null;
  notes: string | null;
  sortOrder: number;
}

/** Creates (id null) or updates an office; an edited office is no longer demo data. */
export async function saveOffice(db: Db, id: number | null, input: OfficeInput, actor: string, requestId?: string): Promise<number | null> {
  return await db.transaction(async (tx) => {
      if (id === null) {
        const row = (await tx.insert(infopointOffices).values({ ...input, isDemo: false }).returning())[0]!;
        await recordAudit(tx, { actor, action: 'infopoint.office.create', entity: 'infopoint_office', entityId: row.id, after: input, requestId });
        return row.id;
      }
      const before = (await tx.select().from(infopointOffices).where(eq(infopointOffices.id, id)).limit(1))[0];
      if (!before) return null;
      await tx.update(infopointOffices).set({ ...input, isDemo: false }).where(eq(infopointOffices.id, id));
      await recordAudit(tx, { actor, action: 'infopoint.office.update', entity: 'infopoint_office', entityId: id, before, after: input, requestId });
      return id;
    });
}

export async function deleteOffice(db: Db, id: number, actor: string, requestId?: string): Promise<boolean> {
  return await db.transaction(async (tx) => {
      const before = (await tx.select().from(infopointOffices).where(eq(infopointOffices.id, id)).limit(1))[0];
      if (!before) return false;
      await tx.delete(infopointOffices).where(eq(infopointOffices.id, id));
      await recordAudit(tx, { actor, action: 'infopoint.office.delete', entity: 'infopoint_office', entityId: id, before, requestId });
      return true;
    });
}

// ---------------------------------------------------------------- news

export async function listPublishedNews(db: Db, limit = 50): Promise<News[]> {
  return await db.select().from(infopointNews).where(eq(infopointNews.status, 'published')).orderBy(desc(infopointNews.publishedAt), desc(infopointNews.id)).limit(limit);
}

/** A news item as the public sees it: only published ones. */
export async function getPublishedNews(db: Db, id: number): Promise<News | null> {
  return (await db.select().from(infopointNews).where(and(eq(infopointNews.id, id), eq(infopointNews.status, 'published'))).limit(1))[0] ?? null;
}

export async function listAllNews(db: Db): Promise<News[]> {
  return await db.select().from(infopointNews).orderBy(desc(infopointNews.id));
}

export async function getNews(db: Db, id: number): Promise<News | null> {
  return (await db.select().from(infopointNews).where(eq(infopointNews.id, id)).limit(1))[0] ?? null;
}

export interface NewsInput {
  title: string;
  summary: string;
  body: string;
}

export async function saveNews(db: Db, id: number | null, input: NewsInput, actor: { userId: number; requestId?: string }, now: Date): Promise<number | null> {
  const a = `user:${actor.userId}`;
  return await db.transaction(async (tx) => {
      if (id === null) {
        const row = (await tx.insert(infopointNews).values({ ...input, status: 'draft', createdBy: actor.userId }).returning())[0]!;
        await recordAudit(tx, { actor: a, action: 'infopoint.news.create', entity: 'infopoint_news', entityId: row.id, after: input, requestId: actor.requestId });
        return row.id;
      }
      const before = (await tx.select().from(infopointNews).where(eq(infopointNews.id, id)).limit(1))[0];
      if (!before) return null;
      await tx.update(infopointNews).set({ ...input, updatedAt: now.toISOString() }).where(eq(infopointNews.id, id));
      await recordAudit(tx, { actor: a, action: 'infopoint.news.update', entity: 'infopoint_news', entityId: id, before: { title: before.title, summary: before.summary, body: before.body }, after: input, requestId: actor.requestId });
      return id;
    });
}

/** Publishes (keeps the first publication date) or withdraws a news item to draft. */
export async function setNewsStatus(db: Db, id: number, status: 'draft' | 'published', actor: { userId: number; requestId?: string }, now: Date): Promise<News | null> {
  return await db.transaction(async (tx) => {
      const before = (await tx.select().from(infopointNews).where(eq(infopointNews.id, id)).limit(1))[0];
      if (!before) return null;
      const stamp = now.toISOString();
      await tx.update(infopointNews)
              .set({ status, publishedAt: status === 'published' ? before.publishedAt ?? stamp : before.publishedAt, updatedAt: stamp })
              .where(eq(infopointNews.id, id));
      await recordAudit(tx, { actor: `user:${actor.userId}`, action: status === 'published' ? 'infopoint.news.publish' : 'infopoint.news.unpublish', entity: 'infopoint_news', entityId: id, before: { status: before.status }, after: { status }, requestId: actor.requestId });
      return (await tx.select().from(infopointNews).where(eq(infopointNews.id, id)).limit(1))[0]!;
    });
}

// ---------------------------------------------------------------- documents

export type DocumentType = { contentType: 'application/pdf' | 'image/png' | 'image/jpeg'; ext: 'pdf' | 'png' | 'jpg' };

/** What the bytes are (pure): PDF, PNG or JPEG by their signature, else null. */
export function sniffDocument(data: Buffer): DocumentType | null {
  if (data.length >= 5 && data.subarray(0, 5).toString('latin1') === '%PDF-') return { contentType: 'application/pdf', ext: 'pdf' };
  if (data.length > 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return { contentType: 'image/png', ext: 'png' };
  if (data.length > 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return { contentType: 'image/jpeg', ext: 'jpg' };
  return null;
}

export class DocumentError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'DocumentError';
  }
}

/** A file name safe for storage and headers: no path, no control characters, the sniffed extension. */
export function cleanFileName(name: string, ext: string): string {
  const base = path.basename(name.replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f"]/g, '').trim();
  const stem = base.replace(/\.[^.]*$/, '').slice(0, 120) || 'documento';
  return `${stem}.${ext}`;
}

export interface DocumentInput {
  kind: 'modulo' | 'news_attachment';
  ownerId: number | null;
  title: string;
  fileName: string;
  data: Buffer;
}

/** Checks the bytes, stores them content-addressed and records the document (audited). */
export async function addDocument(db: Db, dataDir: string, input: DocumentInput, actor: { userId: number; requestId?: string }): Promise<CatalogueDocument> {
  if (input.data.length === 0) throw new DocumentError('Il file è vuoto.');
  if (input.data.length > INFOPOINT_DOCUMENT_MAX_BYTES) throw new DocumentError(`Il file supera ${INFOPOINT_DOCUMENT_MAX_BYTES / 1048576} MB.`, 413);
  const type = sniffDocument(input.data);
  if (!type) throw new DocumentError('Il file non è un PDF, un’immagine PNG o JPEG (il contenuto non corrisponde, qualunque sia il nome).', 415);
  const sha256 = crypto.createHash('sha256').update(input.data).digest('hex');
  const rel = path.join('catalogue', 'documents', sha256.slice(0, 2), sha256);
  const full = path.join(dataDir, rel);
  if (!fs.existsSync(full)) {
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(`${full}.tmp`, input.data);
    fs.renameSync(`${full}.tmp`, full);
  }
  return await db.transaction(async (tx) => {
      const row = (await tx
            .insert(catalogueDocuments)
            .values({
              kind: input.kind,
              ownerId: input.ownerId,
              title: input.title,
              fileName: cleanFileName(input.fileName, type.ext),
              contentType: type.contentType,
              sizeBytes: input.data.length,
              sha256,
              storagePath: rel,
              createdBy: actor.userId,
            })
            .returning())[0]!;
      await recordAudit(tx, { actor: `user:${actor.userId}`, action: 'infopoint.document.add', entity: 'catalogue_document', entityId: row.id, after: { kind: row.kind, ownerId: row.ownerId, title: row.title, sha256 }, requestId: actor.requestId });
      return row;
    });
}

export async function listDocuments(db: Db, kind: 'modulo' | 'news_attachment', ownerId: number | null): Promise<CatalogueDocument[]> {
  const owner = ownerId === null ? undefined : eq(catalogueDocuments.ownerId, ownerId);
  return await db
      .select()
      .from(catalogueDocuments)
      .where(and(eq(catalogueDocuments.kind, kind), owner))
      .orderBy(asc(catalogueDocuments.id));
}

export async function getDocument(db: Db, id: number): Promise<CatalogueDocument | null> {
  return (await db.select().from(catalogueDocuments).where(eq(catalogueDocuments.id, id)).limit(1))[0] ?? null;
}

/** A document the public may download: a modulo, or an attachment of a published news item. */
export async function getPublicDocument(db: Db, id: number): Promise<CatalogueDocument | null> {
  const doc = await getDocument(db, id);
  if (!doc) return null;
  if (doc.kind === 'modulo') return doc;
  if (doc.kind === 'news_attachment' && doc.ownerId !== null && (await getPublishedNews(db, doc.ownerId))) return doc;
  return null;
}

/** Removes the record (the stored bytes stay: other records may share them, by hash). */
export async function deleteDocument(db: Db, id: number, kinds: ('modulo' | 'news_attachment')[], actor: { userId: number; requestId?: string }): Promise<CatalogueDocument | null> {
  return await db.transaction(async (tx) => {
      const before = (await tx.select().from(catalogueDocuments).where(and(eq(catalogueDocuments.id, id), inArray(catalogueDocuments.kind, kinds))).limit(1))[0];
      if (!before) return null;
      await tx.delete(catalogueDocuments).where(eq(catalogueDocuments.id, id));
      await recordAudit(tx, { actor: `user:${actor.userId}`, action: 'infopoint.document.delete', entity: 'catalogue_document', entityId: id, before: { kind: before.kind, ownerId: before.ownerId, title: before.title, sha256: before.sha256 }, requestId: actor.requestId });
      return before;
    });
}

// ---------------------------------------------------------------- suggestions

/** The system user that opens the suggestion tickets, created once (see INFOPOINT_SYSTEM_FISCAL_CODE). */
export async function infopointSystemUser(db: Db): Promise<number> {
  await db.insert(users).values({ fiscalCode: INFOPOINT_SYSTEM_FISCAL_CODE, name: 'Infopoint', familyName: 'S.A.E.L. (modulo suggerimenti)' }).onConflictDoNothing();
  return (await db.select({ id: users.id }).from(users).where(eq(users.fiscalCode, INFOPOINT_SYSTEM_FISCAL_CODE)).limit(1))[0]!.id;
}

export async function provinceEnteId(db: Db): Promise<number | null> {
  return (await db.select({ id: enti.id }).from(enti).where(eq(enti.kind, 'provincia')).orderBy(asc(enti.id)).limit(1))[0]?.id ?? null;
}

export interface Suggestion {
  name: string | null;
  email: string | null;
  text: string;
}

/** A suggestion becomes a ticket of the Province (category 'altro', type 'suggerimento'). */
export async function submitSuggestion(tctx: TicketsCtx, db: Db, s: Suggestion, now: Date, requestId?: string): Promise<number> {
  const enteId = await provinceEnteId(db);
  if (enteId === null) throw new DocumentError('Il servizio suggerimenti non è ancora configurato: manca l’ente Provincia.', 503);
  const userId = await infopointSystemUser(db);
  const firstLine = s.text.split('\n')[0]!.trim();
  const subject = `Suggerimento dall’infopoint: ${firstLine.length > 80 ? `${firstLine.slice(0, 79)}…` : firstLine}`;
  const who = [s.name ? `Nome: ${s.name}` : 'Nome: non indicato', s.email ? `E-mail: ${s.email}` : 'E-mail: non indicata'].join('\n');
  return await createTicket(
      tctx,
      {
        enteId,
        subject,
        category: 'altro',
        type: 'suggerimento',
        priority: 'bassa',
        body: `Suggerimento ricevuto dal modulo pubblico «Ascolto degli utenti» dell’infopoint.\n\n${who}\n\n${s.text}`,
        citizenContact: s.email ? (s.name ? `${s.name} <${s.email}>` : s.email) : null,
      },
      { userId, isStaff: false, requestId },
      now,
    );
}
