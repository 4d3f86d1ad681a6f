/**
 * The referenti's mailing list (seed: base service and item 19) and the mailings sent to it.
 *
 * Subscribers: the `ente_admin` users with an e-mail of every member ente (synchronised before
 * each mailing and when the list is shown) plus the addresses the SAEL admin adds. An address that
 * unsubscribed stays in the list, unsubscribed: the synchronisation never subscribes it again.
 *
 * Unsubscribe tokens: only their SHA-256 is stored. The token in a mail is
 * HMAC-SHA256(key, subscription id), with a random 32-byte key kept in `catalogue_settings`
 * (generated at first use), so every mail carries a working link without the token itself being
 * stored anywhere, and the link of an old mail keeps working.
 */
import crypto from 'node:crypto';
import { and, asc, count, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import { roleGrants, users } from '../users/schema.js';
import { catalogueDocuments, catalogueSettings, mailingRecipients, mailings, referentiSubscriptions } from './schema.js';

export type Subscription = typeof referentiSubscriptions.$inferSelect;
export type Mailing = typeof mailings.$inferSelect;
export type MailingRecipient = typeof mailingRecipients.$inferSelect;

const KEY_SETTING = 'referenti.unsubscribe_key';

export class MailingError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'MailingError';
  }
}

export function sha256Hex(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

/** The HMAC key of the unsubscribe tokens (created once, random). */
export async function unsubscribeKey(db: DbLike): Promise<Buffer> {
  return await unsubscribeKeySync(db);
}

/** The unsubscribe token of a subscription (43 characters, base64url). */
export function unsubscribeToken(key: Buffer, subscriptionId: number): string {
  return crypto.createHmac('sha256', key).update(`referenti-unsubscribe:${subscriptionId}`).digest('base64url');
}

async function insertSubscription(db: DbLike, key: Buffer, v: { enteId: number; userId: number | null; name: string; email: string }): Promise<Subscription | undefined> {
  // The token depends on the id: insert with a throw-away hash, then store the real one.
  const row = (await db
      .insert(referentiSubscriptions)
      .values({ ...v, unsubscribeTokenHash: `pending:${crypto.randomBytes(16).toString('hex')}` })
      .onConflictDoNothing()
      .returning())[0]!;
  if (!row) return undefined;
  return (await db
      .update(referentiSubscriptions)
      .set({ unsubscribeTokenHash: sha256Hex(unsubscribeToken(key, row.id)) })
      .where(eq(referentiSubscriptions.id, row.id))
      .returning())[0]!;
}

/** Adds every member ente's ente_admin that has an e-mail and is not in the list yet. Returns how many. */
export async function syncReferenti(db: DbLike): Promise<number> {
  return await syncReferentiSync(db);
}

export async function addSubscription(db: Db, v: { enteId: number; name: string; email: string }, by: { actor: string; requestId?: string }): Promise<Subscription> {
  return await db.transaction(
      async (tx) => {
        const ente = (await tx.select({ member: enti.member }).from(enti).where(eq(enti.id, v.enteId)).limit(1))[0];
        if (!ente) throw new MailingError(404, 'Ente non trovato.');
        if (!ente.member) throw new MailingError(409, 'La lista dei referenti riguarda solo gli enti aderenti al SAEL.');
        const key = await unsubscribeKeySync(tx);
        const email = v.email.trim().toLowerCase();
        const row = await insertSubscription(tx, key, { enteId: v.enteId, userId: null, name: v.name.trim(), email });
        if (!row) throw new MailingError(409, `L’indirizzo ${email} è già nella lista dei referenti di questo ente.`);
        await recordAudit(tx, { actor: by.actor, requestId: by.requestId, action: 'referenti.subscribe', entity: 'referenti_subscription', entityId: row.id, enteId: v.enteId, after: { email } });
        return row;
      },
      { behavior: 'immediate' },
    );
}

async function unsubscribeKeySync(db: DbLike): Promise<Buffer> {
  await db.insert(catalogueSettings).values({ key: KEY_SETTING, value: JSON.stringify(crypto.randomBytes(32).toString('hex')) }).onConflictDoNothing();
  const row = (await db.select({ value: catalogueSettings.value }).from(catalogueSettings).where(eq(catalogueSettings.key, KEY_SETTING)).limit(1))[0]!;
  return Buffer.from(JSON.parse(row.value) as string, 'hex');
}

export interface SubscriptionRow extends Subscription {
  enteName: string;
}

export async function listSubscriptions(db: DbLike): Promise<SubscriptionRow[]> {
  return (await db
      .select({ s: referentiSubscriptions, enteName: enti.name })
      .from(referentiSubscriptions)
      .innerJoin(enti, eq(enti.id, referentiSubscriptions.enteId))
      .orderBy(asc(enti.name), asc(referentiSubscriptions.email)))
    .map((r) => ({ ...r.s, enteName: r.enteName }));
}

/** The subscription a token belongs to, or undefined (wrong, altered or unknown token). */
export async function subscriptionByToken(db: DbLike, token: string): Promise<SubscriptionRow | undefined> {
  const r = (await db
      .select({ s: referentiSubscriptions, enteName: enti.name })
      .from(referentiSubscriptions)
      .innerJoin(enti, eq(enti.id, referentiSubscriptions.enteId))
      .where(eq(referentiSubscriptions.unsubscribeTokenHash, sha256Hex(token))).limit(1))[0];
  return r ? { ...r.s, enteName: r.enteName } : undefined;
}

/** Unsubscribes the token's address (idempotent); undefined when the token matches none. */
export async function unsubscribe(db: Db, token: string, now: Date): Promise<SubscriptionRow | undefined> {
  return await db.transaction(
      async (tx) => {
        const r = (await tx.select().from(referentiSubscriptions).where(eq(referentiSubscriptions.unsubscribeTokenHash, sha256Hex(token))).limit(1))[0];
        if (!r) return undefined;
        if (!r.unsubscribedAt) {
          await tx.update(referentiSubscriptions).set({ unsubscribedAt: now.toISOString() }).where(eq(referentiSubscriptions.id, r.id));
          await recordAudit(tx, { actor: `subscriber:${r.id}`, action: 'referenti.unsubscribe', entity: 'referenti_subscription', entityId: r.id, enteId: r.enteId, after: { unsubscribedAt: now.toISOString() } });
        }
        const ente = (await tx.select({ name: enti.name }).from(enti).where(eq(enti.id, r.enteId)).limit(1))[0]!;
        return { ...r, unsubscribedAt: r.unsubscribedAt ?? now.toISOString(), enteName: ente.name };
      },
      { behavior: 'immediate' },
    );
}

export interface DocumentRef {
  id: number;
  title: string;
  fileName: string;
}

/** Catalogue documents that can be linked in a mailing (most recent first). */
export async function linkableDocuments(db: DbLike, limit = 200): Promise<DocumentRef[]> {
  return await db
      .select({ id: catalogueDocuments.id, title: catalogueDocuments.title, fileName: catalogueDocuments.fileName })
      .from(catalogueDocuments)
      .orderBy(desc(catalogueDocuments.id))
      .limit(limit);
}

export async function documentsByIds(db: DbLike, ids: number[]): Promise<DocumentRef[]> {
  if (ids.length === 0) return [];
  return await db
      .select({ id: catalogueDocuments.id, title: catalogueDocuments.title, fileName: catalogueDocuments.fileName })
      .from(catalogueDocuments)
      .where(inArray(catalogueDocuments.id, ids))
      .orderBy(asc(catalogueDocuments.id));
}

/**
 * Creates a mailing and its recipients (every subscribed address of the member enti, after a
 * synchronisation of the referenti) in one transaction; `enqueue` (the job runner, same
 * connection) is called inside it, so a mailing never exists without its job.
 */
export async function createMailing(
  db: Db,
  input: { subject: string; body: string; documentIds: number[] },
  opts: { userId: number | null; by: { actor: string; requestId?: string }; enqueue: (mailingId: number) => Promise<number> },
): Promise<Mailing> {
  return await db.transaction(
      async (tx) => {
        const docs = input.documentIds.length ? await tx.select({ id: catalogueDocuments.id }).from(catalogueDocuments).where(inArray(catalogueDocuments.id, input.documentIds)) : [];
        const missing = input.documentIds.filter((id) => !docs.some((d) => d.id === id));
        if (missing.length) throw new MailingError(400, `Documenti non trovati: ${missing.join(', ')}. Scegli documenti esistenti.`);
        void await syncReferentiSync(tx);
        const subs = await tx
                .select({ id: referentiSubscriptions.id, email: referentiSubscriptions.email })
                .from(referentiSubscriptions)
                .innerJoin(enti, eq(enti.id, referentiSubscriptions.enteId))
                .where(and(isNull(referentiSubscriptions.unsubscribedAt), eq(enti.member, true)))
                .orderBy(asc(referentiSubscriptions.id));
        if (subs.length === 0) throw new MailingError(409, 'La lista dei referenti è vuota: aggiungi almeno un indirizzo prima di inviare.');
        const m = (await tx
                .insert(mailings)
                .values({ subject: input.subject, body: input.body, documentIds: JSON.stringify(input.documentIds), total: subs.length, createdBy: opts.userId })
                .returning())[0]!;
        for (const s of subs) await tx.insert(mailingRecipients).values({ mailingId: m.id, subscriptionId: s.id, email: s.email });
        const jobId = await opts.enqueue(m.id);
        const row = (await tx.update(mailings).set({ jobId }).where(eq(mailings.id, m.id)).returning())[0]!;
        await recordAudit(tx, { actor: opts.by.actor, requestId: opts.by.requestId, action: 'mailing.create', entity: 'mailing', entityId: m.id, after: { subject: input.subject, recipients: subs.length, documentIds: input.documentIds, jobId } });
        return row;
      },
      { behavior: 'immediate' },
    );
}

async function syncReferentiSync(db: DbLike): Promise<number> {
  const key = await unsubscribeKeySync(db);
  const referenti = await db
      .select({ enteId: roleGrants.enteId, userId: users.id, name: sql<string>`trim(coalesce(${users.name}, '') || ' ' || coalesce(${users.familyName}, ''))`, email: users.email })
      .from(roleGrants)
      .innerJoin(users, eq(users.id, roleGrants.userId))
      .innerJoin(enti, eq(enti.id, roleGrants.enteId))
      .where(and(eq(roleGrants.role, 'ente_admin'), eq(enti.member, true), sql`${users.email} IS NOT NULL AND ${users.email} <> ''`));
  let added = 0;
  for (const r of referenti) {
    const email = r.email!.trim().toLowerCase();
    if (await insertSubscription(db, key, { enteId: r.enteId!, userId: r.userId, name: r.name || email, email })) added++;
  }
  return added;
}

/** Re-queues a mailing that stopped (failed job): only its pending recipients will be sent. */
export async function resumeMailing(db: Db, id: number, opts: { by: { actor: string; requestId?: string }; enqueue: (mailingId: number) => Promise<number> }): Promise<Mailing> {
  return await db.transaction(
      async (tx) => {
        const m = (await tx.select().from(mailings).where(eq(mailings.id, id)).limit(1))[0];
        if (!m) throw new MailingError(404, 'Comunicazione non trovata.');
        if (m.status !== 'failed') throw new MailingError(409, 'Si riprende solo un invio interrotto.');
        const jobId = await opts.enqueue(m.id);
        const row = (await tx.update(mailings).set({ status: 'queued', jobId, updatedAt: new Date().toISOString() }).where(eq(mailings.id, id)).returning())[0]!;
        await recordAudit(tx, { actor: opts.by.actor, requestId: opts.by.requestId, action: 'mailing.resume', entity: 'mailing', entityId: id, after: { jobId } });
        return row;
      },
      { behavior: 'immediate' },
    );
}

export async function getMailing(db: DbLike, id: number): Promise<Mailing | undefined> {
  return (await db.select().from(mailings).where(eq(mailings.id, id)).limit(1))[0];
}

export async function listMailings(db: DbLike, limit = 100): Promise<Mailing[]> {
  return await db.select().from(mailings).orderBy(desc(mailings.id)).limit(limit);
}

export interface RecipientRow extends MailingRecipient {
  name: string;
  enteName: string;
}

export async function listRecipients(db: DbLike, mailingId: number): Promise<RecipientRow[]> {
  return (await db
      .select({ r: mailingRecipients, name: referentiSubscriptions.name, enteName: enti.name })
      .from(mailingRecipients)
      .innerJoin(referentiSubscriptions, eq(referentiSubscriptions.id, mailingRecipients.subscriptionId))
      .innerJoin(enti, eq(enti.id, referentiSubscriptions.enteId))
      .where(eq(mailingRecipients.mailingId, mailingId))
      .orderBy(asc(enti.name), asc(mailingRecipients.email)))
    .map((x) => ({ ...x.r, name: x.name, enteName: x.enteName }));
}

/** Recipients by status (pending, sent, failed, skipped). */
export async function recipientCounts(db: DbLike, mailingId: number): Promise<Record<string, number>> {
  const rows = await db
      .select({ status: mailingRecipients.status, n: count() })
      .from(mailingRecipients)
      .where(eq(mailingRecipients.mailingId, mailingId))
      .groupBy(mailingRecipients.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
