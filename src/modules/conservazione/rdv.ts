/**
 * The rapporto di versamento (RdV) of an accepted PdV (issue #16 item 3; spec digest §8): the
 * document the conservator returns to the producer, and keeps, to prove what it took in charge
 * and when. Pure: typed input in, XML text out (no clock, no I/O).
 *
 * Shape: ParER's `RapportoVersamento` element, valid against the unmodified
 * schemas/conservazione/ParER_WSResponseVersamento_RapportoVersamento.xsd (no namespace), filled as:
 * - URNRapportoVersamento = `urn:sael-pay:<ipa>:rdv:<yyyy>:<sipId>`; DataRapportoVersamento = UTC
 *   instant (`…Z`);
 * - EsitoGenerale POSITIVO (or WARNING when a control gave a warning; the warnings are listed in
 *   WarningUlteriori with their esito code);
 * - Versatore = Ambiente `sael-pay`, Ente = the ente's IPA code, Struttura = its name, UserID =
 *   who submitted (`user:<id>`, `apikey:<id>`, `system`), SistemaVersante = the channel
 *   (api | upload | auto);
 * - SIP: URNSIP = the PdV URN; URNIndiceSIP / HashIndiceSIP = the PdV index (the RFC 8785
 *   canonical JSON of profile, identificativo, metadata and file list: see `pdvIndex` in
 *   ingest.ts) and its SHA-256; URNPISIP / HashPISIP = the whole PdV ("pacchetto informativo"):
 *   SHA-256 over the index digest followed by every file's digest, in order. Hashes are
 *   lowercase hex (EncodingHash… = `hexBinary`), algorithm `SHA-256`.
 * - UnitaDocumentaria: Chiave {Numero = the client's Identificativo, Anno = year of
 *   DataDocumento, TipoRegistro = the profile code}, TipologiaUnitaDocumentaria, then one
 *   DocumentoPrincipale / Allegato / Annesso per file (ChiaveDoc = `<ordinal>`, TipoDocumento = the
 *   role, FirmatoDigitalmente = the signature control passed on that file), each with its one
 *   Componente {URN `<pdv urn>:<ordinal>`, Hash (recomputed), AlgoritmoHash, Encoding,
 *   NomeComponente, HashVersato (declared)}.
 *
 * What the XSD cannot carry: ParER's RapportoVersamento component type has no element for the
 * identified format, its suitability (IDONEO/GESTITO/DEPRECATO) or the signature outcome — ParER
 * reports those in the EsitoVersamento answer. We keep them in the esito stored with the PdV and
 * in cons_sip_files, and return them with the RdV; in the RdV itself they appear only as
 * FirmatoDigitalmente per document and as warnings.
 */
import path from 'node:path';
import { getXsdSchema, type XsdValidationResult } from '../../xml/xsd.js';
import { el, type XmlContent } from '../pagopa/soap.js';
import { CONSERVAZIONE_SCHEMA_DIR } from './pindex-validate.js';
import type { Esito } from './checks/esito.js';

export const RDV_VERSION = '1.0';

export interface RdvFile {
  ordinal: number;
  role: 'principale' | 'allegato' | 'annesso';
  name: string;
  sha256: string;
  declaredSha256: string;
  /** The signature control passed (POSITIVO or WARNING) on this file. */
  signed: boolean;
}

export interface RdvInput {
  urn: string;
  /** UTC instant of the rapporto. */
  createdAt: Date;
  sipUrn: string;
  receivedAt: Date;
  indexSha256: string;
  sipSha256: string;
  ente: { ipaCode: string; name: string };
  submittedBy: string;
  source: string;
  objectKey: string;
  /** `YYYY-MM-DD` or null. */
  docDate: string | null;
  profileCode: string;
  tipologiaDocumentale: string;
  esito: Esito;
  files: RdvFile[];
}

const HASH = (hex: string): XmlContent => [el('Hash', hex), el('AlgoritmoHash', 'SHA-256'), el('Encoding', 'hexBinary')];

/** Seconds precision, UTC with Z (xs:dateTime). */
export function utcDateTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function documento(input: RdvInput, f: RdvFile, tag: string): XmlContent {
  return el(tag, [
    el('ChiaveDoc', String(f.ordinal)),
    el('IDDocumento', `${input.objectKey}:${f.ordinal}`),
    el('TipoDocumento', f.role),
    el('FirmatoDigitalmente', f.signed),
    el(
      'Componenti',
      el('Componente', [el('URN', `${input.sipUrn}:${f.ordinal}`), HASH(f.sha256), el('NomeComponente', f.name), el('HashVersato', f.declaredSha256), el('IDComponenteVersato', String(f.ordinal))]),
    ),
  ]);
}

/** The RdV XML (UTF-8 text with declaration). */
export function buildRdv(input: RdvInput): string {
  const warnings = input.esito.checks.filter((c) => c.outcome === 'WARNING');
  const principale = input.files.filter((f) => f.role === 'principale');
  const body = el('RapportoVersamento', [
    el('Versione', RDV_VERSION),
    el('URNRapportoVersamento', input.urn),
    el('DataRapportoVersamento', utcDateTime(input.createdAt)),
    el('EsitoGenerale', [el('CodiceEsito', warnings.length ? 'WARNING' : 'POSITIVO'), el('MessaggioErrore', input.esito.message)]),
    warnings.length
      ? el(
          'WarningUlteriori',
          warnings.map((w) => el('Warning', [el('CodiceWarning', w.code), el('MessaggioWarning', w.file ? `${w.file}: ${w.message}` : w.message)])),
        )
      : undefined,
    el('Versatore', [el('Ambiente', 'sael-pay'), el('Ente', input.ente.ipaCode), el('Struttura', input.ente.name), el('UserID', input.submittedBy), el('SistemaVersante', input.source)]),
    el('SIP', [
      el('URNSIP', input.sipUrn),
      el('URNIndiceSIP', `${input.sipUrn}:indice`),
      el('HashIndiceSIP', input.indexSha256),
      el('AlgoritmoHashIndiceSIP', 'SHA-256'),
      el('EncodingHashIndiceSIP', 'hexBinary'),
      el('URNPISIP', input.sipUrn),
      el('HashPISIP', input.sipSha256),
      el('AlgoritmoHashPISIP', 'SHA-256'),
      el('EncodingHashPISIP', 'hexBinary'),
      el('DataVersamento', utcDateTime(input.receivedAt)),
      el('UnitaDocumentaria', [
        el('Chiave', [el('Numero', input.objectKey), el('Anno', input.docDate ? input.docDate.slice(0, 4) : ''), el('TipoRegistro', input.profileCode)]),
        el('TipologiaUnitaDocumentaria', input.tipologiaDocumentale),
        principale.map((f) => documento(input, f, 'DocumentoPrincipale')).slice(0, 1),
        input.files.filter((f) => f.role === 'allegato').map((f) => documento(input, f, 'Allegato')),
        input.files.filter((f) => f.role === 'annesso').map((f) => documento(input, f, 'Annesso')),
      ]),
    ]),
  ])!;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body.xml}\n`;
}

export const RDV_XSD = path.join(CONSERVAZIONE_SCHEMA_DIR, 'ParER_WSResponseVersamento_RapportoVersamento.xsd');

/** Validates an RdV against ParER's schema (tests validate every RdV produced). Never throws for bad input. */
export function validateRdv(xml: string | Uint8Array): XsdValidationResult {
  return getXsdSchema(RDV_XSD).validate(xml);
}
