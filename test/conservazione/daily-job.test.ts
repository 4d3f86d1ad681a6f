/**
 * The daily job (daily-job.ts) end to end on a real app: the demo seed gives the member comuni the
 * conservazione service (catalogue '17'); a receipt paid through the station (paSendRTV2) and a
 * reporting flow become accepted PdV (raw XML + receipt PDF) and, the same night, a signed,
 * time-stamped PdA whose index validates; a second run does nothing; an ente whose service is
 * suspended is skipped; an ente whose receipt is rejected fails with an alert and a ticket while
 * the others complete; the CLI `conservazione:run --date` through runCli. Days are relative to
 * today (the receipts carry the real time), the job's clock is injected.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { runCli } from '../../src/cli-commands.js';
import { addDays } from '../../src/domain/iso-date.js';
import { adesioni, catalogueServices } from '../../src/modules/catalogue/schema.js';
import { readBlob } from '../../src/modules/conservazione/blobs.js';
import { romeDay } from '../../src/modules/conservazione/dates.js';
import { archivePending, PdaBatchesError, romeDayBounds, runDailyJob } from '../../src/modules/conservazione/daily-job.js';
import { ingestSip } from '../../src/modules/conservazione/ingest.js';
import { determina } from './ingest-fixtures.js';
import { seedConservazioneDemo } from '../../src/modules/conservazione/demo-seed.js';
import { validatePIndex } from '../../src/modules/conservazione/pindex-validate.js';
import { consAipDocuments, consAips, consAlerts, consDailyRuns, consSipFiles, consSips, consSourceLinks } from '../../src/modules/conservazione/schema.js';
import { enti } from '../../src/modules/enti/schema.js';
import { fdrFlows, receipts } from '../../src/modules/pagopa/schema.js';
import { getPaymentRequest, newReceiptId, readPaymentData, sendRtRequest } from '../../src/simulators/pagopa/node-messages.js';
import { callStation, createTari, identity } from '../pagopa/helpers.js';
import { buildTestApp, tempDir } from '../helpers.js';
import type { FastifyInstance } from 'fastify';
import { sqlGet, sqlRun } from '../../src/db/raw.js';
import { suiteDb } from '../suite-db.js';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** Pays the first option of a new TARI of `comune` through the station; returns the receipt row id. */
async function payReceipt(app: FastifyInstance, comune: string): Promise<number> {
  const pos = await createTari(app, {}, comune);
  const id = identity(app, pos.fiscalCode);
  const qr = { fiscalCode: pos.fiscalCode, noticeNumber: pos.options[0]!.noticeNumber };
  const data = readPaymentData((await callStation(app, getPaymentRequest(id, qr, { v2: true }), 'paGetPaymentV2')).answer);
  const receiptId = newReceiptId();
  const sent = await callStation(app, sendRtRequest(id, { v2: true, receiptId, noticeNumber: qr.noticeNumber, fiscalCode: pos.fiscalCode, data }), 'paSendRTV2');
  if (sent.answer.outcome !== 'OK') throw new Error('receipt refused');
  return ((await sqlGet(app.db, 'SELECT id FROM receipts WHERE receipt_id = ? AND id_pa = ?', receiptId, pos.fiscalCode)) as { id: number }).id;
}

async function enteByName(app: FastifyInstance, name: string) {
  return (await app.db.select().from(enti).where(eq(enti.name, name)).limit(1))[0]!;
}

t.test('daily job: receipts and flows of the day → PdV → PdA; idempotent; skipped and failing enti', async (t) => {
  const today = romeDay(new Date());
  let now = new Date();
  const dir = tempDir(t);
  const sdb = await suiteDb();
  const app = await buildApp(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', PAGOPA_FDR_INTERVAL_MINUTES: '0', ...sdb.env }), { logger: false, backgroundWorkers: false, now: () => now });
  sdb.closeWith(t, app);
  const ctx = app.conservazione;

  const seeded = await seedConservazioneDemo(app.db, today);
  const members = await app.db.select({ id: enti.id }).from(enti).where(and(eq(enti.member, true), eq(enti.kind, 'comune')));
  t.equal(seeded.length, members.length, 'every member comune gets the conservazione service');
  t.same(await seedConservazioneDemo(app.db, today), [], 'idempotent');

  const campobasso = await enteByName(app, 'Comune di Campobasso');
  const termoli = await enteByName(app, 'Comune di Termoli');
  const bojano = await enteByName(app, 'Comune di Bojano');
  // Termoli's service is suspended: skipped
  const s17 = (await app.db.select().from(catalogueServices).where(eq(catalogueServices.code, '17')).limit(1))[0]!;
  await app.db.update(adesioni).set({ status: 'suspended' }).where(and(eq(adesioni.enteId, termoli.id), eq(adesioni.serviceId, s17.id)));

  const r1 = await payReceipt(app, 'Campobasso');
  const rTermoli = await payReceipt(app, 'Termoli');
  const rBojano = await payReceipt(app, 'Bojano');
  // Bojano's stored envelope is damaged: its PdV is rejected (the format is not XML)
  await app.db.update(receipts).set({ rawXml: '%% non è un documento XML %%' }).where(eq(receipts.id, rBojano));
  // a reporting flow of Campobasso downloaded today
  const flowXml =
    '<?xml version="1.0" encoding="UTF-8"?>\n<FlussoRiversamento xmlns="http://www.digitpa.gov.it/schemas/2011/Pagamenti/"><versioneOggetto>1.0</versioneOggetto>' +
    `<identificativoFlusso>${today}PSPDEMO-S0001</identificativoFlusso><dataOraFlusso>${today}T06:00:00</dataOraFlusso></FlussoRiversamento>\n`;
  const flowId = (await app.db
      .insert(fdrFlows)
      .values({
        enteId: campobasso.id,
        flowId: `${today}PSPDEMO-S0001`,
        flowDateTime: `${today}T06:00:00`,
        pspId: 'PSPDEMO',
        pspName: 'PSP dimostrativo',
        settlementId: 'TRN-0001',
        settlementDate: today,
        receiverFiscalCode: campobasso.fiscalCode,
        totalPayments: 1,
        totalAmountCents: 100,
        rawXml: flowXml,
        downloadedAt: new Date(Date.parse(romeDayBounds(today).start) + 8 * 3600_000).toISOString(),
      })
      .returning({ id: fdrFlows.id }))[0]!.id;

  // the next night at 03:00 Italian time
  now = new Date(Date.parse(romeDayBounds(addDays(today, 1)).start) + 3 * 3600_000);
  const result = await runDailyJob(ctx, { day: today });
  const of = (id: number) => result.enti.find((e) => e.enteId === id);
  t.match(of(campobasso.id), { status: 'done', sips: 2, rejected: 0, aips: 2 }, 'Campobasso: receipt + flow, one PdA per profile');
  t.notOk(of(termoli.id), 'Termoli (service suspended) is not processed');
  t.match(of(bojano.id), { status: 'failed', rejected: 1, aips: 0 }, 'Bojano fails');

  // the receipt's PdV: raw envelope + PDF, accepted, linked
  const link = (await app.db.select().from(consSourceLinks).where(and(eq(consSourceLinks.sourceType, 'receipt'), eq(consSourceLinks.sourceId, r1))).limit(1))[0]!;
  t.ok(link, 'receipt linked to its PdV');
  const sip = (await app.db.select().from(consSips).where(eq(consSips.id, link.sipId)).limit(1))[0]!;
  t.match(sip, { status: 'accepted', source: 'auto', objectKey: `receipt:${r1}`, enteId: campobasso.id });
  const receipt = (await app.db.select().from(receipts).where(eq(receipts.id, r1)).limit(1))[0]!;
  t.equal(sip.iuv, receipt.iuv);
  const files = await app.db.select().from(consSipFiles).where(eq(consSipFiles.sipId, sip.id));
  t.same(files.map((f) => [f.role, f.mime]), [['principale', 'application/xml'], ['allegato', 'application/pdf']]);
  t.equal(files[0]!.storageKey, sha(receipt.rawXml), 'the raw paSendRTV2 envelope as received');
  t.equal((await readBlob(ctx, files[1]!.storageKey!)).subarray(0, 5).toString(), '%PDF-', 'the receipt PDF');
  t.ok((await app.db.select().from(consSourceLinks).where(and(eq(consSourceLinks.sourceType, 'fdr_flow'), eq(consSourceLinks.sourceId, flowId))).limit(1))[0], 'flow linked');
  t.notOk((await app.db.select().from(consSourceLinks).where(inArray(consSourceLinks.sourceId, [rTermoli, rBojano]))).some((l) => l.sourceType === 'receipt'), 'no PdV for Termoli, none accepted for Bojano');

  // the PdA
  const doc = (await app.db.select().from(consAipDocuments).where(eq(consAipDocuments.sipId, sip.id)).limit(1))[0]!;
  const aip = (await app.db.select().from(consAips).where(eq(consAips.id, doc.aipId)).limit(1))[0]!;
  t.match(aip, { enteId: campobasso.id, status: 'active', documents: 1 });
  t.equal(aip.createdAt, now.toISOString(), 'made by the night run');
  const index = await readBlob(ctx, aip.indexKey);
  t.same(validatePIndex(index).errors, [], 'its index validates against the XSD');
  t.ok((await (await ctx.sealer())!.verify(index, await readBlob(ctx, aip.signatureKey), await readBlob(ctx, aip.timestampKey))).ok, 'signed and time-stamped');
  t.ok(index.toString('utf8').includes(sha(receipt.rawXml)), 'the envelope hash in the index');

  // runs and alerts
  const runs = await app.db.select().from(consDailyRuns).where(eq(consDailyRuns.day, today));
  t.same(runs.map((r) => [r.enteId, r.status]).sort(), [[campobasso.id, 'done'], [bojano.id, 'failed'], ...seeded.filter((id) => id !== campobasso.id && id !== bojano.id && id !== termoli.id).map((id) => [id, 'done'])].sort());
  const alerts = await app.db.select().from(consAlerts).where(eq(consAlerts.kind, 'daily_job_failed'));
  t.equal(alerts.length, 1);
  t.match(alerts[0], { enteId: bojano.id, subject: `daily-run:${today}:${bojano.id}` });
  t.ok(alerts[0]!.ticketId, 'a helpdesk ticket');

  // a second run of the same day does nothing (the failed one too, until asked)
  const sipsBefore = (await app.db.select().from(consSips)).length;
  const again = await runDailyJob(ctx, { day: today });
  t.ok(again.enti.every((e) => e.status === 'skipped'), 'every ente skipped');
  t.equal((await app.db.select().from(consSips)).length, sipsBefore, 'no new PdV');
  t.equal((await app.db.select().from(consAlerts)).filter((a) => a.kind === 'daily_job_failed').length, 1, 'no new alert');

  // the failed ente retried on request, after the envelope is mended: done
  await app.db.update(receipts).set({ rawXml: receipt.rawXml.replace(receipt.iuv, (await app.db.select().from(receipts).where(eq(receipts.id, rBojano)).limit(1))[0]!.iuv) }).where(eq(receipts.id, rBojano));
  const retry = await runDailyJob(ctx, { day: today, retryFailed: true });
  t.match(retry.enti.find((e) => e.enteId === bojano.id), { status: 'done', sips: 1, aips: 1 });
  t.match(retry.enti.find((e) => e.enteId === campobasso.id), { status: 'skipped' });
});

t.test('CLI conservazione:run --date', async (t) => {
  const dir = tempDir(t);
  const yesterday = addDays(romeDay(new Date()), -1);
  const sdb = await suiteDb();
  sdb.dropWith(t);
  const app = await buildApp(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', PAGOPA_FDR_INTERVAL_MINUTES: '0', ...sdb.env }), { logger: false, backgroundWorkers: false });
  await seedConservazioneDemo(app.db, romeDay(new Date()));
  const r = await payReceipt(app, 'Campobasso');
  const campobasso = await enteByName(app, 'Comune di Campobasso');
  // received yesterday evening
  await app.db.update(receipts).set({ receivedAt: new Date(Date.parse(romeDayBounds(yesterday).start) + 20 * 3600_000).toISOString() }).where(eq(receipts.id, r));
  await app.close();

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { env: { DATA_DIR: dir, LOG_LEVEL: 'silent', ...sdb.env }, out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const run = await cli('conservazione:run', '--date', yesterday);
  t.equal(run.code, 0, run.err);
  t.match(run.out, new RegExp(`${yesterday}\\tente ${campobasso.id}: done, PdV accettati 1, rifiutati 0, PdA 1`));
  const second = await cli('conservazione:run', '--date', yesterday);
  t.equal(second.code, 0);
  t.match(second.out, new RegExp(`ente ${campobasso.id}: skipped`));

  // a run for today (the day is not over) does not close the day: a receipt paid afterwards goes in at the next run
  const today = romeDay(new Date());
  t.match((await cli('conservazione:run', '--date', today)).out, new RegExp(`ente ${campobasso.id}: done, PdV accettati 0`));
  const app2 = await buildApp(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', PAGOPA_FDR_INTERVAL_MINUTES: '0', ...sdb.env }), { logger: false, backgroundWorkers: false });
  await payReceipt(app2, 'Campobasso');
  await app2.close();
  const later = await cli('conservazione:run', '--date', today);
  t.equal(later.code, 0, later.err);
  t.match(later.out, new RegExp(`${today}\tente ${campobasso.id}: done, PdV accettati 1, rifiutati 0, PdA 1`), 'the later receipt is preserved');

  const bad = await cli('conservazione:run', '--date', '2026-02-30');
  t.equal(bad.code, 2);
  t.match(bad.err, /--date non valida/);
});

t.test('a document that breaks its PdA\'s index does not hold back the others; the run reports it', async (t) => {
  const app = await buildTestApp(t);
  const ctx = app.conservazione;
  const ente = (await app.db.select().from(enti).where(and(eq(enti.member, true), eq(enti.kind, 'comune'))).limit(1))[0]!;
  const determine = await ingestSip(ctx, determina(ente.id, 'det-ok'), 'test');
  const delibere: number[] = [];
  for (const key of ['del-1', 'del-2', 'del-ko', 'del-4', 'del-5']) {
    const r = await ingestSip(ctx, determina(ente.id, key, { profileCode: 'delibera' }), 'test');
    t.equal(r.status, 'accepted');
    delibere.push(r.sipId!);
  }
  const bad = { sipId: delibere[2]! };
  // a PdV accepted before the ingest refused characters XML cannot carry: its index cannot be written
  const metadata = JSON.parse((await app.db.select().from(consSips).where(eq(consSips.id, bad.sipId!)).limit(1))[0]!.metadata) as Record<string, unknown>;
  await sqlRun(app.db, 'UPDATE cons_sips SET metadata = ? WHERE id = ?', JSON.stringify({ ...metadata, Oggetto: 'Delibera \u0001 di giunta' }), bad.sipId);

  const err = await archivePending(ctx, ente.id, 'test').then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof PdaBatchesError, 'the failure is reported');
  // determine: 1 PdA; delibere [1,2,ko,4,5] → halves [1,2,ko] and [4,5] (a PdA) → [1,2] (a PdA) and [ko]
  t.equal((err as PdaBatchesError).made, 3, 'the other PdA were made');
  t.match((err as Error).message, new RegExp(`^3 PdA creati, 1 non riusciti: PdA di 1 documenti \\(PdV ${bad.sipId}–${bad.sipId}\\) non creato: .*caratteri non ammessi in XML`));
  const inPda = (await app.db.select({ sipId: consAipDocuments.sipId }).from(consAipDocuments)).map((r) => r.sipId);
  t.same(inPda.sort((a, b) => a - b), [determine.sipId!, ...delibere.filter((id) => id !== bad.sipId)].sort((a, b) => a - b), 'every other document is in a PdA, the broken one waits');
});
