/**
 * The pacchetto di distribuzione (PdD, issue #16 item 8): a ZIP, built on request and streamed,
 * with — for one PdA, or some of its documents — the documents' files at the paths the PdA index
 * names, the index (`indice.xml`), its CAdES detached signature (`indice.xml.p7s`), the RFC 3161
 * time stamp over the signature value (`indice.tsr`), the rapporto di versamento of each document
 * (`rdv/`), the certificates found in the signature and in the time stamp (`certificati/`), a
 * `SHA256SUMS` copied from the index and a `LEGGIMI.txt` saying how to verify it all with
 * sha256sum and openssl.
 *
 * The file list comes from the signed index itself (FileGroup/File Path and Hash), and the bytes
 * from the write-once store under that hash: what the ZIP holds is what the conservator signed.
 * Each file is re-hashed while it streams; a mismatch (a byte altered in the store) aborts the
 * ZIP instead of handing out a file that is not the one in the index.
 *
 * yazl (already a dependency for the bulk notice prints) writes the ZIP as a stream, reading each
 * stored file only when its turn comes (`addReadStreamLazy`), so a PdA of thousands of documents
 * never sits in memory; it refuses absolute and `..` paths, and ZIP64 is automatic. yazl and PKI.js
 * (which reads the seal) are loaded at the first PdD (lazy-packages.ts), not when the app starts.
 *
 * Creating a PdD writes the cons_dips row, the event 'export' and an audit entry in one
 * transaction before the first byte leaves.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { DOMParser } from '@xmldom/xmldom';
import { and, eq, inArray } from 'drizzle-orm';
import type * as pkijs from 'pkijs';
import { loadPkijs, loadYazl } from '../../lazy-packages.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import type { ConservazioneCtx } from './context.js';
import { romeDay } from './dates.js';
import { raiseAlert } from './alerts.js';
import { appendEventSync } from './events.js';
import { SINCRO_NS } from './pindex.js';
import { aipDocuments, getAip } from './search.js';
import { consBlobs, consDips, consRdv } from './schema.js';

export class DipError extends Error {
  constructor(
    readonly status: 404 | 409 | 410,
    message: string,
  ) {
    super(message);
    this.name = 'DipError';
  }
}

export interface IndexFile {
  fileGroupId: string;
  id: string;
  /** Decoded relative path (the index stores it URI-encoded). */
  path: string;
  sha256: string;
}

/** The files an index lists, by FileGroup. Throws on an index that is not a SInCRO PIndex. */
export function indexFiles(xml: string): IndexFile[] {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const out: IndexFile[] = [];
  const groups = doc.getElementsByTagNameNS(SINCRO_NS, 'FileGroup');
  if (!doc.getElementsByTagNameNS(SINCRO_NS, 'PIndex').length) throw new Error('indice SInCRO non riconosciuto');
  for (let g = 0; g < groups.length; g++) {
    const group = groups.item(g)!;
    const gid = directChild(group, 'ID')?.textContent?.trim() ?? '';
    const files = group.getElementsByTagNameNS(SINCRO_NS, 'File');
    for (let f = 0; f < files.length; f++) {
      const file = files.item(f)!;
      out.push({
        fileGroupId: gid,
        id: directChild(file, 'ID')?.textContent?.trim() ?? '',
        path: decodeURI(directChild(file, 'Path')?.textContent?.trim() ?? ''),
        sha256: (directChild(file, 'Hash')?.textContent?.trim() ?? '').toLowerCase(),
      });
    }
  }
  return out;
}

type XmlElement = ReturnType<DOMParser['parseFromString']>['documentElement'];
function directChild(el: NonNullable<XmlElement>, local: string) {
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as NonNullable<XmlElement>).localName === local && (n as NonNullable<XmlElement>).namespaceURI === SINCRO_NS) return n as NonNullable<XmlElement>;
  }
  return null;
}

/** A relative path without `..`, backslashes or a leading slash (what yazl and any unzip accept safely). */
export function safeZipPath(p: string): boolean {
  return p.length > 0 && p.length <= 400 && !p.startsWith('/') && !p.includes('\\') && !p.split('/').some((s) => s === '' || s === '.' || s === '..') && !/[\u0000-\u001f]/.test(p);
}

function ab(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function pem(der: ArrayBuffer, label = 'CERTIFICATE'): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

/** What the LEGGIMI needs from the seal: the certificates and the time stamp's imprint. */
export async function sealFacts(signature: Uint8Array, token: Uint8Array) {
  const { Certificate, ContentInfo, SignedData, TSTInfo } = await loadPkijs();
  /** The SignedData of a DER CMS ContentInfo (the .p7s, or a time-stamp token). */
  const signedData = (der: Uint8Array): pkijs.SignedData => new SignedData({ schema: ContentInfo.fromBER(ab(der)).content });
  const sd = signedData(signature);
  const signatureValue = Buffer.from(sd.signerInfos[0]!.signature.valueBlock.valueHexView);
  const certs = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof Certificate).map((c) => pem(c.toSchema().toBER()));
  const tsd = signedData(token);
  const tsaCerts = (tsd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof Certificate).map((c) => pem(c.toSchema().toBER()));
  const tst = TSTInfo.fromBER(tsd.encapContentInfo.eContent!.getValue());
  return {
    signerCertsPem: certs.join(''),
    tsaCertsPem: tsaCerts.join(''),
    signatureValueSha256: createHash('sha256').update(signatureValue).digest('hex'),
    imprintHex: Buffer.from(tst.messageImprint.hashedMessage.valueBlock.valueHexView).toString('hex'),
    genTime: tst.genTime,
  };
}

/** The TSA's trust anchor for `openssl ts -verify`: the configured TSA certificate, or the demo simulator's CA. */
async function tsaAnchorPem(ctx: ConservazioneCtx): Promise<{ pem: string; partialChain: boolean } | null> {
  const c = ctx.config.conservazione;
  if (c.tsaUrl && c.tsaCertFile) return { pem: await fs.readFile(c.tsaCertFile, 'utf8'), partialChain: true };
  if (c.demoKeys) {
    const ca = await fs.readFile(path.join(ctx.config.dataDir, 'tsa-simulator', 'ca.crt.pem'), 'utf8').catch(() => null);
    if (ca) return { pem: ca, partialChain: false };
  }
  return null;
}

export interface DipRequest {
  enteId: number;
  aipId: number;
  /** Some documents of the PdA (PdV ids); omitted = the whole PdA. */
  sipIds?: number[];
  /** `user:<id>` */
  actor: string;
  requestId?: string | null;
}

export interface DipResult {
  dipId: number;
  urn: string;
  fileName: string;
  /** The ZIP, streamed; errors (a stored file that no longer matches the index) destroy it. */
  stream: Readable;
  files: number;
}

function readme(o: {
  urn: string;
  aipUrn: string;
  version: number;
  enteName: string;
  createdAt: Date;
  documents: number;
  files: number;
  imprintHex: string;
  imprintIsSignatureValue: boolean;
  genTime: Date;
  tsaAnchor: { partialChain: boolean } | null;
  tsaCertInPackage: boolean;
}): string {
  const tsVerify = `openssl ts -verify -token_in -in indice.tsr -digest ${o.imprintHex} -CAfile certificati/tsa-ca.pem${o.tsaAnchor?.partialChain ? ' -partial_chain' : ''}${o.tsaCertInPackage ? ' -untrusted certificati/tsa.pem' : ''}`;
  return `PACCHETTO DI DISTRIBUZIONE (PdD)
${o.urn}

Prodotto il ${o.createdAt.toISOString()} (UTC) dal sistema di conservazione della
Provincia di Campobasso - S.A.E.L. per: ${o.enteName}.
Pacchetto di archiviazione (PdA): ${o.aipUrn}, versione ${o.version}.
Documenti: ${o.documents}; file dei documenti: ${o.files}.

CONTENUTO
- indice.xml          indice del PdA (SInCRO, UNI 11386:2020) con l'impronta SHA-256
                      di ogni file e i metadati dei documenti (Allegato 5)
- indice.xml.p7s      firma CAdES (detached) del conservatore sull'indice
- indice.tsr          marca temporale RFC 3161 sul valore della firma
                      (ora della marca: ${o.genTime.toISOString()})
- rdv/                rapporto di versamento (XML) di ogni documento
- certificati/        certificato del conservatore e della TSA
- SHA256SUMS          impronte dei file dei documenti, copiate dall'indice
- gli altri file      i documenti, nei percorsi indicati dall'indice (<Path>)

COME VERIFICARE (dalla cartella in cui è stato estratto il pacchetto)
1. Integrità dei file: ogni riga deve terminare con "OK".
     sha256sum -c SHA256SUMS
   Le impronte di SHA256SUMS sono quelle dell'indice firmato: per controllarle
   cerca ciascuna in indice.xml (elemento <sincro:Hash>), per esempio
     grep -c "$(sha256sum <percorso del file> | cut -c1-64)" indice.xml

2. Firma dell'indice: deve stampare "Verification successful" (o "CMS Verification
   successful"). Il certificato è quello contenuto nella firma; confronta la sua
   impronta con quella pubblicata nel Manuale di conservazione.
     openssl cms -verify -binary -inform DER -in indice.xml.p7s -content indice.xml \\
       -CAfile certificati/conservatore.pem -partial_chain -purpose any -out /dev/null
     openssl x509 -in certificati/conservatore.pem -noout -subject -fingerprint -sha256

3. Marca temporale: deve stampare "Verification: OK".
${
  o.imprintIsSignatureValue
    ? `   La marca è apposta sull'impronta SHA-256 del valore della firma contenuto in
   indice.xml.p7s; per ricalcolarla (l'ultimo OCTET STRING della firma, senza i 4 byte
   d'intestazione):
     off=$(openssl asn1parse -inform DER -in indice.xml.p7s | tail -n 1 | cut -d: -f1 | tr -d ' ')
     openssl asn1parse -inform DER -in indice.xml.p7s -offset "$off" -noout -out firma.der
     tail -c +5 firma.der | sha256sum
   deve dare ${o.imprintHex}; poi:`
    : `   La marca è apposta sull'impronta ${o.imprintHex}.`
}
     ${tsVerify}
${o.tsaAnchor ? '' : '   (il certificato radice della TSA non è nel pacchetto: usa quello pubblicato dalla TSA)\n'}
I metadati di ciascun documento sono nell'indice (sincro:FileGroup / sincro:MoreInfo);
il rapporto di versamento attesta la presa in carico del documento.
`;
}

const MTIME_DEFAULT = new Date('2000-01-01T00:00:00Z');

/**
 * Plans and starts a PdD: checks the PdA is the ente's and not discarded, reads and parses its
 * index, records the PdD (cons_dips + event 'export' + audit) and returns the streaming ZIP.
 */
export async function createDip(ctx: ConservazioneCtx, req: DipRequest): Promise<DipResult> {
  const aip = await getAip(ctx.db, req.enteId, req.aipId);
  if (!aip) throw new DipError(404, 'Pacchetto di archiviazione non trovato.');
  if (aip.status === 'discarded') throw new DipError(410, 'Il pacchetto di archiviazione è stato scartato: i suoi file non sono più conservati.');
  const ente = (await ctx.db.select({ name: enti.name, ipaCode: enti.ipaCode }).from(enti).where(eq(enti.id, req.enteId)).limit(1))[0]!;
  const docs = await aipDocuments(ctx.db, aip.id);
  let selected = docs;
  if (req.sipIds?.length) {
    const wanted = new Set(req.sipIds);
    selected = docs.filter((d) => wanted.has(d.sipId));
    if (selected.length !== wanted.size) throw new DipError(404, 'Uno dei documenti richiesti non è in questo pacchetto di archiviazione.');
  }
  const groups = new Set(selected.map((d) => d.fileGroupId));

  const [indexBytes, signature, token] = await Promise.all([ctx.store.get(aip.indexKey), ctx.store.get(aip.signatureKey), ctx.store.get(aip.timestampKey)]);
  const files = indexFiles(indexBytes.toString('utf8')).filter((f) => groups.has(f.fileGroupId));
  const reserved = new Set(['indice.xml', 'indice.xml.p7s', 'indice.tsr', 'LEGGIMI.txt', 'SHA256SUMS']);
  const seen = new Set<string>();
  for (const f of files) {
    if (!safeZipPath(f.path) || reserved.has(f.path) || f.path.startsWith('rdv/') || f.path.startsWith('certificati/') || seen.has(f.path))
      throw new DipError(409, `Percorso non utilizzabile nell'indice: ${f.path}`);
    if (!/^[0-9a-f]{64}$/.test(f.sha256)) throw new DipError(409, `Impronta non valida nell'indice per ${f.path}`);
    seen.add(f.path);
  }
  const blobs = files.length
    ? await ctx.db
              .select({ key: consBlobs.key, sizeBytes: consBlobs.sizeBytes, discardedAt: consBlobs.discardedAt })
              .from(consBlobs)
              .where(inArray(consBlobs.key, [...new Set(files.map((f) => f.sha256))]))
    : [];
  const sizes = new Map(blobs.filter((b) => !b.discardedAt).map((b) => [b.key, b.sizeBytes]));
  for (const f of files) if (!sizes.has(f.sha256)) throw new DipError(409, `Il file ${f.path} non è nell'archivio.`);

  const rdvs = selected.length
    ? await ctx.db
              .select({ sipId: consRdv.sipId, urn: consRdv.urn, xml: consRdv.xml })
              .from(consRdv)
              .where(inArray(consRdv.sipId, selected.map((d) => d.sipId)))
    : [];
  let facts: Awaited<ReturnType<typeof sealFacts>>;
  try {
    facts = await sealFacts(signature, token);
  } catch (e) {
    throw new DipError(409, `Firma o marca temporale del pacchetto non leggibili: ${(e as Error).message}`);
  }
  const tsaAnchor = await tsaAnchorPem(ctx);
  const yazl = await loadYazl();

  const now = ctx.now();
  const sipIds = req.sipIds?.length ? [...new Set(req.sipIds)].sort((a, b) => a - b) : null;
  const { dipId, urn } = await ctx.db.transaction(async (tx) => {
      const pending = `pending:${now.getTime()}:${Math.random()}`;
      const row = (await tx
            .insert(consDips)
            .values({ urn: pending, enteId: req.enteId, aipId: aip.id, sipIds: sipIds ? JSON.stringify(sipIds) : null, requestedBy: req.actor, createdAt: now.toISOString() })
            .returning({ id: consDips.id }))[0]!;
      const urn = `urn:sael-pay:${ente.ipaCode}:pdd:${romeDay(now).slice(0, 4)}:${row.id}`;
      await tx.update(consDips).set({ urn }).where(and(eq(consDips.id, row.id), eq(consDips.urn, pending)));
      await appendEventSync(
              tx,
              { kind: 'export', enteId: req.enteId, actor: req.actor, subject: `dip:${row.id}`, details: { urn, aipId: aip.id, aipUrn: aip.urn, sipIds, files: files.length } },
              now,
            );
      await recordAudit(tx, { actor: req.actor, action: 'conservazione.pdd.create', entity: 'cons_dip', entityId: row.id, enteId: req.enteId, after: { urn, aipId: aip.id, sipIds }, requestId: req.requestId ?? null });
      return { dipId: row.id, urn };
    });

  const zip = new yazl.ZipFile();
  const mtime = aip.timestampedAt ? new Date(aip.timestampedAt) : MTIME_DEFAULT;
  const text = (s: string) => Buffer.from(s, 'utf8');
  zip.addBuffer(
    text(
      readme({
        urn,
        aipUrn: aip.urn,
        version: aip.version,
        enteName: ente.name,
        createdAt: now,
        documents: selected.length,
        files: files.length,
        imprintHex: facts.imprintHex,
        imprintIsSignatureValue: facts.imprintHex === facts.signatureValueSha256,
        genTime: facts.genTime,
        tsaAnchor,
        tsaCertInPackage: Boolean(facts.tsaCertsPem),
      }),
    ),
    'LEGGIMI.txt',
    { mtime: now },
  );
  zip.addBuffer(indexBytes, 'indice.xml', { mtime });
  zip.addBuffer(signature, 'indice.xml.p7s', { mtime, compress: false });
  zip.addBuffer(token, 'indice.tsr', { mtime, compress: false });
  zip.addBuffer(text(files.map((f) => `${f.sha256}  ${f.path}\n`).join('')), 'SHA256SUMS', { mtime: now });
  if (facts.signerCertsPem) zip.addBuffer(text(facts.signerCertsPem), 'certificati/conservatore.pem', { mtime: now });
  if (facts.tsaCertsPem) zip.addBuffer(text(facts.tsaCertsPem), 'certificati/tsa.pem', { mtime: now });
  if (tsaAnchor) zip.addBuffer(text(tsaAnchor.pem), 'certificati/tsa-ca.pem', { mtime: now });
  const bySip = new Map(selected.map((d) => [d.sipId, d]));
  for (const r of rdvs.sort((a, b) => a.sipId - b.sipId)) {
    const d = bySip.get(r.sipId)!;
    zip.addBuffer(text(r.xml), `rdv/${d.fileGroupId.replace(/[^\w.-]+/g, '_')}-rdv.xml`, { mtime });
  }

  const out = new PassThrough();
  zip.outputStream.on('error', (e) => out.destroy(e));
  zip.outputStream.pipe(out);
  let failed = false;
  const fail = (e: Error, blobKey?: string) => {
    if (failed) return;
    failed = true;
    out.destroy(e);
    // A stored file that no longer matches its signed hash is a fixity finding for the responsabile.
    if (blobKey && e instanceof DipError)
      void raiseAlert(ctx, { kind: 'fixity_mismatch', enteId: req.enteId, subject: `blob:${blobKey}`, message: `PdD ${urn}: ${e.message}` }).catch(() => {});
  };
  for (const f of files) {
    zip.addReadStreamLazy(f.path, { mtime, size: sizes.get(f.sha256)!, compress: true }, (cb) => {
      ctx.store.stream(f.sha256).then(
        (s) => {
          const check = verifyingStream(f.sha256, f.path);
          s.on('error', (e) => fail(e));
          check.on('error', (e) => fail(e, f.sha256));
          cb(null, s.pipe(check));
        },
        (e: Error) => fail(e),
      );
    });
  }
  zip.end();
  const safeUrn = urn.replace(/[^\w.-]+/g, '_');
  return { dipId, urn, fileName: `${safeUrn}.zip`, stream: out, files: files.length };
}

/** Passes the bytes through and fails (stream error) at the end if their SHA-256 is not `expected`. */
function verifyingStream(expected: string, name: string): Transform {
  const hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const actual = hash.digest('hex');
      cb(actual === expected ? null : new DipError(409, `Il file ${name} non corrisponde all'impronta dell'indice (${actual}).`));
    },
  });
}

/** An 'access' event (page view or download of a PdV, RdV, PdA or its index parts). */
export async function logAccess(ctx: ConservazioneCtx, a: { enteId: number; actor: string; subject: string; what: string }): Promise<void> {
  await ctx.db.transaction(async (tx) => await appendEventSync(tx, { kind: 'access', enteId: a.enteId, actor: a.actor, subject: a.subject, details: { what: a.what } }, ctx.now()));
}
