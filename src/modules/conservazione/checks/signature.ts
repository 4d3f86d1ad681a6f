/**
 * Verification of the signatures on a PdV file (issue #16 item 2, spec conservazione.md §6,
 * §10.4) with PKI.js on Node's WebCrypto (the engine of ../timestamp.ts):
 *
 * - CAdES: a CMS SignedData `.p7m` with the content attached (the content is returned, so its
 *   own format can be identified; a `.p7m` inside a `.p7m` — countersigned in sequence — is
 *   opened up to 4 levels) or a detached `.p7s` with the content given;
 * - PAdES: a PDF whose signature dictionaries carry /ByteRange and /Contents: the CMS in
 *   /Contents is verified against the two byte ranges, and the last signature must cover the
 *   whole file (bytes appended after it are changes nobody signed).
 *
 * For every signer: the message-digest attribute equals the digest of the content, the signature
 * value verifies with the certificate's key, and the certificate was valid at the signing time
 * (the signing-time attribute, the PDF /M date, or `now`). Then the chain to the trust anchors
 * (PEM certificates given by the caller) is built with PKI.js' chain engine at that time.
 * Outcome: POSITIVO (valid and trusted), WARNING SIGNATURE_UNTRUSTED (valid, but no chain to an
 * anchor, or no anchors configured), NEGATIVO SIGNATURE_INVALID (anything else). Revocation
 * (CRL/OCSP) is not checked: it needs the network; the signers are recorded for a later check.
 */
import * as pkijs from 'pkijs';
import { cryptoEngine } from '../timestamp.js';
import { parseCmsSignedData } from './format.js';

export interface SignerRecord {
  /** Subject common name (or the whole subject when it has none). */
  subject: string;
  issuer: string;
  /** Certificate serial number, lowercase hex. */
  serial: string;
  notBefore: string;
  notAfter: string;
  /** Claimed signing time (ISO), when the signature states one. */
  signingTime: string | null;
  /** 'firma' for a signature, 'marca' for a document time stamp (PAdES /ETSI.RFC3161). */
  kind: 'firma' | 'marca';
}

export interface SignatureReport {
  format: 'CAdES' | 'PAdES';
  outcome: 'POSITIVO' | 'NEGATIVO' | 'WARNING';
  code: 'OK' | 'SIGNATURE_INVALID' | 'SIGNATURE_UNTRUSTED';
  /** Italian. */
  message: string;
  signers: SignerRecord[];
}

export interface CadesReport extends SignatureReport {
  /** True for a detached signature (.p7s). */
  detached: boolean;
  /** The signed content of an attached `.p7m` (innermost, when nested); null when detached or unreadable. */
  content: Buffer | null;
}

export interface VerifyOptions {
  now: Date;
  /** PEM certificates (one or more per string) of the trusted CAs. */
  trustAnchors?: readonly string[];
}

const OID_SIGNING_TIME = '1.2.840.113549.1.9.5';
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
const OID_CN = '2.5.4.3';
/** Clock skew tolerated between the signer's claimed signing time and ours. */
const FUTURE_TOLERANCE_MS = 10 * 60_000;

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

const anchorCache = new Map<string, pkijs.Certificate[]>();

/** Parses PEM certificates (each string may hold several); unreadable blocks are skipped. */
export function parseTrustAnchors(pems: readonly string[] = []): pkijs.Certificate[] {
  const out: pkijs.Certificate[] = [];
  for (const pem of pems) {
    let certs = anchorCache.get(pem);
    if (!certs) {
      certs = [];
      for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
        try {
          certs.push(pkijs.Certificate.fromBER(toArrayBuffer(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'))));
        } catch {
          // not a certificate: ignored (the settings check reports it)
        }
      }
      if (anchorCache.size > 64) anchorCache.clear();
      anchorCache.set(pem, certs);
    }
    out.push(...certs);
  }
  return out;
}

function nameText(name: pkijs.RelativeDistinguishedNames, cnOnly: boolean): string {
  const cn = name.typesAndValues.find((t) => t.type === OID_CN)?.value.valueBlock.value;
  if (cnOnly && typeof cn === 'string') return cn;
  return name.typesAndValues.map((t) => `${t.type === OID_CN ? 'CN' : t.type}=${String(t.value.valueBlock.value)}`).join(', ');
}

function serialHex(cert: pkijs.Certificate): string {
  return Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex').replace(/^(00)+(?=.)/, '');
}

function signerRecord(cert: pkijs.Certificate, signingTime: Date | null, kind: SignerRecord['kind']): SignerRecord {
  return {
    subject: nameText(cert.subject, true),
    issuer: nameText(cert.issuer, true),
    serial: serialHex(cert),
    notBefore: cert.notBefore.value.toISOString(),
    notAfter: cert.notAfter.value.toISOString(),
    signingTime: signingTime ? signingTime.toISOString() : null,
    kind,
  };
}

function claimedSigningTime(si: pkijs.SignerInfo): Date | null {
  const attr = si.signedAttrs?.attributes.find((a) => a.type === OID_SIGNING_TIME);
  const v = attr?.values[0] as { toDate?: () => Date } | undefined;
  const d = v?.toDate?.();
  return d && !Number.isNaN(d.getTime()) ? d : null;
}

interface SignerCheck {
  record: SignerRecord | null;
  /** null = valid; otherwise why it is not. */
  invalid: string | null;
  trusted: boolean;
  untrustedWhy?: string;
}

/** Italian wording of PKI.js' SignedDataVerifyError codes. */
function verifyErrorText(e: unknown): string {
  const code = (e as { code?: number }).code;
  switch (code) {
    case 2:
    case 3:
      return 'il certificato del firmatario non è presente nella firma';
    case 4:
    case 8:
      return 'manca il contenuto firmato (firma distaccata senza il file)';
    case 7:
      return 'algoritmo di firma non supportato';
    case 9:
    case 10:
      return 'attributi firmati obbligatori assenti (content-type, message-digest)';
    case 15:
      return /digest/i.test(String((e as Error).message)) ? 'il contenuto firmato è stato alterato (impronta diversa da quella firmata)' : `verifica non riuscita (${(e as Error).message})`;
    default:
      return `verifica non riuscita (${(e as Error).message ?? String(e)})`;
  }
}

/** Verifies every SignerInfo of a SignedData over `data` (undefined = attached content). */
async function checkSigners(signed: pkijs.SignedData, data: ArrayBuffer | undefined, anchors: pkijs.Certificate[], now: Date, fallbackTime: Date | null): Promise<SignerCheck[]> {
  if (signed.signerInfos.length === 0) return [{ record: null, invalid: 'la busta non contiene firmatari', trusted: false }];
  const results: SignerCheck[] = [];
  const isTst = signed.encapContentInfo.eContentType === OID_TST_INFO;
  for (let i = 0; i < signed.signerInfos.length; i++) {
    const si = signed.signerInfos[i]!;
    let signerCert: pkijs.Certificate | null = null;
    let checkDate = claimedSigningTime(si) ?? fallbackTime ?? now;
    let invalid: string | null = null;
    try {
      const r = await signed.verify({ signer: i, ...(data ? { data } : {}), extendedMode: true, checkChain: false, checkDate }, cryptoEngine);
      signerCert = r.signerCertificate ?? null;
      if (r.date instanceof Date) checkDate = r.date; // a time stamp token: its genTime
      if (!r.signatureVerified) invalid = 'il valore di firma non corrisponde alla chiave del certificato';
    } catch (e) {
      signerCert = (e as { signerCertificate?: pkijs.Certificate }).signerCertificate ?? null;
      invalid = verifyErrorText(e);
    }
    const signingTime = isTst ? checkDate : claimedSigningTime(si) ?? fallbackTime;
    const record = signerCert ? signerRecord(signerCert, signingTime, isTst ? 'marca' : 'firma') : null;
    if (!invalid && signerCert && checkDate.getTime() > now.getTime() + FUTURE_TOLERANCE_MS) {
      invalid = `l’ora di firma dichiarata (${checkDate.toISOString()}) è nel futuro`;
    }
    if (!invalid && signerCert) {
      if (checkDate < signerCert.notBefore.value || checkDate > signerCert.notAfter.value) {
        invalid = `il certificato di ${record!.subject} non era valido al momento della firma (${checkDate.toISOString()}; validità ${record!.notBefore} – ${record!.notAfter})`;
      }
    }
    let trusted = false;
    let untrustedWhy: string | undefined;
    if (!invalid && signerCert) {
      if (anchors.length === 0) {
        untrustedWhy = 'nessuna autorità di certificazione fidata configurata';
      } else {
        const certs = (signed.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
        const engine = new pkijs.CertificateChainValidationEngine({ trustedCerts: anchors, certs: [...certs, signerCert], checkDate });
        try {
          const chain = await engine.verify({}, cryptoEngine);
          trusted = chain.result;
          if (!trusted) untrustedWhy = chain.resultMessage || 'catena di certificati non verificata';
        } catch (e) {
          untrustedWhy = (e as { resultMessage?: string }).resultMessage ?? String(e);
        }
      }
    }
    results.push({ record, invalid, trusted, ...(untrustedWhy ? { untrustedWhy } : {}) });
  }
  return results;
}

function summarize(format: SignatureReport['format'], checks: SignerCheck[], prefix = ''): SignatureReport {
  const signers = checks.flatMap((c) => (c.record ? [c.record] : []));
  const who = (c: SignerCheck) => c.record?.subject ?? 'firmatario sconosciuto';
  const bad = checks.filter((c) => c.invalid);
  if (bad.length > 0) {
    return { format, outcome: 'NEGATIVO', code: 'SIGNATURE_INVALID', message: `${prefix}Firma ${format} non valida: ${bad.map((c) => `${who(c)}: ${c.invalid}`).join('; ')}.`, signers };
  }
  const untrusted = checks.filter((c) => !c.trusted);
  if (untrusted.length > 0) {
    return {
      format,
      outcome: 'WARNING',
      code: 'SIGNATURE_UNTRUSTED',
      message: `${prefix}Firma ${format} integra, ma il certificato non risale a un’autorità fidata: ${untrusted.map((c) => `${who(c)} (${c.untrustedWhy})`).join('; ')}.`,
      signers,
    };
  }
  return { format, outcome: 'POSITIVO', code: 'OK', message: `${prefix}Firma ${format} valida: ${signers.map((s) => s.subject).join(', ')}.`, signers };
}

function worst(a: SignatureReport, b: SignatureReport): SignatureReport {
  const rank = { POSITIVO: 0, WARNING: 1, NEGATIVO: 2 } as const;
  const pick = rank[b.outcome] > rank[a.outcome] ? b : a;
  return { ...pick, signers: [...a.signers, ...b.signers], message: a === pick ? a.message : b.message };
}

/**
 * Verifies a CAdES file: attached `.p7m` (content inside; nested `.p7m` opened) or detached
 * `.p7s` (pass the signed `content`). Never throws.
 */
export async function verifyCades(bytes: Uint8Array, options: VerifyOptions & { content?: Uint8Array }): Promise<CadesReport> {
  const anchors = parseTrustAnchors(options.trustAnchors);
  let signed = await parseCmsSignedData(bytes);
  if (!signed) {
    return { format: 'CAdES', outcome: 'NEGATIVO', code: 'SIGNATURE_INVALID', message: 'Busta CAdES illeggibile: non è una struttura CMS SignedData valida.', signers: [], detached: false, content: null };
  }
  const detached = !signed.encapContentInfo.eContent;
  if (detached) {
    if (!options.content) {
      return { format: 'CAdES', outcome: 'NEGATIVO', code: 'SIGNATURE_INVALID', message: 'Firma CAdES distaccata: manca il file firmato.', signers: [], detached, content: null };
    }
    const report = summarize('CAdES', await checkSigners(signed, toArrayBuffer(options.content), anchors, options.now, null));
    return { ...report, detached, content: null };
  }
  let report: SignatureReport | null = null;
  let content: Buffer | null = null;
  for (let depth = 0; signed && depth < 4; depth++) {
    const level = summarize('CAdES', await checkSigners(signed, undefined, anchors, options.now, null), depth > 0 ? `Busta interna ${depth + 1}: ` : '');
    report = report ? worst(report, level) : level;
    content = Buffer.from(signed.encapContentInfo.eContent!.getValue());
    const inner: pkijs.SignedData | null = content[0] === 0x30 ? await parseCmsSignedData(content) : null;
    signed = inner && inner.encapContentInfo.eContent ? inner : null;
  }
  return { ...report!, detached, content };
}

export interface PdfSignatureField {
  byteRange: [number, number, number, number];
  /** The DER/BER CMS from /Contents (hex-decoded, zero padding kept). */
  cms: Buffer;
  subFilter: string | null;
  /** The /M date of the signature dictionary, when present. */
  signingTime: Date | null;
}

/** Finds the signature dictionaries of a PDF (/ByteRange + /Contents); an empty list when unsigned. */
export function findPdfSignatures(pdf: Uint8Array): PdfSignatureField[] {
  const buf = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength);
  const out: PdfSignatureField[] = [];
  for (let at = buf.indexOf('/ByteRange'); at >= 0; at = buf.indexOf('/ByteRange', at + 10)) {
    const m = /^\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/.exec(buf.subarray(at, at + 120).toString('latin1'));
    if (!m) continue;
    const br = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] as [number, number, number, number];
    const [a, b, c, d] = br;
    // /Contents <hex> sits exactly in the gap between the two ranges
    if (a !== 0 || b <= 0 || c <= b + 1 || c + d > buf.length || buf[b] !== 0x3c || buf[c - 1] !== 0x3e) {
      out.push({ byteRange: br, cms: Buffer.alloc(0), subFilter: null, signingTime: null });
      continue;
    }
    const hex = buf.subarray(b + 1, c - 1).toString('latin1').replace(/\s+/g, '');
    const cms = /^[0-9A-Fa-f]*$/.test(hex) && hex.length % 2 === 0 ? Buffer.from(hex, 'hex') : Buffer.alloc(0);
    // the rest of the dictionary: within a few KB around /ByteRange, up to the closing >> of the gap side
    const dict = Buffer.concat([buf.subarray(Math.max(0, at - 2048), b), buf.subarray(c, Math.min(buf.length, c + 2048))]).toString('latin1');
    const subFilter = /\/SubFilter\s*\/([A-Za-z0-9.#_-]+)/.exec(dict)?.[1] ?? null;
    out.push({ byteRange: br, cms, subFilter, signingTime: pdfDate(/\/M\s*\(D:([0-9]{4,14})([Z+\-'0-9]*)\)/.exec(dict)) });
  }
  return out;
}

/** PDF date `D:YYYYMMDDHHmmSS+HH'mm'` → Date (null when absent or malformed). */
function pdfDate(m: RegExpExecArray | null): Date | null {
  if (!m) return null;
  const s = m[1]!.padEnd(14, '0');
  const tz = /^([+-])(\d{2})'?(\d{2})?/.exec(m[2] ?? '');
  const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(8, 10)}:${s.slice(10, 12)}:${s.slice(12, 14)}${tz ? `${tz[1]}${tz[2]}:${tz[3] ?? '00'}` : 'Z'}`;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** True when the PDF carries at least one signature dictionary. */
export function hasPadesSignature(pdf: Uint8Array): boolean {
  return findPdfSignatures(pdf).length > 0;
}

/** Verifies every signature of a PDF (PAdES); null when the PDF has none. Never throws. */
export async function verifyPades(pdf: Uint8Array, options: VerifyOptions): Promise<SignatureReport | null> {
  const fields = findPdfSignatures(pdf);
  if (fields.length === 0) return null;
  const anchors = parseTrustAnchors(options.trustAnchors);
  const buf = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength);
  const checks: SignerCheck[] = [];
  for (const [n, f] of fields.entries()) {
    const label = fields.length > 1 ? ` (firma ${n + 1})` : '';
    const signed = f.cms.length > 0 ? await parseCmsSignedData(f.cms) : null;
    if (!signed) {
      checks.push({ record: null, invalid: `dizionario di firma${label} malformato (/ByteRange o /Contents)`, trusted: false });
      continue;
    }
    if (f.subFilter === 'adbe.pkcs7.sha1' || signed.encapContentInfo.eContent && signed.encapContentInfo.eContentType !== OID_TST_INFO) {
      checks.push({ record: null, invalid: `formato di firma${label} non supportato (${f.subFilter ?? 'contenuto incapsulato'})`, trusted: false });
      continue;
    }
    const [a, b, c, d] = f.byteRange;
    const signedBytes = Buffer.concat([buf.subarray(a, a + b), buf.subarray(c, c + d)]);
    checks.push(...(await checkSigners(signed, toArrayBuffer(signedBytes), anchors, options.now, f.signingTime)));
  }
  const last = fields.reduce((x, f) => (f.byteRange[2] + f.byteRange[3] > x ? f.byteRange[2] + f.byteRange[3] : x), 0);
  // trailing end-of-line after %%EOF is tolerated
  if (buf.subarray(last).toString('latin1').trim() !== '') {
    checks.push({ record: null, invalid: 'il file contiene modifiche successive all’ultima firma (byte non coperti da /ByteRange)', trusted: false });
  }
  return summarize('PAdES', checks);
}
