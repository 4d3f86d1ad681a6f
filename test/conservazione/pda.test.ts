/**
 * PdA (pda.ts): accepted PdV (inserted here as the ingest leaves them: files stored through
 * storeBlob, cons_sips + cons_sip_files rows) into a SInCRO v2 index that validates against the
 * official XSD, sealed with the demo sealer (CAdES + RFC 3161 from the TSA simulator); every file
 * downloaded from the store hashes to its File/Hash in the index; cons_aips + cons_aip_documents +
 * event 'pda'; retention; a metadata change makes a linked new version; refusals.
 */
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { DOMParser } from '@xmldom/xmldom';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { tempDir } from '../helpers.js';
import type { ConservazioneCtx } from '../../src/modules/conservazione/context.js';
import { readBlob, storeBlob } from '../../src/modules/conservazione/blobs.js';
import { buildPda, newPdaVersion, OFF_THREAD_DOCUMENTS, pdaFilePath, PdaError } from '../../src/modules/conservazione/pda.js';
import { stopIndexThreads } from '../../src/modules/conservazione/pindex-thread.js';
import { validatePIndex } from '../../src/modules/conservazione/pindex-validate.js';
import { SINCRO_NS } from '../../src/modules/conservazione/pindex.js';
import { consAipDocuments, consAips, consEvents, consProfiles, consSipFiles, consSips } from '../../src/modules/conservazione/schema.js';
import { enti } from '../../src/modules/enti/schema.js';
import { suiteDb } from '../suite-db.js';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** An accepted PdV as ingestSip leaves it. */
async function insertAcceptedSip(
  ctx: ConservazioneCtx,
  o: { enteId: number; profileCode: string; key: string; metadata: Record<string, unknown>; files: { name: string; role: 'principale' | 'allegato'; bytes: Buffer; mime: string }[] },
): Promise<number> {
  const profile = (await ctx.db.select().from(consProfiles).where(eq(consProfiles.code, o.profileCode)).limit(1))[0]!;
  for (const f of o.files) await storeBlob(ctx, f.bytes);
  const sip = (await ctx.db
      .insert(consSips)
      .values({
        urn: `urn:sael-pay:test:pdv:2026:${o.key}`,
        enteId: o.enteId,
        profileId: profile.id,
        objectKey: o.key,
        source: 'api',
        submittedBy: 'test',
        status: 'accepted',
        metadata: JSON.stringify(o.metadata),
        esito: JSON.stringify({ code: 'OK', message: 'ok', checks: [] }),
        indexSha256: sha(o.key),
        sipSha256: sha(`${o.key}!`),
        docDate: (o.metadata.DataDocumento as string) ?? null,
        iuv: (o.metadata.IUV as string) ?? null,
        oggetto: (o.metadata.Oggetto as string) ?? null,
        receivedAt: ctx.now().toISOString(),
      })
      .returning({ id: consSips.id }))[0]!;
  for (const [i, f] of o.files.entries()) {
    await ctx.db
      .insert(consSipFiles)
      .values({ sipId: sip.id, ordinal: i + 1, role: f.role, name: f.name, declaredSha256: sha(f.bytes), actualSha256: sha(f.bytes), sizeBytes: f.bytes.length, mime: f.mime, suitability: 'IDONEO', storageKey: sha(f.bytes) });
  }
  return sip.id;
}

function receiptMetadata(n: number, date: string): Record<string, unknown> {
  return {
    Identificativo: `80000000000-0100000000000000${n}-RT${n}`,
    TipologiaDocumentale: 'Ricevuta telematica pagoPA',
    ModalitaDiFormazione: 'c',
    Oggetto: `Ricevuta pagoPA n. ${n} – TARI & acconto <2026> àèìòù`,
    DataDocumento: date,
    NumeroDocumento: `RT${n}`,
    TipologiaDiFlusso: 'E',
    IUV: `0100000000000000${n}`,
    Soggetti: [
      { ruolo: 'Mittente', tipo: 'PG', denominazione: 'PagoPA S.p.A.', codiceFiscale: '15376371009' },
      { ruolo: 'Destinatario', tipo: 'PAI', denominazione: 'Comune di Prova', ipa: 'c_prova' },
      { ruolo: 'Autore', tipo: 'PF', denominazione: 'Mario Rossi' },
    ],
  };
}

/** The HTTP-like status of the PdaError a promise rejects with (null when it resolves). */
async function failure(p: Promise<unknown>): Promise<number | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return e instanceof PdaError ? e.status : -1;
  }
}

function filesOf(xml: string) {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const out: { id: string; path: string; hash: string; previous: string | null }[] = [];
  const files = doc.getElementsByTagNameNS(SINCRO_NS, 'File');
  for (let i = 0; i < files.length; i++) {
    const f = files.item(i)!;
    const child = (name: string) => f.getElementsByTagNameNS(SINCRO_NS, name).item(0)?.textContent ?? null;
    out.push({ id: child('ID')!, path: decodeURI(child('Path')!), hash: child('Hash')!, previous: child('PreviousHash') });
  }
  return out;
}

t.test('PdA: XSD-valid index, sealed, blobs hash to the index, new version linked', async (t) => {
  let now = new Date('2026-06-10T08:00:00Z');
  const sdb = await suiteDb();
  const app = await buildApp(loadConfig({ DATA_DIR: tempDir(t), LOG_LEVEL: 'silent', ...sdb.env }), { logger: false, backgroundWorkers: false, now: () => now });
  sdb.closeWith(t, app);
  const ctx = app.conservazione;
  const comuni = await app.db.select().from(enti).where(eq(enti.kind, 'comune')).limit(2);
  const [ente, other] = [comuni[0]!, comuni[1]!];
  const profile = (await app.db.select().from(consProfiles).where(eq(consProfiles.code, 'ricevuta-pagopa')).limit(1))[0]!;

  const sipIds: number[] = [];
  for (const [n, date] of [[1, '2026-06-01'], [2, '2026-06-09'], [3, '2026-05-20']] as const) {
    sipIds.push(
      await insertAcceptedSip(ctx, {
        enteId: ente.id,
        profileCode: 'ricevuta-pagopa',
        key: `receipt:${n}`,
        metadata: receiptMetadata(n, date),
        files: [
          { name: `rt-${n}.xml`, role: 'principale', bytes: Buffer.from(`<paSendRTV2Req><n>${n}</n></paSendRTV2Req>`), mime: 'application/xml' },
          { name: `ricevuta ${n}.pdf`, role: 'allegato', bytes: Buffer.from(`%PDF-1.7 ricevuta ${n}`), mime: 'application/pdf' },
        ],
      }),
    );
  }

  const r = await buildPda(ctx, { enteId: ente.id, profileId: profile.id, sipIds, actor: 'test' });
  t.equal(r.documents, 3);
  t.equal(r.urn, `urn:sael-pay:${ente.ipaCode}:pda:2026:${r.aipId}`);
  t.equal(r.retentionUntil, '2036-06-09', 'latest DataDocumento + 10 years (profile)');
  const aip = (await app.db.select().from(consAips).where(eq(consAips.id, r.aipId)).limit(1))[0]!;
  t.match(aip, { status: 'active', version: 1, previousAipId: null, documents: 3, enteId: ente.id, retentionUntil: '2036-06-09' });
  t.equal(aip.timestampedAt, '2026-06-10T08:00:00.000Z');

  const index = await readBlob(ctx, aip.indexKey);
  t.equal(sha(index), aip.indexSha256);
  const v = validatePIndex(index);
  t.same(v.errors, [], 'the stored index validates against Unisincro_PIndex_v2.0.xsd and the MoreInfo schemas');
  const xml = index.toString('utf8');
  t.match(xml, /<sincro:AgentID>VATIT-\d{11}<\/sincro:AgentID>/, 'Submitter/Holder VATIT-<CF>');
  t.match(xml, /TARI &amp; acconto &lt;2026&gt; àèìòù/, 'metadata escaped');
  t.match(xml, /<sincro:FormalName>Provincia di Campobasso – S\.A\.E\.L\.<\/sincro:FormalName>/, 'AuthorizedSigner = the conservator');

  // every file of the index downloads from the store and hashes to its File/Hash
  const listed = filesOf(xml);
  t.equal(listed.length, 6);
  const rows = await app.db.select().from(consSipFiles);
  for (const f of listed) {
    const row = rows.find((x) => pdaFilePath(x.sipId, x.ordinal, x.name) === f.path);
    t.ok(row, `${f.path} is a file of a PdV`);
    t.equal(sha(await readBlob(ctx, row!.storageKey!)), f.hash, `${f.path}: stored bytes hash to the index`);
  }
  t.ok(listed[0]!.path.endsWith('.xml'), 'the principale first');

  // the seal
  const sealer = (await ctx.sealer())!;
  const check = await sealer.verify(index, await readBlob(ctx, aip.signatureKey), await readBlob(ctx, aip.timestampKey));
  t.ok(check.ok, check.message);

  const docs = await app.db.select().from(consAipDocuments).where(eq(consAipDocuments.aipId, r.aipId));
  t.same(docs.map((d) => [d.sipId, d.current, d.fileGroupId]), sipIds.map((id) => [id, true, `doc-${id}`]));
  const ev = await app.db.select().from(consEvents).where(eq(consEvents.subject, `aip:${r.aipId}`));
  t.equal(ev.length, 1);
  t.match(JSON.parse(ev[0]!.details), { urn: r.urn, documents: 3, indexSha256: aip.indexSha256, sipIds });

  // refusals
  t.equal(await failure(buildPda(ctx, { enteId: ente.id, profileId: profile.id, sipIds: [sipIds[0]!], actor: 'test' })), 409, 'already in a PdA');
  await t.rejects(buildPda(ctx, { enteId: other.id, profileId: profile.id, sipIds: [sipIds[0]!], actor: 'test' }), /altro ente/);
  await t.rejects(buildPda({ ...ctx, sealer: async () => null }, { enteId: ente.id, profileId: profile.id, sipIds: [99999], actor: 'test' }), PdaError);

  // a determina: no retention (illimitato)
  const det = (await app.db.select().from(consProfiles).where(eq(consProfiles.code, 'determina')).limit(1))[0]!;
  const detSip = await insertAcceptedSip(ctx, {
    enteId: ente.id,
    profileCode: 'determina',
    key: 'DET-2026-15',
    metadata: { Identificativo: 'DET-2026-15', TipologiaDocumentale: 'Determinazione', ModalitaDiFormazione: 'a', Oggetto: 'Affidamento del servizio', DataDocumento: '2026-06-05', NumeroDocumento: '15' },
    files: [{ name: 'determina 15.pdf', role: 'principale', bytes: Buffer.from('%PDF-1.7 determina 15'), mime: 'application/pdf' }],
  });
  const dr = await buildPda(ctx, { enteId: ente.id, profileId: det.id, sipIds: [detSip], actor: 'test' });
  t.equal(dr.retentionUntil, null, 'illimitato');
  t.same(validatePIndex(await readBlob(ctx, (await app.db.select().from(consAips).where(eq(consAips.id, dr.aipId)).limit(1))[0]!.indexKey)).errors, []);

  // no sealer configured: no PdA
  const det2 = await insertAcceptedSip(ctx, {
    enteId: ente.id,
    profileCode: 'determina',
    key: 'DET-2026-16',
    metadata: { Identificativo: 'DET-2026-16', TipologiaDocumentale: 'Determinazione', ModalitaDiFormazione: 'a', Oggetto: 'Altro', DataDocumento: '2026-06-05', NumeroDocumento: '16' },
    files: [{ name: 'd16.pdf', role: 'principale', bytes: Buffer.from('%PDF-1.7 determina 16'), mime: 'application/pdf' }],
  });
  t.equal(await failure(buildPda({ ...ctx, sealer: async () => null }, { enteId: ente.id, profileId: det.id, sipIds: [det2], actor: 'test' })), 503);

  // metadata change of document 2: new version linked to the previous index
  now = new Date('2026-07-01T09:00:00Z');
  const later = ctx;
  const md2 = { ...receiptMetadata(2, '2026-06-09'), Oggetto: 'Ricevuta pagoPA n. 2 – oggetto rettificato', Note: 'Rettifica dell’oggetto' };
  t.equal(await failure(newPdaVersion(later, { sipId: sipIds[1]!, metadata: { ...md2, DataDocumento: 'ieri' }, actor: 'user:1' })), 422, 'invalid metadata refused');
  t.equal(await failure(newPdaVersion(later, { sipId: det2, metadata: md2, actor: 'user:1' })), 404, 'not in a PdA');
  const nv = await newPdaVersion(later, { sipId: sipIds[1]!, metadata: md2, actor: 'user:1' });
  t.equal(nv.version, 2);
  t.equal(nv.urn, `urn:sael-pay:${ente.ipaCode}:pda:2026:${nv.aipId}:v2`);
  const nAip = (await app.db.select().from(consAips).where(eq(consAips.id, nv.aipId)).limit(1))[0]!;
  t.equal(nAip.previousAipId, r.aipId);
  const nIndex = await readBlob(ctx, nAip.indexKey);
  t.same(validatePIndex(nIndex).errors, [], 'new version validates');
  const nXml = nIndex.toString('utf8');
  t.match(nXml, new RegExp(`<sincro:PIndexSource sincro:derivation="onetoone"><sincro:ID sincro:scheme="local">${r.urn}</sincro:ID><sincro:Path>${r.urn}</sincro:Path><sincro:Hash sincro:hashFunction="SHA-256">${aip.indexSha256}</sincro:Hash>`), 'PIndexSource = previous index and its hash');
  t.ok(filesOf(nXml).every((f) => f.previous === f.hash), 'PreviousHash on every file');
  t.match(nXml, /oggetto rettificato/);
  t.match(nXml, /<VersioneDelDocumento>2<\/VersioneDelDocumento>/);
  t.ok((await sealer.verify(nIndex, await readBlob(ctx, nAip.signatureKey), await readBlob(ctx, nAip.timestampKey))).ok);
  const cur = async (sipId: number) => await app.db.select({ aipId: consAipDocuments.aipId }).from(consAipDocuments).where(and(eq(consAipDocuments.sipId, sipId), eq(consAipDocuments.current, true)));
  t.same(await cur(sipIds[1]!), [{ aipId: nv.aipId }], 'the current version of document 2 is the new PdA');
  t.equal((await app.db.select().from(consAips).where(eq(consAips.id, r.aipId)).limit(1))[0]!.status, 'active', 'the first PdA still holds current documents');

  // a PdA whose only document changes becomes superseded; a third version chains on the second
  const v3 = await newPdaVersion(later, { sipId: sipIds[1]!, metadata: { ...md2, Note: 'Seconda rettifica' }, actor: 'user:1' });
  t.equal(v3.version, 3);
  t.equal((await app.db.select().from(consAips).where(eq(consAips.id, nv.aipId)).limit(1))[0]!.status, 'superseded');
  await newPdaVersion(later, { sipId: detSip, metadata: { Identificativo: 'DET-2026-15', TipologiaDocumentale: 'Determinazione', ModalitaDiFormazione: 'a', Oggetto: 'Affidamento (rettifica)', DataDocumento: '2026-06-05', NumeroDocumento: '15' }, actor: 'user:1' });
  t.equal((await app.db.select().from(consAips).where(eq(consAips.id, dr.aipId)).limit(1))[0]!.status, 'superseded');
});

/** An app at a fixed instant, its first comune and the pagoPA receipt profile. */
async function receiptsApp(t: Test) {
  const sdb = await suiteDb();
  const app = await buildApp(loadConfig({ DATA_DIR: tempDir(t), LOG_LEVEL: 'silent', ...sdb.env }), { logger: false, backgroundWorkers: false, now: () => new Date('2026-06-10T08:00:00Z') });
  sdb.closeWith(t, app);
  const ente = (await app.db.select().from(enti).where(eq(enti.kind, 'comune')).limit(1))[0]!;
  const profile = (await app.db.select().from(consProfiles).where(eq(consProfiles.code, 'ricevuta-pagopa')).limit(1))[0]!;
  return { app, ctx: app.conservazione, ente, profile };
}

t.test('an Oggetto whose 250th character is an emoji: the label is cut between code points and the index is XML', async (t) => {
  const { app, ctx, ente, profile } = await receiptsApp(t);
  const oggetto = `${'a'.repeat(249)}\u{1F389} e il resto`;
  const sipId = await insertAcceptedSip(ctx, {
    enteId: ente.id,
    profileCode: 'ricevuta-pagopa',
    key: 'receipt:emoji',
    metadata: { ...receiptMetadata(9, '2026-06-01'), Oggetto: oggetto },
    files: [{ name: 'rt-9.xml', role: 'principale', bytes: Buffer.from('<paSendRTV2Req><n>9</n></paSendRTV2Req>'), mime: 'application/xml' }],
  });
  const r = await buildPda(ctx, { enteId: ente.id, profileId: profile.id, sipIds: [sipId], actor: 'test' });
  const aip = (await app.db.select().from(consAips).where(eq(consAips.id, r.aipId)).limit(1))[0]!;
  const index = await readBlob(ctx, aip.indexKey);
  t.same(validatePIndex(index).errors, [], 'valid');
  const xml = index.toString('utf8');
  t.ok(xml.includes(`>${'a'.repeat(249)}\u{1F389}<`), 'the label keeps the whole emoji as its 250th character');
  t.ok(xml.includes(oggetto), 'the Oggetto whole in the metadata');
});

t.test('two PdA sealed at once, their indexes built on the index threads: distinct ids, both valid and sealed', async (t) => {
  const { app, ctx, ente, profile } = await receiptsApp(t);
  const batch = async (from: number) => {
    const ids: number[] = [];
    for (let n = from; n < from + OFF_THREAD_DOCUMENTS; n++) {
      ids.push(
        await insertAcceptedSip(ctx, {
          enteId: ente.id,
          profileCode: 'ricevuta-pagopa',
          key: `receipt:${n}`,
          metadata: receiptMetadata(n, '2026-06-01'),
          files: [{ name: `rt-${n}.xml`, role: 'principale', bytes: Buffer.from(`<paSendRTV2Req><n>${n}</n></paSendRTV2Req>`), mime: 'application/xml' }],
        }),
      );
    }
    return ids;
  };
  const [a, b] = [await batch(1000), await batch(2000)];
  const made = await Promise.all([a, b].map((sipIds) => buildPda(ctx, { enteId: ente.id, profileId: profile.id, sipIds, actor: 'test' })));
  t.not(made[0]!.aipId, made[1]!.aipId, 'two ids');
  t.not(made[0]!.urn, made[1]!.urn);
  const sealer = (await ctx.sealer())!;
  for (const [i, r] of made.entries()) {
    const aip = (await app.db.select().from(consAips).where(eq(consAips.id, r.aipId)).limit(1))[0]!;
    t.equal(aip.urn, r.urn);
    t.equal(aip.documents, OFF_THREAD_DOCUMENTS);
    const index = await readBlob(ctx, aip.indexKey);
    t.equal(sha(index), aip.indexSha256, 'the stored index is the one hashed');
    t.same(validatePIndex(index).errors, [], 'the index validates');
    t.ok(index.toString('utf8').includes(`<sincro:ID sincro:scheme="local">${r.urn}</sincro:ID>`), 'its own URN inside');
    t.ok((await sealer.verify(index, await readBlob(ctx, aip.signatureKey), await readBlob(ctx, aip.timestampKey))).ok, 'sealed');
    const docs = await app.db.select({ sipId: consAipDocuments.sipId }).from(consAipDocuments).where(eq(consAipDocuments.aipId, r.aipId));
    t.same(docs.map((d) => d.sipId).sort((x, y) => x - y), [a, b][i], 'its own documents');
  }
  await stopIndexThreads();
});
