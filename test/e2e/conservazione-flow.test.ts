/**
 * E2E of the conservazione (issue #16 "Done when"): a comune with the conservazione service
 * (catalogue service '17', given by the demo seed), a notice paid through the pagoPA simulator
 * (real SOAP to our station), then the scheduled pass at 03:00 of the next Italian day (injected
 * clock): the receipt is a PdV with its RdV, in a signed and time-stamped PdA, and the PdD
 * downloaded over HTTP from the ente's pages holds the receipt's raw XML hashing to the index.
 */
import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import t from 'tap';
import { eq } from 'drizzle-orm';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { receipts } from '../../src/modules/pagopa/schema.js';
import { seedConservazioneDemo } from '../../src/modules/conservazione/demo-seed.js';
import { romeDay, romeHour } from '../../src/modules/conservazione/dates.js';
import { indexFiles } from '../../src/modules/conservazione/dip.js';
import { consAipDocuments, consAips, consRdv, consSipFiles, consSips, consSourceLinks } from '../../src/modules/conservazione/schema.js';
import { payNotice } from '../../src/simulators/pagopa/node.js';
import { addDays } from '../../src/domain/iso-date.js';
import { loginAs, tempDir } from '../helpers.js';
import { freePort } from '../pagopa/helpers.js';
import { citizens, comune, createCitizenPosition, fullName } from '../portal/fixtures.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** 03:00 in Italy of `day` as a UTC instant (02:00 or 01:00 UTC). */
function rome3am(day: string): Date {
  for (const h of [1, 2]) {
    const at = new Date(`${day}T0${h}:00:00Z`);
    if (romeDay(at) === day && romeHour(at) === 3) return at;
  }
  throw new Error(`no 03:00 for ${day}`);
}

/** A ZIP's entries from its central directory. */
function unzip(zip: Buffer): Map<string, Buffer> {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('truncated ZIP');
  const out = new Map<string, Buffer>();
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = zip.readUInt16LE(eocd + 10); i > 0; i--) {
    const nameLen = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLen);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + zip.readUInt32LE(at + 20));
    out.set(name, zip.readUInt16LE(at + 10) === 8 ? inflateRawSync(raw) : Buffer.from(raw));
    at += 46 + nameLen + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return out;
}

t.setTimeout(180_000);

t.test('a receipt paid in the simulator is in a PdA the next day and its PdD downloads', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config = loadConfig({ DATA_DIR: tempDir(t), LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000', PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  // The clock of the conservazione (daily job, sealer, TSA): real time until the test moves it.
  let clock: Date | null = null;
  const app = await buildApp(config, { logger: false, backgroundWorkers: false, now: () => clock ?? new Date() });
  t.teardown(() => app.close());
  await app.listen({ port, host: '127.0.0.1' });

  const cb = await comune(app, 'Campobasso');
  const given = await seedConservazioneDemo(app.db, romeDay(new Date()));
  t.ok(given.includes(cb.id), 'the demo seed gives the member comune the conservazione service (17)');

  const { antonio } = citizens();
  const position = await createCitizenPosition(app, antonio.fiscalCode, fullName(antonio), { comune: 'Campobasso', description: 'TARI 2026 – saldo', amountCents: 7350 });
  const paid = await payNotice(app, { fiscalCode: cb.fiscalCode, noticeNumber: position.options[0]!.noticeNumber });
  t.ok(paid.ok, `paid through the simulated node (${paid.step})`);
  const receipt = (await app.db.select().from(receipts).where(eq(receipts.receiptId, paid.receiptId!)).limit(1))[0]!;
  t.equal(receipt.enteId, cb.id);

  // Nothing yet: the day is not over.
  await app.conservazioneTick(new Date());
  t.equal((await app.db.select().from(consSourceLinks).where(eq(consSourceLinks.sourceId, receipt.id))).length, 0, 'not preserved on the day itself');

  const nextDay = addDays(romeDay(new Date(receipt.receivedAt)), 1);
  clock = rome3am(nextDay);
  await app.conservazioneTick(clock);

  const link = (await app.db.select().from(consSourceLinks).where(eq(consSourceLinks.sourceId, receipt.id)).limit(1))[0];
  t.ok(link, 'the receipt went into a PdV');
  const sip = (await app.db.select().from(consSips).where(eq(consSips.id, link!.sipId)).limit(1))[0]!;
  t.same([sip.status, sip.enteId, sip.source], ['accepted', cb.id, 'auto']);
  t.ok((await app.db.select().from(consRdv).where(eq(consRdv.sipId, sip.id)).limit(1))[0], 'with its rapporto di versamento');
  const doc = (await app.db.select().from(consAipDocuments).where(eq(consAipDocuments.sipId, sip.id)).limit(1))[0];
  t.ok(doc, 'in a PdA');
  const aip = (await app.db.select().from(consAips).where(eq(consAips.id, doc!.aipId)).limit(1))[0]!;
  t.equal(aip.enteId, cb.id);
  const sealer = (await app.conservazione.sealer())!;
  const [index, p7s, tsr] = await Promise.all([aip.indexKey, aip.signatureKey, aip.timestampKey].map((k) => app.conservazione.store.get(k)));
  t.ok((await sealer.verify(index!, p7s!, tsr!)).ok, 'the PdA index is signed and time-stamped');

  // The ente's operator finds it on the ente's pages and downloads the PdD over HTTP.
  const operator = demoUserFiscalCodes().find((u) => u.role === 'operator' && u.enteIstat === cb.istatCode)!;
  const cookie = await loginAs(app, operator.fiscalCode);
  const page = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { cookie, accept: 'text/html' } });
    t.equal(res.status, 200, path);
    return res.text();
  };
  const overview = await page(`/backoffice/enti/${cb.id}/conservazione?iuv=${receipt.iuv}`);
  const pdaHref = new RegExp(`/backoffice/enti/${cb.id}/conservazione/pda/(\\d+)`).exec(overview);
  t.equal(Number(pdaHref?.[1]), aip.id, 'the search by IUV finds the receipt in its PdA');
  const pdaPage = await page(pdaHref![0]);
  const zipHref = /href="([^"]+\/pdd\.zip)"/.exec(pdaPage)![1]!;
  const res = await fetch(`${base}${zipHref}`, { headers: { cookie } });
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), 'application/zip');
  const zip = unzip(Buffer.from(await res.arrayBuffer()));
  const listed = indexFiles(zip.get('indice.xml')!.toString('utf8'));
  for (const f of listed) t.equal(sha256(zip.get(f.path)!), f.sha256, `${f.path} hashes to the index`);
  const principale = (await app.db.select().from(consSipFiles).where(eq(consSipFiles.sipId, sip.id))).find((f) => f.role === 'principale')!;
  const rawInZip = listed.map((f) => zip.get(f.path)!).find((b) => b.toString('utf8') === receipt.rawXml);
  t.ok(rawInZip, 'the receipt’s raw paSendRT XML is in the PdD');
  t.equal(sha256(rawInZip!), principale.actualSha256, 'as the PdV’s main file');
  t.ok(listed.some((f) => f.sha256 === sha256(Buffer.from(receipt.rawXml, 'utf8'))), 'its hash is in the signed index');
  t.ok((await sealer.verify(zip.get('indice.xml')!, zip.get('indice.xml.p7s')!, zip.get('indice.tsr')!)).ok, 'the index in the PdD verifies');
});
