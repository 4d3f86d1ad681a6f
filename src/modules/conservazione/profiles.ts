/**
 * Conservazione profiles per tipologia documentale (issue #16 item 1): admitted formats (Allegato 2
 * style suitability), required Allegato 5 metadata, retention (TempoDiConservazione, years) and who
 * may submit. The platform seeds its profiles at start-up (only missing codes: the responsabile's
 * edits stay); the SAEL admin edits them on /admin/conservazione/profili (profiles-routes.ts).
 *
 * Retention choices of the seed (the piano di conservazione of each comune may differ; the
 * responsabile edits them):
 * - pagoPA receipts, reporting flows and treasury statements: 10 years — the ordinary retention of
 *   accounting records and of the supporting documents of payments (art. 2220 c.c., DPR 600/1973
 *   art. 22); a comune's piano may ask for longer.
 * - convenzioni, determine, delibere, contratti: illimitato (null: never proposed for scarto) —
 *   the piani di conservazione of the comuni (Piano di conservazione degli archivi dei Comuni,
 *   2005) keep deliberations, determinations and the repertorio dei contratti permanently.
 * Formats: PDF (PDF/A preferred) and XML are IDONEO for every profile; signed files are CAdES
 * `.p7m` (application/pkcs7-mime) or PAdES (application/pdf with a signature). CSV and ODF/OOXML
 * text are GESTITO where an office produces them.
 */
import { asc, eq } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { parseProfile, type ParsedProfile, type ProfileFormat } from './checks/esito.js';
import { appendEventSync } from './events.js';
import { consProfiles, type Submitter } from './schema.js';

export type { ParsedProfile, ProfileFormat };

export interface ProfileSeed {
  code: string;
  name: string;
  tipologiaDocumentale: string;
  description: string;
  formats: ProfileFormat[];
  requiredMetadata: string[];
  retentionYears: number | null;
  submitters: Submitter[];
  signatureRequired: boolean;
}

const PDF: ProfileFormat = { mime: 'application/pdf', label: 'PDF (PDF/A raccomandato)', suitability: 'IDONEO' };
const XML: ProfileFormat = { mime: 'application/xml', label: 'XML', suitability: 'IDONEO' };
const PADES: ProfileFormat = { mime: 'application/pdf', label: 'PDF firmato (PAdES)', suitability: 'IDONEO', signed: 'pades' };
const CADES: ProfileFormat = { mime: 'application/pkcs7-mime', label: 'Busta CAdES (.p7m)', suitability: 'IDONEO', signed: 'cades' };
const CSV: ProfileFormat = { mime: 'text/csv', label: 'CSV', suitability: 'GESTITO' };
const ODT: ProfileFormat = { mime: 'application/vnd.oasis.opendocument.text', label: 'OpenDocument testo (.odt)', suitability: 'GESTITO' };
const DOCX: ProfileFormat = { mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', label: 'Office Open XML testo (.docx)', suitability: 'GESTITO' };

/** The Allegato 5 metadata every profile requires (keys of the metadata JSON). */
const BASE_METADATA = ['Identificativo', 'TipologiaDocumentale', 'ModalitaDiFormazione', 'Oggetto', 'DataDocumento'];

export const SEEDED_PROFILES: readonly ProfileSeed[] = [
  {
    code: 'ricevuta-pagopa',
    name: 'Ricevuta di pagamento pagoPA',
    tipologiaDocumentale: 'Ricevuta telematica pagoPA',
    description: 'La ricevuta telematica (paSendRT / paSendRTV2) ricevuta dal Nodo dei Pagamenti, in XML originale, con la ricevuta PDF generata dal portale. Versata automaticamente ogni giorno.',
    formats: [XML, PDF],
    requiredMetadata: [...BASE_METADATA, 'IUV'],
    retentionYears: 10,
    submitters: ['system'],
    signatureRequired: false,
  },
  {
    code: 'flusso-rendicontazione',
    name: 'Flusso di rendicontazione pagoPA',
    tipologiaDocumentale: 'Flusso di rendicontazione (FdR)',
    description: 'Il flusso di rendicontazione del PSP (XML FdR) scaricato dal Nodo dei Pagamenti. Versato automaticamente ogni giorno.',
    formats: [XML],
    requiredMetadata: [...BASE_METADATA],
    retentionYears: 10,
    submitters: ['system'],
    signatureRequired: false,
  },
  {
    code: 'giornale-tesoreria',
    name: 'Giornale di cassa del tesoriere',
    tipologiaDocumentale: 'Giornale di cassa',
    description: 'Il giornale di cassa o l’estratto conto del tesoriere dell’ente (XML OPI, PDF o CSV).',
    formats: [XML, PDF, CSV],
    requiredMetadata: [...BASE_METADATA],
    retentionYears: 10,
    submitters: ['system', 'ente', 'sael'],
    signatureRequired: false,
  },
  {
    code: 'convenzione',
    name: 'Convenzione firmata',
    tipologiaDocumentale: 'Convenzione',
    description: 'La convenzione fra l’ente e la Provincia (S.A.E.L.) firmata digitalmente: PDF con firma PAdES o busta CAdES (.p7m).',
    formats: [PADES, CADES],
    requiredMetadata: [...BASE_METADATA, 'NumeroDocumento'],
    retentionYears: null,
    submitters: ['system', 'ente', 'sael'],
    signatureRequired: true,
  },
  {
    code: 'determina',
    name: 'Determinazione dirigenziale',
    tipologiaDocumentale: 'Determinazione',
    description: 'Determinazioni dei responsabili di servizio, con i loro allegati.',
    formats: [PDF, PADES, CADES, XML, ODT, DOCX],
    requiredMetadata: [...BASE_METADATA, 'NumeroDocumento'],
    retentionYears: null,
    submitters: ['ente', 'sael'],
    signatureRequired: false,
  },
  {
    code: 'delibera',
    name: 'Deliberazione',
    tipologiaDocumentale: 'Deliberazione',
    description: 'Deliberazioni della giunta e del consiglio, con i loro allegati.',
    formats: [PDF, PADES, CADES, XML, ODT, DOCX],
    requiredMetadata: [...BASE_METADATA, 'NumeroDocumento'],
    retentionYears: null,
    submitters: ['ente', 'sael'],
    signatureRequired: false,
  },
  {
    code: 'contratto',
    name: 'Contratto',
    tipologiaDocumentale: 'Contratto',
    description: 'Contratti dell’ente (repertorio), firmati digitalmente dalle parti.',
    formats: [PADES, CADES, PDF],
    requiredMetadata: [...BASE_METADATA, 'NumeroDocumento'],
    retentionYears: null,
    submitters: ['ente', 'sael'],
    signatureRequired: true,
  },
];

/** Seeds the platform's profiles (idempotent: only missing codes are added, admin edits stay). */
export async function seedConservazioneProfiles(db: Db): Promise<void> {
  for (const p of SEEDED_PROFILES) {
    await db.insert(consProfiles)
            .values({
              code: p.code,
              name: p.name,
              tipologiaDocumentale: p.tipologiaDocumentale,
              description: p.description,
              formats: JSON.stringify(p.formats),
              requiredMetadata: JSON.stringify(p.requiredMetadata),
              retentionYears: p.retentionYears,
              submitters: JSON.stringify(p.submitters),
              signatureRequired: p.signatureRequired,
            })
            .onConflictDoNothing({ target: consProfiles.code });
  }
}

export async function listProfiles(db: DbLike, opts: { activeOnly?: boolean } = {}): Promise<ParsedProfile[]> {
  const rows = await db
      .select()
      .from(consProfiles)
      .where(opts.activeOnly ? eq(consProfiles.active, true) : undefined)
      .orderBy(asc(consProfiles.name));
  return rows.map(parseProfile);
}

export async function getProfileByCode(db: DbLike, code: string): Promise<ParsedProfile | null> {
  const row = (await db.select().from(consProfiles).where(eq(consProfiles.code, code)).limit(1))[0];
  return row ? parseProfile(row) : null;
}

export async function getProfileById(db: DbLike, id: number): Promise<ParsedProfile | null> {
  const row = (await db.select().from(consProfiles).where(eq(consProfiles.id, id)).limit(1))[0];
  return row ? parseProfile(row) : null;
}

export interface ProfileUpdate {
  name: string;
  tipologiaDocumentale: string;
  description: string;
  formats: ProfileFormat[];
  requiredMetadata: string[];
  retentionYears: number | null;
  submitters: Submitter[];
  signatureRequired: boolean;
  active: boolean;
}

/**
 * Updates a profile and records the audit (before/after of the changed fields)
 * and the 'profile' event of the conservazione log in the same transaction. Returns the profile
 * with the before/after of the changed fields, or null for an unknown code.
 */
export async function updateProfile(
  db: Db,
  code: string,
  change: ProfileUpdate,
  actor: { actor: string; requestId?: string | null },
  now: Date,
): Promise<{ profile: ParsedProfile; before: Record<string, unknown>; after: Record<string, unknown> } | null> {
  return await db.transaction(async (tx) => {
      const row = (await tx.select().from(consProfiles).where(eq(consProfiles.code, code)).limit(1))[0];
      if (!row) return null;
      const old = parseProfile(row);
      const before: Record<string, unknown> = {};
      const after: Record<string, unknown> = {};
      for (const key of Object.keys(change) as (keyof ProfileUpdate)[]) {
        if (JSON.stringify(old[key]) !== JSON.stringify(change[key])) {
          before[key] = old[key];
          after[key] = change[key];
        }
      }
      const updated = (await tx
            .update(consProfiles)
            .set({
              name: change.name,
              tipologiaDocumentale: change.tipologiaDocumentale,
              description: change.description,
              formats: JSON.stringify(change.formats),
              requiredMetadata: JSON.stringify(change.requiredMetadata),
              retentionYears: change.retentionYears,
              submitters: JSON.stringify(change.submitters),
              signatureRequired: change.signatureRequired,
              active: change.active,
              updatedAt: now.toISOString(),
            })
            .where(eq(consProfiles.id, row.id))
            .returning())[0]!;
      await recordAudit(tx, { actor: actor.actor, requestId: actor.requestId ?? null, action: 'cons_profile.update', entity: 'cons_profile', entityId: row.id, before, after });
      await appendEventSync(tx, { kind: 'profile', enteId: null, actor: actor.actor, subject: `profile:${row.code}`, details: { before, after } }, now);
      return { profile: parseProfile(updated), before, after };
    });
}
