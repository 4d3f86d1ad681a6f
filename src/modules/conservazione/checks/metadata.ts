/**
 * Validation of a PdV's metadata JSON (AgID Allegato 5 element names, spec conservazione.md §5;
 * the flat shape agreed in the plan) against a profile's required names and the value rules:
 * one CheckOutcome per problem (METADATA_MISSING / METADATA_INVALID, Italian message naming the
 * field), or one POSITIVO when all is well. Pure: the clock is a parameter.
 */
import { MODALITA_DI_FORMAZIONE, RUOLI } from '../pindex.js';
import { romeDay } from '../dates.js';
import { negative, positive, type CheckOutcome } from './esito.js';
import { isIsoDate as isValidIsoDate } from '../../../domain/iso-date.js';
import { isXmlText } from '../../../xml/xml-chars.js';

/** The metadata JSON of a PdV (keys = Allegato 5 element names). */
export interface PdvMetadata {
  Identificativo?: string;
  TipologiaDocumentale?: string;
  ModalitaDiFormazione?: 'a' | 'b' | 'c' | 'd';
  Oggetto?: string;
  DataDocumento?: string;
  NumeroDocumento?: string;
  TipologiaDiFlusso?: 'E' | 'U' | 'I';
  Soggetti?: PdvSoggetto[];
  ParoleChiave?: string[];
  Riservato?: boolean;
  TempoDiConservazione?: number;
  IUV?: string;
  Classificazione?: string;
  Note?: string;
  [key: string]: unknown;
}

export interface PdvSoggetto {
  ruolo: string;
  tipo: string;
  denominazione?: string;
  nome?: string;
  cognome?: string;
  codiceFiscale?: string;
  ipa?: string;
}

/** The metadata names this module knows (others are refused: a typo must not pass silently). */
export const KNOWN_METADATA = [
  'Identificativo',
  'TipologiaDocumentale',
  'ModalitaDiFormazione',
  'Oggetto',
  'DataDocumento',
  'NumeroDocumento',
  'TipologiaDiFlusso',
  'Soggetti',
  'ParoleChiave',
  'Riservato',
  'TempoDiConservazione',
  'IUV',
  'Classificazione',
  'Note',
] as const;

export const SOGGETTO_TIPI = ['PF', 'PG', 'PAI', 'PAE', 'AS', 'SW'] as const;

/** Maximum length (characters) of each text field. */
export const MAX_LENGTH: Record<string, number> = {
  Identificativo: 200,
  TipologiaDocumentale: 200,
  Oggetto: 1000,
  NumeroDocumento: 100,
  Classificazione: 200,
  Note: 4000,
  ParolaChiave: 100,
  denominazione: 500,
  nome: 200,
  cognome: 200,
  codiceFiscale: 16,
  ipa: 20,
};


/** The metadata go into the PdA's XML index, which cannot carry these characters. */
const CONTROL_CHARACTERS = 'contiene caratteri di controllo o non validi, che un documento XML non può contenere.';

const CF_PERSONA = /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/;
const CF_NUMERICO = /^[0-9]{11}$/;

/**
 * True for a pagoPA IUV (creditorReferenceId) of any generation point: 17 digits (aux 1, 2, 3;
 * positions/numbers.ts `isValidIuv` checks aux-3 check digits, but an aux-1 IUV has none, so
 * 17 digits cannot be refused on them), 15 digits (aux 0), or an ISO 11649 RF creditor reference
 * (mod 97 check).
 */
export function isPagoPaIuv(iuv: string): boolean {
  if (/^[0-9]{17}$/.test(iuv) || /^[0-9]{15}$/.test(iuv)) return true;
  const rf = /^RF([0-9]{2})([A-Za-z0-9]{1,21})$/.exec(iuv);
  if (!rf) return false;
  const rearranged = (rf[2]! + 'RF' + rf[1]!).toUpperCase();
  const digits = [...rearranged].map((c) => (c >= 'A' ? String(c.charCodeAt(0) - 55) : c)).join('');
  let mod = 0;
  for (const d of digits) mod = (mod * 10 + Number(d)) % 97;
  return mod === 1;
}

export interface ValidateMetadataOptions {
  /** Allegato 5 names the profile requires. */
  required: readonly string[];
  /** The clock: DataDocumento may not be after this instant's Italian day. */
  now: Date;
}

/** Validates the metadata JSON; returns one outcome per problem, or a single POSITIVO. */
export function validateMetadata(metadata: unknown, options: ValidateMetadataOptions): CheckOutcome[] {
  const problems: CheckOutcome[] = [];
  const missing = (field: string, message = `Metadato obbligatorio «${field}» mancante.`) =>
    problems.push(negative('metadata', 'METADATA_MISSING', message));
  const invalid = (field: string, message: string) => problems.push(negative('metadata', 'METADATA_INVALID', `Metadato «${field}»: ${message}`));

  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    return [negative('metadata', 'METADATA_INVALID', 'I metadati devono essere un oggetto JSON con i nomi dell’Allegato 5.')];
  }
  const md = metadata as Record<string, unknown>;
  const present = (k: string) => md[k] !== undefined && md[k] !== null && !(typeof md[k] === 'string' && (md[k] as string).trim() === '');

  for (const field of options.required) if (!present(field)) missing(field);
  for (const k of Object.keys(md)) {
    if (!(KNOWN_METADATA as readonly string[]).includes(k)) invalid(k, 'nome non previsto (usare i nomi dell’Allegato 5).');
  }

  const text = (field: string, value: unknown, max = MAX_LENGTH[field] ?? 1000): value is string => {
    if (typeof value !== 'string') {
      invalid(field, 'deve essere un testo.');
      return false;
    }
    if (value.length > max) {
      invalid(field, `al massimo ${max} caratteri (ne ha ${value.length}).`);
      return false;
    }
    if (!isXmlText(value)) {
      invalid(field, CONTROL_CHARACTERS);
      return false;
    }
    return true;
  };

  for (const field of ['Identificativo', 'TipologiaDocumentale', 'Oggetto', 'NumeroDocumento', 'Classificazione', 'Note']) {
    if (present(field)) text(field, md[field]);
  }

  if (present('ModalitaDiFormazione') && !Object.hasOwn(MODALITA_DI_FORMAZIONE, md.ModalitaDiFormazione as string)) {
    invalid('ModalitaDiFormazione', 'deve essere una delle lettere a, b, c, d (Linee Guida AgID §2.1.1).');
  }

  if (present('DataDocumento')) {
    const d = md.DataDocumento;
    if (typeof d !== 'string' || !isValidIsoDate(d)) invalid('DataDocumento', 'deve essere una data reale nel formato AAAA-MM-GG.');
    else if (d > romeDay(options.now)) invalid('DataDocumento', `la data ${d} è nel futuro.`);
  }

  if (present('TipologiaDiFlusso') && !['E', 'U', 'I'].includes(md.TipologiaDiFlusso as string)) {
    invalid('TipologiaDiFlusso', 'deve essere E (entrata), U (uscita) o I (interno).');
  }

  if (present('TempoDiConservazione')) {
    const t = md.TempoDiConservazione;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 9999) invalid('TempoDiConservazione', 'deve essere un numero intero di anni tra 1 e 9999.');
  }

  if (present('Riservato') && typeof md.Riservato !== 'boolean') invalid('Riservato', 'deve essere true o false.');

  if (present('ParoleChiave')) {
    const p = md.ParoleChiave;
    if (!Array.isArray(p)) invalid('ParoleChiave', 'deve essere un elenco di testi.');
    else if (p.length > 5) invalid('ParoleChiave', `al massimo 5 parole chiave (ne ha ${p.length}).`);
    else p.forEach((w, i) => (typeof w !== 'string' || w.trim() === '' ? invalid('ParoleChiave', `la voce ${i + 1} deve essere un testo non vuoto.`) : text('ParoleChiave', w, MAX_LENGTH.ParolaChiave)));
  }

  if (present('IUV')) {
    const iuv = md.IUV;
    if (typeof iuv !== 'string' || !isPagoPaIuv(iuv)) invalid('IUV', 'non è un IUV pagoPA valido (17 o 15 cifre, o riferimento RF).');
  }

  if (present('Soggetti')) validateSoggetti(md.Soggetti, invalid);

  return problems.length > 0 ? problems : [positive('metadata', 'Metadati presenti e validi (Allegato 5).')];
}

function validateSoggetti(value: unknown, invalid: (field: string, message: string) => void): void {
  if (!Array.isArray(value)) {
    invalid('Soggetti', 'deve essere un elenco di soggetti { ruolo, tipo, … }.');
    return;
  }
  if (value.length > 100) {
    invalid('Soggetti', `al massimo 100 soggetti (ne ha ${value.length}).`);
    return;
  }
  value.forEach((s: unknown, i) => {
    const at = `Soggetti[${i + 1}]`;
    if (s === null || typeof s !== 'object' || Array.isArray(s)) {
      invalid(at, 'deve essere un oggetto { ruolo, tipo, … }.');
      return;
    }
    const x = s as Record<string, unknown>;
    if (!(RUOLI as readonly string[]).includes(x.ruolo as string)) invalid(`${at}.ruolo`, `deve essere uno di: ${RUOLI.join(', ')}.`);
    if (!(SOGGETTO_TIPI as readonly string[]).includes(x.tipo as string)) invalid(`${at}.tipo`, `deve essere uno di: ${SOGGETTO_TIPI.join(', ')}.`);
    for (const k of Object.keys(x)) {
      if (k === 'ruolo' || k === 'tipo') continue;
      const max = MAX_LENGTH[k];
      if (max === undefined) invalid(`${at}.${k}`, 'campo non previsto (denominazione, nome, cognome, codiceFiscale, ipa).');
      else if (typeof x[k] !== 'string') invalid(`${at}.${k}`, 'deve essere un testo.');
      else if ((x[k] as string).length > max) invalid(`${at}.${k}`, `al massimo ${max} caratteri.`);
      else if (!isXmlText(x[k] as string)) invalid(`${at}.${k}`, CONTROL_CHARACTERS);
    }
    if (typeof x.codiceFiscale === 'string' && !CF_PERSONA.test(x.codiceFiscale.toUpperCase()) && !CF_NUMERICO.test(x.codiceFiscale)) {
      invalid(`${at}.codiceFiscale`, 'non è un codice fiscale (16 caratteri) né una partita IVA (11 cifre).');
    }
    const name = x.tipo === 'PF' || x.tipo === 'SW' ? (x.tipo === 'PF' ? x.cognome ?? x.denominazione : x.nome ?? x.denominazione) : x.denominazione;
    if (typeof name !== 'string' || name.trim() === '') {
      invalid(`${at}`, x.tipo === 'PF' ? 'una persona fisica richiede cognome (o denominazione).' : x.tipo === 'SW' ? 'un software richiede nome (o denominazione).' : 'richiede la denominazione.');
    }
    if (x.tipo === 'PAI' && (typeof x.ipa !== 'string' || x.ipa.trim() === '')) invalid(`${at}.ipa`, 'una pubblica amministrazione italiana richiede il codice IPA.');
  });
}
