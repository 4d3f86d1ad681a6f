/**
 * Scarto (issue #16 item 9; spec conservazione.md §7): the responsabile della conservazione
 * (sael_admin) lists the PdA whose retention has passed, proposes a scarto list, records the
 * authorisation (nulla osta of the Soprintendenza / the authorising act) when approving it, and
 * executes it. Execution marks the PdA discarded and destroys their files through the store's only
 * delete path — a file is destroyed only when no other PdA still kept and no document waiting for
 * its PdA uses the same bytes (blobs are content-addressed, so identical files are shared). The
 * list and its items (URN, ente, profile, documents, retention, index hash) are kept for ever;
 * every step is an event of the log and an audit_log row.
 *
 * States: proposed → approved → executed, or proposed → rejected. A PdA is in at most one open
 * (proposed or approved) list.
 */
import { and, asc, desc, eq, inArray, isNull, lt, ne, notInArray, or } from 'drizzle-orm';
import { recordAudit } from '../../plugins/audit/index.js';
import type { DbLike } from '../../db/client.js';
import { enti } from '../enti/schema.js';
import type { ConservazioneCtx } from './context.js';
import { romeDay } from './dates.js';
import { appendEventSync } from './events.js';
import { users } from '../users/schema.js';
import { consAipDocuments, consAips, consBlobs, consEvents, consProfiles, consScartoItems, consScartoLists, consSipFiles, consSips, type ScartoStatus } from './schema.js';

export class ScartoError extends Error {
  constructor(
    readonly statusCode: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

export interface Actor {
  /** `user:<id>` */
  actor: string;
  requestId?: string;
}

export const SCARTO_STATUS_LABELS: Record<ScartoStatus, string> = {
  proposed: 'Proposto',
  approved: 'Autorizzato',
  rejected: 'Respinto',
  executed: 'Eseguito',
};

export interface ScartoCandidate {
  aipId: number;
  urn: string;
  enteId: number;
  enteName: string;
  profileCode: string;
  profileName: string;
  documents: number;
  retentionUntil: string;
  createdAt: string;
  /** A superseded PdA is an earlier version (metadata changed since): listed so the responsabile decides. */
  superseded: boolean;
}

/** Open lists (proposed or approved) hold their PdA: they are not candidates of another list. */
async function aipsInOpenLists(db: DbLike): Promise<Set<number>> {
  const rows = await db
    .select({ aipId: consScartoItems.aipId })
    .from(consScartoItems)
    .innerJoin(consScartoLists, eq(consScartoLists.id, consScartoItems.listId))
    .where(inArray(consScartoLists.status, ['proposed', 'approved']));
  return new Set(rows.map((r) => r.aipId));
}

/**
 * PdA still kept (active, or superseded by a newer version) whose retention ended before `today`
 * (Italian day), not in an open list. Superseded versions are included: otherwise the earlier
 * versions of a document would keep its files for ever after the current one is discarded.
 */
export async function scartoCandidates(ctx: ConservazioneCtx, today = romeDay(ctx.now())): Promise<ScartoCandidate[]> {
  const rows = await ctx.db
    .select({
      aipId: consAips.id,
      urn: consAips.urn,
      enteId: consAips.enteId,
      enteName: enti.name,
      profileCode: consProfiles.code,
      profileName: consProfiles.name,
      documents: consAips.documents,
      retentionUntil: consAips.retentionUntil,
      createdAt: consAips.createdAt,
      status: consAips.status,
    })
    .from(consAips)
    .innerJoin(enti, eq(enti.id, consAips.enteId))
    .innerJoin(consProfiles, eq(consProfiles.id, consAips.profileId))
    .where(and(inArray(consAips.status, ['active', 'superseded']), lt(consAips.retentionUntil, today)))
    .orderBy(asc(consAips.retentionUntil), asc(consAips.id));
  const held = await aipsInOpenLists(ctx.db);
  return rows.filter((r) => !held.has(r.aipId)).map(({ status, ...r }) => ({ ...r, retentionUntil: r.retentionUntil!, superseded: status === 'superseded' }));
}

export type ScartoList = typeof consScartoLists.$inferSelect;
export type ScartoItem = typeof consScartoItems.$inferSelect;

export async function listScartoLists(ctx: ConservazioneCtx): Promise<(ScartoList & { items: number; documents: number })[]> {
  const lists = await ctx.db.select().from(consScartoLists).orderBy(desc(consScartoLists.id));
  const items = await ctx.db.select({ listId: consScartoItems.listId, documents: consScartoItems.documents }).from(consScartoItems);
  return lists.map((l) => {
    const mine = items.filter((i) => i.listId === l.id);
    return { ...l, items: mine.length, documents: mine.reduce((s, i) => s + i.documents, 0) };
  });
}

export async function getScartoList(ctx: ConservazioneCtx, id: number): Promise<{ list: ScartoList; items: (ScartoItem & { enteName: string })[] } | null> {
  const list = await (await ctx.db.select().from(consScartoLists).where(eq(consScartoLists.id, id)).limit(1))[0];
  if (!list) return null;
  const items = await ctx.db
    .select({ item: consScartoItems, enteName: enti.name })
    .from(consScartoItems)
    .innerJoin(enti, eq(enti.id, consScartoItems.enteId))
    .where(eq(consScartoItems.listId, id))
    .orderBy(asc(consScartoItems.id));
  return { list, items: items.map((r) => ({ ...r.item, enteName: r.enteName })) };
}

/** Proposes a scarto list of these PdA (each must be a current candidate). */
export async function proposeScartoList(ctx: ConservazioneCtx, input: { aipIds: number[]; note: string }, by: Actor): Promise<number> {
  const ids = [...new Set(input.aipIds)];
  if (!ids.length) throw new ScartoError(400, 'Seleziona almeno un pacchetto di archiviazione da proporre per lo scarto.');
  const note = input.note.trim();
  if (note.length > 2000) throw new ScartoError(400, 'La nota può avere al massimo 2.000 caratteri.');
  const candidates = new Map((await scartoCandidates(ctx)).map((c) => [c.aipId, c]));
  const missing = ids.filter((id) => !candidates.has(id));
  if (missing.length) throw new ScartoError(409, `PdA non scartabili (conservazione non scaduta, già scartati o già in un elenco aperto): ${missing.join(', ')}.`);
  const at = ctx.now().toISOString();
  const indexHashes = new Map(
    (await ctx.db.select({ id: consAips.id, indexSha256: consAips.indexSha256 }).from(consAips).where(inArray(consAips.id, ids))).map((r) => [r.id, r.indexSha256]),
  );
  return await ctx.db.transaction(async (tx) => {
      const list = (await tx.insert(consScartoLists).values({ status: 'proposed', createdAt: at, createdBy: by.actor, note }).returning({ id: consScartoLists.id }))[0]!;
      for (const id of ids) {
        const c = candidates.get(id)!;
        await tx.insert(consScartoItems)
                  .values({ listId: list.id, aipId: id, enteId: c.enteId, aipUrn: c.urn, profileCode: c.profileCode, documents: c.documents, retentionUntil: c.retentionUntil, indexSha256: indexHashes.get(id)! });
      }
      await appendEventSync(tx, { kind: 'scarto', enteId: null, actor: by.actor, subject: `scarto:${list.id}`, details: { action: 'proposed', aipIds: ids, note } }, ctx.now());
      await recordAudit(tx, { actor: by.actor, action: 'conservazione.scarto.propose', entity: 'cons_scarto_list', entityId: list.id, after: { aipIds: ids, note }, requestId: by.requestId });
      return list.id;
    });
}

async function loadForTransition(tx: DbLike, id: number, from: ScartoStatus, verb: string): Promise<ScartoList> {
  const list = (await tx.select().from(consScartoLists).where(eq(consScartoLists.id, id)).limit(1))[0];
  if (!list) throw new ScartoError(404, 'Elenco di scarto non trovato.');
  if (list.status !== from) {
    throw new ScartoError(409, `L’elenco di scarto n. ${id} è ${SCARTO_STATUS_LABELS[list.status].toLowerCase()}: non si può ${verb}.`);
  }
  return list;
}

/** Approves a proposed list with the authorisation reference (nulla osta, authorising act). */
export async function approveScartoList(ctx: ConservazioneCtx, id: number, input: { authorisationRef: string }, by: Actor): Promise<void> {
  const ref = input.authorisationRef.trim();
  if (ref.length < 5 || ref.length > 500) throw new ScartoError(400, 'Indica gli estremi dell’autorizzazione allo scarto (nulla osta o atto autorizzativo: da 5 a 500 caratteri).');
  const at = ctx.now();
  await ctx.db.transaction(async (tx) => {
        await loadForTransition(tx, id, 'proposed', 'autorizzare');
        await tx.update(consScartoLists).set({ status: 'approved', authorisationRef: ref, approvedAt: at.toISOString(), approvedBy: by.actor }).where(eq(consScartoLists.id, id));
        await appendEventSync(tx, { kind: 'scarto', enteId: null, actor: by.actor, subject: `scarto:${id}`, details: { action: 'approved', authorisationRef: ref } }, at);
        await recordAudit(tx, { actor: by.actor, action: 'conservazione.scarto.approve', entity: 'cons_scarto_list', entityId: id, before: { status: 'proposed' }, after: { status: 'approved', authorisationRef: ref }, requestId: by.requestId });
      });
}

/** Rejects a proposed list (its PdA become candidates again). */
export async function rejectScartoList(ctx: ConservazioneCtx, id: number, input: { note: string }, by: Actor): Promise<void> {
  const note = input.note.trim();
  if (note.length < 3 || note.length > 2000) throw new ScartoError(400, 'Indica il motivo per cui l’elenco è respinto (da 3 a 2.000 caratteri).');
  const at = ctx.now();
  await ctx.db.transaction(async (tx) => {
        const list = await loadForTransition(tx, id, 'proposed', 'respingere');
        const merged = list.note ? `${list.note}\n\nRespinto: ${note}` : `Respinto: ${note}`;
        await tx.update(consScartoLists).set({ status: 'rejected', note: merged }).where(eq(consScartoLists.id, id));
        await appendEventSync(tx, { kind: 'scarto', enteId: null, actor: by.actor, subject: `scarto:${id}`, details: { action: 'rejected', note } }, at);
        await recordAudit(tx, { actor: by.actor, action: 'conservazione.scarto.reject', entity: 'cons_scarto_list', entityId: id, before: { status: 'proposed' }, after: { status: 'rejected', note }, requestId: by.requestId });
      });
}

/** The blob keys a PdA holds: its index, signature and time stamp, and its documents' files. */
async function aipBlobKeys(tx: DbLike, aipIds: number[]): Promise<Map<number, Set<string>>> {
  const out = new Map<number, Set<string>>(aipIds.map((id) => [id, new Set<string>()]));
  if (!aipIds.length) return out;
  for (const a of await tx.select({ id: consAips.id, i: consAips.indexKey, s: consAips.signatureKey, t: consAips.timestampKey }).from(consAips).where(inArray(consAips.id, aipIds))) {
    for (const k of [a.i, a.s, a.t]) out.get(a.id)!.add(k);
  }
  const files = await tx
      .select({ aipId: consAipDocuments.aipId, key: consSipFiles.storageKey })
      .from(consAipDocuments)
      .innerJoin(consSipFiles, eq(consSipFiles.sipId, consAipDocuments.sipId))
      .where(inArray(consAipDocuments.aipId, aipIds));
  for (const f of files) if (f.key) out.get(f.aipId)!.add(f.key);
  return out;
}

/**
 * Of `keys`, those still needed once `discarding` are gone: used by a PdA not discarded (index,
 * signature, time stamp, a document's file) or by an accepted document in no kept PdA yet.
 */
async function keysStillUsed(tx: DbLike, keys: string[], discarding: number[]): Promise<Set<string>> {
  const used = new Set<string>();
  if (!keys.length) return used;
  const keptAip = and(ne(consAips.status, 'discarded'), discarding.length ? notInArray(consAips.id, discarding) : undefined);
  for (const a of await tx
      .select({ i: consAips.indexKey, s: consAips.signatureKey, t: consAips.timestampKey })
      .from(consAips)
      .where(and(keptAip, or(inArray(consAips.indexKey, keys), inArray(consAips.signatureKey, keys), inArray(consAips.timestampKey, keys))))) {
    for (const k of [a.i, a.s, a.t]) if (keys.includes(k)) used.add(k);
  }
  // Documents (accepted PdV) with one of the files: kept if in a kept PdA or in none at all (pending).
  const docs = await tx
      .select({ sipId: consSipFiles.sipId, key: consSipFiles.storageKey })
      .from(consSipFiles)
      .innerJoin(consSips, eq(consSips.id, consSipFiles.sipId))
      .where(and(eq(consSips.status, 'accepted'), inArray(consSipFiles.storageKey, keys)));
  if (!docs.length) return used;
  const sipIds = [...new Set(docs.map((d) => d.sipId))];
  const memberships = await tx
      .select({ sipId: consAipDocuments.sipId, aipId: consAips.id, status: consAips.status })
      .from(consAipDocuments)
      .innerJoin(consAips, eq(consAips.id, consAipDocuments.aipId))
      .where(inArray(consAipDocuments.sipId, sipIds));
  const gone = new Set(discarding);
  for (const d of docs) {
    const mine = memberships.filter((m) => m.sipId === d.sipId);
    const live = mine.length === 0 || mine.some((m) => m.status !== 'discarded' && !gone.has(m.aipId));
    if (live && d.key) used.add(d.key);
  }
  return used;
}

export interface ScartoExecution {
  aips: number;
  documents: number;
  destroyed: string[];
  /** Files kept because another PdA or document still uses them. */
  kept: string[];
  /** Files the store could not destroy (reported: the PdA stays discarded, the operator removes them). */
  failed: { key: string; message: string }[];
}

/**
 * Executes an approved list: in one transaction the PdA become discarded, their unshared files
 * are marked discarded, the list executed, events and audit written; then the files are destroyed.
 * (Database first: a crash in between leaves bytes on disk that nothing references, never a
 * kept PdA without its bytes.)
 */
export async function executeScartoList(ctx: ConservazioneCtx, id: number, by: Actor): Promise<ScartoExecution> {
  const at = ctx.now();
  const iso = at.toISOString();
  const plan = await ctx.db.transaction(async (tx) => {
      await loadForTransition(tx, id, 'approved', 'eseguire');
      const items = await tx.select().from(consScartoItems).where(eq(consScartoItems.listId, id));
      const aipIds = items.map((i) => i.aipId);
      // A PdA superseded or already discarded since the approval: its own blobs are handled like the others.
      const byAip = await aipBlobKeys(tx, aipIds);
      const all = [...new Set([...byAip.values()].flatMap((s) => [...s]))];
      const used = await keysStillUsed(tx, all, aipIds);
      const destroy = all.filter((k) => !used.has(k));
      await tx.update(consAips).set({ status: 'discarded', discardedAt: iso }).where(inArray(consAips.id, aipIds));
      if (destroy.length) await tx.update(consBlobs).set({ discardedAt: iso }).where(and(inArray(consBlobs.key, destroy), isNull(consBlobs.discardedAt)));
      await tx.update(consScartoLists).set({ status: 'executed', executedAt: iso }).where(eq(consScartoLists.id, id));
      for (const item of items) {
        await appendEventSync(
                  tx,
                  { kind: 'scarto', enteId: item.enteId, actor: by.actor, subject: `aip:${item.aipId}`, details: { action: 'discarded', listId: id, urn: item.aipUrn, documents: item.documents, indexSha256: item.indexSha256 } },
                  at,
                );
      }
      await appendEventSync(tx, { kind: 'scarto', enteId: null, actor: by.actor, subject: `scarto:${id}`, details: { action: 'executed', aips: aipIds.length, destroyed: destroy.length, kept: used.size } }, at);
      await recordAudit(tx, {
              actor: by.actor,
              action: 'conservazione.scarto.execute',
              entity: 'cons_scarto_list',
              entityId: id,
              before: { status: 'approved' },
              after: { status: 'executed', aipIds, destroyedBlobs: destroy.length, keptBlobs: used.size },
              requestId: by.requestId,
            });
      return { aips: aipIds.length, documents: items.reduce((s, i) => s + i.documents, 0), destroy, kept: [...used] };
    });
  const failed: { key: string; message: string }[] = [];
  const destroyed: string[] = [];
  for (const key of plan.destroy) {
    try {
      await ctx.store.destroy(key, { scartoListId: id });
      destroyed.push(key);
    } catch (e) {
      failed.push({ key, message: (e as Error).message });
    }
  }
  return { aips: plan.aips, documents: plan.documents, destroyed, kept: plan.kept, failed };
}

const ACTION_LABELS: Record<string, string> = { proposed: 'Elenco proposto', approved: 'Scarto autorizzato', rejected: 'Elenco respinto', executed: 'Scarto eseguito' };

/** The list's steps as recorded in the event log, with the users' names. */
export async function scartoHistory(ctx: ConservazioneCtx, id: number): Promise<{ at: string; label: string; who: string; detail: string | null }[]> {
  const rows = await ctx.db.select().from(consEvents).where(eq(consEvents.subject, `scarto:${id}`)).orderBy(asc(consEvents.seq));
  const names = await actorNames(ctx, rows.map((r) => r.actor));
  return rows.map((r) => {
    const d = JSON.parse(r.details) as { action?: string; authorisationRef?: string; note?: string; destroyed?: number; kept?: number };
    const detail =
      d.action === 'approved' ? `Autorizzazione: ${d.authorisationRef}` : d.action === 'executed' ? `${d.destroyed ?? 0} file distrutti, ${d.kept ?? 0} mantenuti perché condivisi` : d.note || null;
    return { at: r.at, label: ACTION_LABELS[d.action ?? ''] ?? d.action ?? r.kind, who: names.get(r.actor) ?? r.actor, detail };
  });
}

/** `user:<id>` → the user's name (other actors as they are). */
export async function actorNames(ctx: ConservazioneCtx, actors: (string | null)[]): Promise<Map<string, string>> {
  const ids = [...new Set(actors.map((a) => (a ? /^user:(\d+)$/.exec(a)?.[1] : undefined)).filter((x): x is string => Boolean(x)).map(Number))];
  const rows = ids.length ? await ctx.db.select({ id: users.id, name: users.name, familyName: users.familyName, fiscalCode: users.fiscalCode }).from(users).where(inArray(users.id, ids)) : [];
  const out = new Map<string, string>([['system', 'sistema di conservazione']]);
  for (const u of rows) out.set(`user:${u.id}`, [u.name, u.familyName].filter(Boolean).join(' ') || u.fiscalCode);
  return out;
}
