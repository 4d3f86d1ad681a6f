/**
 * Convenzioni (framework agreements ente ↔ Province, TUEL art. 30; spec §B.4): reading, the
 * transitions draft → signed → in_force → expired | withdrawn (each audited in its transaction),
 * the signed PDF (checked by its bytes, stored content-addressed under DATA_DIR with its SHA-256),
 * and which convenzione covers a period (what a paid adesione needs).
 *
 * A recesso has an effective date: obligations before it remain (adesioni and charges before that
 * date stay). A recesso effective in the future keeps the convenzione in force until the day
 * before, then the scheduled pass marks it withdrawn.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { and, desc, eq, inArray, isNotNull, lte, lt, type SQL } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { HttpError } from '../../plugins/errors.js';
import { enti } from '../enti/schema.js';
import { addDays } from './adesione-states.js';
import type { CatalogueCtx } from './context.js';
import { convenzioni, type ConvenzioneStatus } from './schema.js';
import { isIsoDate } from '../../domain/iso-date.js';

export type Convenzione = typeof convenzioni.$inferSelect;
export type ConvenzioneWithEnte = Convenzione & { enteName: string };

/** Who does something: the audit actor (`user:<id>` | `system`), the user id, the request id. */
export interface CatalogueActor {
  actor: string;
  userId: number | null;
  requestId?: string | null;
}

export const CONVENZIONE_STATUS_LABELS: Readonly<Record<ConvenzioneStatus, string>> = {
  draft: 'Bozza',
  signed: 'Sottoscritta',
  in_force: 'In vigore',
  expired: 'Scaduta',
  withdrawn: 'Cessata per recesso',
};

export const CONVENZIONE_STATUS_BADGES: Readonly<Record<ConvenzioneStatus, string>> = {
  draft: 'bg-secondary',
  signed: 'bg-primary',
  in_force: 'bg-success',
  expired: 'bg-secondary',
  withdrawn: 'bg-dark',
};

export const ACT_KINDS = { delibera: 'Delibera', determina: 'Determina' } as const;
export type ActKind = keyof typeof ACT_KINDS;

/** Largest signed PDF accepted (bytes). */
export const CONVENZIONE_PDF_MAX_BYTES = 20 * 1024 * 1024;

export type ConvenzioneAction = 'sign' | 'put_in_force' | 'withdraw';
export const CONVENZIONE_ACTION_LABELS: Readonly<Record<ConvenzioneAction, string>> = {
  sign: 'Segna come sottoscritta',
  put_in_force: 'Metti in vigore',
  withdraw: 'Registra il recesso',
};

// ---------------------------------------------------------------- pure rules

/** The last day the convenzione covers: its end, or the day before the recesso's effective date. */
export function effectiveEnd(c: Pick<Convenzione, 'endDate' | 'withdrawalDate'>): string {
  if (c.withdrawalDate) {
    const before = addDays(c.withdrawalDate, -1);
    return before < c.endDate ? before : c.endDate;
  }
  return c.endDate;
}

/** Whether the convenzione is in force over the whole period start..end. */
export function coversPeriod(c: Pick<Convenzione, 'status' | 'startDate' | 'endDate' | 'withdrawalDate'>, start: string, end: string): boolean {
  return c.status === 'in_force' && c.startDate <= start && effectiveEnd(c) >= end;
}

/**
 * Checks a convenzione transition; returns the new state or throws HttpError 409/400 with an
 * Italian message. `today` is the Italian date.
 */
export function convenzioneNextStatus(c: Convenzione, action: ConvenzioneAction, today: string, opts: { withdrawalDate?: string } = {}): ConvenzioneStatus {
  const label = CONVENZIONE_STATUS_LABELS[c.status];
  switch (action) {
    case 'sign':
      if (c.status !== 'draft') throw new HttpError(409, `La convenzione è nello stato «${label}»: si sottoscrive solo una bozza.`);
      return 'signed';
    case 'put_in_force':
      if (c.status !== 'signed') throw new HttpError(409, `La convenzione è nello stato «${label}»: si mette in vigore solo una convenzione sottoscritta.`);
      if (!c.signedPdfSha256) throw new HttpError(409, 'Carica prima il PDF della convenzione sottoscritta.');
      if (c.startDate > today) throw new HttpError(409, `La convenzione decorre dal ${itDate(c.startDate)}: entrerà in vigore da quella data.`);
      if (c.endDate < today) throw new HttpError(409, `La convenzione è terminata il ${itDate(c.endDate)}.`);
      return 'in_force';
    case 'withdraw': {
      if (c.status !== 'in_force' && c.status !== 'signed') throw new HttpError(409, `La convenzione è nello stato «${label}»: il recesso si registra su una convenzione sottoscritta o in vigore.`);
      if (c.withdrawalDate) throw new HttpError(409, `Il recesso è già registrato con decorrenza ${itDate(c.withdrawalDate)}.`);
      const d = opts.withdrawalDate;
      if (!d || !/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new HttpError(400, 'Indica la data da cui il recesso ha effetto.');
      if (d > c.endDate) throw new HttpError(400, `La data del recesso è oltre la scadenza della convenzione (${itDate(c.endDate)}).`);
      // Effective now (or in the past): withdrawn at once; in the future: in force until then.
      return d <= today || c.status === 'signed' ? 'withdrawn' : c.status;
    }
  }
}

export function itDate(iso: string): string {
  const [y, m, d] = iso.split('-');
  return `${d}/${m}/${y}`;
}

// ---------------------------------------------------------------- reading

const withEnte = { c: convenzioni, enteName: enti.name };

function flatten(rows: { c: Convenzione; enteName: string }[]): ConvenzioneWithEnte[] {
  return rows.map((r) => ({ ...r.c, enteName: r.enteName }));
}

export async function listConvenzioni(db: DbLike, filter: { status?: ConvenzioneStatus; enteId?: number } = {}): Promise<ConvenzioneWithEnte[]> {
  const where: SQL[] = [];
  if (filter.status) where.push(eq(convenzioni.status, filter.status));
  if (filter.enteId) where.push(eq(convenzioni.enteId, filter.enteId));
  return flatten(
    await db
            .select(withEnte)
            .from(convenzioni)
            .innerJoin(enti, eq(enti.id, convenzioni.enteId))
            .where(where.length ? and(...where) : undefined)
            .orderBy(enti.name, desc(convenzioni.startDate), desc(convenzioni.id)),
  );
}

export async function getConvenzione(db: DbLike, id: number): Promise<ConvenzioneWithEnte | undefined> {
  const row = (await db.select(withEnte).from(convenzioni).innerJoin(enti, eq(enti.id, convenzioni.enteId)).where(eq(convenzioni.id, id)).limit(1))[0];
  return row ? { ...row.c, enteName: row.enteName } : undefined;
}

/** The convenzione in force over start..end for the ente (latest start first), or undefined. */
export async function findCoveringConvenzione(db: DbLike, enteId: number, start: string, end: string): Promise<Convenzione | undefined> {
  return await coveringConvenzioneSync(db, enteId, start, end);
}

/** Same as findCoveringConvenzione, for use inside a (synchronous) transaction. */
export async function coveringConvenzioneSync(db: DbLike, enteId: number, start: string, end: string): Promise<Convenzione | undefined> {
  const rows = await db
      .select()
      .from(convenzioni)
      .where(and(eq(convenzioni.enteId, enteId), eq(convenzioni.status, 'in_force'), lte(convenzioni.startDate, start)))
      .orderBy(desc(convenzioni.startDate), desc(convenzioni.id));
  return rows.find((c) => coversPeriod(c, start, end));
}

// ---------------------------------------------------------------- writing

export interface ConvenzioneInput {
  enteId: number;
  actKind: ActKind;
  actNumber: string;
  actDate: string;
  startDate: string;
  endDate: string;
  notes: string | null;
}

/** Checks the fields of a new convenzione; a map field → Italian message (empty when fine). */
export function validateConvenzioneInput(i: ConvenzioneInput): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!(i.actKind in ACT_KINDS)) errors.actKind = 'Scegli delibera o determina.';
  if (!i.actNumber.trim()) errors.actNumber = 'Indica il numero dell’atto.';
  if (!isIsoDate(i.actDate)) errors.actDate = 'Indica la data dell’atto.';
  if (!isIsoDate(i.startDate)) errors.startDate = 'Indica la data di decorrenza.';
  if (!isIsoDate(i.endDate)) errors.endDate = 'Indica la data di scadenza.';
  else if (isIsoDate(i.startDate) && i.endDate < i.startDate) errors.endDate = 'La scadenza deve seguire la decorrenza.';
  return errors;
}

export { isIsoDate };

export async function createConvenzione(ctx: CatalogueCtx, input: ConvenzioneInput, by: CatalogueActor): Promise<number> {
  return await ctx.db.transaction(async (tx) => {
      const row = (await tx
            .insert(convenzioni)
            .values({ ...input, actNumber: input.actNumber.trim(), notes: input.notes?.trim() || null, createdBy: by.userId })
            .returning())[0]!;
      await recordAudit(tx, { actor: by.actor, action: 'convenzione.create', entity: 'convenzione', entityId: row.id, enteId: row.enteId, after: row, requestId: by.requestId });
      return row.id;
    });
}

/** Applies a transition (sign, put in force, recesso); audited in the same transaction. */
export async function convenzioneTransition(
  ctx: CatalogueCtx,
  id: number,
  action: ConvenzioneAction,
  by: CatalogueActor,
  today: string,
  opts: { withdrawalDate?: string; note?: string | null } = {},
): Promise<ConvenzioneStatus> {
  return await ctx.db.transaction(async (tx) => {
      const c = (await tx.select().from(convenzioni).where(eq(convenzioni.id, id)).limit(1))[0];
      if (!c) throw new HttpError(404, 'Convenzione non trovata.');
      const to = convenzioneNextStatus(c, action, today, opts);
      const patch: Partial<Convenzione> = { status: to, updatedAt: new Date().toISOString() };
      if (action === 'sign') patch.signedAt = ctx.now().toISOString();
      if (action === 'withdraw') {
        patch.withdrawalDate = opts.withdrawalDate!;
        patch.withdrawalNote = opts.note?.trim() || null;
      }
      const after = (await tx.update(convenzioni).set(patch).where(eq(convenzioni.id, id)).returning())[0]!;
      await recordAudit(tx, { actor: by.actor, action: `convenzione.${action}`, entity: 'convenzione', entityId: id, enteId: c.enteId, before: { status: c.status }, after: { status: to, withdrawalDate: after.withdrawalDate }, requestId: by.requestId });
      return to;
    });
}

/** Records the signed PDF (already stored by storeSignedPdf) on a draft or signed convenzione. */
export async function attachSignedPdf(ctx: CatalogueCtx, id: number, file: { path: string; name: string; sha256: string }, by: CatalogueActor): Promise<void> {
  await ctx.db.transaction(async (tx) => {
        const c = (await tx.select().from(convenzioni).where(eq(convenzioni.id, id)).limit(1))[0];
        if (!c) throw new HttpError(404, 'Convenzione non trovata.');
        if (c.status !== 'draft' && c.status !== 'signed') throw new HttpError(409, `La convenzione è nello stato «${CONVENZIONE_STATUS_LABELS[c.status]}»: il documento firmato non si sostituisce più.`);
        await tx.update(convenzioni).set({ signedPdfPath: file.path, signedPdfName: file.name, signedPdfSha256: file.sha256, updatedAt: new Date().toISOString() }).where(eq(convenzioni.id, id));
        await recordAudit(tx, { actor: by.actor, action: 'convenzione.upload_pdf', entity: 'convenzione', entityId: id, enteId: c.enteId, before: { sha256: c.signedPdfSha256 }, after: { sha256: file.sha256, name: file.name }, requestId: by.requestId });
      });
}

export class NotAPdfError extends Error {
  constructor() {
    super('Il file non è un PDF: carica il documento firmato in formato PDF.');
  }
}
export class PdfTooLargeError extends Error {
  constructor(max: number) {
    super(`Il file supera la dimensione massima di ${Math.round(max / 1048576)} MB.`);
  }
}

/**
 * Streams an upload to DATA_DIR/catalogue/convenzioni/<sha256>.pdf: refuses it unless its first
 * bytes are `%PDF-` and it fits in `maxBytes`. Returns the path relative to DATA_DIR.
 */
export async function storeSignedPdf(dataDir: string, source: Readable, maxBytes = CONVENZIONE_PDF_MAX_BYTES): Promise<{ path: string; sha256: string; bytes: number }> {
  const dir = path.join(dataDir, 'catalogue', 'convenzioni');
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.upload-${crypto.randomBytes(8).toString('hex')}`);
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  let head = Buffer.alloc(0);
  const out = fs.createWriteStream(tmp, { mode: 0o600 });
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw new PdfTooLargeError(maxBytes);
      if (head.length < 5) {
        head = Buffer.concat([head, chunk.subarray(0, 5 - head.length)]);
        if (head.length >= 5 && head.toString('latin1') !== '%PDF-') throw new NotAPdfError();
      }
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    if ((source as { truncated?: boolean }).truncated) throw new PdfTooLargeError(maxBytes);
    if (head.toString('latin1') !== '%PDF-') throw new NotAPdfError();
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (err) {
    // Wait for the stream to close (it may still be opening the file) before removing it.
    await new Promise<void>((resolve) => {
      if (out.closed) resolve();
      else {
        out.once('close', () => resolve());
        out.destroy();
      }
    });
    fs.rmSync(tmp, { force: true });
    if (typeof (source as { resume?: () => void }).resume === 'function') (source as { resume: () => void }).resume();
    throw err;
  }
  const sha256 = hash.digest('hex');
  const final = path.join(dir, `${sha256}.pdf`);
  fs.renameSync(tmp, final);
  return { path: path.relative(dataDir, final), sha256, bytes };
}

// ---------------------------------------------------------------- scheduled pass

/**
 * Moves convenzioni by the calendar (Italian date `today`): signed with the PDF and started →
 * in force; in force past the end → expired; in force with a recesso now effective → withdrawn.
 * Idempotent. Returns how many changed.
 */
export async function runConvenzioniSchedule(ctx: CatalogueCtx, today: string): Promise<number> {
  const by = { actor: 'system', userId: null };
  return await ctx.db.transaction(async (tx) => {
      let changed = 0;
      const move = async (c: Convenzione, to: ConvenzioneStatus, action: string) => {
        await tx.update(convenzioni).set({ status: to, updatedAt: new Date().toISOString() }).where(and(eq(convenzioni.id, c.id), eq(convenzioni.status, c.status)));
        await recordAudit(tx, { actor: by.actor, action: `convenzione.${action}`, entity: 'convenzione', entityId: c.id, enteId: c.enteId, before: { status: c.status }, after: { status: to } });
        changed++;
      };
      for (const c of await tx.select().from(convenzioni).where(and(eq(convenzioni.status, 'signed'), isNotNull(convenzioni.signedPdfSha256), lte(convenzioni.startDate, today)))) {
        if (c.endDate >= today) await move(c, 'in_force', 'put_in_force');
      }
      for (const c of await tx.select().from(convenzioni).where(and(eq(convenzioni.status, 'in_force'), isNotNull(convenzioni.withdrawalDate), lte(convenzioni.withdrawalDate, today)))) {
        await move(c, 'withdrawn', 'withdrawal_effective');
      }
      for (const c of await tx.select().from(convenzioni).where(and(inArray(convenzioni.status, ['in_force', 'signed']), lt(convenzioni.endDate, today)))) {
        await move(c, 'expired', 'expire');
      }
      return changed;
    });
}
