/**
 * B2 ingest service: an accepted PdV writes its rows, blobs, RdV (valid against ParER's XSD) and
 * chained events; a rejected one is kept with its esito and stores no file; the third rejection of
 * one object opens exactly one ticket; a failure inside the transaction leaves nothing half-written;
 * the profile seed is idempotent and keeps the responsabile's edits.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { and, asc, count, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { consAlerts, consBlobs, consEvents, consProfiles, consRdv, consSipFiles, consSips } from '../../src/modules/conservazione/schema.js';
import { eventHash, GENESIS_HASH } from '../../src/modules/conservazione/events.js';
import { ingestSip } from '../../src/modules/conservazione/ingest.js';
import { validateRdv } from '../../src/modules/conservazione/rdv.js';
import { getProfileByCode, SEEDED_PROFILES, seedConservazioneProfiles, updateProfile } from '../../src/modules/conservazione/profiles.js';
import { tickets } from '../../src/modules/helpdesk/schema.js';
import { adesioniApp, comune } from '../catalogue/adesioni-fixtures.js';
import { determina, PDF, sha, XML } from './ingest-fixtures.js';
import { sqlAll, sqlRun } from '../../src/db/raw.js';

const counts = async (app: FastifyInstance) => ({
  sips: (await app.db.select({ n: count() }).from(consSips).limit(1))[0]!.n,
  files: (await app.db.select({ n: count() }).from(consSipFiles).limit(1))[0]!.n,
  rdv: (await app.db.select({ n: count() }).from(consRdv).limit(1))[0]!.n,
  events: (await app.db.select({ n: count() }).from(consEvents).limit(1))[0]!.n,
});

t.test('accepted PdV: rows, blobs, RdV valid against the ParER XSD, events chained', async (t) => {
  const { app } = await adesioniApp(t, '2026-03-02T10:15:00Z');
  const ctx = app.conservazione;
  const termoli = await comune(app, 'Termoli');
  const r = await ingestSip(ctx, determina(termoli.id, 'DET-2026-12'), 'apikey:7');
  t.equal(r.status, 'accepted', r.esito.message);
  t.equal(r.esito.code, 'OK');
  t.equal(r.urn, `urn:sael-pay:${termoli.ipaCode}:pdv:2026:${r.sipId}`);
  t.equal(r.rdv?.urn, `urn:sael-pay:${termoli.ipaCode}:rdv:2026:${r.sipId}`);

  const sip = (await app.db.select().from(consSips).where(eq(consSips.id, r.sipId!)).limit(1))[0]!;
  t.match(sip, { status: 'accepted', enteId: termoli.id, objectKey: 'DET-2026-12', source: 'api', submittedBy: 'apikey:7', docDate: '2026-03-01', oggetto: 'Affidamento del servizio di manutenzione' });
  const files = await app.db.select().from(consSipFiles).where(eq(consSipFiles.sipId, sip.id)).orderBy(asc(consSipFiles.ordinal));
  t.same(
    files.map((f) => [f.ordinal, f.role, f.name, f.actualSha256, f.storageKey, f.mime]),
    [
      [1, 'principale', 'determina.pdf', sha(PDF), sha(PDF), 'application/pdf'],
      [2, 'allegato', 'prospetto.xml', sha(XML), sha(XML), 'application/xml'],
    ],
  );
  // Blobs: both files in the store and in cons_blobs.
  for (const b of [PDF, XML]) {
    t.ok((await app.db.select().from(consBlobs).where(eq(consBlobs.key, sha(b))).limit(1))[0], 'blob row');
    t.same(await ctx.store.get(sha(b)), b, 'stored bytes');
  }
  const rdv = (await app.db.select().from(consRdv).where(eq(consRdv.sipId, sip.id)).limit(1))[0]!;
  t.equal(rdv.xml, r.rdv!.xml);
  t.equal(rdv.sha256, sha(Buffer.from(rdv.xml)));
  // The RdV's one copy is its write-once row; its 'rdv' event records the same URN and hash.
  t.notOk((await app.db.select().from(consBlobs).where(eq(consBlobs.key, rdv.sha256)).limit(1))[0], 'the RdV is not a blob');
  const rdvEvent = (await app.db.select().from(consEvents).where(and(eq(consEvents.kind, 'rdv'), eq(consEvents.subject, `sip:${sip.id}`))).limit(1))[0]!;
  t.same(JSON.parse(rdvEvent.details), { urn: rdv.urn, sha256: rdv.sha256 }, 'its event records its URN and hash');
  t.equal(rdv.createdAt, '2026-03-02T10:15:00.000Z');

  // The RdV: valid against the official schema, with URN, UTC time, hashes of the index and the whole PdV, components.
  t.same(validateRdv(rdv.xml), { valid: true, errors: [] });
  t.match(rdv.xml, `<URNRapportoVersamento>${rdv.urn}</URNRapportoVersamento>`);
  t.match(rdv.xml, '<DataRapportoVersamento>2026-03-02T10:15:00Z</DataRapportoVersamento>');
  t.match(rdv.xml, `<HashIndiceSIP>${sip.indexSha256}</HashIndiceSIP>`);
  t.match(rdv.xml, `<HashPISIP>${sip.sipSha256}</HashPISIP>`);
  const whole = createHash('sha256').update(Buffer.from(sip.indexSha256, 'hex')).update(Buffer.from(sha(PDF), 'hex')).update(Buffer.from(sha(XML), 'hex')).digest('hex');
  t.equal(sip.sipSha256, whole, 'PdV hash = index digest then every file digest');
  t.match(rdv.xml, /<DocumentoPrincipale>[\s\S]*<NomeComponente>determina\.pdf<\/NomeComponente>[\s\S]*<\/DocumentoPrincipale><Allegato>[\s\S]*prospetto\.xml/);
  t.match(rdv.xml, `<Hash>${sha(PDF)}</Hash>`);
  // cons_rdv is write-once.
  await t.rejects(sqlRun(app.db, 'UPDATE cons_rdv SET xml = ? WHERE id = ?', 'x', rdv.id));

  // Events: ingest then rdv, each chained to its predecessor.
  const events = await app.db.select().from(consEvents).orderBy(asc(consEvents.seq));
  t.same(
    events.map((e) => [e.kind, e.subject]),
    [
      ['ingest', `sip:${sip.id}`],
      ['rdv', `sip:${sip.id}`],
    ],
  );
  let prev = GENESIS_HASH;
  for (const e of events) {
    t.equal(e.prevHash, prev);
    t.equal(e.hash, eventHash(prev, e));
    prev = e.hash;
  }
  t.match(JSON.parse(events[0]!.details), { urn: sip.urn, sipSha256: sip.sipSha256, files: [{ name: 'determina.pdf', sha256: sha(PDF) }, { name: 'prospetto.xml' }] });
  t.match(JSON.parse(events[1]!.details), { urn: rdv.urn, sha256: rdv.sha256 });
});

t.test('rejected PdV kept with its esito; third rejection of one object opens exactly one ticket', async (t) => {
  const { app } = await adesioniApp(t, '2026-03-02T10:15:00Z');
  const ctx = app.conservazione;
  const termoli = await comune(app, 'Termoli');
  const wrong = '0'.repeat(64);
  const bad = () => determina(termoli.id, 'DET-2026-13', { files: [{ name: 'determina.pdf', role: 'principale', bytes: PDF, declaredSha256: wrong }] });

  const first = await ingestSip(ctx, bad(), 'user:1');
  t.equal(first.status, 'rejected');
  t.equal(first.esito.code, 'KO');
  t.ok(first.esito.checks.some((c) => c.outcome === 'NEGATIVO' && c.code === 'HASH_MISMATCH' && c.file === 'determina.pdf'), 'HASH_MISMATCH on the file');
  t.notOk(first.rdv);
  const row = (await app.db.select().from(consSips).where(eq(consSips.id, first.sipId!)).limit(1))[0]!;
  t.equal(row.status, 'rejected');
  t.same(JSON.parse(row.esito), first.esito, 'esito kept');
  const f = (await app.db.select().from(consSipFiles).where(eq(consSipFiles.sipId, row.id)).limit(1))[0]!;
  t.match(f, { declaredSha256: wrong, actualSha256: sha(PDF), storageKey: null });
  t.notOk((await app.db.select().from(consBlobs).where(eq(consBlobs.key, sha(PDF))).limit(1))[0], 'no file stored');
  t.notOk((await app.db.select().from(consRdv).where(eq(consRdv.sipId, row.id)).limit(1))[0], 'no RdV');
  t.match(await app.db.select().from(consEvents), [{ kind: 'reject', subject: `sip:${row.id}` }]);
  t.match(JSON.parse((await app.db.select().from(consEvents).limit(1))[0]!.details), { codes: ['HASH_MISMATCH'] });
  t.equal(first.ticketId, null);

  // Another object's rejections do not count for this one.
  await ingestSip(ctx, determina(termoli.id, 'ALTRO', { files: [{ name: 'a.pdf', role: 'principale', bytes: PDF, declaredSha256: wrong }] }), 'user:1');
  const second = await ingestSip(ctx, bad(), 'user:1');
  t.equal(second.ticketId, null, 'no ticket at the second rejection');
  t.equal((await app.db.select({ n: count() }).from(consAlerts).limit(1))[0]!.n, 0);

  const third = await ingestSip(ctx, bad(), 'user:1');
  t.type(third.ticketId, 'number', 'ticket at the third rejection');
  t.equal((await app.db.select().from(consSips).where(eq(consSips.id, third.sipId!)).limit(1))[0]!.ticketId, third.ticketId, 'ticket id on the PdV');
  const alerts = await app.db.select().from(consAlerts);
  t.match(alerts, [{ kind: 'sip_rejected_3x', enteId: termoli.id, ticketId: third.ticketId, subject: `sip-object:${termoli.id}:determina:DET-2026-13` }]);
  const ticket = (await app.db.select().from(tickets).where(eq(tickets.id, third.ticketId!)).limit(1))[0]!;
  t.match(ticket, { enteId: termoli.id, category: 'conservazione' });

  const fourth = await ingestSip(ctx, bad(), 'user:1');
  t.equal(fourth.ticketId, null, 'no further ticket');
  t.equal((await app.db.select({ n: count() }).from(consAlerts).limit(1))[0]!.n, 1);
  t.equal((await app.db.select({ n: count() }).from(tickets).where(eq(tickets.category, 'conservazione')).limit(1))[0]!.n, 1, 'exactly one ticket');

  // An accepted PdV of the same object after the rejections.
  const ok = await ingestSip(ctx, determina(termoli.id, 'DET-2026-13'), 'user:1');
  t.equal(ok.status, 'accepted');
});

t.test('profile checks: unknown, inactive, submitter not allowed', async (t) => {
  const { app } = await adesioniApp(t, '2026-03-02T10:15:00Z');
  const ctx = app.conservazione;
  const termoli = await comune(app, 'Termoli');

  const unknown = await ingestSip(ctx, determina(termoli.id, 'X1', { profileCode: 'inesistente' }), 'apikey:1');
  t.match(unknown, { sipId: null, urn: null, status: 'rejected', esito: { code: 'KO', checks: [{ check: 'profile', outcome: 'NEGATIVO', code: 'PROFILE_UNKNOWN' }] } });
  t.match(await app.db.select().from(consEvents), [{ kind: 'reject', subject: `sip-object:${termoli.id}:inesistente:X1` }]);

  // Receipts are the platform's own: an ente may not submit them.
  const receipt = await ingestSip(ctx, determina(termoli.id, 'X2', { profileCode: 'ricevuta-pagopa' }), 'apikey:1');
  t.match(receipt.esito.checks, [{ code: 'PROFILE_NOT_ALLOWED', outcome: 'NEGATIVO' }]);
  t.equal(receipt.status, 'rejected');
  t.type(receipt.sipId, 'number', 'kept');

  const p = (await getProfileByCode(app.db, 'determina'))!;
  await updateProfile(app.db, 'determina', { ...p, active: false }, { actor: 'test' }, new Date());
  const inactive = await ingestSip(ctx, determina(termoli.id, 'X3'), 'apikey:1');
  t.match(inactive.esito.checks, [{ code: 'PROFILE_UNKNOWN' }]);
});

t.test('a failure inside the transaction leaves nothing half-written', async (t) => {
  const { app } = await adesioniApp(t, '2026-03-02T10:15:00Z');
  const ctx = app.conservazione;
  const termoli = await comune(app, 'Termoli');
  await ingestSip(ctx, determina(termoli.id, 'PRIMA'), 'apikey:1');
  const before = await counts(app);
  // The RdV insert is the last write but one: make it fail.
  await sqlRun(app.db, {
    sqlite: "CREATE TRIGGER test_fail_rdv BEFORE INSERT ON cons_rdv BEGIN SELECT RAISE(ABORT, 'disco pieno'); END",
    postgres: "CREATE FUNCTION test_fail_rdv() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disco pieno'; END $$; CREATE TRIGGER test_fail_rdv BEFORE INSERT ON cons_rdv FOR EACH ROW EXECUTE FUNCTION test_fail_rdv()",
  });
  const other = Buffer.from(`${PDF.toString()}% altra\n`);
  const failed = await ingestSip(ctx, determina(termoli.id, 'DOPO', { files: [{ name: 'd.pdf', role: 'principale', bytes: other, declaredSha256: sha(other) }] }), 'apikey:1').then(
    () => undefined,
    (e: unknown) => e as Error & { cause?: Error },
  );
  // The database's message: better-sqlite3's error itself, or under drizzle's "Failed query" wrapper (PostgreSQL).
  t.match(`${failed?.message} ${failed?.cause?.message}`, /disco pieno/, 'the write failed with the database error');
  t.same(await counts(app), before, 'no PdV, file, RdV or event row');
  t.equal((await app.db.select({ n: count() }).from(consSips).where(and(eq(consSips.enteId, termoli.id), eq(consSips.objectKey, 'DOPO'))).limit(1))[0]!.n, 0);
  // The file was put in the store before the transaction: there, unreferenced (its cons_blobs row
  // is written with the PdV's, so rolled back too); a retry finds it and registers it.
  t.ok(await ctx.store.has(sha(other)), 'the file is in the store');
  t.notOk((await app.db.select().from(consBlobs).where(eq(consBlobs.key, sha(other))).limit(1))[0], 'its cons_blobs row rolled back with the PdV');
  await sqlRun(app.db, { sqlite: 'DROP TRIGGER test_fail_rdv', postgres: 'DROP TRIGGER test_fail_rdv ON cons_rdv' });
  const retry = await ingestSip(ctx, determina(termoli.id, 'DOPO', { files: [{ name: 'd.pdf', role: 'principale', bytes: other, declaredSha256: sha(other) }] }), 'apikey:1');
  t.equal(retry.status, 'accepted');
  t.equal((await counts(app)).events, before.events + 2);
  t.ok((await app.db.select().from(consBlobs).where(eq(consBlobs.key, sha(other))).limit(1))[0], 'registered by the retry (the fixity audit sees it)');
});

t.test('profile seed: every profile, idempotent, edits kept', async (t) => {
  const { app } = await adesioniApp(t);
  const rows = await app.db.select().from(consProfiles);
  t.same(rows.map((r) => r.code).sort(), SEEDED_PROFILES.map((p) => p.code).sort());
  const receipt = (await getProfileByCode(app.db, 'ricevuta-pagopa'))!;
  t.match(receipt, { retentionYears: 10, submitters: ['system'], signatureRequired: false });
  t.ok(receipt.requiredMetadata.includes('IUV'));
  t.match(await getProfileByCode(app.db, 'convenzione'), { signatureRequired: true, retentionYears: null });

  await updateProfile(app.db, 'determina', { ...(await getProfileByCode(app.db, 'determina'))!, retentionYears: 40, name: 'Determina modificata' }, { actor: 'user:1' }, new Date('2026-03-02T10:00:00Z'));
  (await sqlRun(app.db, "DELETE FROM cons_profiles WHERE code = 'contratto'"));
  await seedConservazioneProfiles(app.db);
  await seedConservazioneProfiles(app.db);
  t.equal((await app.db.select({ n: count() }).from(consProfiles).limit(1))[0]!.n, SEEDED_PROFILES.length, 'missing code added once');
  t.match(await getProfileByCode(app.db, 'determina'), { retentionYears: 40, name: 'Determina modificata' }, 'edit kept');
  const audit = (await sqlAll(app.db, "SELECT actor, before, after FROM audit_log WHERE entity = 'cons_profile'")) as { actor: string; before: string; after: string }[];
  t.match(audit, [{ actor: 'user:1' }]);
  t.same(JSON.parse(audit[0]!.before), { name: 'Determinazione dirigenziale', retentionYears: null });
  t.same(JSON.parse(audit[0]!.after), { name: 'Determina modificata', retentionYears: 40 });
  t.match(await app.db.select().from(consEvents), [{ kind: 'profile', subject: 'profile:determina', actor: 'user:1' }]);
});

t.test('PdV sent together: each committed with its own rows, its source linked in its transaction; a rejected one links nothing', async (t) => {
  const { app } = await adesioniApp(t, '2026-03-02T10:15:00Z');
  const ctx = app.conservazione;
  const termoli = await comune(app, 'Termoli');
  const good = Array.from({ length: 6 }, (_, i) => ({ ...determina(termoli.id, `DET-2026-G${i}`), sourceLink: { sourceType: 'convenzione' as const, sourceId: 900 + i } }));
  const bad = { ...determina(termoli.id, 'DET-2026-BAD'), sourceLink: { sourceType: 'convenzione' as const, sourceId: 999 } };
  bad.files = bad.files.map((f, i) => (i === 0 ? { ...f, declaredSha256: '0'.repeat(64) } : f)); // hash mismatch: rejected
  const results = await Promise.all([...good, bad].map((input) => ingestSip(ctx, input, 'test')));
  t.same(results.map((r) => r.status), ['accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'rejected']);
  const links = await sqlAll<{ source_id: number; sip_id: number }>(app.db, "SELECT source_id, sip_id FROM cons_source_links WHERE source_type = 'convenzione' ORDER BY source_id");
  t.same(
    links.map((l) => [l.source_id, l.sip_id]),
    results.slice(0, 6).map((r, i) => [900 + i, r.sipId]),
    'every accepted PdV linked to its own source, the rejected one not at all',
  );
  for (const r of results.slice(0, 6)) t.equal((await app.db.select({ n: count() }).from(consRdv).where(eq(consRdv.sipId, r.sipId!)).limit(1))[0]!.n, 1, 'its RdV');
});
