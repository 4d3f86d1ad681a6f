/**
 * Part D: `conservazione:verify` finds every kind of tampering — an edited event row (also with
 * the whole chain's hashes recomputed: the anchors catch it), a deleted row, a changed or missing
 * stored byte, an anchor whose token covers another hash, a PdA whose seal no longer verifies —
 * and the CLI exits 0 on a clean archive, 1 with the finding printed otherwise. The tests drop the
 * write-once triggers first, as an attacker with the database file could.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { asc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildTestApp } from '../helpers.js';
import { sqlRun } from '../../src/db/raw.js';
import { runCli } from '../../src/cli-commands.js';
import { anchorChainHead, anchorDigest } from '../../src/modules/conservazione/anchor.js';
import { appendEvent, eventHash, GENESIS_HASH } from '../../src/modules/conservazione/events.js';
import { storeBlob } from '../../src/modules/conservazione/blobs.js';
import { consAips, consAnchors, consEvents, consProfiles, consRdv } from '../../src/modules/conservazione/schema.js';
import { ingestSip } from '../../src/modules/conservazione/ingest.js';
import { buildPda } from '../../src/modules/conservazione/pda.js';
import { determina } from './ingest-fixtures.js';
import { formatVerifyReport, verifyConservazione } from '../../src/modules/conservazione/verify.js';
import type { ConservazioneCtx } from '../../src/modules/conservazione/context.js';
import { testSealer } from './d-sealer-fixture.js';
import { addAip, addDocument, ensureProfile, memberEnti } from './d-archive-fixture.js';

const HOUR = 3_600_000;

/** Drops one of the write-once triggers (to tamper with the rows as an attacker with the database would). */
async function dropTrigger(app: FastifyInstance, name: string, table: string): Promise<void> {
  await sqlRun(app.db, { sqlite: `DROP TRIGGER ${name}`, postgres: `DROP TRIGGER ${name} ON ${table}` });
}

function blobPath(ctx: ConservazioneCtx, key: string): string {
  return path.join(ctx.config.conservazione.dir, 'store', key.slice(0, 2), key.slice(2, 4), key);
}

/** Overwrites a stored (read-only) file and returns a function that puts the original back. */
function tamperFile(file: string, change: (b: Buffer) => Buffer | null): () => void {
  const original = fs.readFileSync(file);
  fs.chmodSync(file, 0o644);
  const next = change(Buffer.from(original));
  if (next === null) fs.rmSync(file);
  else fs.writeFileSync(file, next);
  return () => {
    fs.writeFileSync(file, original);
    fs.chmodSync(file, 0o444);
  };
}

t.test('verify finds edited and deleted rows, altered files, forged anchors and broken seals', async (t) => {
  const app = await buildTestApp(t);
  let clock = new Date('2026-04-20T09:00:00Z');
  const now = () => clock;
  const sealer = await testSealer(app.config.dataDir, now);
  const ctx: ConservazioneCtx = { ...app.conservazione, now, sealer: async () => sealer };
  const [ente] = await memberEnti(ctx);
  const profileId = await ensureProfile(ctx, 'd-verify');
  const d1 = await addDocument(ctx, ente!.id, profileId, ['determina 1 – testo', 'allegato A']);
  const d2 = await addDocument(ctx, ente!.id, profileId, ['determina 2 – testo']);
  const aip = await addAip(ctx, sealer, { enteId: ente!.id, profileId, sipIds: [d1.sipId, d2.sipId], retentionUntil: '2036-12-31' });
  t.match(await anchorChainHead(ctx), { created: true, lastSeq: 3 });
  clock = new Date(clock.getTime() + 24 * HOUR);
  await appendEvent(ctx.db, { kind: 'access', enteId: ente!.id, actor: 'user:1', subject: `aip:${aip.aipId}` }, clock);
  t.match(await anchorChainHead(ctx), { created: true, lastSeq: 5 });
  await appendEvent(ctx.db, { kind: 'access', enteId: ente!.id, actor: 'user:1', subject: `aip:${aip.aipId}` }, clock);

  const clean = await verifyConservazione(ctx);
  t.same(clean.findings, [], 'a clean archive has no finding');
  t.match(clean, { blobs: 6, events: 7, anchors: 2, aips: 1 }, '3 files + index, signature, token; 7 events; 2 anchors; 1 PdA');
  t.match(formatVerifyReport(clean), [/^Verifica della conservazione: 6 file, 7 eventi, 2 ancore, 1 PdA/]);

  for (const [tr, table] of [['cons_events_no_update', 'cons_events'], ['cons_events_no_delete', 'cons_events'], ['cons_anchors_no_update', 'cons_anchors']]) await dropTrigger(app, tr!, table!);
  const rowsBefore = await ctx.db.select().from(consEvents).orderBy(asc(consEvents.seq));
  const restoreEvents = async () => {
    await sqlRun(app.db, 'DELETE FROM cons_events');
    for (const r of rowsBefore) await ctx.db.insert(consEvents).values(r);
  };

  // 1. A row edited in place: its hash no longer matches its content, and the first anchor's head is off.
  await sqlRun(app.db, 'UPDATE cons_events SET actor = ? WHERE seq = 2', 'user:999');
  let report = await verifyConservazione(ctx);
  t.ok(report.findings.some((f) => f.kind === 'chain_broken' && f.subject === 'event:2' && /modificato/.test(f.message)), 'edited row found');
  t.ok(report.findings.some((f) => f.kind === 'anchor_invalid' && f.subject === 'anchor:2026-04-20'), 'the anchor over it fails too');
  await restoreEvents();
  t.same((await verifyConservazione(ctx)).findings, [], 'restored: clean again');

  // 2. A row edited and the whole chain re-hashed from genesis: only the anchors can tell.
  await sqlRun(app.db, 'UPDATE cons_events SET details = ? WHERE seq = 4', '{"note":"riscritto"}');
  let prev = GENESIS_HASH;
  for (const r of await ctx.db.select().from(consEvents).orderBy(asc(consEvents.seq))) {
    const hash = eventHash(prev, r);
    await sqlRun(app.db, 'UPDATE cons_events SET prev_hash = ?, hash = ? WHERE seq = ?', prev, hash, r.seq);
    prev = hash;
  }
  report = await verifyConservazione(ctx);
  t.notOk(report.findings.some((f) => f.kind === 'chain_broken'), 'the rewritten chain is self-consistent');
  t.ok(report.findings.some((f) => f.kind === 'anchor_invalid' && f.subject === 'anchor:2026-04-21' && /non corrisponde alla testa/.test(f.message)), 'but the anchored head differs');
  await restoreEvents();

  // 3. A deleted row: a gap in the sequence, the next row's predecessor is wrong.
  await sqlRun(app.db, 'DELETE FROM cons_events WHERE seq = 2');
  report = await verifyConservazione(ctx);
  t.ok(report.findings.some((f) => f.kind === 'chain_broken' && f.subject === 'event:2' && /manca l’evento n\. 2/.test(f.message)), 'deleted row found');
  t.ok(report.findings.some((f) => f.subject === 'event:3' && /non è concatenato/.test(f.message)));
  await restoreEvents();

  // 4. One stored byte changed on disk (a document file), then the PdA index.
  let restore = tamperFile(blobPath(ctx, d1.keys[1]!), (b) => ((b[0] = b[0]! ^ 1), b));
  report = await verifyConservazione(ctx);
  t.same(
    report.findings.map((f) => [f.kind, f.subject]),
    [['blob_mismatch', `blob:${d1.keys[1]}`]],
    'the altered file is found, nothing else',
  );
  restore();
  restore = tamperFile(blobPath(ctx, aip.keys[0]!), (b) => Buffer.concat([b, Buffer.from(' ')]));
  report = await verifyConservazione(ctx);
  t.ok(report.findings.some((f) => f.kind === 'blob_mismatch' && f.subject === `blob:${aip.keys[0]}`), 'altered index found by its hash');
  t.ok(report.findings.some((f) => f.kind === 'seal_invalid' && f.subject === `aip:${aip.aipId}`), 'and its seal no longer verifies');
  restore();
  restore = tamperFile(blobPath(ctx, d2.keys[0]!), () => null);
  report = await verifyConservazione(ctx);
  t.same(report.findings.map((f) => f.kind), ['blob_missing'], 'a deleted file is found');
  restore();

  // 5. An anchor whose token covers another hash.
  const other = await sealer.timestamp(anchorDigest('a'.repeat(64)));
  const first = (await ctx.db.select().from(consAnchors).orderBy(asc(consAnchors.id)).limit(1))[0]!;
  await sqlRun(app.db, 'UPDATE cons_anchors SET token = ? WHERE id = ?', other.token.toString('base64'), first.id);
  report = await verifyConservazione(ctx);
  t.same(report.findings.map((f) => [f.kind, f.subject]), [['anchor_invalid', 'anchor:2026-04-20']], 'forged anchor token found');
  t.match(report.findings[0]!.message, /marca temporale non valida/);
  await sqlRun(app.db, 'UPDATE cons_anchors SET token = ? WHERE id = ?', first.token, first.id);
  t.same((await verifyConservazione(ctx)).findings, [], 'all restored');
});

t.test('verify re-hashes every rapporto di versamento against its row and its event, and finds a deleted one', async (t) => {
  const app = await buildTestApp(t);
  const ctx = app.conservazione;
  const [ente] = await memberEnti(ctx);
  const sips: number[] = [];
  for (const key of ['det-rdv-1', 'det-rdv-2']) {
    const r = await ingestSip(ctx, determina(ente!.id, key), 'test');
    t.equal(r.status, 'accepted', JSON.stringify(r.esito));
    sips.push(r.sipId!);
  }
  const clean = await verifyConservazione(ctx);
  t.same(clean.findings, [], 'clean');
  t.equal(clean.rapporti, 2, 'both rapporti checked');
  t.match(formatVerifyReport(clean), [/2 rapporti di versamento controllati$/]);

  for (const [tr, table] of [['cons_rdv_no_update', 'cons_rdv'], ['cons_rdv_no_delete', 'cons_rdv']]) await dropTrigger(app, tr!, table!);
  const [first, second] = await ctx.db.select().from(consRdv).orderBy(asc(consRdv.sipId));
  const restore = async () => {
    await ctx.db.delete(consRdv);
    await ctx.db.insert(consRdv).values([first!, second!]);
  };
  const findingsOf = async () => (await verifyConservazione(ctx)).findings.map((f) => [f.subject, f.message]);

  // 1. The text edited (the esito's message), its hash left: both checks fail.
  await sqlRun(app.db, 'UPDATE cons_rdv SET xml = ? WHERE sip_id = ?', first!.xml.replace('<Versione>', '<Versione> '), sips[0]);
  t.match(await findingsOf(), [
    [`sip:${sips[0]}`, new RegExp(`^il rapporto di versamento ${first!.urn} non corrisponde alla sua impronta`)],
    [`sip:${sips[0]}`, /non è quello registrato nel registro degli eventi$/],
  ]);
  // 2. The text and its hash rewritten together: the chain's event still tells.
  const forged = first!.xml.replace('<Versione>', '<Versione> ');
  await sqlRun(app.db, 'UPDATE cons_rdv SET xml = ?, sha256 = ? WHERE sip_id = ?', forged, createHash('sha256').update(forged).digest('hex'), sips[0]);
  t.same((await findingsOf()).map(([s]) => s), [`sip:${sips[0]}`]);
  t.match((await verifyConservazione(ctx)).findings, [{ kind: 'rdv_invalid', message: /non è quello registrato/ }]);
  await restore();
  t.same(await findingsOf(), [], 'restored');

  // 3. A row deleted: its event names it.
  await sqlRun(app.db, 'DELETE FROM cons_rdv WHERE sip_id = ?', sips[1]);
  const gone = await verifyConservazione(ctx);
  t.equal(gone.rapporti, 1);
  t.match(gone.findings, [{ kind: 'rdv_invalid', subject: `sip:${sips[1]}`, message: new RegExp(`^manca il rapporto di versamento ${second!.urn} registrato dall’evento n\\. \\d+ \\(riga cancellata\\)$`) }]);
  t.equal(gone.findings.length, 1);
  t.match(formatVerifyReport(gone).join('\n'), /ERRORE \[rapporto di versamento\] sip:/);
  await restore();
  t.same(await findingsOf(), [], 'restored');
});

t.test('conservazione:verify on the command line', async (t) => {
  const app = await buildTestApp(t);
  const dir = app.config.dataDir;
  const ctx = app.conservazione;
  const blob = await storeBlob(ctx, Buffer.from('ricevuta di pagamento'));
  for (let i = 1; i <= 3; i++) await appendEvent(ctx.db, { kind: 'ingest', enteId: null, actor: 'test', subject: `sip:${i}` }, new Date());
  // A real document and PdA (B2's ingest, C's PdA sealed by the demo sealer).
  const [ente] = await memberEnti(ctx);
  const sip = await ingestSip(ctx, determina(ente!.id, 'det-d-1'), 'test');
  t.equal(sip.status, 'accepted', JSON.stringify(sip.esito));
  const profile = (await ctx.db.select().from(consProfiles).where(eq(consProfiles.code, 'determina')).limit(1))[0]!;
  const pda = await buildPda(ctx, { enteId: ente!.id, profileId: profile.id, sipIds: [sip.sipId!], actor: 'test' });
  // The app's own sealer (demo: the TSA simulator's keys in DATA_DIR): the CLI's app must verify its token.
  t.match(await anchorChainHead(ctx), { created: true }, 'anchored with the demo sealer');

  const run = async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['conservazione:verify'], { env: { DATA_DIR: dir, LOG_LEVEL: 'silent', ...(app.config.databaseUrl ? { DATABASE_URL: app.config.databaseUrl } : {}) }, out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const ok = await run();
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, /file, \d+ eventi, 1 ancore, 1 PdA, 1 rapporti di versamento controllati/);
  t.match(ok.out, /verifica superata/);

  // The PdA's index changed by one byte: its hash and its seal fail.
  const aipRow = (await ctx.db.select().from(consAips).where(eq(consAips.id, pda.aipId)).limit(1))[0]!;
  const indexFile = path.join(ctx.config.conservazione.dir, 'store', aipRow.indexKey.slice(0, 2), aipRow.indexKey.slice(2, 4), aipRow.indexKey);
  const restoreIndex = tamperFile(indexFile, (b) => ((b[b.length - 2] = b[b.length - 2]! ^ 0x20), b));
  const sealBad = await run();
  t.equal(sealBad.code, 1);
  t.match(sealBad.err, new RegExp(`ERRORE \\[sigillo del PdA\\] aip:${pda.aipId}: PdA urn:sael-pay:`));
  restoreIndex();

  await dropTrigger(app, 'cons_events_no_update', 'cons_events');
  await sqlRun(app.db, 'UPDATE cons_events SET subject = ? WHERE seq = 2', 'sip:99');
  const bad = await run();
  t.equal(bad.code, 1, 'exit 1 on a finding');
  t.match(bad.err, /ERRORE \[registro eventi\] event:2: l’evento n\. 2 è stato modificato/);

  const file = path.join(ctx.config.conservazione.dir, 'store', blob.key.slice(0, 2), blob.key.slice(2, 4), blob.key);
  fs.chmodSync(file, 0o644);
  fs.appendFileSync(file, 'x');
  const both = await run();
  t.equal(both.code, 1);
  t.match(both.err, /4 anomalie/, 'the file, the edited row, and the anchor over it (head and token)');
  t.match(both.err, /ERRORE \[ancora del registro\] anchor:\d{4}-\d{2}-\d{2}: marca temporale non valida/);
  t.match(both.err, new RegExp(`ERRORE \\[file alterato\\] blob:${blob.key}`));
});
