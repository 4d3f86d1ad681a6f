/**
 * All the checks of one PdV (issue #16 item 2, spec conservazione.md §8 and §10.2–10.5), pure:
 * for each file its size, its SHA-256 recomputed against the declared one, its format identified
 * from the bytes against the profile (and the declared type / name extension), its signatures
 * (CAdES `.p7m`/`.p7s`, PAdES); then the metadata. EVERY control is reported, passed ones too,
 * with the file name, and the esito is KO when any is NEGATIVO.
 *
 * Signatures: an attached `.p7m` is verified and its content identified (the content must be a
 * format the profile admits); a detached `.p7s` is verified against the file of the PdV it
 * signs (the one named like it without `.p7s`, else the one whose digest it matches) and counts
 * as that file's signature; a signed PDF is verified (PAdES). An invalid signature rejects the
 * PdV even where the profile asks none. A principale without a valid (or untrusted-but-intact)
 * signature is SIGNATURE_MISSING when the profile has `signatureRequired`, as is any file whose
 * admitted format entries all say `signed`.
 *
 * signature.ts (with PKI.js under it) is imported by the first file with a signature to check
 * (a `.p7m`, a `.p7s`, a PDF), not with this module, which the app loads at start.
 */
import { createHash } from 'node:crypto';
import { disabled, esitoOf, negative, positive, warning, type CheckOutcome, type Esito, type ParsedProfile, type ProfileFormat } from './esito.js';
import { identifyFormat, matchProfileFormat, MIME_P7M, MIME_P7S, MIME_PDF, normalizeMime, type IdentifiedFormat } from './format.js';
import { validateMetadata } from './metadata.js';
import type { CadesReport, SignatureReport } from './signature.js';
import { once } from '../../../lazy-packages.js';
import type { FormatSuitability } from '../schema.js';
import { isXmlText } from '../../../xml/xml-chars.js';

export interface SipFileInput {
  name: string;
  /** principale | allegato | annesso */
  role: string;
  bytes: Uint8Array;
  /** SHA-256 declared by the producer, hex (any case). */
  declaredSha256: string;
  declaredMime?: string | null;
}

export interface CheckSipInput {
  profile: ParsedProfile;
  metadata: unknown;
  files: readonly SipFileInput[];
  /** The clock (DataDocumento not in the future; signing time fallback). */
  now: Date;
  /** PEM certificates of the trusted CAs for signatures (none = every valid signature is a WARNING). */
  trustAnchors?: readonly string[];
  /** Largest file accepted (default {@link DEFAULT_MAX_FILE_BYTES}). */
  maxFileBytes?: number;
}

/** The signature of a file as recorded in cons_sip_files.signature (JSON). */
export interface FileSignature extends SignatureReport {
  /** For a file signed by a detached `.p7s` of the PdV: that file's name. */
  detachedIn?: string;
  /** For a detached `.p7s`: the file of the PdV it signs. */
  signedFile?: string;
  /** For an attached `.p7m`: the identified format of the content. */
  contentMime?: string | null;
}

export interface CheckedFile {
  name: string;
  actualSha256: string;
  sizeBytes: number;
  /** Identified from the bytes (null = unknown). */
  mime: string | null;
  label: string | null;
  puid: string | null;
  suitability: FormatSuitability | null;
  signature: FileSignature | null;
}

export interface CheckSipResult {
  esito: Esito;
  files: CheckedFile[];
}

export const DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024;

/** Extensions whose format is unambiguous: a name saying one thing and bytes another is worth a warning. */
const EXT_MIME: Record<string, string> = {
  pdf: 'application/pdf',
  xml: 'application/xml',
  p7m: MIME_P7M,
  p7s: MIME_P7S,
  csv: 'text/csv',
  txt: 'text/plain',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  zip: 'application/zip',
  odt: 'application/vnd.oasis.opendocument.text',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
};

function extensionOf(name: string): string | null {
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(name);
  return m ? m[1]!.toLowerCase() : null;
}

function suitabilityWord(s: FormatSuitability): string {
  return s === 'IDONEO' ? 'idoneo' : s === 'GESTITO' ? 'gestito' : 'deprecato';
}

function admittedList(formats: readonly ProfileFormat[]): string {
  return formats.length ? formats.map((f) => f.label).join(', ') : 'nessuno';
}

/** Runs every check of a PdV. */
export async function checkSip(input: CheckSipInput): Promise<CheckSipResult>;
/** Positional form (clock = `options.now` or the current time). */
export async function checkSip(
  profile: ParsedProfile,
  metadata: unknown,
  files: readonly SipFileInput[],
  options?: { now?: Date; trustAnchors?: readonly string[]; maxFileBytes?: number },
): Promise<CheckSipResult>;
export async function checkSip(
  a: CheckSipInput | ParsedProfile,
  metadata?: unknown,
  files?: readonly SipFileInput[],
  options: { now?: Date; trustAnchors?: readonly string[]; maxFileBytes?: number } = {},
): Promise<CheckSipResult> {
  const input: CheckSipInput =
    files === undefined
      ? (a as CheckSipInput)
      : {
          profile: a as ParsedProfile,
          metadata,
          files,
          now: options.now ?? new Date(),
          ...(options.trustAnchors ? { trustAnchors: options.trustAnchors } : {}),
          ...(options.maxFileBytes ? { maxFileBytes: options.maxFileBytes } : {}),
        };
  return runChecks(input);
}

interface FileState {
  input: SipFileInput;
  out: CheckedFile;
  identified: IdentifiedFormat | null;
  checks: CheckOutcome[];
  /** Whether the content is readable (not empty, not too large). */
  usable: boolean;
  cades?: CadesReport;
  /** The identified format of an attached `.p7m`'s content. */
  content?: IdentifiedFormat | null;
}

async function runChecks(input: CheckSipInput): Promise<CheckSipResult> {
  const { profile, now } = input;
  const maxBytes = input.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const verifyOpts = { now, ...(input.trustAnchors ? { trustAnchors: input.trustAnchors } : {}) };
  const packageChecks: CheckOutcome[] = [];

  // Package structure: one principale, distinct names
  const principali = input.files.filter((f) => f.role === 'principale').length;
  const names = input.files.map((f) => f.name);
  const dup = names.filter((n, i) => names.indexOf(n) !== i);
  if (input.files.length === 0) packageChecks.push(negative('profile', 'PACKAGE_INVALID', 'Il pacchetto non contiene file.'));
  else if (principali !== 1) packageChecks.push(negative('profile', 'PACKAGE_INVALID', `Il pacchetto deve avere un solo file principale (ne ha ${principali}).`));
  else if (dup.length) packageChecks.push(negative('profile', 'PACKAGE_INVALID', `Nomi di file ripetuti: ${[...new Set(dup)].join(', ')}.`));
  else if (names.some((n) => !isXmlText(n))) packageChecks.push(negative('profile', 'PACKAGE_INVALID', 'Un nome di file contiene caratteri di controllo o non validi, che l’indice XML del PdA non può contenere.'));
  else packageChecks.push(positive('profile', `Pacchetto con ${input.files.length} file per il profilo «${profile.name}».`));

  const states: FileState[] = [];
  for (const f of input.files) {
    const checks: CheckOutcome[] = [];
    const size = f.bytes.byteLength;
    const actual = createHash('sha256').update(f.bytes).digest('hex');
    let usable = true;
    // size
    if (size === 0) {
      checks.push(negative('size', 'EMPTY_FILE', `Il file «${f.name}» è vuoto.`, f.name));
      usable = false;
    } else if (size > maxBytes) {
      checks.push(negative('size', 'FILE_TOO_LARGE', `Il file «${f.name}» è di ${size} byte, oltre il massimo di ${maxBytes}.`, f.name));
      usable = false;
    } else {
      checks.push(positive('size', `Dimensione: ${size} byte.`, f.name));
    }
    // hash
    const declared = (f.declaredSha256 ?? '').trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(declared)) {
      checks.push(negative('hash', 'HASH_MISMATCH', `L’impronta dichiarata di «${f.name}» non è uno SHA-256 esadecimale (64 cifre); calcolata: ${actual}.`, f.name));
    } else if (declared !== actual) {
      checks.push(negative('hash', 'HASH_MISMATCH', `L’impronta SHA-256 di «${f.name}» non corrisponde: dichiarata ${declared}, calcolata ${actual}.`, f.name));
    } else {
      checks.push(positive('hash', `Impronta SHA-256 verificata (${actual}).`, f.name));
    }
    const identified = usable ? await identifyFormat(f.bytes) : null;
    states.push({
      input: f,
      identified,
      checks,
      usable,
      out: { name: f.name, actualSha256: actual, sizeBytes: size, mime: identified?.mime ?? null, label: identified?.label ?? null, puid: identified?.puid ?? null, suitability: null, signature: null },
    });
  }

  // Signatures first (a .p7m's content format is part of its format check)
  for (const s of states) {
    if (!s.usable) continue;
    const mime = s.identified?.mime;
    if (mime !== MIME_P7M && mime !== MIME_P7S && mime !== MIME_PDF) continue;
    const { verifyCades, verifyPades } = await loadSignature();
    if (mime === MIME_P7M) {
      s.cades = await verifyCades(s.input.bytes, verifyOpts);
      const contentFormat = s.cades.content ? await identifyFormat(s.cades.content) : null;
      s.out.signature = { ...strip(s.cades), contentMime: contentFormat?.mime ?? null };
      s.content = contentFormat;
    } else if (mime === MIME_P7S) {
      const candidates = detachedCandidates(s, states);
      let best: { report: CadesReport; target: FileState } | null = null;
      for (const t of candidates) {
        const report = await verifyCades(s.input.bytes, { ...verifyOpts, content: t.input.bytes });
        if (!best || (best.report.outcome === 'NEGATIVO' && report.outcome !== 'NEGATIVO')) best = { report, target: t };
        if (report.outcome !== 'NEGATIVO') break;
      }
      if (!best) {
        s.out.signature = { format: 'CAdES', outcome: 'NEGATIVO', code: 'SIGNATURE_INVALID', message: `Firma distaccata «${s.input.name}»: nel pacchetto non c’è il file firmato.`, signers: [] };
      } else {
        s.out.signature = { ...strip(best.report), signedFile: best.target.input.name };
        if (best.report.outcome !== 'NEGATIVO' && !best.target.out.signature) {
          best.target.out.signature = { ...strip(best.report), detachedIn: s.input.name };
        }
      }
    } else {
      const report = await verifyPades(s.input.bytes, verifyOpts);
      if (report) s.out.signature = report;
    }
  }

  for (const s of states) {
    if (!s.usable) {
      s.checks.push(disabled('format', `Formato non verificato: il file «${s.input.name}» non è leggibile.`, s.input.name));
      continue;
    }
    formatChecks(s, profile);
    signatureChecks(s, profile);
  }

  const metadataChecks = validateMetadata(input.metadata, { required: profile.requiredMetadata, now });
  const checks = [...packageChecks, ...states.flatMap((s) => s.checks), ...metadataChecks];
  return { esito: esitoOf(checks), files: states.map((s) => s.out) };
}

/**
 * The signature checks (pkijs) load at the first signed or PDF file; one import for the process
 * (an `import()` per file was 0.13 ms of each receipt's ingest under tsx's loader).
 */
const loadSignature = once(() => import('./signature.js'));

function strip(r: CadesReport): SignatureReport & { detached?: boolean } {
  const { content: _content, ...rest } = r;
  return rest;
}

/** The files a detached signature may sign: the one named like it without `.p7s`/`.p7m`, then the others. */
function detachedCandidates(sig: FileState, states: FileState[]): FileState[] {
  const base = sig.input.name.replace(/\.(p7s|p7m)$/i, '');
  const others = states.filter((t) => t !== sig && t.usable && t.identified?.mime !== MIME_P7S);
  return [...others.filter((t) => t.input.name === base), ...others.filter((t) => t.input.name !== base)];
}

function formatChecks(s: FileState, profile: ParsedProfile): void {
  const name = s.input.name;
  const id = s.identified;
  if (!id) {
    s.checks.push(negative('format', 'FORMAT_UNKNOWN', `Il formato di «${name}» non è riconoscibile dal contenuto.`, name));
    return;
  }
  let entry = matchProfileFormat(profile.formats, id);
  let what = id.label;
  if (id.mime === MIME_P7S && !entry) {
    // a detached signature is admitted where the profile admits CAdES
    entry = profile.formats.find((f) => f.signed === 'cades') ?? null;
  }
  if (id.mime === MIME_P7M && entry) {
    const content = s.content;
    if (s.cades?.content) {
      const inner = content ? profile.formats.filter((f) => normalizeMime(f.mime) !== MIME_P7M && normalizeMime(f.mime) === normalizeMime(content.mime)) : [];
      if (!content) {
        s.checks.push(negative('format', 'FORMAT_UNKNOWN', `Il formato del documento contenuto nella busta «${name}» non è riconoscibile.`, name));
        return;
      }
      if (inner.length === 0) {
        s.checks.push(negative('format', 'FORMAT_NOT_ADMITTED', `La busta «${name}» contiene un ${content.label}, formato non ammesso dal profilo (ammessi: ${admittedList(profile.formats)}).`, name));
        return;
      }
      what = `${id.label} con ${content.label}`;
    }
  }
  if (!entry) {
    s.checks.push(negative('format', 'FORMAT_NOT_ADMITTED', `«${name}» è un ${id.label} (${id.mime}), formato non ammesso dal profilo «${profile.name}» (ammessi: ${admittedList(profile.formats)}).`, name));
  } else if (entry.suitability === 'DEPRECATO') {
    s.checks.push(warning('format', 'FORMAT_DEPRECATED', `«${name}» è un ${what}: formato deprecato per il profilo, da convertire.`, name));
  } else {
    s.checks.push(positive('format', `Formato riconosciuto dal contenuto: ${what}${id.puid ? ` (PRONOM ${id.puid})` : ''}, ${suitabilityWord(entry.suitability)} per il profilo.`, name));
  }
  s.out.suitability = entry?.suitability ?? null;

  // declared type and name extension against the bytes (warnings)
  const declared = s.input.declaredMime ? normalizeMime(s.input.declaredMime) : null;
  const ext = extensionOf(name);
  const byExt = ext ? EXT_MIME[ext] : undefined;
  const actual = normalizeMime(id.mime);
  if (declared && declared !== actual) {
    s.checks.push(warning('format', 'FORMAT_MISMATCH', `Per «${name}» è stato dichiarato ${declared}, ma il contenuto è ${id.label} (${actual}).`, name));
  } else if (byExt && byExt !== actual) {
    s.checks.push(warning('format', 'FORMAT_MISMATCH', `Il nome «${name}» indica un file .${ext}, ma il contenuto è ${id.label} (${actual}).`, name));
  }
}

function signatureChecks(s: FileState, profile: ParsedProfile): void {
  const name = s.input.name;
  const sig = s.out.signature;
  const looksSigned = /\.(p7m|p7s)$/i.test(name) || /pkcs7/i.test(s.input.declaredMime ?? '');
  if (sig && !sig.detachedIn) {
    if (sig.outcome === 'POSITIVO') s.checks.push(positive('signature', sig.message, name));
    else if (sig.outcome === 'WARNING') s.checks.push(warning('signature', 'SIGNATURE_UNTRUSTED', sig.message, name));
    else s.checks.push(negative('signature', 'SIGNATURE_INVALID', sig.message, name));
    return;
  }
  if (!sig && looksSigned && s.identified?.mime !== MIME_P7M && s.identified?.mime !== MIME_P7S) {
    s.checks.push(negative('signature', 'SIGNATURE_INVALID', `«${name}» dovrebbe essere una busta firmata CAdES, ma non contiene una struttura CMS SignedData leggibile.`, name));
    return;
  }
  if (sig?.detachedIn) {
    s.checks.push(positive('signature', `Firmato con la firma distaccata «${sig.detachedIn}» (esito riportato su quel file).`, name));
    return;
  }
  const entries = s.identified ? profile.formats.filter((f) => normalizeMime(f.mime) === normalizeMime(s.identified!.mime)) : [];
  const formatNeedsSignature = entries.length > 0 && entries.every((f) => f.signed);
  if ((profile.signatureRequired && s.input.role === 'principale') || formatNeedsSignature) {
    s.checks.push(negative('signature', 'SIGNATURE_MISSING', `Il profilo «${profile.name}» richiede che «${name}» sia firmato digitalmente (CAdES o PAdES), ma il file non contiene firme.`, name));
  } else {
    s.checks.push(disabled('signature', 'Nessuna firma presente: verifica non richiesta dal profilo.', name));
  }
}
