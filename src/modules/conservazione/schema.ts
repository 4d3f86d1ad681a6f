/**
 * Conservazione digitale a norma (issue #16; spec conservazione.md §10): profiles per tipologia
 * documentale, PdV (pacchetti di versamento) with their files and esito, rapporti di versamento,
 * PdA (pacchetti di archiviazione: one signed, time-stamped SInCRO index over a batch of documents
 * of one ente and profile, with versions), the content-addressed stored blobs and their fixity
 * audits, alerts, the tamper-evident event log with its daily time-stamped anchors, PdD
 * (distribution packages) and scarto lists.
 *
 * Vocabulary: a "document" is one unità documentaria = one accepted PdV (main file + annexes +
 * Allegato 5 metadata); a PdA holds many documents; a blob is one stored file, keyed by the
 * SHA-256 (hex) of its bytes. Instants are ISO UTC text, dates `YYYY-MM-DD`.
 * Rows of cons_rdv, cons_events and cons_anchors are write-once: migration 0014 adds triggers
 * that abort any UPDATE or DELETE on them.
 */
import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { bool, createdAt, updatedAt } from '../../db/columns.js';
import { enti } from '../enti/schema.js';
import { tickets } from '../helpdesk/schema.js';

/** Who may submit a PdV of a profile: the platform's daily job, the ente (API key or back office), the SAEL. */
export const SUBMITTERS = ['system', 'ente', 'sael'] as const;
export type Submitter = (typeof SUBMITTERS)[number];

/** Allegato 2 style suitability of a format for a profile (ParER IdoneitaFormato). */
export const FORMAT_SUITABILITY = ['IDONEO', 'GESTITO', 'DEPRECATO'] as const;
export type FormatSuitability = (typeof FORMAT_SUITABILITY)[number];

/**
 * A conservazione profile: one tipologia documentale with its admitted formats, required
 * metadata and retention. JSON columns:
 * - formats: `[{ mime: "application/pdf", label: "PDF", suitability: "IDONEO", signed?: "cades"|"pades" }]`
 * - requiredMetadata: Allegato 5 element names that must be present (e.g. "Oggetto", "DataDocumento")
 * - submitters: `Submitter[]`
 */
export const consProfiles = sqliteTable(
  'cons_profiles',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** Stable code used by the API (`ricevuta-pagopa`, `flusso-rendicontazione`, `determina`, …). */
    code: text('code').notNull().unique(),
    name: text('name').notNull(),
    /** Allegato 5 TipologiaDocumentale. */
    tipologiaDocumentale: text('tipologia_documentale').notNull(),
    description: text('description').notNull().default(''),
    formats: text('formats').notNull().default('[]'),
    requiredMetadata: text('required_metadata').notNull().default('[]'),
    /** TempoDiConservazione in years (1..9999); null = illimitato (never discarded). */
    retentionYears: integer('retention_years'),
    submitters: text('submitters').notNull().default('["ente","sael"]'),
    /** Whether every main file must carry a valid signature (CAdES or PAdES). */
    signatureRequired: bool('signature_required').notNull().default(false),
    active: bool('active').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [check('cons_profiles_retention', sql`${t.retentionYears} IS NULL OR (${t.retentionYears} BETWEEN 1 AND 9999)`)],
);

export const SIP_SOURCES = ['api', 'upload', 'auto'] as const;
export type SipSource = (typeof SIP_SOURCES)[number];
export const SIP_STATUSES = ['accepted', 'rejected'] as const;
export type SipStatus = (typeof SIP_STATUSES)[number];

/**
 * A PdV as received, accepted or rejected (rejected ones are kept with their esito). `objectKey`
 * identifies the document within ente + profile (the client's Identificativo, or `receipt:<id>`
 * for the daily job): three rejections of one key open a ticket.
 * - metadata: the Allegato 5 metadata as submitted (JSON object)
 * - esito: `{ code: "OK"|"KO", message, checks: [{ check, outcome: "POSITIVO"|"NEGATIVO"|"WARNING"|"DISABILITATO", code, message, file? }] }`
 */
export const consSips = sqliteTable(
  'cons_sips',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** urn:sael-pay:pdv:<ente CF>:<yyyy>:<id> style, unique. */
    urn: text('urn').notNull().unique(),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    profileId: integer('profile_id').notNull().references(() => consProfiles.id, { onDelete: 'restrict' }),
    objectKey: text('object_key').notNull(),
    source: text('source', { enum: SIP_SOURCES }).notNull(),
    /** `user:<id>`, `apikey:<id>` or `system`. */
    submittedBy: text('submitted_by').notNull(),
    status: text('status', { enum: SIP_STATUSES }).notNull(),
    metadata: text('metadata').notNull().default('{}'),
    esito: text('esito').notNull(),
    /** SHA-256 (hex) of the PdV index (the canonical JSON of metadata + file list). */
    indexSha256: text('index_sha256').notNull(),
    /** SHA-256 (hex) over the whole PdV: the index hash then every file's hash, in order. */
    sipSha256: text('sip_sha256').notNull(),
    /** Searchable copies of metadata: document date, IUV (receipts, flows), subject. */
    docDate: text('doc_date'),
    iuv: text('iuv'),
    oggetto: text('oggetto'),
    /** The ticket opened at the third rejection of this object key. */
    ticketId: integer('ticket_id').references(() => tickets.id, { onDelete: 'set null' }),
    receivedAt: text('received_at').notNull(),
  },
  (t) => [
    index('cons_sips_object').on(t.enteId, t.profileId, t.objectKey),
    index('cons_sips_ente_received').on(t.enteId, t.receivedAt),
    index('cons_sips_iuv').on(t.iuv),
    index('cons_sips_status').on(t.status, t.enteId),
  ],
);

/**
 * The files of a PdV. `storageKey` (= actualSha256) is set when the file was stored (accepted PdV).
 * - signature: `{ format: "CAdES"|"PAdES"|null, outcome, signers: [{ subject, serial, notBefore, notAfter }], message }` or null
 */
export const consSipFiles = sqliteTable(
  'cons_sip_files',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    sipId: integer('sip_id').notNull().references(() => consSips.id, { onDelete: 'cascade' }),
    ordinal: integer('ordinal').notNull(),
    /** principale | allegato | annesso */
    role: text('role', { enum: ['principale', 'allegato', 'annesso'] }).notNull(),
    name: text('name').notNull(),
    declaredSha256: text('declared_sha256').notNull(),
    actualSha256: text('actual_sha256').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    /** The format identified from the bytes (null when unknown). */
    mime: text('mime'),
    declaredMime: text('declared_mime'),
    suitability: text('suitability', { enum: FORMAT_SUITABILITY }),
    signature: text('signature'),
    storageKey: text('storage_key'),
  },
  (t) => [uniqueIndex('cons_sip_files_ordinal').on(t.sipId, t.ordinal)],
);

/** The rapporto di versamento of an accepted PdV (write-once). */
export const consRdv = sqliteTable('cons_rdv', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  sipId: integer('sip_id')
    .notNull()
    .unique()
    .references(() => consSips.id, { onDelete: 'restrict' }),
  urn: text('urn').notNull().unique(),
  /** UTC instant of the rapporto. */
  createdAt: text('created_at').notNull(),
  /** The RdV document (XML) and its SHA-256 (hex), also in its 'rdv' event (conservazione:verify checks both). */
  xml: text('xml').notNull(),
  sha256: text('sha256').notNull(),
});

export const AIP_STATUSES = ['active', 'superseded', 'discarded'] as const;
export type AipStatus = (typeof AIP_STATUSES)[number];

/**
 * A PdA: a SInCRO v2 PIndex over a batch of documents of one ente and profile, signed (CAdES
 * detached, `.p7s`) and time-stamped (RFC 3161 token over the signature, `.tsr`). A new version
 * (metadata changed) points to the previous PdA, which becomes `superseded` for those documents.
 */
export const consAips = sqliteTable(
  'cons_aips',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    urn: text('urn').notNull().unique(),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    profileId: integer('profile_id').notNull().references(() => consProfiles.id, { onDelete: 'restrict' }),
    version: integer('version').notNull().default(1),
    previousAipId: integer('previous_aip_id'),
    status: text('status', { enum: AIP_STATUSES }).notNull().default('active'),
    documents: integer('documents').notNull(),
    /** Blob keys of the index XML, its CAdES detached signature and the time-stamp token. */
    indexKey: text('index_key').notNull(),
    indexSha256: text('index_sha256').notNull(),
    signatureKey: text('signature_key').notNull(),
    timestampKey: text('timestamp_key').notNull(),
    /** genTime of the time stamp (UTC) and the signer certificate's subject. */
    timestampedAt: text('timestamped_at').notNull(),
    signerSubject: text('signer_subject').notNull(),
    /** Last day of retention: the latest document date + the profile's years; null = illimitato. */
    retentionUntil: text('retention_until'),
    createdAt: text('created_at').notNull(),
    discardedAt: text('discarded_at'),
  },
  (t) => [index('cons_aips_ente').on(t.enteId, t.createdAt), index('cons_aips_retention').on(t.status, t.retentionUntil)],
);

/**
 * The documents (accepted PdV) of a PdA, with the Allegato 5 metadata as written in that index
 * (a metadata change makes a new PdA version with a new row here).
 */
export const consAipDocuments = sqliteTable(
  'cons_aip_documents',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    aipId: integer('aip_id')
      .notNull()
      .references(() => consAips.id, { onDelete: 'restrict' }),
    sipId: integer('sip_id')
      .notNull()
      .references(() => consSips.id, { onDelete: 'restrict' }),
    /** The FileGroup ID in the index. */
    fileGroupId: text('file_group_id').notNull(),
    metadata: text('metadata').notNull(),
    /** Whether this is the document's current version (false once a newer PdA holds it). */
    current: bool('current').notNull().default(true),
  },
  (t) => [uniqueIndex('cons_aip_documents_key').on(t.aipId, t.sipId), index('cons_aip_documents_sip').on(t.sipId, t.current)],
);

/**
 * Every stored blob (content address = SHA-256 hex of the bytes), for the fixity audit. `store`
 * names the backend that holds it. `lastAudit*` is the latest outcome (each outcome is also a row
 * of cons_audit_results).
 */
export const consBlobs = sqliteTable(
  'cons_blobs',
  {
    key: text('key').primaryKey(),
    sizeBytes: integer('size_bytes').notNull(),
    store: text('store', { enum: ['file', 's3'] }).notNull(),
    createdAt: text('created_at').notNull(),
    lastAuditAt: text('last_audit_at'),
    lastAuditOutcome: text('last_audit_outcome', { enum: ['ok', 'mismatch', 'missing'] }),
    /** Set when scarto destroyed the bytes (the row stays). */
    discardedAt: text('discarded_at'),
  },
  (t) => [index('cons_blobs_audit').on(t.discardedAt, t.lastAuditAt)],
);

/** One pass of the fixity audit; resumable: `cursor` is the last blob key checked. */
export const consAuditRuns = sqliteTable('cons_audit_runs', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  startedAt: text('started_at').notNull(),
  finishedAt: text('finished_at'),
  status: text('status', { enum: ['running', 'done', 'interrupted'] }).notNull().default('running'),
  /** Blobs last audited before this instant are due in this run. */
  dueBefore: text('due_before').notNull(),
  cursor: text('cursor'),
  checked: integer('checked').notNull().default(0),
  ok: integer('ok').notNull().default(0),
  mismatches: integer('mismatches').notNull().default(0),
  missing: integer('missing').notNull().default(0),
});

export const consAuditResults = sqliteTable(
  'cons_audit_results',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: integer('run_id')
      .notNull()
      .references(() => consAuditRuns.id, { onDelete: 'cascade' }),
    blobKey: text('blob_key').notNull(),
    outcome: text('outcome', { enum: ['ok', 'mismatch', 'missing'] }).notNull(),
    actualSha256: text('actual_sha256'),
    checkedAt: text('checked_at').notNull(),
  },
  (t) => [index('cons_audit_results_run').on(t.runId, t.outcome), index('cons_audit_results_blob').on(t.blobKey)],
);

export const ALERT_KINDS = ['fixity_mismatch', 'fixity_missing', 'chain_broken', 'timestamp_failed', 'signature_failed', 'sip_rejected_3x', 'daily_job_failed'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Alerts for the responsabile della conservazione, each with the ticket it opened. */
export const consAlerts = sqliteTable(
  'cons_alerts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind', { enum: ALERT_KINDS }).notNull(),
    enteId: integer('ente_id').references(() => enti.id, { onDelete: 'restrict' }),
    /** What it is about: `blob:<key>`, `aip:<id>`, `sip-object:<key>`, `event:<seq>`. */
    subject: text('subject').notNull(),
    message: text('message').notNull(),
    ticketId: integer('ticket_id').references(() => tickets.id, { onDelete: 'set null' }),
    createdAt: text('created_at').notNull(),
    acknowledgedAt: text('acknowledged_at'),
    acknowledgedBy: text('acknowledged_by'),
  },
  (t) => [index('cons_alerts_open').on(t.acknowledgedAt, t.createdAt)],
);

export const EVENT_KINDS = ['ingest', 'reject', 'rdv', 'pda', 'audit', 'access', 'export', 'scarto', 'anchor', 'profile'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * The tamper-evident event log: append-only, each row chained to the previous one:
 * hash = SHA-256(prevHash + "\n" + canonical JSON of {seq, at, kind, enteId, actor, subject, details}).
 * The first row's prevHash is 64 zeros.
 */
export const consEvents = sqliteTable(
  'cons_events',
  {
    seq: integer('seq').primaryKey(),
    at: text('at').notNull(),
    kind: text('kind', { enum: EVENT_KINDS }).notNull(),
    enteId: integer('ente_id'),
    actor: text('actor').notNull(),
    /** `sip:<id>`, `aip:<id>`, `blob:<key>`, `dip:<id>`, `scarto:<id>`, `anchor:<day>`. */
    subject: text('subject').notNull(),
    details: text('details').notNull().default('{}'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull().unique(),
  },
  (t) => [index('cons_events_subject').on(t.subject), index('cons_events_ente').on(t.enteId, t.seq)],
);

/** Once a day the chain head (hash of the last event) is time-stamped (write-once). */
export const consAnchors = sqliteTable('cons_anchors', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  day: text('day').notNull().unique(),
  lastSeq: integer('last_seq').notNull(),
  headHash: text('head_hash').notNull(),
  /** The RFC 3161 TimeStampToken (DER, base64) over SHA-256(headHash bytes as hex text). */
  token: text('token').notNull(),
  timestampedAt: text('timestamped_at').notNull(),
  createdAt: text('created_at').notNull(),
});

/** A PdD produced for a user (the ZIP is built on request from the stored blobs; each download is an `access` event). */
export const consDips = sqliteTable(
  'cons_dips',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    urn: text('urn').notNull().unique(),
    enteId: integer('ente_id').notNull().references(() => enti.id, { onDelete: 'restrict' }),
    aipId: integer('aip_id')
      .notNull()
      .references(() => consAips.id, { onDelete: 'restrict' }),
    /** Null = the whole PdA; else JSON array of sip ids. */
    sipIds: text('sip_ids'),
    requestedBy: text('requested_by').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [index('cons_dips_ente').on(t.enteId, t.createdAt)],
);

export const SCARTO_STATUSES = ['proposed', 'approved', 'rejected', 'executed'] as const;
export type ScartoStatus = (typeof SCARTO_STATUSES)[number];

/** A scarto list: proposed by the responsabile, approved with the authorisation reference, executed. Kept for ever. */
export const consScartoLists = sqliteTable('cons_scarto_lists', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  status: text('status', { enum: SCARTO_STATUSES }).notNull().default('proposed'),
  createdAt: text('created_at').notNull(),
  createdBy: text('created_by').notNull(),
  /** The nulla osta / authorising act (e.g. "Soprintendenza archivistica, prot. 1234 del 2026-11-02"). */
  authorisationRef: text('authorisation_ref'),
  approvedAt: text('approved_at'),
  approvedBy: text('approved_by'),
  executedAt: text('executed_at'),
  note: text('note').notNull().default(''),
});

/** The PdA of a scarto list, with what identifies them after destruction. */
export const consScartoItems = sqliteTable(
  'cons_scarto_items',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    listId: integer('list_id')
      .notNull()
      .references(() => consScartoLists.id, { onDelete: 'restrict' }),
    aipId: integer('aip_id')
      .notNull()
      .references(() => consAips.id, { onDelete: 'restrict' }),
    enteId: integer('ente_id').notNull(),
    aipUrn: text('aip_urn').notNull(),
    profileCode: text('profile_code').notNull(),
    documents: integer('documents').notNull(),
    retentionUntil: text('retention_until').notNull(),
    indexSha256: text('index_sha256').notNull(),
  },
  (t) => [uniqueIndex('cons_scarto_items_key').on(t.listId, t.aipId)],
);

/**
 * Which platform object went into which PdV (daily job): one row per source object, so the job
 * never sends the same receipt twice. sourceType: receipt | fdr_flow | treasury_import | convenzione.
 */
export const consSourceLinks = sqliteTable(
  'cons_source_links',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    sourceType: text('source_type', { enum: ['receipt', 'fdr_flow', 'treasury_import', 'convenzione'] }).notNull(),
    sourceId: integer('source_id').notNull(),
    enteId: integer('ente_id').notNull(),
    sipId: integer('sip_id')
      .notNull()
      .references(() => consSips.id, { onDelete: 'restrict' }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('cons_source_links_key').on(t.sourceType, t.sourceId)],
);

/** The daily job's runs, one per (day, ente): idempotent per day. */
export const consDailyRuns = sqliteTable(
  'cons_daily_runs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    day: text('day').notNull(),
    enteId: integer('ente_id').notNull(),
    status: text('status', { enum: ['running', 'done', 'failed'] }).notNull(),
    sips: integer('sips').notNull().default(0),
    rejected: integer('rejected').notNull().default(0),
    aips: integer('aips').notNull().default(0),
    message: text('message'),
    startedAt: text('started_at').notNull(),
    finishedAt: text('finished_at'),
  },
  (t) => [uniqueIndex('cons_daily_runs_key').on(t.day, t.enteId)],
);

/** Key/value settings of the conservazione (responsabile, audit cycle, …), edited by the SAEL. */
export const consSettings = sqliteTable('cons_settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: updatedAt(),
});
