/**
 * The tamper-evident event log of the conservazione (issue #16 item 7): every preservation event
 * (ingest, reject, RdV, PdA, audit, access, export, scarto, anchor) is an append-only row of
 * cons_events chained to the previous one by hash:
 *
 *   hash = SHA-256( prevHash + "\n" + JCS({ seq, at, kind, enteId, actor, subject, details }) )
 *
 * JCS = RFC 8785 JSON canonicalisation (the `canonicalize` package), so the hash does not depend
 * on key order. The first row's prevHash is 64 zeros. Rows are appended in the caller's
 * transaction (SQLite serialises writers, so two appends never share a predecessor); triggers of
 * migration 0014 refuse UPDATE and DELETE, and verify (verify.ts) recomputes the chain, so an edited
 * or deleted row is found even if the triggers are dropped.
 */
import { createHash } from 'node:crypto';
import canonicalizeCjs from 'canonicalize';
import { desc, sql } from 'drizzle-orm';
import type { DbLike } from '../../db/client.js';
import { lockForTransaction } from '../../db/raw.js';
import { preparedGet, preparedRun } from './prepared.js';
import { consEvents, type EventKind } from './schema.js';

// A CommonJS package whose typings declare an ES default export: under Node's ESM the default
// import IS the function.
const canonicalize = canonicalizeCjs as unknown as (input: unknown) => string | undefined;

export const GENESIS_HASH = '0'.repeat(64);

export interface NewEvent {
  kind: EventKind;
  enteId: number | null;
  /** `user:<id>`, `apikey:<id>`, `system`, `cli`. */
  actor: string;
  /** `sip:<id>`, `aip:<id>`, `blob:<key>`, `dip:<id>`, `scarto:<id>`, `anchor:<day>`. */
  subject: string;
  details?: Record<string, unknown>;
}

export interface EventRow {
  seq: number;
  at: string;
  kind: string;
  enteId: number | null;
  actor: string;
  subject: string;
  details: string;
  prevHash: string;
  hash: string;
}

/** The hash of a row given its predecessor's hash (details as stored: JSON text). */
export function eventHash(prevHash: string, row: Omit<EventRow, 'prevHash' | 'hash'>): string {
  return createHash('sha256').update(`${prevHash}\n${eventBody(row)}`).digest('hex');
}

/**
 * JCS of { seq, at, kind, enteId, actor, subject, details }: the members in JCS order, each value
 * serialised as JCS does (JSON.stringify for strings, numbers and null), and `details` spliced as
 * stored. appendEventSync stores it canonical, so this is the text `canonicalize` gives after
 * parsing it, without parsing and canonicalising it again for every event appended or verified.
 * Stored details that are not canonical (edited) give another hash: verify reports the row.
 */
function eventBody(row: Omit<EventRow, 'prevHash' | 'hash'>): string {
  const j = JSON.stringify;
  return `{"actor":${j(row.actor)},"at":${j(row.at)},"details":${row.details},"enteId":${j(row.enteId ?? null)},"kind":${j(row.kind)},"seq":${j(row.seq)},"subject":${j(row.subject)}}`;
}

/** Appends one event in the caller's transaction (or on its own). Synchronous: usable inside `db.transaction`. */
export async function appendEventSync(db: DbLike, event: NewEvent, at: Date, after?: { seq: number; hash: string }): Promise<{ seq: number; hash: string }> {
  // `after`: the head this transaction itself just appended (what an append returns), so neither
  // the lock nor the head is needed again (two events of one PdV).
  let last = after;
  if (!last) {
    // PostgreSQL: appends queue on a transaction-scoped lock, so two processes never read the same
    // head (SQLite's single writer does that by itself).
    await lockForTransaction(db, 'sael-pay:cons-events');
    last = await preparedGet(db, 'cons:event-head', (d) => d.select({ seq: consEvents.seq, hash: consEvents.hash }).from(consEvents).orderBy(desc(consEvents.seq)).limit(1).prepare(), {});
  }
  const seq = (last?.seq ?? 0) + 1;
  const prevHash = last?.hash ?? GENESIS_HASH;
  const row = { seq, at: at.toISOString(), kind: event.kind, enteId: event.enteId, actor: event.actor, subject: event.subject, details: canonicalize(event.details ?? {}) ?? '{}' };
  const hash = eventHash(prevHash, row);
  await preparedRun(db, 'cons:event-insert', (d) =>
    d
      .insert(consEvents)
      .values({
        seq: sql.placeholder('seq'),
        at: sql.placeholder('at'),
        kind: sql.placeholder('kind'),
        enteId: sql.placeholder('enteId'),
        actor: sql.placeholder('actor'),
        subject: sql.placeholder('subject'),
        details: sql.placeholder('details'),
        prevHash: sql.placeholder('prevHash'),
        hash: sql.placeholder('hash'),
      })
      .prepare(),
    { ...row, prevHash, hash },
  );
  return { seq, hash };
}

/**
 * Appends one event in its own IMMEDIATE transaction (a savepoint inside the caller's): the head is
 * read under the write lock, so two processes never chain to the same predecessor.
 */
export async function appendEvent(db: DbLike, event: NewEvent, at: Date): Promise<{ seq: number; hash: string }> {
  return await db.transaction(async (tx) => await appendEventSync(tx, event, at), { behavior: 'immediate' });
}
