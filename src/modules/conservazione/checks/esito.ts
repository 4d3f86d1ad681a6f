/**
 * The esito of a PdV (pacchetto di versamento) check (issue #16, spec conservazione.md §8, §10.5):
 * one `CheckOutcome` per control, in the ParER style (POSITIVO | NEGATIVO | WARNING | DISABILITATO),
 * each with a stable code and an Italian message, and the overall `Esito` (OK unless any control is
 * NEGATIVO). Pure: no I/O. The codes are listed with an Italian description so that the OpenAPI
 * and the pages can document them.
 */
import type { consProfiles, FormatSuitability, Submitter } from '../schema.js';

export const CHECK_KINDS = ['hash', 'format', 'metadata', 'signature', 'profile', 'size'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export const CHECK_OUTCOMES = ['POSITIVO', 'NEGATIVO', 'WARNING', 'DISABILITATO'] as const;
export type CheckOutcomeValue = (typeof CHECK_OUTCOMES)[number];

/** Stable esito codes with their Italian description (documented in the OpenAPI and on the pages). */
export const ESITO_CODES = {
  OK: 'Controllo superato.',
  HASH_MISMATCH: 'L’impronta SHA-256 calcolata sul file non corrisponde a quella dichiarata.',
  FORMAT_UNKNOWN: 'Il formato del file non è riconoscibile dal suo contenuto.',
  FORMAT_NOT_ADMITTED: 'Il formato del file non è ammesso dal profilo di conservazione.',
  FORMAT_DEPRECATED: 'Il formato del file è ammesso ma deprecato dal profilo di conservazione (avviso).',
  FORMAT_MISMATCH: 'Il formato dichiarato non corrisponde a quello riconosciuto dal contenuto (avviso).',
  METADATA_MISSING: 'Manca un metadato obbligatorio (Allegato 5).',
  METADATA_INVALID: 'Un metadato ha un valore non valido (Allegato 5).',
  SIGNATURE_INVALID: 'La firma digitale non è valida (integrità, valore di firma o validità del certificato).',
  SIGNATURE_MISSING: 'Il profilo richiede un file firmato, ma il file non contiene una firma.',
  SIGNATURE_UNTRUSTED: 'La firma è integra ma il certificato non è riconducibile a un’autorità fidata (avviso).',
  PACKAGE_INVALID: 'Il pacchetto non è ben formato: serve un solo file principale e nomi di file distinti.',
  PROFILE_UNKNOWN: 'Il profilo di conservazione indicato non esiste o non è attivo.',
  PROFILE_NOT_ALLOWED: 'Il soggetto non è autorizzato a versare con questo profilo di conservazione.',
  FILE_TOO_LARGE: 'Il file supera la dimensione massima ammessa.',
  EMPTY_FILE: 'Il file è vuoto.',
} as const;
export type EsitoCode = keyof typeof ESITO_CODES;

export interface CheckOutcome {
  check: CheckKind;
  outcome: CheckOutcomeValue;
  code: EsitoCode;
  /** Italian, names the field or file concerned. */
  message: string;
  /** The file name the control refers to (absent for package-level controls such as metadata). */
  file?: string;
}

export interface Esito {
  code: 'OK' | 'KO';
  message: string;
  checks: CheckOutcome[];
}

function withFile(o: CheckOutcome, file?: string): CheckOutcome {
  return file === undefined ? o : { ...o, file };
}

/** A passed control (code OK). */
export function positive(check: CheckKind, message: string, file?: string): CheckOutcome {
  return withFile({ check, outcome: 'POSITIVO', code: 'OK', message }, file);
}

/** A failed control: the PdV is rejected. */
export function negative(check: CheckKind, code: EsitoCode, message: string, file?: string): CheckOutcome {
  return withFile({ check, outcome: 'NEGATIVO', code, message }, file);
}

/** A warning: recorded, the PdV is still accepted. */
export function warning(check: CheckKind, code: EsitoCode, message: string, file?: string): CheckOutcome {
  return withFile({ check, outcome: 'WARNING', code, message }, file);
}

/** A control that was not run (e.g. signature check on a profile that needs none and an unsigned file). */
export function disabled(check: CheckKind, message: string, file?: string): CheckOutcome {
  return withFile({ check, outcome: 'DISABILITATO', code: 'OK', message }, file);
}

/** KO if any control is NEGATIVO, OK otherwise (warnings do not reject). */
export function esitoOf(checks: CheckOutcome[]): Esito {
  const failed = checks.filter((c) => c.outcome === 'NEGATIVO');
  const warnings = checks.filter((c) => c.outcome === 'WARNING');
  if (failed.length > 0) {
    return {
      code: 'KO',
      message: `Pacchetto di versamento rifiutato: ${failed.length} ${failed.length === 1 ? 'controllo non superato' : 'controlli non superati'} (${[...new Set(failed.map((c) => c.code))].join(', ')}).`,
      checks,
    };
  }
  return {
    code: 'OK',
    message:
      warnings.length > 0
        ? `Pacchetto di versamento accettato con ${warnings.length} ${warnings.length === 1 ? 'avviso' : 'avvisi'}.`
        : 'Pacchetto di versamento accettato: tutti i controlli superati.',
    checks,
  };
}

/** One admitted format of a profile (`cons_profiles.formats` JSON). */
export interface ProfileFormat {
  mime: string;
  label: string;
  suitability: FormatSuitability;
  /** The signature the file of this format carries (a `.p7m` CAdES envelope or a PAdES PDF). */
  signed?: 'cades' | 'pades';
}

/** A `cons_profiles` row with its JSON columns parsed (used by checkSip and by the profiles module). */
export type ParsedProfile = Omit<typeof consProfiles.$inferSelect, 'formats' | 'requiredMetadata' | 'submitters'> & {
  formats: ProfileFormat[];
  /** Allegato 5 element names that must be present (keys of the metadata JSON). */
  requiredMetadata: string[];
  submitters: Submitter[];
};

/** Parse the JSON columns of a `cons_profiles` row. */
export function parseProfile(row: typeof consProfiles.$inferSelect): ParsedProfile {
  return {
    ...row,
    formats: JSON.parse(row.formats) as ProfileFormat[],
    requiredMetadata: JSON.parse(row.requiredMetadata) as string[],
    submitters: JSON.parse(row.submitters) as Submitter[],
  };
}
