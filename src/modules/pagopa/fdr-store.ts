/**
 * Reporting flows (FlussoRiversamento 1.0.4) from the node: validation against the official XSD,
 * reading, and storage in `fdr_flows` + `fdr_entries` in ONE transaction per flow, deduplicated
 * on (ente, identificativoFlusso, dataOraFlusso as listed). A flow is stored whole or not at all:
 * an interrupted run leaves either nothing or the complete flow, and a rerun skips it.
 *
 * Revisions: flows with the same (ente, flow id, PSP) are revisions of one flow, ordered by the
 * FdR 3 revision number (1 for nodoChiedi* and uploads), then dataOraFlusso: the newest is live,
 * every older one gets `superseded_at` in the same transaction that stores the newer one (and
 * reconcile.ts retires its matches). A REST revision is already stored when the same (ente, flow
 * id, revision) came over REST, or when the same flow with the same date-time (to the second, the
 * zone aside) came over SOAP or an upload — switching `PAGOPA_FDR_API` downloads nothing twice.
 *
 * Outcome codes 4 and 8 (stand-in, SACI 3.2) are accepted through the extended schema of
 * flusso-xml.ts (pagopa.md §9: "accept all five"); the stored raw XML is the original. Revoked
 * rows (code 3) are stored with a negative amount.
 */
import { and, desc, eq, isNull, ne, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { FlowXmlError, parseFlowXml, type FlowDoc } from './flusso-xml.js';
import { anomalies, fdrEntries, fdrFlows } from './schema.js';
import type { ListedFlow } from './fdr-client.js';

export interface FlowEntry {
  iuv: string;
  iur: string;
  transferIndex: number | null;
  /** Negative when revoked (code 3). */
  amountCents: number;
  outcomeCode: string;
  outcomeDate: string;
}

/** The flow header as read by flusso-xml.ts, with its rows as stored (revoked amounts negative). */
export type ParsedFlow = Omit<FlowDoc, 'rows'> & { entries: FlowEntry[] };

export type FlowCheck = { ok: true; flow: ParsedFlow } | { ok: false; errors: string[] };

/**
 * Validates the decoded xmlRendicontazione (FlussoRiversamento 1.0.4, with the esito 4/8 of SACI
 * 3.2 accepted) and reads it with the same reader as uploaded flows; revoked rows (esito 3) are
 * stored with a negative amount.
 */
export function parseFlussoRiversamento(xml: string): FlowCheck {
  let doc;
  try {
    doc = parseFlowXml(xml);
  } catch (err) {
    if (err instanceof FlowXmlError) return { ok: false, errors: err.problems.slice(0, 5) };
    throw err;
  }
  const { rows, ...header } = doc;
  return {
    ok: true,
    flow: {
      ...header,
      entries: rows.map((r) => ({
        iuv: r.iuv,
        iur: r.iur,
        transferIndex: r.transferIndex,
        amountCents: r.outcomeCode === '3' ? -Math.abs(r.amountCents) : r.amountCents,
        outcomeCode: r.outcomeCode,
        outcomeDate: r.outcomeDate,
      })),
    },
  };
}

/** The date-time to the second, without fraction or zone: how SOAP and REST listings of one flow are compared. */
const toSecond = (col: typeof fdrFlows.flowDateTime) => sql`substr(${col}, 1, 19)`;

export async function isFlowStored(db: Db, enteId: number, listed: ListedFlow): Promise<boolean> {
  const same = and(eq(fdrFlows.enteId, enteId), eq(fdrFlows.flowId, listed.flowId));
  const find = async (cond: ReturnType<typeof and>) => !!(await db.select({ id: fdrFlows.id }).from(fdrFlows).where(and(same, cond)).limit(1))[0];
  const sameSecond = eq(toSecond(fdrFlows.flowDateTime), listed.flowDateTime.slice(0, 19));
  if (listed.source === 'fdrRest') {
    return await find(and(eq(fdrFlows.source, 'fdrRest'), eq(fdrFlows.revision, listed.revision ?? 1))) || await find(and(ne(fdrFlows.source, 'fdrRest'), sameSecond));
  }
  return await find(eq(fdrFlows.flowDateTime, listed.flowDateTime)) || await find(and(eq(fdrFlows.source, 'fdrRest'), sameSecond));
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Marks every revision of (ente, flow id, PSP) but the newest as superseded (the newest is
 * cleared). Newest: highest revision number, then latest dataOraFlusso, then last stored.
 * Returns the live row's id. Call inside the transaction that stored a revision.
 */
export async function markSupersededRevisions(tx: Tx | Db, enteId: number, flowId: string, pspId: string, now = new Date()): Promise<number | null> {
  const same = and(eq(fdrFlows.enteId, enteId), eq(fdrFlows.flowId, flowId), eq(fdrFlows.pspId, pspId));
  const live = (await tx.select({ id: fdrFlows.id }).from(fdrFlows).where(same).orderBy(desc(fdrFlows.revision), desc(fdrFlows.flowDateTime), desc(fdrFlows.id)).limit(1))[0];
  if (!live) return null;
  await tx.update(fdrFlows).set({ supersededAt: now.toISOString() }).where(and(same, ne(fdrFlows.id, live.id), isNull(fdrFlows.supersededAt)));
  await tx.update(fdrFlows).set({ supersededAt: null }).where(eq(fdrFlows.id, live.id));
  return live.id;
}

/**
 * Stores the flow and its rows in one IMMEDIATE transaction and marks the revisions it
 * supersedes. Returns 'duplicate' (and writes nothing) when the same (ente, flow id, listed
 * date-time) is already there, also when another process stored it a moment ago. A REST revision
 * whose fdrDate equals an older revision's is keyed by its publication instant instead (the
 * table's key is (ente, flow id, date-time)).
 */
export async function storeFlow(db: Db, enteId: number, listed: ListedFlow, flow: ParsedFlow, rawXml: string, now = new Date()): Promise<'stored' | 'duplicate'> {
  return await db.transaction(
      async (tx) => {
        let flowDateTime = listed.flowDateTime;
        if (listed.source === 'fdrRest' && listed.published) {
          const taken = (await tx
                    .select({ revision: fdrFlows.revision, source: fdrFlows.source })
                    .from(fdrFlows)
                    .where(and(eq(fdrFlows.enteId, enteId), eq(fdrFlows.flowId, listed.flowId), eq(fdrFlows.flowDateTime, flowDateTime))).limit(1))[0];
          if (taken && taken.source === 'fdrRest' && taken.revision !== listed.revision) flowDateTime = listed.published;
        }
        const row = (await tx
                .insert(fdrFlows)
                .values({
                  enteId,
                  flowId: listed.flowId,
                  flowDateTime,
                  pspId: flow.pspId,
                  pspName: flow.pspName,
                  settlementId: flow.settlementId,
                  settlementDate: flow.settlementDate,
                  bic: flow.bic,
                  receiverFiscalCode: flow.receiverFiscalCode,
                  totalPayments: flow.totalPayments,
                  totalAmountCents: flow.totalAmountCents,
                  rawXml,
                  source: listed.source ?? 'nodoChiedi',
                  revision: listed.revision ?? 1,
                })
                .onConflictDoNothing()
                .returning({ id: fdrFlows.id }))[0]!;
        if (!row) return 'duplicate' as const;
        for (const [i, e] of flow.entries.entries()) {
          await tx.insert(fdrEntries)
                      .values({ flowRowId: row.id, ordinal: i + 1, iuv: e.iuv, iur: e.iur, transferIndex: e.transferIndex, amountCents: e.amountCents, outcomeCode: e.outcomeCode, outcomeDate: e.outcomeDate });
        }
        await markSupersededRevisions(tx, enteId, listed.flowId, flow.pspId, now);
        return 'stored' as const;
      },
      { behavior: 'immediate' },
    );
}

/**
 * A helpdesk anomaly for a flow that could not be stored (invalid XML, or the node refused it);
 * one anomaly per (type, ente, flow id, flow date-time) through `dedup_key`: reruns do not pile up
 * copies. Returns whether a new anomaly was written.
 */
export async function flagFlow(db: Db, enteId: number, type: 'fdr_invalid_flow' | 'fdr_download_failed', listed: ListedFlow, detail: string): Promise<boolean> {
  const rest = listed.source === 'fdrRest';
  const refs = JSON.stringify({ flowId: listed.flowId, flowDateTime: listed.flowDateTime, ...(rest ? { pspId: listed.pspId, revision: listed.revision } : {}) });
  const key = `${type}:${enteId}:${listed.flowId}:${listed.flowDateTime}${rest ? `:r${listed.revision}` : ''}`;
  const row = (await db
      .insert(anomalies)
      .values({ type, enteId, refs, detail: detail.slice(0, 2000), dedupKey: key })
      .onConflictDoNothing()
      .returning({ id: anomalies.id }))[0]!;
  return !!row;
}

/** Flows stored per ente (for the CLI summary and tests). */
export async function countFlows(db: Db, enteId?: number): Promise<number> {
  const q = db.select({ n: sql<number>`count(*)` }).from(fdrFlows);
  return (enteId === undefined ? (await q.limit(1))[0] : (await q.where(eq(fdrFlows.enteId, enteId)).limit(1))[0])?.n ?? 0;
}
